//! Signing a PES_Aller in one streaming pass: each bordereau (or the whole file) is canonicalised
//! and hashed while it is read, the card signs, and the `ds:Signature` is inserted just before the
//! element's end tag. Every other byte of the output is the input's byte, copied as read.
//!
//! The output goes to a private temporary file beside the destination and is renamed into place
//! only when everything succeeded; cancellation, a card pulled out or a file that changed since
//! the user reviewed it leave nothing behind.

use super::hashing::{HashFailure, NotFed, Target, TargetHasher};
use super::xades::{self, Profile, SignerDetails};
use crate::keys::{BatchProgress, CardError, HashAlg, Signer};
use crate::messages::{t, tf};
use crate::xml::{C14nError, C14nMode, Canonicalizer, NamespaceScopes, Progress, StartTag};
use quick_xml::events::{BytesCData, BytesEnd, BytesPI, BytesRef, BytesStart, BytesText, Event};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// What gets a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Each `Bordereau` (the default).
    Bordereaux,
    /// The whole `PES_Aller`.
    File,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{0}")]
    Card(#[from] CardError),
    #[error("{0}")]
    Xml(#[from] C14nError),
    #[error("{}", tf("signature.illisible", &[("detail", .0)]))]
    Parse(String),
    #[error("{}", tf("signature.ecriture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Write { path: PathBuf, detail: String },
    #[error("{}", tf("signature.lecture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Read { path: PathBuf, detail: String },
    #[error("{}", t("signature.fichier_modifie"))]
    ChangedSinceReview,
    /// The file would be rejected by any verifier once signed: refused before the card.
    #[error("{}", tf("signature.non_signable", &[("detail", .0)]))]
    NotSignable(String),
    #[error("{}", t("signature.rien_a_signer"))]
    NothingToSign,
    #[error("{}", t("signature.sans_id"))]
    MissingId,
    #[error("{}", t("signature.encodage"))]
    Encoding,
    #[error("{}", t("carte.operation_annulee"))]
    Cancelled,
    #[error("{}", t("signature.carte_arretee"))]
    SignerStopped,
    /// The review could not read the file (its own French words).
    #[error("{0}")]
    Review(String),
    /// The review found blocking problems: nothing was put in place.
    #[error("{}", t("signature.bloquant"))]
    Blocked(Vec<crate::findings::Finding>),
    /// Fewer signatures than bordereaux (one stood where signing does not look).
    #[error("{}", tf("signature.compte_different", &[("signes", &.signed.to_string()), ("bordereaux", &.bordereaux.to_string())]))]
    WrongCount { signed: usize, bordereaux: usize },
}

/// A signed file put in place after its review: what was reviewed, the findings (warnings
/// only, since blocking ones stop the signing), and the signatures made.
pub struct CheckedSigning {
    pub summary: super::PesSummary,
    pub findings: Vec<crate::findings::Finding>,
    pub report: SignReport,
}

/// Where the signing key comes from.
pub enum KeySource<'a> {
    /// A key already open (the window opens it when the PIN is typed).
    Open(&'a mut dyn Signer),
    /// A key the card's thread opens while the file is already being read: loading the module
    /// and logging in then take no time of their own. For a PIN that needs no one at the
    /// terminal (read from standard input): a prompt would wait for someone while the file is
    /// read, or after it failed. If opening fails, nothing is signed and that error is returned.
    Opening(Box<dyn FnOnce() -> Result<Box<dyn Signer>, CardError> + Send + 'a>),
}

/// Signing as the user asks for it, for the command line and the window alike: the review and
/// the signature read the same bytes ([`sign_with_review`]), the review's checks run, and the
/// signed file is put in place only when nothing blocks and, per bordereau, every bordereau the
/// review saw got its signature.
pub fn sign_checked(
    request: &SignRequest,
    signer: &mut dyn Signer,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<CheckedSigning, SignError> {
    sign_checked_with(request, KeySource::Open(signer), progress, cancelled)
}

/// [`sign_checked`] with the key open already or opened alongside (see [`KeySource`]).
pub fn sign_checked_with(
    request: &SignRequest,
    key: KeySource,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<CheckedSigning, SignError> {
    use super::checks::{Intent, check};
    let (summary, signed) = sign_with_review(request, key, progress, cancelled);
    let summary = summary.map_err(|e| SignError::Review(e.to_string()))?;
    let intent = match request.scope {
        Scope::File => Intent::SignFile,
        Scope::Bordereaux => Intent::SignBordereaux,
    };
    let findings = check(&summary, intent);
    if findings.iter().any(crate::findings::Finding::is_blocking) {
        return Err(SignError::Blocked(findings));
    }
    let pending = signed?;
    if request.scope == Scope::Bordereaux && pending.report.signed.len() != summary.bordereaux.len()
    {
        return Err(SignError::WrongCount {
            signed: pending.report.signed.len(),
            bordereaux: summary.bordereaux.len(),
        });
    }
    let report = pending.commit()?;
    Ok(CheckedSigning {
        summary,
        findings,
        report,
    })
}

/// What to sign and how.
pub struct SignRequest<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub scope: Scope,
    pub profile: Profile,
    pub details: SignerDetails,
    /// SHA-256 of the file the user reviewed; the signature is refused if the file differs.
    pub reviewed_sha256: Option<Vec<u8>>,
    /// Number of signatures expected (for progress); 0 if unknown.
    pub expected: usize,
}

#[derive(Debug, Clone)]
pub struct SignReport {
    /// Id of each signed element, in document order.
    pub signed: Vec<String>,
    pub input_sha256: Vec<u8>,
}

/// A `BufRead` that keeps every byte the parser consumes, so that the output can copy the input's
/// exact bytes event by event (memory: one event at a time), and hashes them as they pass.
struct Tee<R> {
    inner: R,
    pending: Vec<u8>,
    /// None when another pass reads the very same buffers (see [`sign_with_review`]).
    hasher: Option<openssl::sha::Sha256>,
    /// False once the parser is handed over to the review (see [`hand_over`]): nothing is copied
    /// any more.
    keep: bool,
}

impl<R: BufRead> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tee<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if self.keep
            && let Ok(buf) = self.inner.fill_buf()
        {
            let n = amount.min(buf.len());
            self.pending.extend_from_slice(&buf[..n]);
            if let Some(hasher) = self.hasher.as_mut() {
                hasher.update(&buf[..n]);
            }
        }
        self.inner.consume(amount);
    }
}

/// Latin-1 input is transcoded event by event for the canonicaliser (which reads UTF-8); UTF-8
/// input is fed as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
}

