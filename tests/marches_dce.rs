//! Building a DCE: `paraphe marches dce` checks the description, writes the ZIP whose manifest
//! lists every piece with its SHA-256 (recomputed here by Python's hashlib from the unpacked
//! ZIP), signs the manifest (verified by `openssl cms -verify` and by `paraphe marches
//! verifier`); a description with errors gives French findings and writes nothing.

mod common;

use common::pdf::make_pdf;
use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn ready() -> bool {
    tools(&["openssl", "python3"])
}

fn paraphe(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(args)
        .env("PARAPHE_CONFIG", dir.join("absent.toml"))
        .env("PARAPHE_DONNEES", dir.join("donnees"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("paraphe");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{P12_PASSWORD}").expect("password");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A minimal OOXML document (a ZIP with `[Content_Types].xml`), enough to be recognised.
fn docx(path: &Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("docx"));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("[Content_Types].xml", options)
        .expect("entry");
    zip.write_all(b"<?xml version=\"1.0\"?><Types/>")
        .expect("write");
    zip.start_file("word/document.xml", options).expect("entry");
    zip.write_all(b"<w:document/>").expect("write");
    zip.finish().expect("finish");
}

fn deadline_in(days: i64) -> String {
    let when = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    when.format(&time::format_description::well_known::Rfc3339)
        .expect("date")
}

#[test]
fn a_dce_is_built_with_a_signed_manifest() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::create_dir(d.join("pieces")).expect("dir");
    make_pdf(&d.join("pieces/RC.pdf"), 2, false);
    make_pdf(&d.join("pieces/CCAP.pdf"), 3, false);
    make_pdf(&d.join("pieces/CCTP-voirie.pdf"), 1, true);
    docx(&d.join("pieces/AE.docx"));
    std::fs::write(d.join("pieces/BPU.csv"), "prix;quantité\n12,50;3\n").expect("csv");
    let pki = TestPki::shared();
    let description = format!(
        r#"[consultation]
objet = "Réfection de la voirie communale"
reference = "2026-VOI-01"
procedure = "ouverte"
acheteur = "Commune de Paraphe-les-Essais (TEST)"
date_limite = "{}"

[[lots]]
numero = 1
intitule = "Voirie"

[[lots]]
numero = 2
intitule = "Signalisation"

[[pieces]]
type = "RC"
fichier = "pieces/RC.pdf"

[[pieces]]
type = "CCAP"
fichier = "pieces/CCAP.pdf"

[[pieces]]
type = "CCTP"
fichier = "pieces/CCTP-voirie.pdf"
lot = 1

[[pieces]]
type = "AE"
fichier = "pieces/AE.docx"

[[pieces]]
type = "BPU"
fichier = "pieces/BPU.csv"
lot = 2
nom = "BPU lot 2.csv"

[reponse]
signature_exigee = ["AE"]
formats = ["pdf", "odt", "docx", "xlsx", "zip"]
certificats_chiffrement = ["{}"]
"#,
        deadline_in(45),
        pki.identity("chiffrement").cert_pem.display()
    );
    let toml = d.join("consultation.toml");
    std::fs::write(&toml, description).expect("toml");
    let zip_path = d.join("DCE.zip");
    let p12 = pki.identity("signature").p12.display().to_string();
    let out = paraphe(
        d,
        &[
            "marches",
            "dce",
            toml.to_str().expect("path"),
            "-o",
            zip_path.to_str().expect("path"),
            "--signer",
            "--p12",
            &p12,
            "--pin-stdin",
            "--json",
        ],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["bloquant"], false, "{report}");
    assert_eq!(report["dce"]["signe"], true);

    // Unpack with Python and recompute every digest independently.
    let unpacked = d.join("ouvert");
    let script = format!(
        "import zipfile, hashlib, json, sys\n\
         z = zipfile.ZipFile({zip:?}); z.extractall({out:?})\n\
         m = json.loads(z.read('manifeste.json'))\n\
         for p in m['pieces']:\n\
         \x20   data = z.read(p['chemin'])\n\
         \x20   assert hashlib.sha256(data).hexdigest() == p['sha256'], p\n\
         \x20   assert len(data) == p['taille'], p\n\
         print(json.dumps(sorted(z.namelist())))\n",
        zip = zip_path.display().to_string(),
        out = unpacked.display().to_string()
    );
    let py = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let names: Vec<String> = serde_json::from_slice(&py.stdout).expect("names");
    for expected in [
        "pieces/RC.pdf",
        "pieces/CCAP.pdf",
        "pieces/lot-1/CCTP-voirie.pdf",
        "pieces/AE.docx",
        "pieces/lot-2/BPU lot 2.csv",
        "manifeste.json",
        "manifeste.json.p7s",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.starts_with("chiffrement/")),
        "{names:?}"
    );
    // The pieces are the originals.
    assert_eq!(
        std::fs::read(unpacked.join("pieces/lot-1/CCTP-voirie.pdf")).expect("cctp"),
        std::fs::read(d.join("pieces/CCTP-voirie.pdf")).expect("original")
    );

    // The manifest's signature, by openssl and by Paraphe's own verifier.
    let manifest = unpacked.join("manifeste.json");
    let status = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(unpacked.join("manifeste.json.p7s"))
        .arg("-content")
        .arg(&manifest)
        .arg("-CAfile")
        .arg(pki.ca_bundle_pem())
        .args(["-purpose", "any", "-out", "/dev/null"])
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl cms -verify of the manifest");
    let check = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["marches", "verifier", "--json", "--confiance"])
        .arg(pki.ca_bundle_pem())
        .arg(&manifest)
        .env("PARAPHE_CONFIG", d.join("absent.toml"))
        .output()
        .expect("verifier");
    let verdict = json(&check);
    assert_eq!(verdict["valide"], true, "{verdict}");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("manifest")).expect("json");
    assert_eq!(m["consultation"]["reference"], "2026-VOI-01");
    assert_eq!(m["reponse"]["signature_exigee"][0], "AE");
}

