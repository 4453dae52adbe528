//! Canonicalising and hashing signed elements on a thread of their own.
//!
//! Signing or verifying a PES is two jobs of about the same size: reading the document (decoding,
//! parsing, checking) and canonicalising and hashing what the signatures cover (the bordereaux).
//! Done one after the other on one thread, that thread was the one everything waited for. Here
//! the reading thread hands the events inside the elements to hash ("targets"), in batches, to a
//! hashing thread that owns their canonicalisers; what a target gives when it ends (digests for
//! the verifier, a job for the card when signing) is its [`Target::finish`].
//!
//! Batches carry the events' text and, when the reader parsed them, the start tags, so that the
//! hashing thread does not parse them again; their buffers go back to the reader to be reused.

use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use quick_xml::events::{BytesCData, BytesEnd, BytesPI, BytesRef, BytesStart, BytesText, Event};
use quick_xml::name::QName;

use crate::messages::t;
use crate::xml::{C14nError, StartTag};

/// What is hashed: fed every event from its start tag to its end tag, then finished.
pub(crate) trait Target: Send {
    /// What a finished target gives back (through the channel of [`TargetHasher::close`]).
    type Done: Send;
    /// One event; `tag` is the parsed start tag of a `Start`/`Empty` when the reader had it.
    fn feed(&mut self, event: &Event<'_>, tag: Option<&StartTag>) -> Result<(), C14nError>;
    /// The end tag was fed.
    fn finish(self) -> Result<Self::Done, C14nError>;
}

/// What a target gives, once the hashing thread has it. Receiving fails when that thread stopped
/// before (its error is then reported by [`TargetHasher::finish`]).
pub(crate) type DoneLater<D> = Receiver<D>;

/// A failure of the hashing thread: the error, and the offset (as the reader counts them) of the
/// event it was found at.
pub(crate) type HashFailure = (u64, C14nError);

/// The hashing thread stopped (on an error, which [`TargetHasher::finish`] gives).
#[derive(Debug)]
pub(crate) struct Stopped;

/// A batch is sent once its text or its events reach these sizes (large enough that passing it
/// costs nothing next to the work, small enough to stay in cache).
const BATCH_TEXT: usize = 64 * 1024;
const BATCH_ITEMS: usize = 2048;
/// Batches under way between the threads (bounds the memory and the lead of the reader).
const BATCHES_IN_FLIGHT: usize = 4;

#[derive(Clone, Copy)]
enum Kind {
    End,
    Text,
    CData,
    Reference,
    Comment,
    Pi,
}

enum Item<T: Target> {
    /// A target starts (its start tag is the next event).
    Open(Box<T>),
    /// A start tag, parsed by the reader (`tags[tag]`).
    Parsed { tag: usize, empty: bool, at: u64 },
    /// A start tag as written (the target parses it).
    Unparsed {
        text: Range<usize>,
        name_len: usize,
        empty: bool,
        at: u64,
    },
    Markup {
        kind: Kind,
        text: Range<usize>,
        at: u64,
    },
    /// The innermost target ended (its end tag was the last event): what it gives goes here.
    Close { reply: Sender<T::Done>, at: u64 },
}

struct Batch<T: Target> {
    text: String,
    /// Start tags, reused from batch to batch: `tags[..tags_used]` are this batch's.
    tags: Vec<StartTag>,
    tags_used: usize,
    items: Vec<Item<T>>,
}

impl<T: Target> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            text: String::new(),
            tags: Vec::new(),
            tags_used: 0,
            items: Vec::new(),
        }
    }
}

impl<T: Target> Batch<T> {
    fn is_full(&self) -> bool {
        self.text.len() >= BATCH_TEXT || self.items.len() >= BATCH_ITEMS
    }

    fn push_text(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    fn push_tag(&mut self, tag: &StartTag) -> usize {
        if self.tags_used == self.tags.len() {
            self.tags.push(StartTag::default());
        }
        self.tags[self.tags_used].copy_from(tag);
        self.tags_used += 1;
        self.tags_used - 1
    }
}

/// The reading side: opens targets, feeds them events, closes them.
pub(crate) struct TargetHasher<'scope, T: Target> {
    batch: Batch<T>,
    to_worker: SyncSender<Batch<T>>,
    recycled: Receiver<Batch<T>>,
    worker: ScopedJoinHandle<'scope, Result<(), HashFailure>>,
    open: usize,
}

/// Why an event was not taken.
#[derive(Debug)]
pub(crate) enum NotFed {
    /// The hashing thread stopped, on an error that [`TargetHasher::finish`] gives.
    Stopped,
    /// The event itself cannot be hashed (never the case for events of an `XmlReader`).
    Refused(C14nError),
}

