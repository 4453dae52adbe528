//! Reading one message: the tree of an XML message ([`tree`](super::tree)), checked against the
//! schema ([`check`](super::check)), turned into an [`ActesMessage`] — the dates, the
//! identifiers, the files it names, and for a 7-2 a summary of the classification it carries.
//! The archives read their XML members through [`read_message_with_limits`].

use std::io::Read;

use super::check::check;
use super::error::{ActesReadError, ReadLimits};
use super::model::{
    ActeData, ActesMessage, CollectiviteEnvelope, Details, DocumentRef, DocumentRole,
    MatieresResume, MessageKind, NatureResume, PrefectureEnvelope, Referent, TypologieResume,
};
use super::schema::definition;
use super::tree::{Node, parse_tree};
use crate::messages::{t, tf};

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
// Summaries of a classification (7-2)
// ---------------------------------------------------------------------------------------------

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
