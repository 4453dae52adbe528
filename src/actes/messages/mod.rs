//! Everything the préfecture sends back — and, for completeness, every other ACTES message —
//! read into typed values: the business messages (1-1 … 7-3), the envelopes (`EnveloppeMISILLCL`,
//! `EnveloppeCLMISILL`, `AnomalieEnveloppe`) and the `.tar.gz` archives that carry them.
//!
//! # Reading
//!
//! XML goes through the project's strict reader ([`XmlReader`]: DOCTYPE refused, ISO-8859-1 /
//! windows-1252 / UTF-8), into a small bounded tree (a message is a few kilobytes; a
//! classification a few hundred). Each message is then checked against the structure of
//! `actesv1_1.xsd` (element order and cardinality, required and allowed attributes, dates,
//! patterns): a message the schema would reject is still read, and what departs from the schema
//! is listed in [`ActesMessage::avertissements`]. The check mirrors the schema shipped with
//! STELA (revised: `DocumentPapier` required, `TypePJNatureActe` required in a classification);
//! it is not a general XSD validator.
//!
//! # Archives
//!
//! An archive is read from its stream, never extracted to disk: each member goes to memory, with
//! a cap per member and on the total ([`ReadLimits`]); members with an absolute path or a `..`
//! component, links, directories, devices, duplicated names, contradictory sizes are refused.
//! The XML members are read as messages; the others (the letter's PDF…) are kept with their size,
//! the kind found from their content, and their bytes ([`ArchiveFile::contenu`]).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use quick_xml::events::Event;
use serde::Serialize;

use super::files::{group_digits, precise_size};
use crate::messages::{t, tf};
use crate::xml::{C14nError, XmlReader};

mod error;
mod model;

pub use error::{ActesReadError, ReadLimits};
pub use model::{
    ACTES_NS, ActeData, ActesMessage, CollectiviteEnvelope, Details, DocumentRef, DocumentRole,
    FileKind, INSEE_NS, MatieresResume, MessageKind, NatureResume, Origin, PrefectureEnvelope,
    Referent, TypologieResume, detect_kind,
};

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The former name of [`precise_size`](super::files::precise_size), kept so that callers do not
/// change: the exact format lives with the rounded one in `actes::files`.
pub use super::files::precise_size as human_size;

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// What a file turned out to be.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Reading {
    Message(Box<ActesMessage>),
    Archive(Box<ActesArchive>),
}

/// Reads a file: an ACTES message or envelope (XML), or an archive (`.tar.gz`, or `.tar`),
/// recognised by content.
pub fn read_file(path: &Path) -> Result<Reading, ActesReadError> {
    read_file_with_limits(path, &ReadLimits::default())
}

/// [`read_file`] with other bounds.
pub fn read_file_with_limits(path: &Path, limits: &ReadLimits) -> Result<Reading, ActesReadError> {
    let file = crate::files::open_regular(path).map_err(|e| ActesReadError::Open {
        chemin: path.display().to_string(),
        detail: e.to_string(),
    })?;
    read_any(file, limits)
}

/// Reads a message, an envelope or an archive from a stream, recognised by content.
pub fn read_any<R: Read>(mut input: R, limits: &ReadLimits) -> Result<Reading, ActesReadError> {
    // Enough to see a tar header's magic.
    let mut head = Vec::with_capacity(512);
    (&mut input).take(512).read_to_end(&mut head)?;
    let kind = detect_kind(&head);
    let empty = head.is_empty();
    let stream = std::io::Cursor::new(head).chain(input);
    match kind {
        FileKind::Gzip | FileKind::Tar => {
            Ok(Reading::Archive(Box::new(read_archive(stream, limits)?)))
        }
        FileKind::Xml => Ok(Reading::Message(Box::new(read_message_with_limits(
            stream, limits,
        )?))),
        other => Err(ActesReadError::NotActes(if empty {
            t("actes_messages.fichier_vide")
        } else {
            other.label().to_owned()
        })),
    }
}

/// Reads one ACTES message, envelope or envelope anomaly (XML).
pub fn read_message<R: Read>(input: R) -> Result<ActesMessage, ActesReadError> {
    read_message_with_limits(input, &ReadLimits::default())
}

/// [`read_message`] with other bounds.
pub fn read_message_with_limits<R: Read>(
    input: R,
    limits: &ReadLimits,
) -> Result<ActesMessage, ActesReadError> {
    let (root, encoding) = parse_tree(input, limits)?;
    message_from_tree(&root, encoding)
}

// ---------------------------------------------------------------------------------------------
// A small bounded tree
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Node {
    ns: Option<String>,
    name: String,
    attrs: Vec<NodeAttr>,
    text: String,
    children: Vec<Node>,
    line: u64,
}

#[derive(Debug)]
struct NodeAttr {
    ns: Option<String>,
    name: String,
    value: String,
}

const MAX_DEPTH: usize = 64;

