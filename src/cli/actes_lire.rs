//! `paraphe actes lire FICHIER [--json]`: reads any ACTES message, envelope or archive and says
//! what it is, in French (or as JSON). Exit code 0 when read, 2 when it cannot be.

use std::path::PathBuf;

use crate::actes::answers::AnswerKind;
use crate::actes::messages::{
    ActeData, ActesArchive, ActesMessage, CollectiviteEnvelope, Details, DocumentRole, FileRole,
    NatureResume, Origin, Reading, Referent, human_size, read_file,
};
use crate::messages::{t, tf};

#[derive(Debug, clap::Args)]
pub struct ActesLireArgs {
    /// Message, enveloppe ou archive.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

pub fn lire(args: &ActesLireArgs) -> i32 {
    let reading = match read_file(&args.fichier) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&reading) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("{} : {e}", t("commun.erreur"));
                return 2;
            }
        }
    } else {
        let mut out = String::new();
        match &reading {
            Reading::Message(m) => describe_message(m, &mut out),
            Reading::Archive(a) => describe_archive(a, &mut out),
        }
        print!("{out}");
    }
    0
}

/// `AAAA-MM-JJ` as `JJ/MM/AAAA`; anything else as written.
fn date_fr(date: &str) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => format!("{d}/{m}/{y}"),
        _ => date.to_owned(),
    }
}

fn line(out: &mut String, indent: &str, label_key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.push_str(&format!("{indent}{} : {v}\n", t(label_key)));
    }
}

fn date_line(out: &mut String, indent: &str, label_key: &str, value: Option<&str>) {
    line(out, indent, label_key, value.map(date_fr).as_deref());
}

