//! Why a reading fails, and the bounds it keeps to. Apart from the model because every step of
//! the reading (the tree, the message, the archive) returns these errors and takes these bounds,
//! while the model itself never fails.

use crate::messages::{t, tf};
use crate::xml::C14nError;

/// Why a message, an envelope or an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ActesReadError {
    /// Not well-formed, DOCTYPE, unsupported encoding… (the reader's French message).
    #[error("{0}")]
    Xml(#[from] C14nError),
    #[error("{}", tf("actes_messages.erreur_ouverture", &[("chemin", .chemin), ("detail", .detail)]))]
    Open { chemin: String, detail: String },
    #[error("{}", tf("actes_messages.erreur_lecture", &[("detail", &.0.to_string())]))]
    Io(#[from] std::io::Error),
    #[error("{}", tf("actes_messages.racine_inconnue", &[("racine", .racine), ("espace", .espace)]))]
    UnknownRoot { racine: String, espace: String },
    #[error("{}", tf("actes_messages.ni_xml_ni_archive", &[("nature", .0)]))]
    NotActes(String),
    #[error("{}", tf("actes_messages.xml_trop_gros", &[("limite", .0)]))]
    XmlTooLarge(String),
    #[error("{}", tf("actes_messages.archive_endommagee", &[("detail", .0)]))]
    Corrupt(String),
    #[error("{}", t("actes_messages.archive_vide"))]
    EmptyArchive,
    #[error("{}", t("actes_messages.archive_sans_message"))]
    NoMessage,
    #[error("{}", tf("actes_messages.chemin_absolu", &[("nom", .0)]))]
    AbsolutePath(String),
    #[error("{}", tf("actes_messages.chemin_remontant", &[("nom", .0)]))]
    PathTraversal(String),
    #[error("{}", tf("actes_messages.nom_invalide", &[("nom", .0)]))]
    BadName(String),
    #[error("{}", tf("actes_messages.membre_non_regulier", &[("nom", .nom), ("genre", .genre)]))]
    NotRegular { nom: String, genre: String },
    #[error("{}", tf("actes_messages.membre_double", &[("nom", .0)]))]
    Duplicate(String),
    #[error("{}", tf("actes_messages.taille_contradictoire", &[("nom", .0)]))]
    InconsistentSize(String),
    #[error("{}", tf("actes_messages.membre_trop_gros", &[("nom", .nom), ("taille", .taille), ("limite", .limite)]))]
    MemberTooLarge {
        nom: String,
        taille: String,
        limite: String,
    },
    #[error("{}", tf("actes_messages.archive_trop_grosse", &[("limite", .0)]))]
    TotalTooLarge(String),
    #[error("{}", tf("actes_messages.trop_de_membres", &[("limite", .0)]))]
    TooManyMembers(String),
    #[error("{}", tf("actes_messages.entete_trop_gros", &[("limite", .0)]))]
    ExtensionTooLarge(String),
    #[error("{}", tf("actes_messages.membre_illisible", &[("nom", .nom), ("detail", &.source.to_string())]))]
    Member {
        nom: String,
        #[source]
        source: Box<ActesReadError>,
    },
}

/// Bounds on what is read: an archive (or an XML message) beyond them is refused.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Bytes of one archive member.
    pub member_bytes: u64,
    /// Bytes of all the members of an archive together (decompressed).
    pub total_bytes: u64,
    /// Members of an archive.
    pub members: usize,
    /// Elements of one XML message.
    pub xml_elements: usize,
    /// Characters (text and attribute values) of one XML message, in bytes.
    pub xml_text_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            member_bytes: 50_000_000,
            total_bytes: 150_000_000,
            members: 1000,
            xml_elements: 200_000,
            xml_text_bytes: 16_000_000,
        }
    }
}
