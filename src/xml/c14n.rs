//! The push canonicaliser: quick-xml events in, canonical bytes out.
//!
//! Rules follow the W3C recommendations (Canonical XML 1.0, Exclusive XML Canonicalization 1.0)
//! *as libxml2 implements them* (`c14n.c`), since xmlsec1 — and so Hélios — uses libxml2:
//! - namespace declarations are written without escaping, between double quotes (libxml2's
//!   `xmlBufWriteQuotedString`), which only differs from the recommendation for a URI containing
//!   `&` or `'`;
//! - in exclusive mode, the namespace stack is libxml2's "visible namespaces" stack, including
//!   its treatment of `xmlns=""` and of the InclusiveNamespaces PrefixList (`#default` or "" for
//!   the default namespace);
//! - in inclusive mode, a subset's apex gets the nearest `xml:*` attributes of its ancestors (all
//!   of them: `xml:lang`, `xml:space`, but also `xml:base` and `xml:id`, as libxml2 does for
//!   Canonical XML 1.0);
//! - namespace URIs must be absolute URIs (relative or unparsable ones make libxml2 fail).

use std::io::Write;

use quick_xml::events::{BytesEnd, BytesStart, Event};

use super::error::C14nError;
use super::scopes::{ApexContext, NsStack, resolve};
use super::syntax::{self, DSIG_NAMESPACE, StartTag, SyntaxError};

/// Algorithm URI of Canonical XML 1.0 (without comments).
pub const C14N_10: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Algorithm URI of Canonical XML 1.0 with comments.
pub const C14N_10_WITH_COMMENTS: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// Algorithm URI of Exclusive XML Canonicalization 1.0 (without comments).
pub const EXC_C14N_10: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Algorithm URI of Exclusive XML Canonicalization 1.0 with comments.
pub const EXC_C14N_10_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// Which canonicalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum C14nMode {
    /// Canonical XML 1.0.
    Inclusive { with_comments: bool },
    /// Exclusive XML Canonicalization 1.0; `inclusive_prefixes` is the InclusiveNamespaces
    /// PrefixList (`#default` designates the default namespace).
    Exclusive {
        with_comments: bool,
        inclusive_prefixes: Vec<String>,
    },
}

impl C14nMode {
    /// The mode named by an XML-DSig algorithm URI (`inclusive_prefixes` is used by the
    /// exclusive algorithms only).
    pub fn from_algorithm(uri: &str, inclusive_prefixes: &[String]) -> Option<Self> {
        let exclusive = |with_comments| C14nMode::Exclusive {
            with_comments,
            inclusive_prefixes: inclusive_prefixes.to_vec(),
        };
        match uri {
            C14N_10 => Some(C14nMode::Inclusive {
                with_comments: false,
            }),
            C14N_10_WITH_COMMENTS => Some(C14nMode::Inclusive {
                with_comments: true,
            }),
            EXC_C14N_10 => Some(exclusive(false)),
            EXC_C14N_10_WITH_COMMENTS => Some(exclusive(true)),
            _ => None,
        }
    }

    /// The XML-DSig algorithm URI of this mode.
    pub fn algorithm(&self) -> &'static str {
        match self {
            C14nMode::Inclusive {
                with_comments: false,
            } => C14N_10,
            C14nMode::Inclusive {
                with_comments: true,
            } => C14N_10_WITH_COMMENTS,
            C14nMode::Exclusive {
                with_comments: false,
                ..
            } => EXC_C14N_10,
            C14nMode::Exclusive {
                with_comments: true,
                ..
            } => EXC_C14N_10_WITH_COMMENTS,
        }
    }

    pub fn with_comments(&self) -> bool {
        match self {
            C14nMode::Inclusive { with_comments } | C14nMode::Exclusive { with_comments, .. } => {
                *with_comments
            }
        }
    }
}

/// What [`Canonicalizer::feed`] says after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More events are expected.
    Continue,
    /// The canonical form is complete (the subtree's apex was closed, or the document's `Eof`
    /// was fed): call [`Canonicalizer::finish`].
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    BeforeRoot,
    InRoot,
    AfterRoot,
    Finished,
}

