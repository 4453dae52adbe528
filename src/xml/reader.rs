//! A strict streaming reader: quick-xml over the UTF-8 transcoder, with the well-formedness and
//! namespace checks quick-xml does not make, DOCTYPE refused, errors located.

use std::io::Read;

use quick_xml::events::Event;

use super::error::{C14nError, Position};
use super::input::{LineIndex, SourceEncoding, Utf8Input};
use super::limit::TokenLimit;
use super::scopes::{ApexContext, NamespaceScopes};
use super::syntax::{self, StartTag, SyntaxError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prolog,
    Root,
    Epilog,
    Ended,
}

/// Reads a document as a stream of quick-xml events (text always UTF-8), checking it as libxml2
/// would, and refusing any DOCTYPE. Tracks namespace scopes so that a
/// [`Canonicalizer`](super::Canonicalizer) can be started at any element
/// ([`apex_context`](Self::apex_context)).
///
/// Memory: quick-xml holds one event at a time, so the largest buffer is the largest single
/// event (a start tag, or one text run between two markups — e.g. a base64 attachment), which
/// [`TokenLimit`] bounds.
pub struct XmlReader<R: Read> {
    reader: quick_xml::Reader<TokenLimit<Utf8Input<R>>>,
    buf: Vec<u8>,
    scopes: NamespaceScopes,
    /// Qualified names of the open elements.
    names: OpenNames,
    phase: Phase,
    events: u64,
    /// An empty-element tag was returned last: its scope is popped at the next read.
    pending_pop: bool,
    /// The start tag of the last event, valid when `has_tag`.
    tag: StartTag,
    has_tag: bool,
    last_event_at: u64,
}

impl<R: Read> XmlReader<R> {
    /// Prepares to read; reads the beginning of the input to find its encoding.
    pub fn new(input: R) -> Result<Self, C14nError> {
        let source = TokenLimit::new(Utf8Input::new(input)?);
        let mut reader = quick_xml::Reader::from_reader(source);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.allow_dangling_amp = true;
        config.check_comments = false;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Ok(XmlReader {
            reader,
            buf: Vec::with_capacity(8 * 1024),
            scopes: NamespaceScopes::new(),
            names: OpenNames::default(),
            phase: Phase::Prolog,
            events: 0,
            pending_pop: false,
            tag: StartTag::default(),
            has_tag: false,
            last_event_at: 0,
        })
    }

    /// The encoding the document is read with.
    pub fn encoding(&self) -> SourceEncoding {
        self.reader.get_ref().get_ref().encoding()
    }

    /// Position (line, column) of the start of the last event returned.
    pub fn position(&self) -> Position {
        self.reader.get_ref().get_ref().position(self.last_event_at)
    }

    /// Position (line, column) of an offset in the decoded text (exact for the last lines read;
    /// see [`EventInfo::offset`]).
    pub fn position_at(&self, offset: u64) -> Position {
        self.reader.get_ref().get_ref().position(offset)
    }

    /// Adds the position of the last event to an error that has none (for errors found by a
    /// canonicaliser fed with this reader's events).
    pub fn locate(&self, error: C14nError) -> C14nError {
        error.or_at(self.position())
    }

    /// Namespace scopes at this point. While the last event returned is a `Start` or `Empty`,
    /// that element is the innermost scope.
    pub fn scopes(&self) -> &NamespaceScopes {
        &self.scopes
    }

    /// Depth of the last event: number of open elements (the element of a `Start`, `Empty`
    /// or `End` event counted).
    pub fn depth(&self) -> usize {
        self.scopes.depth()
    }

    /// The parsed start tag of the last event, if it was `Start` or `Empty`.
    pub fn start_tag(&self) -> Option<&StartTag> {
        self.has_tag.then_some(&self.tag)
    }

    /// The decoded value of an attribute of the last event, if it was `Start` or `Empty`.
    pub fn attribute(&self, qname: &str) -> Option<&str> {
        self.start_tag().and_then(|t| t.attribute(qname))
    }

    /// What the element of the last `Start`/`Empty` event inherits from its ancestors (see
    /// [`EventInfo::apex_context`]).
    pub fn apex_context(&self) -> ApexContext {
        apex_context(self.start_tag(), &self.scopes)
    }

