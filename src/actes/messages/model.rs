//! The message model: what an ACTES message, envelope or envelope anomaly is once read — its kind
//! (the message table, 1-1 … 7-3), who sends it, the files it names, what each kind carries —
//! and the kind of a file found from its content. Plain data with no XML in it, apart from the
//! reading: the answers (`actes::answers`), the command line and the window use these types, and
//! every other file of `messages/` builds on them.

use serde::{Serialize, Serializer};

use crate::messages::t;

/// Namespace of the ACTES messages.
pub const ACTES_NS: &str = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216";
/// Namespace of the INSEE attributes (`insee:SIREN`).
pub const INSEE_NS: &str = "http://xml.insee.fr/schema";

// ---------------------------------------------------------------------------------------------
// Message types
// ---------------------------------------------------------------------------------------------

/// The kind of an ACTES message, known from its root element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// 1-1
    Acte,
    /// 1-2
    ARActe,
    /// 1-3
    AnomalieActe,
    /// 2-1
    CourrierSimple,
    /// 2-2
    ReponseCourrierSimple,
    /// 3-1
    DemandePieceComplementaire,
    /// 3-2
    ARDemandePieceComplementaire,
    /// 3-3
    RefusPieceComplementaire,
    /// 3-4
    PieceComplementaire,
    /// 3-5
    ARPieceComplementaire,
    /// 4-1
    LettreObservations,
    /// 4-2
    ARLettreObservations,
    /// 4-3
    RejetLettreObservations,
    /// 4-4
    ReponseLettreObservations,
    /// 4-5
    ARReponseRejetLettreObservations,
    /// 5-1
    DefereTA,
    /// 6-1
    Annulation,
    /// 6-2
    ARAnnulation,
    /// 7-1
    DemandeClassification,
    /// 7-2
    RetourClassification,
    /// 7-3
    ReponseClassificationSansChangement,
    /// Envelope collectivité → ministère (`EACT--…`, `TACT--…`).
    EnveloppeCLMISILL,
    /// Envelope préfecture → collectivité.
    EnveloppeMISILLCL,
    /// Envelope refused by the ministry (`ANO_…`).
    AnomalieEnveloppe,
}

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Prefecture,
    Collectivite,
}

impl MessageKind {
    /// Every kind, in the order of the message table.
    pub const ALL: [MessageKind; 24] = [
        MessageKind::Acte,
        MessageKind::ARActe,
        MessageKind::AnomalieActe,
        MessageKind::CourrierSimple,
        MessageKind::ReponseCourrierSimple,
        MessageKind::DemandePieceComplementaire,
        MessageKind::ARDemandePieceComplementaire,
        MessageKind::RefusPieceComplementaire,
        MessageKind::PieceComplementaire,
        MessageKind::ARPieceComplementaire,
        MessageKind::LettreObservations,
        MessageKind::ARLettreObservations,
        MessageKind::RejetLettreObservations,
        MessageKind::ReponseLettreObservations,
        MessageKind::ARReponseRejetLettreObservations,
        MessageKind::DefereTA,
        MessageKind::Annulation,
        MessageKind::ARAnnulation,
        MessageKind::DemandeClassification,
        MessageKind::RetourClassification,
        MessageKind::ReponseClassificationSansChangement,
        MessageKind::EnveloppeCLMISILL,
        MessageKind::EnveloppeMISILLCL,
        MessageKind::AnomalieEnveloppe,
    ];

