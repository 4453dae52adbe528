//! `paraphe envois ajouter acte|pes …`, `paraphe envois envoyer`, `paraphe bac-a-sable`.

use super::error;
use crate::certs::Role;
use crate::messages::{t, tf};
use crate::outbox::{Outbox, State};
use crate::platform::Platform;
use crate::platform::sandbox::{SandboxOptions, run as run_sandbox};
use crate::platform::send_pending;
use crate::platform::sender::Report;
use crate::settings::Settings;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub use crate::platform::sender::who;

#[derive(Debug, clap::Subcommand)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub enum AddCommand {
    /// Contrôle un acte (toutes les règles) et le met dans la file d'envoi.
    Acte(Box<ActeAddArgs>),
    /// Met un PES_Aller (signé) dans la file d'envoi.
    Pes(PesAddArgs),
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ActeAddArgs {
    #[command(flatten)]
    pub acte: super::actes::ActesArgs,
    /// Met l'acte en file à l'état « préparé », pour le signer ensuite dans Paraphe
    /// (paraphe envois signer, selon le paramètre [actes] signature) : ici ou sur un autre poste
    /// après un lot.
    #[arg(long = "a-signer", conflicts_with = "signer")]
    pub a_signer: bool,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct PesAddArgs {
    /// Le fichier PES_Aller signé (non signé avec --a-signer).
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Met le PES en file à l'état « préparé », pour le signer ensuite dans Paraphe
    /// (paraphe envois signer) : ici ou sur un autre poste après un lot.
    #[arg(long = "a-signer")]
    pub a_signer: bool,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

/// Where the platform is and which key authenticates.
#[derive(Debug, clap::Args)]
pub struct PlatformArgs {
    /// Adresse de la plateforme (sinon : paramètre [plateforme] adresse).
    #[arg(long, value_name = "URL")]
    pub plateforme: Option<String>,
    /// Autorités (PEM) du certificat de la plateforme (sinon : [plateforme] ca, puis celles du
    /// système).
    #[arg(long, value_name = "FICHIER.pem")]
    pub ca: Option<PathBuf>,
    #[command(flatten)]
    pub cle: super::KeyArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct SendArgs {
    /// Continue jusqu'à ce que tout soit acquitté, refusé ou en erreur, au plus SECONDES.
    #[arg(long, value_name = "SECONDES")]
    pub attendre: Option<u64>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub plateforme: PlatformArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct TestArgs {
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub plateforme: PlatformArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct CancelArgs {
    /// Numéro de l'envoi (un acte acquitté) dont la préfecture doit recevoir l'annulation.
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub plateforme: PlatformArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ReplyArgs {
    /// Numéro de l'envoi (l'acte) auquel la préfecture a écrit.
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Numéro du courrier de la préfecture (donné par la plateforme, dans le nom du courrier reçu).
    #[arg(long, value_name = "NUMERO")]
    pub courrier: String,
    /// La lettre de réponse (PDF) et sa typologie.
    #[arg(long, value_name = "FICHIER.pdf:TYPE")]
    pub lettre: String,
    /// Une pièce complémentaire et sa typologie ; l'option peut être répétée.
    #[arg(long = "piece", value_name = "FICHIER:TYPE")]
    pub pieces: Vec<String>,
    /// Refuse d'envoyer les pièces demandées (la lettre dit pourquoi).
    #[arg(long)]
    pub refus: bool,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub plateforme: PlatformArgs,
}

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct SandboxArgs {
    /// Adresse et port d'écoute (port 0 : un port libre, affiché au démarrage).
    #[arg(long, value_name = "ADRESSE:PORT", default_value = "127.0.0.1:8443")]
    pub ecoute: SocketAddr,
    /// Dossier des données du bac à sable (sinon : « bac-a-sable » dans le dossier des données).
    #[arg(long, value_name = "DOSSIER")]
    pub donnees: Option<PathBuf>,
    /// Autorités (PEM) dont les certificats clients sont acceptés ; l'option peut être répétée.
    #[arg(long = "ca-clients", value_name = "FICHIER.pem")]
    pub ca_clients: Vec<PathBuf>,
}

pub fn ajouter(command: &AddCommand) -> i32 {
    match command {
        AddCommand::Acte(args) => super::actes::mettre_en_file(&args.acte, args.a_signer),
        AddCommand::Pes(args) => ajouter_pes(args),
    }
}

fn ajouter_pes(args: &PesAddArgs) -> i32 {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => return error(&e.to_string()),
    };
    let mut outbox = match Outbox::open_default() {
        Ok(o) => o,
        Err(e) => return error(&e.to_string()),
    };
    // The same checks as `pes controler`, and the signatures: nothing waits that would be refused.
    let checked = if args.a_signer {
        outbox.queue_pes_to_sign(&args.fichier, &settings, &who())
    } else {
        outbox.queue_pes_checked(&args.fichier, &settings, &who())
    };
    let (door, queued) = match checked {
        Ok(checked) => checked,
        Err(e) => return error(&e.to_string()),
    };
    let state = if args.a_signer {
        State::Prepare
    } else {
        State::EnAttente
    };
    let findings = &door.control.findings;
    if args.json {
        let mut doc = json!({
            "etat": if queued.is_some() { state.key() } else { "refuse" },
            "constats": findings,
        });
        if let Some((id, libelle)) = &queued {
            doc["id"] = json!(id);
            doc["libelle"] = json!(libelle);
        }
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for f in findings {
            eprintln!("{}", super::finding_line(f));
        }
        match &queued {
            Some((id, libelle)) => println!(
                "{}",
                tf(
                    if args.a_signer {
                        "envoi.cli.a_signer"
                    } else {
                        "envoi.cli.en_file"
                    },
                    &[("id", &id.to_string()), ("libelle", libelle)]
                )
            ),
            None => eprintln!("{}", t("pes.porte.refuse")),
        }
    }
    if queued.is_some() { 0 } else { 1 }
}

/// Send what waits, bring back what came; with `--attendre`, until nothing moves any more.
pub fn envoyer(args: &SendArgs) -> i32 {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => return error(&e.to_string()),
    };
    let outbox = match Outbox::open_default() {
        Ok(o) => o,
        Err(e) => return error(&e.to_string()),
    };
    if outbox.pending_count().unwrap_or(0) == 0 && !outbox.has_acknowledged_actes().unwrap_or(false)
    {
        return print_report(args.json, &Report::default(), &outbox);
    }
    let platform = match connect(&settings, &args.plateforme) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let until = args
        .attendre
        .map(|s| Instant::now() + Duration::from_secs(s));
    let cancel = AtomicBool::new(false);
    match send_pending(
        &settings,
        platform.as_ref(),
        until,
        &cancel,
        &Default::default(),
    ) {
        Ok(report) => print_report(args.json, &report, &outbox),
        Err(e) => {
            let mut report = Report::default();
            report.erreurs.push(e.to_string());
            print_report(args.json, &report, &outbox);
            2
        }
    }
}

/// `paraphe envois tester`: connect with the card (and the login) and ask the platform's test
/// call. Exit code 0 when the platform answers yes, 2 otherwise.
pub fn tester(args: &TestArgs) -> i32 {
    let platform = match connect_configured(&args.plateforme) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match platform.test_connection() {
        Ok(words) => {
            if args.json {
                let doc = serde_json::json!({ "connexion": true, "message": words });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!(
                    "{}",
                    tf("envoi.cli.connexion_reussie", &[("message", &words)])
                );
            }
            0
        }
        Err(e) => error(&e.to_string()),
    }
}

/// The settings read, then the platform client; a failure is already said in French and its
/// exit code returned.
pub(crate) fn connect_configured(args: &PlatformArgs) -> Result<Box<dyn Platform>, i32> {
    let settings = Settings::load().map_err(|e| error(&e.to_string()))?;
    connect(&settings, args)
}

/// The platform client from the command line and the settings.
pub(crate) fn connect(settings: &Settings, args: &PlatformArgs) -> Result<Box<dyn Platform>, i32> {
    let choice = args
        .cle
        .choice(settings, Role::Authentification)
        .map_err(|e| error(&e))?;
    crate::platform::connect(
        settings,
        args.plateforme.clone(),
        args.ca.clone(),
        &choice,
        args.cle.prompt(),
    )
    .map_err(|e| error(&e.to_string()))
}

/// `paraphe envois annuler ID`: the préfecture is asked to cancel an acknowledged act.
pub fn annuler(args: &CancelArgs) -> i32 {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => return error(&e.to_string()),
    };
    let mut outbox = match Outbox::open_default() {
        Ok(o) => o,
        Err(e) => return error(&e.to_string()),
    };
    let etat = match outbox.get(args.id) {
        Ok(i) => i.etat,
        Err(e) => return error(&e.to_string()),
    };
    if let Err(e) = crate::platform::cancellable_act(&outbox, args.id) {
        return error(&e);
    }
    let platform = match connect(&settings, &args.plateforme) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match crate::platform::cancel_act(&mut outbox, platform.as_ref(), args.id, &who()) {
        Ok(cancel_id) => {
            if args.json {
                let doc = json!({ "id": args.id, "etat": State::Annule, "transaction_annulation": cancel_id });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!(
                    "{}",
                    tf(
                        "envoi.cli.annulation_demandee",
                        &[("transaction", &cancel_id)]
                    )
                );
            }
            0
        }
        Err(e) => {
            if args.json {
                let doc = json!({ "id": args.id, "etat": etat, "erreur": e });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                eprintln!("{} : {e}", t("commun.erreur"));
            }
            1
        }
    }
}

/// `paraphe envois repondre ID --courrier N --lettre F:T [--piece F:T]… [--refus]`
pub fn repondre(args: &ReplyArgs) -> i32 {
    let (lettre, type_lettre) = match crate::platform::s2low::file_with_typology(&args.lettre) {
        Ok(v) => v,
        Err(e) => return error(&e),
    };
    let mut pieces = Vec::new();
    for p in &args.pieces {
        match crate::platform::s2low::file_with_typology(p) {
            Ok(v) => pieces.push(v),
            Err(e) => return error(&e),
        }
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => return error(&e.to_string()),
    };
    let mut outbox = match Outbox::open_default() {
        Ok(o) => o,
        Err(e) => return error(&e.to_string()),
    };
    if let Err(e) = outbox.get(args.id) {
        return error(&e.to_string());
    }
    let platform = match connect(&settings, &args.plateforme) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let reply = crate::platform::s2low::Reply {
        refus: args.refus,
        lettre,
        type_lettre,
        pieces,
    };
    let sent = crate::platform::reply_to_courrier(
        &mut outbox,
        platform.as_ref(),
        args.id,
        &args.courrier,
        &reply,
        &who(),
    );
    match sent {
        Ok(transaction) => {
            if args.json {
                let doc =
                    json!({ "id": args.id, "courrier": args.courrier, "transaction": transaction });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!(
                    "{}",
                    tf(
                        "envoi.cli.reponse_envoyee",
                        &[("courrier", &args.courrier), ("transaction", &transaction)],
                    )
                );
            }
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            1
        }
    }
}

fn print_report(json: bool, report: &Report, outbox: &Outbox) -> i32 {
    let pending = outbox.pending_count().unwrap_or(0);
    if json {
        let doc = json!({ "rapport": report, "en_suspens": pending });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!(
            "{}",
            tf(
                "envoi.cli.rapport",
                &[
                    ("envoyes", &report.envoyes.to_string()),
                    ("rapproches", &report.rapproches.to_string()),
                    ("acquittes", &report.acquittes.to_string()),
                    ("refuses", &report.refuses.to_string()),
                    ("en_suspens", &pending.to_string()),
                ],
            )
        );
        if report.courriers > 0 {
            println!(
                "{}",
                tf(
                    "envoi.cli.courriers",
                    &[("nombre", &report.courriers.to_string())]
                )
            );
        }
        if report.retours_pes > 0 {
            let folder = crate::settings::data_dir()
                .map(|d| d.join("pes-retours").display().to_string())
                .unwrap_or_default();
            println!(
                "{}",
                tf(
                    "envoi.cli.retours_pes",
                    &[
                        ("nombre", &report.retours_pes.to_string()),
                        ("chemin", &folder)
                    ]
                )
            );
        }
        if report.a_rattacher > 0 {
            println!(
                "{}",
                tf(
                    "envoi.cli.a_rattacher",
                    &[("nombre", &report.a_rattacher.to_string())]
                )
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &report.erreurs {
            if seen.insert(e) {
                println!("  {e}");
            }
        }
    }
    0
}

pub fn bac_a_sable(args: &SandboxArgs) -> i32 {
    let donnees = match args.donnees.clone() {
        Some(d) => d,
        None => match crate::settings::data_dir() {
            Ok(d) => d.join("bac-a-sable"),
            Err(e) => return error(&e.to_string()),
        },
    };
    let options = SandboxOptions {
        ecoute: args.ecoute,
        donnees,
        ca_clients: args.ca_clients.clone(),
    };
    let result = run_sandbox(options, |ready| {
        use std::io::Write;
        println!(
            "{}",
            tf(
                "bac_a_sable.pret",
                &[
                    ("adresse", &format!("https://{}", ready.adresse)),
                    ("ca", &ready.ca.display().to_string()),
                    ("p12", &ready.demo_p12.display().to_string()),
                ],
            )
        );
        let _ = std::io::stdout().flush();
    });
    match result {
        Ok(()) => 0,
        Err(e) => error(&e.to_string()),
    }
}
