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

/// The message for `key` with each `{name}` replaced by its value, and each
/// `{name:singulier|pluriel}` by the form that agrees with it (« 1 envoi préparé », « 3 envois
/// préparés » rather than « envoi(s) préparé(s) »).
pub fn tf(key: &str, vars: &[(&str, &str)]) -> String {
    let mut text = t(key);
    for (name, value) in vars {
        text = text.replace(&format!("{{{name}}}"), value);
        text = agree(&text, name, value);
    }
    text
}

/// Each `{name:singulier|pluriel}` of `text` as the form agreeing with the number `value`: in
/// French 0 and 1 take the singular. A value that is not a number takes the plural.
fn agree(text: &str, name: &str, value: &str) -> String {
    let open = format!("{{{name}:");
    if !text.contains(&open) {
        return text.to_owned();
    }
    let singular = value.trim().parse::<u64>().is_ok_and(|n| n < 2);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(&open) {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + open.len()..];
        let Some(end) = after.find('}') else {
            // Unclosed: shown as written (the catalogue test catches it).
            out.push_str(&rest[pos..]);
            return out;
        };
        let forms = &after[..end];
        let (one, many) = forms.split_once('|').unwrap_or((forms, forms));
        out.push_str(if singular { one } else { many });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
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
    fn words_agree_with_their_number() {
        let said = |n: &str| agree("{n} {n:envoi préparé|envois préparés}", "n", n);
        assert_eq!(said("0").replace("{n} ", ""), "envoi préparé");
        assert_eq!(said("1").replace("{n} ", ""), "envoi préparé");
        assert_eq!(said("3").replace("{n} ", ""), "envois préparés");
        assert_eq!(
            agree("{m:a|b} {n:c|d}", "n", "2"),
            "{m:a|b} d",
            "only its own name"
        );
        assert_eq!(
            agree("x {n:a|b", "n", "1"),
            "x {n:a|b",
            "unclosed: as written"
        );
    }

    /// No « (s) » left for a person to read, and every agreement has its two forms.
    #[test]
    fn the_catalogue_writes_plurals_as_a_person_would() {
        for key in keys() {
            let text = t(key);
            assert!(
                !text.contains("(s)") && !text.contains("(x)"),
                "{key}: {text}"
            );
            let mut rest = text.as_str();
            while let Some(pos) = rest.find('{') {
                let Some(end) = rest[pos..].find('}') else {
                    panic!("{key}: unclosed {{ in {text}")
                };
                let inside = &rest[pos + 1..pos + end];
                if let Some((_, forms)) = inside.split_once(':') {
                    assert!(forms.contains('|'), "{key}: {inside}");
                }
                rest = &rest[pos + end + 1..];
            }
        }
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