impl<'scope, T: Target + 'scope> TargetHasher<'scope, T> {
    pub(crate) fn spawn<'env>(threads: &'scope Scope<'scope, 'env>) -> Self {
        let (to_worker, batches) = sync_channel::<Batch<T>>(BATCHES_IN_FLIGHT);
        let (recycle, recycled) = channel::<Batch<T>>();
        let worker = threads.spawn(move || hash_batches(batches, recycle));
        TargetHasher {
            batch: Batch::default(),
            to_worker,
            recycled,
            worker,
            open: 0,
        }
    }

    /// Whether a target is open (events must be fed).
    pub(crate) fn is_hashing(&self) -> bool {
        self.open > 0
    }

    /// A target starts: `target` gets the next event (its start tag) and all until its end.
    pub(crate) fn open(&mut self, target: T) {
        self.open += 1;
        self.batch.items.push(Item::Open(Box::new(target)));
    }

    /// An event for every open target; `tag` is the parsed start tag of a `Start`/`Empty`, if
    /// the reader has it (else the targets parse the event's). `at` locates errors.
    pub(crate) fn feed(
        &mut self,
        event: &Event<'_>,
        tag: Option<&StartTag>,
        at: u64,
    ) -> Result<(), NotFed> {
        if self.open == 0 {
            return Ok(());
        }
        let markup = |kind, batch: &mut Batch<T>, bytes: &[u8]| {
            // The reader hands UTF-8 only (it checked every event); anything else would be a
            // defect, refused like malformed text rather than hashed wrong.
            let text = crate::xml::str_from_utf8(bytes).map_err(|_| {
                NotFed::Refused(C14nError::malformed(t("verification.texte_non_utf8")))
            })?;
            Ok::<Item<T>, NotFed>(Item::Markup {
                kind,
                text: batch.push_text(text),
                at,
            })
        };
        let b = &mut self.batch;
        let item = match (event, tag) {
            (Event::Start(_) | Event::Empty(_), Some(tag)) => Item::Parsed {
                tag: b.push_tag(tag),
                empty: matches!(event, Event::Empty(_)),
                at,
            },
            (Event::Start(e) | Event::Empty(e), None) => {
                let text = crate::xml::str_from_utf8(e).map_err(|_| {
                    NotFed::Refused(C14nError::malformed(t("verification.texte_non_utf8")))
                })?;
                Item::Unparsed {
                    text: b.push_text(text),
                    name_len: e.name().as_ref().len(),
                    empty: matches!(event, Event::Empty(_)),
                    at,
                }
            }
            (Event::End(e), _) => markup(Kind::End, b, e.name().as_ref())?,
            (Event::Text(e), _) => markup(Kind::Text, b, e)?,
            (Event::CData(e), _) => markup(Kind::CData, b, e)?,
            (Event::GeneralRef(e), _) => markup(Kind::Reference, b, e)?,
            (Event::Comment(e), _) => markup(Kind::Comment, b, e)?,
            (Event::PI(e), _) => markup(Kind::Pi, b, e)?,
            // Never inside an element.
            _ => {
                return Err(NotFed::Refused(C14nError::Usage(t(
                    "commun.empreintes_interrompues",
                ))));
            }
        };
        b.items.push(item);
        if b.is_full() {
            self.send().map_err(|Stopped| NotFed::Stopped)?;
        }
        Ok(())
    }

    /// The innermost target ended (its end tag was just fed): what it gives, later.
    pub(crate) fn close(&mut self, at: u64) -> Result<DoneLater<T::Done>, Stopped> {
        let (reply, later) = channel();
        self.open = self.open.saturating_sub(1);
        self.batch.items.push(Item::Close { reply, at });
        if self.open == 0 {
            // Nothing else comes for a while (the PJ, or the next bordereau): what it gives is
            // wanted now.
            self.send()?;
        }
        Ok(later)
    }

    fn send(&mut self) -> Result<(), Stopped> {
        let next = self.recycled.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.batch, next);
        self.to_worker.send(full).map_err(|_| Stopped)
    }

    /// Sends what is left and waits for the hashing thread; its error if it failed.
    pub(crate) fn finish(mut self) -> Result<(), HashFailure> {
        let sent = if self.batch.items.is_empty() {
            Ok(())
        } else {
            self.send()
        };
        drop(self.to_worker);
        let outcome = self
            .worker
            .join()
            .unwrap_or_else(|_| Err((0, C14nError::Usage(t("commun.empreintes_interrompues")))));
        match (outcome, sent) {
            (Err(failure), _) => Err(failure),
            (Ok(()), Err(Stopped)) => {
                Err((0, C14nError::Usage(t("commun.empreintes_interrompues"))))
            }
            (Ok(()), Ok(())) => Ok(()),
        }
    }
}

