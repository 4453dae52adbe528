//! Without a usable display the window says why in French and stops with code 2 (issue 22):
//! no graphical session at all, or a display named that is not there (the toolkit panics
//! then, in English, deep inside — caught, and its words kept for the journal only).
#![cfg(feature = "gui")]

use std::process::Command;

fn window(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    c.env("PARAPHE_CONFIG", dir.join("absent.toml"))
        .env("PARAPHE_DONNEES", dir.join("donnees"))
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET");
    c
}

/// No English, no panic, no backtrace reaches the person.
fn assert_french_only(stderr: &str) {
    for english in [
        "panicked",
        "thread 'main'",
        "backtrace",
        "neither",
        "is set",
        "Error",
    ] {
        assert!(!stderr.contains(english), "{english:?} in {stderr}");
    }
}

#[test]
fn without_a_display_the_window_says_why_in_french() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = window(dir.path())
        .env_remove("DISPLAY")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&paraphe::messages::t("application.sans_ecran")),
        "{stderr}"
    );
    assert_french_only(&stderr);
}

#[test]
fn a_display_that_is_not_there_is_said_in_french_and_journalled() {
    let dir = tempfile::tempdir().expect("tmp");
    // A display number no X server here listens on.
    let out = window(dir.path())
        .env("DISPLAY", ":4711")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&paraphe::messages::t("application.fenetre_impossible")),
        "{stderr}"
    );
    assert_french_only(&stderr);
    // The toolkit's own words are in the journal, for whoever helps.
    let logs = dir.path().join("donnees/journaux");
    let journal: String = std::fs::read_dir(&logs)
        .unwrap_or_else(|e| panic!("{logs:?}: {e}"))
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .collect();
    assert!(journal.contains("la fenêtre"), "{journal}");
}
