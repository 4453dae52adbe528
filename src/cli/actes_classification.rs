//! `paraphe actes classification importer FICHIER.xml [--siren S]`: keeps a classification
//! received from the préfecture (7-2 RetourClassification) in the local database;
//! `paraphe actes classification chercher TEXTE [--json]`: searches the newest version kept, by
//! code (`2.1`) or by words. Exit code 0 when done (something found), 1 when nothing is found,
//! 2 when the command cannot run.

use super::error;
use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use crate::actes::classification::{Classification, ClassificationStore};
use crate::actes::model::{french_date, iso_date};
use crate::actes::register;
use crate::messages::{t, tf};
use crate::settings::Settings;

#[derive(Debug, Subcommand)]
#[command(
    help_template = super::HELP_TEMPLATE,
    subcommand_help_heading = "Commandes",
    next_help_heading = "Options"
)]
pub enum ClassificationCommand {
    /// Enregistre sur ce poste une classification reçue de la préfecture (message 7-2).
    Importer(ImporterArgs),
    /// Cherche une matière dans la dernière classification enregistrée (code ou mots).
    Chercher(ChercherArgs),
    /// Télécharge de la plateforme la classification en vigueur et l'enregistre sur ce poste.
    Telecharger(TelechargerArgs),
    /// Demande à la préfecture, par la plateforme, de renvoyer sa classification à jour.
    Demander(DemanderArgs),
}

