//! The three ways an encrypted bid arrives: DER, PEM (`-----BEGIN CMS-----`, `PKCS7`) or S/MIME
//! (`application/pkcs7-mime`, base64 body). The text forms are decoded as a stream, line by line.

use base64::Engine;
use std::io::{BufRead, Read};

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Armor {
    Der,
    Pem,
    Smime,
}

/// Recognise the form from the start of the file (as many bytes as `fill_buf` gives).
pub fn detect(head: &[u8]) -> Option<Armor> {
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if text.first() == Some(&0x30) {
        return Some(Armor::Der);
    }
    let trimmed = text.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN CMS-----") || trimmed.starts_with(b"-----BEGIN PKCS7-----")
    {
        return Some(Armor::Pem);
    }
    let lower = String::from_utf8_lossy(&text[..text.len().min(4096)]).to_ascii_lowercase();
    if lower.contains("pkcs7-mime")
        && (lower.contains("mime-version") || lower.starts_with("content-"))
    {
        return Some(Armor::Smime);
    }
    None
}

/// Base64 lines to bytes: for PEM, between the BEGIN and END lines; for S/MIME, the body after
/// the headers' blank line, up to the next blank line or the end.
pub struct Base64Lines<R> {
    inner: R,
    armor: Armor,
    started: bool,
    finished: bool,
    /// Base64 characters not yet decoded (fewer than 4 after each line).
    carry: Vec<u8>,
    decoded: Vec<u8>,
    position: usize,
    line: Vec<u8>,
}

impl<R: BufRead> Base64Lines<R> {
    pub fn new(inner: R, armor: Armor) -> Self {
        Base64Lines {
            inner,
            armor,
            started: false,
            finished: false,
            carry: Vec::new(),
            decoded: Vec::new(),
            position: 0,
            line: Vec::new(),
        }
    }

    /// Decode lines until some bytes are ready or the body ends.
    fn refill(&mut self) -> std::io::Result<()> {
        self.decoded.clear();
        self.position = 0;
        while self.decoded.is_empty() && !self.finished {
            self.line.clear();
            let n = self.inner.read_until(b'\n', &mut self.line)?;
            if n == 0 {
                self.finished = true;
                break;
            }
            let line = self.line.trim_ascii();
            if !self.started {
                self.started = match self.armor {
                    Armor::Pem => line.starts_with(b"-----BEGIN"),
                    // The headers end at the first blank line.
                    Armor::Smime => line.is_empty(),
                    Armor::Der => true,
                };
                continue;
            }
            if line.starts_with(b"-----END") || (self.armor == Armor::Smime && line.is_empty()) {
                self.finished = true;
                break;
            }
            self.carry
                .extend(line.iter().copied().filter(|b| !b.is_ascii_whitespace()));
            let usable = self.carry.len() / 4 * 4;
            // Padding only at the very end: keep a padded group for the final decode.
            let usable = if self.carry[..usable].contains(&b'=') {
                0
            } else {
                usable
            };
            if usable > 0 {
                let engine = base64::engine::general_purpose::STANDARD;
                engine
                    .decode_vec(&self.carry[..usable], &mut self.decoded)
                    .map_err(invalid)?;
                self.carry.drain(..usable);
            }
        }
        if self.finished && !self.carry.is_empty() {
            let engine = base64::engine::general_purpose::STANDARD;
            engine
                .decode_vec(&self.carry, &mut self.decoded)
                .map_err(invalid)?;
            self.carry.clear();
        }
        Ok(())
    }
}

fn invalid(e: base64::DecodeError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("base64 : {e}"))
}

impl<R: BufRead> Read for Base64Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.position >= self.decoded.len() {
            self.refill()?;
        }
        let available = &self.decoded[self.position..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_smime_bodies_decode_across_lines() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        // Lines of 61 characters: groups of four straddle the line ends.
        let lines: Vec<String> = b64
            .as_bytes()
            .chunks(61)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let pem = format!(
            "-----BEGIN CMS-----\n{}\n-----END CMS-----\n",
            lines.join("\n")
        );
        assert_eq!(detect(pem.as_bytes()), Some(Armor::Pem));
        let mut out = Vec::new();
        Base64Lines::new(pem.as_bytes(), Armor::Pem)
            .read_to_end(&mut out)
            .expect("pem");
        assert_eq!(out, data);
        let smime = format!(
            "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n{}\r\n\r\n",
            lines.join("\r\n")
        );
        assert_eq!(detect(smime.as_bytes()), Some(Armor::Smime));
        let mut out = Vec::new();
        Base64Lines::new(smime.as_bytes(), Armor::Smime)
            .read_to_end(&mut out)
            .expect("smime");
        assert_eq!(out, data);
        assert_eq!(detect(b"%PDF-1.7"), None);
    }
}
