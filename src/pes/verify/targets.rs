//! Hashing the signed elements on a thread of their own.
//!
//! Verifying a PES is two jobs of about the same size: reading the document (decoding, parsing
//! and checking every tag) and canonicalising and hashing what the signatures cover (the
//! bordereaux). Done one after the other on one thread, the second core stayed idle. Here the
//! reading thread hands the events inside signed elements, in batches, to a hashing thread that
//! owns their canonicalisers; each target's digests come back through a channel of its own,
//! which the signature checker waits on.
//!
//! Batches carry the events' text and the start tags as the reader parsed and checked them, so
//! the hashing thread parses nothing again; their buffers go back to the reader to be reused.

use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use quick_xml::events::{BytesCData, BytesEnd, BytesPI, BytesRef, BytesStart, BytesText, Event};
use quick_xml::name::QName;

use super::{Digests, TargetHash};
use crate::messages::t;
use crate::xml::{C14nError, StartTag};

/// A target's digests, once the hashing thread has them. Receiving fails when that thread
/// stopped before (its error is then reported by [`TargetHasher::finish`]).
pub(super) type DigestsLater = Receiver<Digests>;

/// A failure of the hashing thread: the error, and the offset (in the decoded text) of the event
/// it was found at.
pub(super) type HashFailure = (u64, C14nError);

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

enum Item {
    /// A target starts (its start tag is the next event).
    Open(Box<TargetHash>),
    Start {
        tag: usize,
        empty: bool,
        at: u64,
    },
    Markup {
        kind: Kind,
        text: Range<usize>,
        at: u64,
    },
    /// The innermost target ended (its end tag was the last event): its digests go here.
    Close {
        reply: Sender<Digests>,
        at: u64,
    },
}

#[derive(Default)]
struct Batch {
    text: String,
    /// Start tags, reused from batch to batch: `tags[..tags_used]` are this batch's.
    tags: Vec<StartTag>,
    tags_used: usize,
    items: Vec<Item>,
}

impl Batch {
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
pub(super) struct TargetHasher<'scope> {
    batch: Batch,
    to_worker: SyncSender<Batch>,
    recycled: Receiver<Batch>,
    worker: ScopedJoinHandle<'scope, Result<(), HashFailure>>,
    open: usize,
}

/// The hashing thread stopped (on an error, which [`TargetHasher::finish`] gives).
#[derive(Debug)]
pub(super) struct Stopped;

impl<'scope> TargetHasher<'scope> {
    pub(super) fn spawn<'env>(threads: &'scope Scope<'scope, 'env>) -> Self {
        let (to_worker, batches) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
        let (recycle, recycled) = channel::<Batch>();
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
    pub(super) fn is_hashing(&self) -> bool {
        self.open > 0
    }

    /// A target starts: `target` gets the next event (its start tag) and all until its end.
    pub(super) fn open(&mut self, target: TargetHash) {
        self.open += 1;
        self.batch.items.push(Item::Open(Box::new(target)));
    }

    /// An event for every open target; `tag` is the parsed start tag of a `Start`/`Empty`.
    pub(super) fn feed(
        &mut self,
        event: &Event<'_>,
        tag: Option<&StartTag>,
        at: u64,
    ) -> Result<(), Stopped> {
        if self.open == 0 {
            return Ok(());
        }
        let markup = |kind, batch: &mut Batch, bytes: &[u8]| {
            // The reader hands UTF-8 only (it checked every event); anything else would be
            // a defect, reported like one.
            let text = std::str::from_utf8(bytes).map_err(|_| Stopped)?;
            Ok::<Item, Stopped>(Item::Markup {
                kind,
                text: batch.push_text(text),
                at,
            })
        };
        let b = &mut self.batch;
        let item = match (event, tag) {
            (Event::Start(_), Some(tag)) => Item::Start {
                tag: b.push_tag(tag),
                empty: false,
                at,
            },
            (Event::Empty(_), Some(tag)) => Item::Start {
                tag: b.push_tag(tag),
                empty: true,
                at,
            },
            (Event::End(e), _) => markup(Kind::End, b, e.name().as_ref())?,
            (Event::Text(e), _) => markup(Kind::Text, b, e)?,
            (Event::CData(e), _) => markup(Kind::CData, b, e)?,
            (Event::GeneralRef(e), _) => markup(Kind::Reference, b, e)?,
            (Event::Comment(e), _) => markup(Kind::Comment, b, e)?,
            (Event::PI(e), _) => markup(Kind::Pi, b, e)?,
            // Start tags come parsed from the reader; the rest never occurs inside an element.
            _ => return Err(Stopped),
        };
        b.items.push(item);
        if b.is_full() {
            self.send()?;
        }
        Ok(())
    }

    /// The innermost target ended (its end tag was just fed): its digests, later.
    pub(super) fn close(&mut self, at: u64) -> Result<DigestsLater, Stopped> {
        let (reply, later) = channel();
        self.open = self.open.saturating_sub(1);
        self.batch.items.push(Item::Close { reply, at });
        if self.open == 0 {
            // Nothing else comes for a while (the PJ, or the next bordereau): the digests are
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
    pub(super) fn finish(mut self) -> Result<(), HashFailure> {
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
fn hash_batches(batches: Receiver<Batch>, recycle: Sender<Batch>) -> Result<(), HashFailure> {
    let mut open: Vec<TargetHash> = Vec::new();
    for mut batch in batches {
        let Batch {
            text, tags, items, ..
        } = &mut batch;
        for item in items.drain(..) {
            match item {
                Item::Open(target) => open.push(*target),
                Item::Start { tag, empty, at } => {
                    let start = BytesStart::new("");
                    let event = if empty {
                        Event::Empty(start)
                    } else {
                        Event::Start(start)
                    };
                    let tag = tags.get(tag);
                    for target in open.iter_mut() {
                        target.feed(&event, tag).map_err(|e| (at, e))?;
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
                    let digests = target.finish().map_err(|e| (at, e))?;
                    // The reader may not want them (no signature on this element).
                    let _ = reply.send(digests);
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
