//! Reading a start tag's name and the attributes the summary keeps (`Id`, `V`, `MIMEType`), with
//! quick paths for the usual shapes (a lone `V`, values with nothing to decode or normalise) and
//! quick-xml for the rest.

use crate::messages::tf;
use crate::pes::PesError;
use quick_xml::events::BytesStart;
use quick_xml::events::attributes::Attribute;
use std::borrow::Cow;
use std::collections::HashSet;

pub(super) fn local_name(qname: &[u8]) -> Cow<'_, str> {
    let local = crate::xml::local_part(qname);
    // The strict check first: it is much quicker than the lossy one on the valid names of
    // every element.
    match crate::xml::str_from_utf8(local) {
        Ok(name) => Cow::Borrowed(name),
        Err(_) => String::from_utf8_lossy(local),
    }
}

/// The attributes the summary reads, from one pass over a start tag's attributes. `V` and
/// `MIMEType` are kept as written and decoded only when the element is one the summary keeps.
#[derive(Default)]
pub(super) struct Values<'a> {
    pub(super) id: Option<String>,
    pub(super) v: Option<Attribute<'a>>,
    pub(super) mime_type: Option<Attribute<'a>>,
}

/// The value of the only attribute of the usual PES start tag, ` V="…"` (white space around),
/// found without quick-xml's attribute iterator (a fifth of the summary's work on a million
/// tags); `None` for any other shape, which the iterator then reads. Where this finds a value,
/// the iterator finds the same single attribute.
fn lone_v(raw: &[u8]) -> Option<&[u8]> {
    // XML's white space, not Rust's ASCII one (which has the form feed).
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let name_at = raw.iter().position(|b| !space(b))?;
    if name_at == 0 {
        return None;
    }
    let rest = raw[name_at..].strip_prefix(b"V=")?;
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let end = memchr::memchr(quote, rest)?;
    rest[end + 1..].iter().all(space).then_some(&rest[..end])
}

/// A value with nothing to normalise (no reference, no white space other than the space), in one
/// of the encodings a PES may have, decoded directly — what quick-xml's decoding and
/// normalisation give, without their copies and passes (ASCII values, most of them, are taken as
/// they are). `None` for anything else, which quick-xml then decodes (and reports).
fn plain_value(encoding: &'static encoding_rs::Encoding, raw: &[u8]) -> Option<String> {
    if raw
        .iter()
        .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    if encoding != encoding_rs::UTF_8 && encoding != encoding_rs::WINDOWS_1252 {
        return None;
    }
    if let Some(ascii) = crate::xml::ascii_str(raw) {
        // The same text in UTF-8 and in Latin-1.
        return Some(ascii.to_owned());
    }
    // What quick-xml's decoder does ("ISO-8859-1" is read as windows-1252, the WHATWG rule);
    // invalid UTF-8 is left to quick-xml, which reports it.
    encoding
        .decode_without_bom_handling_and_without_replacement(raw)
        .map(Cow::into_owned)
}

/// The decoded value of an attribute kept by [`Values::read`].
pub(super) fn decoded<R>(
    reader: &quick_xml::Reader<R>,
    attribute: Option<&Attribute>,
) -> Result<Option<String>, PesError> {
    attribute
        .map(|a| {
            if let Some(plain) = plain_value(reader.decoder().encoding(), &a.value) {
                return Ok(plain);
            }
            a.decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, reader.decoder())
                .map(std::borrow::Cow::into_owned)
                .map_err(|e| PesError::Malformed {
                    position: None,
                    offset: reader.buffer_position(),
                    detail: e.to_string(),
                })
        })
        .transpose()
}