fn describe_message(m: &ActesMessage, out: &mut String) {
    let origin = match m.origine {
        Origin::Prefecture => t("actes_lire.de_la_prefecture"),
        Origin::Collectivite => t("actes_lire.de_la_collectivite"),
    };
    if m.kind.is_envelope() {
        out.push_str(&format!("{} — {origin}\n", m.libelle));
    } else {
        out.push_str(&format!("{} ({}) — {origin}\n", m.libelle, m.kind.code()));
    }
    let i = "  ";
    line(out, i, "actes_lire.fichier", m.fichier.as_deref());
    line(out, i, "actes_lire.acte", m.id_acte.as_deref());
    match &m.details {
        // Its files are listed below with the documents.
        Details::Acte { acte } => describe_acte(acte, false, i, out),
        Details::AccuseReception {
            date_reception,
            classification_en_cours,
            acte_recu,
        } => {
            date_line(out, i, "actes_lire.recu_le", date_reception.as_deref());
            date_line(
                out,
                i,
                "actes_lire.classification_en_cours",
                classification_en_cours.as_deref(),
            );
            if let Some(acte) = acte_recu {
                describe_acte(acte, true, i, out);
                if let (Some(used), Some(current)) =
                    (&acte.classification_date_version, classification_en_cours)
                    && used != current
                {
                    out.push_str(&format!(
                        "{i}{}\n",
                        tf(
                            "actes_lire.classification_perimee",
                            &[
                                ("utilisee", &date_fr(used)),
                                ("en_cours", &date_fr(current))
                            ],
                        )
                    ));
                }
            }
        }
        Details::AnomalieActe {
            date,
            nature,
            detail,
            classification_en_cours,
            acte_recu,
        } => {
            date_line(out, i, "actes_lire.date_anomalie", date.as_deref());
            line(out, i, "actes_lire.nature_anomalie", nature.as_deref());
            line(out, i, "actes_lire.detail", detail.as_deref());
            date_line(
                out,
                i,
                "actes_lire.classification_en_cours",
                classification_en_cours.as_deref(),
            );
            if let Some(acte) = acte_recu {
                describe_acte(acte, true, i, out);
            }
        }
        Details::Courrier {
            date_courrier,
            description_pieces,
            motif,
        } => {
            date_line(out, i, "actes_lire.date_courrier", date_courrier.as_deref());
            line(
                out,
                i,
                "actes_lire.pieces_demandees",
                description_pieces.as_deref(),
            );
            line(out, i, "actes_lire.motif", motif.as_deref());
        }
        Details::AccuseReponse {
            date_reception,
            date_courrier,
        } => {
            date_line(out, i, "actes_lire.recu_le", date_reception.as_deref());
            date_line(out, i, "actes_lire.date_courrier", date_courrier.as_deref());
        }
        Details::DefereTA {
            date_depot,
            nature_illegalite,
        } => {
            date_line(out, i, "actes_lire.date_depot", date_depot.as_deref());
            line(
                out,
                i,
                "actes_lire.nature_illegalite",
                nature_illegalite.as_deref(),
            );
        }
        Details::Annulation { date_reception } => {
            date_line(out, i, "actes_lire.recu_le", date_reception.as_deref());
        }
        Details::Classification {
            date_classification,
            natures,
            matieres,
        } => {
            date_line(
                out,
                i,
                "actes_lire.date_classification",
                date_classification.as_deref(),
            );
            if let Some(m) = matieres {
                out.push_str(&format!(
                    "{i}{}\n",
                    tf(
                        "actes_lire.matieres",
                        &[
                            ("premier_niveau", &m.premier_niveau.to_string()),
                            ("total", &m.total.to_string()),
                        ]
                    )
                ));
            }
            let natures: Vec<String> = natures.iter().map(describe_nature).collect();
            list(out, i, "actes_lire.natures", &natures);
        }
        Details::EnveloppeCollectivite(e) => describe_collectivite(e, i, out),
        Details::EnveloppePrefecture(e) => {
            line(out, i, "actes_lire.emetteur", Some(&e.emetteur_libelle));
            describe_referent(e.referent.as_ref(), i, out);
            line(
                out,
                i,
                "actes_lire.destinataire",
                e.destinataire_siren.as_deref(),
            );
            list(out, i, "actes_lire.formulaires", &e.formulaires);
        }
        Details::AnomalieEnveloppe {
            date,
            nature,
            detail,
            enveloppe_recue,
        } => {
            date_line(out, i, "actes_lire.date_anomalie", date.as_deref());
            line(out, i, "actes_lire.nature_anomalie", nature.as_deref());
            line(out, i, "actes_lire.detail", detail.as_deref());
            if let Some(e) = enveloppe_recue {
                out.push_str(&format!("{i}{} :\n", t("actes_lire.enveloppe_refusee")));
                describe_collectivite(e, "    ", out);
            }
        }
    }
    if !m.documents.is_empty() {
        out.push_str(&format!("{i}{} :\n", t("actes_lire.documents")));
        for d in &m.documents {
            let role = match d.role {
                DocumentRole::Acte => t("actes_lire.role_acte"),
                DocumentRole::Annexe => t("actes_lire.role_annexe"),
                DocumentRole::Courrier => t("actes_lire.role_courrier"),
                DocumentRole::Piece => t("actes_lire.role_piece"),
            };
            let mut s = format!("{i}  - {} ({role}", d.nom);
            if let Some(size) = d.taille {
                s.push_str(&format!(", {}", human_size(size)));
            }
            if let Some(kind) = d.nature {
                s.push_str(&format!(", {}", kind.label()));
            }
            if d.signe {
                s.push_str(&format!(", {}", t("actes_lire.signe")));
            }
            s.push_str(")\n");
            out.push_str(&s);
        }
    }
    let answers = AnswerKind::answers_to(m.kind);
    if !answers.is_empty() {
        out.push_str(&format!("{i}{} :\n", t("actes_lire.reponses_possibles")));
        for a in answers {
            out.push_str(&format!("{i}  - {} ({})\n", a.label(), a.code()));
        }
    }
    if !m.avertissements.is_empty() {
        out.push_str(&format!("{i}{} :\n", t("actes_lire.ecarts_schema")));
        for w in &m.avertissements {
            out.push_str(&format!("{i}  - {w}\n"));
        }
    }
}

fn describe_acte(acte: &ActeData, with_files: bool, indent: &str, out: &mut String) {
    line(
        out,
        indent,
        "actes_lire.numero_interne",
        acte.numero_interne.as_deref(),
    );
    date_line(
        out,
        indent,
        "actes_lire.date_decision",
        acte.date_decision.as_deref(),
    );
    line(
        out,
        indent,
        "actes_lire.nature",
        acte.code_nature.as_deref(),
    );
    if !acte.matieres.is_empty() {
        line(
            out,
            indent,
            "actes_lire.matiere",
            Some(&acte.matieres.join(".")),
        );
    }
    line(out, indent, "actes_lire.objet", acte.objet.as_deref());
    line(
        out,
        indent,
        "actes_lire.precedent",
        acte.precedent_id_acte.as_deref(),
    );
    date_line(
        out,
        indent,
        "actes_lire.classification_utilisee",
        acte.classification_date_version.as_deref(),
    );
    if with_files {
        line(
            out,
            indent,
            "actes_lire.document_acte",
            acte.document.as_deref(),
        );
        list(out, indent, "actes_lire.annexes", &acte.annexes);
    }
}