/// The hashing thread: feeds each batch's events to the open targets, in order.
fn hash_batches<T: Target>(
    batches: Receiver<Batch<T>>,
    recycle: Sender<Batch<T>>,
) -> Result<(), HashFailure> {
    let mut open: Vec<T> = Vec::new();
    for mut batch in batches {
        let Batch {
            text, tags, items, ..
        } = &mut batch;
        for item in items.drain(..) {
            match item {
                Item::Open(target) => open.push(*target),
                Item::Parsed { tag, empty, at } => {
                    let event = start_event(BytesStart::new(""), empty);
                    let tag = tags.get(tag);
                    for target in open.iter_mut() {
                        target.feed(&event, tag).map_err(|e| (at, e))?;
                    }
                }
                Item::Unparsed {
                    text: r,
                    name_len,
                    empty,
                    at,
                } => {
                    let content = text.get(r).unwrap_or_default();
                    let event = start_event(BytesStart::from_content(content, name_len), empty);
                    for target in open.iter_mut() {
                        target.feed(&event, None).map_err(|e| (at, e))?;
                    }
                }
                Item::Markup { kind, text: r, at } => {
                    let s = text.get(r).unwrap_or_default();
                    let event = match kind {
                        Kind::End => Event::End(BytesEnd::from(QName(s.as_bytes()))),
                        Kind::Text => Event::Text(BytesText::from_escaped(s)),
                        Kind::CData => Event::CData(BytesCData::new(s)),
                        Kind::Reference => Event::GeneralRef(BytesRef::new(s)),
                        Kind::Comment => Event::Comment(BytesText::from_escaped(s)),
                        Kind::Pi => Event::PI(BytesPI::new(s)),
                    };
                    for target in open.iter_mut() {
                        target.feed(&event, None).map_err(|e| (at, e))?;
                    }
                }
                Item::Close { reply, at } => {
                    let target = open.pop().ok_or_else(|| {
                        (at, C14nError::Usage(t("commun.empreintes_interrompues")))
                    })?;
                    let done = target.finish().map_err(|e| (at, e))?;
                    // The reader may not want it (e.g. no signature on this element).
                    let _ = reply.send(done);
                }
            }
        }
        text.clear();
        batch.tags_used = 0;
        // The reader may be done already.
        let _ = recycle.send(batch);
    }
    Ok(())
}

