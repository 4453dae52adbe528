//! `paraphe marches …`: opening the encrypted bids of a consultation.

use super::KeyArgs;
use crate::card::select::open_decrypter;
use crate::certs::Role;
use crate::marches::{bid_files, open_all, report};
use crate::messages::tf;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct OuvrirArgs {
    /// Un pli chiffré, ou le dossier des plis d'une consultation (tous ouverts avec un seul code PIN).
    #[arg(value_name = "DOSSIER_OU_FICHIER")]
    pub entree: PathBuf,
    /// Le dossier où écrire les plis ouverts et le rapport d'ouverture.
    #[arg(short = 'o', long = "sortie", value_name = "SORTIE")]
    pub sortie: PathBuf,
    /// Autorités de confiance pour les signatures des pièces et les horodatages (un fichier PEM ou
    /// un dossier ; sinon : paramètre [verification] confiance).
    #[arg(long, value_name = "CHEMIN")]
    pub confiance: Option<PathBuf>,
    /// Date limite de remise des offres (2027-01-15T12:00:00+01:00) : un pli horodaté après est
    /// signalé hors délai (horodatage de dépôt pli.p7m.tsr posé à côté du pli).
    #[arg(long = "date-limite", value_name = "DATE")]
    pub date_limite: Option<String>,
    /// Écrit le résultat en JSON sur la sortie standard.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cle: KeyArgs,
}

pub fn ouvrir(args: &OuvrirArgs) -> i32 {
    let files = match bid_files(&args.entree) {
        Ok(f) => f,
        Err(e) => return super::error(&format!("{} : {e}", args.entree.display())),
    };
    if files.is_empty() {
        return super::error(&tf(
            "marches.cli.aucun_pli",
            &[("chemin", &args.entree.display().to_string())],
        ));
    }
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => return super::error(&e.to_string()),
    };
    let choice = match args.cle.choice(&settings, Role::Chiffrement) {
        Ok(c) => c,
        Err(message) => return super::error(&message),
    };
    let deadline = match &args.date_limite {
        Some(text) => match crate::marches::parse_deadline(text) {
            Ok(d) => Some(d),
            Err(message) => return super::error(&message),
        },
        None => None,
    };
    let trust = match crate::certs::trust::TrustStore::chosen(args.confiance.as_deref(), &settings)
    {
        Ok(t) => t,
        Err(e) => return super::error(&e.to_string()),
    };
    let review = crate::marches::Review {
        trust: trust.as_ref(),
        deadline,
    };
    let mut key = match open_decrypter(&choice, args.cle.prompt()) {
        Ok(k) => k,
        Err(e) => return super::error(&e.to_string()),
    };
    let total = files.len().to_string();
    let outcomes = open_all(
        &files,
        &args.sortie,
        key.as_mut(),
        &review,
        &mut |index, file| {
            eprintln!(
                "{}",
                tf(
                    "marches.cli.ouverture",
                    &[
                        ("n", &(index + 1).to_string()),
                        ("total", &total),
                        ("nom", &file.display().to_string())
                    ]
                )
            );
        },
        &|| false,
    );
    drop(key);
    let (csv_path, html_path) = match report::write_reports(&outcomes, &args.sortie) {
        Ok(paths) => paths,
        Err(e) => return super::error(&format!("{} : {e}", args.sortie.display())),
    };
    let opened = outcomes.iter().filter(|o| o.result.is_ok()).count();
    if args.json {
        let plis: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| match &o.result {
                Ok(bid) => serde_json::json!({
                    "fichier": o.source,
                    "ouvert": true,
                    "format": bid.format,
                    "chiffrement": bid.chiffrement,
                    "sha256_pli": bid.sha256_pli,
                    "dossier": bid.dossier,
                    "contenu": bid.contenu,
                    "fichiers": bid.fichiers,
                    "signatures": o.signatures,
                    "non_signes": o.non_signes,
                    "depot": o.depot,
                    "anomalies": o.anomalies,
                }),
                Err(e) => serde_json::json!({
                    "fichier": o.source,
                    "ouvert": false,
                    "raison": e.to_string(),
                    "depot": o.depot,
                    "anomalies": o.anomalies,
                }),
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "plis": plis,
                "ouverts": opened,
                "total": files.len(),
                "rapport_csv": csv_path,
                "rapport_html": html_path,
            })
        );
    } else {
        for outcome in &outcomes {
            let name = outcome.source.display().to_string();
            match &outcome.result {
                Ok(bid) => println!(
                    "{}",
                    tf(
                        "marches.cli.ouvert",
                        &[
                            ("nom", &name),
                            ("dossier", &bid.dossier.display().to_string()),
                            ("fichiers", &(1 + bid.fichiers.len()).to_string()),
                            ("chiffrement", &bid.chiffrement),
                        ]
                    )
                ),
                Err(e) => println!(
                    "{}",
                    tf(
                        "marches.cli.anomalie",
                        &[("nom", &name), ("raison", &e.to_string())]
                    )
                ),
            }
        }
        println!(
            "{}",
            tf(
                "marches.cli.bilan",
                &[
                    ("ouverts", &opened.to_string()),
                    ("total", &files.len().to_string()),
                    ("rapport", &html_path.display().to_string()),
                ]
            )
        );
    }
    if opened == files.len() { 0 } else { 1 }
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct VerifierArgs {
    /// Un document (ses signatures PAdES et les signatures .p7s / .xml / .tsr posées à côté), une
    /// signature .p7s ou .xml (XAdES) ou un jeton d'horodatage .tsr / .tst.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Le document signé par une signature détachée, quand il n'est pas à côté d'elle sous un nom
    /// reconnu (sinon il est cherché parmi les fichiers du dossier par son empreinte).
    #[arg(long, value_name = "FICHIER")]
    pub document: Option<PathBuf>,
    /// Autorités de confiance (un fichier PEM ou un dossier ; sinon : paramètre [verification] confiance).
    #[arg(long, value_name = "CHEMIN")]
    pub confiance: Option<PathBuf>,
    /// Liste de révocation (CRL, DER ou PEM) à utiliser ; répétable. Sans elle, la liste ou le
    /// répondeur OCSP indiqués dans le certificat sont consultés en ligne (avec un cache).
    #[arg(long, value_name = "FICHIER")]
    pub crl: Vec<PathBuf>,
    /// Écrit le résultat en JSON sur la sortie standard.
    #[arg(long)]
    pub json: bool,
}

