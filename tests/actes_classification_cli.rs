//! `paraphe actes classification importer|chercher`, run as the user runs them, on the
//! RetourClassification samples of the conformance set: the version kept in the data folder with
//! its date and counts, the newest one searched by code or words.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(siren: Option<&str>) -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("tmp"),
        };
        let settings = match siren {
            Some(s) => format!("[collectivite]\nsiren = \"{s}\"\n"),
            None => String::new(),
        };
        std::fs::write(env.dir.path().join("paraphe.toml"), settings).expect("settings");
        env
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .env("PARAPHE_CONFIG", self.dir.path().join("paraphe.toml"))
            .env("PARAPHE_DONNEES", self.dir.path().join("donnees"))
            .current_dir(self.dir.path())
            .args(["actes", "classification"])
            .args(args)
            .output()
            .expect("run paraphe")
    }
}

fn fixtures() -> Option<PathBuf> {
    common::conformance("actes/samples/s2low/test/PHPUnit/class/fixtures")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn import_prints_date_and_counts_then_search_uses_the_newest() {
    let Some(dir) = fixtures() else { return };
    let env = Env::new(Some("210600730"));
    // Before any import: nothing to search.
    let o = env.run(&["chercher", "urbanisme"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("importez"), "{}", text(&o));

    let old = arg(&dir.join("classification.old.xml"));
    let o = env.run(&["importer", &old, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["date"], "2004-04-01");
    assert_eq!(doc["siren"], "210600730");
    assert_eq!(doc["natures"], 6);
    assert!(doc["matieres"].as_u64().expect("count") >= 9);

    let new = arg(&dir.join("classification.xml"));
    let o = env.run(&["importer", &new]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("28/08/2017"), "{}", text(&o));
    assert!(text(&o).contains("210600730"), "{}", text(&o));

    // Imported in the other order, the newest is still the one searched.
    let o = env.run(&["importer", &old]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // By code: 2.1 and its sub-matières.
    let o = env.run(&["chercher", "2.1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["date"], "2017-08-28");
    let results = doc["resultats"].as_array().expect("results");
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| {
        r["code"]
            .as_str()
            .is_some_and(|c| c == "2.1" || c.starts_with("2.1."))
    }));
    assert!(
        results[0]["chemin"]
            .as_str()
            .is_some_and(|c| c.starts_with("Urbanisme"))
    );

    // By words, without accents or case.
    let o = env.run(&["chercher", "DÉLÉGATION service"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("Delegation de service public"),
        "{}",
        text(&o)
    );

    // Nothing found: exit code 1 and a sentence.
    let o = env.run(&["chercher", "zzzz introuvable"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Aucune matière"), "{}", text(&o));
}

#[test]
fn every_sample_classification_imports() {
    let Some(samples) = common::conformance("actes/samples") else {
        return;
    };
    let env = Env::new(None);
    let mut imported = 0;
    let mut stack = vec![samples];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(600)]).into_owned();
            if !head.contains("RetourClassification") {
                continue;
            }
            let o = env.run(&["importer", &arg(&path), "--siren", "491011698", "--json"]);
            assert_eq!(o.status.code(), Some(0), "{}: {}", path.display(), text(&o));
            let doc = json(&o);
            assert!(doc["date"].as_str().is_some_and(|d| d.len() == 10));
            assert_eq!(doc["natures"], 6);
            imported += 1;
        }
    }
    assert!(imported >= 9, "only {imported}");
    let o = env.run(&["chercher", "1", "--siren", "491011698", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn refusals_write_nothing() {
    let Some(dir) = fixtures() else { return };
    // No SIREN anywhere.
    let env = Env::new(None);
    let o = env.run(&["importer", &arg(&dir.join("classification.xml"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("SIREN"), "{}", text(&o));
    // A bad SIREN.
    let o = env.run(&[
        "importer",
        &arg(&dir.join("classification.xml")),
        "--siren",
        "12",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Not a classification (an ARActe).
    let ar = dir.join("test-archive-MISILCL/034-000000000-20170701-20170721D-AI-1-2_0.xml");
    let o = env.run(&["importer", &arg(&ar), "--siren", "491011698"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = env.run(&["chercher", "1", "--siren", "491011698"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