fn start_event(start: BytesStart<'_>, empty: bool) -> Event<'_> {
    if empty {
        Event::Empty(start)
    } else {
        Event::Start(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{ApexContext, C14nMode, Canonicalizer, Progress, XmlReader};

    /// A target for the tests: the exclusive and inclusive canonical forms, as bytes.
    struct Forms {
        exc: Canonicalizer<Vec<u8>>,
        inc: Canonicalizer<Vec<u8>>,
    }

    impl Forms {
        fn new(context: &ApexContext) -> Self {
            let exc = C14nMode::Exclusive {
                with_comments: false,
                inclusive_prefixes: Vec::new(),
            };
            let inc = C14nMode::Inclusive {
                with_comments: true,
            };
            Forms {
                exc: Canonicalizer::subtree(&exc, context, Vec::new())
                    .exclude_signature_children(true),
                inc: Canonicalizer::subtree(&inc, context, Vec::new()),
            }
        }
    }

    impl Target for Forms {
        type Done = (Vec<u8>, Vec<u8>);
        fn feed(&mut self, event: &Event<'_>, tag: Option<&StartTag>) -> Result<(), C14nError> {
            self.exc.feed_parsed(event, tag)?;
            self.inc.feed_parsed(event, tag).map(|_: Progress| ())
        }
        fn finish(self) -> Result<Self::Done, C14nError> {
            Ok((self.exc.finish()?, self.inc.finish()?))
        }
    }

    /// Nested targets, every kind of event, enough of them for many batches, start tags parsed
    /// by the reader or not: the hashing thread gives each target what its canonicalisers give
    /// when fed directly.
    #[test]
    fn batched_canonicalisation_gives_what_direct_canonicalisation_gives() {
        let mut doc = String::from(
            r#"<r xmlns="http://d" xmlns:a="http://a" xml:lang="fr"><t Id="T1" a:x="1">"#,
        );
        for i in 0..3000 {
            doc.push_str(&format!(
                "<e n=\"{i}\" b=\"&lt;&#233;\">x &amp; y{i}<![CDATA[<c>]]><!--c--><?p d?></e>\n"
            ));
            if i == 1500 {
                doc.push_str(r#"<t Id="T2" xmlns="" xmlns:b="http://b"><b:f/>"#);
                doc.push_str(&"z".repeat(100_000));
                doc.push_str(
                    r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature></t>"#,
                );
            }
        }
        doc.push_str("</t></r>");
        for parsed in [true, false] {
            let mut direct_open: Vec<Forms> = Vec::new();
            let mut direct = Vec::new();
            let mut later = Vec::new();
            let mut reader = XmlReader::new(doc.as_bytes()).expect("reader");
            std::thread::scope(|threads| {
                let mut hasher = TargetHasher::spawn(threads);
                loop {
                    let (event, info) = reader.read_event_with_info().expect("event");
                    if matches!(event, Event::Eof) {
                        break;
                    }
                    let tag = info.start_tag();
                    if tag.is_some_and(|t| t.local_name() == "t") {
                        direct_open.push(Forms::new(&info.apex_context()));
                        hasher.open(Forms::new(&info.apex_context()));
                    }
                    for t in direct_open.iter_mut() {
                        t.feed(&event, tag).expect("direct");
                    }
                    let given = if parsed { tag } else { None };
                    hasher.feed(&event, given, info.offset()).expect("batched");
                    if matches!(&event, Event::End(e) if e.name().as_ref() == b"t") {
                        let t = direct_open.pop().expect("open");
                        direct.push(t.finish().expect("forms"));
                        later.push(hasher.close(info.offset()).expect("close"));
                    }
                }
                hasher.finish().expect("hashing thread");
            });
            assert_eq!(direct.len(), 2);
            for (d, l) in direct.iter().zip(later) {
                assert_eq!(d, &l.recv().expect("back"), "parsed: {parsed}");
            }
            // What is compared is the real thing: T2 inside T1; T2's own signature left out of
            // its exclusive form only, kept in T1's (it is not T1's child).
            let has_signature = |form: &[u8]| form.windows(9).any(|w| w == b"Signature");
            let (t2_exc, t2_inc) = &direct[0];
            let (t1_exc, _) = &direct[1];
            assert!(t1_exc.starts_with(b"<t xmlns=\"http://d\" xmlns:a=\"http://a\" Id=\"T1\""));
            assert!(!has_signature(t2_exc) && has_signature(t2_inc) && has_signature(t1_exc));
        }
    }

    /// An error of a canonicaliser on the hashing thread comes back from `finish` with the offset
    /// of its event, and what the failed target would give never comes.
    #[test]
    fn a_canonicalisation_error_comes_back_with_its_offset() {
        let doc = r#"<r><t Id="T"><a/><b xmlns:x="relatif"/></t></r>"#;
        let mut reader = XmlReader::new(doc.as_bytes()).expect("reader");
        let (failure, later) = std::thread::scope(|threads| {
            let mut hasher = TargetHasher::spawn(threads);
            let mut later = None;
            loop {
                let (event, info) = reader.read_event_with_info().expect("event");
                if matches!(event, Event::Eof) {
                    break;
                }
                let tag = info.start_tag();
                if tag.is_some_and(|t| t.local_name() == "t") {
                    hasher.open(Forms::new(&info.apex_context()));
                }
                if hasher.is_hashing() && hasher.feed(&event, tag, info.offset()).is_err() {
                    break;
                }
                if matches!(&event, Event::End(e) if e.name().as_ref() == b"t") {
                    later = hasher.close(info.offset()).ok();
                }
            }
            (hasher.finish().expect_err("relative namespace"), later)
        });
        let (at, error) = failure;
        assert_eq!(at, doc.find("<b ").expect("b") as u64);
        assert!(error.to_string().contains("relatif"), "{error}");
        assert!(later.is_none_or(|l| l.recv().is_err()));
    }

    /// Events no reader gives (a name that is not UTF-8, a declaration inside an element) are
    /// refused on the reading side, not canonicalised into something wrong.
    #[test]
    fn events_that_cannot_be_hashed_are_refused() {
        let doc = r#"<t Id="T">a</t>"#;
        let mut reader = XmlReader::new(doc.as_bytes()).expect("reader");
        std::thread::scope(|threads| {
            let mut hasher = TargetHasher::spawn(threads);
            let (event, info) = reader.read_event_with_info().expect("start");
            hasher.open(Forms::new(&info.apex_context()));
            hasher
                .feed(&event, info.start_tag(), info.offset())
                .expect("start tag");
            let not_utf8 = Event::End(BytesEnd::from(QName(&[b'a', 0xFF])));
            assert!(matches!(
                hasher.feed(&not_utf8, None, 10),
                Err(NotFed::Refused(C14nError::Malformed { .. }))
            ));
            let declaration = Event::Eof;
            assert!(matches!(
                hasher.feed(&declaration, None, 10),
                Err(NotFed::Refused(_))
            ));
            hasher
                .feed(&Event::Text(BytesText::from_escaped("a")), None, 10)
                .expect("text");
            hasher
                .feed(&Event::End(BytesEnd::new("t")), None, 11)
                .expect("end");
            let later = hasher.close(11).expect("close");
            hasher.finish().expect("hashing thread");
            let (exc, _) = later.recv().expect("forms");
            assert_eq!(exc, b"<t Id=\"T\">a</t>");
        });
    }
}
