//! One read of a file shared by two passes running on two threads (e.g. signing a PES and
//! reviewing it): a reading thread hands every chunk it reads, as is, to both. They see the same
//! bytes by construction, the file is read once, and memory is bounded by the channels.

use crate::messages::t;
use std::io::{BufRead, Read, Write};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

/// The unit of reading and writing. 1 MiB rather than 256 KiB: every chunk is handed from thread
/// to thread (reading, parsing, review, writing), each hand-over a wake-up; with four times
/// fewer, signing a 100 MB PES took 4–8 % less time (interleaved runs), the channels holding a
/// quarter as many chunks so that memory stays about the same.
const CHUNK: usize = 1024 * 1024;

/// Chunks kept for reuse (the channels hold at most a few dozen).
const KEPT_CHUNKS: usize = 64;

/// Reads `inner` to its end in chunks and sends each chunk, as is, to every receiver still
/// listening (a pass that stopped is left out; the others go on). Meant for a thread of its own,
/// so that the passes do not spend their time in system calls. Every receiver sees the end of
/// the stream when this returns; a read error ends it early and is returned.
/// SHA-256 of every chunk received, in order (a pass of its own beside [`share_chunks`]'s
/// others, so that hashing costs the other passes nothing).
pub fn sha256_of_chunks(chunks: std::sync::mpsc::Receiver<Arc<Vec<u8>>>) -> [u8; 32] {
    let mut sha256 = openssl::sha::Sha256::new();
    for chunk in chunks {
        sha256.update(&chunk);
    }
    sha256.finish()
}

pub fn share_chunks<R: Read>(
    mut inner: R,
    receivers: Vec<SyncSender<Arc<Vec<u8>>>>,
) -> std::io::Result<()> {
    let mut receivers: Vec<_> = receivers.into_iter().map(Some).collect();
    // Chunks handed out before, reused once every pass has let go of them: a fresh chunk of this
    // size is a fresh mapping of memory, whose page faults cost more than the read.
    let mut sent: std::collections::VecDeque<Arc<Vec<u8>>> = std::collections::VecDeque::new();
    while receivers.iter().any(Option::is_some) {
        // Any chunk will do, not only the oldest: a pass may keep one for a while.
        let free = sent.iter_mut().position(|c| Arc::get_mut(c).is_some());
        let mut chunk = match free.and_then(|i| sent.remove(i)).map(Arc::try_unwrap) {
            Some(Ok(mut reused)) => {
                reused.clear();
                reused
            }
            _ => Vec::with_capacity(CHUNK),
        };
        // read_to_end fills spare capacity without zeroing it first.
        let filled = (&mut inner).take(CHUNK as u64).read_to_end(&mut chunk)?;
        if filled == 0 {
            break;
        }
        let chunk = Arc::new(chunk);
        for receiver in receivers.iter_mut() {
            if let Some(r) = receiver
                && r.send(Arc::clone(&chunk)).is_err()
            {
                *receiver = None;
            }
        }
        if sent.len() < KEPT_CHUNKS {
            sent.push_back(chunk);
        }
    }
    Ok(())
}

