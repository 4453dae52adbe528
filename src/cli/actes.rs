//! `paraphe actes controler|preparer …`: check an act and its files against every rule; prepare
//! the `.tar.gz` a tiers de télétransmission sends. Exit code 0 only when nothing blocks, 1 when
//! a rule blocks, 2 when the command itself cannot run. Nothing is written when the act is
//! refused.

use super::error;
use std::path::PathBuf;

use serde_json::json;

use crate::actes::archive::{self, Envoi, Signatures};
use crate::actes::classification::{Classification, ClassificationStore};
use crate::actes::model::{Acte, Collectivite, PieceSaisie, Saisie, french_date, today};
use crate::actes::names::{Nommage, StyleNoms};
use crate::actes::register::{Registre, ReserveError};
use crate::actes::rules::Controle;
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};
use crate::settings::Settings;
use crate::usecases::prepare_act::{Demande, check_act, queue_act};

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ActesArgs {
    /// Nature de l'acte : 1 à 6 (ou DE, AR, AI, CC, BF, AU).
    #[arg(long, value_name = "N")]
    pub nature: Option<String>,
    /// Classification (matière), 2 à 5 niveaux : 1.1, 7.1.2…
    #[arg(long, value_name = "1.2[.3…]")]
    pub matiere: Option<String>,
    /// Numéro interne : majuscules, chiffres et « _ », 15 caractères au plus.
    #[arg(long, value_name = "X")]
    pub numero: Option<String>,
    /// Date de la décision.
    #[arg(long, value_name = "AAAA-MM-JJ")]
    pub date: Option<String>,
    /// Objet de l'acte (500 caractères au plus).
    #[arg(long, value_name = "TEXTE")]
    pub objet: Option<String>,
    /// Fichier de l'acte (PDF), avec sa typologie (sinon celle par défaut de la nature).
    #[arg(long, value_name = "FICHIER[:TYPE]")]
    pub acte: Option<String>,
    /// Annexe avec sa typologie (PDF, JPEG ou PNG) ; à répéter pour chaque annexe.
    #[arg(long = "annexe", value_name = "FICHIER:TYPE", action = clap::ArgAction::Append)]
    pub annexes: Vec<String>,
    /// Classification reçue de la préfecture (sinon la dernière enregistrée sur ce poste).
    #[arg(long, value_name = "FICHIER.xml")]
    pub classification: Option<PathBuf>,
    /// The collectivité, overriding the settings (and `--json`): shared with `repondre`/`annuler`.
    #[command(flatten)]
    pub emetteur: super::actes_repondre::EmetteurArgs,
    /// Noms des fichiers de l'archive : s2low (date de décision) ou stela (date du jour).
    #[arg(long, value_name = "s2low|stela")]
    pub style: Option<String>,
    /// Des pièces sont aussi envoyées sur papier (DocumentPapier = O).
    #[arg(long = "document-papier")]
    pub document_papier: bool,
    /// Archive à écrire (preparer) : un fichier .tar.gz, ou un dossier où elle prend son nom
    /// normalisé.
    #[arg(short = 'o', long = "sortie", value_name = "ARCHIVE.tar.gz")]
    pub sortie: Option<PathBuf>,
    /// Joint une signature détachée (CMS) de l'acte et de chaque annexe, faite avec la carte ou
    /// le certificat logiciel.
    #[arg(long)]
    pub signer: bool,
    #[command(flatten)]
    pub cle: super::KeyArgs,
}

/// What both commands compute.
struct Prepared {
    settings: Settings,
    collectivite: Collectivite,
    style: StyleNoms,
    controle: Controle,
    registre: Option<Registre>,
    store: Option<ClassificationStore>,
    classification: Option<Classification>,
}

fn note(code: &'static str, message: String, blocking: bool) -> Finding {
    if blocking {
        Finding::blocking(code, message, Location::default())
    } else {
        Finding::warning(code, message, Location::default())
    }
}

/// Loads the settings and the collectivité (options first), then checks the act with the
/// library (`actes::preparation`). `for_sending`: the register is required.
fn prepare(args: &ActesArgs, for_sending: bool) -> Result<Prepared, i32> {
    let settings = super::actes_repondre::settings_for(&args.emetteur).map_err(|e| error(&e))?;
    let collectivite = super::actes_repondre::collectivite(&args.emetteur, &settings);
    let style = match &args.style {
        Some(s) => StyleNoms::parse(s)
            .ok_or_else(|| error(&tf("ligne_de_commande.valeur_invalide", &[("valeur", s)])))?,
        None => settings.collectivite.style_noms,
    };
    let saisie = Saisie {
        nature: args.nature.clone(),
        matiere: args.matiere.clone(),
        numero: args.numero.clone(),
        date: args.date.clone(),
        objet: args.objet.clone(),
        acte: args.acte.as_deref().map(PieceSaisie::parse),
        annexes: args.annexes.iter().map(|a| PieceSaisie::parse(a)).collect(),
    };
    let checked = check_act(
        &saisie,
        &Demande {
            settings: &settings,
            collectivite: &collectivite,
            style,
            classification: args.classification.as_deref(),
            for_sending,
            document_papier: args.document_papier,
        },
    );
    Ok(Prepared {
        settings,
        collectivite,
        style,
        controle: checked.controle,
        registre: checked.registre,
        store: checked.store,
        classification: checked.classification,
    })
}