fn describe_referent(referent: Option<&Referent>, indent: &str, out: &mut String) {
    if let Some(r) = referent {
        let parts: Vec<&str> = [&r.nom, &r.telephone, &r.email]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        if !parts.is_empty() {
            line(out, indent, "actes_lire.referent", Some(&parts.join(", ")));
        }
    }
}

fn describe_collectivite(e: &CollectiviteEnvelope, indent: &str, out: &mut String) {
    let what = tf(
        "actes_lire.collectivite_valeur",
        &[
            ("siren", e.siren.as_deref().unwrap_or("?")),
            ("departement", e.departement.as_deref().unwrap_or("?")),
            ("arrondissement", e.arrondissement.as_deref().unwrap_or("?")),
            ("nature", e.nature_collectivite.as_deref().unwrap_or("?")),
        ],
    );
    line(out, indent, "actes_lire.collectivite", Some(&what));
    describe_referent(e.referent.as_ref(), indent, out);
    if !e.adresses_retour.is_empty() {
        line(
            out,
            indent,
            "actes_lire.adresses_retour",
            Some(&e.adresses_retour.join(", ")),
        );
    }
    list(out, indent, "actes_lire.formulaires", &e.formulaires);
}

/// « 1 — Délibérations : 99_DE, 22_PL » (code, label, allowed typologies).
fn describe_nature(n: &NatureResume) -> String {
    let codes: Vec<&str> = n
        .typologies
        .iter()
        .filter_map(|ty| ty.code.as_deref())
        .collect();
    let typologies = if codes.is_empty() {
        t("actes_lire.aucune_typologie")
    } else {
        codes.join(", ")
    };
    tf(
        "actes_lire.nature_classee",
        &[
            ("code", n.code.as_deref().unwrap_or("?")),
            ("libelle", n.libelle.as_deref().unwrap_or("")),
            ("typologies", &typologies),
        ],
    )
}

fn list(out: &mut String, indent: &str, label_key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("{indent}{} :\n", t(label_key)));
    for item in items {
        out.push_str(&format!("{indent}  - {item}\n"));
    }
}

fn describe_archive(a: &ActesArchive, out: &mut String) {
    out.push_str(&format!(
        "{}\n",
        tf(
            "actes_lire.archive",
            &[("libelle", &a.libelle), ("type", a.kind.code())],
        )
    ));
    if let Some(id) = &a.id_acte {
        out.push_str(&format!("  {} : {id}\n", t("actes_lire.acte")));
    }
    out.push_str(&format!(
        "  {}\n",
        tf(
            "actes_lire.fichiers",
            &[("nombre", &a.fichiers.len().to_string())],
        )
    ));
    for f in &a.fichiers {
        let role = match (f.role, f.type_message) {
            (FileRole::Enveloppe, _) => t("actes_lire.role_enveloppe"),
            (FileRole::Message, Some(k)) => tf("actes_lire.role_message", &[("type", k.code())]),
            (FileRole::Message, None) => t("actes_lire.role_message_seul"),
            (FileRole::Document, _) => t("actes_lire.role_document"),
            (FileRole::NonReference, _) => t("actes_lire.role_non_reference"),
        };
        out.push_str(&format!(
            "    - {} — {}, {} — {role}\n",
            f.nom,
            human_size(f.taille),
            f.nature.label()
        ));
    }
    if let Some(env) = &a.enveloppe {
        out.push('\n');
        describe_message(env, out);
    }
    for m in &a.messages {
        out.push('\n');
        describe_message(m, out);
    }
    if !a.avertissements.is_empty() {
        out.push_str(&format!("\n{} :\n", t("actes_lire.avertissements_archive")));
        for w in &a.avertissements {
            out.push_str(&format!("  - {w}\n"));
        }
    }
}