fn parse_tree<R: Read>(
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
    fn is_actes(&self) -> bool {
        self.ns.as_deref() == Some(ACTES_NS)
    }

    /// First child with this local name (ACTES namespace, or none: read leniently).
    fn child(&self, local: &str) -> Option<&Node> {
        self.children_named(local).next()
    }

    fn children_named<'a>(&'a self, local: &str) -> impl Iterator<Item = &'a Node> {
        self.children
            .iter()
            .filter(move |c| c.name == local && (c.ns.is_none() || c.is_actes()))
    }

    /// Trimmed text of the first child with this name; `None` when absent or empty.
    fn child_text(&self, local: &str) -> Option<String> {
        self.child(local).and_then(Node::text_value)
    }

    /// First non-empty text among the children with this name.
    fn first_child_text(&self, local: &str) -> Option<String> {
        self.children_named(local).find_map(Node::text_value)
    }

    fn text_value(&self) -> Option<String> {
        let text = self.text.trim_matches(is_xml_space);
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// Attribute by local name: in the ACTES (or INSEE) namespace as the schema wants, or
    /// without namespace (read leniently; the schema check reports it).
    fn attr(&self, local: &str) -> Option<String> {
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

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

// ---------------------------------------------------------------------------------------------
// The structure of actesv1_1.xsd
// ---------------------------------------------------------------------------------------------

/// Simple types of the schema.
#[derive(Debug, Clone, Copy)]
enum St {
    Str,
    MaxLen(usize),
    Len(usize),
    Date,
    Integer,
    NonNegInteger,
    IdActe,
    Departement,
    Arrondissement,
    NatureCollectivite,
    Siren,
    Email,
    NatureAnomalieActe,
    NatureAnomalieEnveloppe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Actes,
    Insee,
}

struct AttrDef {
    ns: Ns,
    name: &'static str,
    ty: St,
    required: bool,
}

/// One particle of a sequence: one of `names` (a choice when several), `min..=max` times.
struct Particle {
    names: &'static [(&'static str, &'static Def)],
    min: u32,
    max: u32,
}

enum Content {
    /// Attributes only.
    Empty,
    Simple(St),
    Seq(&'static [Particle]),
    /// `xsd:anyType`: not checked.
    Any,
}

struct Def {
    content: Content,
    attrs: &'static [AttrDef],
    nillable: bool,
}

const UNBOUNDED: u32 = u32::MAX;

const fn req(ns: Ns, name: &'static str, ty: St) -> AttrDef {
    AttrDef {
        ns,
        name,
        ty,
        required: true,
    }
}

static TEXTE: Def = Def {
    content: Content::Simple(St::Str),
    attrs: &[],
    nillable: false,
};
static DATE: Def = Def {
    content: Content::Simple(St::Date),
    attrs: &[],
    nillable: false,
};
static EMAIL: Def = Def {
    content: Content::Simple(St::Email),
    attrs: &[],
    nillable: false,
};
static ANY: Def = Def {
    content: Content::Any,
    attrs: &[],
    nillable: false,
};
static FICHIER_SIGNE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("NomFichier", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Signature", &ANY)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static FICHIERS_SIGNES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Document", &FICHIER_SIGNE)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static CODE_MATIERE: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "CodeMatiere", St::Integer)],
    nillable: false,
};
static OBJET: Def = Def {
    content: Content::Simple(St::MaxLen(500)),
    attrs: &[],
    nillable: false,
};
static PRECEDENT: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "IDActe", St::IdActe)],
    nillable: false,
};
static ANNEXES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Annexe", &FICHIER_SIGNE)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: &[req(Ns::Actes, "Nombre", St::NonNegInteger)],
    nillable: false,
};
static DOCUMENT_PAPIER: Def = Def {
    content: Content::Simple(St::Str),
    attrs: &[],
    nillable: true,
};
static DONNEES_ACTE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("CodeMatiere1", &CODE_MATIERE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere2", &CODE_MATIERE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere3", &CODE_MATIERE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere4", &CODE_MATIERE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere5", &CODE_MATIERE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("Objet", &OBJET)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("PrecedentIdentifiantActe", &PRECEDENT)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("ClassificationDateVersion", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Document", &FICHIER_SIGNE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Annexes", &ANNEXES)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("DocumentPapier", &DOCUMENT_PAPIER)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[
        req(Ns::Actes, "Date", St::Date),
        req(Ns::Actes, "NumeroInterne", St::MaxLen(15)),
        req(Ns::Actes, "CodeNatureActe", St::Integer),
    ],
    nillable: false,
};
static AR_ACTE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("ActeRecu", &DONNEES_ACTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("ClassificationDateVersionEnCours", &DATE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[
        req(Ns::Actes, "IDActe", St::IdActe),
        req(Ns::Actes, "DateReception", St::Date),
    ],
    nillable: false,
};
static NATURE_ANOMALIE_ACTE: Def = Def {
    content: Content::Simple(St::NatureAnomalieActe),
    attrs: &[],
    nillable: false,
};
static ANOMALIE_ACTE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Date", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Nature", &NATURE_ANOMALIE_ACTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Detail", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("ActeRecu", &DONNEES_ACTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("ClassificationDateVersionEnCours", &DATE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
const COURRIER_PREF_ATTRS: &[AttrDef] = &[
    req(Ns::Actes, "IDActe", St::IdActe),
    req(Ns::Actes, "DateCourrierPref", St::Date),
];
static COURRIER_PREF: Def = Def {
    content: Content::Empty,
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static COURRIER_AVEC_DOCUMENT: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Document", &FICHIER_SIGNE)],
        min: 1,
        max: 1,
    }]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static DEMANDE_PIECES: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("DescriptionPieces", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Document", &FICHIER_SIGNE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static PIECES_COMPLEMENTAIRES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Documents", &FICHIERS_SIGNES)],
        min: 1,
        max: 1,
    }]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static AR_REPONSE_CL: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("InfosCourrierPref", &COURRIER_PREF)],
        min: 1,
        max: 1,
    }]),
    attrs: &[req(Ns::Actes, "DateReception", St::Date)],
    nillable: false,
};
static LETTRE_OBSERVATIONS: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Motif", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Document", &FICHIER_SIGNE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static PIECES_JOINTES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("PieceJointe", &FICHIER_SIGNE)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static DEFERE_TA: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("DateDepot", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("NatureIllegalite", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("PiecesJointes", &PIECES_JOINTES)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[req(Ns::Actes, "IDActe", St::IdActe)],
    nillable: false,
};
static ANNULATION: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "IDActe", St::IdActe)],
    nillable: false,
};
static AR_ANNULATION: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Actes, "IDActe", St::IdActe),
        req(Ns::Actes, "DateReception", St::Date),
    ],
    nillable: false,
};
static DEMANDE_CLASSIFICATION: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("DateClassification", &DATE)],
        min: 0,
        max: 1,
    }]),
    attrs: &[],
    nillable: false,
};
static SANS_CHANGEMENT: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("DateClassification", &DATE)],
        min: 1,
        max: 1,
    }]),
    attrs: &[],
    nillable: false,
};
static TYPE_PJ: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Actes, "CodeTypePJ", St::Str),
        req(Ns::Actes, "Libelle", St::Str),
    ],
    nillable: false,
};
static NATURE_ACTE: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("TypePJNatureActe", &TYPE_PJ)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[
        AttrDef {
            ns: Ns::Actes,
            name: "CodeNatureActe",
            ty: St::Integer,
            required: false,
        },
        req(Ns::Actes, "Libelle", St::Str),
        req(Ns::Actes, "TypeAbrege", St::Len(2)),
    ],
    nillable: false,
};
static NATURES_ACTES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("NatureActe", &NATURE_ACTE)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
const MATIERE_ATTRS: &[AttrDef] = &[
    req(Ns::Actes, "CodeMatiere", St::Integer),
    req(Ns::Actes, "Libelle", St::Str),
];
static MATIERE5: Def = Def {
    content: Content::Empty,
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE4: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere5", &MATIERE5)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE3: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere4", &MATIERE4)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE2: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere3", &MATIERE3)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE1: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere2", &MATIERE2)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere1", &MATIERE1)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static RETOUR_CLASSIFICATION: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("DateClassification", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("NaturesActes", &NATURES_ACTES)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Matieres", &MATIERES)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static IDCL: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Insee, "SIREN", St::Siren),
        req(Ns::Actes, "Departement", St::Departement),
        req(Ns::Actes, "Arrondissement", St::Arrondissement),
        req(Ns::Actes, "Nature", St::NatureCollectivite),
    ],
    nillable: false,
};
static REFERENT: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Nom", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("Telephone", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("Email", &EMAIL)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static EMETTEUR_CL: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("IDCL", &IDCL)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Referent", &REFERENT)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static ADRESSES_RETOUR: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Email", &EMAIL)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static FORMULAIRES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Formulaire", &FICHIER_SIGNE)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static ENVELOPPE_CL: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Emetteur", &EMETTEUR_CL)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("AdressesRetour", &ADRESSES_RETOUR)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("FormulairesEnvoyes", &FORMULAIRES)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static ID_DEPARTEMENT: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "Departement", St::Departement)],
    nillable: false,
};
static ID_SOUS_PREF: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Actes, "Departement", St::Departement),
        req(Ns::Actes, "Arrondissement", St::Arrondissement),
    ],
    nillable: false,
};
static EMETTEUR_PREF: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[
                ("IDSGAR", &ID_DEPARTEMENT),
                ("IDPref", &ID_DEPARTEMENT),
                ("IDSousPref", &ID_SOUS_PREF),
            ],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Referent", &REFERENT)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static DESTINATAIRE: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Insee, "SIREN", St::Siren)],
    nillable: false,
};
static ENVELOPPE_PREF: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Emetteur", &EMETTEUR_PREF)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("FormulairesEnvoyes", &FORMULAIRES)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Destinataire", &DESTINATAIRE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static NATURE_ANOMALIE_ENVELOPPE: Def = Def {
    content: Content::Simple(St::NatureAnomalieEnveloppe),
    attrs: &[],
    nillable: false,
};
static ANOMALIE_ENVELOPPE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Date", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Nature", &NATURE_ANOMALIE_ENVELOPPE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Detail", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("EnveloppeRecue", &ENVELOPPE_CL)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};

