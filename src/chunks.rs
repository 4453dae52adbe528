//! One read of a file shared by two passes running on two threads (e.g. signing a PES and
//! reviewing it): the reading pass hands every chunk it reads, as is, to the other one. Both see
//! the same bytes by construction, the file is read once, and memory is bounded by the channel.

use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

const CHUNK: usize = 256 * 1024;

/// The reading side: a `BufRead` over the file that also sends each chunk to the other pass.
pub struct SharedChunks<R> {
    inner: R,
    sender: Option<SyncSender<Arc<Vec<u8>>>>,
    current: Arc<Vec<u8>>,
    position: usize,
}

impl<R: Read> SharedChunks<R> {
    pub fn new(inner: R, sender: SyncSender<Arc<Vec<u8>>>) -> Self {
        SharedChunks {
            inner,
            sender: Some(sender),
            current: Arc::new(Vec::new()),
            position: 0,
        }
    }

    /// Read and share what is left of the file, for the other pass alone (this one stopped).
    /// A read error ends the stream there, which the other pass sees as the end of the file.
    pub fn share_rest(&mut self) {
        while self.sender.is_some() {
            if self.next_chunk().is_err() {
                self.sender = None;
            }
        }
    }

    /// A full chunk (or what is left of the file), read and shared.
    fn next_chunk(&mut self) -> std::io::Result<()> {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match self.inner.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        chunk.truncate(filled);
        self.current = Arc::new(chunk);
        self.position = 0;
        if filled == 0 {
            // End of file: the other pass sees it when the channel closes.
            self.sender = None;
        } else if let Some(sender) = &self.sender
            && sender.send(Arc::clone(&self.current)).is_err()
        {
            // The other pass stopped (it found what it needed, or an error): read on alone.
            self.sender = None;
        }
        Ok(())
    }
}

impl<R: Read> Read for SharedChunks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for SharedChunks<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.position >= self.current.len() {
            self.next_chunk()?;
        }
        Ok(&self.current[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.current.len());
    }
}

impl<R> Drop for SharedChunks<R> {
    fn drop(&mut self) {
        // Closing the channel tells the other pass the stream ended (early, if reading failed).
        self.sender = None;
    }
}

/// The other side: a `BufRead` over the chunks received. The stream ends when the reading side
/// finishes or stops.
pub struct ReceivedChunks {
    receiver: Receiver<Arc<Vec<u8>>>,
    current: Arc<Vec<u8>>,
    position: usize,
}

impl ReceivedChunks {
    pub fn new(receiver: Receiver<Arc<Vec<u8>>>) -> Self {
        ReceivedChunks {
            receiver,
            current: Arc::new(Vec::new()),
            position: 0,
        }
    }
}

impl Read for ReceivedChunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReceivedChunks {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.position >= self.current.len() {
            match self.receiver.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.position = 0;
                }
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_read_every_byte_in_order() {
        let data: Vec<u8> = (0..(CHUNK * 3 + 1234)).map(|i| (i % 251) as u8).collect();
        let (sender, receiver) = std::sync::mpsc::sync_channel(2);
        let received = std::thread::scope(|s| {
            let other = s.spawn(move || {
                let mut all = Vec::new();
                ReceivedChunks::new(receiver)
                    .read_to_end(&mut all)
                    .map(|_| all)
            });
            let mut mine = Vec::new();
            SharedChunks::new(data.as_slice(), sender)
                .read_to_end(&mut mine)
                .expect("read");
            assert_eq!(mine, data);
            other.join().expect("thread").expect("read")
        });
        assert_eq!(received, data);
    }

    #[test]
    fn reading_goes_on_when_the_other_side_stops() {
        let data = vec![7u8; CHUNK * 4];
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        drop(receiver);
        let mut mine = Vec::new();
        SharedChunks::new(data.as_slice(), sender)
            .read_to_end(&mut mine)
            .expect("read");
        assert_eq!(mine.len(), data.len());
    }
}