fn print_findings(findings: &[Finding]) {
    for f in findings {
        let level = if f.is_blocking() {
            t("commun.erreur")
        } else {
            t("commun.avertissement")
        };
        println!("{level} : {}", f.message);
    }
}

fn summary(acte: &Acte, c: &Collectivite, classification: Option<&Classification>) -> String {
    let libelle = classification
        .and_then(|cl| cl.libelle(&acte.matiere))
        .unwrap_or_default();
    tf(
        "actes.cli.resume",
        &[
            ("id", &acte.id_acte(c)),
            ("nature", &acte.nature.label()),
            ("matiere", &acte.matiere.to_string()),
            ("libelle", &libelle),
            ("date", &french_date(acte.date_decision)),
            ("annexes", &acte.annexes.len().to_string()),
            (
                "taille",
                &crate::actes::files::human_size(acte.total_size()),
            ),
        ],
    )
}

/// `paraphe actes controler`
pub fn controler(args: &ActesArgs) -> i32 {
    let p = match prepare(args, false) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let blocking = p.controle.blocking();
    if args.emetteur.json {
        let doc = json!({
            "valide": blocking == 0,
            "id_acte": p.controle.acte.as_ref().map(|a| a.id_acte(&p.collectivite)),
            "acte": p.controle.acte,
            "constats": p.controle.constats,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print_findings(&p.controle.constats);
        if let Some(a) = &p.controle.acte {
            println!("{}", summary(a, &p.collectivite, p.classification.as_ref()));
        }
        if blocking == 0 {
            println!("{}", t("actes.cli.controle_ok"));
        } else {
            println!(
                "{}",
                tf("actes.cli.bloquants", &[("nombre", &blocking.to_string())])
            );
        }
    }
    if blocking == 0 { 0 } else { 1 }
}

/// Detached signatures of every file, made with the key the user chose. Each signs the SHA-256
/// recorded when the file was checked, which the archive builder checks again while copying.
fn sign_files(args: &ActesArgs, settings: &Settings, acte: &Acte) -> Result<Signatures, String> {
    use crate::actes::cms::{CmsOptions, sign_digest};
    use crate::card::select::open_for_role;
    use crate::certs::Role;
    let choice = args.cle.choice(settings, Role::Signature)?;
    let mut signer =
        open_for_role(&choice, Role::Signature, args.cle.prompt()).map_err(|e| e.to_string())?;
    let options = CmsOptions::default();
    let document =
        sign_digest(signer.as_mut(), &acte.document.sha256, &options).map_err(|e| e.to_string())?;
    let mut annexes = Vec::new();
    for a in &acte.annexes {
        annexes.push(Some(
            sign_digest(signer.as_mut(), &a.sha256, &options).map_err(|e| e.to_string())?,
        ));
    }
    Ok(Signatures {
        document: Some(document),
        annexes,
    })
}

/// `paraphe actes preparer … -o ARCHIVE.tar.gz`
pub fn preparer(args: &ActesArgs) -> i32 {
    let Some(sortie) = args.sortie.clone() else {
        return error(&t("actes.cli.sortie_requise"));
    };
    let mut p = match prepare(args, true) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let refuse = |p: &Prepared, extra: Option<Finding>| {
        let mut findings = p.controle.constats.clone();
        findings.extend(extra);
        let blocking = findings.iter().filter(|f| f.is_blocking()).count();
        if args.emetteur.json {
            let doc = json!({ "valide": false, "archive": null, "constats": findings });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else {
            print_findings(&findings);
            println!(
                "{}",
                tf("actes.cli.bloquants", &[("nombre", &blocking.to_string())])
            );
            println!("{}", t("actes.cli.rien_ecrit"));
        }
        1
    };
    let (Some(acte), Some(registre)) = (p.controle.acte.clone(), p.registre.as_ref()) else {
        return refuse(&p, None);
    };
    let siren = p.collectivite.siren.clone();
    let aujourdhui = today();
    let serial = match registre.reserve(&siren, &acte, aujourdhui) {
        Ok(s) => s,
        Err(e @ ReserveError::Used(_)) => {
            let f = Finding::blocking(
                "actes.numero_utilise",
                e.to_string(),
                Location {
                    element: Some(t("actes.champs.numero")),
                    ..Default::default()
                },
            );
            return refuse(&p, Some(f));
        }
        Err(e) => return error(&format!("{e} {}", t("actes.cli.rien_ecrit"))),
    };
    let signatures = if args.signer {
        match sign_files(args, &p.settings, &acte) {
            Ok(s) => s,
            Err(message) => {
                let _ = registre.release(&siren, &acte.numero);
                return error(&format!("{message} {}", t("actes.cli.rien_ecrit")));
            }
        }
    } else {
        Signatures::default()
    };
    let nommage = Nommage {
        style: p.style,
        ..Nommage::from_settings(&p.settings.collectivite)
    };
    let built = archive::build(
        &acte,
        &p.collectivite,
        &nommage,
        Envoi {
            date: aujourdhui,
            serial,
        },
        &signatures,
        &sortie,
        p.settings.collectivite.limite_envoi_octets,
    );
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            // The number was not used after all: give it back.
            let _ = registre.release(&siren, &acte.numero);
            return error(&e.to_string());
        }
    };
    if let Err(e) = registre.set_archive(&siren, &acte.numero, &built.noms.archive) {
        p.controle
            .constats
            .push(note("actes.registre", e.to_string(), false));
    }
    // Keep the classification used, for offline work and to notice when it becomes outdated.
    if let (Some(path), Some(store)) = (&args.classification, &p.store)
        && let Err(e) = store.import_file(&siren, path)
    {
        p.controle.constats.push(note(
            "actes.classification",
            tf(
                "actes.cli.classification_non_enregistree",
                &[("detail", &e.to_string())],
            ),
            false,
        ));
    }
    if args.emetteur.json {
        let doc = json!({
            "valide": true,
            "id_acte": acte.id_acte(&p.collectivite),
            "archive": built,
            "signe": args.signer,
            "constats": p.controle.constats,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print_findings(&p.controle.constats);
        println!(
            "{}",
            summary(&acte, &p.collectivite, p.classification.as_ref())
        );
        println!(
            "{}",
            tf(
                "actes.cli.archive_ecrite",
                &[
                    ("chemin", &built.chemin.display().to_string()),
                    ("taille", &crate::actes::files::human_size(built.taille)),
                ],
            )
        );
        for name in [
            &built.noms.enveloppe,
            &built.noms.message,
            &built.noms.document,
        ]
        .into_iter()
        .chain(built.noms.annexes.iter())
        {
            println!("  {name}");
        }
    }
    0
}

/// `paraphe envois ajouter acte …`: every rule checked, then the act goes to the outbox, waiting
/// to be sent (`paraphe envois envoyer`). Exit code 1 and nothing queued when a rule blocks.
pub fn mettre_en_file(args: &ActesArgs, a_signer: bool) -> i32 {
    use crate::outbox::State;
    let p = match prepare(args, false) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some(acte) = p.controle.acte.clone() else {
        let blocking = p
            .controle
            .constats
            .iter()
            .filter(|f| f.is_blocking())
            .count();
        if args.emetteur.json {
            let doc = json!({ "valide": false, "id": null, "constats": p.controle.constats });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else {
            print_findings(&p.controle.constats);
            println!(
                "{}",
                tf("actes.cli.bloquants", &[("nombre", &blocking.to_string())])
            );
        }
        return 1;
    };
    let signatures = if args.signer {
        match sign_files(args, &p.settings, &acte) {
            Ok(s) => Some(s),
            Err(message) => return error(&format!("{message} {}", t("actes.cli.rien_en_file"))),
        }
    } else {
        None
    };
    let queued = queue_act(
        &acte,
        &p.collectivite,
        signatures.as_ref(),
        a_signer,
        &crate::platform::sender::who(),
    );
    let (id, id_acte) = match queued {
        Ok(q) => q,
        Err(e) => {
            if args.emetteur.json {
                let doc = json!({ "valide": false, "id": null, "erreur": e });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                eprintln!("{} : {e}", t("commun.erreur"));
            }
            return 1;
        }
    };
    let etat = if a_signer {
        State::Prepare
    } else {
        State::EnAttente
    };
    if args.emetteur.json {
        let doc = json!({
            "valide": true,
            "id": id,
            "id_acte": id_acte,
            "etat": etat,
            "constats": p.controle.constats,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print_findings(&p.controle.constats);
        println!(
            "{}",
            tf(
                if a_signer {
                    "envoi.cli.a_signer"
                } else {
                    "envoi.cli.en_file"
                },
                &[("id", &id.to_string()), ("libelle", &acte.objet)]
            )
        );
    }
    0
}
