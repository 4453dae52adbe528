//! The signing pass: the card's thread beside the parsing ([`sign_stream`]), and the pass proper —
//! parse, hash the elements to sign (on the hashing thread), copy every byte of the input to the
//! output and insert each signature before its element's end tag.

use super::card::{HashWriter, SignJob, ToSign};
use super::encoding::{Encoding, encode_for, to_utf8};
use super::handover::{Parser, Review, hand_over, new_parser};
use super::output::{DeferredOutput, WRITTEN_AT_ONCE};
use super::{KeySource, PendingOutput, Scope, SignError, SignReport, SignRequest};
use crate::keys::{BatchProgress, Signer};
use crate::messages::t;
use crate::pes::hashing::{HashFailure, NotFed, TargetHasher};
use crate::pes::xades;
use crate::xml::{C14nError, C14nMode, Canonicalizer, NamespaceScopes};
use quick_xml::events::{BytesStart, Event};
use std::io::BufRead;
use std::path::Path;
use time::OffsetDateTime;

fn attribute(start: &BytesStart, key: &[u8]) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

/// One element being canonicalised and hashed.
struct Open {
    id: String,
    depth: usize,
}

/// The signing pass over `source`, up to a synced temporary file.
///
/// With `review`, the review of the very same bytes is fed and handed over as
/// [`sign_with_review`](super::sign_with_review) says, so the input needs no hash and, when signing bordereaux, the PJ
/// section (after the last place a bordereau may be) is copied without being parsed here.
/// Otherwise the input's SHA-256 is computed (to bind a review made earlier) and the whole file
/// is parsed here.
///
/// The card works on its own thread: while it signs a bordereau the parser goes on with the next
/// one, and the bytes after a bordereau wait in memory (bounded) until its signature is back.
pub(super) fn sign_stream(
    request: &SignRequest,
    source: crate::chunks::ReceivedChunks,
    review: Option<Review>,
    key: KeySource,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<PendingOutput, SignError> {
    let signing_time = OffsetDateTime::now_utc();
    let (jobs, job_queue) = std::sync::mpsc::channel::<SignJob>();
    let (results, done) = std::sync::mpsc::channel::<Result<Vec<u8>, SignError>>();
    let profile = request.profile;
    let details = &request.details;
    std::thread::scope(|threads| {
        // A signed file replacing an older one: the older one's cached pages are dropped now,
        // beside the work, rather than by the rename at the end.
        // (Not when it is the input itself, signed in place: its pages are being read.)
        threads.spawn(|| {
            if !crate::chunks::same_file(request.input, request.output) {
                crate::chunks::forget_cached_pages(request.output);
            }
        });
        threads.spawn(move || {
            let mut opened: Box<dyn Signer>;
            let signer: &mut dyn Signer = match key {
                KeySource::Open(signer) => signer,
                KeySource::Opening(open) => match open() {
                    Ok(signer) => {
                        opened = signer;
                        opened.as_mut()
                    }
                    Err(e) => {
                        // Nothing is signed; the parser finds this error in place of a signature.
                        let _ = results.send(Err(SignError::Card(e)));
                        return;
                    }
                },
            };
            for job in job_queue {
                let built = xades::build(
                    &mut *signer,
                    profile,
                    details,
                    &job.id,
                    &job.signature_id,
                    &job.digest,
                    signing_time,
                )
                .map(|b| encode_for(&b.element, job.encoding))
                .map_err(SignError::from);
                let failed = built.is_err();
                // A failure ends the batch: the card is not asked again (wrong PIN, card out).
                if results.send(built).is_err() || failed {
                    break;
                }
            }
        });
        // Canonicalising and hashing the elements to sign happens on a thread of its own, beside
        // the parsing (see `super::hashing`).
        let outcome = parse_and_write(
            request,
            source,
            review,
            (TargetHasher::spawn(threads), &jobs),
            &done,
            progress,
            cancelled,
        );
        // Ends the card thread's queue whatever happened.
        drop(jobs);
        outcome
    })
}

/// The signing pass proper ([`write_signed`]); then, if the review was not handed over yet
/// (signing stopped, or parsed the whole file), it is handed over where the pass stopped.
pub(super) fn parse_and_write(
    request: &SignRequest,
    mut source: crate::chunks::ReceivedChunks,
    mut review: Option<Review>,
    hashing: (TargetHasher<ToSign>, &std::sync::mpsc::Sender<SignJob>),
    done: &std::sync::mpsc::Receiver<Result<Vec<u8>, SignError>>,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<PendingOutput, SignError> {
    if let Some(r) = review.as_mut() {
        // S²LOW's rule on the first 50 bytes (an empty file has none).
        let head = source.fill_buf().map(|b| b[..b.len().min(50)].to_vec());
        r.summary.note_head(&head.unwrap_or_default());
    }
    let hasher = review.is_none().then(openssl::sha::Sha256::new);
    let mut reader = new_parser(source, hasher);
    let written = write_signed(
        request,
        &mut reader,
        &mut review,
        hashing,
        done,
        progress,
        cancelled,
    );
    if let Some(r) = review {
        hand_over(&mut reader, r).drain();
    }
    written
}

/// Parse, hash and copy, the signatures inserted; the review (if any) is fed every event parsed
/// and handed over at the PJ section when signing bordereaux.
fn write_signed(
    request: &SignRequest,
    reader: &mut Parser,
    review: &mut Option<Review>,
    (mut hasher, jobs): (TargetHasher<ToSign>, &std::sync::mpsc::Sender<SignJob>),
    done: &std::sync::mpsc::Receiver<Result<Vec<u8>, SignError>>,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<PendingOutput, SignError> {
    let alongside = review.is_some();
    let out_path = request.output;
    let write_error = |e: std::io::Error| SignError::Write {
        path: out_path.to_owned(),
        detail: e.to_string(),
    };
    let dir = out_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // NamedTempFile is created 0600 and removed on drop: an interrupted signature leaves nothing.
    let temp = crate::files::temp_in(dir, "signature").map_err(write_error)?;
    let mut out = DeferredOutput {
        // The system calls of writing happen on their own thread, off the parser's.
        out: crate::chunks::BackgroundWriter::syncing_early(temp),
        path: out_path.to_owned(),
        queue: std::collections::VecDeque::new(),
        queued_bytes: 0,
        awaited: 0,
        resolved: 0,
    };
    let mode = C14nMode::Exclusive {
        with_comments: false,
        inclusive_prefixes: Vec::new(),
    };
    let hash = request.profile.hash();
    let mut encoding = Encoding::Utf8;
    let mut scopes = NamespaceScopes::new();
    // Depth, and the local names of the open elements near the root (the only ones a target's
    // position depends on). Namespace scopes are only tracked there too: deeper elements are
    // either inside a target (its canonicaliser tracks them) or irrelevant.
    let mut depth = 0usize;
    let mut shallow: Vec<Vec<u8>> = Vec::new();
    const TRACKED: usize = 2;
    let mut open: Option<Open> = None;
    let mut signed = Vec::new();
    let mut buf = Vec::new();
    // Where Latin-1 events are transcoded (one buffer for all).
    let mut text = String::new();
    let total = request.expected;
    let mut tail_copied = false;
    loop {
        let offset = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(e) => {
                if let Some(r) = review.as_mut() {
                    r.summary.parse_failed(reader, &e);
                }
                return Err(SignError::Parse(e.to_string()));
            }
        };
        if matches!(event, Event::Eof) {
            break;
        }
        // The review sees every event first: when it cannot go on, its words say why.
        if let Some(r) = review.as_mut()
            && let Err(e) = r.summary.event(reader, offset, &event)
        {
            return Err(SignError::Review(e.to_string()));
        }
        if let Event::Decl(decl) = &event {
            let label = decl
                .encoding()
                .and_then(Result::ok)
                .map(|e| String::from_utf8_lossy(&e).to_ascii_uppercase());
            encoding = match label.as_deref() {
                None | Some("UTF-8") | Some("UTF8") => Encoding::Utf8,
                Some("ISO-8859-1") | Some("ISO8859-1") | Some("LATIN1") => Encoding::Latin1,
                Some(_) => return Err(SignError::Encoding),
            };
        }
        if let Event::DocType(_) = &event {
            return Err(SignError::Xml(C14nError::DocType { position: None }));
        }
        let tracks_scope = match &event {
            Event::Start(_) => depth < TRACKED,
            Event::End(_) => depth <= TRACKED,
            _ => false,
        };
        // Is this the start of an element to sign?
        if let Event::Start(start) = &event {
            let qname = start.name();
            let name = crate::xml::local_part(qname.as_ref());
            if depth == 0 && name != b"PES_Aller" {
                return Err(SignError::Parse(t("pes.mauvaise_racine")));
            }
            let parent = if depth <= TRACKED {
                shallow.last().map(Vec::as_slice)
            } else {
                None
            };
            let wanted = match request.scope {
                Scope::File => depth == 0,
                Scope::Bordereaux => {
                    depth == TRACKED
                        && name == b"Bordereau"
                        && matches!(parent, Some(b"PES_DepenseAller" | b"PES_RecetteAller"))
                }
            };
            if wanted && open.is_none() {
                let id = attribute(start, b"Id")
                    .filter(|s| !s.is_empty())
                    .ok_or(SignError::MissingId)?;
                let canon = Canonicalizer::subtree(&mode, &scopes.context(), HashWriter::new(hash))
                    .exclude_signature_children(true);
                hasher.open(ToSign {
                    canon,
                    complete: false,
                    id: id.clone(),
                    encoding,
                    jobs: jobs.clone(),
                });
                open = Some(Open { id, depth });
            }
        }
        // Transcoding (Latin-1 → UTF-8) only for what the canonicaliser or the scopes see.
        let utf8 = (open.is_some() || tracks_scope).then(|| to_utf8(&event, encoding, &mut text));
        // The end tag of the element being signed: hash done, sign, insert before the end tag.
        let closing_signed =
            matches!(&event, Event::End(_)) && open.as_ref().is_some_and(|o| o.depth + 1 == depth);
        if let (Some(_), Some(e)) = (&open, &utf8) {
            match hasher.feed(e, None, 0) {
                Ok(()) => {}
                Err(NotFed::Refused(e)) => return Err(SignError::Xml(e)),
                Err(NotFed::Stopped) => return Err(hashing_stopped(hasher, done)),
            }
        }
        if tracks_scope && let Some(e) = &utf8 {
            scopes.apply(e)?;
        }
        // Signing bordereaux with a review alongside: once the PJ section starts, nothing else
        // is to be signed.
        let starts_pj = alongside
            && request.scope == Scope::Bordereaux
            && depth == 1
            && matches!(&event, Event::Start(s) if crate::xml::local_part(s.name().as_ref()) == b"PES_PJ");
        match &event {
            Event::Start(s) => {
                if depth <= TRACKED {
                    shallow.push(crate::xml::local_part(s.name().as_ref()).to_vec());
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth <= TRACKED {
                    shallow.pop();
                }
            }
            _ => {}
        }
        let raw = &mut reader.get_mut().get_mut().pending;
        if closing_signed {
            if cancelled() {
                return Err(SignError::Cancelled);
            }
            let o = open.take().ok_or(SignError::NothingToSign)?;
            // The hashing thread hands the digest to the card's thread.
            if hasher.close(0).is_err() {
                return Err(hashing_stopped(hasher, done));
            }
            // `raw` ends with the end tag: the signature goes right before it.
            let end_len = end_tag_len(raw);
            let (before, end_tag) = raw.split_at(raw.len() - end_len);
            out.write(before).map_err(write_error)?;
            out.await_signature();
            out.write(end_tag).map_err(write_error)?;
            signed.push(o.id);
            raw.clear();
        } else if raw.len() >= WRITTEN_AT_ONCE || starts_pj {
            out.write(raw).map_err(write_error)?;
            raw.clear();
            // Signatures that are back are placed as the output goes (at every event it was a
            // million checks of the card's queue).
            out.collect(done, false, progress, total)?;
        }
        buf.clear();
        if starts_pj && let Some(r) = review.take() {
            // No bordereau can follow: the rest is copied as it is, while the review reads on.
            hand_over(reader, r).copy(|bytes| {
                out.write(bytes).map_err(write_error)?;
                out.collect(done, false, progress, total)
            })?;
            tail_copied = true;
            break;
        }
    }
    // What the last events left.
    let raw = &mut reader.get_mut().get_mut().pending;
    out.write(raw).map_err(write_error)?;
    raw.clear();
    // Every element to sign is hashed and its job with the card before waiting for the card.
    if let Err(failure) = hasher.finish() {
        return Err(hashing_failed(failure, done));
    }
    out.collect(done, true, progress, total)?;
    if !tail_copied && (depth != 0 || open.is_some()) {
        return Err(SignError::Parse(t("pes.tronque")));
    }
    if signed.is_empty() {
        return Err(SignError::NothingToSign);
    }
    // Alongside a review, the bytes are hashed on a pass of their own (see sign_with_review).
    let hasher = reader.get_mut().get_mut().hasher.take();
    let hashed_here = hasher.is_some();
    let input_sha256 = hasher.map(|h| h.finish().to_vec()).unwrap_or_default();
    if hashed_here
        && let Some(reviewed) = &request.reviewed_sha256
        && reviewed.as_slice() != input_sha256.as_slice()
    {
        return Err(SignError::ChangedSinceReview);
    }
    let temp = out.out.finish().map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    Ok(PendingOutput {
        temp,
        destination: out_path.to_owned(),
        report: SignReport {
            signed,
            input_sha256,
        },
    })
}

/// The hashing thread stopped: why (the card's error when the card stopped it).
fn hashing_stopped(
    hasher: TargetHasher<ToSign>,
    done: &std::sync::mpsc::Receiver<Result<Vec<u8>, SignError>>,
) -> SignError {
    match hasher.finish() {
        Err(failure) => hashing_failed(failure, done),
        Ok(()) => why_the_card_stopped(done),
    }
}

fn hashing_failed(
    (_, error): HashFailure,
    done: &std::sync::mpsc::Receiver<Result<Vec<u8>, SignError>>,
) -> SignError {
    match why_the_card_stopped(done) {
        SignError::SignerStopped => SignError::Xml(error),
        card => card,
    }
}

/// The card's thread ended before taking a job: the error it left (a key that could not be opened,
/// a failed signature) if any.
fn why_the_card_stopped(done: &std::sync::mpsc::Receiver<Result<Vec<u8>, SignError>>) -> SignError {
    // Signatures made before are skipped: the batch fails anyway.
    while let Ok(result) = done.try_recv() {
        if let Err(e) = result {
            return e;
        }
    }
    SignError::SignerStopped
}

/// Length of the end tag at the end of `raw` (the bytes read since the last write, ending with an
/// `End` event's: `</name>` possibly with spaces before `>`). Its `<` is the last one in `raw`:
/// none can follow it inside the end tag.
fn end_tag_len(raw: &[u8]) -> usize {
    raw.iter()
        .rposition(|b| *b == b'<')
        .map(|i| raw.len() - i)
        .unwrap_or(raw.len())
}
