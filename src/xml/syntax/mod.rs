//! Lexical rules of XML 1.0 (fifth edition) and Namespaces in XML 1.0, applied to the raw content of
//! quick-xml events: quick-xml splits the input into markup and text but checks little, so every
//! check a conforming parser (libxml2) makes and that matters for the canonical form is made here.
//!
//! All functions take the UTF-8 text of one event and report errors with a byte offset relative to
//! that text, so that the reader can turn it into a line and a column.
//!
//! Parts: `chars` (characters and names), `text` (character data, references, attribute values),
//! `start_tag` (start tags), `markup` (processing instructions, comments, the XML declaration),
//! `uri` (namespace URIs) and `escape` (writing the canonical form). Everything is reached from
//! here, as before the split.

/// The namespace bound to the `xml` prefix.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` attributes (may never be declared).
pub const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";
/// The XML-DSig namespace (`ds:Signature`).
pub const DSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";

/// A lexical error: what is wrong, and where (byte offset in the event's text).
#[derive(Debug, Clone)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub detail: String,
}

impl SyntaxError {
    pub(crate) fn new(offset: usize, detail: impl Into<String>) -> Self {
        SyntaxError {
            offset,
            detail: detail.into(),
        }
    }
}

pub(crate) type SResult<T> = Result<T, SyntaxError>;

mod chars;
mod escape;
mod markup;
mod start_tag;
mod text;
mod uri;

pub use chars::local_part;
pub(crate) use chars::{ascii_str, is_xml_space, str_from_utf8, utf8};
pub(crate) use escape::{
    escape_attribute, escape_raw_text, escape_text, excerpt, push_normalized_lines,
};
pub(crate) use markup::{check_comment, check_declaration, parse_pi};
pub use start_tag::{Attribute, StartTag};
pub(crate) use text::{check_chars, check_text, resolve_reference};
pub(crate) use uri::is_absolute_uri;
