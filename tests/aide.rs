//! The command line's help, walked through every command and subcommand as a person reads it
//! (issue 22): in French (no `Usage:`, `Commands:`, `[default: …]`, `Print help`), and each
//! section once — an argument left without a heading used to open a second « Options ».

use std::process::Command;

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(path)
        .arg("--help")
        .output()
        .expect("paraphe --help");
    assert_eq!(out.status.code(), Some(0), "{path:?}");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The subcommands listed under « Commandes: » in `text`.
fn subcommands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| l.trim() != "Commandes:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn every_help_is_french_with_each_section_once() {
    let mut todo = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let text = help(&path);
        seen += 1;
        for english in [
            "Usage:",
            "Commands:",
            "[default:",
            "Print help",
            "Print version",
        ] {
            assert!(!text.contains(english), "{path:?}: {english:?} in\n{text}");
        }
        let headings: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
            .collect();
        let mut unique = headings.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            headings.len(),
            "{path:?}: a section twice {headings:?}\n{text}"
        );
        for sub in subcommands(&text) {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
    }
    // The walk reached the whole tree (cartes, pes …, envois …, actes …, marches …).
    assert!(seen > 40, "only {seen} commands walked");
}
