//! Everything the préfecture sends back — and, for completeness, every other ACTES message —
//! read into typed values: the business messages (1-1 … 7-3), the envelopes (`EnveloppeMISILLCL`,
//! `EnveloppeCLMISILL`, `AnomalieEnveloppe`) and the `.tar.gz` archives that carry them.
//!
//! # Reading
//!
//! XML goes through the project's strict reader ([`XmlReader`](crate::xml::XmlReader):
//! DOCTYPE refused, ISO-8859-1 / windows-1252 / UTF-8), into a small bounded tree (a message is
//! a few kilobytes; a classification a few hundred). Each message is then checked against the
//! structure of `actesv1_1.xsd` (element order and cardinality, required and allowed
//! attributes, dates, patterns): a message the schema would reject is still read, and what
//! departs from the schema is listed in [`ActesMessage::avertissements`]. The check mirrors the
//! schema shipped with STELA (revised: `DocumentPapier` required, `TypePJNatureActe` required in
//! a classification); it is not a general XSD validator.
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

use serde::Serialize;

use super::files::{group_digits, precise_size};
use crate::messages::{t, tf};

mod check;
mod error;
mod model;
mod schema;
mod tree;

use check::check;
use schema::definition;
use tree::{Node, parse_tree};

pub(crate) use check::{is_id_acte, is_xsd_date};
pub use error::{ActesReadError, ReadLimits};
pub use model::{
    ACTES_NS, ActeData, ActesMessage, CollectiviteEnvelope, Details, DocumentRef, DocumentRole,
    FileKind, INSEE_NS, MatieresResume, MessageKind, NatureResume, Origin, PrefectureEnvelope,
    Referent, TypologieResume, detect_kind,
};

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
