//! `paraphe actes lot TABLEAU`: a council's acts in one batch, one row per act (CSV, ODS or
//! XLSX), every row checked before anything is queued (`usecases::act_batch`). Exit code 0 only
//! when every row was queued; 1 when a row is refused (with `--partiel` the valid rows are queued
//! all the same); 2 when the table cannot be read.

use super::error;
use std::path::PathBuf;

use crate::actes::names::StyleNoms;
use crate::messages::{t, tf};
use crate::usecases::act_batch::{self, BatchOptions, BatchReport};
use crate::usecases::prepare_act::Demande;

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ActesLotArgs {
    /// Tableau des actes, une ligne par acte (CSV, ODS ou XLSX), colonnes : numero, date,
    /// nature, matiere, objet, acte, typologie, annexes (« plan.pdf:22_PL | note.pdf:99_AU »),
    /// classification.
    #[arg(value_name = "TABLEAU", required_unless_present = "modele")]
    pub tableau: Option<PathBuf>,
    /// Dossier où chercher les fichiers nommés dans le tableau (sinon celui du tableau).
    #[arg(long, value_name = "DOSSIER")]
    pub dossier: Option<PathBuf>,
    /// Met en file les lignes valides même si d'autres sont refusées.
    #[arg(long)]
    pub partiel: bool,
    /// Met les actes en file « préparé », à signer ensuite (paraphe envois signer ID…).
    #[arg(long = "a-signer")]
    pub a_signer: bool,
    /// Écrit un modèle de tableau vide (CSV : noms des colonnes et une ligne d'exemple).
    #[arg(long, value_name = "FICHIER.csv", conflicts_with = "tableau")]
    pub modele: Option<PathBuf>,
    /// Classification reçue de la préfecture, pour les lignes qui n'en nomment pas (sinon la
    /// dernière enregistrée sur ce poste).
    #[arg(long, value_name = "FICHIER.xml")]
    pub classification: Option<PathBuf>,
    /// Noms des fichiers de l'archive : s2low (date de décision) ou stela (date du jour).
    #[arg(long, value_name = "s2low|stela")]
    pub style: Option<String>,
    /// The collectivité, overriding the settings (and `--json`).
    #[command(flatten)]
    pub emetteur: super::actes_repondre::EmetteurArgs,
}

/// `paraphe actes lot`
pub fn lot(args: &ActesLotArgs) -> i32 {
    if let Some(modele) = &args.modele {
        return match act_batch::write_model(modele) {
            Ok(()) => {
                if args.emetteur.json {
                    let doc = serde_json::json!({ "modele": modele });
                    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                } else {
                    println!(
                        "{}",
                        tf(
                            "actes_lot.modele_ecrit",
                            &[("chemin", &modele.display().to_string())]
                        )
                    );
                }
                0
            }
            Err(e) => error(&e.to_string()),
        };
    }
    let Some(tableau) = &args.tableau else {
        return error(&t("actes_lot.vide"));
    };
    let lines = match act_batch::read_table(tableau, args.dossier.as_deref()) {
        Ok(l) => l,
        Err(e) => return error(&e.to_string()),
    };
    // Every row naming its collectivité: none needs choosing for the batch as a whole.
    let every_row_names_one = lines.iter().all(|l| l.collectivite.is_some());
    let settings = match (&args.emetteur.collectivite, every_row_names_one) {
        (None, true) => crate::settings::Settings::load().map_err(|e| e.to_string()),
        _ => super::actes_repondre::settings_for(&args.emetteur),
    };
    let settings = match settings {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let collectivite = super::actes_repondre::collectivite(&args.emetteur, &settings);
    let style = match &args.style {
        Some(s) => match StyleNoms::parse(s) {
            Some(style) => style,
            None => return error(&tf("ligne_de_commande.valeur_invalide", &[("valeur", s)])),
        },
        None => settings.collectivite.style_noms,
    };
    let qui = crate::platform::sender::who();
    let report = act_batch::run_batch(
        &lines,
        &BatchOptions {
            demande: Demande {
                settings: &settings,
                collectivite: &collectivite,
                style,
                classification: args.classification.as_deref(),
                for_sending: false,
                document_papier: false,
            },
            partiel: args.partiel,
            a_signer: args.a_signer,
            qui: &qui,
        },
    );
    if args.emetteur.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_report(&report, args.a_signer);
    }
    if report.refuses == 0 { 0 } else { 1 }
}

fn print_report(report: &BatchReport, a_signer: bool) {
    for r in &report.lignes {
        let etat = match r.id {
            Some(id) if a_signer => tf("actes_lot.ligne_a_signer", &[("id", &id.to_string())]),
            Some(id) => tf("actes_lot.ligne_en_file", &[("id", &id.to_string())]),
            None if r.constats.iter().any(|f| f.is_blocking()) => t("actes_lot.ligne_refusee"),
            None => t("actes_lot.ligne_valide"),
        };
        println!(
            "{} : {etat}",
            tf(
                "actes_lot.ligne",
                &[("ligne", &r.ligne.to_string()), ("numero", &r.numero)]
            )
        );
        for f in &r.constats {
            let level = if f.is_blocking() {
                t("commun.erreur")
            } else {
                t("commun.avertissement")
            };
            println!("  {level} : {}", f.message);
        }
    }
    println!(
        "{}",
        tf(
            "actes_lot.bilan",
            &[
                ("prepares", &report.prepares.to_string()),
                ("refuses", &report.refuses.to_string()),
            ],
        )
    );
    if report.prepares == 0 && report.refuses > 0 {
        println!("{}", t("actes_lot.rien_en_file"));
    }
    if a_signer && report.prepares > 0 {
        let ids: Vec<String> = report
            .lignes
            .iter()
            .filter_map(|r| r.id.map(|i| i.to_string()))
            .collect();
        println!("{}", tf("actes_lot.a_signer", &[("ids", &ids.join(" "))]));
    }
}
