//! Start tags parsed and checked ([`StartTag`]): element name, attributes (values decoded,
//! duplicates refused) and namespace declarations, all in one reusable buffer.

use super::chars::{is_name, is_xml_space, skip_space, space_before_attribute, split_qname, utf8};
use super::escape::excerpt;
use super::text::{check_chars, decode_attribute_value};
use super::{SResult, SyntaxError, XML_NAMESPACE, XMLNS_NAMESPACE};

/// An attribute of a start tag (namespace declarations excluded), value decoded.
#[derive(Debug, Clone, Copy)]
pub struct Attribute<'a> {
    /// Qualified name as written.
    pub qname: &'a str,
    /// Normalised value (references replaced, white space normalised).
    pub value: &'a str,
    colon: Option<usize>,
}

impl<'a> Attribute<'a> {
    pub fn prefix(&self) -> Option<&'a str> {
        self.colon.map(|c| &self.qname[..c])
    }
    pub fn local_name(&self) -> &'a str {
        match self.colon {
            Some(c) => &self.qname[c + 1..],
            None => self.qname,
        }
    }
}

/// From this many attributes on one tag, duplicates are found by sorting.
const MANY_ATTRIBUTES: usize = 32;

#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct AttributeSpan {
    qname: Span,
    colon: Option<usize>,
    value: Span,
}

/// A start tag, parsed and checked: element name, attributes, namespace declarations. All the
/// text lives in one buffer, so that a `StartTag` reused with [`parse_into`](Self::parse_into)
/// does not allocate.
#[derive(Debug, Clone, Default)]
pub struct StartTag {
    text: String,
    qname: Span,
    colon: Option<usize>,
    attributes: Vec<AttributeSpan>,
    namespaces: Vec<(Span, Span)>,
}

impl StartTag {
    /// Qualified name of the element as written.
    pub fn qname(&self) -> &str {
        &self.text[self.qname.start..self.qname.end]
    }
    pub fn prefix(&self) -> Option<&str> {
        self.colon.map(|c| &self.qname()[..c])
    }
    pub fn local_name(&self) -> &str {
        match self.colon {
            Some(c) => &self.qname()[c + 1..],
            None => self.qname(),
        }
    }
    /// Attributes other than namespace declarations, in document order.
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'_>> + '_ {
        self.attributes.iter().map(|a| Attribute {
            qname: &self.text[a.qname.start..a.qname.end],
            value: &self.text[a.value.start..a.value.end],
            colon: a.colon,
        })
    }
    /// Number of attributes other than namespace declarations.
    pub fn attribute_count(&self) -> usize {
        self.attributes.len()
    }
    /// The decoded value of the attribute with this qualified name.
    pub fn attribute(&self, qname: &str) -> Option<&str> {
        self.attributes()
            .find(|a| a.qname == qname)
            .map(|a| a.value)
    }
    /// Namespace declarations in document order: (prefix, URI); prefix "" is the default
    /// namespace, URI "" (only for the default namespace) undeclares it. A declaration of the
    /// `xml` prefix (allowed only with its own URI) is dropped, as libxml2 does.
    pub fn namespaces(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.namespaces
            .iter()
            .map(|(p, u)| (&self.text[p.start..p.end], &self.text[u.start..u.end]))
    }

    /// Becomes a copy of `other`, reusing this tag's buffers (no allocation once they are big
    /// enough, where `clone` would allocate three times).
    pub fn copy_from(&mut self, other: &StartTag) {
        self.text.clone_from(&other.text);
        self.qname = other.qname;
        self.colon = other.colon;
        self.attributes.clone_from(&other.attributes);
        self.namespaces.clone_from(&other.namespaces);
    }

