//! The command line: one module per command group, thin over the library.

pub mod actes;
pub mod actes_classification;
pub mod actes_lire;
pub mod actes_lot;
pub mod actes_repondre;
pub mod actes_signer;
pub mod cartes;
pub mod collectivites;
pub mod envois;
pub mod envoyer;
pub mod marches;
pub mod pes;

use crate::card::CardError;
use crate::card::pin::{Pin, PinPrompt, PinRequest, StdinPrompt};
use crate::card::select::KeyChoice;
use crate::messages::t;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// clap's own headings and flags are English; this template and the flags below keep every word
/// French.
const HELP_TEMPLATE: &str = "{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}";

/// clap writes some of its own words in English where a command does not say otherwise
/// (« Usage: », « [default: 100] », the `help` subcommand): every command, at every depth, gets
/// the French template and headings, and a default value is said in French in its help.
pub fn in_french(command: clap::Command) -> clap::Command {
    command
        .help_template(HELP_TEMPLATE)
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        .disable_help_subcommand(true)
        .mut_args(|arg| {
            // One « Options » section: an argument without a heading would be listed under
            // clap's own, apart from those given « Options » (two sections of the same name).
            let arg = if arg.get_help_heading().is_none() && !arg.is_positional() {
                arg.help_heading("Options")
            } else {
                arg
            };
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            if defaults.is_empty()
                || arg.is_hide_default_value_set()
                || !arg.get_action().takes_values()
            {
                return arg;
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            arg.help(format!("{help} (par défaut : {})", defaults.join(", ")))
                .hide_default_value(true)
        })
        .mut_subcommands(in_french)
}

#[derive(Debug, Parser)]
#[command(
    name = "paraphe",
    version,
    about = "Paraphe : télétransmission ACTES et Hélios, signature par carte à puce",
    long_about = "Paraphe : télétransmission ACTES et Hélios, signature par carte à puce.\nSans sous-commande, Paraphe ouvre sa fenêtre.",
    help_template = HELP_TEMPLATE,
    subcommand_help_heading = "Commandes",
    next_help_heading = "Options",
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Affiche cette aide.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help, global = true)]
    pub aide: Option<bool>,
    /// Affiche la version.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Affiche le journal sur la sortie d'erreur (-vv : plus de détails).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub enum Command {
    /// Liste les pilotes de carte, les cartes et clés branchées, leurs certificats et leurs rôles.
    Cartes(CartesArgs),
    /// Hélios : lire, contrôler un PES_Aller.
    #[command(subcommand)]
    Pes(Box<PesCommand>),
    /// La boîte d'envoi : lister, exporter et importer des lots.
    #[command(subcommand)]
    Envois(Box<EnvoisCommand>),
    /// ACTES : contrôler et préparer un acte, lire ce que la préfecture renvoie.
    #[command(subcommand)]
    Actes(Box<ActesCommand>),
    /// Marchés publics : ouvrir les plis chiffrés d'une consultation avec la carte.
    #[command(subcommand)]
    Marches(Box<MarchesCommand>),
    /// Les collectivités réglées sur ce poste (une secrétaire pour plusieurs communes, un
    /// syndicat pour ses membres).
    #[command(subcommand)]
    Collectivites(collectivites::CollectivitesCommand),
    /// Plateforme d'essai locale (démonstration, formation, tests) : HTTPS avec certificats clients.
    #[command(name = "bac-a-sable")]
    BacASable(envoyer::SandboxArgs),
}

#[derive(Debug, Subcommand)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub enum MarchesCommand {
    /// Ouvre un pli chiffré (ou tous ceux d'un dossier) avec la clé de chiffrement de la carte ;
    /// écrit les fichiers des plis et le rapport d'ouverture (CSV et HTML).
    Ouvrir(Box<marches::OuvrirArgs>),
    /// Vérifie les signatures d'un document d'un pli (CAdES .p7s, PAdES) et ses horodatages
    /// (RFC 3161) : signataire, certificat qualifié ou non, intégrité, validité à la signature.
    Verifier(marches::VerifierArgs),
    /// Contrôle la description d'une consultation et construit le DCE (ZIP avec manifeste des
    /// empreintes, signé sur demande).
    Dce(Box<marches::DceArgs>),
}

