//! Input decoding: detects the document's encoding (byte order mark, then the `encoding` of the
//! XML declaration), transcodes it to UTF-8 on the fly for quick-xml, and remembers where lines
//! start so that errors can be located.
//!
//! We decode ourselves rather than through `encoding_rs` because encoding_rs follows the WHATWG
//! rules, where the label `ISO-8859-1` means windows-1252; libxml2 (like XML) reads ISO-8859-1 as
//! ISO-8859-1 (bytes 0x80–0x9F are the C1 controls), and the canonical form must be the same.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

use super::error::{C14nError, Position};

/// Encodings we read. The PES files are ISO-8859-1 or UTF-8; the others are near relatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEncoding {
    Utf8,
    Ascii,
    Latin1,
    Latin9,
    Windows1252,
}

impl SourceEncoding {
    /// The encoding for a label of the XML declaration (case-insensitive), `None` if unsupported.
    pub fn from_label(label: &str) -> Option<Self> {
        let l = label.trim().to_ascii_lowercase();
        Some(match l.as_str() {
            "utf-8" | "utf8" => SourceEncoding::Utf8,
            "us-ascii" | "ascii" | "iso646-us" | "us" | "ansi_x3.4-1968" | "csascii" => {
                SourceEncoding::Ascii
            }
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "iso_8859-1:1987" | "latin1"
            | "latin-1" | "l1" | "iso-ir-100" | "cp819" | "ibm819" | "csisolatin1" => {
                SourceEncoding::Latin1
            }
            "iso-8859-15" | "iso8859-15" | "iso_8859-15" | "latin-9" | "latin9" | "l9"
            | "csisolatin9" => SourceEncoding::Latin9,
            "windows-1252" | "cp1252" | "x-cp1252" => SourceEncoding::Windows1252,
            _ => return None,
        })
    }

    /// Name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "UTF-8",
            SourceEncoding::Ascii => "US-ASCII",
            SourceEncoding::Latin1 => "ISO-8859-1",
            SourceEncoding::Latin9 => "ISO-8859-15",
            SourceEncoding::Windows1252 => "windows-1252",
        }
    }

    /// The character of a byte ≥ 0x80 in a single-byte encoding, `None` if undefined.
    fn high_char(self, b: u8) -> Option<char> {
        match self {
            SourceEncoding::Utf8 | SourceEncoding::Ascii => None,
            SourceEncoding::Latin1 => Some(char::from(b)),
            SourceEncoding::Latin9 => Some(match b {
                0xA4 => '\u{20AC}',
                0xA6 => '\u{160}',
                0xA8 => '\u{161}',
                0xB4 => '\u{17D}',
                0xB8 => '\u{17E}',
                0xBC => '\u{152}',
                0xBD => '\u{153}',
                0xBE => '\u{178}',
                _ => char::from(b),
            }),
            SourceEncoding::Windows1252 => {
                const C1: [u16; 32] = [
                    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030,
                    0x0160, 0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D,
                    0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E,
                    0x0178,
                ];
                if (0x80..0xA0).contains(&b) {
                    match C1[usize::from(b - 0x80)] {
                        0 => None,
                        c => char::from_u32(u32::from(c)),
                    }
                } else {
                    Some(char::from(b))
                }
            }
        }
    }
}

/// Longest XML declaration we accept (its encoding must be known before decoding starts).
const MAX_DECLARATION: usize = 4096;
const BUFFER: usize = 32 * 1024;
const RAW_CHUNK: usize = 8 * 1024;
/// How many line starts are remembered to locate errors (older ones are forgotten: positions
/// before them are reported approximately).
const LINE_HISTORY: usize = 16 * 1024;

/// Offsets (in the decoded UTF-8 stream) of the most recent line breaks.
#[derive(Debug, Default)]
pub(crate) struct LineIndex {
    breaks: VecDeque<u64>,
    forgotten: u64,
    prev_cr: Option<u64>,
}

impl LineIndex {
    fn record(&mut self, offset: u64) {
        if self.breaks.len() == LINE_HISTORY {
            self.breaks.pop_front();
            self.forgotten += 1;
        }
        self.breaks.push_back(offset);
    }

