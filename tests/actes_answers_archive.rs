//! Answers travel like acts: `actes::archive::build_answer` and the commands
//! `paraphe actes repondre` / `paraphe actes annuler` write the `.tar.gz` a tiers de
//! télétransmission sends (envelope + answer message + documents), every XML checked against
//! `actesv1_1.xsd` by xmllint, documents judged by content, nothing left behind when refused.

mod actes_support;
mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use actes_support::*;
use paraphe::actes::answers::{Answer, AnswerKind};
use paraphe::actes::archive::{AnswerArchiveError, Envoi, build_answer};
use paraphe::actes::names::Nommage;
use time::macros::date;

const ID: &str = "034-491011698-20171207-CL20171227_06-DE";

fn xsd() -> Option<PathBuf> {
    common::conformance("actes").map(|d| d.join("xsd/actesv1_1.xsd"))
}

/// Name → bytes of every member of the archive.
fn members(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = std::fs::File::open(archive).expect("open archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for entry in tar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read member");
        out.insert(name, bytes);
    }
    out
}

/// Every XML member is valid against the ACTES schema (xmllint, not Paraphe).
fn assert_schema_valid(dir: &Path, archive: &Path) {
    let Some(xsd) = xsd() else { return };
    if !common::tools(&["xmllint"]) {
        return;
    }
    for (name, bytes) in members(archive) {
        if !name.ends_with(".xml") {
            continue;
        }
        let path = dir.join(format!("check-{name}"));
        std::fs::write(&path, &bytes).expect("write member");
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&path)
            .output()
            .expect("xmllint");
        assert!(
            out.status.success(),
            "{name} not valid: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn collectivite() -> paraphe::actes::model::Collectivite {
    let mut c = actes_support::collectivite();
    c.siren = "491011698".to_owned();
    c.departement = "034".to_owned();
    c
}

#[test]
fn every_answer_kind_builds_a_schema_valid_archive() {
    let dir = tempfile::tempdir().expect("tmp");
    let pdf = file(dir.path(), "lettre.pdf", &pdf_bytes("Réponse"));
    let png = file(dir.path(), "plan.png", &png_bytes(8, 8));
    let jpg = file(dir.path(), "photo.jpeg", &jpeg_bytes(8, 8));
    for (serial, kind) in (1u32..).zip(AnswerKind::ALL) {
        let fichiers: Vec<PathBuf> = match kind.documents() {
            paraphe::actes::answers::DocumentCount::None => vec![],
            paraphe::actes::answers::DocumentCount::One => vec![pdf.clone()],
            paraphe::actes::answers::DocumentCount::OneOrMore => {
                vec![pdf.clone(), png.clone(), jpg.clone()]
            }
        };
        let date_courrier = kind.needs_letter_date().then_some("2017-12-27");
        let answer = Answer::new(kind, ID, date_courrier, vec![]);
        let built = build_answer(
            &answer,
            &fichiers,
            &collectivite(),
            &Nommage::default(),
            Envoi {
                date: date!(2018 - 01 - 15),
                serial,
            },
            dir.path(),
            20_000_000,
        )
        .expect("archive");
        assert_eq!(
            built.archive,
            format!("PAR-TACT--491011698--20180115-{serial}.tar.gz")
        );
        assert_eq!(
            built.enveloppe,
            format!("TACT--491011698--20180115-{serial}.xml")
        );
        assert_eq!(built.message, format!("{ID}-{}_0.xml", kind.code()));
        let m = members(&built.chemin);
        let mut expected: Vec<String> = vec![built.enveloppe.clone(), built.message.clone()];
        expected.extend(built.documents.iter().cloned());
        expected.sort();
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), expected, "{kind:?}");
        // The envelope names the message; the message names its documents.
        let envelope = String::from_utf8_lossy(&m[&built.enveloppe]).into_owned();
        assert!(envelope.contains(&built.message), "{envelope}");
        let message = String::from_utf8_lossy(&m[&built.message]).into_owned();
        for d in &built.documents {
            assert!(message.contains(d.as_str()), "{message}");
        }
        if kind == AnswerKind::PieceComplementaire {
            let code = kind.code();
            assert_eq!(
                built.documents,
                vec![
                    format!("{ID}-{code}_1.pdf"),
                    format!("{ID}-{code}_2.png"),
                    format!("{ID}-{code}_3.jpg"),
                ]
            );
            assert_eq!(m[&built.documents[1]], png_bytes(8, 8));
        }
        assert_schema_valid(dir.path(), &built.chemin);
        // Read back by Paraphe's own reader as an archive of this answer.
        let reading = paraphe::actes::messages::read_file(&built.chemin).expect("read back");
        let paraphe::actes::messages::Reading::Archive(a) = reading else {
            panic!("not read as an archive");
        };
        let main = a.main_message().expect("main message");
        assert_eq!(main.kind, kind.message_kind());
        assert_eq!(main.id_acte.as_deref(), Some(ID));
    }
}