/// The schema definition of a kind's root element. Here rather than a method
/// of [`MessageKind`] so that the model knows nothing of the tables.
fn definition(kind: MessageKind) -> &'static Def {
    use MessageKind::*;
    match kind {
        Acte => &DONNEES_ACTE,
        ARActe => &AR_ACTE,
        AnomalieActe => &ANOMALIE_ACTE,
        CourrierSimple
        | ReponseCourrierSimple
        | RefusPieceComplementaire
        | RejetLettreObservations
        | ReponseLettreObservations => &COURRIER_AVEC_DOCUMENT,
        DemandePieceComplementaire => &DEMANDE_PIECES,
        ARDemandePieceComplementaire | ARLettreObservations => &COURRIER_PREF,
        PieceComplementaire => &PIECES_COMPLEMENTAIRES,
        ARPieceComplementaire | ARReponseRejetLettreObservations => &AR_REPONSE_CL,
        LettreObservations => &LETTRE_OBSERVATIONS,
        DefereTA => &DEFERE_TA,
        Annulation => &ANNULATION,
        ARAnnulation => &AR_ANNULATION,
        DemandeClassification => &DEMANDE_CLASSIFICATION,
        RetourClassification => &RETOUR_CLASSIFICATION,
        ReponseClassificationSansChangement => &SANS_CHANGEMENT,
        EnveloppeCLMISILL => &ENVELOPPE_CL,
        EnveloppeMISILLCL => &ENVELOPPE_PREF,
        AnomalieEnveloppe => &ANOMALIE_ENVELOPPE,
    }
}

/// Checks `node` against `def`, adding what departs from it to `out` (at most one content
/// problem per element, as libxml2 reports).
fn check(node: &Node, def: &Def, out: &mut Vec<String>) {
    let warn = |out: &mut Vec<String>, line: u64, text: String| {
        out.push(tf(
            "actes_messages.ecart_ligne",
            &[("ligne", &line.to_string()), ("detail", &text)],
        ));
    };
    let mut nil = false;
    for a in &node.attrs {
        if a.ns.as_deref() == Some(XSI_NS) {
            if a.name == "nil" {
                let v = a.value.trim_matches(is_xml_space);
                nil = v == "true" || v == "1";
                if nil && !def.nillable {
                    warn(
                        out,
                        node.line,
                        tf("actes_messages.ecart_nil", &[("element", &node.name)]),
                    );
                }
            }
            continue;
        }
        let known = def.attrs.iter().find(|d| {
            d.name == a.name
                && a.ns.as_deref()
                    == Some(match d.ns {
                        Ns::Actes => ACTES_NS,
                        Ns::Insee => INSEE_NS,
                    })
        });
        match known {
            Some(d) => {
                if let Some(expected) = invalid_value(&a.value, d.ty) {
                    warn(
                        out,
                        node.line,
                        tf(
                            "actes_messages.ecart_valeur_attribut",
                            &[
                                ("valeur", &excerpt(&a.value)),
                                ("nom", &a.name),
                                ("element", &node.name),
                                ("attendu", &expected),
                            ],
                        ),
                    );
                }
            }
            None => warn(
                out,
                node.line,
                tf(
                    "actes_messages.ecart_attribut_inattendu",
                    &[("nom", &a.name), ("element", &node.name)],
                ),
            ),
        }
    }
    for d in def.attrs.iter().filter(|d| d.required) {
        let ns = match d.ns {
            Ns::Actes => ACTES_NS,
            Ns::Insee => INSEE_NS,
        };
        if !node
            .attrs
            .iter()
            .any(|a| a.name == d.name && a.ns.as_deref() == Some(ns))
        {
            warn(
                out,
                node.line,
                tf(
                    "actes_messages.ecart_attribut_manquant",
                    &[("nom", d.name), ("element", &node.name)],
                ),
            );
        }
    }
    let has_text = node.text.chars().any(|c| !is_xml_space(c));
    if nil && def.nillable {
        if has_text || !node.children.is_empty() {
            warn(
                out,
                node.line,
                tf("actes_messages.ecart_nil", &[("element", &node.name)]),
            );
        }
        return;
    }
    match &def.content {
        Content::Any => {}
        Content::Empty => {
            if let Some(c) = node.children.first() {
                warn(
                    out,
                    c.line,
                    tf(
                        "actes_messages.ecart_element_inattendu",
                        &[("nom", &c.name), ("parent", &node.name)],
                    ),
                );
            } else if has_text {
                warn(
                    out,
                    node.line,
                    tf("actes_messages.ecart_texte", &[("element", &node.name)]),
                );
            }
        }
        Content::Simple(ty) => {
            if let Some(c) = node.children.first() {
                warn(
                    out,
                    c.line,
                    tf(
                        "actes_messages.ecart_element_inattendu",
                        &[("nom", &c.name), ("parent", &node.name)],
                    ),
                );
            } else if let Some(expected) = invalid_value(&node.text, *ty) {
                warn(
                    out,
                    node.line,
                    tf(
                        "actes_messages.ecart_valeur_element",
                        &[
                            ("valeur", &excerpt(&node.text)),
                            ("element", &node.name),
                            ("attendu", &expected),
                        ],
                    ),
                );
            }
        }
        Content::Seq(particles) => {
            if has_text {
                warn(
                    out,
                    node.line,
                    tf("actes_messages.ecart_texte", &[("element", &node.name)]),
                );
            }
            let mut i = 0;
            for p in particles.iter() {
                let mut count = 0u32;
                while count < p.max {
                    let Some(child) = node.children.get(i) else {
                        break;
                    };
                    let matched = child
                        .is_actes()
                        .then(|| p.names.iter().find(|(n, _)| *n == child.name))
                        .flatten();
                    let Some((_, child_def)) = matched else {
                        break;
                    };
                    check(child, child_def, out);
                    i += 1;
                    count += 1;
                }
                if count < p.min {
                    let expected = p
                        .names
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(" | ");
                    let text = match node.children.get(i) {
                        Some(found) => tf(
                            "actes_messages.ecart_element_a_la_place",
                            &[
                                ("nom", &expected),
                                ("parent", &node.name),
                                ("trouve", &found.name),
                            ],
                        ),
                        None => tf(
                            "actes_messages.ecart_element_manquant",
                            &[("nom", &expected), ("parent", &node.name)],
                        ),
                    };
                    let line = node.children.get(i).map_or(node.line, |c| c.line);
                    warn(out, line, text);
                    return;
                }
            }
            if let Some(extra) = node.children.get(i) {
                warn(
                    out,
                    extra.line,
                    tf(
                        "actes_messages.ecart_element_inattendu",
                        &[("nom", &extra.name), ("parent", &node.name)],
                    ),
                );
            }
        }
    }
}

