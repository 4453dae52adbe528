//! `paraphe pes inspecter|controler FICHIER [--json]`

use crate::findings::Finding;
use crate::messages::{t, tf};
use crate::pes::checks::{Intent, bordereau_label};
use serde_json::json;
use std::path::{Path, PathBuf};

pub fn inspecter(path: &Path, as_json: bool) -> i32 {
    // With its SHA-256, which `pes signer --empreinte` checks: what was reviewed is what is
    // signed.
    let summary = match crate::pes::inspect_file(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    let empreinte = hex::encode(&summary.sha256);
    if as_json {
        let bordereaux: Vec<_> = summary
            .bordereaux
            .iter()
            .map(|b| {
                json!({
                    "id": b.id,
                    "domaine": b.domaine,
                    "exercice": b.exercice,
                    "numero": b.numero,
                    "type": b.type_bordereau,
                    "date": b.date,
                    "nb_pieces": b.nb_pieces,
                    "nb_pieces_calcule": b.nb_pieces_calcule,
                    "montant_ht": b.montant_ht,
                    "montant_ht_calcule": b.montant_ht_calcule,
                    "montant_tva": b.montant_tva,
                    "montant_tva_calcule": b.montant_tva_calcule,
                    "signe": b.signe,
                    "pieces": b.pieces,
                })
            })
            .collect();
        let doc = json!({
            "empreinte": empreinte,
            "encodage": summary.encodage,
            "id": summary.id,
            "enveloppe": summary.enveloppe,
            "entete": summary.entete,
            "bordereaux": bordereaux,
            "pj": summary.pj,
            "signatures": summary.signatures,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return 0;
    }
    let e = &summary.entete;
    println!(
        "{}",
        tf(
            "pes_cli.entete",
            &[
                ("collectivite", e.id_coll.as_deref().unwrap_or("?")),
                ("codcol", e.cod_col.as_deref().unwrap_or("?")),
                ("budget", e.cod_bud.as_deref().unwrap_or("—")),
                ("poste", e.id_post.as_deref().unwrap_or("?")),
                (
                    "nomfic",
                    summary.enveloppe.nom_fic.as_deref().unwrap_or("?")
                ),
            ]
        )
    );
    for b in &summary.bordereaux {
        println!(
            "  {} — {} — {} — {}",
            bordereau_label(b),
            b.date.as_deref().unwrap_or("?"),
            tf("pes_cli.pieces", &[("n", &b.nb_pieces_calcule.to_string())]),
            b.montant_ht_calcule.french()
        );
    }
    if !summary.pj.is_empty() {
        println!(
            "{}",
            tf("pes_cli.nb_pj", &[("n", &summary.pj.len().to_string())])
        );
    }
    println!("{}", tf("pes_cli.empreinte", &[("empreinte", &empreinte)]));
    0
}

pub fn controler(args: &super::PesCheckArgs) -> i32 {
    use crate::pes::control::{ControlOptions, control_file};
    let (path, as_json) = (args.fichier.as_path(), args.json);
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    let schema_path = args.schema.clone().or(settings.pes.schema.clone());
    // Without a schema named, the one shipped inside the program (written in the data folder).
    let data_dir = crate::settings::data_dir().ok();
    let options = ControlOptions {
        schema: schema_path.as_deref(),
        data_dir: data_dir.as_deref(),
        with_sha256: false,
        settings: Some(&settings),
    };
    let findings = match control_file(path, Intent::SignBordereaux, options) {
        Ok(control) => control.findings,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    let blocking = findings.iter().filter(|f| f.is_blocking()).count();
    if as_json {
        let doc = json!({ "valide": blocking == 0, "constats": findings });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if findings.is_empty() {
        println!("{}", t("pes_cli.aucun_constat"));
    } else {
        for f in &findings {
            println!("{}", super::finding_line(f));
        }
    }
    if blocking == 0 { 0 } else { 1 }
}

/// Who signs and how, for a PES: the command line first, then the settings' [signature].
pub(super) fn signing_details(
    args: &super::SignerDetailsArgs,
    settings: &crate::settings::Settings,
) -> Result<(crate::pes::xades::SignerDetails, crate::pes::xades::Profile), String> {
    use crate::usecases::sign_items::{DetailsMissing, GivenDetails, pes_details};
    let given = GivenDetails {
        role: args.role.clone(),
        ville: args.ville.clone(),
        code_postal: args.code_postal.clone(),
        profil: args.profil.clone(),
    };
    pes_details(&given, settings).map_err(|missing| match missing {
        DetailsMissing::RoleOrPlace => t("signature.role_requis"),
        DetailsMissing::Profile(profil) => {
            tf("ligne_de_commande.valeur_invalide", &[("valeur", &profil)])
        }
    })
}

pub fn signer(args: &super::PesSignArgs) -> i32 {
    use crate::card::select::open_for_role;
    use crate::certs::Role;
    use crate::pes::sign::{KeySource, Scope, SignError, SignRequest, sign_checked_with};
    let error = |message: String| {
        eprintln!("{} : {message}", t("commun.erreur"));
        2
    };
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => return error(e.to_string()),
    };
    let (details, profile) = match signing_details(&args.details, &settings) {
        Ok(d) => d,
        Err(message) => return error(message),
    };
    if crate::chunks::same_file(&args.fichier, &args.sortie) && !args.sur_place {
        return error(t("signature.sur_place_requis"));
    }
    let reviewed = match args.empreinte.as_deref().map(parse_sha256_hex).transpose() {
        Ok(r) => r,
        Err(message) => return error(message),
    };
    // Before the card is asked anything (PIN, login): the file is the one reviewed, and nothing
    // in it would make the verifier reject the signed file.
    if let Err(e) = crate::pes::precheck::check_before_signing(&args.fichier, reviewed.as_deref()) {
        return error(e.to_string());
    }
    let choice = match args.cle.choice(&settings, Role::Signature) {
        Ok(c) => c,
        Err(message) => return error(message),
    };
    // With the PIN on standard input, the card is opened by the signing pass's card thread
    // while the file is already read (no one waits at a prompt); otherwise it is opened first,
    // so that the prompt comes before any work.
    let mut opened: Box<dyn crate::card::Signer>;
    let key = if args.cle.pin_stdin {
        let prompt = args.cle.prompt();
        let choice = &choice;
        KeySource::Opening(Box::new(move || {
            open_for_role(choice, Role::Signature, prompt)
        }))
    } else {
        match open_for_role(&choice, Role::Signature, args.cle.prompt()) {
            Ok(s) => opened = s,
            Err(e) => return error(e.to_string()),
        }
        KeySource::Open(opened.as_mut())
    };
    let scope = if args.global {
        Scope::File
    } else {
        Scope::Bordereaux
    };
    let request = SignRequest {
        input: &args.fichier,
        output: &args.sortie,
        scope,
        profile,
        details,
        // Checked above before the card, and again on the bytes signed.
        reviewed_sha256: reviewed,
        expected: 0,
    };
    let mut progress = |p: crate::card::BatchProgress| {
        eprint!(
            "\r{}",
            tf("signature.progression", &[("fait", &p.done.to_string())])
        );
    };
    // The review (our checks) and the signing pass read the same bytes side by side; the signed
    // file is only put in place when the checks find nothing blocking.
    let signed = sign_checked_with(&request, key, &mut progress, &|| false);
    eprintln!();
    let print_findings = |findings: &[Finding]| {
        for f in findings {
            let level = if f.is_blocking() {
                t("commun.erreur")
            } else {
                t("commun.avertissement")
            };
            eprintln!("{level} : {}", f.message);
        }
    };
    match signed {
        Ok(done) => {
            print_findings(&done.findings);
            // Whose PES it is, when the collectivités declare their IdColl (the window says it
            // at opening; here the file was read by the signing pass itself).
            print_findings(
                &crate::pes::checks::collectivite_finding(&done.summary, &settings)
                    .into_iter()
                    .collect::<Vec<_>>(),
            );
            println!(
                "{}",
                tf(
                    "signature.signe",
                    &[
                        ("n", &done.report.signed.len().to_string()),
                        ("chemin", &args.sortie.display().to_string())
                    ]
                )
            );
            // The review of a large PES is hundreds of thousands of small allocations: freeing
            // them one by one took longer than the command's last steps. The process ends now;
            // the system takes the memory back at once.
            std::thread::spawn(move || drop(done));
            0
        }
        Err(e @ SignError::Blocked(_)) => {
            if let SignError::Blocked(findings) = &e {
                print_findings(findings);
            }
            eprintln!("{e}");
            1
        }
        Err(e) => error(e.to_string()),
    }
}

/// A SHA-256 written in hexadecimal (64 digits, either case).
fn parse_sha256_hex(hex: &str) -> Result<Vec<u8>, String> {
    let hex = hex.trim();
    let bad = || tf("signature.empreinte_illisible", &[("valeur", hex)]);
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    ::hex::decode(hex).map_err(|_| bad())
}

pub fn verifier(args: &super::PesVerifyArgs) -> i32 {
    use crate::certs::trust::TrustStore;
    use crate::pes::verify::verify_file;
    let error = |message: String| {
        eprintln!("{} : {message}", t("commun.erreur"));
        2
    };
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => return error(e.to_string()),
    };
    let trust = match TrustStore::chosen(args.confiance.as_deref(), &settings) {
        Ok(t) => t,
        Err(e) => return error(e.to_string()),
    };
    let checker = match super::revocation_checker(&args.crl) {
        Ok(c) => c,
        Err(e) => return error(e.to_string()),
    };
    let mut verdict = match verify_file(&args.fichier, trust.as_ref()) {
        Ok(v) => v,
        Err(e) => return error(e.to_string()),
    };
    crate::pes::verify::check_revocation(&mut verdict, &checker);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdict).unwrap_or_default()
        );
    } else {
        for s in &verdict.signatures {
            let state = if s.valide {
                t("verification.valide")
            } else {
                t("verification.invalide")
            };
            println!(
                "{state} — {} — {} — {}",
                s.cible.as_deref().unwrap_or("?"),
                s.signataire.as_deref().unwrap_or("?"),
                s.date_signature.as_deref().unwrap_or("?")
            );
            for r in s
                .raison
                .iter()
                .chain(&s.avertissements)
                .chain(&s.informations_non_signees)
            {
                println!("    {r}");
            }
        }
        for problem in &verdict.erreurs {
            println!("{problem}");
        }
        if !verdict.signatures.is_empty() {
            println!(
                "{}",
                if verdict.revocation_verifiee {
                    t("verification.revocation_verifiee")
                } else {
                    t("verification.revocation_non_verifiee")
                }
            );
        }
        println!(
            "{}",
            if verdict.valide {
                t("verification.fichier_valide")
            } else {
                t("verification.fichier_invalide")
            }
        );
    }
    if verdict.valide { 0 } else { 1 }
}