/// Latin-1 bytes as UTF-8: borrowed when they are all ASCII (the same bytes in both encodings,
/// e.g. a PJ's base64), transcoded into `text` (reused from event to event) otherwise.
fn latin1_to_utf8<'a>(bytes: &'a [u8], text: &'a mut String) -> &'a str {
    if let Some(ascii) = crate::xml::ascii_str(bytes) {
        return ascii;
    }
    text.clear();
    text.extend(bytes.iter().map(|&b| char::from(b)));
    text.as_str()
}

fn to_utf8<'a>(event: &'a Event<'a>, encoding: Encoding, text: &'a mut String) -> Event<'a> {
    if encoding == Encoding::Utf8 {
        return event.borrow();
    }
    match event {
        Event::Start(e) => Event::Start(BytesStart::from_content(
            latin1_to_utf8(e, text),
            e.name().as_ref().len(),
        )),
        Event::Empty(e) => Event::Empty(BytesStart::from_content(
            latin1_to_utf8(e, text),
            e.name().as_ref().len(),
        )),
        Event::End(e) => Event::End(BytesEnd::new(latin1_to_utf8(e, text))),
        Event::Text(e) => Event::Text(BytesText::from_escaped(latin1_to_utf8(e, text))),
        Event::CData(e) => Event::CData(BytesCData::new(latin1_to_utf8(e, text))),
        Event::Comment(e) => Event::Comment(BytesText::from_escaped(latin1_to_utf8(e, text))),
        Event::PI(e) => Event::PI(BytesPI::new(latin1_to_utf8(e, text))),
        Event::GeneralRef(e) => Event::GeneralRef(BytesRef::new(latin1_to_utf8(e, text))),
        other => other.borrow(),
    }
}

