//! Namespace scopes of a document read as a stream, and the context a canonicaliser needs when it
//! starts at an element that is not the root.

use quick_xml::events::BytesStart;

use super::error::C14nError;
use super::syntax::{self, StartTag, XML_NAMESPACE};

/// What an element inherits from its ancestors, as Canonical XML needs it for a document subset
/// whose apex is that element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApexContext {
    /// Namespace declarations in scope at the apex's parent, nearest declaration of each prefix
    /// only, as (prefix, URI); prefix "" is the default namespace, and a default namespace URI ""
    /// means `xmlns=""` was the nearest declaration. The `xml` prefix is never listed.
    pub namespaces: Vec<(String, String)>,
    /// Attributes in the `xml` namespace (`xml:lang`, `xml:space`, `xml:base`, `xml:id`…) of the
    /// ancestors, nearest occurrence of each, as (local name, value). Inclusive Canonical XML 1.0
    /// adds them to the apex (libxml2/xmlsec do the same for a `#id` reference); exclusive
    /// canonicalisation ignores them.
    pub xml_attributes: Vec<(String, String)>,
}

impl ApexContext {
    /// The context of the root element: nothing inherited.
    pub fn root() -> Self {
        ApexContext::default()
    }
}

/// A stack of namespace declarations with one mark per open element.
#[derive(Debug, Clone, Default)]
pub(crate) struct NsStack {
    decls: Vec<(String, String)>,
    marks: Vec<usize>,
}

impl NsStack {
    pub(crate) fn from_context(context: &ApexContext) -> Self {
        NsStack {
            decls: context.namespaces.clone(),
            marks: Vec::new(),
        }
    }

    pub(crate) fn push<'a>(&mut self, decls: impl Iterator<Item = (&'a str, &'a str)>) {
        self.marks.push(self.decls.len());
        self.decls
            .extend(decls.map(|(p, u)| (p.to_owned(), u.to_owned())));
    }

    pub(crate) fn pop(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.decls.truncate(mark);
        }
    }

    /// The URI bound to `prefix` ("" for the default namespace), `xml` included. For the default
    /// namespace, `Some("")` means undeclared by `xmlns=""`, `None` never declared.
    pub(crate) fn lookup(&self, prefix: &str) -> Option<&str> {
        Self::lookup_in(&self.decls, prefix)
    }

    /// Same as `lookup`, ignoring the declarations of the innermost element.
    pub(crate) fn lookup_in_parent(&self, prefix: &str) -> Option<&str> {
        let end = self.marks.last().copied().unwrap_or(self.decls.len());
        Self::lookup_in(&self.decls[..end], prefix)
    }

    fn lookup_in<'a>(decls: &'a [(String, String)], prefix: &str) -> Option<&'a str> {
        if prefix == "xml" {
            return Some(XML_NAMESPACE);
        }
        decls
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }

    /// Every namespace in scope (nearest declaration per prefix), `xml` excluded, sorted by prefix.
    pub(crate) fn in_scope(&self) -> Vec<(String, String)> {
        Self::in_scope_of(&self.decls)
    }

    /// Every namespace in scope at the parent of the innermost element.
    pub(crate) fn in_scope_of_parent(&self) -> Vec<(String, String)> {
        let end = self.marks.last().copied().unwrap_or(self.decls.len());
        Self::in_scope_of(&self.decls[..end])
    }

    fn in_scope_of(decls: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (p, u) in decls.iter().rev() {
            if !out.iter().any(|(q, _)| q == p) {
                out.push((p.clone(), u.clone()));
            }
        }
        out.sort();
        out
    }

    /// The declarations made by the innermost element.
    pub(crate) fn innermost(&self) -> &[(String, String)] {
        let start = self.marks.last().copied().unwrap_or(0);
        &self.decls[start..]
    }

    pub(crate) fn depth(&self) -> usize {
        self.marks.len()
    }
}

/// Resolves the namespaces of an element and its attributes once its declarations are pushed;
/// checks that prefixes are bound and that no two attributes have the same expanded name.
/// Returns the element's namespace URI ("" if none).
pub(crate) fn resolve<'a>(ns: &'a NsStack, tag: &StartTag) -> Result<&'a str, String> {
    let element_ns = match tag.prefix() {
        Some("xmlns") => {
            return Err(format!(
                "le préfixe « xmlns » ne peut pas être utilisé pour l'élément « {} »",
                syntax::excerpt(tag.qname())
            ));
        }
        Some(prefix) => ns.lookup(prefix).ok_or_else(|| {
            format!(
                "le préfixe « {prefix} » de l'élément « {} » n'est pas déclaré",
                syntax::excerpt(tag.qname())
            )
        })?,
        None => ns.lookup("").unwrap_or(""),
    };
    let mut prefixed: Vec<(&str, &str)> = Vec::new();
    for attr in tag.attributes() {
        if let Some(prefix) = attr.prefix() {
            let uri = ns.lookup(prefix).ok_or_else(|| {
                format!(
                    "le préfixe « {prefix} » de l'attribut « {} » n'est pas déclaré",
                    syntax::excerpt(attr.qname)
                )
            })?;
            prefixed.push((uri, attr.local_name()));
        }
    }
    if prefixed.len() > 1 {
        prefixed.sort_unstable();
        if let Some(w) = prefixed.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!(
                "deux attributs de l'élément « {} » ont le même nom étendu {{{}}}{}",
                syntax::excerpt(tag.qname()),
                w[0].0,
                w[0].1
            ));
        }
    }
    Ok(element_ns)
}

