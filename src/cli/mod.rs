//! The command line: one module per command group, thin over the library.

pub mod cartes;
pub mod pes;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// clap's own headings and flags are English; this template and the flags below keep every word
/// French.
const HELP_TEMPLATE: &str = "{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}";

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
    Pes(PesCommand),
}

#[derive(Debug, Subcommand)]
#[command(help_template = HELP_TEMPLATE, next_help_heading = "Options")]
pub enum PesCommand {
    /// Résumé d'un PES_Aller : en-tête, bordereaux, pièces, pièces justificatives, signatures.
    Inspecter(PesFileArgs),
    /// Contrôles avant signature et envoi ; code de sortie 0 si aucun problème bloquant.
    Controler(PesFileArgs),
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
pub fn run(command: Command) -> i32 {
    match command {
        Command::Cartes(args) => cartes::run(&args),
        Command::Pes(PesCommand::Inspecter(args)) => pes::inspecter(&args.fichier, args.json),
        Command::Pes(PesCommand::Controler(args)) => pes::controler(&args.fichier, args.json),
    }
}
