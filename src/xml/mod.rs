//! Streaming XML canonicalisation: Canonical XML 1.0 and Exclusive XML Canonicalization 1.0
//! (with InclusiveNamespaces PrefixList), without or with comments, byte-identical to libxml2.
//!
//! # Why our own implementation
//!
//! Signing a PES file means hashing the canonical form of each `Bordereau`. PES files reach
//! 100 MB and more, so the canonical form is computed *while the file is read*: no tree is built,
//! and memory is bounded by the depth of the document (namespace and element-name stacks), not by
//! its size. No Rust crate offers a streaming canonicaliser (the existing ones canonicalise a
//! tree held in memory), and a signature is only accepted by Hélios if our canonical bytes are
//! exactly those that xmlsec1 — that is, libxml2's `c14n.c` — computes. So this module follows
//! libxml2's behaviour wherever it departs from (or makes precise) the recommendations, and the
//! tests compare it byte for byte with `xmllint --c14n`, `xmllint --exc-c14n` and libxml2 through
//! lxml and through its node-set API (what xmlsec1 uses for a `#id` reference).
//!
//! # Pieces
//!
//! - [`XmlReader`]: a strict streaming reader built on quick-xml. It detects the encoding (UTF-8,
//!   US-ASCII, ISO-8859-1, ISO-8859-15, windows-1252) and hands quick-xml UTF-8; it makes the
//!   well-formedness and namespace checks quick-xml leaves out; it **refuses any DOCTYPE** (so no
//!   entity is ever expanded); errors carry a line and a column.
//! - [`NamespaceScopes`]: namespace declarations and `xml:*` attributes in scope while reading,
//!   giving the [`ApexContext`] a subtree's canonicaliser needs.
//! - [`Canonicalizer`]: push-style; fed quick-xml events, writes canonical bytes to any
//!   `std::io::Write` (a hasher, for instance); can leave out child subtrees (enveloped
//!   signature).
//! - [`canonicalize`], [`canonicalize_element_by_id`] and their streaming `_to` variants.
//!
//! # Memory
//!
//! Nothing is retained of what has been read: the reader keeps the names and namespace
//! declarations of the open elements, the canonicaliser the same plus a 64 KiB output buffer.
//! The largest buffer is quick-xml's for one event: one start tag, or one run of text between two
//! markups (a base64 attachment of a PES_PJ, say, is held once while it is read). A DOCTYPE is
//! read up to its end before being refused. `tests/c14n_memory.rs` canonicalises a 50 MB
//! document produced on the fly and checks that the peak resident memory grows by less than
//! 32 MB (it grows by well under 1 MB).
//!
//! # Known departures from libxml2
//!
//! Documents libxml2 accepts only with a namespace *warning* (an undeclared prefix, two
//! attributes with the same expanded name, a prefix bound to an empty URI, a malformed QName)
//! are refused here, as are UTF-16 documents and a UTF-8 byte order mark contradicted by the
//! declared encoding (libxml2 2.9 follows the declaration). Documents libxml2 refuses are refused
//! too. A `xml:id` that is not an NCName is accepted (libxml2 only reports it).

mod c14n;
mod error;
mod input;
pub mod libxml_fr;
pub mod limit;
mod reader;
pub mod schema;
mod scopes;
mod syntax;
pub(crate) use syntax::resolve_reference;

use std::io::{Read, Write};

use quick_xml::events::Event;

pub use c14n::{
    C14N_10, C14N_10_WITH_COMMENTS, C14nMode, Canonicalizer, EXC_C14N_10,
    EXC_C14N_10_WITH_COMMENTS, Progress,
};
pub use error::{C14nError, Position};
pub use input::{SourceEncoding, Utf8Input};
pub(crate) use reader::OpenNames;
pub use reader::{EventInfo, XmlReader, describe_quick_xml_error};
pub use scopes::{ApexContext, NamespaceScopes};
pub use syntax::{Attribute, DSIG_NAMESPACE, StartTag, XML_NAMESPACE, local_part};
pub(crate) use syntax::{ascii_str, str_from_utf8};

/// Canonical form of a whole document.
pub fn canonicalize(input: &[u8], mode: &C14nMode) -> Result<Vec<u8>, C14nError> {
    canonicalize_to(input, mode, Vec::new())
}

/// Canonical form of a whole document read from `input`, written to `out` as it is computed.
/// On error, what was already written to `out` must be discarded.
pub fn canonicalize_to<R: Read, W: Write>(
    input: R,
    mode: &C14nMode,
    out: W,
) -> Result<W, C14nError> {
    let mut reader = XmlReader::new(input)?;
    let mut canon = Canonicalizer::document(mode, out);
    loop {
        let (event, info) = reader.read_event_with_info()?;
        let progress = canon.feed(&event).map_err(|e| e.or_at(info.position()))?;
        if progress == Progress::Done {
            break;
        }
    }
    canon.finish()
}