/// Open `path` and read it with `read`; on failure the error is printed and the exit code (2)
/// returned.
fn read_file<T, E: std::fmt::Display>(
    path: &Path,
    read: impl FnOnce(std::io::BufReader<std::fs::File>) -> Result<T, E>,
) -> Result<T, i32> {
    crate::files::open_regular(path)
        .map_err(|e| {
            tf(
                "pes.illisible",
                &[
                    ("chemin", &path.display().to_string()),
                    ("detail", &e.to_string()),
                ],
            )
        })
        .and_then(|f| read(std::io::BufReader::new(f)).map_err(|e| e.to_string()))
        .map_err(|e| {
            eprintln!("{} : {e}", t("commun.erreur"));
            2
        })
}

pub fn acquit(path: &Path, as_json: bool) -> i32 {
    let acquit = match read_file(path, crate::pes::acquit::read_acquit) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&acquit).unwrap_or_default()
        );
    } else {
        for el in &acquit.elements {
            let what = match (&el.bordereau, &el.id_unique) {
                (Some(n), _) => tf(
                    "acquit.ligne_bordereau",
                    &[
                        ("numero", n),
                        ("exercice", el.exercice.as_deref().unwrap_or("?")),
                    ],
                ),
                (None, Some(id)) => tf("acquit.ligne_pj", &[("id", id)]),
                (None, None) => String::new(),
            };
            let state = if el.etat {
                t("acquit.accepte")
            } else {
                t("acquit.refuse")
            };
            println!("{state} — {} — {what}", el.domaine_libelle);
            for e in &el.erreurs {
                println!("    {} : {} ({})", e.code, e.explication, e.libelle);
            }
        }
        for warning in acquit.warnings() {
            println!("{warning}");
        }
        let refused = acquit.elements.iter().any(|e| !e.etat);
        println!(
            "{}",
            if acquit.accepted() {
                t("acquit.tout_accepte")
            } else if refused || acquit.elements.is_empty() {
                t("acquit.des_refus")
            } else {
                t("acquit.incomplet")
            }
        );
    }
    if acquit.accepted() { 0 } else { 1 }
}