pub fn verifier(args: &VerifierArgs) -> i32 {
    use crate::certs::trust::TrustStore;
    use crate::marches::discover::verify_path_with;
    use crate::messages::t;
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => return super::error(&e.to_string()),
    };
    let trust = match TrustStore::chosen(args.confiance.as_deref(), &settings) {
        Ok(t) => t,
        Err(e) => return super::error(&e.to_string()),
    };
    let checker = match super::revocation_checker(&args.crl) {
        Ok(c) => c,
        Err(e) => return super::error(&e.to_string()),
    };
    let mut reports =
        match verify_path_with(&args.fichier, args.document.as_deref(), trust.as_ref()) {
            Ok(r) => r,
            Err(e) => return super::error(&e.to_string()),
        };
    crate::marches::verify::check_revocation(&mut reports, &checker);
    let revocation_verified = crate::marches::verify::revocation_verified(&reports);
    let all_valid = reports.iter().all(|r| r.valide);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "valide": all_valid,
                "signatures": reports,
                "revocation_verifiee": revocation_verified,
            })
        );
    } else {
        for r in &reports {
            let category = match r.qualifie {
                Some(true) => t("marches.verif.qualifie"),
                _ => t("marches.verif.non_qualifie"),
            };
            let verdict = if r.valide {
                t("marches.verif.valide")
            } else {
                t("marches.verif.non_valide")
            };
            println!(
                "{}",
                tf(
                    "marches.verif.ligne",
                    &[
                        ("format", &r.format),
                        ("signataire", r.signataire.as_deref().unwrap_or("?")),
                        ("categorie", &category),
                        ("document", &r.document.display().to_string()),
                        ("verdict", &verdict),
                    ]
                )
            );
            if r.fichier != r.document {
                println!(
                    "{}",
                    tf(
                        "marches.verif.fichier_signature",
                        &[("chemin", &r.fichier.display().to_string())]
                    )
                );
            }
            if let Some(date) = &r.date_signature {
                println!("{}", tf("marches.verif.signee_le", &[("date", date)]));
            }
            if let Some(date) = &r.horodatage {
                println!("{}", tf("marches.verif.horodatee_le", &[("date", date)]));
            }
            for reason in &r.raisons {
                println!("{}", tf("marches.verif.raison", &[("raison", reason)]));
            }
            for remark in &r.remarques {
                println!("{}", tf("marches.verif.remarque", &[("remarque", remark)]));
            }
        }
        println!(
            "{}",
            if revocation_verified {
                t("verification.revocation_verifiee")
            } else {
                t("verification.revocation_non_verifiee")
            }
        );
    }
    if all_valid { 0 } else { 1 }
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct DceArgs {
    /// La description de la consultation (consultation.toml : consultation, lots, pièces, réponse).
    #[arg(value_name = "DESCRIPTION")]
    pub description: PathBuf,
    /// Le fichier ZIP du DCE à écrire.
    #[arg(
        short = 'o',
        long = "sortie",
        value_name = "SORTIE",
        required_unless_present = "controler"
    )]
    pub sortie: Option<PathBuf>,
    /// Contrôle seulement (aucun fichier écrit).
    #[arg(long)]
    pub controler: bool,
    /// Signe le manifeste avec la clé de signature de la carte (manifeste.json.p7s).
    #[arg(long)]
    pub signer: bool,
    /// Écrit le résultat en JSON sur la sortie standard.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cle: KeyArgs,
}