#[derive(Debug, Subcommand)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub enum ActesCommand {
    /// Contrôle un acte et ses fichiers ; code de sortie 0 si aucun problème bloquant.
    Controler(Box<actes::ActesArgs>),
    /// Contrôle puis construit l'archive de télétransmission (.tar.gz).
    Preparer(Box<actes::ActesArgs>),
    /// Lit un message ACTES (accusé de réception, courrier, classification…), une enveloppe ou une archive.
    Lire(actes_lire::ActesLireArgs),
    /// Répond à un message de la préfecture (2-2, 3-2, 3-3, 3-4, 4-2, 4-3, 4-4) : archive .tar.gz.
    Repondre(Box<actes_repondre::ActesRepondreArgs>),
    /// Annule un acte transmis (6-1) : archive .tar.gz.
    Annuler(Box<actes_repondre::ActesAnnulerArgs>),
    /// Signe le PDF d'un acte (PAdES, visible ou invisible) avec la carte, avant de le préparer.
    Signer(Box<actes_signer::ActesSignerArgs>),
    /// Met en file les actes d'une séance en un lot : un tableau (CSV, ODS ou XLSX), une ligne
    /// par acte, toutes contrôlées avant toute mise en file.
    Lot(Box<actes_lot::ActesLotArgs>),
    /// Classification de la préfecture : l'enregistrer sur ce poste, y chercher une matière.
    #[command(subcommand)]
    Classification(actes_classification::ClassificationCommand),
}

#[derive(Debug, Subcommand)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub enum EnvoisCommand {
    /// Liste les envois, les plus récents d'abord.
    Lister(envois::ListArgs),
    /// Exporte des envois dans un lot (un fichier) pour un autre poste.
    Exporter(envois::ExportArgs),
    /// Importe un lot exporté par un autre poste (refusé s'il a été modifié).
    Importer(envois::ImportArgs),
    /// Retire de la file un envoi qui n'est pas encore parti (il reste, annulé, avec son journal).
    Retirer(envois::ItemArgs),
    /// Fait partir au prochain envoi un envoi en attente ou en erreur, sans attendre le délai.
    Relancer(envois::ItemArgs),
    /// Met en file d'envoi un envoi signé gardé hors de la file (réglage
    /// `[envois] liberation_manuelle`) : la signature et l'envoi sont alors deux décisions.
    Liberer(envois::ItemArgs),
    /// Rattache un PES que la plateforme avait déjà (« doublon détecté », sans numéro) à sa
    /// transaction, lue dans l'interface de la plateforme : il est ensuite suivi (acquit).
    Rattacher(envois::AttachArgs),
    /// Signe des PES et des actes préparés (mis en file avec --a-signer) avec la carte, un seul
    /// code PIN pour tous, puis les met en file d'envoi.
    Signer(envois::SignItemsArgs),
    /// Met un acte ou un PES dans la file d'envoi.
    #[command(subcommand)]
    Ajouter(Box<envoyer::AddCommand>),
    /// Envoie ce qui attend et rapporte accusés de réception et PES_Acquit (carte
    /// d'authentification).
    Envoyer(envoyer::SendArgs),
    /// Vérifie la connexion à la plateforme (certificat d'authentification, compte).
    Tester(envoyer::TestArgs),
    /// Demande à la préfecture l'annulation d'un acte acquitté.
    Annuler(envoyer::CancelArgs),
    /// Répond à un courrier de la préfecture (lettre, pièces complémentaires ou refus).
    Repondre(envoyer::ReplyArgs),
}

