//! Writing the canonical form: text, raw character data and attribute values escaped as Canonical
//! XML escapes them, line ends normalised, and short excerpts of names for messages.

use super::text::{CHUNK, plain_chunk};

/// Appends text escaped as Canonical XML escapes text nodes (`&amp; &lt; &gt; &#xD;`).
pub(crate) fn escape_text(s: &str, out: &mut Vec<u8>) {
    escape_with(s, out, |b| {
        let rep: &'static [u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#xD;",
            _ => return None,
        };
        Some(rep)
    });
}

/// Appends `s`, each byte that `replacement` names written as its replacement: the one loop of
/// [`escape_text`] and [`escape_attribute`], which differ only by their table. Runs of plain
/// bytes are copied whole; inlined, so each caller's table compiles into its own loop.
#[inline(always)]
fn escape_with(s: &str, out: &mut Vec<u8>, replacement: impl Fn(u8) -> Option<&'static [u8]>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let Some(rep) = replacement(b) else {
            continue;
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends raw character data (text or CDATA content as read) after line-end normalisation
/// (`\r\n` and lone `\r` become `\n`), escaped as a text node.
pub(crate) fn escape_raw_text(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let mut slow_until = 0;
    while i < bytes.len() {
        if plain_chunk(bytes, i, &mut slow_until, raw_text_special) {
            i += CHUNK;
            continue;
        }
        let b = bytes[i];
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => {
                out.extend_from_slice(&bytes[start..i]);
                if bytes.get(i + 1) != Some(&b'\n') {
                    out.push(b'\n');
                }
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Bytes [`escape_raw_text`] rewrites.
#[inline(always)]
fn raw_text_special(b: u8) -> bool {
    (b == b'&') | (b == b'<') | (b == b'>') | (b == b'\r')
}

/// Appends an attribute value escaped as Canonical XML escapes attribute values
/// (`&amp; &lt; &quot; &#x9; &#xA; &#xD;`).
pub(crate) fn escape_attribute(s: &str, out: &mut Vec<u8>) {
    escape_with(s, out, |b| {
        let rep: &'static [u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'"' => b"&quot;",
            b'\t' => b"&#x9;",
            b'\n' => b"&#xA;",
            b'\r' => b"&#xD;",
            _ => return None,
        };
        Some(rep)
    });
}

/// Appends comment or processing-instruction content after line-end normalisation; a carriage
/// return (impossible after normalisation) would be written `&#xD;` as libxml2 does.
pub(crate) fn push_normalized_lines(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' {
            out.extend_from_slice(&bytes[start..i]);
            if bytes.get(i + 1) != Some(&b'\n') {
                out.push(b'\n');
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// A short excerpt of a name for error messages.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == 40 {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}