    /// The type code of the message table (`1-2`…); envelopes have `enveloppe-collectivite`,
    /// `enveloppe-prefecture` and `anomalie-enveloppe`.
    pub fn code(self) -> &'static str {
        use MessageKind::*;
        match self {
            Acte => "1-1",
            ARActe => "1-2",
            AnomalieActe => "1-3",
            CourrierSimple => "2-1",
            ReponseCourrierSimple => "2-2",
            DemandePieceComplementaire => "3-1",
            ARDemandePieceComplementaire => "3-2",
            RefusPieceComplementaire => "3-3",
            PieceComplementaire => "3-4",
            ARPieceComplementaire => "3-5",
            LettreObservations => "4-1",
            ARLettreObservations => "4-2",
            RejetLettreObservations => "4-3",
            ReponseLettreObservations => "4-4",
            ARReponseRejetLettreObservations => "4-5",
            DefereTA => "5-1",
            Annulation => "6-1",
            ARAnnulation => "6-2",
            DemandeClassification => "7-1",
            RetourClassification => "7-2",
            ReponseClassificationSansChangement => "7-3",
            EnveloppeCLMISILL => "enveloppe-collectivite",
            EnveloppeMISILLCL => "enveloppe-prefecture",
            AnomalieEnveloppe => "anomalie-enveloppe",
        }
    }

    /// Local name of the root element.
    pub fn root(self) -> &'static str {
        use MessageKind::*;
        match self {
            Acte => "Acte",
            ARActe => "ARActe",
            AnomalieActe => "AnomalieActe",
            CourrierSimple => "CourrierSimple",
            ReponseCourrierSimple => "ReponseCourrierSimple",
            DemandePieceComplementaire => "DemandePieceComplementaire",
            ARDemandePieceComplementaire => "ARDemandePieceComplementaire",
            RefusPieceComplementaire => "RefusPieceComplementaire",
            PieceComplementaire => "PieceComplementaire",
            ARPieceComplementaire => "ARPieceComplementaire",
            LettreObservations => "LettreObservations",
            ARLettreObservations => "ARLettreObservations",
            RejetLettreObservations => "RejetLettreObservations",
            ReponseLettreObservations => "ReponseLettreObservations",
            ARReponseRejetLettreObservations => "ARReponseRejetLettreObservations",
            DefereTA => "DefereTA",
            Annulation => "Annulation",
            ARAnnulation => "ARAnnulation",
            DemandeClassification => "DemandeClassification",
            RetourClassification => "RetourClassification",
            ReponseClassificationSansChangement => "ReponseClassificationSansChangement",
            EnveloppeCLMISILL => "EnveloppeCLMISILL",
            EnveloppeMISILLCL => "EnveloppeMISILLCL",
            AnomalieEnveloppe => "AnomalieEnveloppe",
        }
    }

    /// The kind whose root element has this local name.
    pub fn from_root(local_name: &str) -> Option<MessageKind> {
        MessageKind::ALL
            .into_iter()
            .find(|k| k.root() == local_name)
    }

    /// The kind with this type code (`1-2`, `enveloppe-prefecture`…).
    pub fn from_code(code: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Who sends it.
    pub fn origin(self) -> Origin {
        use MessageKind::*;
        match self {
            Acte
            | ReponseCourrierSimple
            | ARDemandePieceComplementaire
            | RefusPieceComplementaire
            | PieceComplementaire
            | ARLettreObservations
            | RejetLettreObservations
            | ReponseLettreObservations
            | Annulation
            | DemandeClassification
            | EnveloppeCLMISILL => Origin::Collectivite,
            _ => Origin::Prefecture,
        }
    }

    /// An envelope (or an envelope anomaly), not a business message.
    pub fn is_envelope(self) -> bool {
        matches!(
            self,
            MessageKind::EnveloppeCLMISILL
                | MessageKind::EnveloppeMISILLCL
                | MessageKind::AnomalieEnveloppe
        )
    }

    /// What the message is, in French.
    pub fn label(self) -> String {
        use MessageKind::*;
        t(match self {
            Acte => "actes_messages.libelle_1_1",
            ARActe => "actes_messages.libelle_1_2",
            AnomalieActe => "actes_messages.libelle_1_3",
            CourrierSimple => "actes_messages.libelle_2_1",
            ReponseCourrierSimple => "actes_messages.libelle_2_2",
            DemandePieceComplementaire => "actes_messages.libelle_3_1",
            ARDemandePieceComplementaire => "actes_messages.libelle_3_2",
            RefusPieceComplementaire => "actes_messages.libelle_3_3",
            PieceComplementaire => "actes_messages.libelle_3_4",
            ARPieceComplementaire => "actes_messages.libelle_3_5",
            LettreObservations => "actes_messages.libelle_4_1",
            ARLettreObservations => "actes_messages.libelle_4_2",
            RejetLettreObservations => "actes_messages.libelle_4_3",
            ReponseLettreObservations => "actes_messages.libelle_4_4",
            ARReponseRejetLettreObservations => "actes_messages.libelle_4_5",
            DefereTA => "actes_messages.libelle_5_1",
            Annulation => "actes_messages.libelle_6_1",
            ARAnnulation => "actes_messages.libelle_6_2",
            DemandeClassification => "actes_messages.libelle_7_1",
            RetourClassification => "actes_messages.libelle_7_2",
            ReponseClassificationSansChangement => "actes_messages.libelle_7_3",
            EnveloppeCLMISILL => "actes_messages.libelle_enveloppe_collectivite",
            EnveloppeMISILLCL => "actes_messages.libelle_enveloppe_prefecture",
            AnomalieEnveloppe => "actes_messages.libelle_anomalie_enveloppe",
        })
    }
}