#[derive(Debug, Subcommand)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub enum PesCommand {
    /// Résumé d'un PES_Aller : en-tête, bordereaux, pièces, pièces justificatives, signatures.
    Inspecter(PesFileArgs),
    /// Contrôles avant signature et envoi ; code de sortie 0 si aucun problème bloquant.
    Controler(PesCheckArgs),
    /// Signe chaque bordereau (ou le fichier entier avec --global) avec la carte ou un certificat
    /// logiciel, selon la politique de signature Hélios de la DGFiP.
    Signer(Box<PesSignArgs>),
    /// Vérifie toutes les signatures : empreintes, valeur, propriétés XAdES, politique, certificat.
    Verifier(PesVerifyArgs),
    /// Lit un PES_Acquit : bordereaux et pièces acceptés ou refusés, avec les erreurs.
    Acquit(PesFileArgs),
    /// Lit un PES_Retour du comptable : bordereaux et état de chaque pièce.
    Retour(PesFileArgs),
    /// Extrait les pièces justificatives (PES_PJ) dans un dossier, décompressées.
    Extraire(pes::ExtractArgs),
}

#[derive(Debug, clap::Args)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub struct PesVerifyArgs {
    /// Le fichier PES signé.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Certificats des autorités de confiance (fichier PEM ou dossier) ; sinon ceux des paramètres.
    #[arg(long, value_name = "CHEMIN")]
    pub confiance: Option<PathBuf>,
    /// Liste de révocation (CRL, DER ou PEM) à utiliser ; répétable. Sans elle, la liste ou le
    /// répondeur OCSP indiqués dans le certificat sont consultés en ligne (avec un cache).
    #[arg(long, value_name = "FICHIER")]
    pub crl: Vec<PathBuf>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

/// Which key to use (card or PKCS#12 file), shared by every command that signs.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// Module PKCS#11 de la carte (sinon : celui des paramètres, puis ceux du système).
    #[arg(long, value_name = "CHEMIN")]
    pub module: Option<PathBuf>,
    /// Nom (label) de la carte à utiliser quand plusieurs sont branchées.
    #[arg(long, value_name = "LABEL")]
    pub jeton: Option<String>,
    /// Identifiant (CKA_ID, hexadécimal) du certificat à utiliser.
    #[arg(long = "cle-id", value_name = "HEX", conflicts_with = "p12")]
    pub cle_id: Option<String>,
    /// Certificat logiciel (.p12 / .pfx) au lieu d'une carte.
    #[arg(long, value_name = "FICHIER")]
    pub p12: Option<PathBuf>,
    /// Lit le code PIN (ou le mot de passe) sur l'entrée standard au lieu de le demander.
    #[arg(long = "pin-stdin")]
    pub pin_stdin: bool,
}

#[derive(Debug, clap::Args)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub struct PesSignArgs {
    /// Le fichier PES_Aller à signer.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Le fichier signé à écrire.
    #[arg(short = 'o', long = "sortie", value_name = "SORTIE")]
    pub sortie: PathBuf,
    /// Signe le fichier entier (une signature globale) au lieu de chaque bordereau.
    #[arg(long)]
    pub global: bool,
    #[command(flatten)]
    pub details: SignerDetailsArgs,
    /// Empreinte SHA-256 (hexadécimale) du fichier relu, telle que « pes inspecter --json » la
    /// donne : la signature est refusée, sans rien demander à la carte, si le fichier a changé.
    #[arg(long, value_name = "HEX")]
    pub empreinte: Option<String>,
    /// Permet d'écrire le fichier signé à la place du fichier d'origine (-o égal au fichier).
    #[arg(long = "sur-place")]
    pub sur_place: bool,
    #[command(flatten)]
    pub cle: KeyArgs,
}