fn excerpt(value: &str) -> String {
    let mut s: String = value.chars().take(60).collect();
    if value.chars().count() > 60 {
        s.push('…');
    }
    s
}

/// `None` when `value` is valid for `ty`, else what was expected (in French).
fn invalid_value(value: &str, ty: St) -> Option<String> {
    let collapsed = value.trim_matches(is_xml_space);
    let ok = match ty {
        St::Str => true,
        St::MaxLen(n) => value.chars().count() <= n,
        St::Len(n) => value.chars().count() == n,
        St::Date => is_xsd_date(collapsed),
        St::Integer => is_integer(collapsed),
        St::NonNegInteger => is_non_negative_integer(collapsed),
        St::IdActe => is_id_acte(value),
        St::Departement => is_departement(value),
        St::Arrondissement => collapsed.len() == 1 && all_digits(collapsed),
        St::NatureCollectivite => collapsed.len() == 2 && all_digits(collapsed),
        St::Siren => collapsed.len() == 9 && all_digits(collapsed),
        St::Email => is_email(value),
        St::NatureAnomalieActe => collapsed.len() == 3 && all_digits(collapsed),
        St::NatureAnomalieEnveloppe => {
            is_integer(collapsed)
                && integer_value(collapsed).is_some_and(|v| matches!(v, 1..=5 | 100))
        }
    };
    if ok {
        return None;
    }
    Some(match ty {
        St::Str => String::new(),
        St::MaxLen(n) => tf(
            "actes_messages.attendu_longueur_max",
            &[("n", &n.to_string())],
        ),
        St::Len(n) => tf("actes_messages.attendu_longueur", &[("n", &n.to_string())]),
        St::Date => t("actes_messages.attendu_date"),
        St::Integer => t("actes_messages.attendu_entier"),
        St::NonNegInteger => t("actes_messages.attendu_entier_positif"),
        St::IdActe => t("actes_messages.attendu_id_acte"),
        St::Departement => t("actes_messages.attendu_departement"),
        St::Arrondissement => t("actes_messages.attendu_arrondissement"),
        St::NatureCollectivite => t("actes_messages.attendu_nature_collectivite"),
        St::Siren => t("actes_messages.attendu_siren"),
        St::Email => email_defect(value).unwrap_or_else(|| t("actes_messages.attendu_email")),
        St::NatureAnomalieActe => t("actes_messages.attendu_trois_chiffres"),
        St::NatureAnomalieEnveloppe => t("actes_messages.attendu_nature_anomalie_enveloppe"),
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_integer(s: &str) -> bool {
    all_digits(s.strip_prefix(['+', '-']).unwrap_or(s))
}

fn is_non_negative_integer(s: &str) -> bool {
    match s.strip_prefix('-') {
        Some(rest) => all_digits(rest) && rest.bytes().all(|b| b == b'0'),
        None => all_digits(s.strip_prefix('+').unwrap_or(s)),
    }
}

fn integer_value(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits = digits.trim_start_matches('0');
    if digits.len() > 15 {
        return None;
    }
    let v: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -v } else { v })
}

/// `xsd:date`: `[-]YYYY-MM-DD` with an optional time zone (`Z`, `+hh:mm`, `-hh:mm`).
pub(crate) fn is_xsd_date(s: &str) -> bool {
    let (body, tz) = if let Some(b) = s.strip_suffix('Z') {
        (b, None)
    } else if s.len() > 6 && s.is_char_boundary(s.len() - 6) {
        let (b, z) = s.split_at(s.len() - 6);
        if z.starts_with(['+', '-']) && z.as_bytes()[3] == b':' {
            (b, Some(&z[1..]))
        } else {
            (s, None)
        }
    } else {
        (s, None)
    };
    if let Some(tz) = tz {
        let (h, m) = (&tz[..2], &tz[3..]);
        if !all_digits(h) || !all_digits(m) {
            return false;
        }
        let (h, m): (u32, u32) = (h.parse().unwrap_or(99), m.parse().unwrap_or(99));
        if m > 59 || h > 14 || (h == 14 && m > 0) {
            return false;
        }
    }
    let body = body.strip_prefix('-').unwrap_or(body);
    let mut parts = body.split('-');
    let (Some(y), Some(mo), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if y.len() < 4 || (y.len() > 4 && y.starts_with('0')) || !all_digits(y) {
        return false;
    }
    if mo.len() != 2 || d.len() != 2 || !all_digits(mo) || !all_digits(d) {
        return false;
    }
    let year: u64 = match y.parse() {
        Ok(v) => v,
        Err(_) => return false,
    };
    let (month, day): (u32, u32) = (mo.parse().unwrap_or(0), d.parse().unwrap_or(0));
    if year == 0 || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

/// `actes:IDActe`: `{dept}-{SIREN}-{AAAAMMJJ}-{numéro interne}-{nature}`.
pub(crate) fn is_id_acte(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [dept, siren, date, numero, nature] = parts.as_slice() else {
        return false;
    };
    is_departement(dept)
        && siren.len() == 9
        && all_digits(siren)
        && date.len() == 8
        && all_digits(date)
        && (1..=15).contains(&numero.len())
        && numero
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && nature.chars().count() == 2
        && nature.chars().all(char::is_uppercase)
}

/// `[0|9][0-9][A|B|0-9]` (the `|` is, literally, allowed by the schema's pattern).
fn is_departement(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3
        && matches!(b[0], b'0' | b'9' | b'|')
        && b[1].is_ascii_digit()
        && (matches!(b[2], b'A' | b'B' | b'|') || b[2].is_ascii_digit())
}

/// The schema's e-mail pattern.
fn is_email(s: &str) -> bool {
    email_defect(s).is_none()
}

/// Which part of the schema's e-mail pattern `s` breaks, said in French (`None` when it matches):
/// `[_a-zA-Z0-9\-]+(\.[_a-zA-Z0-9\-]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*\.[a-zA-Z]{2,6}`.
fn email_defect(s: &str) -> Option<String> {
    let Some((local, domain)) = s.split_once('@') else {
        return Some(t("actes_messages.email_sans_arobase"));
    };
    let atom = |p: &str, underscore: bool| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || (underscore && b == b'_'))
    };
    if !local.split('.').all(|p| atom(p, true)) {
        return Some(t("actes_messages.email_partie_locale"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some(t("actes_messages.email_sans_point"));
    }
    if !labels.iter().all(|p| atom(p, false)) {
        return Some(t("actes_messages.email_domaine"));
    }
    let last = labels.last().copied().unwrap_or_default();
    if !((2..=6).contains(&last.len()) && last.bytes().all(|b| b.is_ascii_alphabetic())) {
        return Some(tf("actes_messages.email_fin", &[("fin", &excerpt(last))]));
    }
    None
}

/// The natures of a 7-2 (`NaturesActes/NatureActe`), with their typologies.
fn classification_natures(root: &Node) -> Vec<NatureResume> {
    root.children_named("NaturesActes")
        .flat_map(|natures| natures.children_named("NatureActe"))
        .map(|nature| NatureResume {
            code: nature.attr("CodeNatureActe"),
            libelle: nature.attr("Libelle"),
            typologies: nature
                .children_named("TypePJNatureActe")
                .map(|ty| TypologieResume {
                    code: ty.attr("CodeTypePJ"),
                    libelle: ty.attr("Libelle"),
                })
                .collect(),
        })
        .collect()
}

/// The matières of a 7-2 (`Matieres/Matiere1/Matiere2/…`); `None` when it has no `Matieres`.
fn classification_matieres(root: &Node) -> Option<MatieresResume> {
    fn count_below(node: &Node, level: usize) -> usize {
        let name = format!("Matiere{level}");
        node.children_named(&name)
            .map(|child| 1 + count_below(child, level + 1))
            .sum()
    }
    let matieres = root.child("Matieres")?;
    Some(MatieresResume {
        premier_niveau: matieres.children_named("Matiere1").count(),
        total: count_below(matieres, 1),
    })
}

// ---------------------------------------------------------------------------------------------
// From the tree to the message
// ---------------------------------------------------------------------------------------------

/// Schema departures listed for one message (a broken classification can have thousands).
const MAX_WARNINGS: usize = 100;

fn message_from_tree(root: &Node, encoding: &'static str) -> Result<ActesMessage, ActesReadError> {
    let Some(kind) = MessageKind::from_root(&root.name) else {
        return Err(ActesReadError::UnknownRoot {
            racine: root.name.clone(),
            espace: root
                .ns
                .clone()
                .unwrap_or_else(|| t("actes_messages.aucun_espace")),
        });
    };
    let mut warnings = Vec::new();
    if root.is_actes() {
        check(root, definition(kind), &mut warnings);
    } else {
        warnings.push(tf(
            "actes_messages.ecart_espace_racine",
            &[
                ("racine", &root.name),
                (
                    "espace",
                    &root
                        .ns
                        .clone()
                        .unwrap_or_else(|| t("actes_messages.aucun_espace")),
                ),
            ],
        ));
    }
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
        warnings.push(tf(
            "actes_messages.ecarts.non_affiches",
            &[("nombre", &more.to_string())],
        ));
    }
    use MessageKind::*;
    let mut documents = Vec::new();
    let doc = |n: &Node, role: DocumentRole| -> Option<DocumentRef> {
        n.child_text("NomFichier").map(|nom| DocumentRef {
            nom,
            role,
            signe: n.child("Signature").is_some(),
            taille: None,
            nature: None,
        })
    };
    let mut id_acte = root.attr("IDActe");
    let (date, details) = match kind {
        Acte => {
            let acte = acte_data(root);
            documents.extend(
                root.child("Document")
                    .and_then(|d| doc(d, DocumentRole::Acte)),
            );
            if let Some(annexes) = root.child("Annexes") {
                documents.extend(
                    annexes
                        .children_named("Annexe")
                        .filter_map(|a| doc(a, DocumentRole::Annexe)),
                );
            }
            (acte.date_decision.clone(), Details::Acte { acte })
        }
        ARActe => {
            let date_reception = root.attr("DateReception");
            let acte_recu = root
                .child("ActeRecu")
                .or_else(|| root.child("Acte"))
                .map(acte_data);
            (
                date_reception.clone(),
                Details::AccuseReception {
                    date_reception,
                    classification_en_cours: root
                        .first_child_text("ClassificationDateVersionEnCours"),
                    acte_recu,
                },
            )
        }
        AnomalieActe => {
            let date = root.child_text("Date");
            (
                date.clone(),
                Details::AnomalieActe {
                    date,
                    nature: root.child_text("Nature"),
                    detail: root.child_text("Detail"),
                    classification_en_cours: root
                        .first_child_text("ClassificationDateVersionEnCours"),
                    acte_recu: root.child("ActeRecu").map(acte_data),
                },
            )
        }
        CourrierSimple
        | ReponseCourrierSimple
        | DemandePieceComplementaire
        | ARDemandePieceComplementaire
        | RefusPieceComplementaire
        | PieceComplementaire
        | LettreObservations
        | ARLettreObservations
        | RejetLettreObservations
        | ReponseLettreObservations => {
            let date_courrier = root.attr("DateCourrierPref");
            documents.extend(
                root.child("Document")
                    .and_then(|d| doc(d, DocumentRole::Courrier)),
            );
            if let Some(docs) = root.child("Documents") {
                documents.extend(
                    docs.children_named("Document")
                        .filter_map(|d| doc(d, DocumentRole::Piece)),
                );
            }
            (
                date_courrier.clone(),
                Details::Courrier {
                    date_courrier,
                    description_pieces: root.child_text("DescriptionPieces"),
                    motif: root.child_text("Motif"),
                },
            )
        }
        ARPieceComplementaire | ARReponseRejetLettreObservations => {
            let infos = root.child("InfosCourrierPref");
            id_acte = infos.and_then(|i| i.attr("IDActe"));
            let date_reception = root.attr("DateReception");
            (
                date_reception.clone(),
                Details::AccuseReponse {
                    date_reception,
                    date_courrier: infos.and_then(|i| i.attr("DateCourrierPref")),
                },
            )
        }
        DefereTA => {
            let date_depot = root.child_text("DateDepot");
            if let Some(pieces) = root.child("PiecesJointes") {
                documents.extend(
                    pieces
                        .children_named("PieceJointe")
                        .filter_map(|d| doc(d, DocumentRole::Piece)),
                );
            }
            (
                date_depot.clone(),
                Details::DefereTA {
                    date_depot,
                    nature_illegalite: root.child_text("NatureIllegalite"),
                },
            )
        }
        Annulation | ARAnnulation => {
            let date_reception = root.attr("DateReception");
            (
                date_reception.clone(),
                Details::Annulation { date_reception },
            )
        }
        DemandeClassification | RetourClassification | ReponseClassificationSansChangement => {
            let date_classification = root.child_text("DateClassification");
            (
                date_classification.clone(),
                Details::Classification {
                    date_classification,
                    natures: classification_natures(root),
                    matieres: classification_matieres(root),
                },
            )
        }
        EnveloppeCLMISILL => (
            None,
            Details::EnveloppeCollectivite(collectivite_envelope(root)),
        ),
        EnveloppeMISILLCL => (
            None,
            Details::EnveloppePrefecture(prefecture_envelope(root)),
        ),
        AnomalieEnveloppe => {
            let date = root.child_text("Date");
            (
                date.clone(),
                Details::AnomalieEnveloppe {
                    date,
                    nature: root.child_text("Nature"),
                    detail: root.child_text("Detail"),
                    enveloppe_recue: root.child("EnveloppeRecue").map(collectivite_envelope),
                },
            )
        }
    };
    Ok(ActesMessage {
        kind,
        racine: root.name.clone(),
        libelle: kind.label(),
        origine: kind.origin(),
        fichier: None,
        id_acte,
        date,
        documents,
        details,
        encodage: encoding,
        avertissements: warnings,
    })
}

fn acte_data(n: &Node) -> ActeData {
    let annexes = n.child("Annexes");
    ActeData {
        date_decision: n.attr("Date"),
        numero_interne: n.attr("NumeroInterne"),
        code_nature: n.attr("CodeNatureActe"),
        matieres: [
            "CodeMatiere1",
            "CodeMatiere2",
            "CodeMatiere3",
            "CodeMatiere4",
            "CodeMatiere5",
        ]
        .iter()
        .filter_map(|name| n.child(name).and_then(|c| c.attr("CodeMatiere")))
        .collect(),
        objet: n.child_text("Objet"),
        precedent_id_acte: n
            .child("PrecedentIdentifiantActe")
            .and_then(|c| c.attr("IDActe")),
        classification_date_version: n.child_text("ClassificationDateVersion"),
        document: n.child("Document").and_then(|d| d.child_text("NomFichier")),
        annexes: annexes
            .map(|a| {
                a.children_named("Annexe")
                    .filter_map(|x| x.child_text("NomFichier"))
                    .collect()
            })
            .unwrap_or_default(),
        document_papier: n.child_text("DocumentPapier"),
    }
}

fn referent(n: &Node) -> Option<Referent> {
    n.child("Referent").map(|r| Referent {
        nom: r.child_text("Nom"),
        telephone: r.child_text("Telephone"),
        email: r.child_text("Email"),
    })
}

fn formulaires(n: &Node) -> Vec<String> {
    n.child("FormulairesEnvoyes")
        .map(|f| {
            f.children_named("Formulaire")
                .filter_map(|x| x.child_text("NomFichier"))
                .collect()
        })
        .unwrap_or_default()
}

fn collectivite_envelope(n: &Node) -> CollectiviteEnvelope {
    let emetteur = n.child("Emetteur");
    let idcl = emetteur.and_then(|e| e.child("IDCL"));
    CollectiviteEnvelope {
        siren: idcl.and_then(|i| i.attr("SIREN")),
        departement: idcl.and_then(|i| i.attr("Departement")),
        arrondissement: idcl.and_then(|i| i.attr("Arrondissement")),
        nature_collectivite: idcl.and_then(|i| i.attr("Nature")),
        referent: emetteur.and_then(referent),
        adresses_retour: n
            .child("AdressesRetour")
            .map(|a| {
                a.children_named("Email")
                    .filter_map(Node::text_value)
                    .collect()
            })
            .unwrap_or_default(),
        formulaires: formulaires(n),
    }
}

fn prefecture_envelope(n: &Node) -> PrefectureEnvelope {
    let emetteur = n.child("Emetteur");
    let id = emetteur.and_then(|e| {
        e.children
            .iter()
            .find(|c| matches!(c.name.as_str(), "IDSGAR" | "IDPref" | "IDSousPref"))
    });
    let departement = id.and_then(|i| i.attr("Departement"));
    let arrondissement = id.and_then(|i| i.attr("Arrondissement"));
    let dept = departement.clone().unwrap_or_else(|| "?".to_owned());
    let emetteur_libelle = match id.map(|i| i.name.as_str()) {
        Some("IDSGAR") => tf("actes_messages.emetteur_sgar", &[("departement", &dept)]),
        Some("IDPref") => tf("actes_messages.emetteur_pref", &[("departement", &dept)]),
        Some(_) => tf(
            "actes_messages.emetteur_sous_pref",
            &[
                ("departement", &dept),
                ("arrondissement", arrondissement.as_deref().unwrap_or("?")),
            ],
        ),
        None => t("actes_messages.emetteur_inconnu"),
    };
    PrefectureEnvelope {
        emetteur: id.map(|i| i.name.clone()),
        emetteur_libelle,
        departement,
        arrondissement,
        referent: emetteur.and_then(referent),
        formulaires: formulaires(n),
        destinataire_siren: n.child("Destinataire").and_then(|d| d.attr("SIREN")),
    }
}

// ---------------------------------------------------------------------------------------------
// Archives
// ---------------------------------------------------------------------------------------------

/// What a member of an archive is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    Enveloppe,
    Message,
    Document,
    /// Neither listed by the envelope nor named by a message.
    NonReference,
}

/// A member of an archive, read into memory.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveFile {
    pub nom: String,
    pub taille: u64,
    /// Kind found from the content.
    pub nature: FileKind,
    pub role: FileRole,
    /// The message read from it (XML members).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_message: Option<MessageKind>,
    #[serde(skip)]
    pub contenu: Vec<u8>,
}

