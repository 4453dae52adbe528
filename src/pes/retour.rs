//! PES_Retour: what the comptable sends back to the collectivité (the state of its bordereaux and
//! pieces in Hélios: taken in charge, rejected, paid…). Read in one pass for a summary; the file
//! itself is kept as received.

use crate::messages::tf;
use crate::xml::{C14nError, XmlReader};
use quick_xml::events::Event;
use serde::Serialize;
use std::io::Read;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetourPiece {
    pub id: Option<String>,
    pub objet: Option<String>,
    /// EtatPce as sent (01, 02…).
    pub etat: Option<String>,
    pub date_prise_en_charge: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetourBordereau {
    pub exercice: Option<String>,
    pub numero: Option<String>,
    pub type_bordereau: Option<String>,
    pub pieces: Vec<RetourPiece>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Retour {
    /// TypFic, e.g. PESRETOUR_DEP.
    pub type_fichier: Option<String>,
    pub nom_fic: Option<String>,
    pub date: Option<String>,
    pub id_post: Option<String>,
    pub id_coll: Option<String>,
    pub cod_coll: Option<String>,
    pub cod_bud: Option<String>,
    pub bordereaux: Vec<RetourBordereau>,
}

#[derive(Debug, thiserror::Error)]
pub enum RetourError {
    #[error("{0}")]
    Xml(#[from] C14nError),
    #[error("{}", tf("retour.mauvaise_racine", &[("racine", .0)]))]
    WrongRoot(String),
    #[error("{}", crate::messages::t("retour.incomplet"))]
    Truncated,
    /// A piece none of whose fields was read (neither in `InfoPiece`, as in a dépense retour,
    /// nor directly in `BlocPiece`, as in a recette retour): rank of the piece in its bordereau,
    /// and the bordereau's number or rank.
    #[error("{}", tf("retour.piece_illisible", &[("piece", &.0.to_string()), ("bordereau", .1)]))]
    UnreadPiece(usize, String),
}

impl RetourPiece {
    fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.objet.is_none()
            && self.etat.is_none()
            && self.date_prise_en_charge.is_none()
    }
}

/// Read a PES_Retour (no DTD, no entities: the XML reader refuses them).
pub fn read_retour<R: Read>(input: R) -> Result<Retour, RetourError> {
    let mut reader = XmlReader::new(input)?;
    let mut retour = Retour::default();
    let mut path: Vec<String> = Vec::new();
    let mut seen_root = false;
    loop {
        let (event, info) = reader.read_event_with_info()?;
        match &event {
            Event::Eof if !seen_root || !path.is_empty() => return Err(RetourError::Truncated),
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) => {
                let (_, local) = info.element_name().unwrap_or((None, ""));
                let local = local.to_owned();
                if path.is_empty() && local != "PES_Retour" {
                    return Err(RetourError::WrongRoot(local));
                }
                seen_root = true;
                let v = info.attribute("V").map(str::to_owned);
                let parent = path.last().map(String::as_str).unwrap_or("");
                match (local.as_str(), parent) {
                    ("TypFic", "Parametres") => retour.type_fichier = v,
                    ("NomFic", "Parametres") => retour.nom_fic = v,
                    ("DteStr", "EnTetePES") => retour.date = v,
                    ("IdPost", "EnTetePES") => retour.id_post = v,
                    ("IdColl", "EnTetePES") => retour.id_coll = v,
                    ("CodColl" | "CodCol", "EnTetePES") => retour.cod_coll = v,
                    ("CodBud", "EnTetePES") => retour.cod_bud = v,
                    ("Bordereau", _) => retour.bordereaux.push(RetourBordereau::default()),
                    ("Piece", _) => {
                        if let Some(b) = retour.bordereaux.last_mut() {
                            b.pieces.push(RetourPiece::default());
                        }
                    }
                    (name, "BlocBordereau") => {
                        if let Some(b) = retour.bordereaux.last_mut() {
                            match name {
                                "Exer" => b.exercice = v,
                                "IdBord" => b.numero = v,
                                "TypBord" => b.type_bordereau = v,
                                _ => {}
                            }
                        }
                    }
                    // A dépense retour puts them in InfoPiece, a recette retour (the DGFiP's
                    // example) directly in BlocPiece.
                    (name, "InfoPiece" | "BlocPiece")
                        if path.len() >= 2 && path[path.len() - 2] == "Piece" =>
                    {
                        let piece = retour
                            .bordereaux
                            .last_mut()
                            .and_then(|b| b.pieces.last_mut());
                        if let Some(p) = piece {
                            match name {
                                "IdPce" => p.id = v,
                                "Obj" | "ObjPce" => p.objet = v,
                                "EtatPce" => p.etat = v,
                                "DtePcePec" => p.date_prise_en_charge = v,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    path.push(local);
                }
            }
            Event::End(_) => {
                if path.pop().as_deref() == Some("Piece")
                    && let Some(b) = retour.bordereaux.last()
                    && b.pieces.last().is_some_and(RetourPiece::is_empty)
                {
                    let bordereau = b
                        .numero
                        .clone()
                        .unwrap_or_else(|| format!("(rang {})", retour.bordereaux.len()));
                    return Err(RetourError::UnreadPiece(b.pieces.len(), bordereau));
                }
            }
            _ => {}
        }
    }
    Ok(retour)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_retour_is_summarised_and_other_roots_refused() {
        let xml = br#"<?xml version="1.0" encoding="ISO-8859-1"?>
<n:PES_Retour xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour"><Enveloppe><Parametres><TypFic V="PESRETOUR_DEP"/><NomFic V="R.xml"/></Parametres></Enveloppe>
<EnTetePES><DteStr V="2026-11-27"/><IdColl V="21000000000012"/></EnTetePES><PES_DepenseRetour><Bordereau><BlocBordereau><Exer V="2026"/><IdBord V="12"/></BlocBordereau>
<Piece><InfoPiece><IdPce V="3"/><Obj V="Fournitures &#233;cole"/><EtatPce V="01"/></InfoPiece></Piece><Piece><InfoPiece><IdPce V="4"/></InfoPiece></Piece></Bordereau></PES_DepenseRetour></n:PES_Retour>"#;
        let r = read_retour(&xml[..]).unwrap();
        assert_eq!(r.type_fichier.as_deref(), Some("PESRETOUR_DEP"));
        assert_eq!(r.bordereaux.len(), 1);
        assert_eq!(r.bordereaux[0].numero.as_deref(), Some("12"));
        assert_eq!(r.bordereaux[0].pieces.len(), 2);
        assert_eq!(
            r.bordereaux[0].pieces[0].objet.as_deref(),
            Some("Fournitures école")
        );
        assert!(matches!(
            read_retour(&b"<PES_ACQUIT/>"[..]),
            Err(RetourError::WrongRoot(_))
        ));
        assert!(read_retour(&b"<html><body>erreur"[..]).is_err());
        let cut = &xml[..xml.len() - 40];
        assert!(read_retour(cut).is_err(), "cut inside a tag");
        let end = xml.len() - "</n:PES_Retour>".len();
        assert!(read_retour(&xml[..end]).is_err(), "root never closed");
        assert!(read_retour(&b""[..]).is_err(), "empty file");
    }

    #[test]
    fn a_recette_retour_is_read_from_bloc_piece_and_an_unread_piece_is_an_error() {
        let xml = br#"<n:PES_Retour xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour"><PES_RecetteRetour><Bordereau><BlocBordereau><IdBord V="44"/></BlocBordereau>
<Piece><BlocPiece><IdPce V="1449"/><ObjPce V="Loyer"/><EtatPce V="02"/><DtePcePec V="2006-01-16"/></BlocPiece><LigneDePiece><BlocLignePiece><InfoLignePiece><IdLigne V="1"/></InfoLignePiece></BlocLignePiece></LigneDePiece></Piece></Bordereau></PES_RecetteRetour></n:PES_Retour>"#;
        let r = read_retour(&xml[..]).unwrap();
        let p = &r.bordereaux[0].pieces[0];
        assert_eq!(p.id.as_deref(), Some("1449"));
        assert_eq!(p.objet.as_deref(), Some("Loyer"));
        assert_eq!(p.etat.as_deref(), Some("02"));
        assert_eq!(p.date_prise_en_charge.as_deref(), Some("2006-01-16"));
        let odd = br#"<n:PES_Retour xmlns:n="x"><PES_RecetteRetour><Bordereau><BlocBordereau><IdBord V="7"/></BlocBordereau><Piece><Autre><IdPce V="1"/></Autre></Piece></Bordereau></PES_RecetteRetour></n:PES_Retour>"#;
        let err = read_retour(&odd[..]).unwrap_err();
        assert!(
            matches!(err, RetourError::UnreadPiece(1, ref b) if b == "7"),
            "{err:?}"
        );
        assert!(err.to_string().contains("pièce n° 1"), "{err}");
    }
}