#[test]
fn a_wrong_description_gives_french_findings_and_no_file() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    make_pdf(&d.join("CCAP.pdf"), 1, false);
    // A PNG that calls itself a PDF, and an executable.
    std::fs::write(d.join("CCTP.pdf"), b"\x89PNG\r\n\x1a\n0000000000000").expect("png");
    std::fs::write(d.join("outil.pdf"), b"MZ\x90\x00\x03\x00\x00\x00").expect("mz");
    let pki = TestPki::shared();
    let description = format!(
        r#"[consultation]
objet = "Fournitures scolaires"
reference = "2026/FOURN"
procedure = "ouverte"
date_limite = "2020-01-15T12:00:00+01:00"

[[pieces]]
type = "CCAP"
fichier = "CCAP.pdf"
lot = 3

[[pieces]]
type = "CCTP"
fichier = "CCTP.pdf"

[[pieces]]
type = "ANNEXE"
fichier = "outil.pdf"

[reponse]
certificats_chiffrement = ["{}"]
"#,
        pki.identity("signature").cert_pem.display()
    );
    let toml = d.join("consultation.toml");
    std::fs::write(&toml, description).expect("toml");
    let zip_path = d.join("DCE.zip");
    let out = paraphe(
        d,
        &[
            "marches",
            "dce",
            toml.to_str().expect("path"),
            "-o",
            zip_path.to_str().expect("path"),
            "--json",
        ],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(!zip_path.exists(), "nothing written");
    let codes: Vec<&str> = report["constats"]
        .as_array()
        .expect("constats")
        .iter()
        .filter(|f| f["gravite"] == "bloquant")
        .filter_map(|f| f["code"].as_str())
        .collect();
    for expected in [
        "dce.reference",
        "dce.date_limite",
        "dce.lot_inconnu",
        "dce.extension",
        "dce.format",
        "dce.rc",
        "dce.certificat",
    ] {
        assert!(
            codes.contains(&expected),
            "{expected} in {codes:?}\n{report}"
        );
    }
    let text = report.to_string();
    assert!(text.contains("ne correspond pas à son contenu"), "{text}");
    assert!(text.contains("ne permet pas le chiffrement"), "{text}");
}