/// An archive read: its files, its envelope, its messages.
#[derive(Debug, Clone, Serialize)]
pub struct ActesArchive {
    /// Type of the main message (the first business message; the envelope when there is none).
    #[serde(rename = "type")]
    pub kind: MessageKind,
    pub libelle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_acte: Option<String>,
    pub fichiers: Vec<ArchiveFile>,
    pub enveloppe: Option<ActesMessage>,
    /// The business messages, in the order of the envelope.
    pub messages: Vec<ActesMessage>,
    /// Inconsistencies between the envelope, the messages and the files, in French.
    pub avertissements: Vec<String>,
}

impl ActesArchive {
    /// The main message (see [`ActesArchive::kind`]).
    pub fn main_message(&self) -> Option<&ActesMessage> {
        self.messages.first().or(self.enveloppe.as_ref())
    }

    /// The member with this name.
    pub fn file(&self, name: &str) -> Option<&ArchiveFile> {
        self.fichiers.iter().find(|f| f.nom == name)
    }

    /// The bytes of the member with this name.
    pub fn content(&self, name: &str) -> Option<&[u8]> {
        self.file(name).map(|f| f.contenu.as_slice())
    }

    /// The documents of the messages (the letter's PDF…), as members of the archive.
    pub fn documents(&self) -> Vec<&ArchiveFile> {
        self.fichiers
            .iter()
            .filter(|f| f.role == FileRole::Document)
            .collect()
    }
}