impl Serialize for MessageKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

// ---------------------------------------------------------------------------------------------
// What a message yields
// ---------------------------------------------------------------------------------------------

/// What a file is, found from its first bytes (never from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Xml,
    Pdf,
    Png,
    Jpeg,
    Gzip,
    Tar,
    Zip,
    Inconnu,
}

impl FileKind {
    /// Name shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Xml => "XML",
            FileKind::Pdf => "PDF",
            FileKind::Png => "PNG",
            FileKind::Jpeg => "JPEG",
            FileKind::Gzip => "gzip",
            FileKind::Tar => "tar",
            FileKind::Zip => "zip",
            FileKind::Inconnu => "?",
        }
    }
}

/// The kind of a file from its content: the magic bytes are those of
/// [`files::detect`](crate::actes::files::detect); a tar is recognised first (its first member
/// may be a PDF whose header falls in the first kilobyte), and anything starting with `<` is
/// given to the XML reader, which says what is wrong with it.
pub fn detect_kind(bytes: &[u8]) -> FileKind {
    use crate::actes::files::{Detected, SNIFF_LEN, detect};
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return FileKind::Tar;
    }
    match detect(head) {
        Detected::Pdf => FileKind::Pdf,
        Detected::Png => FileKind::Png,
        Detected::Jpeg => FileKind::Jpeg,
        Detected::Gzip => FileKind::Gzip,
        Detected::Zip | Detected::OfficeOpenXml | Detected::OpenDocument => FileKind::Zip,
        Detected::Xml => FileKind::Xml,
        _ => {
            let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
            match text
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                Some(b'<') => FileKind::Xml,
                _ => FileKind::Inconnu,
            }
        }
    }
}

/// Role of a file a message carries or names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentRole {
    /// The act itself (1-1).
    Acte,
    /// An annex of the act (1-1).
    Annexe,
    /// The letter of a courrier (2-x, 3-1, 3-3, 4-x).
    Courrier,
    /// A piece: pièces complémentaires (3-4), documents of a déféré (5-1).
    Piece,
}

/// A file named by a message (`NomFichier`).
#[derive(Debug, Clone, Serialize)]
pub struct DocumentRef {
    pub nom: String,
    pub role: DocumentRole,
    /// A `Signature` accompanies the name.
    pub signe: bool,
    /// Size in bytes, known when the message was read from an archive holding the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taille: Option<u64>,
    /// Kind found from the content, when read from an archive holding the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nature: Option<FileKind>,
}

/// The data of an act (`Acte`, `ActeRecu`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActeData {
    pub date_decision: Option<String>,
    pub numero_interne: Option<String>,
    pub code_nature: Option<String>,
    /// `CodeMatiere1` … `CodeMatiere5`, in order.
    pub matieres: Vec<String>,
    pub objet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precedent_id_acte: Option<String>,
    pub classification_date_version: Option<String>,
    pub document: Option<String>,
    pub annexes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_papier: Option<String>,
}

/// Referent of an envelope.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Referent {
    pub nom: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
}

/// Envelope collectivité → ministère (`EnveloppeCLMISILL`, also inside an `AnomalieEnveloppe`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CollectiviteEnvelope {
    pub siren: Option<String>,
    pub departement: Option<String>,
    pub arrondissement: Option<String>,
    pub nature_collectivite: Option<String>,
    pub referent: Option<Referent>,
    pub adresses_retour: Vec<String>,
    pub formulaires: Vec<String>,
}

/// Envelope préfecture → collectivité (`EnveloppeMISILLCL`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrefectureEnvelope {
    /// `IDSGAR`, `IDPref` or `IDSousPref`.
    pub emetteur: Option<String>,
    /// The sender in French ("sous-préfecture 1 du département 001").
    pub emetteur_libelle: String,
    pub departement: Option<String>,
    pub arrondissement: Option<String>,
    pub referent: Option<Referent>,
    pub formulaires: Vec<String>,
    pub destinataire_siren: Option<String>,
}