    /// Notes the line breaks in `bytes`, which start at `base` in the decoded stream. `\r\n`,
    /// `\r` and `\n` are each one line break.
    fn scan(&mut self, bytes: &[u8], base: u64) {
        if bytes.is_empty() {
            return;
        }
        if let Some(cr) = self.prev_cr.take()
            && bytes[0] != b'\n'
        {
            self.record(cr);
        }
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            let b = bytes[i];
            if b == b'\n' {
                self.record(base + i as u64);
            } else if b == b'\r' {
                match bytes.get(i + 1) {
                    Some(b'\n') => {}
                    Some(_) => self.record(base + i as u64),
                    None => self.prev_cr = Some(base + i as u64),
                }
            }
        }
    }

    /// End of input: a final lone `\r` is a line break too.
    fn finish(&mut self) {
        if let Some(cr) = self.prev_cr.take() {
            self.record(cr);
        }
    }

    pub(crate) fn position(&self, offset: u64) -> Position {
        let before = self.breaks.partition_point(|&b| b < offset);
        let line = self.forgotten + before as u64 + 1;
        let column = match before.checked_sub(1).and_then(|i| self.breaks.get(i)) {
            Some(&b) => offset - b,
            None if self.forgotten == 0 => offset + 1,
            None => 1,
        };
        Position { line, column }
    }
}

/// A `BufRead` that delivers the document as UTF-8, whatever its declared encoding, without its
/// byte order mark.
pub struct Utf8Input<R> {
    inner: R,
    head: Vec<u8>,
    head_pos: usize,
    encoding: SourceEncoding,
    /// Decoded bytes `[start, ready)` are available; `[ready, filled)` are raw UTF-8 bytes not yet
    /// validated (an incomplete sequence, or an invalid one to report).
    buf: Box<[u8]>,
    start: usize,
    ready: usize,
    filled: usize,
    raw: Box<[u8]>,
    /// Total decoded bytes handed out before `buf[0]`.
    base: u64,
    eof: bool,
    lines: LineIndex,
    failure: Option<u64>,
}

impl<R: Read> Utf8Input<R> {
    /// Reads the beginning of the document to find its encoding.
    pub fn new(mut inner: R) -> Result<Self, C14nError> {
        let mut head = Vec::with_capacity(512);
        let mut chunk = [0u8; 512];
        // Enough to see a byte order mark and the start of a declaration.
        while head.len() < 16 {
            let n = read_retrying(&mut inner, &mut chunk[..16 - head.len()])?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&chunk[..n]);
        }
        let mut bom = 0;
        let mut encoding = SourceEncoding::Utf8;
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            bom = 3;
        } else if head.starts_with(&[0xFE, 0xFF])
            || head.starts_with(&[0xFF, 0xFE])
            || head.starts_with(&[0, b'<'])
            || head.starts_with(&[b'<', 0])
            || head.starts_with(&[0, 0])
        {
            return Err(C14nError::UnsupportedEncoding {
                label: "UTF-16 / UCS-4".to_owned(),
            });
        }
        let body = &head[bom..];
        let has_declaration =
            body.len() >= 6 && body.starts_with(b"<?xml") && super::syntax::is_xml_space(body[5]);
        if has_declaration {
            while !head[bom..].windows(2).any(|w| w == b"?>") {
                if head.len() > MAX_DECLARATION {
                    return Err(C14nError::Malformed {
                        position: Some(Position { line: 1, column: 1 }),
                        detail: "déclaration XML non terminée ou trop longue".to_owned(),
                    });
                }
                let n = read_retrying(&mut inner, &mut chunk)?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&chunk[..n]);
            }
            if let Some(label) = declared_encoding(&head[bom..]) {
                let declared =
                    SourceEncoding::from_label(&label).ok_or(C14nError::UnsupportedEncoding {
                        label: label.clone(),
                    })?;
                if bom == 3 && declared != SourceEncoding::Utf8 {
                    return Err(C14nError::malformed(format!(
                        "le document commence par une marque d'ordre UTF-8 mais déclare l'encodage « {label} »"
                    )));
                }
                encoding = declared;
            }
        }
        Ok(Utf8Input {
            inner,
            head,
            head_pos: bom,
            encoding,
            buf: vec![0; BUFFER].into_boxed_slice(),
            start: 0,
            ready: 0,
            filled: 0,
            raw: vec![0; RAW_CHUNK].into_boxed_slice(),
            base: 0,
            eof: false,
            lines: LineIndex::default(),
            failure: None,
        })
    }
}

impl<R> Utf8Input<R> {
    /// The encoding the document is read with.
    pub fn encoding(&self) -> SourceEncoding {
        self.encoding
    }

    /// Line and column of an offset of the decoded stream (as counted by quick-xml).
    pub fn position(&self, offset: u64) -> Position {
        self.lines.position(offset)
    }

    pub(crate) fn lines(&self) -> &LineIndex {
        &self.lines
    }

    /// The decoding error met, if any, as a user-facing error.
    pub fn failure(&self) -> Option<C14nError> {
        self.failure.map(|off| C14nError::InvalidEncoding {
            encoding: self.encoding.name(),
            position: Some(self.lines.position(off)),
        })
    }
}

