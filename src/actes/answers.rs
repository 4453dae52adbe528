//! The collectivité's answers to the préfecture, built valid against `actesv1_1.xsd`:
//!
//! | code | root element | answers | documents |
//! |---|---|---|---|
//! | 2-2 | `ReponseCourrierSimple` | 2-1 | one |
//! | 3-2 | `ARDemandePieceComplementaire` | 3-1 | none |
//! | 3-3 | `RefusPieceComplementaire` | 3-1 | one |
//! | 3-4 | `PieceComplementaire` | 3-1 | one or more (`Documents`) |
//! | 4-2 | `ARLettreObservations` | 4-1 | none |
//! | 4-3 | `RejetLettreObservations` | 4-1 | one |
//! | 4-4 | `ReponseLettreObservations` | 4-1 | one |
//! | 6-1 | `Annulation` | an act received (1-2) | none |
//!
//! All but 6-1 quote the act (`actes:IDActe`) and the date of the préfecture's letter
//! (`actes:DateCourrierPref`); 6-1 quotes the act only. Written in ISO-8859-1 (as S²LOW does) or
//! UTF-8; a character ISO-8859-1 cannot hold is written as a character reference.

use serde::Serialize;

use crate::actes::messages::{
    ACTES_NS, ActesMessage, MessageKind, Origin, is_id_acte, is_xsd_date,
};
use crate::messages::tf;

/// An answer the collectivité can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AnswerKind {
    /// 2-2
    ReponseCourrierSimple,
    /// 3-2
    ARDemandePieceComplementaire,
    /// 3-3
    RefusPieceComplementaire,
    /// 3-4
    PieceComplementaire,
    /// 4-2
    ARLettreObservations,
    /// 4-3
    RejetLettreObservations,
    /// 4-4
    ReponseLettreObservations,
    /// 6-1
    Annulation,
}

/// How many documents an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentCount {
    None,
    One,
    OneOrMore,
}

impl AnswerKind {
    pub const ALL: [AnswerKind; 8] = [
        AnswerKind::ReponseCourrierSimple,
        AnswerKind::ARDemandePieceComplementaire,
        AnswerKind::RefusPieceComplementaire,
        AnswerKind::PieceComplementaire,
        AnswerKind::ARLettreObservations,
        AnswerKind::RejetLettreObservations,
        AnswerKind::ReponseLettreObservations,
        AnswerKind::Annulation,
    ];

    /// The message kind this answer is.
    pub fn message_kind(self) -> MessageKind {
        match self {
            AnswerKind::ReponseCourrierSimple => MessageKind::ReponseCourrierSimple,
            AnswerKind::ARDemandePieceComplementaire => MessageKind::ARDemandePieceComplementaire,
            AnswerKind::RefusPieceComplementaire => MessageKind::RefusPieceComplementaire,
            AnswerKind::PieceComplementaire => MessageKind::PieceComplementaire,
            AnswerKind::ARLettreObservations => MessageKind::ARLettreObservations,
            AnswerKind::RejetLettreObservations => MessageKind::RejetLettreObservations,
            AnswerKind::ReponseLettreObservations => MessageKind::ReponseLettreObservations,
            AnswerKind::Annulation => MessageKind::Annulation,
        }
    }

    /// Type code (`2-2`…).
    pub fn code(self) -> &'static str {
        self.message_kind().code()
    }

    /// Root element.
    pub fn root(self) -> &'static str {
        self.message_kind().root()
    }

    /// French label.
    pub fn label(self) -> String {
        self.message_kind().label()
    }

    /// The answer with this type code.
    pub fn from_code(code: &str) -> Option<AnswerKind> {
        AnswerKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The préfecture's message this answers (`None` for 6-1, which concerns an act).
    pub fn answers(self) -> Option<MessageKind> {
        match self {
            AnswerKind::ReponseCourrierSimple => Some(MessageKind::CourrierSimple),
            AnswerKind::ARDemandePieceComplementaire
            | AnswerKind::RefusPieceComplementaire
            | AnswerKind::PieceComplementaire => Some(MessageKind::DemandePieceComplementaire),
            AnswerKind::ARLettreObservations
            | AnswerKind::RejetLettreObservations
            | AnswerKind::ReponseLettreObservations => Some(MessageKind::LettreObservations),
            AnswerKind::Annulation => None,
        }
    }

    /// The answers possible to a message of this kind.
    pub fn answers_to(kind: MessageKind) -> Vec<AnswerKind> {
        AnswerKind::ALL
            .into_iter()
            .filter(|a| match a.answers() {
                Some(k) => k == kind,
                None => kind == MessageKind::ARActe,
            })
            .collect()
    }

    pub fn documents(self) -> DocumentCount {
        match self {
            AnswerKind::ARDemandePieceComplementaire
            | AnswerKind::ARLettreObservations
            | AnswerKind::Annulation => DocumentCount::None,
            AnswerKind::PieceComplementaire => DocumentCount::OneOrMore,
            _ => DocumentCount::One,
        }
    }

    /// Quotes the date of the préfecture's letter.
    pub fn needs_letter_date(self) -> bool {
        self != AnswerKind::Annulation
    }
}

