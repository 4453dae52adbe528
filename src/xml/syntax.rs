//! Lexical rules of XML 1.0 (fifth edition) and Namespaces in XML 1.0, applied to the raw content of
//! quick-xml events: quick-xml splits the input into markup and text but checks little, so every
//! check a conforming parser (libxml2) makes and that matters for the canonical form is made here.
//!
//! All functions take the UTF-8 text of one event and report errors with a byte offset relative to
//! that text, so that the reader can turn it into a line and a column.

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
        if i >= slow_until {
            if let Some(chunk) = bytes.get(i..i + CHUNK)
                && !chunk
                    .iter()
                    .fold(false, |any, &b| any | text_check_special(b))
            {
                i += CHUNK;
                continue;
            }
            slow_until = i + CHUNK;
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
const CHUNK: usize = 32;

/// Bytes [`check_text`] looks at: controls other than tab, line feed and carriage return, the
/// lead byte of U+FFFE/U+FFFF, `]` and `&`. Written without branches so that chunks vectorise.
#[inline(always)]
fn text_check_special(b: u8) -> bool {
    ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r'))
        | (b == 0xEF)
        | (b == b']')
        | (b == b'&')
}

/// Bytes [`escape_raw_text`] rewrites.
#[inline(always)]
fn raw_text_special(b: u8) -> bool {
    (b == b'&') | (b == b'<') | (b == b'>') | (b == b'\r')
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
        loop {
            let space_start = i;
            while i < bytes.len() && is_xml_space(bytes[i]) {
                i += 1;
            }
            if i >= bytes.len() {
                break;
            }
            if i == space_start {
                return Err(SyntaxError::new(
                    i,
                    "un espace est attendu avant chaque attribut",
                ));
            }
            // Attribute name
            let name_start = i;
            while i < bytes.len() && !is_xml_space(bytes[i]) && bytes[i] != b'=' {
                i += 1;
            }
            let name = &text[name_start..i];
            let attr_colon = qualified_name(name, name_start, "d'attribut")?;
            while i < bytes.len() && is_xml_space(bytes[i]) {
                i += 1;
            }
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
            while i < bytes.len() && is_xml_space(bytes[i]) {
                i += 1;
            }
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

/// Splits a processing instruction (content between `<?` and `?>`) into target and data, as
/// libxml2 stores them: white space after the target is dropped, trailing white space kept.
pub(crate) fn parse_pi(content: &[u8]) -> SResult<(&str, &str)> {
    let text = utf8(content)?;
    let bytes = text.as_bytes();
    let target_end = bytes
        .iter()
        .position(|&b| is_xml_space(b))
        .unwrap_or(bytes.len());
    let target = &text[..target_end];
    if !is_name(target) {
        return Err(SyntaxError::new(
            0,
            format!("cible d'instruction de traitement « {target} » invalide"),
        ));
    }
    if target.eq_ignore_ascii_case("xml") {
        return Err(SyntaxError::new(
            0,
            "la déclaration XML n'est permise qu'au tout début du document",
        ));
    }
    let mut data_start = target_end;
    while data_start < bytes.len() && is_xml_space(bytes[data_start]) {
        data_start += 1;
    }
    let data = &text[data_start..];
    check_chars(data).map_err(|e| SyntaxError {
        offset: data_start + e.offset,
        ..e
    })?;
    Ok((target, data))
}

/// Checks a comment's content (between `<!--` and `-->`).
pub(crate) fn check_comment(content: &str) -> SResult<()> {
    check_chars(content)?;
    if let Some(i) = content.find("--") {
        return Err(SyntaxError::new(
            i,
            "la séquence « -- » est interdite dans un commentaire",
        ));
    }
    if content.ends_with('-') {
        return Err(SyntaxError::new(
            content.len() - 1,
            "un commentaire ne peut pas se terminer par « --->»",
        ));
    }
    Ok(())
}

/// Checks the XML declaration (content between `<?` and `?>`, starting with `xml`): `version`
/// first, then optionally `encoding` and `standalone`, in this order.
pub(crate) fn check_declaration(content: &[u8]) -> SResult<()> {
    let text = utf8(content)?;
    let bytes = text.as_bytes();
    let mut i = 3; // after "xml"
    let mut seen: Vec<&str> = Vec::new();
    loop {
        let space_start = i;
        while i < bytes.len() && is_xml_space(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if i == space_start {
            return Err(SyntaxError::new(
                i,
                "espace attendu dans la déclaration XML",
            ));
        }
        let name_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let name = &text[name_start..i];
        while i < bytes.len() && is_xml_space(bytes[i]) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            return Err(SyntaxError::new(i, "« = » attendu dans la déclaration XML"));
        }
        i += 1;
        while i < bytes.len() && is_xml_space(bytes[i]) {
            i += 1;
        }
        let quote = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => {
                return Err(SyntaxError::new(
                    i,
                    "valeur entre guillemets attendue dans la déclaration XML",
                ));
            }
        };
        let value_start = i + 1;
        let value_end = bytes[value_start..]
            .iter()
            .position(|&b| b == quote)
            .map(|p| value_start + p)
            .ok_or_else(|| SyntaxError::new(i, "valeur non terminée dans la déclaration XML"))?;
        let value = &text[value_start..value_end];
        i = value_end + 1;
        let order = ["version", "encoding", "standalone"];
        let rank = order.iter().position(|&o| o == name);
        let last_rank = seen.last().and_then(|s| order.iter().position(|o| o == s));
        let ok_order = match (rank, last_rank) {
            (Some(0), None) => true,
            (Some(r), Some(l)) => r > l,
            _ => false,
        };
        if !ok_order {
            return Err(SyntaxError::new(
                name_start,
                format!(
                    "pseudo-attribut « {name} » inattendu dans la déclaration XML (ordre attendu : version, encoding, standalone)"
                ),
            ));
        }
        let valid = match name {
            "version" => value
                .strip_prefix("1.")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
            "encoding" => {
                let mut cs = value.bytes();
                cs.next().is_some_and(|b| b.is_ascii_alphabetic())
                    && cs.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            _ => value == "yes" || value == "no",
        };
        if !valid {
            return Err(SyntaxError::new(
                value_start,
                format!("valeur « {value} » invalide pour « {name} » dans la déclaration XML"),
            ));
        }
        seen.push(name);
    }
    if seen.is_empty() {
        return Err(SyntaxError::new(
            0,
            "la déclaration XML doit indiquer la version",
        ));
    }
    Ok(())
}

/// Whether a namespace URI is an absolute URI that libxml2's URI parser accepts (RFC 3986:
/// scheme, then only ASCII characters allowed in their component, valid `%` escapes, numeric
/// port). Canonical XML must fail on relative namespace URIs; libxml2 also fails on unparsable
/// ones.
pub(crate) fn is_absolute_uri(uri: &str) -> bool {
    let b = uri.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_alphabetic()) {
        return false;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'+' | b'-' | b'.')) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return false;
    }
    let rest = &b[i + 1..];
    let (before_fragment, fragment) = match rest.iter().position(|&c| c == b'#') {
        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
        None => (rest, None),
    };
    if let Some(f) = fragment
        && !all_uri_chars(f, |c| is_pchar(c) || c == b'/' || c == b'?')
    {
        return false;
    }
    let (hier, query) = match before_fragment.iter().position(|&c| c == b'?') {
        Some(p) => (&before_fragment[..p], Some(&before_fragment[p + 1..])),
        None => (before_fragment, None),
    };
    if let Some(q) = query
        && !all_uri_chars(q, |c| is_pchar(c) || c == b'/' || c == b'?')
    {
        return false;
    }
    let path = match hier.strip_prefix(b"//") {
        Some(after) => {
            let auth_end = after.iter().position(|&c| c == b'/').unwrap_or(after.len());
            if !is_authority(&after[..auth_end]) {
                return false;
            }
            &after[auth_end..]
        }
        None => hier,
    };
    all_uri_chars(path, |c| is_pchar(c) || c == b'/')
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

fn is_pchar(c: u8) -> bool {
    is_unreserved(c) || is_sub_delim(c) || c == b':' || c == b'@'
}

/// Every byte satisfies `allowed` or is part of a valid `%XX` escape.
fn all_uri_chars(s: &[u8], allowed: impl Fn(u8) -> bool) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if s.len() < i + 3 || !s[i + 1].is_ascii_hexdigit() || !s[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else if allowed(s[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn is_authority(a: &[u8]) -> bool {
    let host_port = match a.iter().position(|&c| c == b'@') {
        Some(p) => {
            if !all_uri_chars(&a[..p], |c| {
                is_unreserved(c) || is_sub_delim(c) || c == b':'
            }) {
                return false;
            }
            &a[p + 1..]
        }
        None => a,
    };
    let (host, port) = if host_port.first() == Some(&b'[') {
        match host_port.iter().position(|&c| c == b']') {
            Some(p) => (&host_port[..=p], &host_port[p + 1..]),
            None => return false,
        }
    } else {
        match host_port.iter().position(|&c| c == b':') {
            Some(p) => (&host_port[..p], &host_port[p..]),
            None => (host_port, &host_port[host_port.len()..]),
        }
    };
    if host.first() != Some(&b'[') && !all_uri_chars(host, |c| is_unreserved(c) || is_sub_delim(c))
    {
        return false;
    }
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// Appends text escaped as Canonical XML escapes text nodes (`&amp; &lt; &gt; &#xD;`).
pub(crate) fn escape_text(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends raw character data (text or CDATA content as read) after line-end normalisation
/// (`\r\n` and lone `\r` become `\n`), escaped as a text node.
pub(crate) fn escape_raw_text(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let mut slow_until = 0;
    while i < bytes.len() {
        if i >= slow_until {
            if let Some(chunk) = bytes.get(i..i + CHUNK)
                && !chunk
                    .iter()
                    .fold(false, |any, &b| any | raw_text_special(b))
            {
                i += CHUNK;
                continue;
            }
            slow_until = i + CHUNK;
        }
        let b = bytes[i];
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => {
                out.extend_from_slice(&bytes[start..i]);
                if bytes.get(i + 1) != Some(&b'\n') {
                    out.push(b'\n');
                }
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends an attribute value escaped as Canonical XML escapes attribute values
/// (`&amp; &lt; &quot; &#x9; &#xA; &#xD;`).
pub(crate) fn escape_attribute(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'"' => b"&quot;",
            b'\t' => b"&#x9;",
            b'\n' => b"&#xA;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends comment or processing-instruction content after line-end normalisation; a carriage
/// return (impossible after normalisation) would be written `&#xD;` as libxml2 does.
pub(crate) fn push_normalized_lines(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' {
            out.extend_from_slice(&bytes[start..i]);
            if bytes.get(i + 1) != Some(&b'\n') {
                out.push(b'\n');
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// A short excerpt of a name for error messages.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == 40 {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {

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
    use super::*;

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

    #[test]
    fn uris() {
        for ok in [
            "urn:x:y",
            "http://[::1]/",
            "a:b",
            "http:///x",
            "http://ex.com/'",
            "x+y.z-w:q",
            "mailto:a@b",
            "http://e.com/?a=1&b=2",
            "http://x.org/%41",
            "http://u@h:80/p?q#f",
        ] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in [
            "http://ex.com/é",
            "http://ex.com/a b",
            "http://ex.com/%zz",
            "rel/path",
            "http://ex.com/{x}",
            "http://ex.com/a|b",
            "1a:b",
            "http://ex.com/#a#b",
            "http://ex.com:port/",
            "http://ex.com/a\\b",
            "http://ex.com/[",
            "",
        ] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }

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