    /// The next event, checked. After `Eof`, keeps returning `Eof`.
    pub fn read_event(&mut self) -> Result<Event<'_>, C14nError> {
        self.read_event_with_info().map(|(event, _)| event)
    }

    /// The next event, checked, with what is known about it (start tag parsed, scopes, position)
    /// — usable while the event is borrowed.
    pub fn read_event_with_info(&mut self) -> Result<(Event<'_>, EventInfo<'_>), C14nError> {
        if self.pending_pop {
            self.pending_pop = false;
            self.scopes.pop();
            pop_name(&mut self.names, &mut self.phase);
        }
        self.has_tag = false;
        if self.phase == Phase::Ended {
            return Ok((
                Event::Eof,
                EventInfo {
                    tag: None,
                    scopes: &self.scopes,
                    lines: self.reader.get_ref().get_ref().lines(),
                    offset: self.last_event_at,
                },
            ));
        }
        self.buf.clear();
        let at = self.reader.buffer_position();
        self.last_event_at = at;
        let event = match self.reader.read_event_into(&mut self.buf) {
            Ok(event) => event,
            Err(e) => {
                let source = self.reader.get_ref().get_ref();
                if let Some(failure) = source.failure() {
                    return Err(failure);
                }
                let position = source.position(self.reader.error_position());
                return Err(quick_xml_error(e, position));
            }
        };
        self.events += 1;
        let first = self.events == 1;
        let source = self.reader.get_ref().get_ref();
        let here = || source.position(at);
        // Errors with an offset relative to the event's content.
        let error_at = |offset: u64, e: SyntaxError| C14nError::Malformed {
            position: Some(source.position(offset + e.offset as u64)),
            detail: e.detail,
        };
        let malformed_here = |detail: String| C14nError::Malformed {
            position: Some(here()),
            detail,
        };
        match &event {
            Event::Decl(d) => {
                if !first || at != 0 {
                    return Err(malformed_here(
                        "la déclaration XML n'est permise qu'au tout début du document".to_owned(),
                    ));
                }
                syntax::check_declaration(d).map_err(|e| error_at(at + 2, e))?;
            }
            Event::DocType(_) => {
                return Err(C14nError::DocType {
                    position: Some(here()),
                });
            }
            Event::PI(p) => {
                syntax::parse_pi(p).map_err(|e| error_at(at + 2, e))?;
            }
            Event::Comment(c) => {
                let text = syntax::utf8(c).map_err(|e| error_at(at + 4, e))?;
                syntax::check_comment(text).map_err(|e| error_at(at + 4, e))?;
            }
            Event::Start(s) | Event::Empty(s) => {
                match self.phase {
                    Phase::Epilog => {
                        return Err(malformed_here(
                            "contenu après la fin de l'élément racine (un seul élément racine est permis)"
                                .to_owned(),
                        ));
                    }
                    Phase::Prolog => self.phase = Phase::Root,
                    _ => {}
                }
                self.tag.parse_into(s).map_err(|e| error_at(at + 1, e))?;
                self.scopes
                    .push_parsed(&self.tag)
                    .map_err(|e| e.or_at(here()))?;
                self.names.push(self.tag.qname());
                if matches!(event, Event::Empty(_)) {
                    self.pending_pop = true;
                }
                self.has_tag = true;
            }
            Event::End(e) => {
                let name = e.name();
                let open = self.names.last();
                match open {
                    Some(open) if open.as_bytes() == name.as_ref() => {
                        self.scopes.pop();
                        pop_name(&mut self.names, &mut self.phase);
                    }
                    Some(open) => {
                        return Err(malformed_here(format!(
                            "balise de fin « {} » alors que l'élément « {} » est ouvert",
                            syntax::excerpt(&String::from_utf8_lossy(name.as_ref())),
                            syntax::excerpt(open)
                        )));
                    }
                    None => {
                        return Err(malformed_here(format!(
                            "balise de fin « {} » sans balise de début",
                            syntax::excerpt(&String::from_utf8_lossy(name.as_ref()))
                        )));
                    }
                }
            }
            Event::Text(t) => {
                let text = syntax::utf8(t).map_err(|e| error_at(at, e))?;
                if self.phase == Phase::Root {
                    syntax::check_text(text).map_err(|e| error_at(at, e))?;
                } else if let Some(i) = text.bytes().position(|b| !syntax::is_xml_space(b)) {
                    return Err(error_at(
                        at,
                        SyntaxError::new(
                            i,
                            "du texte n'est pas permis en dehors de l'élément racine",
                        ),
                    ));
                }
            }
            Event::CData(c) => {
                if self.phase != Phase::Root {
                    return Err(malformed_here(
                        "une section CDATA n'est pas permise en dehors de l'élément racine"
                            .to_owned(),
                    ));
                }
                let text = syntax::utf8(c).map_err(|e| error_at(at + 9, e))?;
                syntax::check_chars(text).map_err(|e| error_at(at + 9, e))?;
            }
            Event::GeneralRef(r) => {
                if self.phase != Phase::Root {
                    return Err(malformed_here(
                        "une référence n'est pas permise en dehors de l'élément racine".to_owned(),
                    ));
                }
                let name = syntax::utf8(r).map_err(|e| error_at(at, e))?;
                syntax::resolve_reference(name).map_err(|e| error_at(at, e))?;
            }
            Event::Eof => match self.phase {
                Phase::Prolog => {
                    return Err(malformed_here(
                        "le document ne contient aucun élément".to_owned(),
                    ));
                }
                Phase::Root => {
                    let open = self.names.last().unwrap_or("");
                    return Err(malformed_here(format!(
                        "fin de document inattendue : l'élément « {} » n'est pas fermé",
                        syntax::excerpt(open)
                    )));
                }
                _ => self.phase = Phase::Ended,
            },
        }
        Ok((
            event,
            EventInfo {
                tag: self.has_tag.then_some(&self.tag),
                scopes: &self.scopes,
                lines: source.lines(),
                offset: at,
            },
        ))
    }
}