#[derive(Debug)]
struct Frame {
    /// Start of the element's name in `Canonicalizer::names`.
    name_start: usize,
    saved_prev_start: usize,
    saved_prev_end: usize,
    saved_len: usize,
}

/// Flush the output buffer to the writer beyond this size.
const FLUSH_AT: usize = 64 * 1024;

/// Canonicalises a stream of quick-xml events, writing the canonical form to `W` as it goes.
///
/// Memory is bounded by the depth of the document (one frame per open element, holding its name
/// and namespace declarations) plus a 64 KiB output buffer: nothing of the subtree is kept.
///
/// Feed it the events of a reader whose text is UTF-8 (the [`XmlReader`](super::XmlReader)
/// transcodes any supported encoding to UTF-8):
/// - [`document`](Self::document): every event of the document, `Decl` and `Eof` included;
/// - [`subtree`](Self::subtree): from the apex's `Start` (or `Empty`) event to its `End` event,
///   with the [`ApexContext`] inherited from its ancestors.
///
/// To leave an element out (the enveloped-signature transform), pass its `Start`/`Empty` event to
/// [`skip`](Self::skip) instead of [`feed`](Self::feed): it and everything up to its matching
/// `End` (which you keep feeding) are omitted. [`exclude_signature_children`]
/// (Self::exclude_signature_children) does that automatically for the `ds:Signature` children of
/// the apex.
///
/// ```
/// use paraphe::xml::{C14nMode, Canonicalizer, Progress, XmlReader};
/// use quick_xml::events::Event;
///
/// let doc = br#"<r xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><b Id="b1" a="1"><x/><ds:Signature/></b></r>"#;
/// let mut reader = XmlReader::new(&doc[..]).unwrap();
/// let mode = C14nMode::Exclusive { with_comments: false, inclusive_prefixes: vec![] };
/// let mut canon: Option<Canonicalizer<Vec<u8>>> = None;
/// let mut result = None;
/// loop {
///     let (event, info) = reader.read_event_with_info().unwrap();
///     if let Some(c) = canon.as_mut() {
///         if c.feed(&event).unwrap() == Progress::Done {
///             result = canon.take().map(|c| c.finish().unwrap());
///         }
///     } else if info.attribute("Id") == Some("b1") {
///         // Start at this element, with what it inherits from its ancestors.
///         let mut c = Canonicalizer::subtree(&mode, &info.apex_context(), Vec::new())
///             .exclude_signature_children(true);
///         c.feed(&event).unwrap();
///         canon = Some(c);
///     }
///     if matches!(event, Event::Eof) {
///         break;
///     }
/// }
/// assert_eq!(result.unwrap(), br#"<b Id="b1" a="1"><x></x></b>"#);
/// ```
pub struct Canonicalizer<W: Write> {
    out: W,
    buf: Vec<u8>,
    exclusive: bool,
    with_comments: bool,
    /// InclusiveNamespaces PrefixList, "" standing for the default namespace.
    prefixes: Vec<String>,
    prefixes_have_default: bool,
    is_subtree: bool,
    inherited_xml: Vec<(String, String)>,
    phase: Phase,
    events: u64,
    ns: NsStack,
    frames: Vec<Frame>,
    /// Names of the open elements, one after the other.
    names: String,
    /// Reused for every start tag.
    tag: StartTag,
    /// libxml2's stack of rendered namespaces (exclusive mode).
    rendered: Vec<(String, String)>,
    prev_start: usize,
    prev_end: usize,
    skip_depth: usize,
    exclude_signatures: bool,
}

impl<W: Write> Canonicalizer<W> {
    /// A canonicaliser for a whole document.
    pub fn document(mode: &C14nMode, out: W) -> Self {
        Self::new(mode, false, &ApexContext::root(), out)
    }

    /// A canonicaliser for the subtree whose apex is the next element fed, with what that element
    /// inherits from its ancestors.
    pub fn subtree(mode: &C14nMode, context: &ApexContext, out: W) -> Self {
        Self::new(mode, true, context, out)
    }

