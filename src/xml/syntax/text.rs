//! Character data: allowed characters, text as quick-xml delivers it, references (character
//! references and the five predefined entities), and attribute values decoded and normalised.

use super::chars::{is_name, is_xml_char};
use super::{SResult, SyntaxError};

/// Checks that every character is allowed in an XML document. On valid UTF-8, the only
/// characters outside the `Char` production are the C0 controls other than tab, line feed and
/// carriage return, and U+FFFE and U+FFFF (`EF BF BE`, `EF BF BF`).
pub(crate) fn check_chars(s: &str) -> SResult<()> {
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
            || (b == 0xEF
                && bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)))
        {
            return Err(invalid_char(s, i));
        }
    }
    Ok(())
}

fn invalid_char(s: &str, i: usize) -> SyntaxError {
    let c = s[i..].chars().next().map_or(0, u32::from);
    SyntaxError::new(i, format!("caractère interdit en XML (U+{c:04X})"))
}

/// Checks character data as quick-xml delivers it (between markup and references): allowed
/// characters, no `]]>`, no `&` that does not start a reference.
pub(crate) fn check_text(s: &str) -> SResult<()> {
    let bytes = s.as_bytes();
    let mut i = 0;
    // Bytes before this index are examined one by one (their chunk holds a special byte).
    let mut slow_until = 0;
    while i < bytes.len() {
        // Fast path: a whole chunk free of the bytes examined below.
        if plain_chunk(bytes, i, &mut slow_until, text_check_special) {
            i += CHUNK;
            continue;
        }
        let b = bytes[i];
        match b {
            b'\t' | b'\n' | b'\r' => {}
            0..0x20 => return Err(invalid_char(s, i)),
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                return Err(invalid_char(s, i));
            }
            b']' if bytes[i + 1..].starts_with(b"]>") => {
                return Err(SyntaxError::new(
                    i,
                    "la séquence « ]]> » est interdite dans le texte",
                ));
            }
            b'&' => {
                return Err(SyntaxError::new(
                    i,
                    "caractère « & » isolé (il doit être écrit &amp;)",
                ));
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Chunk size of the branch-free fast paths over text.
pub(super) const CHUNK: usize = 32;

/// The fast path shared by [`check_text`] and `escape_raw_text`: whether the chunk at `i` is
/// whole and free of `special` bytes, so the caller can skip it at once. A chunk that holds one
/// is then examined byte by byte up to `slow_until`, instead of being tested again at each of
/// its bytes. The test is a fold without early exit, so it compiles without branches; inlined,
/// so each caller's `special` compiles into its own loop.
#[inline(always)]
pub(super) fn plain_chunk(
    bytes: &[u8],
    i: usize,
    slow_until: &mut usize,
    special: impl Fn(u8) -> bool,
) -> bool {
    if i < *slow_until {
        return false;
    }
    if let Some(chunk) = bytes.get(i..i + CHUNK)
        && !chunk.iter().fold(false, |any, &b| any | special(b))
    {
        return true;
    }
    *slow_until = i + CHUNK;
    false
}

/// Bytes [`check_text`] looks at: controls other than tab, line feed and carriage return, the
/// lead byte of U+FFFE/U+FFFF, `]` and `&`. Written without branches so that chunks vectorise.
#[inline(always)]
fn text_check_special(b: u8) -> bool {
    ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r'))
        | (b == 0xEF)
        | (b == b']')
        | (b == b'&')
}

/// Resolves the content of a reference (between `&` and `;`): a character reference or one of the
/// five predefined entities. Any other entity is an error, since no DTD is ever read.
pub(crate) fn resolve_reference(name: &str) -> SResult<char> {
    if let Some(num) = name.strip_prefix('#') {
        let (digits, radix) = match num.strip_prefix('x') {
            Some(hex) => (hex, 16),
            None => (num, 10),
        };
        let valid_digits =
            !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) && digits.len() <= 12;
        let value = if valid_digits {
            u32::from_str_radix(digits, radix).ok()
        } else {
            None
        };
        return match value.and_then(char::from_u32) {
            Some(c) if is_xml_char(c) => Ok(c),
            Some(_) | None if valid_digits => Err(SyntaxError::new(
                0,
                format!(
                    "la référence de caractère « &{name}; » désigne un caractère interdit en XML"
                ),
            )),
            _ => Err(SyntaxError::new(
                0,
                format!("référence de caractère « &{name}; » mal formée"),
            )),
        };
    }
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ if is_name(name) => Err(SyntaxError::new(
            0,
            format!(
                "l'entité « &{name}; » n'est pas définie (seules les cinq entités prédéfinies et les références de caractère sont acceptées)"
            ),
        )),
        _ => Err(SyntaxError::new(
            0,
            "caractère « & » isolé ou référence mal formée (il doit être écrit &amp;)",
        )),
    }
}

/// Decodes an attribute value as a parser does (XML 1.0 §3.3.3, for CDATA attributes since no DTD
/// is read): references are replaced, each literal tab, line feed or carriage return becomes a
/// space (`\r\n` counting as one line end), characters from references are kept as they are.
pub(crate) fn decode_attribute_value(raw: &str, out: &mut String) -> SResult<()> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    let mut plain_start = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'<' => {
                return Err(SyntaxError::new(
                    i,
                    "caractère « < » interdit dans une valeur d'attribut",
                ));
            }
            b'&' => {
                out.push_str(&raw[plain_start..i]);
                let end = raw[i..].find(';').map(|p| i + p).ok_or_else(|| {
                    SyntaxError::new(
                        i,
                        "caractère « & » isolé dans une valeur d'attribut (il doit être écrit &amp;)",
                    )
                })?;
                let c = resolve_reference(&raw[i + 1..end])
                    .map_err(|e| SyntaxError { offset: i, ..e })?;
                out.push(c);
                i = end + 1;
                plain_start = i;
            }
            b'\r' => {
                out.push_str(&raw[plain_start..i]);
                out.push(' ');
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                plain_start = i;
            }
            b'\n' | b'\t' => {
                out.push_str(&raw[plain_start..i]);
                out.push(' ');
                i += 1;
                plain_start = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&raw[plain_start..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_are_normalised() {
        let mut out = String::new();
        decode_attribute_value("a\tb\r\nc\rd\ne&#9;&#xA;&#13;&amp;&lt;", &mut out).unwrap();
        assert_eq!(out, "a b c d e\t\n\r&<");
    }

    #[test]
    fn references() {
        assert_eq!(resolve_reference("#233").unwrap(), 'é');
        assert_eq!(resolve_reference("#xE9").unwrap(), 'é');
        assert!(resolve_reference("#X41").is_err());
        assert!(resolve_reference("#0").is_err());
        assert!(resolve_reference("#x110000").is_err());
        assert!(resolve_reference("#xFFFFFFFFFFFFFFFFFF").is_err());
        assert!(resolve_reference("nbsp").is_err());
        assert!(resolve_reference("").is_err());
    }
}