fn pop_name(names: &mut OpenNames, phase: &mut Phase) {
    names.pop();
    if names.is_empty() {
        *phase = Phase::Epilog;
    }
}

/// Names of the open elements, one after the other in a single buffer: no allocation per
/// element (a PES has a million of them).
#[derive(Debug, Default)]
pub(crate) struct OpenNames {
    names: String,
    starts: Vec<usize>,
}

impl OpenNames {
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
    /// The innermost open element's name.
    pub(crate) fn last(&self) -> Option<&str> {
        self.starts.last().map(|&start| &self.names[start..])
    }
    pub(crate) fn push(&mut self, name: &str) {
        self.starts.push(self.names.len());
        self.names.push_str(name);
    }
    pub(crate) fn pop(&mut self) {
        if let Some(start) = self.starts.pop() {
            self.names.truncate(start);
        }
    }
}

fn apex_context(tag: Option<&StartTag>, scopes: &NamespaceScopes) -> ApexContext {
    if tag.is_some() {
        scopes.context_of_innermost()
    } else {
        scopes.context()
    }
}

/// What the reader knows about the event it just returned.
pub struct EventInfo<'a> {
    tag: Option<&'a StartTag>,
    scopes: &'a NamespaceScopes,
    lines: &'a LineIndex,
    offset: u64,
}

impl<'a> EventInfo<'a> {
    /// The parsed start tag, for a `Start` or `Empty` event.
    pub fn start_tag(&self) -> Option<&'a StartTag> {
        self.tag
    }

    /// The decoded value of an attribute, for a `Start` or `Empty` event.
    pub fn attribute(&self, qname: &str) -> Option<&'a str> {
        self.tag.and_then(|t| t.attribute(qname))
    }

    /// Namespace URI (`None` if none) and local name of the element of a `Start` or `Empty`
    /// event.
    pub fn element_name(&self) -> Option<(Option<&'a str>, &'a str)> {
        let tag = self.tag?;
        Some((
            self.scopes.namespace_of(tag.prefix().unwrap_or("")),
            tag.local_name(),
        ))
    }

    /// For a `Start`/`Empty` event: what its element inherits from its ancestors — start a
    /// [`Canonicalizer::subtree`](super::Canonicalizer::subtree) with it, then feed it the
    /// event. For another event: the context of an element that would start now.
    pub fn apex_context(&self) -> ApexContext {
        apex_context(self.tag, self.scopes)
    }

    /// Namespace scopes (the element of a `Start`/`Empty`/`End` event is the innermost scope).
    pub fn scopes(&self) -> &'a NamespaceScopes {
        self.scopes
    }

    /// Where the event starts, as an offset in the decoded text (for
    /// [`XmlReader::position_at`] when an error about it is found later).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the event starts.
    pub fn position(&self) -> Position {
        self.lines.position(self.offset)
    }
}