#[test]
fn documents_are_judged_by_content_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().expect("tmp");
    let fake = file(dir.path(), "lettre.pdf", b"MZ\x90\x00 not a pdf at all");
    let out = dir.path().join("sortie");
    std::fs::create_dir(&out).expect("mkdir");
    let answer = Answer::new(
        AnswerKind::ReponseCourrierSimple,
        ID,
        Some("2017-12-27"),
        vec![],
    );
    let envoi = Envoi {
        date: date!(2018 - 01 - 15),
        serial: 1,
    };
    let err = build_answer(
        &answer,
        &[fake],
        &collectivite(),
        &Nommage::default(),
        envoi,
        &out,
        20_000_000,
    )
    .expect_err("refused");
    assert!(matches!(err, AnswerArchiveError::File(_)), "{err}");
    // Wrong number of documents.
    let err = build_answer(
        &answer,
        &[],
        &collectivite(),
        &Nommage::default(),
        envoi,
        &out,
        20_000_000,
    )
    .expect_err("refused");
    assert!(matches!(err, AnswerArchiveError::Answer(_)), "{err}");
    // Too large for the limit.
    let pdf = file(dir.path(), "gros.pdf", &pdf_bytes("Réponse"));
    let err = build_answer(
        &answer,
        std::slice::from_ref(&pdf),
        &collectivite(),
        &Nommage::default(),
        envoi,
        &out,
        10,
    )
    .expect_err("refused");
    assert!(matches!(err, AnswerArchiveError::File(_)), "{err}");
    assert_eq!(std::fs::read_dir(&out).expect("read_dir").count(), 0);
    // An existing file is never replaced.
    let target = out.join("x.tar.gz");
    std::fs::write(&target, b"old").expect("write");
    let err = build_answer(
        &answer,
        &[pdf],
        &collectivite(),
        &Nommage::default(),
        envoi,
        &target,
        20_000_000,
    )
    .expect_err("refused");
    assert!(matches!(err, AnswerArchiveError::Archive(_)), "{err}");
    assert_eq!(std::fs::read(&target).expect("read"), b"old");
    assert_eq!(std::fs::read_dir(&out).expect("read_dir").count(), 1);
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(siren: &str) -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("tmp"),
        };
        std::fs::write(
            env.path("paraphe.toml"),
            format!(
                "[collectivite]\nsiren = \"{siren}\"\ndepartement = \"34\"\narrondissement = \"2\"\nnature = \"31\"\nemails_retour = [\"actes@mairie-exemple.fr\"]\n"
            ),
        )
        .expect("settings");
        std::fs::create_dir(env.path("sortie")).expect("mkdir");
        file(env.dir.path(), "lettre.pdf", &pdf_bytes("Réponse"));
        file(env.dir.path(), "plan.png", &png_bytes(10, 10));
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .env("PARAPHE_CONFIG", self.path("paraphe.toml"))
            .env("PARAPHE_DONNEES", self.path("donnees"))
            .current_dir(self.dir.path())
            .arg("actes")
            .args(args)
            .output()
            .expect("run paraphe")
    }

    fn sortie(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("sortie"))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// A letter from the préfecture (3-1 or 4-1) about act `ID`, as the schema describes it.
