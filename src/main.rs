use clap::error::{ContextKind, ErrorKind};
mod cli;

// The command line is written against the library's modules as `crate::…`: they are named at
// the binary's root.
pub(crate) use paraphe::{
    actes, card, certs, chunks, clock, files, findings, latin1, marches, messages, outbox, pes,
    platform, settings, usecases,
};

use cli::{Cli, run};
use paraphe::messages::{t, tf};

fn main() {
    paraphe::messages::load_in_background();
    let parsed = cli::in_french(<Cli as clap::CommandFactory>::command())
        .try_get_matches()
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            eprintln!("{}", french_usage_error(&e));
            eprintln!("{}", t("ligne_de_commande.aide"));
            std::process::exit(2);
        }
    };
    // Network commands (and the window) keep SIGPIPE ignored: a peer closing a connection must be
    // an error to handle, not the end of the process (hyper writes with writev, which raises it).
    if cli.command.as_ref().is_some_and(|c| !c.talks_to_network()) {
        restore_sigpipe();
    }
    let log = paraphe::logging::init(cli.verbose, paraphe::settings::data_dir().ok());
    let code = match cli.command {
        Some(command) => run(command),
        None => open_window(),
    };
    // `exit` runs no destructor: the journal's writer is flushed first, or its last lines —
    // often the reason of the failure — would be lost.
    drop(log);
    std::process::exit(code);
}

/// clap's parse errors are English: say the same thing in French, with the offending word.
fn french_usage_error(e: &clap::Error) -> String {
    let value = [
        ContextKind::InvalidSubcommand,
        ContextKind::InvalidArg,
        ContextKind::InvalidValue,
    ]
    .iter()
    .find_map(|k| e.get(*k))
    .map(|v| v.to_string())
    .unwrap_or_default();
    let key = match e.kind() {
        ErrorKind::InvalidSubcommand => "ligne_de_commande.sous_commande_inconnue",
        ErrorKind::UnknownArgument => "ligne_de_commande.option_inconnue",
        ErrorKind::MissingRequiredArgument => "ligne_de_commande.argument_manquant",
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => "ligne_de_commande.valeur_invalide",
        _ => "ligne_de_commande.invalide",
    };
    tf(key, &[("valeur", &value)])
}

#[cfg(feature = "gui")]
fn open_window() -> i32 {
    match paraphe::gui::open() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            2
        }
    }
}

#[cfg(not(feature = "gui"))]
fn open_window() -> i32 {
    eprintln!("{}", t("application.sans_fenetre"));
    2
}

/// `paraphe pes controler … | head` must stop quietly when the reader goes away, like other
/// command-line tools, instead of panicking on a broken pipe (Rust ignores SIGPIPE by default).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