pub fn retour(path: &Path, as_json: bool) -> i32 {
    let retour = match read_file(path, crate::pes::retour::read_retour) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&retour).unwrap_or_default()
        );
        return 0;
    }
    let unknown = || "?".to_owned();
    println!(
        "{}",
        tf(
            "retour.entete",
            &[
                ("type", &retour.type_fichier.clone().unwrap_or_else(unknown)),
                ("date", &retour.date.clone().unwrap_or_else(unknown)),
                (
                    "collectivite",
                    &retour.id_coll.clone().unwrap_or_else(unknown)
                ),
            ],
        )
    );
    for b in &retour.bordereaux {
        println!(
            "{}",
            tf(
                "acquit.ligne_bordereau",
                &[
                    ("numero", b.numero.as_deref().unwrap_or("?")),
                    ("exercice", b.exercice.as_deref().unwrap_or("?")),
                ],
            )
        );
        for p in &b.pieces {
            println!(
                "    {}",
                tf(
                    "retour.piece",
                    &[
                        ("id", p.id.as_deref().unwrap_or("?")),
                        ("etat", p.etat.as_deref().unwrap_or("?")),
                        ("objet", p.objet.as_deref().unwrap_or("")),
                    ],
                )
            );
        }
    }
    0
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// Le fichier PES_Aller.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Seulement cette pièce justificative (son IdUnique) ; l'option peut être répétée.
    #[arg(long = "pj", value_name = "IDUNIQUE")]
    pub pj: Vec<String>,
    /// Le dossier où écrire les pièces (créé au besoin).
    #[arg(short = 'o', long = "sortie", value_name = "DOSSIER")]
    pub sortie: PathBuf,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