/// What a reading thread (one running [`share_chunks`], or any read) returned, or if it panicked,
/// a read error saying that the reading stopped.
pub fn read_outcome<T>(joined: std::thread::Result<std::io::Result<T>>) -> std::io::Result<T> {
    joined.unwrap_or_else(|_| Err(std::io::Error::other(t("commun.lecture_interrompue"))))
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

    /// A stream that has ended already.
    pub fn ended() -> Self {
        ReceivedChunks::new(std::sync::mpsc::sync_channel(0).1)
    }

    /// From now on, the chunks after the current one come from `other`; the receiver they came
    /// from is returned (to pass them on, see `pes::sign`).
    pub fn redirect(&mut self, other: Receiver<Arc<Vec<u8>>>) -> Receiver<Arc<Vec<u8>>> {
        std::mem::replace(&mut self.receiver, other)
    }

    /// The current chunk and the position of its first byte not read yet.
    pub fn unread(&self) -> (Arc<Vec<u8>>, usize) {
        (Arc::clone(&self.current), self.position)
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

/// A `Write` whose bytes reach `inner` from another thread: the caller only copies into a block
/// (1 MiB), the system calls happen beside it. Blocks are recycled, so memory stays at a few
/// blocks.
pub struct BackgroundWriter<W: Write + Send + 'static> {
    block: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<W>>>,
}

impl<W: Write + Send + 'static> BackgroundWriter<W> {
    pub fn new(inner: W) -> Self {
        Self::with_hook(inner, |_, _, _| {})
    }

    /// A writer to a file that will be synced at the end (`sync_all`): the kernel is asked to
    /// start writing each block out as soon as it is written, so that the final sync has little
    /// left to wait for — the disk works while the caller still computes, instead of after.
    pub fn syncing_early(inner: W) -> Self
    where
        W: std::os::fd::AsFd,
    {
        Self::with_hook(inner, start_writeback)
    }

    /// `after_write(inner, offset, len)` runs on the writing thread after each block.
    fn with_hook(
        mut inner: W,
        mut after_write: impl FnMut(&W, u64, usize) + Send + 'static,
    ) -> Self {
        let (full, blocks) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (recycle, empty) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::spawn(move || {
            let mut offset = 0u64;
            for mut block in blocks {
                inner.write_all(&block)?;
                after_write(&inner, offset, block.len());
                offset += block.len() as u64;
                block.clear();
                // The writer may be gone already (finished or failed): nothing to recycle for.
                let _ = recycle.send(block);
            }
            inner.flush()?;
            Ok(inner)
        });
        BackgroundWriter {
            block: Vec::with_capacity(CHUNK),
            full: Some(full),
            empty,
            thread: Some(thread),
        }
    }

    fn send_block(&mut self) -> std::io::Result<()> {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let block = std::mem::replace(&mut self.block, next);
        let sent = self.full.as_ref().map(|full| full.send(block));
        match sent {
            Some(Ok(())) => Ok(()),
            // The thread stopped on an error: say which.
            _ => {
                self.full = None;
                let stopped = self.thread.take().map(|t| t.join());
                Err(match stopped {
                    Some(Ok(Err(e))) => e,
                    _ => std::io::Error::other(t("commun.ecriture_interrompue")),
                })
            }
        }
    }

    /// Write what is left, wait for the thread and give `inner` back (or the first error).
    pub fn finish(mut self) -> std::io::Result<W> {
        let flushed = if self.block.is_empty() {
            Ok(())
        } else {
            self.send_block()
        };
        self.full = None;
        let joined = match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other(t("commun.ecriture_interrompue")))),
            None => Err(std::io::Error::other(t("commun.ecriture_interrompue"))),
        };
        let inner = joined?;
        flushed.map(|()| inner)
    }
}

