//! `paraphe collectivites lister`: the collectivités set on this workstation (`[collectivite]`
//! and `[[collectivites]]`), with what `--collectivite` accepts to name each.

use crate::messages::{t, tf};
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub enum CollectivitesCommand {
    /// Liste les collectivités réglées sur ce poste (nom et SIREN : ce que --collectivite
    /// accepte).
    Lister(ListerArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListerArgs {
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: &CollectivitesCommand) -> i32 {
    match command {
        CollectivitesCommand::Lister(args) => lister(args),
    }
}

fn lister(args: &ListerArgs) -> i32 {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    let set = settings.collectivites_reglees();
    if args.json {
        let list: Vec<serde_json::Value> = set
            .iter()
            .map(|c| {
                serde_json::json!({
                    "nom": c.nom,
                    "siren": c.siren,
                    "departement": c.departement,
                    "arrondissement": c.arrondissement,
                    "nature": c.nature,
                })
            })
            .collect();
        let doc = serde_json::json!({ "collectivites": list });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return 0;
    }
    if set.is_empty() {
        println!("{}", t("collectivites.aucune"));
    }
    let unknown = "?".to_owned();
    for c in set {
        let value = |v: &Option<String>| v.clone().unwrap_or_else(|| unknown.clone());
        println!(
            "{}",
            tf(
                "collectivites.ligne",
                &[
                    ("nom", c.nom.as_deref().unwrap_or("?")),
                    ("siren", &value(&c.siren)),
                    ("departement", &value(&c.departement)),
                    ("arrondissement", &value(&c.arrondissement)),
                    ("nature", &value(&c.nature)),
                ]
            )
        );
    }
    0
}