/// Who signs a PES and how (XAdES of the DGFiP's policy).
#[derive(Debug, clap::Args)]
pub struct SignerDetailsArgs {
    /// Profil : sha256 (politique 1.7, par défaut) ou sha1 (politique 1.4) ; sinon celui du
    /// paramètre [signature] profil.
    #[arg(long, value_name = "sha256|sha1")]
    pub profil: Option<String>,
    /// Qualité du signataire (ClaimedRole), par exemple « Ordonnateur » ou « Maire ».
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,
    /// Ville de signature.
    #[arg(long, value_name = "V")]
    pub ville: Option<String>,
    /// Code postal du lieu de signature.
    #[arg(long = "code-postal", value_name = "CP")]
    pub code_postal: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub struct PesCheckArgs {
    /// Le fichier PES_Aller.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Schéma PES_Aller.xsd de la DGFiP (sinon : paramètre [pes] schema).
    #[arg(long, value_name = "CHEMIN")]
    pub schema: Option<PathBuf>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub struct PesFileArgs {
    /// Le fichier PES_Aller.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub struct CartesArgs {
    /// Chemin du module PKCS#11 à utiliser (sinon : celui des paramètres et ceux du système).
    #[arg(long, value_name = "CHEMIN")]
    pub module: Option<PathBuf>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

/// Run a sub-command; returns the process exit code.
/// Say what went wrong (French, on the error output); exit code 2: the command could not run.
/// A finding as one line: « Erreur (ligne 12) : … » or « Avertissement : … ».
pub(crate) fn finding_line(f: &crate::findings::Finding) -> String {
    let level = if f.is_blocking() {
        t("commun.erreur")
    } else {
        t("commun.avertissement")
    };
    match f.lieu.ligne {
        Some(line) => format!("{level} ({} {line}) : {}", t("pes_cli.ligne"), f.message),
        None => format!("{level} : {}", f.message),
    }
}

/// The revocation checker of `verifier` commands: the CRLs given with `--crl`, and a cache of
/// what is fetched in the data folder (`revocation/`).
pub(crate) fn revocation_checker(
    crls: &[PathBuf],
) -> Result<crate::certs::revocation::RevocationChecker, crate::certs::revocation::RevocationError>
{
    let cache = crate::settings::data_dir()
        .ok()
        .map(|dir| dir.join("revocation"));
    let mut checker = crate::certs::revocation::RevocationChecker::new(cache);
    for path in crls {
        checker.add_crl_file(path)?;
    }
    Ok(checker)
}

pub(crate) fn error(message: &str) -> i32 {
    eprintln!("{} : {message}", crate::messages::t("commun.erreur"));
    2
}

impl Command {
    /// Commands that hold network connections (the sender, the sandbox server).
    pub fn talks_to_network(&self) -> bool {
        match self {
            Command::BacASable(_) => true,
            Command::Envois(e) => {
                matches!(
                    **e,
                    EnvoisCommand::Envoyer(_)
                        | EnvoisCommand::Tester(_)
                        | EnvoisCommand::Annuler(_)
                        | EnvoisCommand::Repondre(_)
                )
            }
            Command::Actes(a) => matches!(
                &**a,
                ActesCommand::Classification(c)
                    if matches!(
                        c,
                        actes_classification::ClassificationCommand::Telecharger(_)
                            | actes_classification::ClassificationCommand::Demander(_)
                    )
            ),
            _ => false,
        }
    }
}

pub fn run(command: Command) -> i32 {
    match command {
        Command::Cartes(args) => cartes::run(&args),
        Command::Collectivites(c) => collectivites::run(&c),
        Command::Pes(p) => match *p {
            PesCommand::Inspecter(args) => pes::inspecter(&args.fichier, args.json),
            PesCommand::Controler(args) => pes::controler(&args),
            PesCommand::Signer(args) => pes::signer(&args),
            PesCommand::Verifier(args) => pes::verifier(&args),
            PesCommand::Acquit(args) => pes::acquit(&args.fichier, args.json),
            PesCommand::Retour(args) => pes::retour(&args.fichier, args.json),
            PesCommand::Extraire(args) => pes::extraire(&args),
        },
        Command::Envois(e) => match *e {
            EnvoisCommand::Lister(args) => envois::lister(&args),
            EnvoisCommand::Exporter(args) => envois::exporter(&args),
            EnvoisCommand::Importer(args) => envois::importer(&args),
            EnvoisCommand::Retirer(args) => envois::retirer(&args),
            EnvoisCommand::Relancer(args) => envois::relancer(&args),
            EnvoisCommand::Liberer(args) => envois::liberer(&args),
            EnvoisCommand::Signer(args) => envois::signer(&args),
            EnvoisCommand::Rattacher(args) => envois::rattacher(&args),
            EnvoisCommand::Ajouter(c) => envoyer::ajouter(&c),
            EnvoisCommand::Envoyer(args) => envoyer::envoyer(&args),
            EnvoisCommand::Tester(args) => envoyer::tester(&args),
            EnvoisCommand::Annuler(args) => envoyer::annuler(&args),
            EnvoisCommand::Repondre(args) => envoyer::repondre(&args),
        },
        Command::Actes(a) => match *a {
            ActesCommand::Controler(args) => actes::controler(&args),
            ActesCommand::Preparer(args) => actes::preparer(&args),
            ActesCommand::Lire(args) => actes_lire::lire(&args),
            ActesCommand::Repondre(args) => actes_repondre::repondre(&args),
            ActesCommand::Annuler(args) => actes_repondre::annuler(&args),
            ActesCommand::Signer(args) => actes_signer::signer(&args),
            ActesCommand::Lot(args) => actes_lot::lot(&args),
            ActesCommand::Classification(c) => actes_classification::run(&c),
        },
        Command::Marches(m) => match *m {
            MarchesCommand::Ouvrir(args) => marches::ouvrir(&args),
            MarchesCommand::Verifier(args) => marches::verifier(&args),
            MarchesCommand::Dce(args) => marches::dce(&args),
        },
        Command::BacASable(args) => envoyer::bac_a_sable(&args),
    }
}

impl KeyArgs {
    /// The key choice: command line first, then the settings.
    pub fn choice(
        &self,
        settings: &crate::settings::Settings,
        role: crate::certs::Role,
    ) -> Result<KeyChoice, String> {
        let configured_id = match role {
            crate::certs::Role::Signature => settings.carte.cle_signature.clone(),
            crate::certs::Role::Authentification => settings.carte.cle_authentification.clone(),
            crate::certs::Role::Chiffrement => settings.carte.cle_chiffrement.clone(),
        };
        let cka_id = match self.cle_id.clone().or(configured_id) {
            Some(h) => {
                Some(hex::decode(h.trim()).map_err(|_| t("ligne_de_commande.cle_id_invalide"))?)
            }
            None => None,
        };
        Ok(KeyChoice {
            module: self
                .module
                .clone()
                .or_else(|| settings.carte.module.clone()),
            token: self.jeton.clone().or_else(|| settings.carte.jeton.clone()),
            cka_id,
            p12: self.p12.clone(),
        })
    }

    pub fn prompt(&self) -> Box<dyn PinPrompt> {
        if self.pin_stdin {
            Box::new(StdinPrompt)
        } else {
            Box::new(TerminalPrompt)
        }
    }
}

/// Asks on the terminal without echo (the command line's default).
pub struct TerminalPrompt;

impl PinPrompt for TerminalPrompt {
    fn ask(&mut self, request: &PinRequest) -> Result<Pin, CardError> {
        if let Some(phrase) = request.state.tries_phrase() {
            eprintln!("{} : {phrase}", crate::messages::t("commun.avertissement"));
        }
        let text = rpassword::prompt_password(request.question())
            .map_err(|e| CardError::PromptFailed(e.to_string()))?;
        if text.is_empty() {
            return Err(CardError::PinCancelled);
        }
        Ok(Pin::from(text))
    }
}