    /// Parses the content of a start or empty-element tag (between `<` and `>` or `/>`).
    pub(crate) fn parse(content: &[u8]) -> SResult<StartTag> {
        let mut tag = StartTag::default();
        tag.parse_into(content)?;
        Ok(tag)
    }

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Parses into this tag, reusing its buffers.
    pub(crate) fn parse_into(&mut self, content: &[u8]) -> SResult<()> {
        self.text.clear();
        self.attributes.clear();
        self.namespaces.clear();
        let text = utf8(content)?;
        let bytes = text.as_bytes();
        let name_end = bytes
            .iter()
            .position(|&b| is_xml_space(b))
            .unwrap_or(bytes.len());
        let qname = &text[..name_end];
        self.colon = qualified_name(qname, 0, "de l'élément")?;
        self.qname = self.push_text(qname);
        let mut i = name_end;
        while space_before_attribute(bytes, &mut i, "un espace est attendu avant chaque attribut")?
        {
            // Attribute name
            let name_start = i;
            while i < bytes.len() && !is_xml_space(bytes[i]) && bytes[i] != b'=' {
                i += 1;
            }
            let name = &text[name_start..i];
            let attr_colon = qualified_name(name, name_start, "d'attribut")?;
            i = skip_space(bytes, i);
            if bytes.get(i) != Some(&b'=') {
                return Err(SyntaxError::new(
                    i,
                    format!(
                        "« = » attendu après le nom d'attribut « {} »",
                        excerpt(name)
                    ),
                ));
            }
            i += 1;
            i = skip_space(bytes, i);
            let quote = match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => q,
                _ => {
                    return Err(SyntaxError::new(
                        i,
                        format!(
                            "la valeur de l'attribut « {} » doit être entre guillemets",
                            excerpt(name)
                        ),
                    ));
                }
            };
            let value_start = i + 1;
            let value_end = bytes[value_start..]
                .iter()
                .position(|&b| b == quote)
                .map(|p| value_start + p)
                .ok_or_else(|| {
                    SyntaxError::new(
                        i,
                        format!("valeur de l'attribut « {} » non terminée", excerpt(name)),
                    )
                })?;
            let raw_value = &text[value_start..value_end];
            i = value_end + 1;
            check_chars(raw_value).map_err(|e| SyntaxError {
                offset: value_start + e.offset,
                ..e
            })?;
            // Duplicates: checked one by one for usual tags, by sorting at the end for huge ones
            // (no quadratic cost on hostile input).
            if self.attributes.len() + self.namespaces.len() < MANY_ATTRIBUTES
                && (self.attributes().any(|a| a.qname == name) || self.declares(name))
            {
                return Err(SyntaxError::new(
                    name_start,
                    format!("attribut « {} » en double", excerpt(name)),
                ));
            }
            let qname = self.push_text(name);
            let value_start_in_text = self.text.len();
            decode_attribute_value(raw_value, &mut self.text).map_err(|e| SyntaxError {
                offset: value_start + e.offset,
                ..e
            })?;
            let value = Span {
                start: value_start_in_text,
                end: self.text.len(),
            };
            self.add_attribute(qname, attr_colon, value, name_start)?;
        }
        if self.attributes.len() + self.namespaces.len() >= MANY_ATTRIBUTES {
            let mut names: Vec<String> = self.attributes().map(|a| a.qname.to_owned()).collect();
            names.extend(self.namespaces().map(|(p, _)| {
                if p.is_empty() {
                    "xmlns".to_owned()
                } else {
                    format!("xmlns:{p}")
                }
            }));
            names.sort_unstable();
            if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
                return Err(SyntaxError::new(
                    0,
                    format!("attribut « {} » en double", excerpt(&w[0])),
                ));
            }
        }
        Ok(())
    }

    fn declares(&self, name: &str) -> bool {
        if name == "xmlns" {
            return self.namespaces().any(|(p, _)| p.is_empty());
        }
        match name.strip_prefix("xmlns:") {
            Some(prefix) => self.namespaces().any(|(p, _)| p == prefix),
            None => false,
        }
    }

    fn add_attribute(
        &mut self,
        qname: Span,
        colon: Option<usize>,
        value: Span,
        offset: usize,
    ) -> SResult<()> {
        let name = &self.text[qname.start..qname.end];
        let v = &self.text[value.start..value.end];
        let err = |detail: String| Err(SyntaxError::new(offset, detail));
        if name == "xmlns" {
            if v == XML_NAMESPACE || v == XMLNS_NAMESPACE {
                return err(format!(
                    "l'espace de noms « {v} » ne peut pas être l'espace de noms par défaut"
                ));
            }
            let prefix = Span {
                start: qname.start,
                end: qname.start,
            };
            self.namespaces.push((prefix, value));
            return Ok(());
        }
        if let Some(prefix) = name.strip_prefix("xmlns:") {
            if prefix == "xmlns" {
                return err("le préfixe « xmlns » ne peut pas être déclaré".to_owned());
            }
            if prefix == "xml" {
                if v != XML_NAMESPACE {
                    return err(format!(
                        "le préfixe « xml » ne peut être lié qu'à « {XML_NAMESPACE} »"
                    ));
                }
                // Declaring xml with its own URI is allowed and changes nothing.
                return Ok(());
            }
            if v.is_empty() {
                return err(format!(
                    "le préfixe « {prefix} » ne peut pas être lié à un espace de noms vide"
                ));
            }
            if v == XML_NAMESPACE || v == XMLNS_NAMESPACE {
                return err(format!(
                    "l'espace de noms « {v} » est réservé et ne peut pas être lié au préfixe « {prefix} »"
                ));
            }
            let prefix = Span {
                start: qname.start + 6,
                end: qname.end,
            };
            self.namespaces.push((prefix, value));
            return Ok(());
        }
        self.attributes.push(AttributeSpan {
            qname,
            colon,
            value,
        });
        Ok(())
    }
}

/// Checks a qualified name; returns the colon position.
fn qualified_name(name: &str, offset: usize, what: &str) -> SResult<Option<usize>> {
    if name.is_empty() {
        return Err(SyntaxError::new(offset, format!("nom {what} manquant")));
    }
    match split_qname(name) {
        Some((prefix, _)) => Ok(prefix.map(str::len)),
        None if is_name(name) => Err(SyntaxError::new(
            offset,
            format!("le nom {what} « {name} » n'est pas un nom qualifié valide (espaces de noms)"),
        )),
        None => Err(SyntaxError::new(
            offset,
            format!("le nom {what} « {name} » n'est pas un nom XML valide"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_tags() {
        let t = StartTag::parse(br#"a:b xmlns:a="u" x='1' a:y="&lt;" xmlns="d""#).unwrap();
        assert_eq!(t.qname(), "a:b");
        assert_eq!(t.prefix(), Some("a"));
        assert_eq!(t.local_name(), "b");
        assert_eq!(
            t.namespaces().collect::<Vec<_>>(),
            vec![("a", "u"), ("", "d")]
        );
        assert_eq!(t.attribute("a:y"), Some("<"));
        assert_eq!(t.attributes().count(), 2);
        assert!(StartTag::parse(br#"a x="1"y="2""#).is_err());
        assert!(StartTag::parse(br#"a x="1" x="2""#).is_err());
        assert!(StartTag::parse(br#"a x="<""#).is_err());
        assert!(StartTag::parse(br#"a:b:c"#).is_err());
        assert!(StartTag::parse(br#"1a"#).is_err());
        assert!(StartTag::parse(br#"a xmlns:p="""#).is_err());
        assert!(StartTag::parse(br#"a xmlns="" xmlns="""#).is_err());
    }
}
