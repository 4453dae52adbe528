//! PES_Acquit: the DGFiP's acknowledgement, per bordereau or PJ accepted or rejected with its
//! error codes. Also reads the `PES_ACQUIT_RETOUR` variant (acknowledgement of a returned file).

use crate::messages::{t, tf};
use crate::xml::{C14nError, XmlReader};
use quick_xml::events::Event;
use serde::Serialize;
use std::io::Read;

#[derive(Debug, Clone, Serialize)]
pub struct AckError {
    pub code: String,
    /// The label sent by Hélios, as is.
    pub libelle: String,
    /// What it means, in French words of the field.
    pub explication: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AckElement {
    /// Accepted (EtatAck = 1).
    pub etat: bool,
    pub domaine: Option<u32>,
    pub domaine_libelle: String,
    pub bordereau: Option<String>,
    pub exercice: Option<String>,
    /// PJ (or other piece) identifier, when the element concerns one.
    pub id_unique: Option<String>,
    pub erreurs: Vec<AckError>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Acquit {
    pub nom_fic: Option<String>,
    pub id_coll: Option<String>,
    pub cod_col: Option<String>,
    pub date: Option<String>,
    pub elements: Vec<AckElement>,
    /// Elements of the acknowledgement's body that are not `ElementACQUIT` (a file made against
    /// another schema, say): what they say is not read, so they are named rather than dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elements_inconnus: Vec<UnknownElement>,
}

/// An element of the acknowledgement's body that Paraphe does not know, with its line.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownElement {
    pub nom: String,
    pub ligne: u64,
}

impl Acquit {
    /// Everything accepted — and everything read: an element not understood may hold a refusal.
    pub fn accepted(&self) -> bool {
        !self.elements.is_empty()
            && self.elements.iter().all(|e| e.etat)
            && self.elements_inconnus.is_empty()
    }

