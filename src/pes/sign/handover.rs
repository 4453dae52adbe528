//! The signing pass's parser and its hand-over to the review: a [`Tee`] keeps the bytes the
//! parser consumes (the output copies them), and [`hand_over`] gives the parser, where it stands,
//! to the review's thread, passing it the chunks still to come ([`Tail`]).

use super::SignError;
use crate::pes::summary::SummaryBuilder;
use std::io::{BufRead, Read};

/// A `BufRead` that keeps every byte the parser consumes, so that the output can copy the input's
/// exact bytes event by event (memory: one event at a time), and hashes them as they pass.
pub(super) struct Tee<R> {
    pub(super) inner: R,
    pub(super) pending: Vec<u8>,
    /// None when another pass reads the very same buffers (see [`sign_with_review`](super::sign_with_review)).
    pub(super) hasher: Option<openssl::sha::Sha256>,
    /// False once the parser is handed over to the review (see [`hand_over`]): nothing is copied
    /// any more.
    pub(super) keep: bool,
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

/// The review the signing pass feeds until it hands it over (see [`sign_with_review`](super::sign_with_review)).
pub(super) struct Review {
    pub(super) summary: SummaryBuilder,
    pub(super) hand_over: std::sync::mpsc::Sender<HandOver>,
}

/// The signing pass's parser.
pub(super) type Parser =
    quick_xml::Reader<crate::xml::limit::TokenLimit<Tee<crate::chunks::ReceivedChunks>>>;

/// The review and the parser it reads on with, from where the signing pass stopped.
pub(super) struct HandOver {
    pub(super) parser: Parser,
    pub(super) summary: SummaryBuilder,
}

/// The chunks still to come once the parser is handed over: the signing pass passes each one on
/// to the review (they are shared, not copied).
pub(super) struct Tail {
    /// What is left of the chunk being read at the hand-over.
    current: (std::sync::Arc<Vec<u8>>, usize),
    rest: std::sync::mpsc::Receiver<std::sync::Arc<Vec<u8>>>,
    to_review: std::sync::mpsc::SyncSender<std::sync::Arc<Vec<u8>>>,
}

/// Give the review the parser (where it stands, with its encoding and open elements) and the
/// summary so far; the chunks it will read come through the returned [`Tail`]. `reader` is left
/// with an empty stream.
pub(super) fn hand_over(reader: &mut Parser, review: Review) -> Tail {
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
    pub(super) fn copy(
        self,
        mut copy: impl FnMut(&[u8]) -> Result<(), SignError>,
    ) -> Result<(), SignError> {
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
    pub(super) fn drain(self) {
        drop(self.current);
        for chunk in self.rest {
            if self.to_review.send(chunk).is_err() {
                break;
            }
        }
    }
}

pub(super) fn new_parser(
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
