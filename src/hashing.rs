//! Hashing files without reading them whole (outbox records, review binding).

use std::io::{Read, Write};
use std::path::Path;

/// SHA-256 of a file and the number of bytes hashed, read in blocks, never whole.
pub fn file_sha256_and_size(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    let mut file = crate::files::open_regular(path)?;
    copy_hashed(&mut file, &mut std::io::sink()).map(|(digest, size)| (digest.to_vec(), size))
}

/// Copies `input` to `output` in blocks of 256 KiB, hashing what passes: its SHA-256 and size.
/// A read interrupted by a signal is tried again, as `std::io::copy` does: nothing was read, so
/// it is no reason to give up (a pipe or a terminal can be interrupted; a regular file is not).
pub fn copy_hashed(
    input: &mut impl Read,
    output: &mut impl Write,
) -> std::io::Result<([u8; 32], u64)> {
    let mut hasher = openssl::sha::Sha256::new();
    let mut block = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match input.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size += n as u64;
        hasher.update(&block[..n]);
        output.write_all(&block[..n])?;
    }
    Ok((hasher.finish(), size))
}

/// A reader that hashes (SHA-256) everything read through it.
pub struct Sha256Reader<R> {
    inner: R,
    hasher: openssl::sha::Sha256,
}

impl<R> Sha256Reader<R> {
    pub fn new(inner: R) -> Self {
        Sha256Reader {
            inner,
            hasher: openssl::sha::Sha256::new(),
        }
    }

    /// The digest of everything read so far.
    pub fn finish(self) -> [u8; 32] {
        self.hasher.finish()
    }
}

impl<R: Read> Read for Sha256Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `parts` one read at a time, with an interruption (EINTR) before each.
    struct Interrupted<'a> {
        parts: Vec<&'a [u8]>,
        interrupt: bool,
    }

    impl Read for Interrupted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            if self.parts.is_empty() {
                return Ok(0);
            }
            let part = self.parts.remove(0);
            buf[..part.len()].copy_from_slice(part);
            Ok(part.len())
        }
    }

    #[test]
    fn interrupted_reads_are_tried_again() {
        let mut input = Interrupted {
            parts: vec![b"PES", b"_Aller"],
            interrupt: false,
        };
        let mut copy = Vec::new();
        let (digest, size) = copy_hashed(&mut input, &mut copy).expect("copie");
        assert_eq!(copy, b"PES_Aller");
        assert_eq!(size, 9);
        assert_eq!(digest, openssl::sha::sha256(b"PES_Aller"));
    }

    #[test]
    fn other_read_errors_stop_the_copy() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::InvalidData.into())
            }
        }
        let error = copy_hashed(&mut Broken, &mut std::io::sink()).expect_err("erreur");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    }
}