/// `paraphe pes extraire FICHIER [--pj IDUNIQUE]… -o DOSSIER [--json]`
pub fn extraire(args: &ExtractArgs) -> i32 {
    let summary = match crate::pes::summarise_file(&args.fichier) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    for wanted in &args.pj {
        if !summary
            .pj
            .iter()
            .any(|p| p.id_unique.as_deref() == Some(wanted))
        {
            eprintln!(
                "{} : {}",
                t("commun.erreur"),
                tf("pj.inconnue", &[("id", wanted)])
            );
            return 2;
        }
    }
    let mut written = Vec::new();
    for pj in &summary.pj {
        if !args.pj.is_empty() && !args.pj.iter().any(|w| pj.id_unique.as_deref() == Some(w)) {
            continue;
        }
        match crate::pes::pj::save(&args.fichier, pj, &args.sortie) {
            Ok(path) => {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if !args.json {
                    println!(
                        "{}",
                        tf(
                            "pj.extraite",
                            &[
                                ("nom", &crate::pes::pj::display_name(pj)),
                                ("chemin", &path.display().to_string()),
                                ("taille", &crate::actes::files::human_size(size)),
                            ],
                        )
                    );
                }
                written.push(serde_json::json!({
                    "id_unique": pj.id_unique,
                    "nom": pj.nom,
                    "type_mime": pj.type_mime,
                    "chemin": path,
                    "taille": size,
                }));
            }
            Err(e) => {
                eprintln!("{} : {e}", t("commun.erreur"));
                return 1;
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "pj": written })).unwrap_or_default()
        );
    } else if written.is_empty() {
        println!("{}", t("pj.aucune"));
    }
    0
}
