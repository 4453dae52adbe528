//! `paraphe actes repondre MESSAGE_RECU --type … [--document FICHIER]… -o ARCHIVE.tar.gz` and
//! `paraphe actes annuler --id-acte ID -o ARCHIVE.tar.gz`: the collectivité's answers to the
//! préfecture (2-2, 3-2/3-3/3-4, 4-2/4-3/4-4) and the cancellation of an act (6-1), packed as a
//! tiers de télétransmission sends them. Exit code 0 when written, 1 when refused, 2 when the
//! command cannot run. Nothing is written when refused.

use super::error;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::actes::answers::{Answer, AnswerKind};
use crate::actes::archive::{self, Envoi, ReponseConstruite};
use crate::actes::messages::{ActesMessage, Reading, read_file};
use crate::actes::model::{Collectivite, normalise_departement, today};
use crate::actes::names::Nommage;
use crate::actes::{register, rules};
use crate::messages::{t, tf};
use crate::settings::Settings;

/// The collectivité sending the answer (settings, overridden on the command line).
#[derive(Debug, clap::Args)]
pub struct EmetteurArgs {
    /// La collectivité, par son nom ou son SIREN, quand plusieurs sont réglées sur ce poste
    /// ([[collectivites]] ; voir `paraphe collectivites lister`).
    #[arg(long, value_name = "NOM|SIREN")]
    pub collectivite: Option<String>,
    /// SIREN de la collectivité (sinon : paramètre [collectivite] siren).
    #[arg(long, value_name = "S")]
    pub siren: Option<String>,
    /// Département, 3 caractères (034, 02A, 974).
    #[arg(long, value_name = "D")]
    pub departement: Option<String>,
    /// Arrondissement, 1 chiffre.
    #[arg(long, value_name = "A")]
    pub arrondissement: Option<String>,
    /// Nature de la collectivité, 2 chiffres.
    #[arg(long = "nature-collectivite", value_name = "NN")]
    pub nature_collectivite: Option<String>,
    /// Adresse de retour des réponses de la préfecture ; à répéter (remplace celles des
    /// paramètres).
    #[arg(long = "email-retour", value_name = "ADRESSE", action = clap::ArgAction::Append)]
    pub emails_retour: Vec<String>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ActesRepondreArgs {
    /// Le message reçu de la préfecture (ou l'archive qui le contient).
    #[arg(value_name = "MESSAGE_RECU")]
    pub message: PathBuf,
    /// Type de la réponse : 2-2, 3-2, 3-3, 3-4, 4-2, 4-3 ou 4-4.
    #[arg(long = "type", value_name = "CODE")]
    pub type_reponse: String,
    /// Document joint (PDF, JPEG ou PNG) ; à répéter pour chaque document.
    #[arg(long = "document", value_name = "FICHIER", action = clap::ArgAction::Append)]
    pub documents: Vec<PathBuf>,
    /// Archive à écrire : un fichier .tar.gz, ou un dossier où elle prend son nom normalisé.
    #[arg(short = 'o', long = "sortie", value_name = "ARCHIVE.tar.gz")]
    pub sortie: PathBuf,
    #[command(flatten)]
    pub emetteur: EmetteurArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ActesAnnulerArgs {
    /// Identifiant de l'acte à annuler (ex. 034-491011698-20171207-CL20171227_06-DE).
    #[arg(long = "id-acte", value_name = "ID")]
    pub id_acte: String,
    /// Archive à écrire : un fichier .tar.gz, ou un dossier où elle prend son nom normalisé.
    #[arg(short = 'o', long = "sortie", value_name = "ARCHIVE.tar.gz")]
    pub sortie: PathBuf,
    #[command(flatten)]
    pub emetteur: EmetteurArgs,
}

fn refused(message: &str, json: bool) -> i32 {
    if json {
        let doc = json!({ "valide": false, "archive": null, "erreur": message });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!("{} : {message}", t("commun.erreur"));
        println!("{}", t("actes.cli.rien_ecrit"));
    }
    1
}

/// The collectivité from the settings, with what the command line overrides.
/// The settings, for the collectivité `--collectivite` names (or the only one set): the French
/// reason when none or several could be meant.
pub(crate) fn settings_for(args: &EmetteurArgs) -> Result<Settings, String> {
    Settings::load()
        .and_then(|s| s.for_collectivite(args.collectivite.as_deref()))
        .map_err(|e| e.to_string())
}

pub(crate) fn collectivite(args: &EmetteurArgs, settings: &Settings) -> Collectivite {
    let mut c = Collectivite::from_settings(&settings.collectivite);
    if let Some(v) = &args.siren {
        c.siren = v.trim().to_owned();
    }
    if let Some(v) = &args.departement {
        c.departement = normalise_departement(v);
    }
    if let Some(v) = &args.arrondissement {
        c.arrondissement = v.trim().to_owned();
    }
    if let Some(v) = &args.nature_collectivite {
        c.nature = v.trim().to_owned();
    }
    if !args.emails_retour.is_empty() {
        c.emails_retour = args
            .emails_retour
            .iter()
            .map(|e| e.trim().to_owned())
            .collect();
    }
    c
}

/// Takes the next envelope serial of the day for `siren`, shared with the acts' archives.
fn next_serial(siren: &str, day: time::Date) -> Result<u32, String> {
    let db = register::default_database().map_err(|e| e.to_string())?;
    let registre = register::Registre::open(&db).map_err(|e| e.to_string())?;
    registre.next_serial(siren, day).map_err(|e| e.to_string())
}

/// The message to answer: the file itself, or the main message of an archive.
fn received(path: &Path) -> Result<ActesMessage, String> {
    match read_file(path).map_err(|e| e.to_string())? {
        Reading::Message(m) => Ok(*m),
        Reading::Archive(a) => a.main_message().cloned().ok_or_else(|| {
            tf(
                "actes_repondre.sans_message",
                &[("fichier", &path.display().to_string())],
            )
        }),
    }
}

/// Checks the sender, takes a serial and writes the archive.
fn write(answer: &Answer, fichiers: &[PathBuf], sortie: &Path, emetteur: &EmetteurArgs) -> i32 {
    let settings = match settings_for(emetteur) {
        Ok(s) => s,
        Err(e) => return error(&e),
    };
    let c = collectivite(emetteur, &settings);
    let problems: Vec<String> = rules::check_collectivite(&c)
        .into_iter()
        .filter(|f| f.is_blocking())
        .map(|f| f.message)
        .collect();
    if !problems.is_empty() {
        return refused(&problems.join(" "), emetteur.json);
    }
    // IDActe = {dept}-{SIREN}-…: one answers only for one's own acts.
    if answer.id_acte.split('-').nth(1) != Some(c.siren.as_str()) {
        return refused(
            &tf(
                "actes_repondre.autre_collectivite",
                &[("id", &answer.id_acte), ("siren", &c.siren)],
            ),
            emetteur.json,
        );
    }
    // Refused before a serial is taken when the answer itself is wrong.
    let mut probe = answer.clone();
    probe.documents = (1..=fichiers.len())
        .map(|n| answer.document_file_name(n, "pdf"))
        .collect();
    if let Err(e) = probe.check() {
        return refused(&e.to_string(), emetteur.json);
    }
    let day = today();
    let serial = match next_serial(&c.siren, day) {
        Ok(s) => s,
        Err(e) => return error(&format!("{e} {}", t("actes.cli.rien_ecrit"))),
    };
    let built = archive::build_answer(
        answer,
        fichiers,
        &c,
        &Nommage::from_settings(&settings.collectivite),
        Envoi { date: day, serial },
        sortie,
        settings.collectivite.limite_envoi_octets,
    );
    match built {
        Ok(b) => {
            report(answer, &b, emetteur.json);
            0
        }
        Err(archive::AnswerArchiveError::Archive(e)) => error(&e.to_string()),
        Err(e) => refused(&e.to_string(), emetteur.json),
    }
}

fn report(answer: &Answer, b: &ReponseConstruite, json: bool) {
    if json {
        let doc = json!({
            "valide": true,
            "type": answer.kind.code(),
            "id_acte": answer.id_acte,
            "archive": b,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!(
            "{}",
            tf(
                "actes_repondre.archive_ecrite",
                &[
                    (
                        "reponse",
                        &format!("{} ({})", answer.kind.label(), answer.kind.code())
                    ),
                    ("id", &answer.id_acte),
                    ("chemin", &b.chemin.display().to_string()),
                    ("taille", &crate::actes::files::human_size(b.taille)),
                ],
            )
        );
        for name in [&b.enveloppe, &b.message]
            .into_iter()
            .chain(b.documents.iter())
        {
            println!("  {name}");
        }
    }
}

/// `paraphe actes repondre`
pub fn repondre(args: &ActesRepondreArgs) -> i32 {
    let json = args.emetteur.json;
    let kind = match AnswerKind::from_code(args.type_reponse.trim()) {
        Some(k) if k != AnswerKind::Annulation => k,
        _ => {
            return error(&tf(
                "actes_repondre.type_invalide",
                &[("valeur", &args.type_reponse)],
            ));
        }
    };
    let message = match received(&args.message) {
        Ok(m) => m,
        Err(e) => return error(&e),
    };
    let placeholders = (1..=args.documents.len())
        .map(|n| format!("document_{n}.pdf"))
        .collect();
    let answer = match Answer::replying_to(&message, kind, placeholders) {
        Ok(a) => a,
        Err(e) => return refused(&e.to_string(), json),
    };
    write(&answer, &args.documents, &args.sortie, &args.emetteur)
}

/// `paraphe actes annuler`
pub fn annuler(args: &ActesAnnulerArgs) -> i32 {
    let answer = Answer::new(AnswerKind::Annulation, args.id_acte.trim(), None, vec![]);
    if let Err(e) = answer.check() {
        return refused(&e.to_string(), args.emetteur.json);
    }
    write(&answer, &[], &args.sortie, &args.emetteur)
}