/// Text for the file in its own encoding: Latin-1 characters as bytes, others as character
/// references (which canonicalisation turns back into the same characters).
fn encode_for(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Latin1 => {
            let mut out = Vec::with_capacity(text.len());
            for c in text.chars() {
                match u8::try_from(u32::from(c)) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend(format!("&#x{:X};", u32::from(c)).bytes()),
                }
            }
            out
        }
    }
}

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

/// An element to sign, canonicalised and hashed on the hashing thread; once hashed, its
/// signature is asked of the card.
struct ToSign {
    canon: Canonicalizer<HashWriter>,
    /// The end tag was canonicalised.
    complete: bool,
    id: String,
    encoding: Encoding,
    jobs: std::sync::mpsc::Sender<SignJob>,
}

impl Target for ToSign {
    type Done = ();

    fn feed(&mut self, event: &Event<'_>, tag: Option<&StartTag>) -> Result<(), C14nError> {
        self.complete = self.canon.feed_parsed(event, tag)? == Progress::Done;
        Ok(())
    }

    fn finish(self) -> Result<(), C14nError> {
        if !self.complete {
            return Err(C14nError::malformed(t("signature.canonisation_incomplete")));
        }
        let digest = self.canon.finish()?.finish();
        self.jobs
            .send(SignJob {
                signature_id: format!("{}_SIG_1", self.id),
                id: self.id,
                digest,
                encoding: self.encoding,
            })
            // The card's thread stopped; the signing pass says why.
            .map_err(|_| C14nError::Usage(t("commun.empreintes_interrompues")))
    }
}

/// `Write` into a SHA digest.
enum HashWriter {
    Sha1(openssl::sha::Sha1),
    Sha256(openssl::sha::Sha256),
}