/// Tracks namespace declarations and `xml:*` attributes while a document is read as a stream, so
/// that a canonicaliser can be started at any element.
///
/// Feed it every start tag and every end tag of the document (an empty-element tag is a start
/// followed by an end): [`push`](Self::push) / [`pop`](Self::pop), or [`apply`](Self::apply) with
/// each quick-xml event. Just *before* pushing the start tag of the element you want to
/// canonicalise, [`context`](Self::context) gives the [`ApexContext`] to start the
/// [`Canonicalizer`](super::Canonicalizer) with.
#[derive(Debug, Clone, Default)]
pub struct NamespaceScopes {
    ns: NsStack,
    xml_attributes: Vec<(String, String)>,
    xml_marks: Vec<usize>,
}

impl NamespaceScopes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Enters an element: parses its start tag, checks it, records its declarations.
    pub fn push(&mut self, start: &BytesStart<'_>) -> Result<StartTag, C14nError> {
        let tag = StartTag::parse(start).map_err(|e| C14nError::malformed(e.detail))?;
        self.push_parsed(&tag)?;
        Ok(tag)
    }

    /// Enters an element already parsed.
    pub fn push_parsed(&mut self, tag: &StartTag) -> Result<(), C14nError> {
        self.ns.push(tag.namespaces());
        if let Err(detail) = resolve(&self.ns, tag) {
            self.ns.pop();
            return Err(C14nError::malformed(detail));
        }
        self.xml_marks.push(self.xml_attributes.len());
        for attr in tag.attributes() {
            if attr.prefix() == Some("xml") {
                self.xml_attributes
                    .push((attr.local_name().to_owned(), attr.value.to_owned()));
            }
        }
        Ok(())
    }

    /// Leaves the innermost element.
    pub fn pop(&mut self) {
        self.ns.pop();
        if let Some(mark) = self.xml_marks.pop() {
            self.xml_attributes.truncate(mark);
        }
    }

    /// Convenience: `Start` pushes, `End` pops, `Empty` pushes and pops (checking the tag);
    /// other events change nothing.
    pub fn apply(&mut self, event: &quick_xml::events::Event<'_>) -> Result<(), C14nError> {
        use quick_xml::events::Event;
        match event {
            Event::Start(e) => {
                self.push(e)?;
            }
            Event::Empty(e) => {
                self.push(e)?;
                self.pop();
            }
            Event::End(_) => self.pop(),
            _ => {}
        }
        Ok(())
    }

    /// Number of open elements.
    pub fn depth(&self) -> usize {
        self.ns.depth()
    }

    /// The namespace URI bound to `prefix` ("" = default namespace) in the current scope;
    /// `None` if unbound (or, for the default namespace, undeclared).
    pub fn namespace_of(&self, prefix: &str) -> Option<&str> {
        self.ns.lookup(prefix).filter(|u| !u.is_empty())
    }

    /// The context inherited by an element whose start tag would be pushed now.
    pub fn context(&self) -> ApexContext {
        ApexContext {
            namespaces: self.ns.in_scope(),
            xml_attributes: nearest_xml_attributes(&self.xml_attributes),
        }
    }

    /// The context inherited by the innermost open element (the one pushed last).
    pub fn context_of_innermost(&self) -> ApexContext {
        let mark = self.xml_marks.last().copied().unwrap_or(0);
        ApexContext {
            namespaces: self.ns.in_scope_of_parent(),
            xml_attributes: nearest_xml_attributes(&self.xml_attributes[..mark]),
        }
    }
}

fn nearest_xml_attributes(all: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in all.iter().rev() {
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.clone(), value.clone()));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts() {
        let mut s = NamespaceScopes::new();
        let a = BytesStart::from_content(
            r#"a xmlns="u1" xmlns:p="u2" xml:lang="fr" xml:space="preserve""#,
            1,
        );
        let b = BytesStart::from_content(r#"p:b xmlns="" xml:lang="en""#, 3);
        s.push(&a).unwrap();
        s.push(&b).unwrap();
        let ctx = s.context();
        assert_eq!(
            ctx.namespaces,
            vec![
                (String::new(), String::new()),
                ("p".to_owned(), "u2".to_owned())
            ]
        );
        assert_eq!(
            ctx.xml_attributes,
            vec![
                ("lang".to_owned(), "en".to_owned()),
                ("space".to_owned(), "preserve".to_owned())
            ]
        );
        let inner = s.context_of_innermost();
        assert_eq!(
            inner.namespaces,
            vec![
                (String::new(), "u1".to_owned()),
                ("p".to_owned(), "u2".to_owned())
            ]
        );
        assert_eq!(s.namespace_of(""), None);
        s.pop();
        assert_eq!(s.namespace_of(""), Some("u1"));
        let bad = BytesStart::from_content("q:c", 3);
        assert!(s.push(&bad).is_err());
        assert_eq!(s.depth(), 1);
    }
}