impl<'a> Values<'a> {
    pub(super) fn read<R>(
        reader: &quick_xml::Reader<R>,
        start: &'a BytesStart,
    ) -> Result<Values<'a>, PesError> {
        let malformed = |detail: String| PesError::Malformed {
            position: None,
            offset: reader.buffer_position(),
            detail,
        };
        let mut values = Values::default();
        if let Some(v) = lone_v(start.attributes_raw()) {
            values.v = Some(Attribute {
                key: quick_xml::name::QName(b"V"),
                value: Cow::Borrowed(v),
            });
            return Ok(values);
        }
        // Duplicates are checked here rather than by quick-xml, whose check allocates for every
        // tag: by comparison for the usual few attributes, with a set beyond.
        // (The set is made only when needed: making one reads a thread-local, at every tag.)
        let mut many: Option<HashSet<&[u8]>> = None;
        let mut few: [&[u8]; 8] = [&[]; 8];
        for (count, attr) in start.attributes().with_checks(false).enumerate() {
            let attr = attr.map_err(|e| malformed(e.to_string()))?;
            let key = attr.key.into_inner();
            let duplicate = if count < few.len() {
                few[..count].contains(&key)
            } else {
                !many
                    .get_or_insert_with(|| few.into_iter().collect())
                    .insert(key)
            };
            if duplicate {
                return Err(malformed(tf(
                    "pes.attribut_en_double",
                    &[("nom", &String::from_utf8_lossy(key))],
                )));
            }
            if count < few.len() {
                few[count] = key;
            }
            match key {
                b"Id" => values.id = decoded(reader, Some(&attr))?,
                b"V" => values.v = Some(attr),
                b"MIMEType" => values.mime_type = Some(attr),
                _ => {}
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::lone_v;
    use crate::pes::PesError;
    use crate::pes::summary::read_summary;

    /// Where the quick path finds a lone `V`, quick-xml's iterator finds that one attribute with
    /// the same raw value; the shapes it does not take are left to the iterator.
    #[test]
    fn the_lone_v_path_agrees_with_quick_xml() {
        let cases = [
            " V=\"1\"",
            " V='a b' ",
            "\tV=\"x\"\r\n",
            " V=\"a&amp;b\"",
            " V=\"\"",
            " V=\"1\" W=\"2\"",
            " V = \"1\"",
            "\x0cV=\"1\"",
            " V=\"1\"x",
            " V=\"1",
            " V=1",
            " W=\"1\"",
            " VV=\"1\"",
            "V=\"1\"",
            "",
        ];
        let mut quick = 0;
        for raw in cases {
            let content = format!("X{raw}");
            let start = quick_xml::events::BytesStart::from_content(content.as_str(), 1);
            let Some(value) = lone_v(start.attributes_raw()) else {
                continue;
            };
            quick += 1;
            let attributes: Vec<_> = start.attributes().with_checks(false).collect();
            assert_eq!(attributes.len(), 1, "{raw:?}");
            let attribute = attributes[0].as_ref().expect("attribut lisible");
            assert_eq!(attribute.key.as_ref(), b"V", "{raw:?}");
            assert_eq!(attribute.value.as_ref(), value, "{raw:?}");
        }
        // The usual shapes do take the quick path.
        assert_eq!(quick, 5);
    }

    /// Values that need decoding or normalising still get it: references, white space, Latin-1.
    #[test]
    fn values_are_decoded_and_normalised() {
        let value = |v: &str| {
            read_summary(root_with(&format!("V=\"{v}\"")).as_bytes())
                .expect("lu")
                .entete
                .id_post
        };
        assert_eq!(value("034000").as_deref(), Some("034000"));
        assert_eq!(value("a&amp;b").as_deref(), Some("a&b"));
        assert_eq!(value("a\tb\nc").as_deref(), Some("a b c"));
        let latin1 = root_with("V=\"\u{e9}t\u{e9}\"");
        let bytes: Vec<u8> = latin1
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
            .collect();
        let summary = read_summary(bytes.as_slice()).expect("lu");
        assert_eq!(summary.entete.id_post.as_deref(), Some("\u{e9}t\u{e9}"));
    }

    /// Every value the direct decoding takes is decoded as encoding_rs and quick-xml's
    /// normalisation decode it, in UTF-8 and in windows-1252 (ISO-8859-1's reading).
    #[test]
    fn plain_values_decode_as_quick_xml_decodes_them() {
        let samples: [&[u8]; 9] = [
            b"034000",
            b"",
            b"a b",
            b"\xe9t\xe9",
            b"\xc3\xa9t\xc3\xa9",
            b"\x80\x9f",
            b"a&amp;b",
            b"a\tb",
            b"\xff\xfe",
        ];
        let mut direct = 0;
        for label in ["UTF-8", "ISO-8859-1"] {
            // A reader that read the declaration: its decoder is the one the summary uses.
            let declaration = format!("<?xml version=\"1.0\" encoding=\"{label}\"?><a/>");
            let mut reader = quick_xml::Reader::from_reader(declaration.as_bytes());
            reader.read_event().expect("déclaration");
            let decoder = reader.decoder();
            for raw in samples {
                let Some(plain) = super::plain_value(decoder.encoding(), raw) else {
                    continue;
                };
                direct += 1;
                let attribute = quick_xml::events::attributes::Attribute {
                    key: quick_xml::name::QName(b"V"),
                    value: std::borrow::Cow::Borrowed(raw),
                };
                let decoded = attribute
                    .decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, decoder)
                    .expect("décodable");
                assert_eq!(plain, decoded, "{raw:?} en {label}");
            }
        }
        // ASCII, UTF-8 and windows-1252 values are taken directly (not invalid UTF-8).
        assert_eq!(direct, 11);
    }

    fn root_with(attributes: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1"?><n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller" Id="P"><EnTetePES><IdPost {attributes}/></EnTetePES></n:PES_Aller>"#
        )
    }

    /// Attributes are read once per tag with our own duplicate check: a duplicate is refused
    /// among a few attributes and among many (where a set takes over), values are still read.
    #[test]
    fn duplicate_attributes_are_refused_and_values_read() {
        let ok = read_summary(root_with(r#"V="034000" W="1""#).as_bytes()).expect("lu");
        assert_eq!(ok.entete.id_post.as_deref(), Some("034000"));
        assert_eq!(ok.id.as_deref(), Some("P"));
        let few = root_with(r#"V="1" W="2" V="3""#);
        assert!(matches!(
            read_summary(few.as_bytes()),
            Err(PesError::Malformed { .. })
        ));
        let names: Vec<String> = (0..20).map(|i| format!(r#"a{i}="{i}""#)).collect();
        let many_ok = root_with(&format!(r#"{} V="9""#, names.join(" ")));
        let read = read_summary(many_ok.as_bytes()).expect("lu");
        assert_eq!(read.entete.id_post.as_deref(), Some("9"));
        for duplicate in ["a3", "a15", "V"] {
            let many = root_with(&format!(r#"{} V="9" {duplicate}="x""#, names.join(" ")));
            assert!(
                matches!(
                    read_summary(many.as_bytes()),
                    Err(PesError::Malformed { .. })
                ),
                "{duplicate} en double accepté"
            );
        }
    }
}