/// One nature of a 7-2 classification, with the typologies of documents it allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NatureResume {
    pub code: Option<String>,
    pub libelle: Option<String>,
    pub typologies: Vec<TypologieResume>,
}

/// A typology of document (`CodeTypePJ`, e.g. `99_DE`) allowed for a nature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypologieResume {
    pub code: Option<String>,
    pub libelle: Option<String>,
}

/// How many matières a 7-2 classification holds: the first level, and all levels together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatieresResume {
    pub premier_niveau: usize,
    pub total: usize,
}

/// What is particular to each kind of message.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// 1-1
    Acte {
        acte: ActeData,
    },
    /// 1-2
    AccuseReception {
        date_reception: Option<String>,
        classification_en_cours: Option<String>,
        acte_recu: Option<ActeData>,
    },
    /// 1-3
    AnomalieActe {
        date: Option<String>,
        nature: Option<String>,
        detail: Option<String>,
        classification_en_cours: Option<String>,
        acte_recu: Option<ActeData>,
    },
    /// 2-1, 2-2, 3-1 … 3-4, 4-1 … 4-4.
    Courrier {
        date_courrier: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        description_pieces: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        motif: Option<String>,
    },
    /// 3-5, 4-5: acknowledgement of the collectivité's answer.
    AccuseReponse {
        date_reception: Option<String>,
        date_courrier: Option<String>,
    },
    /// 5-1
    DefereTA {
        date_depot: Option<String>,
        nature_illegalite: Option<String>,
    },
    /// 6-1, 6-2
    Annulation {
        date_reception: Option<String>,
    },
    /// 7-1, 7-2, 7-3. A 7-2 also carries its content, summed up here; `actes::classification`
    /// reads it in full for the act's form.
    Classification {
        date_classification: Option<String>,
        /// The natures with their typologies (7-2 only; empty otherwise).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        natures: Vec<NatureResume>,
        /// How many matières the classification holds, all levels together (7-2 only).
        #[serde(skip_serializing_if = "Option::is_none")]
        matieres: Option<MatieresResume>,
    },
    EnveloppeCollectivite(CollectiviteEnvelope),
    EnveloppePrefecture(PrefectureEnvelope),
    AnomalieEnveloppe {
        date: Option<String>,
        nature: Option<String>,
        detail: Option<String>,
        enveloppe_recue: Option<CollectiviteEnvelope>,
    },
}

/// An ACTES message, envelope or envelope anomaly, read.
#[derive(Debug, Clone, Serialize)]
pub struct ActesMessage {
    /// The type code (`1-2`…), see [`MessageKind::code`].
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// Root element (local name).
    pub racine: String,
    /// What the message is, in French ("Accusé de réception"…).
    pub libelle: String,
    pub origine: Origin,
    /// Name of the archive member the message was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fichier: Option<String>,
    /// Identifier of the act concerned, when the message carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_acte: Option<String>,
    /// The main date of the message (reception, letter, anomaly, déféré, classification…),
    /// `AAAA-MM-JJ` as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The files the message carries: the letter's document, pieces, the act and its annexes.
    pub documents: Vec<DocumentRef>,
    pub details: Details,
    /// Encoding the message was written in.
    pub encodage: &'static str,
    /// Departures from `actesv1_1.xsd` (the message is read all the same), in French.
    pub avertissements: Vec<String>,
}

impl ActesMessage {
    /// The files listed by an envelope (`FormulairesEnvoyes`).
    pub fn formulaires(&self) -> &[String] {
        match &self.details {
            Details::EnveloppeCollectivite(e) => &e.formulaires,
            Details::EnveloppePrefecture(e) => &e.formulaires,
            _ => &[],
        }
    }

    /// `DateCourrierPref` of a courrier (what an answer must quote).
    pub fn date_courrier(&self) -> Option<&str> {
        match &self.details {
            Details::Courrier { date_courrier, .. }
            | Details::AccuseReponse { date_courrier, .. } => date_courrier.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::from_root(k.root()), Some(k));
            assert_eq!(MessageKind::from_code(k.code()), Some(k));
            assert!(!k.label().starts_with('⟦'), "{}", k.code());
        }
    }
}