pub fn dce(args: &DceArgs) -> i32 {
    use crate::marches::dce::{build, check, load};
    use crate::messages::t;
    let description = match load(&args.description) {
        Ok(d) => d,
        Err(message) => return super::error(&message),
    };
    let base = args
        .description
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let now = time::OffsetDateTime::now_utc();
    let checked = check(&description, base, now);
    if !args.json {
        for f in &checked.constats {
            let level = if f.is_blocking() {
                t("commun.erreur")
            } else {
                t("commun.avertissement")
            };
            eprintln!(
                "{}",
                tf(
                    "marches.dce.cli.constat",
                    &[
                        ("gravite", &level),
                        ("element", f.lieu.element.as_deref().unwrap_or("")),
                        ("message", &f.message)
                    ]
                )
            );
        }
    }
    let blocking = checked.is_blocking();
    let built = match (&args.sortie, args.controler || blocking) {
        (Some(output), false) => {
            let result = if args.signer {
                let settings = match crate::settings::Settings::load() {
                    Ok(s) => s,
                    Err(e) => return super::error(&e.to_string()),
                };
                let choice = match args.cle.choice(&settings, Role::Signature) {
                    Ok(c) => c,
                    Err(message) => return super::error(&message),
                };
                let mut signer = match crate::card::select::open_for_role(
                    &choice,
                    Role::Signature,
                    args.cle.prompt(),
                ) {
                    Ok(s) => s,
                    Err(e) => return super::error(&e.to_string()),
                };
                let mut sign = |digest: &[u8]| {
                    crate::actes::cms::sign_digest(
                        signer.as_mut(),
                        digest,
                        &crate::actes::cms::CmsOptions::default(),
                    )
                    .map_err(|e| e.to_string())
                };
                build(&description, &checked, output, now, Some(&mut sign))
            } else {
                build(&description, &checked, output, now, None)
            };
            match result {
                Ok(b) => Some(b),
                Err(message) => return super::error(&message),
            }
        }
        _ => None,
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "bloquant": blocking,
                "constats": checked.constats,
                "pieces": checked.pieces,
                "certificats": checked.certificats,
                "dce": built,
            })
        );
    } else if blocking {
        eprintln!("{}", t("marches.dce.cli.bloquant"));
    } else if let Some(b) = &built {
        println!(
            "{}",
            tf(
                "marches.dce.cli.construit",
                &[
                    ("chemin", &b.fichier.display().to_string()),
                    ("n", &b.pieces.len().to_string()),
                    ("empreinte", &b.manifeste_sha256),
                    (
                        "signe",
                        &if b.signe {
                            t("marches.dce.cli.signe")
                        } else {
                            String::new()
                        }
                    ),
                ]
            )
        );
    } else {
        println!("{}", t("marches.dce.cli.controle_ok"));
    }
    if blocking { 1 } else { 0 }
}