/// quick-xml's errors, in French.
fn quick_xml_error(e: quick_xml::Error, position: Position) -> C14nError {
    if let quick_xml::Error::Io(io) = &e {
        // quick-xml shares the error (Arc): rebuilt, keeping a token-limit error recognisable.
        let too_long = io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<super::limit::TokenTooLong>());
        return C14nError::Io(match too_long {
            Some(t) => {
                std::io::Error::new(io.kind(), super::limit::TokenTooLong { offset: t.offset })
            }
            None => std::io::Error::new(io.kind(), io.to_string()),
        });
    }
    C14nError::Malformed {
        position: Some(position),
        detail: describe_quick_xml_error(&e),
    }
}

/// What a quick-xml error means, in French (its own Display is English). An I/O error carries
/// its own sentence (the file, or [`TokenLimit`]'s French one).
pub fn describe_quick_xml_error(e: &quick_xml::Error) -> String {
    use quick_xml::errors::{Error, IllFormedError, SyntaxError as QSyntax};
    match e {
        Error::Syntax(s) => match s {
            QSyntax::InvalidBangMarkup => {
                "balisage « <! » inconnu (seuls les commentaires et les sections CDATA sont acceptés)"
                    .to_owned()
            }
            QSyntax::UnclosedPI | QSyntax::UnclosedXmlDecl => {
                "instruction de traitement ou déclaration XML non terminée".to_owned()
            }
            QSyntax::UnclosedComment => "commentaire non terminé".to_owned(),
            QSyntax::UnclosedDoctype => "déclaration DOCTYPE non terminée".to_owned(),
            QSyntax::UnclosedCData => "section CDATA non terminée".to_owned(),
            QSyntax::UnclosedTag => "balise non terminée".to_owned(),
            QSyntax::UnclosedSingleQuotedAttributeValue
            | QSyntax::UnclosedDoubleQuotedAttributeValue => {
                "valeur d'attribut non terminée".to_owned()
            }
        },
        Error::IllFormed(i) => match i {
            IllFormedError::UnclosedReference => "référence non terminée par « ; »".to_owned(),
            IllFormedError::DoubleHyphenInComment => {
                "la séquence « -- » est interdite dans un commentaire".to_owned()
            }
            IllFormedError::MissingEndTag(name) => format!(
                "fin de document inattendue : l'élément « {} » n'est pas fermé",
                syntax::excerpt(name)
            ),
            IllFormedError::MismatchedEndTag { expected, found } => format!(
                "la balise fermante « {} » ne correspond pas à l'élément ouvert « {} »",
                syntax::excerpt(found),
                syntax::excerpt(expected)
            ),
            IllFormedError::UnmatchedEndTag(name) => format!(
                "balise fermante « {} » sans élément ouvert",
                syntax::excerpt(name)
            ),
            IllFormedError::MissingDeclVersion(_)
            | IllFormedError::UnknownVersion
            | IllFormedError::MissingDoctypeName => {
                "déclaration incomplète".to_owned()
            }
        },
        Error::Io(io) => io.to_string(),
        Error::Encoding(_) => "texte mal encodé (octets invalides pour l'encodage déclaré)".to_owned(),
        Error::Escape(_) => "référence de caractère ou d'entité invalide".to_owned(),
        Error::Namespace(_) => "préfixe d'espace de noms non déclaré ou invalide".to_owned(),
        other => format!("document mal formé ({other})"),
    }
}
