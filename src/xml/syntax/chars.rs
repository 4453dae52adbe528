//! Characters and names: quick UTF-8 and ASCII checks, the `Char`, `Name` and `NCName`
//! productions, and splitting qualified names (a table for ASCII, the character rules beyond).

use super::{SResult, SyntaxError};

/// `std::str::from_utf8`, made quick for the short and mostly ASCII strings of XML events
/// (names, attribute values, small texts), where it costs a hundred instructions a call: an
/// ASCII check first, which is then the whole check. (It was 6 % of a signature's work.)
pub(crate) fn str_from_utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match ascii_str(bytes) {
        Some(text) => Ok(text),
        None => std::str::from_utf8(bytes),
    }
}

/// The local part of a qualified name (`ds:Signature` → `Signature`; a name without prefix is
/// its own local part). The prefix is not resolved: callers that must know the namespace use
/// `NamespaceScopes`.
pub fn local_part(qname: &[u8]) -> &[u8] {
    match qname.iter().rposition(|b| *b == b':') {
        Some(i) => &qname[i + 1..],
        None => qname,
    }
}

/// The bytes as text if they are all ASCII (the same text in UTF-8 and in Latin-1).
pub(crate) fn ascii_str(bytes: &[u8]) -> Option<&str> {
    // SAFETY: bytes that are all ASCII are valid UTF-8.
    bytes
        .is_ascii()
        .then(|| unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// The event's bytes as text. The reader feeds quick-xml with validated UTF-8 and quick-xml cuts
/// only at ASCII delimiters, so this fails only if the caller fed events of another origin.
pub(crate) fn utf8(raw: &[u8]) -> SResult<&str> {
    str_from_utf8(raw).map_err(|e| {
        SyntaxError::new(
            e.valid_up_to(),
            "octets qui ne sont pas de l'UTF-8 valide (le texte doit être décodé avant d'être canonisé)",
        )
    })
}

/// `Char` production of XML 1.0.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// White space (`S` production).
pub(crate) fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where the white space that starts at `i` ends.
pub(super) fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && is_xml_space(bytes[i]) {
        i += 1;
    }
    i
}

/// Before each attribute of a start tag, as before each pseudo-attribute of the XML declaration:
/// moves `*i` past the white space. `Ok(false)` when the content ends there; the error `missing`,
/// at `*i`, when no white space separates the attribute from what precedes it.
pub(super) fn space_before_attribute(
    bytes: &[u8],
    i: &mut usize,
    missing: &'static str,
) -> SResult<bool> {
    let space_start = *i;
    *i = skip_space(bytes, *i);
    if *i >= bytes.len() {
        return Ok(false);
    }
    if *i == space_start {
        return Err(SyntaxError::new(*i, missing));
    }
    Ok(true)
}

fn is_name_start_char(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}'
        | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}'
        | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}'
        | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}'
            | '\u{300}'..='\u{36F}'
            | '\u{203F}'..='\u{2040}')
}

/// `Name` production.
pub(crate) fn is_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    if s.is_ascii() {
        return bytes
            .first()
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.'));
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start_char(c) => chars.all(is_name_char),
        _ => false,
    }
}

/// `NCName` production (a name without colon).
pub(crate) fn is_ncname(s: &str) -> bool {
    !s.contains(':') && is_name(s)
}

/// Classes of bytes in ASCII names: may start an NCName, may continue one.
const NAME_START: u8 = 1;
const NAME_CHAR: u8 = 2;

/// [`NAME_START`] and [`NAME_CHAR`] for each byte value (0 for the colon and for non-ASCII).
static NAME_CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let start = c.is_ascii_alphabetic() || c == b'_';
        let char = start || c.is_ascii_digit() || c == b'-' || c == b'.';
        classes[b] = if start {
            NAME_START | NAME_CHAR
        } else if char {
            NAME_CHAR
        } else {
            0
        };
        b += 1;
    }
    classes
};

/// Splits a `QName` into (prefix, local part); `None` if it is not a valid QName.
pub(crate) fn split_qname(s: &str) -> Option<(Option<&str>, &str)> {
    // Names are almost always ASCII: one pass over the bytes with a table (two names per start
    // tag, on a million tags: the checks with `is_ascii_alphanumeric` and `memchr` cost twice as
    // much), the Unicode rules below for the others.
    let bytes = s.as_bytes();
    let mut colon = None;
    for (i, &b) in bytes.iter().enumerate() {
        if NAME_CLASSES[usize::from(b)] & NAME_CHAR != 0 {
            continue;
        }
        match b {
            b':' if colon.is_none() => colon = Some(i),
            0x80.. => return split_unicode_qname(s),
            _ => return None,
        }
    }
    let starts_name = |at: usize| {
        bytes
            .get(at)
            .is_some_and(|&b| NAME_CLASSES[usize::from(b)] & NAME_START != 0)
    };
    match colon {
        None => starts_name(0).then_some((None, s)),
        Some(i) => (starts_name(0) && starts_name(i + 1)).then(|| (Some(&s[..i]), &s[i + 1..])),
    }
}

/// [`split_qname`] for names with non-ASCII characters.
fn split_unicode_qname(s: &str) -> Option<(Option<&str>, &str)> {
    match s.split_once(':') {
        None => is_ncname(s).then_some((None, s)),
        Some((prefix, local)) => {
            (is_ncname(prefix) && is_ncname(local)).then_some((Some(prefix), local))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table-driven split agrees with the character rules on every short string over an
    /// alphabet of name starts, name characters, colons, spaces and non-ASCII letters.
    #[test]
    fn qname_split_by_table_agrees_with_the_character_rules() {
        let alphabet = [
            "a", "Z", "_", "-", ".", "1", ":", " ", "\u{e9}", "\u{b7}", "<",
        ];
        let mut names = vec![String::new()];
        let mut checked = 0;
        for _ in 0..4 {
            let mut longer = Vec::new();
            for name in &names {
                for c in alphabet {
                    let candidate = format!("{name}{c}");
                    assert_eq!(
                        super::split_qname(&candidate),
                        super::split_unicode_qname(&candidate),
                        "{candidate:?}"
                    );
                    checked += 1;
                    longer.push(candidate);
                }
            }
            names = longer;
        }
        assert!(checked > 10_000);
        assert_eq!(
            super::split_qname("ds:Signature"),
            Some((Some("ds"), "Signature"))
        );
        assert_eq!(super::split_qname("Bordereau"), Some((None, "Bordereau")));
        assert_eq!(super::split_qname("a:b:c"), None);
    }

    #[test]
    fn the_quick_utf8_check_agrees_with_the_standard_one() {
        let samples: [&[u8]; 8] = [
            b"",
            b"MtHT",
            b"Fournitures \xc3\xa9cole",
            b"Fournitures \xe9cole",
            b"\xc3",
            b"abc\xff",
            b"\xf0\x9f\x98\x80 ok",
            b"\x7f\x00",
        ];
        for bytes in samples {
            assert_eq!(
                str_from_utf8(bytes).ok(),
                std::str::from_utf8(bytes).ok(),
                "{bytes:?}"
            );
            assert_eq!(ascii_str(bytes).is_some(), bytes.is_ascii(), "{bytes:?}");
        }
        assert_eq!(ascii_str(b"MtHT"), Some("MtHT"));
        assert_eq!(
            ascii_str(b"\xc3\xa9"),
            None,
            "UTF-8 non ASCII n'est pas du Latin-1 tel quel"
        );
    }
}