    /// The warnings to show beside the elements, in French.
    pub fn warnings(&self) -> Vec<String> {
        self.elements_inconnus
            .iter()
            .map(|u| {
                tf(
                    "acquit.element_inconnu",
                    &[("nom", &u.nom), ("ligne", &u.ligne.to_string())],
                )
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AcquitError {
    #[error("{0}")]
    Xml(#[from] C14nError),
    #[error("{}", tf("acquit.mauvaise_racine", &[("racine", .0)]))]
    WrongRoot(String),
}

/// DomaineAck in words (reference notes: 0 technique … 99 paramétrage).
pub fn domain_label(domain: u32) -> String {
    let text = t(&format!("acquit.domaine_{domain}"));
    if text.starts_with('⟦') {
        tf("acquit.domaine_autre", &[("code", &domain.to_string())])
    } else {
        text
    }
}

/// NumAnoAck in words; unknown codes keep Hélios' own label.
pub fn error_explanation(code: &str) -> String {
    let key = format!("acquit.erreur.{}", code.to_ascii_lowercase());
    let text = t(&key);
    if text.starts_with('⟦') {
        t("acquit.erreur_inconnue")
    } else {
        text
    }
}

pub fn read_acquit<R: Read>(input: R) -> Result<Acquit, AcquitError> {
    let mut reader = XmlReader::new(input)?;
    let mut acquit = Acquit::default();
    let mut path: Vec<String> = Vec::new();
    let mut current: Option<AckElement> = None;
    let mut error: Option<(String, String)> = None;
    loop {
        let (event, info) = reader.read_event_with_info()?;
        match &event {
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) => {
                let (_, local) = info.element_name().unwrap_or((None, ""));
                let local = local.to_owned();
                if path.is_empty() && local != "PES_ACQUIT" && local != "PES_ACQUIT_RETOUR" {
                    return Err(AcquitError::WrongRoot(local));
                }
                let v = info.attribute("V").map(str::to_owned);
                let parent = path.last().map(String::as_str).unwrap_or("");
                match (local.as_str(), parent) {
                    ("NomFic", "Parametres") => acquit.nom_fic = v,
                    ("IdColl", "EnTetePES") => acquit.id_coll = v,
                    ("CodCol" | "CodColl", "EnTetePES") => acquit.cod_col = v,
                    ("DteStr", "EnTetePES") => acquit.date = v,
                    ("ElementACQUIT" | "ElementACQUIT_RETOUR", _) => {
                        current = Some(AckElement::default())
                    }
                    (name, "ACQUIT" | "ACQUIT_RETOUR")
                        if name != "EnTeteAcquit" && name != "EnTeteAcquit_Retour" =>
                    {
                        acquit.elements_inconnus.push(UnknownElement {
                            nom: name.to_owned(),
                            ligne: info.position().line,
                        })
                    }
                    ("Erreur", _) => error = Some((String::new(), String::new())),
                    ("NumAnoAck", "Erreur") => {
                        if let Some(e) = error.as_mut() {
                            e.0 = v.unwrap_or_default();
                        }
                    }
                    ("LibelleAnoAck", "Erreur") => {
                        if let Some(e) = error.as_mut() {
                            e.1 = v.unwrap_or_default();
                        }
                    }
                    (name, _) => {
                        if let Some(el) = current.as_mut() {
                            match name {
                                "DomaineAck" | "DomaineAckRetour" => {
                                    el.domaine = v.and_then(|s| s.trim().parse().ok())
                                }
                                "EtatAck" => el.etat = v.as_deref().map(str::trim) == Some("1"),
                                "NumBord" => el.bordereau = v,
                                "ExerciceBord" => el.exercice = v,
                                "IdUnique" | "NomFichierRetour" => el.id_unique = v,
                                _ => {}
                            }
                        }
                    }
                }
                if matches!(event, Event::Start(_)) {
                    path.push(local);
                }
            }
            Event::End(_) => {
                let ended = path.pop().unwrap_or_default();
                match ended.as_str() {
                    "Erreur" => {
                        if let (Some((code, libelle)), Some(el)) = (error.take(), current.as_mut())
                        {
                            el.erreurs.push(AckError {
                                explication: error_explanation(&code),
                                code,
                                libelle,
                            });
                        }
                    }
                    "ElementACQUIT" | "ElementACQUIT_RETOUR" => {
                        if let Some(mut el) = current.take() {
                            if ended == "ElementACQUIT_RETOUR" && el.erreurs.is_empty() {
                                // An acknowledgement of a returned file has no EtatAck.
                                el.etat = true;
                            }
                            el.domaine_libelle = el.domaine.map(domain_label).unwrap_or_default();
                            acquit.elements.push(el);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(acquit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<n:PES_ACQUIT xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller/ack">
<Enveloppe><Parametres><NomFic V="PESALR2_X.xml"/></Parametres></Enveloppe>
<EnTetePES><DteStr V="2026-12-07"/><IdColl V="21000000000000"/><CodCol V="001"/></EnTetePES>
<ACQUIT>
<EnTeteAcquit><IdVer V="2"/></EnTeteAcquit>
<ElementACQUIT><DomaineAck V="01"/><EtatAck V="1"/><NumBord V="12"/></ElementACQUIT>
"#;

    #[test]
    fn an_unknown_element_of_the_body_withholds_acceptance_and_is_named() {
        let known = format!("{HEAD}</ACQUIT></n:PES_ACQUIT>");
        let acquit = read_acquit(known.as_bytes()).expect("lu");
        assert!(acquit.accepted(), "{acquit:?}");
        assert!(acquit.warnings().is_empty());

        let hidden = format!(
            "{HEAD}<ElementACQUIT_V9><EtatAck V=\"0\"/></ElementACQUIT_V9></ACQUIT></n:PES_ACQUIT>"
        );
        let acquit = read_acquit(hidden.as_bytes()).expect("lu");
        assert!(
            !acquit.accepted(),
            "un élément non lu ne vaut pas acceptation"
        );
        assert_eq!(acquit.elements_inconnus.len(), 1);
        assert_eq!(acquit.elements_inconnus[0].nom, "ElementACQUIT_V9");
        assert_eq!(acquit.elements_inconnus[0].ligne, 8);
        let warnings = acquit.warnings();
        assert!(warnings[0].contains("ElementACQUIT_V9"), "{warnings:?}");
    }
}
