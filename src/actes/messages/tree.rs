//! A small bounded tree of one XML message, read through the project's strict reader
//! ([`XmlReader`]: DOCTYPE refused, ISO-8859-1 / windows-1252 / UTF-8) under the bounds of
//! [`ReadLimits`]. A message is a few kilobytes and a classification a few hundred, so a tree in
//! memory is simpler than streaming; it is apart so that the schema check and the reading of
//! the message walk the same nodes without knowing how they were parsed.

use std::io::Read;

use quick_xml::events::Event;

use super::error::{ActesReadError, ReadLimits};
use super::model::{ACTES_NS, INSEE_NS, MessageKind};
use crate::actes::files::{group_digits, precise_size};
use crate::messages::{t, tf};
use crate::xml::{C14nError, XmlReader};

#[derive(Debug, Default)]
pub(super) struct Node {
    pub(super) ns: Option<String>,
    pub(super) name: String,
    pub(super) attrs: Vec<NodeAttr>,
    pub(super) text: String,
    pub(super) children: Vec<Node>,
    pub(super) line: u64,
}

#[derive(Debug)]
pub(super) struct NodeAttr {
    pub(super) ns: Option<String>,
    pub(super) name: String,
    pub(super) value: String,
}

const MAX_DEPTH: usize = 64;

pub(super) fn parse_tree<R: Read>(
    input: R,
    limits: &ReadLimits,
) -> Result<(Node, &'static str), ActesReadError> {
    let mut reader = XmlReader::new(input)?;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    let mut text_bytes = 0usize;
    let too_large = || {
        ActesReadError::XmlTooLarge(tf(
            "actes_messages.limite_xml",
            &[
                ("elements", &group_digits(limits.xml_elements as u64)),
                ("texte", &precise_size(limits.xml_text_bytes as u64)),
            ],
        ))
    };
    loop {
        let (event, info) = reader.read_event_with_info()?;
        let mut done: Option<Node> = None;
        match &event {
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) => {
                elements += 1;
                if elements > limits.xml_elements || stack.len() >= MAX_DEPTH {
                    return Err(too_large());
                }
                let (ns, local) = info.element_name().unwrap_or((None, ""));
                if elements == 1 && MessageKind::from_root(local).is_none() {
                    // Not an ACTES message (a PES file, say): no need to read on.
                    return Err(ActesReadError::UnknownRoot {
                        racine: local.to_owned(),
                        espace: ns
                            .map(str::to_owned)
                            .unwrap_or_else(|| t("actes_messages.aucun_espace")),
                    });
                }
                let mut attrs = Vec::new();
                if let Some(tag) = info.start_tag() {
                    for a in tag.attributes() {
                        text_bytes += a.value.len();
                        attrs.push(NodeAttr {
                            ns: a
                                .prefix()
                                .and_then(|p| info.scopes().namespace_of(p))
                                .map(str::to_owned),
                            name: a.local_name().to_owned(),
                            value: a.value.to_owned(),
                        });
                    }
                }
                if text_bytes > limits.xml_text_bytes {
                    return Err(too_large());
                }
                let node = Node {
                    ns: ns.map(str::to_owned),
                    name: local.to_owned(),
                    attrs,
                    line: info.position().line,
                    ..Node::default()
                };
                if matches!(event, Event::Empty(_)) {
                    done = Some(node);
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => done = stack.pop(),
            Event::Text(text) => {
                let raw = String::from_utf8_lossy(text);
                text_bytes += raw.len();
                if let Some(node) = stack.last_mut() {
                    node.text
                        .push_str(&raw.replace("\r\n", "\n").replace('\r', "\n"));
                }
            }
            Event::CData(data) => {
                let raw = String::from_utf8_lossy(data);
                text_bytes += raw.len();
                if let Some(node) = stack.last_mut() {
                    node.text
                        .push_str(&raw.replace("\r\n", "\n").replace('\r', "\n"));
                }
            }
            Event::GeneralRef(reference) => {
                let name = String::from_utf8_lossy(reference);
                let c = resolve_reference(&name).ok_or_else(|| C14nError::Malformed {
                    position: Some(info.position()),
                    detail: format!("référence « &{name}; » inconnue"),
                })?;
                text_bytes += c.len_utf8();
                if let Some(node) = stack.last_mut() {
                    node.text.push(c);
                }
            }
            _ => {}
        }
        if text_bytes > limits.xml_text_bytes {
            return Err(too_large());
        }
        if let Some(node) = done {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => root = Some(node),
            }
        }
    }
    let encoding = reader.encoding().name();
    // The reader refuses a document without element.
    root.map(|r| (r, encoding)).ok_or_else(|| {
        ActesReadError::Xml(C14nError::Malformed {
            position: None,
            detail: "le document ne contient aucun élément".to_owned(),
        })
    })
}

/// A reference the reader has already checked: one of the five predefined entities or a
/// character reference.
fn resolve_reference(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let value = match num.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(value);
    }
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

impl Node {
    pub(super) fn is_actes(&self) -> bool {
        self.ns.as_deref() == Some(ACTES_NS)
    }

    /// First child with this local name (ACTES namespace, or none: read leniently).
    pub(super) fn child(&self, local: &str) -> Option<&Node> {
        self.children_named(local).next()
    }

    pub(super) fn children_named<'a>(&'a self, local: &str) -> impl Iterator<Item = &'a Node> {
        self.children
            .iter()
            .filter(move |c| c.name == local && (c.ns.is_none() || c.is_actes()))
    }

    /// Trimmed text of the first child with this name; `None` when absent or empty.
    pub(super) fn child_text(&self, local: &str) -> Option<String> {
        self.child(local).and_then(Node::text_value)
    }

    /// First non-empty text among the children with this name.
    pub(super) fn first_child_text(&self, local: &str) -> Option<String> {
        self.children_named(local).find_map(Node::text_value)
    }

    pub(super) fn text_value(&self) -> Option<String> {
        let text = self.text.trim_matches(is_xml_space);
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// Attribute by local name: in the ACTES (or INSEE) namespace as the schema wants, or
    /// without namespace (read leniently; the schema check reports it).
    pub(super) fn attr(&self, local: &str) -> Option<String> {
        let qualified = self
            .attrs
            .iter()
            .find(|a| a.name == local && matches!(a.ns.as_deref(), Some(ACTES_NS | INSEE_NS)));
        qualified
            .or_else(|| {
                self.attrs
                    .iter()
                    .find(|a| a.name == local && a.ns.is_none())
            })
            .map(|a| a.value.trim_matches(is_xml_space).to_owned())
    }
}

pub(super) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}