/// Encoding of the XML written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputEncoding {
    #[default]
    Latin1,
    Utf8,
}

impl OutputEncoding {
    fn label(self) -> &'static str {
        match self {
            OutputEncoding::Latin1 => "ISO-8859-1",
            OutputEncoding::Utf8 => "UTF-8",
        }
    }
}

/// Why an answer cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("{}", tf("actes_reponses.id_acte_invalide", &[("id", .0)]))]
    IdActe(String),
    #[error("{}", tf("actes_reponses.date_absente", &[("reponse", .0)]))]
    MissingDate(String),
    #[error("{}", tf("actes_reponses.date_invalide", &[("date", .0)]))]
    Date(String),
    #[error("{}", tf("actes_reponses.sans_document", &[("reponse", .reponse), ("nombre", .nombre)]))]
    NoDocumentExpected { reponse: String, nombre: String },
    #[error("{}", tf("actes_reponses.un_document", &[("reponse", .reponse), ("nombre", .nombre)]))]
    OneDocumentExpected { reponse: String, nombre: String },
    #[error("{}", tf("actes_reponses.au_moins_un_document", &[("reponse", .0)]))]
    DocumentsExpected(String),
    #[error("{}", tf("actes_reponses.nom_fichier_invalide", &[("nom", .0)]))]
    FileName(String),
    #[error("{}", tf("actes_reponses.mauvais_message", &[("recu", .recu), ("reponse", .reponse)]))]
    WrongMessage { recu: String, reponse: String },
    #[error("{}", tf("actes_reponses.message_sans_acte", &[("recu", .0)]))]
    NoActe(String),
}

/// An answer to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub kind: AnswerKind,
    /// `actes:IDActe` of the act concerned.
    pub id_acte: String,
    /// `actes:DateCourrierPref`: date of the préfecture's letter (`AAAA-MM-JJ`); not used by 6-1.
    pub date_courrier: Option<String>,
    /// `NomFichier` of each document carried (the letter, the pieces).
    pub documents: Vec<String>,
}

impl Answer {
    pub fn new(
        kind: AnswerKind,
        id_acte: impl Into<String>,
        date_courrier: Option<&str>,
        documents: Vec<String>,
    ) -> Answer {
        Answer {
            kind,
            id_acte: id_acte.into(),
            date_courrier: date_courrier.map(str::to_owned),
            documents,
        }
    }

    /// The answer `kind` to a message received from the préfecture: act and letter date taken
    /// from it, after checking the answer fits the message (2-2 to a 2-1, 3-x to a 3-1, 4-x to a
    /// 4-1, 6-1 to any message of the préfecture that names the act, typically its 1-2).
    pub fn replying_to(
        received: &ActesMessage,
        kind: AnswerKind,
        documents: Vec<String>,
    ) -> Result<Answer, AnswerError> {
        let fits = match kind.answers() {
            Some(expected) => received.kind == expected,
            // An act the préfecture has acknowledged (or written about).
            None => received.origine == Origin::Prefecture && received.id_acte.is_some(),
        };
        if !fits {
            return Err(AnswerError::WrongMessage {
                recu: format!("{} ({})", received.libelle, received.kind.code()),
                reponse: format!("{} ({})", kind.label(), kind.code()),
            });
        }
        let Some(id_acte) = received.id_acte.clone() else {
            return Err(AnswerError::NoActe(received.libelle.clone()));
        };
        let answer = Answer {
            kind,
            id_acte,
            date_courrier: if kind.needs_letter_date() {
                received.date_courrier().map(str::to_owned)
            } else {
                None
            },
            documents,
        };
        answer.check()?;
        Ok(answer)
    }

    /// Checks what the schema requires of the values.
    pub fn check(&self) -> Result<(), AnswerError> {
        if !is_id_acte(&self.id_acte) {
            return Err(AnswerError::IdActe(self.id_acte.clone()));
        }
        if self.kind.needs_letter_date() {
            match &self.date_courrier {
                None => return Err(AnswerError::MissingDate(self.kind.label())),
                Some(d) if !is_xsd_date(d) => return Err(AnswerError::Date(d.clone())),
                Some(_) => {}
            }
        }
        let n = self.documents.len();
        let reponse = || self.kind.label();
        match self.kind.documents() {
            DocumentCount::None if n > 0 => {
                return Err(AnswerError::NoDocumentExpected {
                    reponse: reponse(),
                    nombre: n.to_string(),
                });
            }
            DocumentCount::One if n != 1 => {
                return Err(AnswerError::OneDocumentExpected {
                    reponse: reponse(),
                    nombre: n.to_string(),
                });
            }
            DocumentCount::OneOrMore if n == 0 => {
                return Err(AnswerError::DocumentsExpected(reponse()));
            }
            _ => {}
        }
        for name in &self.documents {
            let bad = name.trim().is_empty()
                || name != name.trim()
                || name.contains(['/', '\\'])
                || name == "."
                || name == ".."
                || name.chars().any(char::is_control);
            if bad {
                return Err(AnswerError::FileName(name.clone()));
            }
        }
        Ok(())
    }