    fn new(mode: &C14nMode, is_subtree: bool, context: &ApexContext, out: W) -> Self {
        let (exclusive, with_comments, prefixes) = match mode {
            C14nMode::Inclusive { with_comments } => (false, *with_comments, Vec::new()),
            C14nMode::Exclusive {
                with_comments,
                inclusive_prefixes,
            } => (
                true,
                *with_comments,
                inclusive_prefixes
                    .iter()
                    .map(|p| {
                        if p == "#default" {
                            String::new()
                        } else {
                            p.clone()
                        }
                    })
                    .collect::<Vec<_>>(),
            ),
        };
        let prefixes_have_default = prefixes.iter().any(String::is_empty);
        Canonicalizer {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 1024),
            exclusive,
            with_comments,
            prefixes,
            prefixes_have_default,
            is_subtree,
            inherited_xml: if exclusive || !is_subtree {
                Vec::new()
            } else {
                context.xml_attributes.clone()
            },
            phase: Phase::BeforeRoot,
            events: 0,
            ns: if is_subtree {
                NsStack::from_context(context)
            } else {
                NsStack::default()
            },
            frames: Vec::new(),
            names: String::new(),
            tag: StartTag::default(),
            rendered: Vec::new(),
            prev_start: 0,
            prev_end: 0,
            skip_depth: 0,
            exclude_signatures: false,
        }
    }

    /// Omit every `ds:Signature` element that is a child of the apex (of the root element for a
    /// document): the enveloped-signature transform of an XAdES signature placed as a child of
    /// the signed element.
    pub fn exclude_signature_children(mut self, exclude: bool) -> Self {
        self.exclude_signatures = exclude;
        self
    }

    /// Whether the canonical form is complete.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Number of open elements of the canonicalised tree (0 before the apex and after it).
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Whether the events fed now are inside a skipped element.
    pub fn is_skipping(&self) -> bool {
        self.skip_depth > 0
    }

    /// The writer (the part of the output not yet flushed is still buffered).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Flushes the output and returns the writer. Fails if the canonical form is incomplete.
    pub fn finish(mut self) -> Result<W, C14nError> {
        if self.phase != Phase::Finished {
            return Err(C14nError::malformed(match self.frames.last() {
                Some(f) => format!(
                    "fin prématurée : l'élément « {} » n'est pas fermé",
                    syntax::excerpt(&self.names[f.name_start..])
                ),
                None => "fin prématurée : aucun élément n'a été lu".to_owned(),
            }));
        }
        self.flush()?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn flush(&mut self) -> Result<(), C14nError> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Omits the element whose `Start` or `Empty` event this is, with everything it contains:
    /// keep feeding the following events, they are ignored up to the element's `End`.
    pub fn skip(&mut self, event: &Event<'_>) -> Result<Progress, C14nError> {
        if self.phase != Phase::InRoot || self.skip_depth > 0 {
            return Err(C14nError::Usage(
                "seul un élément descendant de la racine canonisée peut être omis".to_owned(),
            ));
        }
        match event {
            Event::Start(_) => self.skip_depth = 1,
            Event::Empty(_) => {}
            _ => {
                return Err(C14nError::Usage(
                    "skip() attend l'événement de début d'un élément".to_owned(),
                ));
            }
        }
        self.events += 1;
        Ok(Progress::Continue)
    }

    /// Processes one event.
    pub fn feed(&mut self, event: &Event<'_>) -> Result<Progress, C14nError> {
        self.feed_parsed(event, None)
    }

    /// Like [`feed`](Self::feed), with the event's start tag already parsed and checked by the
    /// [`XmlReader`](super::XmlReader) that produced it: it is not parsed a second time (the
    /// verifier feeds every start tag of a bordereau to its canonicaliser).
    pub fn feed_parsed(
        &mut self,
        event: &Event<'_>,
        parsed: Option<&StartTag>,
    ) -> Result<Progress, C14nError> {
        if self.phase == Phase::Finished {
            return Err(C14nError::Usage(
                "un événement a été fourni après la fin de la forme canonique".to_owned(),
            ));
        }
        let first = self.events == 0;
        self.events += 1;
        if self.skip_depth > 0 {
            match event {
                Event::Start(_) => self.skip_depth += 1,
                Event::End(_) => self.skip_depth -= 1,
                Event::Eof => {
                    return Err(C14nError::malformed(
                        "fin de document inattendue à l'intérieur d'un élément omis",
                    ));
                }
                _ => {}
            }
            return Ok(Progress::Continue);
        }
        let progress = match (event, parsed) {
            (Event::Start(_), Some(tag)) => self.start_parsed(tag, false)?,
            (Event::Empty(_), Some(tag)) => self.start_parsed(tag, true)?,
            (Event::Start(e), None) => self.start_element(e, false)?,
            (Event::Empty(e), None) => self.start_element(e, true)?,
            (Event::End(e), _) => self.end_element(e)?,
            (Event::Text(e), _) => {
                let text = syntax::utf8(e).map_err(lexical)?;
                if self.phase == Phase::InRoot {
                    syntax::check_text(text).map_err(lexical)?;
                    syntax::escape_raw_text(text, &mut self.buf);
                } else if !text.bytes().all(syntax::is_xml_space) {
                    return Err(self.outside("du texte"));
                }
                Progress::Continue
            }
            (Event::CData(e), _) => {
                if self.phase != Phase::InRoot {
                    return Err(self.outside("une section CDATA"));
                }
                let text = syntax::utf8(e).map_err(lexical)?;
                syntax::check_chars(text).map_err(lexical)?;
                syntax::escape_raw_text(text, &mut self.buf);
                Progress::Continue
            }
            (Event::GeneralRef(e), _) => {
                if self.phase != Phase::InRoot {
                    return Err(self.outside("une référence"));
                }
                let name = syntax::utf8(e).map_err(lexical)?;
                let c = syntax::resolve_reference(name).map_err(lexical)?;
                let mut tmp = [0u8; 4];
                syntax::escape_text(c.encode_utf8(&mut tmp), &mut self.buf);
                Progress::Continue
            }
            (Event::Comment(e), _) => {
                let text = syntax::utf8(e).map_err(lexical)?;
                syntax::check_comment(text).map_err(lexical)?;
                if self.with_comments {
                    self.before_top_level_node();
                    self.buf.extend_from_slice(b"<!--");
                    syntax::push_normalized_lines(text, &mut self.buf);
                    self.buf.extend_from_slice(b"-->");
                    self.after_top_level_node();
                }
                Progress::Continue
            }
            (Event::PI(e), _) => {
                let (target, data) = syntax::parse_pi(e).map_err(lexical)?;
                self.before_top_level_node();
                self.buf.extend_from_slice(b"<?");
                self.buf.extend_from_slice(target.as_bytes());
                if !data.is_empty() {
                    self.buf.push(b' ');
                    syntax::push_normalized_lines(data, &mut self.buf);
                }
                self.buf.extend_from_slice(b"?>");
                self.after_top_level_node();
                Progress::Continue
            }
            (Event::Decl(e), _) => {
                if self.is_subtree || !first {
                    return Err(C14nError::malformed(
                        "la déclaration XML n'est permise qu'au tout début du document",
                    ));
                }
                syntax::check_declaration(e).map_err(lexical)?;
                Progress::Continue
            }
            (Event::DocType(_), _) => return Err(C14nError::DocType { position: None }),
            (Event::Eof, _) => {
                if self.is_subtree {
                    return Err(C14nError::malformed(
                        "fin de document avant la fin de l'élément canonisé",
                    ));
                }
                match self.phase {
                    Phase::AfterRoot => {
                        self.phase = Phase::Finished;
                        Progress::Done
                    }
                    Phase::BeforeRoot => {
                        return Err(C14nError::malformed(
                            "le document ne contient aucun élément",
                        ));
                    }
                    _ => {
                        return Err(C14nError::malformed(format!(
                            "fin de document inattendue : l'élément « {} » n'est pas fermé",
                            self.frames
                                .last()
                                .map(|f| syntax::excerpt(&self.names[f.name_start..]))
                                .unwrap_or_default()
                        )));
                    }
                }
            }
        };
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(progress)
    }

    fn outside(&self, what: &str) -> C14nError {
        if self.is_subtree {
            C14nError::Usage(format!("{what} a été fourni avant l'élément à canoniser"))
        } else {
            C14nError::malformed(format!(
                "{what} n'est pas permis en dehors de l'élément racine"
            ))
        }
    }

    /// Comments and PIs outside the root element are separated from it by a line feed.
    fn before_top_level_node(&mut self) {
        if self.phase == Phase::AfterRoot {
            self.buf.push(b'\n');
        }
    }

    fn after_top_level_node(&mut self) {
        if self.phase == Phase::BeforeRoot {
            self.buf.push(b'\n');
        }
    }

    fn enter_root(&mut self) -> Result<(), C14nError> {
        match self.phase {
            Phase::AfterRoot => {
                return Err(C14nError::malformed("un seul élément racine est permis"));
            }
            Phase::BeforeRoot => self.phase = Phase::InRoot,
            _ => {}
        }
        Ok(())
    }

    fn start_element(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<Progress, C14nError> {
        self.enter_root()?;
        // The reused tag is taken out of `self` while in use.
        let mut tag = std::mem::take(&mut self.tag);
        let result = tag
            .parse_into(e)
            .map_err(lexical)
            .and_then(|()| self.element(&tag, empty));
        self.tag = tag;
        result
    }

    fn start_parsed(&mut self, tag: &StartTag, empty: bool) -> Result<Progress, C14nError> {
        self.enter_root()?;
        self.element(tag, empty)
    }

    fn element(&mut self, tag: &StartTag, empty: bool) -> Result<Progress, C14nError> {
        self.ns.push(tag.namespaces());
        let is_dsig = match resolve(&self.ns, tag) {
            Ok(uri) => uri == DSIG_NAMESPACE,
            Err(detail) => {
                self.ns.pop();
                return Err(C14nError::malformed(detail));
            }
        };
        if self.exclude_signatures
            && self.frames.len() == 1
            && is_dsig
            && tag.local_name() == "Signature"
        {
            self.ns.pop();
            if !empty {
                self.skip_depth = 1;
            }
            return Ok(Progress::Continue);
        }
        let is_apex = self.frames.is_empty();
        self.check_namespace_uris(tag, is_apex)?;

        let frame = Frame {
            name_start: self.names.len(),
            saved_prev_start: self.prev_start,
            saved_prev_end: self.prev_end,
            saved_len: self.rendered.len(),
        };
        self.names.push_str(tag.qname());
        self.buf.push(b'<');
        self.buf.extend_from_slice(tag.qname().as_bytes());
        if self.exclusive {
            self.exclusive_namespaces(tag);
        } else {
            self.inclusive_namespaces(is_apex);
        }
        self.prev_start = self.prev_end;
        self.prev_end = self.rendered.len();
        self.attributes(tag, is_apex);
        self.buf.push(b'>');
        self.frames.push(frame);
        if empty {
            return Ok(self.close_element());
        }
        Ok(Progress::Continue)
    }

    fn end_element(&mut self, e: &BytesEnd<'_>) -> Result<Progress, C14nError> {
        match self.frames.last() {
            None => Err(C14nError::malformed(format!(
                "balise de fin « {} » sans balise de début",
                String::from_utf8_lossy(e.name().as_ref())
            ))),
            Some(f) if &self.names.as_bytes()[f.name_start..] != e.name().as_ref() => {
                Err(C14nError::malformed(format!(
                    "balise de fin « {} » alors que « {} » est ouvert",
                    syntax::excerpt(&String::from_utf8_lossy(e.name().as_ref())),
                    syntax::excerpt(&self.names[f.name_start..])
                )))
            }
            Some(_) => Ok(self.close_element()),
        }
    }

    fn close_element(&mut self) -> Progress {
        let Some(frame) = self.frames.pop() else {
            return Progress::Continue;
        };
        self.buf.extend_from_slice(b"</");
        self.buf
            .extend_from_slice(&self.names.as_bytes()[frame.name_start..]);
        self.buf.push(b'>');
        self.names.truncate(frame.name_start);
        self.ns.pop();
        self.rendered.truncate(frame.saved_len);
        self.prev_start = frame.saved_prev_start;
        self.prev_end = frame.saved_prev_end;
        if self.frames.is_empty() {
            if self.is_subtree {
                self.phase = Phase::Finished;
                return Progress::Done;
            }
            self.phase = Phase::AfterRoot;
        }
        Progress::Continue
    }

    /// Canonical XML requires failing on relative namespace URIs (libxml2 checks the
    /// declarations of every element it processes, the inherited ones included at a subset's
    /// apex).
    fn check_namespace_uris(&self, tag: &StartTag, is_apex: bool) -> Result<(), C14nError> {
        let check = |uri: &str| {
            if uri.is_empty() || syntax::is_absolute_uri(uri) {
                Ok(())
            } else {
                Err(C14nError::RelativeNamespace {
                    uri: uri.to_owned(),
                    position: None,
                })
            }
        };
        if is_apex {
            for (_, uri) in self.ns.in_scope() {
                check(&uri)?;
            }
        } else {
            for (_, uri) in tag.namespaces() {
                check(uri)?;
            }
        }
        Ok(())
    }

    fn write_namespace(buf: &mut Vec<u8>, prefix: &str, uri: &str) {
        if prefix.is_empty() {
            buf.extend_from_slice(b" xmlns=");
        } else {
            buf.extend_from_slice(b" xmlns:");
            buf.extend_from_slice(prefix.as_bytes());
            buf.push(b'=');
        }
        // libxml2's xmlBufWriteQuotedString: no escaping; single quotes if the value contains
        // a double quote (only possible for URIs libxml2 refuses anyway).
        if uri.contains('"') {
            if uri.contains('\'') {
                buf.push(b'"');
                buf.extend_from_slice(uri.replace('"', "&quot;").as_bytes());
                buf.push(b'"');
            } else {
                buf.push(b'\'');
                buf.extend_from_slice(uri.as_bytes());
                buf.push(b'\'');
            }
        } else {
            buf.push(b'"');
            buf.extend_from_slice(uri.as_bytes());
            buf.push(b'"');
        }
    }

    /// Canonical XML 1.0: a namespace node is written when the nearest output ancestor does not
    /// have the same in scope; `xmlns=""` when the parent's default namespace was not empty.
    /// Every node of the canonicalised tree is output, so "nearest output ancestor" is the
    /// parent, and only the element's own declarations can differ from the parent's scope.
    fn inclusive_namespaces(&mut self, is_apex: bool) {
        let mut list: Vec<(String, String)> = if is_apex {
            self.ns
                .in_scope()
                .into_iter()
                .filter(|(p, u)| !(p.is_empty() && u.is_empty()))
                .collect()
        } else {
            let mut own: Vec<(String, String)> = Vec::new();
            for (p, u) in self.ns.innermost() {
                let parent = self.ns.lookup_in_parent(p);
                let write = if p.is_empty() && u.is_empty() {
                    parent.is_some_and(|pu| !pu.is_empty())
                } else {
                    parent != Some(u.as_str())
                };
                if write {
                    own.push((p.clone(), u.clone()));
                }
            }
            own
        };
        list.sort();
        for (p, u) in &list {
            Self::write_namespace(&mut self.buf, p, u);
        }
    }

    /// libxml2's `xmlC14NVisibleNsStackFind`: searches the namespaces rendered by the parent
    /// (all of the stack for the empty default namespace).
    fn find_rendered_inclusive(&self, prefix: &str, uri: &str) -> bool {
        let has_empty = prefix.is_empty() && uri.is_empty();
        let start = if has_empty { 0 } else { self.prev_start };
        for (p, u) in self.rendered[start.min(self.rendered.len())..].iter().rev() {
            if p == prefix {
                return u == uri;
            }
        }
        has_empty
    }

    /// libxml2's `xmlExcC14NVisibleNsStackFind`: searches everything rendered by ancestors.
    fn find_rendered_exclusive(&self, prefix: &str, uri: &str) -> bool {
        for (p, u) in self.rendered.iter().rev() {
            if p == prefix {
                return u == uri;
            }
        }
        prefix.is_empty() && uri.is_empty()
    }

    /// Exclusive XML Canonicalization 1.0, as libxml2's `xmlExcC14NProcessNamespacesAxis`.
    fn exclusive_namespaces(&mut self, tag: &StartTag) {
        let mut list: Vec<(String, String)> = Vec::new();
        let mut has_empty_ns = false;
        let mut has_visibly_utilized_empty_ns = false;

        for i in 0..self.prefixes.len() {
            let prefix = self.prefixes[i].as_str();
            if prefix == "xml" {
                continue;
            }
            let Some(uri) = self.ns.lookup(prefix) else {
                continue;
            };
            let uri = uri.to_owned();
            let already = self.find_rendered_inclusive(prefix, &uri);
            let entry = (prefix.to_owned(), uri);
            self.rendered.push(entry.clone());
            if !already {
                list.push(entry);
            }
            if prefix.is_empty() {
                has_empty_ns = true;
            }
        }

        let element_ns: Option<(String, String)> = match tag.prefix() {
            Some(prefix) => self
                .ns
                .lookup(prefix)
                .map(|u| (prefix.to_owned(), u.to_owned())),
            None => match self.ns.lookup("") {
                Some(u) if !u.is_empty() => Some((String::new(), u.to_owned())),
                other => {
                    has_visibly_utilized_empty_ns = true;
                    other.map(|u| (String::new(), u.to_owned()))
                }
            },
        };
        if let Some((prefix, uri)) = element_ns
            && prefix != "xml"
        {
            if !self.find_rendered_exclusive(&prefix, &uri) {
                list.push((prefix.clone(), uri.clone()));
            }
            if prefix.is_empty() {
                has_empty_ns = true;
            }
            self.rendered.push((prefix, uri));
        }

        for attr in tag.attributes() {
            let Some(prefix) = attr.prefix() else {
                continue;
            };
            if prefix == "xml" {
                continue;
            }
            let Some(uri) = self.ns.lookup(prefix) else {
                continue;
            };
            let entry = (prefix.to_owned(), uri.to_owned());
            let already = self.find_rendered_exclusive(&entry.0, &entry.1);
            self.rendered.push(entry.clone());
            if !already {
                list.push(entry);
            }
        }

        let mut write_empty_default = false;
        if has_visibly_utilized_empty_ns && !has_empty_ns && !self.prefixes_have_default {
            write_empty_default = !self.find_rendered_exclusive("", "");
        } else if !has_empty_ns && self.prefixes_have_default {
            write_empty_default = !self.find_rendered_inclusive("", "");
        }
        if write_empty_default {
            Self::write_namespace(&mut self.buf, "", "");
        }
        list.sort_by(|a, b| a.0.cmp(&b.0));
        for (p, u) in &list {
            Self::write_namespace(&mut self.buf, p, u);
        }
    }

    fn attributes(&mut self, tag: &StartTag, is_apex: bool) {
        let inherits = is_apex && !self.exclusive && !self.inherited_xml.is_empty();
        // Most elements (every one of a PES bordereau) have at most one attribute: nothing to
        // sort, no list to build.
        if !inherits && tag.attribute_count() <= 1 {
            for attr in tag.attributes() {
                Self::write_attribute(&mut self.buf, attr.qname, attr.value);
            }
            return;
        }
        // (namespace URI, local name, qualified name, value)
        let mut list: Vec<(&str, &str, &str, &str)> = Vec::new();
        for attr in tag.attributes() {
            let uri = match attr.prefix() {
                Some(prefix) => self.ns.lookup(prefix).unwrap_or(""),
                None => "",
            };
            list.push((uri, attr.local_name(), attr.qname, attr.value));
        }
        let mut inherited: Vec<(String, &str)> = Vec::new();
        if is_apex && !self.exclusive {
            for (local, value) in &self.inherited_xml {
                let present = tag
                    .attributes()
                    .any(|a| a.prefix() == Some("xml") && a.local_name() == local);
                if !present {
                    inherited.push((format!("xml:{local}"), value));
                }
            }
        }
        for (qname, value) in &inherited {
            list.push((syntax::XML_NAMESPACE, &qname[4..], qname, value));
        }
        if list.len() > 1 {
            list.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        }
        for (_, _, qname, value) in list {
            Self::write_attribute(&mut self.buf, qname, value);
        }
    }

    fn write_attribute(buf: &mut Vec<u8>, qname: &str, value: &str) {
        buf.push(b' ');
        buf.extend_from_slice(qname.as_bytes());
        buf.extend_from_slice(b"=\"");
        syntax::escape_attribute(value, buf);
        buf.push(b'"');
    }
}

fn lexical(e: SyntaxError) -> C14nError {
    C14nError::malformed(e.detail)
}