fn letter(root: &str, text_element: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<actes:{root} xmlns:actes=\"http://www.interieur.gouv.fr/ACTES#v1.1-20040216\" actes:IDActe=\"{ID}\" actes:DateCourrierPref=\"2017-12-27\">\n  <actes:{text_element}>Précisions</actes:{text_element}>\n  <actes:Document><actes:NomFichier>{ID}-x_1.pdf</actes:NomFichier></actes:Document>\n</actes:{root}>\n"
    )
    .into_bytes()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn repondre_writes_each_answer_with_the_days_serials() {
    let env = Env::new("491011698");
    file(
        env.dir.path(),
        "3-1.xml",
        &letter("DemandePieceComplementaire", "DescriptionPieces"),
    );
    file(
        env.dir.path(),
        "4-1.xml",
        &letter("LettreObservations", "Motif"),
    );
    let cases: [(&str, &str, &[&str]); 6] = [
        ("3-1.xml", "3-2", &[]),
        ("3-1.xml", "3-3", &["--document", "lettre.pdf"]),
        (
            "3-1.xml",
            "3-4",
            &["--document", "lettre.pdf", "--document", "plan.png"],
        ),
        ("4-1.xml", "4-2", &[]),
        ("4-1.xml", "4-3", &["--document", "lettre.pdf"]),
        ("4-1.xml", "4-4", &["--document", "lettre.pdf"]),
    ];
    for (i, (recu, code, extra)) in cases.iter().enumerate() {
        let mut args = vec!["repondre", recu, "--type", code, "-o", "sortie", "--json"];
        args.extend_from_slice(extra);
        let o = env.run(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{code}: {}{}",
            stdout(&o),
            String::from_utf8_lossy(&o.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(doc["type"], *code);
        let archive = doc["archive"]["archive"].as_str().expect("archive name");
        assert!(
            archive.ends_with(&format!("-{}.tar.gz", i + 1)),
            "{archive}"
        );
        let m = members(&env.path("sortie").join(archive));
        assert!(
            m.contains_key(&format!("{ID}-{code}_0.xml")),
            "{:?}",
            m.keys()
        );
        assert_eq!(m.len(), 2 + extra.len() / 2);
        assert_schema_valid(env.dir.path(), &env.path("sortie").join(archive));
    }
    assert_eq!(env.sortie().len(), 6);
}

#[test]
fn repondre_to_a_conformance_courrier_simple() {
    let Some(dir) = common::conformance("actes/samples/s2low/test/PHPUnit/class/fixtures") else {
        return;
    };
    let env = Env::new("000000000");
    let recu = dir.join("test-courrier-simple/034-000000000-20170701-20170725A-AI-2-1_0.xml");
    let recu = recu.to_string_lossy().into_owned();
    let o = env.run(&[
        "repondre",
        &recu,
        "--type",
        "2-2",
        "--document",
        "lettre.pdf",
        "-o",
        "sortie/reponse.tar.gz",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("034-000000000-20170701-20170725A-AI-2-2_1.pdf"));
    let archive = env.path("sortie/reponse.tar.gz");
    assert_schema_valid(env.dir.path(), &archive);
    // An answer that does not fit this message, and an unknown type.
    let o = env.run(&["repondre", &recu, "--type", "4-2", "-o", "sortie"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let o = env.run(&["repondre", &recu, "--type", "9-9", "-o", "sortie"]);
    assert_eq!(o.status.code(), Some(2));
    // Another collectivité's act.
    let other = Env::new("491011698");
    let o = other.run(&[
        "repondre",
        &recu,
        "--type",
        "2-2",
        "--document",
        "lettre.pdf",
        "-o",
        "sortie",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(other.sortie().is_empty());
    assert_eq!(env.sortie(), vec!["reponse.tar.gz".to_owned()]);
}

#[test]
fn annuler_writes_a_6_1_and_refuses_a_bad_id() {
    let env = Env::new("491011698");
    let o = env.run(&["annuler", "--id-acte", ID, "-o", "sortie"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    let names = env.sortie();
    assert_eq!(names.len(), 1);
    assert!(names[0].starts_with("PAR-TACT--491011698--") && names[0].ends_with("-1.tar.gz"));
    let archive = env.path("sortie").join(&names[0]);
    let m = members(&archive);
    assert!(m.contains_key(&format!("{ID}-6-1_0.xml")));
    assert_eq!(m.len(), 2);
    assert_schema_valid(env.dir.path(), &archive);
    let o = env.run(&[
        "annuler",
        "--id-acte",
        "pas un id",
        "-o",
        "sortie",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(doc["valide"], false);
    assert_eq!(env.sortie().len(), 1);
}

/// `messages::detect_kind` now rests on `files::detect`: every conformance sample (and every
/// member of the sample archives, and of an archive Paraphe writes) is still called what it is.
#[test]
fn detect_kind_on_every_sample() {
    use paraphe::actes::messages::{FileKind, Reading, detect_kind, read_file};
    let Some(samples) = common::conformance("actes/samples") else {
        return;
    };
    let expected = |name: &str| match name.rsplit('.').next() {
        Some("xml") => Some(FileKind::Xml),
        Some("pdf") => Some(FileKind::Pdf),
        Some("png") => Some(FileKind::Png),
        Some("jpg" | "jpeg") => Some(FileKind::Jpeg),
        Some("gz") => Some(FileKind::Gzip),
        Some("json") => Some(FileKind::Inconnu),
        _ => None,
    };
    let mut seen = 0;
    let mut members_seen = 0;
    let mut stack = vec![samples];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            let Some(kind) = expected(&name) else {
                continue;
            };
            let bytes = std::fs::read(&path).expect("read");
            assert_eq!(detect_kind(&bytes), kind, "{name}");
            seen += 1;
            if kind == FileKind::Gzip
                && let Ok(Reading::Archive(a)) = read_file(&path)
            {
                for f in &a.fichiers {
                    if let Some(k) = expected(&f.nom) {
                        assert_eq!(f.nature, k, "{name}: {}", f.nom);
                        members_seen += 1;
                    }
                }
            }
        }
    }
    assert!(seen >= 30, "only {seen} samples");
    assert!(members_seen >= 1, "no archive member checked");
    // An uncompressed tar whose first member is a PDF is a tar, not a PDF.
    let mut tar = tar::Builder::new(Vec::new());
    let pdf = pdf_bytes("x");
    let mut h = tar::Header::new_ustar();
    h.set_size(pdf.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "a.pdf", pdf.as_slice())
        .expect("append");
    let bytes = tar.into_inner().expect("tar");
    assert_eq!(detect_kind(&bytes), FileKind::Tar);
    assert_eq!(detect_kind(&png_bytes(2, 2)), FileKind::Png);
    assert_eq!(detect_kind(&jpeg_bytes(2, 2)), FileKind::Jpeg);
    assert_eq!(detect_kind(b"\xEF\xBB\xBF  <!-- c --><a/>"), FileKind::Xml);
    assert_eq!(detect_kind(b"MZ\x90\x00"), FileKind::Inconnu);
    assert_eq!(detect_kind(b""), FileKind::Inconnu);
}
