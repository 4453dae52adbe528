//! `paraphe envois lister|exporter|importer|retirer|relancer`

use crate::messages::{t, tf};
use crate::outbox::lot::{export, import};
use crate::outbox::{Filter, Outbox, State};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Seulement les envois dans cet état (brouillon, prepare, signe, en_attente, en_cours,
    /// envoye, acquitte, refuse, erreur, annule) ; l'option peut être répétée.
    #[arg(long = "etat", value_name = "ETAT")]
    pub etats: Vec<String>,
    /// Nombre maximal de lignes.
    #[arg(long, default_value_t = 100)]
    pub limite: usize,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Numéros des envois à mettre dans le lot.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
    /// Le fichier du lot à écrire.
    #[arg(short = 'o', long = "sortie", value_name = "FICHIER")]
    pub sortie: PathBuf,
    /// Nom du lot.
    #[arg(long, default_value = "lot")]
    pub nom: String,
}

#[derive(Debug, clap::Args)]
pub struct ItemArgs {
    /// Numéro de l'envoi (voir `paraphe envois lister`).
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Le fichier du lot.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
}

fn open() -> Result<Outbox, i32> {
    Outbox::open_default().map_err(|e| {
        eprintln!("{} : {e}", t("commun.erreur"));
        2
    })
}

pub fn lister(args: &ListArgs) -> i32 {
    let outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut etats = Vec::new();
    for e in &args.etats {
        match State::from_key(e) {
            Some(s) => etats.push(s),
            None => {
                eprintln!(
                    "{}",
                    tf("ligne_de_commande.valeur_invalide", &[("valeur", e)])
                );
                return 2;
            }
        }
    }
    let items = match outbox.list(&Filter {
        etats,
        limite: Some(args.limite),
        ..Default::default()
    }) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    let copies = outbox.copies_size();
    if args.json {
        let doc = serde_json::json!({ "envois": items, "espace_copies_octets": copies });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if items.is_empty() {
        println!("{}", t("gui.envois_vide"));
    } else {
        println!(
            "{}",
            tf(
                "envois.espace_copies",
                &[("taille", &crate::actes::messages::human_size(copies))]
            )
        );
        for i in &items {
            println!(
                "{:>6}  {:<40}  {:<16}  {}  {}",
                i.id,
                i.libelle,
                i.numero_interne.as_deref().unwrap_or(""),
                i.etat.label(),
                i.modifie_le
            );
        }
    }
    0
}

pub fn exporter(args: &ExportArgs) -> i32 {
    let mut outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    match export(&mut outbox, &args.nom, &args.ids, &args.sortie) {
        Ok(()) => {
            println!(
                "{}",
                tf(
                    "envois.lot_exporte",
                    &[("chemin", &args.sortie.display().to_string())]
                )
            );
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            1
        }
    }
}

pub fn importer(args: &ImportArgs) -> i32 {
    let mut outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let dest = match crate::settings::data_dir() {
        Ok(d) => d.join("lots"),
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    let who = std::env::var("USER").unwrap_or_default();
    match import(&mut outbox, &args.fichier, &dest, &who) {
        Ok(ids) => {
            println!(
                "{}",
                tf("envois.lot_importe", &[("n", &ids.len().to_string())])
            );
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            1
        }
    }
}

/// `paraphe envois retirer ID` and `paraphe envois relancer ID`: what the window's buttons do.
fn change_item(
    args: &ItemArgs,
    change: fn(&mut Outbox, i64, &str) -> Result<State, crate::outbox::OutboxError>,
) -> i32 {
    let mut outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let who = crate::platform::sender::who();
    match change(&mut outbox, args.id, &who) {
        Ok(etat) => {
            if args.json {
                let doc = serde_json::json!({ "id": args.id, "etat": etat });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!("{}", etat.said_of(args.id));
            }
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            1
        }
    }
}

pub fn retirer(args: &ItemArgs) -> i32 {
    change_item(args, Outbox::withdraw)
}

pub fn relancer(args: &ItemArgs) -> i32 {
    change_item(args, Outbox::retry_now)
}
