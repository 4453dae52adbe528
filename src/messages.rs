//! The French message catalogue (`assets/fr.toml`), the one place for every word the user sees.
//!
//! The catalogue is compiled into the binary and parsed once; keys are dotted paths
//! (`carte.pin_bloque`). A key missing from the catalogue shows itself as `⟦clé⟧` rather than
//! panicking, and a test checks that every key the code asks for exists.

use std::collections::HashMap;
use std::sync::OnceLock;

const CATALOGUE: &str = include_str!("../assets/fr.toml");

fn catalogue() -> &'static HashMap<String, String> {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = HashMap::new();
        // The catalogue is part of the binary; a syntax error is caught by the tests.
        if let Ok(table) = CATALOGUE.parse::<toml::Table>() {
            flatten("", &table, &mut map);
        }
        map
    })
}

/// Parses the catalogue now, on a thread of its own: otherwise the first message pays for it (a
/// few milliseconds of TOML), wherever it comes — e.g. the first progress report of a signature,
/// in its busiest part. Whoever asks for a message meanwhile waits for this parse.
pub fn load_in_background() {
    std::thread::spawn(|| {
        catalogue();
    });
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(s) => {
                out.insert(path, s.clone());
            }
            toml::Value::Table(t) => flatten(&path, t, out),
            _ => {}
        }
    }
}

/// The message for `key`, without variables.
pub fn t(key: &str) -> String {
    match catalogue().get(key) {
        Some(s) => s.clone(),
        None => format!("⟦{key}⟧"),
    }
}

/// The message for `key` with each `{name}` replaced by its value.
pub fn tf(key: &str, vars: &[(&str, &str)]) -> String {
    let mut text = t(key);
    for (name, value) in vars {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// Every key in the catalogue (for tests and tools).
pub fn keys() -> Vec<&'static str> {
    catalogue().keys().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_parses() {
        CATALOGUE
            .parse::<toml::Table>()
            .expect("assets/fr.toml must be valid TOML");
        assert!(keys().len() > 20);
    }

    #[test]
    fn variables_are_replaced() {
        let s = tf("carte.jeton_introuvable", &[("label", "CLE-MAIRIE")]);
        assert!(s.contains("« CLE-MAIRIE »"), "{s}");
        assert!(!s.contains('{'));
    }

    #[test]
    fn unknown_key_is_visible_not_a_panic() {
        assert_eq!(t("nulle.part"), "⟦nulle.part⟧");
    }
}
