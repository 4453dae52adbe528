//! Every real file of `../shared/conformance` keeps its verdict (issue 19): the table
//! `tests/conformance/verdicts.tsv` says, for each file, which command to run and what its JSON,
//! exit code or words must be — each value taken from a source independent of Paraphe (the
//! folder's RESULTS.txt made with xmllint, xmlsec1 and openssl, its README, or xmllint on the
//! file). Every file of the samples must appear in the table, so a new one is not left unjudged.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// One check of the table.
struct Check {
    line: usize,
    file: String,
    args: Vec<String>,
    assertions: Vec<String>,
}

/// Splits on spaces, keeping `"…"` (JSON strings, with `\"` escapes) whole.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn table(conformance: &Path) -> Vec<Check> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/verdicts.tsv");
    let text = std::fs::read_to_string(&path).expect("verdicts.tsv");
    let mut checks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        assert!(
            columns.len() >= 3,
            "verdicts.tsv:{}: file, command, assertions",
            i + 1
        );
        let args = columns[1]
            .split(' ')
            .filter(|a| !a.is_empty())
            .map(|a| a.replace("{c}", &conformance.display().to_string()))
            .collect();
        checks.push(Check {
            line: i + 1,
            file: columns[0].to_owned(),
            args,
            assertions: tokens(columns[2]),
        });
    }
    checks
}

fn sample_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sample_files(&path, out);
        } else if !matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("PROVENANCE.txt" | "RESULTS.txt" | "README.md")
        ) {
            out.push(path);
        }
    }
}

/// Whether some object of `value` has `"code": code`.
fn has_code(value: &serde_json::Value, code: &str) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            map.get("code").and_then(|c| c.as_str()) == Some(code)
                || map.values().any(|v| has_code(v, code))
        }
        serde_json::Value::Array(items) => items.iter().any(|v| has_code(v, code)),
        _ => false,
    }
}

/// The failure of one assertion, if it fails.
fn judge(
    assertion: &str,
    code: Option<i32>,
    json: Option<&serde_json::Value>,
    text: &str,
) -> Option<String> {
    let need_json = || json.ok_or_else(|| "no JSON on stdout".to_owned());
    let result: Result<bool, String> = (|| {
        if let Some(n) = assertion.strip_prefix("exit=") {
            return Ok(code == n.parse().ok());
        }
        if let Some(c) = assertion.strip_prefix("!code:") {
            return Ok(!has_code(need_json()?, c));
        }
        if let Some(c) = assertion.strip_prefix("code:") {
            return Ok(has_code(need_json()?, c));
        }
        if let Some(words) = assertion.strip_prefix("texte:") {
            let words: String = serde_json::from_str(words).map_err(|e| e.to_string())?;
            return Ok(text.contains(&words));
        }
        if let Some(rest) = assertion.strip_prefix("len") {
            let (pointer, n) = rest.split_once('=').ok_or("len/ptr=N")?;
            let n: usize = n.parse().map_err(|_| "len/ptr=N")?;
            let found = need_json()?.pointer(pointer).and_then(|v| v.as_array());
            return Ok(found.is_some_and(|a| a.len() == n));
        }
        if assertion.starts_with('/') {
            let (pointer, expected) = assertion.split_once('=').ok_or("/ptr=JSON")?;
            let expected: serde_json::Value =
                serde_json::from_str(expected).map_err(|e| e.to_string())?;
            return Ok(need_json()?.pointer(pointer) == Some(&expected));
        }
        Err(format!("unknown assertion {assertion}"))
    })();
    match result {
        Ok(true) => None,
        Ok(false) => Some(assertion.to_owned()),
        Err(e) => Some(format!("{assertion}: {e}")),
    }
}

#[test]
fn every_real_file_keeps_its_verdict() {
    let Some(conformance) = common::conformance("") else {
        return;
    };
    let conformance = conformance.canonicalize().expect("conformance");
    let checks = table(&conformance);
    let data = tempfile::tempdir().expect("tmp");
    let mut failures = Vec::new();
    for check in &checks {
        let file = conformance.join(&check.file);
        if !file.is_file() {
            failures.push(format!(
                "verdicts.tsv:{}: {} is missing",
                check.line, check.file
            ));
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .env("PARAPHE_CONFIG", data.path().join("absent.toml"))
            .env("PARAPHE_DONNEES", data.path().join("donnees"))
            .args(&check.args)
            .arg(&file)
            .output()
            .expect("paraphe");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let json: Option<serde_json::Value> = serde_json::from_str(&stdout).ok();
        for assertion in &check.assertions {
            if let Some(failed) = judge(assertion, out.status.code(), json.as_ref(), &text) {
                failures.push(format!(
                    "verdicts.tsv:{}: {} {}: {failed}\n    exit {:?}: {}",
                    check.line,
                    check.args.join(" "),
                    check.file,
                    out.status.code(),
                    text.chars().take(600).collect::<String>()
                ));
            }
        }
    }
    // Every sample is judged by at least one line.
    let mut samples = Vec::new();
    for sub in ["pes/samples", "actes/samples", "marches/samples"] {
        sample_files(&conformance.join(sub), &mut samples);
    }
    for sample in samples {
        let relative = sample
            .strip_prefix(&conformance)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        if !checks.iter().any(|c| c.file == relative) {
            failures.push(format!("{relative}: no line of verdicts.tsv judges it"));
        }
    }
    assert!(checks.len() > 80, "the table covers the set");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tokens_keep_quoted_words_together() {
    assert_eq!(
        tokens(r#"exit=1 texte:"aucune signature" /a="x \" y""#),
        vec!["exit=1", r#"texte:"aucune signature""#, r#"/a="x \" y""#]
    );
}