/// Starts the write-out of bytes just written (Linux's `sync_file_range`, which does not wait).
/// A hint only: whatever it does, the caller's final `sync_all` is what makes the file durable.
#[cfg(target_os = "linux")]
fn start_writeback<F: std::os::fd::AsFd>(file: &F, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: the descriptor is borrowed from a file alive for the whole call; the call only
    // reads its arguments.
    unsafe {
        libc::sync_file_range(
            file.as_fd().as_raw_fd(),
            offset,
            len,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// Drops from the page cache what is cached of the file at `path`, if there is one: a file about
/// to be replaced by a rename. Its contents stay on disk (nothing is lost if the replacement
/// fails); only the eviction of its pages, which the kernel would otherwise do during the rename
/// (tens of milliseconds for a 100 MB PES, at the very end of a signature), is done early, on
/// the caller's thread — meant to be one of its own. A hint only: failures are ignored.
#[cfg(target_os = "linux")]
pub fn forget_cached_pages(path: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return;
    }
    // SAFETY: the descriptor is borrowed from a file alive for the whole call; the call only
    // reads its arguments.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

/// Whether two paths name the same existing file (same device and inode on Unix).
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn forget_cached_pages(_path: &std::path::Path) {}

#[cfg(not(target_os = "linux"))]
fn start_writeback<F: std::os::fd::AsFd>(_file: &F, _offset: u64, _len: usize) {}

impl<W: Write + Send + 'static> Write for BackgroundWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.block.len();
        let n = room.min(buf.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() >= CHUNK {
            self.send_block()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for BackgroundWriter<W> {
    fn drop(&mut self) {
        // Dropped without finish (an error elsewhere): end the thread, ignore what it says.
        self.full = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_about_to_be_replaced_keeps_its_contents_and_is_told_from_others() {
        let dir = tempfile::tempdir().expect("tmp");
        let old = dir.path().join("ancien.xml");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&old, &data).expect("write");
        forget_cached_pages(&old);
        assert_eq!(std::fs::read(&old).expect("read"), data);
        // Missing files and folders are left alone.
        forget_cached_pages(&dir.path().join("absent.xml"));
        forget_cached_pages(dir.path());

        let link = dir.path().join("lien.xml");
        std::fs::hard_link(&old, &link).expect("link");
        let other = dir.path().join("autre.xml");
        std::fs::write(&other, &data).expect("write");
        assert!(same_file(&old, &old));
        assert!(same_file(&old, &link));
        assert!(same_file(&old, &dir.path().join(".").join("ancien.xml")));
        assert!(!same_file(&old, &other));
        assert!(!same_file(&old, &dir.path().join("absent.xml")));
    }

    #[test]
    fn both_passes_read_every_byte_in_order() {
        // Many more chunks than the channels hold, so that chunks are reused once both passes
        // have let go of them; one pass reads slowly.
        let data: Vec<u8> = (0..(CHUNK * 40 + 1234)).map(|i| (i % 251) as u8).collect();
        let (first, first_chunks) = std::sync::mpsc::sync_channel(2);
        let (second, second_chunks) = std::sync::mpsc::sync_channel(2);
        let (a, b) = std::thread::scope(|s| {
            let reader = s.spawn(|| share_chunks(data.as_slice(), vec![first, second]));
            let slow = s.spawn(move || {
                let mut all = Vec::new();
                let mut input = ReceivedChunks::new(second_chunks);
                let mut piece = [0u8; 4096];
                loop {
                    let n = input.read(&mut piece).expect("read");
                    if n == 0 {
                        break;
                    }
                    all.extend_from_slice(&piece[..n]);
                    std::thread::yield_now();
                }
                all
            });
            let mut fast = Vec::new();
            ReceivedChunks::new(first_chunks)
                .read_to_end(&mut fast)
                .expect("read");
            reader.join().expect("thread").expect("read");
            (fast, slow.join().expect("thread"))
        });
        assert_eq!(a, data);
        assert_eq!(b, data);
    }

    #[test]
    fn a_pass_that_stops_does_not_stop_the_other() {
        let data: Vec<u8> = (0..(CHUNK * 10 + 5)).map(|i| (i % 249) as u8).collect();
        let (first, first_chunks) = std::sync::mpsc::sync_channel(1);
        let (second, second_chunks) = std::sync::mpsc::sync_channel(1);
        let all = std::thread::scope(|s| {
            let reader = s.spawn(|| share_chunks(data.as_slice(), vec![first, second]));
            let mut input = ReceivedChunks::new(first_chunks);
            let mut piece = [0u8; 100];
            input.read_exact(&mut piece).expect("read");
            drop(input);
            let mut all = Vec::new();
            ReceivedChunks::new(second_chunks)
                .read_to_end(&mut all)
                .expect("read");
            reader.join().expect("thread").expect("read");
            all
        });
        assert_eq!(all, data);
    }

    #[test]
    fn a_read_error_is_returned() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disque illisible"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(b'x');
                self.0 -= n;
                Ok(n)
            }
        }
        let (first, first_chunks) = std::sync::mpsc::sync_channel(64);
        let result = share_chunks(Failing(CHUNK + 10), vec![first]);
        assert!(result.is_err());
        let mut got = Vec::new();
        ReceivedChunks::new(first_chunks)
            .read_to_end(&mut got)
            .expect("read");
        assert_eq!(got.len(), CHUNK, "le morceau complet lu avant l'erreur");
    }

    #[test]
    fn chunks_are_reused_even_while_a_pass_keeps_one() {
        // The signing pass keeps the chunk it stopped parsing in while it copies the rest: the
        // others must still be reused, or every chunk after it is fresh memory (+16 MB).
        let (to_pass, chunks) = std::sync::mpsc::sync_channel(2);
        let reading = std::thread::spawn(move || {
            share_chunks(std::io::Cursor::new(vec![7u8; CHUNK * 40]), vec![to_pass])
        });
        let mut kept = None;
        let mut buffers = std::collections::HashSet::new();
        for chunk in chunks {
            buffers.insert(chunk.as_ptr() as usize);
            kept.get_or_insert(chunk);
        }
        reading.join().expect("thread").expect("read");
        assert!(
            buffers.len() <= 6,
            "{} buffers for 40 chunks",
            buffers.len()
        );
    }

    #[test]
    fn background_writer_writes_everything_in_order() {
        let data: Vec<u8> = (0..(CHUNK * 5 + 77)).map(|i| (i % 253) as u8).collect();
        let mut writer = BackgroundWriter::new(Vec::new());
        for piece in data.chunks(1000) {
            writer.write_all(piece).expect("write");
        }
        assert_eq!(writer.finish().expect("finish"), data);
    }

    #[test]
    fn background_writer_reports_the_inner_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disque plein"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut writer = BackgroundWriter::new(Full);
        let error = writer
            .write_all(&vec![1u8; CHUNK * 8])
            .expect_err("an error while writing");
        assert!(error.to_string().contains("disque plein"), "{error}");
        assert!(writer.finish().is_err());
    }
}