/// Canonical form of the subtree whose apex is the element with attribute `id_attr` (qualified
/// name as written, e.g. `Id`) equal to `id` — what an XML-DSig reference `URI="#id"` designates.
///
/// With `exclude_signature_children`, the `ds:Signature` children of that element are left out
/// (the enveloped-signature transform of a signature placed in the signed element). The whole
/// document is read and checked; an identifier carried by several elements is an error.
///
/// Inclusive mode gives the element the `xml:*` attributes of its ancestors, as Canonical XML
/// 1.0 and xmlsec1 do for a document subset (lxml's `tostring(element, method="c14n")` does not).
/// Note that XML-DSig drops comments from a bare-name `URI="#id"` reference whatever the
/// algorithm: use a mode `with_comments: false` for those.
pub fn canonicalize_element_by_id(
    input: &[u8],
    id_attr: &str,
    id: &str,
    mode: &C14nMode,
    exclude_signature_children: bool,
) -> Result<Vec<u8>, C14nError> {
    canonicalize_element_by_id_to(
        input,
        id_attr,
        id,
        mode,
        exclude_signature_children,
        Vec::new(),
    )
}

/// Streaming variant of [`canonicalize_element_by_id`]: reads `input`, writes the canonical form
/// to `out` as it is computed. On error, what was already written to `out` must be discarded.
pub fn canonicalize_element_by_id_to<R: Read, W: Write>(
    input: R,
    id_attr: &str,
    id: &str,
    mode: &C14nMode,
    exclude_signature_children: bool,
    out: W,
) -> Result<W, C14nError> {
    let mut reader = XmlReader::new(input)?;
    let mut out = Some(out);
    let mut canon: Option<Canonicalizer<W>> = None;
    let mut result: Option<W> = None;
    let mut found = false;
    loop {
        let (event, info) = reader.read_event_with_info()?;
        if let Some(c) = canon.as_mut() {
            if c.feed(&event).map_err(|e| e.or_at(info.position()))? == Progress::Done {
                result = canon.take().map(Canonicalizer::finish).transpose()?;
            }
        } else if info.attribute(id_attr) == Some(id) {
            if found {
                return Err(C14nError::DuplicateId {
                    attribute: id_attr.to_owned(),
                    id: id.to_owned(),
                });
            }
            found = true;
            let Some(w) = out.take() else {
                return Err(C14nError::Usage("sortie déjà utilisée".to_owned()));
            };
            let mut c = Canonicalizer::subtree(mode, &info.apex_context(), w)
                .exclude_signature_children(exclude_signature_children);
            if c.feed(&event).map_err(|e| e.or_at(info.position()))? == Progress::Done {
                result = Some(c.finish()?);
            } else {
                canon = Some(c);
            }
        }
        if matches!(event, Event::Eof) {
            break;
        }
    }
    result.ok_or(C14nError::IdNotFound {
        attribute: id_attr.to_owned(),
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCL: C14nMode = C14nMode::Inclusive {
        with_comments: false,
    };

    fn exc() -> C14nMode {
        C14nMode::Exclusive {
            with_comments: false,
            inclusive_prefixes: Vec::new(),
        }
    }

    #[test]
    fn basics() {
        let doc = b"<?xml version=\"1.0\"?>\r\n<?pi  x ?>\n<r b='2' a=\"1\">t&#xD;\r\n<e/><![CDATA[<&>]]></r>\n<!--c-->";
        let out = canonicalize(doc, &INCL).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?pi x ?>\n<r a=\"1\" b=\"2\">t&#xD;\n<e></e>&lt;&amp;&gt;</r>"
        );
        let with = C14nMode::Inclusive {
            with_comments: true,
        };
        assert!(
            canonicalize(doc, &with)
                .unwrap()
                .ends_with(b"</r>\n<!--c-->")
        );
    }

    #[test]
    fn doctype_is_refused() {
        let doc = b"<!DOCTYPE r [<!ENTITY e 'x'>]><r>&e;</r>";
        assert!(matches!(
            canonicalize(doc, &INCL),
            Err(C14nError::DocType { .. })
        ));
    }

    #[test]
    fn exclusive_namespaces() {
        let doc =
            br#"<r xmlns="u:d" xmlns:a="u:a" xmlns:b="u:b"><a:e b:x="1"><f xmlns=""/></a:e></r>"#;
        let out = canonicalize(doc, &exc()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<r xmlns="u:d"><a:e xmlns:a="u:a" xmlns:b="u:b" b:x="1"><f xmlns=""></f></a:e></r>"#
        );
    }

    #[test]
    fn by_id_with_signature_excluded() {
        let doc = br#"<r xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xml:lang="fr"><b Id="x"> <ds:Signature><ds:X/></ds:Signature> </b></r>"#;
        let out = canonicalize_element_by_id(doc, "Id", "x", &INCL, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<b xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="x" xml:lang="fr">  </b>"#
        );
        let out = canonicalize_element_by_id(doc, "Id", "x", &exc(), false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<b Id="x"> <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X></ds:X></ds:Signature> </b>"#
        );
        assert!(matches!(
            canonicalize_element_by_id(doc, "Id", "y", &INCL, true),
            Err(C14nError::IdNotFound { .. })
        ));
    }

    #[test]
    fn errors_are_located() {
        let err = canonicalize(b"<r>\n  <a></b>\n</r>", &INCL).unwrap_err();
        assert_eq!(err.position(), Some(Position { line: 2, column: 6 }));
        let err = canonicalize(b"<r>\n<a x='1' x='2'/></r>", &INCL).unwrap_err();
        assert_eq!(
            err.position(),
            Some(Position {
                line: 2,
                column: 10
            })
        );
        assert!(
            err.to_string()
                .starts_with("XML mal formé ligne 2, colonne 10 : ")
        );
    }
}
