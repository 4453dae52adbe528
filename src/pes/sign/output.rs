//! The signed file's bytes, in order: what follows an element sent to the card waits here
//! (bounded) until its signature is back.

use super::SignError;
use crate::keys::BatchProgress;
use std::io::Write;
use std::path::PathBuf;

/// Bytes waiting for a signature: the output is written in order, so once a bordereau is sent
/// to the card everything after it waits here until its signature is back.
pub(super) struct DeferredOutput<W: Write> {
    pub(super) out: W,
    /// The destination, for messages.
    pub(super) path: PathBuf,
    pub(super) queue: std::collections::VecDeque<Segment>,
    pub(super) queued_bytes: usize,
    pub(super) awaited: usize,
    pub(super) resolved: usize,
}

pub(super) enum Segment {
    Bytes(Vec<u8>),
    Signature,
}

/// The input's bytes are copied to the output in pieces of about this size (and at each
/// signature), not event by event: a million small writes cost more than the copy.
pub(super) const WRITTEN_AT_ONCE: usize = 64 * 1024;

/// Beyond this much waiting output, the parser waits for the card.
const DEFERRED_LIMIT: usize = 8 * 1024 * 1024;

impl<W: Write> DeferredOutput<W> {
    pub(super) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
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

    pub(super) fn await_signature(&mut self) {
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
    pub(super) fn collect(
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