#[derive(Debug, clap::Args)]
#[command(help_template = crate::cli::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct DemanderArgs {
    #[command(flatten)]
    pub plateforme: crate::cli::envoyer::PlatformArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = crate::cli::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct TelechargerArgs {
    /// SIREN de la collectivité (sinon : celui des paramètres).
    #[arg(long, value_name = "SIREN")]
    pub siren: Option<String>,
    /// La collectivité, par son nom ou son SIREN, quand plusieurs sont réglées sur ce poste.
    #[arg(long, value_name = "NOM|SIREN", conflicts_with = "siren")]
    pub collectivite: Option<String>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub plateforme: crate::cli::envoyer::PlatformArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ImporterArgs {
    /// La classification (RetourClassification) reçue de la préfecture.
    #[arg(value_name = "FICHIER.xml")]
    pub fichier: PathBuf,
    /// SIREN de la collectivité (sinon : paramètre [collectivite] siren).
    #[arg(long, value_name = "S")]
    pub siren: Option<String>,
    /// La collectivité, par son nom ou son SIREN, quand plusieurs sont réglées sur ce poste.
    #[arg(long, value_name = "NOM|SIREN", conflicts_with = "siren")]
    pub collectivite: Option<String>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ChercherArgs {
    /// Code de matière (2.1) ou mots du libellé (sans souci des accents ni des majuscules).
    #[arg(value_name = "TEXTE")]
    pub texte: String,
    /// SIREN de la collectivité (sinon : paramètre [collectivite] siren).
    #[arg(long, value_name = "S")]
    pub siren: Option<String>,
    /// La collectivité, par son nom ou son SIREN, quand plusieurs sont réglées sur ce poste.
    #[arg(long, value_name = "NOM|SIREN", conflicts_with = "siren")]
    pub collectivite: Option<String>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: &ClassificationCommand) -> i32 {
    match command {
        ClassificationCommand::Importer(args) => importer(args),
        ClassificationCommand::Chercher(args) => chercher(args),
        ClassificationCommand::Demander(args) => demander(args),
        ClassificationCommand::Telecharger(args) => telecharger(args),
    }
}

/// `paraphe actes classification demander`
pub fn demander(args: &DemanderArgs) -> i32 {
    let platform = match crate::cli::envoyer::connect_configured(&args.plateforme) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match platform.classification_request() {
        Ok(()) => {
            println!("{}", t("actes_classification.demande_envoyee"));
            0
        }
        Err(e) => error(&e.to_string()),
    }
}

/// `paraphe actes classification telecharger`
pub fn telecharger(args: &TelechargerArgs) -> i32 {
    let siren = match siren(args.siren.as_deref(), args.collectivite.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let platform = match crate::cli::envoyer::connect_configured(&args.plateforme) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let bytes = match platform.classification() {
        Ok(b) => b,
        Err(e) => return error(&e.to_string()),
    };
    let store = match store() {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    match store.import(&siren, &bytes, &t("actes_classification.source_plateforme")) {
        Ok(c) => report(&siren, &c, args.json),
        Err(e) => error(&e.to_string()),
    }
}

/// The SIREN given, or the one of the collectivité chosen in the settings (by `collectivite`,
/// or the only one set); 9 digits.
fn siren(given: Option<&str>, collectivite: Option<&str>) -> Result<String, String> {
    let siren = match given {
        Some(s) => s.trim().to_owned(),
        None => Settings::load()
            .and_then(|s| s.for_collectivite(collectivite))
            .map_err(|e| e.to_string())?
            .collectivite
            .siren
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if siren.len() == 9 && siren.bytes().all(|b| b.is_ascii_digit()) {
        Ok(siren)
    } else if siren.is_empty() {
        Err(t("actes_classification.siren_absent"))
    } else {
        Err(tf(
            "actes_classification.siren_invalide",
            &[("siren", &siren)],
        ))
    }
}

fn store() -> Result<ClassificationStore, String> {
    let db = register::default_database().map_err(|e| e.to_string())?;
    ClassificationStore::open(&db).map_err(|e| e.to_string())
}

fn counts(c: &Classification) -> (usize, usize, usize) {
    let types: usize = c.natures.iter().map(|n| n.types_pj.len()).sum();
    (c.natures.len(), c.all().len(), types)
}

/// `paraphe actes classification importer`
pub fn importer(args: &ImporterArgs) -> i32 {
    let siren = match siren(args.siren.as_deref(), args.collectivite.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let store = match store() {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let c = match store.import_file(&siren, &args.fichier) {
        Ok(c) => c,
        Err(e) => return error(&e.to_string()),
    };
    report(&siren, &c, args.json)
}

/// What was kept, for people or as JSON.
fn report(siren: &str, c: &Classification, json: bool) -> i32 {
    let (natures, matieres, types) = counts(c);
    if json {
        let doc = json!({
            "siren": siren,
            "date": iso_date(c.date),
            "natures": natures,
            "matieres": matieres,
            "types_pj": types,
            "avertissements": c.avertissements,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for w in &c.avertissements {
            println!("{} : {}", t("commun.avertissement"), w.message);
        }
        println!(
            "{}",
            tf(
                "actes_classification.importee",
                &[
                    ("siren", siren),
                    ("date", &french_date(c.date)),
                    ("natures", &natures.to_string()),
                    ("matieres", &matieres.to_string()),
                    ("types", &types.to_string()),
                ],
            )
        );
    }
    0
}

/// `paraphe actes classification chercher`
pub fn chercher(args: &ChercherArgs) -> i32 {
    let siren = match siren(args.siren.as_deref(), args.collectivite.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let store = match store() {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let c = match store.latest(&siren) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error(&tf("actes_classification.aucune", &[("siren", &siren)]));
        }
        Err(e) => return error(&e.to_string()),
    };
    let found = c.search(&args.texte);
    if args.json {
        let doc = json!({
            "siren": siren,
            "date": iso_date(c.date),
            "recherche": args.texte,
            "resultats": found,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if found.is_empty() {
        println!(
            "{}",
            tf(
                "actes_classification.rien",
                &[("texte", &args.texte), ("date", &french_date(c.date))],
            )
        );
    } else {
        println!(
            "{}",
            tf(
                "actes_classification.resultats",
                &[
                    ("nombre", &found.len().to_string()),
                    ("date", &french_date(c.date)),
                ],
            )
        );
        for r in &found {
            println!("  {}  {}", r.code, r.chemin);
        }
    }
    if found.is_empty() { 1 } else { 0 }
}
