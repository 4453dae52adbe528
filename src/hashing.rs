//! Hashing files without reading them whole (outbox records, review binding).

use std::io::{Read, Write};
use std::path::Path;

/// SHA-256 of a file and the number of bytes hashed, read in blocks, never whole.
pub fn file_sha256_and_size(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    let mut file = crate::files::open_regular(path)?;
    copy_hashed(&mut file, &mut std::io::sink()).map(|(digest, size)| (digest.to_vec(), size))
}

/// Copies `input` to `output` in blocks of 256 KiB, hashing what passes: its SHA-256 and size.
pub fn copy_hashed(
    input: &mut impl Read,
    output: &mut impl Write,
) -> std::io::Result<([u8; 32], u64)> {
    let mut hasher = openssl::sha::Sha256::new();
    let mut block = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut block)?;
        if n == 0 {
            break;
        }
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