impl HashWriter {
    fn new(hash: HashAlg) -> Self {
        match hash {
            HashAlg::Sha1 => HashWriter::Sha1(openssl::sha::Sha1::new()),
            _ => HashWriter::Sha256(openssl::sha::Sha256::new()),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            HashWriter::Sha1(h) => h.finish().to_vec(),
            HashWriter::Sha256(h) => h.finish().to_vec(),
        }
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            HashWriter::Sha1(h) => h.update(buf),
            HashWriter::Sha256(h) => h.update(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sign `request.input` into `request.output`.
pub fn sign_file(
    request: &SignRequest,
    signer: &mut dyn Signer,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<SignReport, SignError> {
    sign_to_pending(request, signer, progress, cancelled)?.commit()
}

/// A signed file written and synced beside its destination, not yet in place: dropping it removes
/// it. Lets a caller run its own checks alongside the signing pass and only then commit.
pub struct PendingOutput {
    temp: tempfile::NamedTempFile,
    destination: PathBuf,
    pub report: SignReport,
}

impl PendingOutput {
    /// Rename the signed file into place.
    pub fn commit(self) -> Result<SignReport, SignError> {
        let destination = self.destination;
        self.temp
            .persist(&destination)
            .map_err(|e| SignError::Write {
                path: destination.clone(),
                detail: e.error.to_string(),
            })?;
        Ok(self.report)
    }
}

/// The signing pass, up to a synced temporary file (see [`PendingOutput`]).
pub fn sign_to_pending(
    request: &SignRequest,
    signer: &mut dyn Signer,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<PendingOutput, SignError> {
    let file = crate::files::open_regular(request.input).map_err(|e| SignError::Read {
        path: request.input.to_owned(),
        detail: e.to_string(),
    })?;
    let (to_sign, sign_chunks) = std::sync::mpsc::sync_channel(2);
    std::thread::scope(|threads| {
        let reader = threads.spawn(move || crate::chunks::share_chunks(file, vec![to_sign]));
        let source = crate::chunks::ReceivedChunks::new(sign_chunks);
        let signed = sign_stream(
            request,
            source,
            None,
            KeySource::Open(signer),
            progress,
            cancelled,
        );
        read_error_first(request, reader.join(), signed)
    })
}

/// The signing pass's outcome, unless the reading thread failed: then why it did (the pass only
/// saw the stream end early).
fn read_error_first<T>(
    request: &SignRequest,
    reading: std::thread::Result<std::io::Result<()>>,
    signed: Result<T, SignError>,
) -> Result<T, SignError> {
    match crate::chunks::read_outcome(reading) {
        Err(e) => Err(SignError::Read {
            path: request.input.to_owned(),
            detail: e.to_string(),
        }),
        Ok(()) => signed,
    }
}

/// Sign and review the very same bytes: the file is read once, and the two need no hash to agree
/// on what they read (`input_sha256` and the summary's `sha256` are left empty). The signing pass
/// feeds the review's summary the events it parses anyway, and hands it over, with its parser, to
/// a thread of its own where it stops parsing: at the PJ section when signing bordereaux (it only
/// copies the PJ then, while the review reads on beside it), at the end for the whole file, or
/// where signing failed (the review still reads to the end: its findings say what is wrong with
/// the file better than the point where signing stopped). The signed file is pending: the caller
/// commits it once the review found nothing blocking.
pub fn sign_with_review(
    request: &SignRequest,
    key: KeySource,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> (
    Result<super::PesSummary, super::PesError>,
    Result<PendingOutput, SignError>,
) {
    let file = match crate::files::open_regular(request.input) {
        Ok(f) => f,
        Err(e) => {
            let review = super::PesError::Io {
                path: request.input.display().to_string(),
                detail: e.to_string(),
            };
            let error = SignError::Read {
                path: request.input.to_owned(),
                detail: e.to_string(),
            };
            return (Err(review), Err(error));
        }
    };
    // At most this many chunks (1 MiB each) wait: memory stays bounded.
    let (to_sign, sign_chunks) = std::sync::mpsc::sync_channel(2);
    let mut passes = vec![to_sign];
    // The bytes signed must be those reviewed: hashed on a pass of their own when a review's
    // hash is given (the signing pass shares its chunks with the review and hashes nothing).
    let hash_chunks = request.reviewed_sha256.is_some().then(|| {
        let (to_hash, hash_chunks) = std::sync::mpsc::sync_channel(4);
        passes.push(to_hash);
        hash_chunks
    });
    let (hand_over, handed_over) = std::sync::mpsc::channel::<HandOver>();
    std::thread::scope(|threads| {
        let reader = threads.spawn(move || crate::chunks::share_chunks(file, passes));
        let hashing = hash_chunks
            .map(|chunks| threads.spawn(move || crate::chunks::sha256_of_chunks(chunks)));
        let review = threads.spawn(move || match handed_over.recv() {
            Ok(HandOver {
                mut parser,
                summary,
            }) => summary.read_to_end(&mut parser),
            // Not reached: the signing pass hands the review over whatever happens.
            Err(_) => Err(super::PesError::Truncated),
        });
        let source = crate::chunks::ReceivedChunks::new(sign_chunks);
        let alongside = Review {
            summary: super::summary::SummaryBuilder::new(
                super::summary::DEFAULT_PIECE_DETAIL_LIMIT,
            ),
            hand_over,
        };
        let mut signed = sign_stream(request, source, Some(alongside), key, progress, cancelled);
        let summary = review.join().unwrap_or(Err(super::PesError::Truncated));
        let hashed = hashing.map(|h| h.join().ok());
        if let (Some(reviewed), Some(hashed), Ok(_)) = (&request.reviewed_sha256, hashed, &signed)
            && hashed.is_none_or(|h| h.as_slice() != reviewed.as_slice())
        {
            signed = Err(SignError::ChangedSinceReview);
        }
        // Both passes saw the stream end early if the reading failed: say why.
        (summary, read_error_first(request, reader.join(), signed))
    })
}

/// The review the signing pass feeds until it hands it over (see [`sign_with_review`]).
struct Review {
    summary: super::summary::SummaryBuilder,
    hand_over: std::sync::mpsc::Sender<HandOver>,
}

/// The signing pass's parser.
type Parser = quick_xml::Reader<crate::xml::limit::TokenLimit<Tee<crate::chunks::ReceivedChunks>>>;

/// The review and the parser it reads on with, from where the signing pass stopped.
struct HandOver {
    parser: Parser,
    summary: super::summary::SummaryBuilder,
}

/// The chunks still to come once the parser is handed over: the signing pass passes each one on
/// to the review (they are shared, not copied).
struct Tail {
    /// What is left of the chunk being read at the hand-over.
    current: (std::sync::Arc<Vec<u8>>, usize),
    rest: std::sync::mpsc::Receiver<std::sync::Arc<Vec<u8>>>,
    to_review: std::sync::mpsc::SyncSender<std::sync::Arc<Vec<u8>>>,
}

/// Give the review the parser (where it stands, with its encoding and open elements) and the
/// summary so far; the chunks it will read come through the returned [`Tail`]. `reader` is left
/// with an empty stream.
fn hand_over(reader: &mut Parser, review: Review) -> Tail {
    let (to_review, forwarded) = std::sync::mpsc::sync_channel(2);
    let tee = reader.get_mut().get_mut();
    tee.keep = false;
    tee.pending.clear();
    let rest = tee.inner.redirect(forwarded);
    let current = tee.inner.unread();
    let parser = std::mem::replace(
        reader,
        new_parser(crate::chunks::ReceivedChunks::ended(), None),
    );
    // A review thread that is gone has nothing more to read.
    let _ = review.hand_over.send(HandOver {
        parser,
        summary: review.summary,
    });
    Tail {
        current,
        rest,
        to_review,
    }
}

impl Tail {
    /// Give every byte still to come to `copy` (in order) and to the review. After an error of
    /// `copy` the review still gets the rest; the first error is returned.
    fn copy(self, mut copy: impl FnMut(&[u8]) -> Result<(), SignError>) -> Result<(), SignError> {
        let (current, position) = self.current;
        let mut outcome = copy(&current[position..]);
        // Let go of it: the reading thread reuses the chunks no one holds any more.
        drop(current);
        for chunk in self.rest {
            let _ = self.to_review.send(std::sync::Arc::clone(&chunk));
            if outcome.is_ok() {
                outcome = copy(&chunk);
            }
        }
        outcome
    }

    /// Give the review the rest of the file (signing stopped), until it has read enough.
    fn drain(self) {
        drop(self.current);
        for chunk in self.rest {
            if self.to_review.send(chunk).is_err() {
                break;
            }
        }
    }
}

fn new_parser(
    source: crate::chunks::ReceivedChunks,
    hasher: Option<openssl::sha::Sha256>,
) -> Parser {
    let mut reader = quick_xml::Reader::from_reader(crate::xml::limit::TokenLimit::new(Tee {
        inner: source,
        pending: Vec::new(),
        hasher,
        keep: true,
    }));
    let config = reader.config_mut();
    config.check_end_names = true;
    // What the review's summary expects (and the signing pass copies bytes as they are anyway).
    config.expand_empty_elements = false;
    reader
}

/// One signature for the card thread to make.
struct SignJob {
    id: String,
    signature_id: String,
    digest: Vec<u8>,
    encoding: Encoding,
}

/// The signing pass over `source`, up to a synced temporary file.
///
/// With `review`, the review of the very same bytes is fed and handed over as
/// [`sign_with_review`] says, so the input needs no hash and, when signing bordereaux, the PJ
/// section (after the last place a bordereau may be) is copied without being parsed here.
/// Otherwise the input's SHA-256 is computed (to bind a review made earlier) and the whole file
/// is parsed here.
///
/// The card works on its own thread: while it signs a bordereau the parser goes on with the next
/// one, and the bytes after a bordereau wait in memory (bounded) until its signature is back.
fn sign_stream(
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

/// Bytes waiting for a signature: the output is written in order, so once a bordereau is sent
/// to the card everything after it waits here until its signature is back.
struct DeferredOutput<W: Write> {
    out: W,
    /// The destination, for messages.
    path: PathBuf,
    queue: std::collections::VecDeque<Segment>,
    queued_bytes: usize,
    awaited: usize,
    resolved: usize,
}

enum Segment {
    Bytes(Vec<u8>),
    Signature,
}

/// The input's bytes are copied to the output in pieces of about this size (and at each
/// signature), not event by event: a million small writes cost more than the copy.
const WRITTEN_AT_ONCE: usize = 64 * 1024;

/// Beyond this much waiting output, the parser waits for the card.
const DEFERRED_LIMIT: usize = 8 * 1024 * 1024;

impl<W: Write> DeferredOutput<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.awaited == 0 {
            return self.out.write_all(bytes);
        }
        self.queued_bytes += bytes.len();
        match self.queue.back_mut() {
            Some(Segment::Bytes(last)) => last.extend_from_slice(bytes),
            _ => self.queue.push_back(Segment::Bytes(bytes.to_vec())),
        }
        Ok(())
    }

    fn await_signature(&mut self) {
        self.awaited += 1;
        self.queue.push_back(Segment::Signature);
    }

    /// The oldest awaited signature is here: write it and what waited behind it, up to the next
    /// awaited one.
    fn resolve(&mut self, signature: &[u8]) -> std::io::Result<()> {
        let mut placed = false;
        while let Some(segment) = self.queue.pop_front() {
            match segment {
                Segment::Bytes(bytes) => {
                    self.queued_bytes -= bytes.len();
                    self.out.write_all(&bytes)?;
                }
                Segment::Signature if !placed => {
                    self.out.write_all(signature)?;
                    self.awaited -= 1;
                    self.resolved += 1;
                    placed = true;
                }
                Segment::Signature => {
                    self.queue.push_front(Segment::Signature);
                    break;
                }
            }
        }
        Ok(())
    }

    /// Take the signatures that are back; wait for them when too much output waits or `all`.
    fn collect(
        &mut self,
        done: &std::sync::mpsc::Receiver<Result<Vec<u8>, SignError>>,
        all: bool,
        progress: &mut dyn FnMut(BatchProgress),
        total: usize,
    ) -> Result<(), SignError> {
        while self.awaited > 0 {
            let must_wait = all || self.queued_bytes > DEFERRED_LIMIT;
            let result = if must_wait {
                done.recv().map_err(|_| SignError::SignerStopped)?
            } else {
                match done.try_recv() {
                    Ok(r) => r,
                    Err(std::sync::mpsc::TryRecvError::Empty) => return Ok(()),
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        return Err(SignError::SignerStopped);
                    }
                }
            };
            let signature = result?;
            self.resolve(&signature).map_err(|e| SignError::Write {
                path: self.path.clone(),
                detail: e.to_string(),
            })?;
            progress(BatchProgress {
                done: self.resolved,
                total: total.max(self.resolved + self.awaited),
            });
        }
        Ok(())
    }
}

/// The signing pass proper ([`write_signed`]); then, if the review was not handed over yet
/// (signing stopped, or parsed the whole file), it is handed over where the pass stopped.
fn parse_and_write(
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

/// SHA-256 of a file, read in blocks (for binding a reviewed summary to the signed file).
pub fn file_sha256(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::hashing::file_sha256_and_size(path).map(|(digest, _)| digest)
}
