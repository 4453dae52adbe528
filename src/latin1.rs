//! ISO-8859-1, the encoding of PES and ACTES files and of S²LOW's forms: decoding, encoding, and
//! the transliteration the field applies to typographic characters a word processor puts in an
//! objet (’ “ ” – … œ €), which Latin-1 cannot hold. One home for what was written three times.

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// ISO-8859-1 bytes to text (every byte is a character).
pub fn decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Whether ISO-8859-1 holds `c`.
pub fn holds(c: char) -> bool {
    u32::from(c) <= 0xFF
}

/// The first character of `text` that ISO-8859-1 cannot hold, if any.
pub fn first_outside(text: &str) -> Option<char> {
    text.chars().find(|c| !holds(*c))
}

/// `text` as ISO-8859-1 bytes; a character outside it becomes `?` — callers escape such
/// characters as references first where they matter.
pub fn encode_lossy(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// `text` as ISO-8859-1 bytes, or the first character it cannot hold.
pub fn encode(text: &str) -> Result<Vec<u8>, char> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| c))
        .collect()
}

/// `text` in lower case without the marks of Latin letters (« Église » → « eglise », « Œuvre »
/// → « oeuvre »), everything else kept as it is (digits, punctuation, `%`, `_`): what searches
/// compare, so that « eglise » finds « Église ». The one folding of the library (the
/// classification's search builds on it).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd().flat_map(char::to_lowercase) {
        match c {
            // Combining diacritical marks, left apart by the decomposition.
            '\u{0300}'..='\u{036F}' => {}
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            'ø' => out.push('o'),
            'đ' => out.push('d'),
            'ł' => out.push('l'),
            c => out.push(c),
        }
    }
    out
}

/// `text` read back when it was UTF-8 encoded twice (UTF-8 bytes taken for ISO-8859-1 and encoded
/// again: « dÃ©tectÃ© »), as PHP's `utf8_encode` of a UTF-8 string gives; other text unchanged.
pub fn repair_double_utf8(text: &str) -> String {
    let high = text.chars().any(|c| u32::from(c) >= 0x80);
    match encode(text) {
        Ok(bytes) if high => String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned()),
        _ => text.to_owned(),
    }
}

/// `text` with the characters ISO-8859-1 cannot hold replaced as the field does (S²LOW's own
/// windows-1252 table: quotes, dashes, ellipsis; and the ligatures and signs of French text),
/// then letters with marks Latin-1 lacks reduced to their base letter (ŝ → s). What is left
/// outside (a Greek or Chinese letter, an emoji) stays: [`first_outside`] finds it.
pub fn transliterate(text: &str) -> Cow<'_, str> {
    if first_outside(text).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if holds(c) {
            out.push(c);
            continue;
        }
        match replacement(c) {
            Some(r) => out.push_str(r),
            None => {
                let base: String = c.to_string().nfkd().filter(|d| holds(*d)).collect();
                if base.is_empty() || base.chars().any(|d| d.is_control()) {
                    out.push(c);
                } else {
                    out.push_str(&base);
                }
            }
        }
    }
    Cow::Owned(out)
}

/// The field's replacements for typographic characters outside Latin-1.
fn replacement(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' => "'",
        '\u{201A}' => ",",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => "\"",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' => "-",
        '\u{2026}' => "...",
        '\u{2022}' | '\u{2023}' | '\u{2043}' => "-",
        '\u{2039}' => "<",
        '\u{203A}' => ">",
        '\u{0152}' => "OE",
        '\u{0153}' => "oe",
        '\u{20AC}' => "EUR",
        '\u{2122}' => "TM",
        '\u{2030}' => "o/oo",
        // Thin and narrow no-break spaces (French typography before ; : ! ?), figure space.
        '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => " ",
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' => "",
        '\u{2116}' => "No",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusal() {
        assert_eq!(encode("Délibération").unwrap(), b"D\xe9lib\xe9ration");
        assert_eq!(decode(b"D\xe9lib\xe9ration"), "Délibération");
        assert_eq!(encode("coût en €"), Err('€'));
        assert_eq!(encode_lossy("coût en €"), b"co\xfbt en ?");
    }

    #[test]
    fn folding_drops_case_and_marks_only() {
        assert_eq!(fold("Église Saint-Étienne"), "eglise saint-etienne");
        // Decomposed marks too (a Mac file name), ligatures spelt out, the rest kept.
        assert_eq!(fold("E\u{301}COLE Œuvre 100%_x"), "ecole oeuvre 100%_x");
    }

    #[test]
    fn text_encoded_twice_is_read_back() {
        assert_eq!(
            repair_double_utf8("doublon dÃ©tectÃ©. Ce fichier a dÃ©jÃ\u{a0} Ã©tÃ© postÃ©"),
            "doublon détecté. Ce fichier a déjà été posté"
        );
        // Real Latin-1 text that is not UTF-8 once encoded stays as it is.
        assert_eq!(repair_double_utf8("déjà été"), "déjà été");
        assert_eq!(repair_double_utf8("plain"), "plain");
    }

    #[test]
    fn typography_of_a_word_processor_is_transliterated() {
        let objet = "Vœu du conseil : l’école « Saint‑Exupéry » – coût 12 000 € …";
        let t = transliterate(objet);
        assert_eq!(
            t,
            "Voeu du conseil : l'école « Saint-Exupéry » - coût 12 000 EUR ..."
        );
        assert_eq!(first_outside(&t), None);
        // Letters with a mark Latin-1 lacks keep their base letter; others stay, to be refused.
        assert_eq!(transliterate("Ŝ ș"), "S s");
        assert_eq!(first_outside(&transliterate("Ωμέγα")), Some('Ω'));
        assert!(matches!(transliterate("déjà"), Cow::Borrowed(_)));
    }
}
