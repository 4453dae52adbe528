//! Every message key the code asks for exists in `assets/fr.toml` (a missing key would show the
//! user `⟦clé⟧` instead of a sentence).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// String literals passed to `t(` / `tf(` that look like catalogue keys (`section.cle`).
fn keys_used(source: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for call in ["t(\"", "tf(\""] {
        let mut rest = source;
        while let Some(pos) = rest.find(call) {
            let preceded_by_ident = rest[..pos]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            rest = &rest[pos + call.len()..];
            let Some(end) = rest.find('"') else { break };
            let key = &rest[..end];
            if !preceded_by_ident
                && key.contains('.')
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.' || c.is_ascii_digit())
            {
                keys.push(key.to_owned());
            }
        }
    }
    keys
}

#[test]
fn every_key_used_in_the_code_is_in_the_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let known = paraphe::messages::keys();
    let mut used = 0;
    let mut missing = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for key in keys_used(&text) {
            used += 1;
            if key != "nulle.part" && !known.contains(&key.as_str()) {
                missing.push(format!("{}: {key}", file.display()));
            }
        }
    }
    assert!(
        used > 30,
        "the scan found only {used} keys: is it still matching the code?"
    );
    assert!(
        missing.is_empty(),
        "keys missing from assets/fr.toml:\n{}",
        missing.join("\n")
    );
}

#[test]
fn card_errors_read_as_french_sentences() {
    use paraphe::card::{CardError, PinState};
    let errors = [
        CardError::TokenRemoved,
        CardError::PinLocked,
        CardError::PinIncorrect {
            state: PinState {
                count_low: true,
                ..Default::default()
            },
        },
        CardError::NoModule,
        CardError::MechanismNotSupported("CKM_RSA_PKCS_PSS".into()),
        CardError::CertificateExpired {
            subject: "Camille".into(),
            date: "01/01/2026".into(),
        },
    ];
    for e in errors {
        let text = e.to_string();
        assert!(!text.contains('⟦') && !text.contains('{'), "{text}");
        assert!(text.ends_with('.'), "a full sentence: {text}");
    }
}
