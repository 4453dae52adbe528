//! A bound on the longest token of an XML document, for every reader.
//!
//! quick-xml hands out an event only once it holds it whole: a text node, a start tag with its
//! attributes, a comment or a CDATA section is buffered entirely, whatever its length. A 1 GB
//! attribute value then costs 1 GB (and more in the copies made of it); a file of zeros with no
//! `<` is one endless text. [`TokenLimit`] sits between the file and the parser and stops the
//! reading, with a French error, as soon as one token grows past the limit — before it is held.
//!
//! The limit is S²LOW's largest Hélios upload (128 Mio): a token longer than that belongs to a
//! file no platform would take. Reading is not slowed: the scan jumps from delimiter to
//! delimiter (memchr), and looks at the bytes the parser is about to read anyway.

use std::io::{self, BufRead, Read};

use crate::messages::tf;

/// Longest text, tag (with its attributes), comment, CDATA section or processing instruction.
pub const MAX_TOKEN: u64 = 128 * 1024 * 1024;

/// Where the scan is in the document's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// Just after `<`: the next bytes say what kind of markup this is (`seen` of `<!--`,
    /// `<![CDATA[` or `<?` matched so far).
    Open {
        seen: u8,
    },
    Tag,
    Quoted(u8),
    /// In a comment, CDATA section or processing instruction: ends at `end` (`-->`, `]]>`,
    /// `?>`); `matched` bytes of it seen.
    Until {
        end: &'static [u8],
        matched: u8,
    },
}

/// The error a reader meets when a token is too long: its Display is the French sentence.
#[derive(Debug)]
pub struct TokenTooLong {
    pub offset: u64,
}

impl std::fmt::Display for TokenTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&tf(
            "xml.jeton_trop_long",
            &[
                ("octet", &self.offset.to_string()),
                ("max", &(MAX_TOKEN / (1024 * 1024)).to_string()),
            ],
        ))
    }
}

impl std::error::Error for TokenTooLong {}

/// Whether an I/O error is the one [`TokenLimit`] raises.
pub fn is_token_too_long(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<TokenTooLong>())
}

/// A `BufRead` that fails as soon as a token of the document it passes on exceeds `limit` bytes.
pub struct TokenLimit<R> {
    inner: R,
    limit: u64,
    state: State,
    /// Bytes of the current token seen so far.
    run: u64,
    /// Bytes of the inner buffer already scanned (the buffer starts at the reading position).
    scanned: usize,
    /// Bytes consumed before the inner buffer.
    offset: u64,
}

impl<R: BufRead> TokenLimit<R> {
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_TOKEN)
    }

    pub fn with_limit(inner: R, limit: u64) -> Self {
        TokenLimit {
            inner,
            limit,
            state: State::Text,
            run: 0,
            scanned: 0,
            offset: 0,
        }
    }
}