/// Counts what is decompressed; beyond the bound, fails (and says so in `exceeded`).
struct Bounded<R> {
    inner: R,
    remaining: u64,
    exceeded: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            // One byte more means the bound is passed (the exact end is fine).
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded.set(true);
            return Err(std::io::Error::other("limite de taille dépassée"));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Largest pax or GNU long-name header accepted.
const EXTENSION_MAX: u64 = 64 * 1024;

/// Reads an archive (`.tar.gz`, or `.tar`) from its stream: members in memory under the
/// bounds of `limits`, XML members read as messages, cross-checks with the envelope.
pub fn read_archive<R: Read>(
    input: R,
    limits: &ReadLimits,
) -> Result<ActesArchive, ActesReadError> {
    let members = read_members(input, limits)?;
    if members.is_empty() {
        return Err(ActesReadError::EmptyArchive);
    }
    let mut fichiers = Vec::new();
    let mut read = Vec::new();
    for (nom, contenu) in members {
        let nature = detect_kind(&contenu);
        let mut type_message = None;
        if nature == FileKind::Xml {
            let mut message =
                read_message_with_limits(contenu.as_slice(), limits).map_err(|e| {
                    ActesReadError::Member {
                        nom: nom.clone(),
                        source: Box::new(e),
                    }
                })?;
            message.fichier = Some(nom.clone());
            type_message = Some(message.kind);
            read.push(message);
        }
        fichiers.push(ArchiveFile {
            taille: contenu.len() as u64,
            nom,
            nature,
            role: FileRole::NonReference,
            type_message,
            contenu,
        });
    }
    assemble(fichiers, read)
}

fn assemble(
    mut fichiers: Vec<ArchiveFile>,
    read: Vec<ActesMessage>,
) -> Result<ActesArchive, ActesReadError> {
    let mut warnings = Vec::new();
    let (envelopes, mut messages): (Vec<_>, Vec<_>) =
        read.into_iter().partition(|m| m.kind.is_envelope());
    let mut envelopes = envelopes.into_iter();
    let enveloppe = envelopes.next();
    for extra in envelopes {
        warnings.push(tf(
            "actes_messages.archive_plusieurs_enveloppes",
            &[("nom", extra.fichier.as_deref().unwrap_or("?"))],
        ));
    }
    if enveloppe.is_none() && messages.is_empty() {
        return Err(ActesReadError::NoMessage);
    }
    let set_role = |fichiers: &mut Vec<ArchiveFile>, name: &str, role: FileRole| {
        if let Some(f) = fichiers.iter_mut().find(|f| f.nom == name) {
            f.role = role;
        }
    };
    match &enveloppe {
        None => warnings.push(t("actes_messages.archive_sans_enveloppe")),
        Some(env) => {
            if let Some(name) = &env.fichier {
                set_role(&mut fichiers, name, FileRole::Enveloppe);
            }
            let listed = env.formulaires();
            for name in listed {
                if !fichiers.iter().any(|f| &f.nom == name) {
                    warnings.push(tf(
                        "actes_messages.archive_formulaire_absent",
                        &[("nom", name)],
                    ));
                }
            }
            if env.kind != MessageKind::AnomalieEnveloppe {
                for m in &messages {
                    let name = m.fichier.as_deref().unwrap_or("?");
                    if !listed.iter().any(|l| l == name) {
                        warnings.push(tf(
                            "actes_messages.archive_message_non_liste",
                            &[("nom", name)],
                        ));
                    }
                }
            }
            // The envelope's order first.
            messages.sort_by_key(|m| {
                listed
                    .iter()
                    .position(|l| Some(l.as_str()) == m.fichier.as_deref())
                    .unwrap_or(usize::MAX)
            });
        }
    }
    for m in &mut messages {
        if let Some(name) = &m.fichier {
            set_role(&mut fichiers, name, FileRole::Message);
        }
        for d in &mut m.documents {
            match fichiers.iter_mut().find(|f| f.nom == d.nom) {
                Some(f) => {
                    f.role = FileRole::Document;
                    d.taille = Some(f.taille);
                    d.nature = Some(f.nature);
                }
                None => warnings.push(tf(
                    "actes_messages.archive_document_absent",
                    &[
                        ("nom", &d.nom),
                        ("message", m.fichier.as_deref().unwrap_or("?")),
                    ],
                )),
            }
        }
    }
    for f in &fichiers {
        if f.role == FileRole::NonReference {
            warnings.push(tf(
                "actes_messages.archive_fichier_non_reference",
                &[("nom", &f.nom)],
            ));
        }
        if let Some(expected) = kind_from_extension(&f.nom)
            && expected != f.nature
        {
            warnings.push(tf(
                "actes_messages.archive_contenu_extension",
                &[
                    ("nom", &f.nom),
                    ("nature", f.nature.label()),
                    ("attendu", expected.label()),
                ],
            ));
        }
    }
    let main = messages.first().or(enveloppe.as_ref());
    let (kind, id_acte) = match main {
        Some(m) => (m.kind, m.id_acte.clone()),
        None => return Err(ActesReadError::NoMessage),
    };
    Ok(ActesArchive {
        kind,
        libelle: kind.label(),
        id_acte,
        fichiers,
        enveloppe,
        messages,
        avertissements: warnings,
    })
}

fn kind_from_extension(name: &str) -> Option<FileKind> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "xml" => FileKind::Xml,
        "pdf" => FileKind::Pdf,
        "png" => FileKind::Png,
        "jpg" | "jpeg" => FileKind::Jpeg,
        _ => return None,
    })
}