fn read_retrying<R: Read>(inner: &mut R, dst: &mut [u8]) -> io::Result<usize> {
    loop {
        match inner.read(dst) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

impl SourceEncoding {
    /// The encoding the XML declaration at the start of `head` names (after a UTF-8 byte order
    /// mark, if any); UTF-8 when there is no declaration or no label, `None` when the label is
    /// not one we read.
    pub fn declared_in(head: &[u8]) -> Option<SourceEncoding> {
        let head = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
        match declared_encoding(head) {
            Some(label) => SourceEncoding::from_label(&label),
            None => Some(SourceEncoding::Utf8),
        }
    }

    /// One byte per character (every encoding we read but UTF-8).
    pub fn single_byte(self) -> bool {
        self != SourceEncoding::Utf8
    }
}

/// The value of `encoding="…"` in an XML declaration at the start of `head`, if any.
fn declared_encoding(head: &[u8]) -> Option<String> {
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = &head[..end];
    let mut i = 5;
    while i + 8 <= decl.len() {
        if &decl[i..i + 8] == b"encoding" && super::syntax::is_xml_space(decl[i - 1]) {
            let mut j = i + 8;
            while j < decl.len() && super::syntax::is_xml_space(decl[j]) {
                j += 1;
            }
            if decl.get(j) != Some(&b'=') {
                return None;
            }
            j += 1;
            while j < decl.len() && super::syntax::is_xml_space(decl[j]) {
                j += 1;
            }
            let quote = *decl.get(j)?;
            if quote != b'"' && quote != b'\'' {
                return None;
            }
            let value_end = decl[j + 1..].iter().position(|&b| b == quote)? + j + 1;
            return Some(String::from_utf8_lossy(&decl[j + 1..value_end]).into_owned());
        }
        i += 1;
    }
    None
}

/// Reads raw bytes: first those read while detecting the encoding, then from the input.
fn read_source<R: Read>(
    inner: &mut R,
    head: &mut Vec<u8>,
    head_pos: &mut usize,
    dst: &mut [u8],
) -> io::Result<usize> {
    if *head_pos < head.len() {
        let n = dst.len().min(head.len() - *head_pos);
        dst[..n].copy_from_slice(&head[*head_pos..*head_pos + n]);
        *head_pos += n;
        if *head_pos == head.len() {
            *head = Vec::new();
            *head_pos = 0;
        }
        return Ok(n);
    }
    read_retrying(inner, dst)
}

/// Chunk size of the ASCII fast path in single-byte decoding.
const ASCII_CHUNK: usize = 64;

fn invalid_data() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "séquence d'octets invalide dans l'encodage du document",
    )
}

impl<R: Read> Utf8Input<R> {
    /// Makes new decoded bytes available (none only at the end of the input).
    fn refill(&mut self) -> io::Result<()> {
        if self.failure.is_some() {
            return Err(invalid_data());
        }
        // Everything before `ready` has been consumed: slide the rest to the front.
        let consumed = self.ready;
        self.buf.copy_within(self.ready..self.filled, 0);
        self.filled -= consumed;
        self.base += consumed as u64;
        self.start = 0;
        self.ready = 0;
        match self.encoding {
            SourceEncoding::Utf8 => self.refill_utf8(),
            _ => self.refill_single_byte(),
        }
    }

    fn fail(&mut self, at: usize) -> io::Error {
        self.failure = Some(self.base + at as u64);
        invalid_data()
    }

    fn refill_utf8(&mut self) -> io::Result<()> {
        loop {
            if self.filled > 0 {
                match std::str::from_utf8(&self.buf[..self.filled]) {
                    Ok(_) => self.ready = self.filled,
                    Err(e) => {
                        self.ready = e.valid_up_to();
                        if e.error_len().is_some() && self.ready == 0 {
                            return Err(self.fail(0));
                        }
                    }
                }
                if self.ready > 0 {
                    let base = self.base;
                    self.lines.scan(&self.buf[..self.ready], base);
                    return Ok(());
                }
            }
            if self.eof {
                if self.filled > 0 {
                    // A truncated multi-byte sequence at the very end.
                    return Err(self.fail(0));
                }
                self.lines.finish();
                return Ok(());
            }
            let n = read_source(
                &mut self.inner,
                &mut self.head,
                &mut self.head_pos,
                &mut self.buf[self.filled..],
            )?;
            if n == 0 {
                self.eof = true;
            }
            self.filled += n;
        }
    }

