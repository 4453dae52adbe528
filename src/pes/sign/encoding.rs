//! Latin-1 input: its events transcoded to UTF-8 for the canonicaliser, and the signature's text
//! written back in the file's own encoding.

use quick_xml::events::{BytesCData, BytesEnd, BytesPI, BytesRef, BytesStart, BytesText, Event};

/// Latin-1 input is transcoded event by event for the canonicaliser (which reads UTF-8); UTF-8
/// input is fed as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Utf8,
    Latin1,
}

/// Latin-1 bytes as UTF-8: borrowed when they are all ASCII (the same bytes in both encodings,
/// e.g. a PJ's base64), transcoded into `text` (reused from event to event) otherwise.
fn latin1_to_utf8<'a>(bytes: &'a [u8], text: &'a mut String) -> &'a str {
    if let Some(ascii) = crate::xml::ascii_str(bytes) {
        return ascii;
    }
    text.clear();
    text.extend(bytes.iter().map(|&b| char::from(b)));
    text.as_str()
}

pub(super) fn to_utf8<'a>(
    event: &'a Event<'a>,
    encoding: Encoding,
    text: &'a mut String,
) -> Event<'a> {
    if encoding == Encoding::Utf8 {
        return event.borrow();
    }
    match event {
        Event::Start(e) => Event::Start(BytesStart::from_content(
            latin1_to_utf8(e, text),
            e.name().as_ref().len(),
        )),
        Event::Empty(e) => Event::Empty(BytesStart::from_content(
            latin1_to_utf8(e, text),
            e.name().as_ref().len(),
        )),
        Event::End(e) => Event::End(BytesEnd::new(latin1_to_utf8(e, text))),
        Event::Text(e) => Event::Text(BytesText::from_escaped(latin1_to_utf8(e, text))),
        Event::CData(e) => Event::CData(BytesCData::new(latin1_to_utf8(e, text))),
        Event::Comment(e) => Event::Comment(BytesText::from_escaped(latin1_to_utf8(e, text))),
        Event::PI(e) => Event::PI(BytesPI::new(latin1_to_utf8(e, text))),
        Event::GeneralRef(e) => Event::GeneralRef(BytesRef::new(latin1_to_utf8(e, text))),
        other => other.borrow(),
    }
}

/// Text for the file in its own encoding: Latin-1 characters as bytes, others as character
/// references (which canonicalisation turns back into the same characters).
pub(super) fn encode_for(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Latin1 => {
            let mut out = Vec::with_capacity(text.len());
            for c in text.chars() {
                match u8::try_from(u32::from(c)) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend(format!("&#x{:X};", u32::from(c)).bytes()),
                }
            }
            out
        }
    }
}