/// The members of a tar (possibly gzip-compressed) stream, in memory, checked.
fn read_members<R: Read>(
    input: R,
    limits: &ReadLimits,
) -> Result<Vec<(String, Vec<u8>)>, ActesReadError> {
    let mut input = BufReader::new(input);
    let gzip = input.fill_buf()?.starts_with(&[0x1F, 0x8B]);
    let stream: Box<dyn Read> = if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    };
    let exceeded = std::rc::Rc::new(std::cell::Cell::new(false));
    // Headers and padding come on top of the members' bytes.
    let overhead = (limits.members as u64 + 8).saturating_mul(2 * 512 + EXTENSION_MAX);
    let bounded = Bounded {
        inner: stream,
        remaining: limits.total_bytes.saturating_add(overhead),
        exceeded: exceeded.clone(),
    };
    let total_limit = precise_size(limits.total_bytes);
    let io_error = |e: std::io::Error| {
        if exceeded.get() {
            ActesReadError::TotalTooLarge(total_limit.clone())
        } else {
            ActesReadError::Corrupt(e.to_string())
        }
    };
    let mut archive = tar::Archive::new(bounded);
    let entries = archive.entries().map_err(io_error)?.raw(true);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut pending_name: Option<Vec<u8>> = None;
    let mut pending_size: Option<u64> = None;
    let mut total = 0u64;
    let mut headers = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(io_error)?;
        headers += 1;
        if headers > limits.members.saturating_mul(4).saturating_add(16) {
            return Err(ActesReadError::TooManyMembers(group_digits(
                limits.members as u64,
            )));
        }
        let entry_type = entry.header().entry_type();
        let declared = entry.size();
        let header_name = entry.path_bytes().into_owned();
        match entry_type {
            tar::EntryType::GNULongName
            | tar::EntryType::XHeader
            | tar::EntryType::XGlobalHeader => {
                if declared > EXTENSION_MAX {
                    return Err(ActesReadError::ExtensionTooLarge(precise_size(
                        EXTENSION_MAX,
                    )));
                }
                let mut data = Vec::new();
                (&mut entry)
                    .take(EXTENSION_MAX)
                    .read_to_end(&mut data)
                    .map_err(io_error)?;
                match entry_type {
                    tar::EntryType::GNULongName => {
                        while data.last() == Some(&0) {
                            data.pop();
                        }
                        pending_name = Some(data);
                    }
                    tar::EntryType::XHeader => {
                        for (key, value) in pax_records(&data) {
                            match key {
                                b"path" => pending_name = Some(value.to_vec()),
                                b"size" => {
                                    pending_size = std::str::from_utf8(value)
                                        .ok()
                                        .and_then(|v| v.parse().ok())
                                        .or(Some(u64::MAX));
                                }
                                b"linkpath" => {
                                    let nom = String::from_utf8_lossy(&header_name).into_owned();
                                    return Err(ActesReadError::NotRegular {
                                        nom,
                                        genre: t("actes_messages.genre_lien"),
                                    });
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            _ => {}
        }
        let raw_name = pending_name.take().unwrap_or(header_name);
        let size_override = pending_size.take();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let name = check_member_name(&raw_name, &shown)?;
        let genre = match entry_type {
            tar::EntryType::Regular | tar::EntryType::Continuous if !name.ends_with('/') => None,
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {
                Some(t("actes_messages.genre_repertoire"))
            }
            tar::EntryType::Symlink | tar::EntryType::Link | tar::EntryType::GNULongLink => {
                Some(t("actes_messages.genre_lien"))
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                Some(t("actes_messages.genre_peripherique"))
            }
            tar::EntryType::Fifo => Some(t("actes_messages.genre_fifo")),
            _ => Some(t("actes_messages.genre_autre")),
        };
        if let Some(genre) = genre {
            return Err(ActesReadError::NotRegular { nom: shown, genre });
        }
        if size_override.is_some_and(|s| s != declared) {
            return Err(ActesReadError::InconsistentSize(shown));
        }
        if declared > limits.member_bytes {
            return Err(ActesReadError::MemberTooLarge {
                nom: shown,
                taille: precise_size(declared),
                limite: precise_size(limits.member_bytes),
            });
        }
        total = total.saturating_add(declared);
        if total > limits.total_bytes {
            return Err(ActesReadError::TotalTooLarge(total_limit.clone()));
        }
        if out.len() >= limits.members {
            return Err(ActesReadError::TooManyMembers(group_digits(
                limits.members as u64,
            )));
        }
        if !names.insert(name.clone()) {
            return Err(ActesReadError::Duplicate(shown));
        }
        let mut data = Vec::with_capacity(usize::try_from(declared.min(1 << 20)).unwrap_or(0));
        (&mut entry)
            .take(limits.member_bytes.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(io_error)?;
        if data.len() as u64 != declared {
            return Err(ActesReadError::Corrupt(tf(
                "actes_messages.membre_tronque",
                &[("nom", &shown)],
            )));
        }
        out.push((name, data));
    }
    if exceeded.get() {
        return Err(ActesReadError::TotalTooLarge(total_limit));
    }
    Ok(out)
}

/// The `length key=value\n` records of a pax extended header.
fn pax_records(data: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(space) = rest.iter().position(|&b| b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            break;
        };
        if len <= space + 1 || len > rest.len() {
            break;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|&b| b == b'=') {
            out.push((&record[..eq], &record[eq + 1..]));
        }
        rest = &rest[len..];
    }
    out
}

/// Refuses absolute paths and `..`; returns the name without a leading `./`.
fn check_member_name(raw: &[u8], shown: &str) -> Result<String, ActesReadError> {
    let Ok(name) = std::str::from_utf8(raw) else {
        return Err(ActesReadError::BadName(shown.to_owned()));
    };
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(ActesReadError::BadName(shown.to_owned()));
    }
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if name.starts_with(['/', '\\']) || drive {
        return Err(ActesReadError::AbsolutePath(shown.to_owned()));
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Err(ActesReadError::PathTraversal(shown.to_owned()));
    }
    let mut clean = name;
    while let Some(rest) = clean.strip_prefix("./") {
        clean = rest;
    }
    if clean.is_empty() || clean == "." {
        return Ok("./".to_owned());
    }
    Ok(clean.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_types() {
        assert!(is_xsd_date("2017-07-21"));
        assert!(is_xsd_date("2016-02-29Z"));
        assert!(is_xsd_date("2017-07-21+02:00"));
        assert!(!is_xsd_date("2017-02-29"));
        assert!(!is_xsd_date("2017-7-21"));
        assert!(!is_xsd_date(""));
        assert!(is_id_acte("034-491011698-20171207-CL20171227_06-DE"));
        assert!(!is_id_acte("034-491011698-20171207-CL-2017-DE"));
        assert!(!is_id_acte("134-491011698-20171207-X-DE"));
        assert!(is_email("robert@petit.poid.fr"));
        assert!(!is_email("robert@localhost"));
        assert!(email_defect("robert@mairie.france1").is_some_and(|m| m.contains("2 à 6 lettres")));
        assert!(email_defect("robert@localhost").is_some_and(|m| m.contains("point")));
        assert!(email_defect("robert.mairie.fr").is_some_and(|m| m.contains("@")));
        assert!(email_defect("rob ert@mairie.fr").is_some_and(|m| m.contains("avant")));
        assert!(email_defect("robert@mai_rie.fr").is_some_and(|m| m.contains("domaine")));
        assert_eq!(
            invalid_value("5", St::NatureAnomalieEnveloppe),
            None,
            "the enumeration is integer-valued"
        );
        assert!(invalid_value("2", St::NatureAnomalieActe).is_some());
        assert!(invalid_value("ERREUR2", St::NatureAnomalieActe).is_some());
    }

    #[test]
    fn member_names() {
        assert!(matches!(
            check_member_name(b"../evil", "../evil"),
            Err(ActesReadError::PathTraversal(_))
        ));
        assert!(matches!(
            check_member_name(b"a/../../evil", "a/../../evil"),
            Err(ActesReadError::PathTraversal(_))
        ));
        assert!(matches!(
            check_member_name(b"/etc/passwd", "/etc/passwd"),
            Err(ActesReadError::AbsolutePath(_))
        ));
        assert!(matches!(
            check_member_name(b"C:\\x", "C:\\x"),
            Err(ActesReadError::AbsolutePath(_))
        ));
        assert_eq!(
            check_member_name(b"./a.xml", "./a.xml").ok().as_deref(),
            Some("a.xml")
        );
    }
}