impl<R> TokenLimit<R> {
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Advance `state` over `bytes`; returns how many bytes the current token has grown by since its
/// start within `bytes` and whether a new token started (then the growth counts from it).
fn scan(state: &mut State, bytes: &[u8]) -> (u64, bool) {
    let mut i = 0;
    let mut since = 0; // start of the current token within `bytes`
    let mut restarted = false;
    while i < bytes.len() {
        match *state {
            State::Text => match memchr::memchr(b'<', &bytes[i..]) {
                Some(at) => {
                    i += at + 1;
                    since = i - 1;
                    restarted = true;
                    *state = State::Open { seen: 0 };
                }
                None => i = bytes.len(),
            },
            State::Open { seen } => {
                let b = bytes[i];
                // `<!--`: '!' then '-' '-'; `<![CDATA[`: '!' then '['…; `<?`.
                *state = match (seen, b) {
                    (0, b'?') => State::Until {
                        end: b"?>",
                        matched: 0,
                    },
                    (0, b'!') => State::Open { seen: 1 },
                    (1, b'-') => State::Open { seen: 2 },
                    (2, b'-') => State::Until {
                        end: b"-->",
                        matched: 0,
                    },
                    (1, b'[') => State::Until {
                        end: b"]]>",
                        matched: 0,
                    },
                    _ => {
                        // An ordinary tag (or a DOCTYPE, which readers refuse): read this byte
                        // as part of it.
                        *state = State::Tag;
                        continue;
                    }
                };
                i += 1;
            }
            State::Tag => match memchr::memchr3(b'"', b'\'', b'>', &bytes[i..]) {
                Some(at) => {
                    let b = bytes[i + at];
                    i += at + 1;
                    if b == b'>' {
                        since = i;
                        restarted = true;
                        *state = State::Text;
                    } else {
                        *state = State::Quoted(b);
                    }
                }
                None => i = bytes.len(),
            },
            State::Quoted(q) => match memchr::memchr(q, &bytes[i..]) {
                Some(at) => {
                    i += at + 1;
                    *state = State::Tag;
                }
                None => i = bytes.len(),
            },
            State::Until { end, matched } => {
                let b = bytes[i];
                i += 1;
                let m = matched as usize;
                let matched = if b == end[m] {
                    m + 1
                } else if m >= 2 && end[..m].iter().all(|&e| e == b) {
                    // `--->` or `]]]>`: the last bytes still begin the end.
                    m
                } else if b == end[0] {
                    1
                } else {
                    0
                } as u8;
                if matched as usize == end.len() {
                    since = i;
                    restarted = true;
                    *state = State::Text;
                } else {
                    *state = State::Until { end, matched };
                    if matched == 0 {
                        // Jump to the next byte that could start the end.
                        match memchr::memchr(end[0], &bytes[i..]) {
                            Some(at) => i += at,
                            None => i = bytes.len(),
                        }
                    }
                }
            }
        }
    }
    ((bytes.len() - since) as u64, restarted)
}

impl<R: BufRead> BufRead for TokenLimit<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let buf = self.inner.fill_buf()?;
        if self.scanned < buf.len() {
            let (grown, restarted) = scan(&mut self.state, &buf[self.scanned..]);
            self.run = if restarted { grown } else { self.run + grown };
            if self.run > self.limit {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    TokenTooLong {
                        offset: self.offset + buf.len() as u64,
                    },
                ));
            }
            self.scanned = buf.len();
        }
        Ok(buf)
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.offset += amt as u64;
        self.scanned = self.scanned.saturating_sub(amt);
    }
}

impl<R: BufRead> Read for TokenLimit<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads everything through a limit, in reads of `step` bytes; the error if any.
    fn read_all(doc: &[u8], limit: u64, step: usize) -> io::Result<Vec<u8>> {
        let inner = io::BufReader::with_capacity(step, doc);
        let mut limited = TokenLimit::with_limit(inner, limit);
        let mut out = Vec::new();
        loop {
            let buf = limited.fill_buf()?;
            if buf.is_empty() {
                return Ok(out);
            }
            let n = buf.len();
            out.extend_from_slice(buf);
            limited.consume(n);
        }
    }

    #[test]
    fn ordinary_documents_pass_whole() {
        let doc = br#"<?xml version="1.0"?><!-- a '>' "x --><r a='1>2' b="it's"><![CDATA[ <'" ]]><x/>text</r>"#;
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(read_all(doc, 40, step).expect("passes"), doc.to_vec());
        }
    }

    #[test]
    fn a_long_token_of_any_kind_stops_the_reading() {
        let long = "A".repeat(100);
        let cases = [
            format!("<r>{long}</r>"),
            format!("<r a=\"{long}\"/>"),
            format!("<r a=\"x>{long}>\"/>"),
            format!("<r a='{long}'/>"),
            format!("<r><!-- {long} --></r>"),
            format!("<r><![CDATA[{long}]]></r>"),
            format!("<?pi {long}?><r/>"),
            long.replace('A', "\0"),
        ];
        for doc in &cases {
            for step in [1, 5, 64] {
                let e = read_all(doc.as_bytes(), 50, step).expect_err(doc);
                assert!(is_token_too_long(&e), "{doc}: {e}");
                assert!(e.to_string().contains("128"), "{e}");
            }
            read_all(doc.as_bytes(), 200, 16).expect("under a higher limit");
        }
    }

    #[test]
    fn many_short_tokens_make_no_long_one() {
        let doc = "<r>".to_owned() + &"<a b=\"1\">xx</a>".repeat(1000) + "</r>";
        read_all(doc.as_bytes(), 20, 100).expect("every token is short");
    }
}