    fn refill_single_byte(&mut self) -> io::Result<()> {
        loop {
            if self.eof {
                return Ok(());
            }
            // Each byte becomes at most 3 UTF-8 bytes.
            let room = (self.buf.len() - self.filled) / 3;
            let limit = room.min(self.raw.len());
            let n = read_source(
                &mut self.inner,
                &mut self.head,
                &mut self.head_pos,
                &mut self.raw[..limit],
            )?;
            if n == 0 {
                self.eof = true;
                self.lines.finish();
                return Ok(());
            }
            let mut w = self.filled;
            let mut i = 0;
            while i < n {
                // ASCII runs are copied a chunk at a time; other chunks byte by byte.
                let end = (i + ASCII_CHUNK).min(n);
                if self.raw[i..end].is_ascii() {
                    self.buf[w..w + end - i].copy_from_slice(&self.raw[i..end]);
                    w += end - i;
                    i = end;
                    continue;
                }
                for &b in &self.raw[i..end] {
                    if b < 0x80 {
                        self.buf[w] = b;
                        w += 1;
                    } else {
                        match self.encoding.high_char(b) {
                            Some(c) => w += c.encode_utf8(&mut self.buf[w..]).len(),
                            None => {
                                // Hand out what was decoded before the bad byte first.
                                self.filled = w;
                                self.ready = w;
                                let base = self.base;
                                self.lines.scan(&self.buf[..w], base);
                                return Err(self.fail(w));
                            }
                        }
                    }
                }
                i = end;
            }
            self.filled = w;
            self.ready = w;
            let base = self.base;
            self.lines.scan(&self.buf[..w], base);
            if w > 0 {
                return Ok(());
            }
        }
    }
}

impl<R: Read> Read for Utf8Input<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Utf8Input<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.ready {
            self.refill()?;
        }
        Ok(&self.buf[self.start..self.ready])
    }

    fn consume(&mut self, amt: usize) {
        self.start = (self.start + amt).min(self.ready);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<String, C14nError> {
        let mut input = Utf8Input::new(bytes)?;
        let mut out = Vec::new();
        match input.read_to_end(&mut out) {
            Ok(_) => Ok(String::from_utf8(out).unwrap()),
            Err(_) => Err(input.failure().unwrap()),
        }
    }

    #[test]
    fn the_declared_encoding_is_read_from_the_head() {
        let declared = |head: &[u8]| SourceEncoding::declared_in(head);
        assert_eq!(
            declared(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"),
            Some(SourceEncoding::Latin1)
        );
        assert_eq!(
            declared(b"\xEF\xBB\xBF<?xml version='1.0' encoding='windows-1252'?><a/>"),
            Some(SourceEncoding::Windows1252)
        );
        assert_eq!(declared(b"<a/>"), Some(SourceEncoding::Utf8));
        assert_eq!(
            declared(b"<?xml version='1.0' encoding='KOI8-R'?><a/>"),
            None
        );
        assert!(SourceEncoding::Latin9.single_byte() && !SourceEncoding::Utf8.single_byte());
    }

    #[test]
    fn latin1_is_decoded() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9\x80</a>";
        assert_eq!(
            decode(doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>é\u{80}</a>"
        );
    }

    #[test]
    fn windows_1252_is_decoded() {
        let doc = b"<?xml version='1.0' encoding='windows-1252'?><a>\x80\x9c</a>";
        assert!(decode(doc).unwrap().ends_with("<a>€œ</a>"));
        let bad = b"<?xml version='1.0' encoding='windows-1252'?><a>\x81</a>";
        assert!(decode(bad).is_err());
    }

    #[test]
    fn utf8_bom_and_validation() {
        assert_eq!(decode(b"\xef\xbb\xbf<a/>").unwrap(), "<a/>");
        assert!(decode(b"<a>\xe9</a>").is_err());
        assert!(decode(b"<a>\xc3").is_err());
        assert!(matches!(
            decode(b"<?xml version='1.0' encoding='KOI8-R'?><a/>"),
            Err(C14nError::UnsupportedEncoding { .. })
        ));
        assert!(decode(b"\xff\xfe<\0a\0/\0>\0").is_err());
    }

    #[test]
    fn split_sequences_survive_small_reads() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let text = "<a>été 𝄞 ok</a>";
        let mut input = Utf8Input::new(OneByte(text.as_bytes())).unwrap();
        let mut out = String::new();
        input.read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn positions() {
        let mut lines = LineIndex::default();
        lines.scan(b"ab\ncd\r\nef\rg", 0);
        lines.finish();
        assert_eq!(lines.position(0), Position { line: 1, column: 1 });
        assert_eq!(lines.position(4), Position { line: 2, column: 2 });
        assert_eq!(lines.position(7), Position { line: 3, column: 1 });
        assert_eq!(lines.position(10), Position { line: 4, column: 1 });
    }
}