    /// Name of the message file: `{IDActe}-{code}_0.xml`.
    pub fn file_name(&self) -> String {
        format!("{}-{}_0.xml", self.id_acte, self.kind.code())
    }

    /// Name for the `n`-th document (from 1): `{IDActe}-{code}_{n}.{extension}`.
    pub fn document_file_name(&self, n: usize, extension: &str) -> String {
        format!(
            "{}-{}_{n}.{}",
            self.id_acte,
            self.kind.code(),
            extension.trim_start_matches('.')
        )
    }

    /// The XML of the answer, checked first.
    pub fn to_xml(&self, encoding: OutputEncoding) -> Result<Vec<u8>, AnswerError> {
        self.check()?;
        let root = self.kind.root();
        let mut x = String::new();
        x.push_str(&format!(
            "<?xml version=\"1.0\" encoding=\"{}\"?>\n",
            encoding.label()
        ));
        x.push_str(&format!("<actes:{root} xmlns:actes=\"{ACTES_NS}\""));
        x.push_str(&format!(
            " actes:IDActe=\"{}\"",
            escape(&self.id_acte, true, encoding)
        ));
        if self.kind.needs_letter_date()
            && let Some(date) = &self.date_courrier
        {
            x.push_str(&format!(
                " actes:DateCourrierPref=\"{}\"",
                escape(date.trim(), true, encoding)
            ));
        }
        let document = |name: &str, indent: &str| {
            format!(
                "{indent}<actes:Document>\n{indent}  <actes:NomFichier>{}</actes:NomFichier>\n{indent}</actes:Document>\n",
                escape(name, false, encoding)
            )
        };
        match self.kind.documents() {
            DocumentCount::None => x.push_str("/>\n"),
            DocumentCount::One => {
                x.push_str(">\n");
                for name in &self.documents {
                    x.push_str(&document(name, "  "));
                }
                x.push_str(&format!("</actes:{root}>\n"));
            }
            DocumentCount::OneOrMore => {
                x.push_str(">\n  <actes:Documents>\n");
                for name in &self.documents {
                    x.push_str(&document(name, "    "));
                }
                x.push_str(&format!("  </actes:Documents>\n</actes:{root}>\n"));
            }
        }
        Ok(match encoding {
            OutputEncoding::Utf8 => x.into_bytes(),
            // Every character above U+00FF was written as a reference by `escape`.
            OutputEncoding::Latin1 => crate::latin1::encode_lossy(&x),
        })
    }
}

/// Escapes text or an attribute value; in ISO-8859-1, characters above U+00FF become
/// character references.
fn escape(s: &str, attribute: bool, encoding: OutputEncoding) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' | '\n' | '\r' if attribute => out.push_str(&format!("&#x{:X};", u32::from(c))),
            '\r' => out.push_str("&#xD;"),
            c if encoding == OutputEncoding::Latin1 && u32::from(c) > 0xFF => {
                out.push_str(&format!("&#x{:X};", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_keeps_what_it_cannot_hold_as_references() {
        let a = Answer::new(
            AnswerKind::ReponseCourrierSimple,
            "034-491011698-20171207-CL20171227_06-DE",
            Some("2017-12-27"),
            vec!["réponse – € & <1>.pdf".to_owned()],
        );
        let xml = a.to_xml(OutputEncoding::Latin1).expect("valid answer");
        let text: String = xml.iter().map(|&b| char::from(b)).collect();
        assert!(
            text.contains("r\u{e9}ponse &#x2013; &#x20AC; &amp; &lt;1&gt;.pdf"),
            "{text}"
        );
    }

    #[test]
    fn document_counts_are_checked() {
        let id = "034-491011698-20171207-CL20171227_06-DE";
        let no = Answer::new(
            AnswerKind::ARLettreObservations,
            id,
            Some("2017-12-27"),
            vec!["x.pdf".into()],
        );
        assert!(matches!(
            no.check(),
            Err(AnswerError::NoDocumentExpected { .. })
        ));
        let many = Answer::new(
            AnswerKind::PieceComplementaire,
            id,
            Some("2017-12-27"),
            vec![],
        );
        assert!(matches!(
            many.check(),
            Err(AnswerError::DocumentsExpected(_))
        ));
        let date = Answer::new(AnswerKind::ARLettreObservations, id, None, vec![]);
        assert!(matches!(date.check(), Err(AnswerError::MissingDate(_))));
        assert!(
            Answer::new(AnswerKind::Annulation, id, None, vec![])
                .check()
                .is_ok()
        );
    }
}
