//! ACTES archive: schema-valid envelope and message for every nature and 0, 1 and 20 annexes
//! (libxml2 through Paraphe's validator and, independently, `xmllint`), names in S²LOW and STELA
//! style, ISO-8859-1 bytes, signatures where the schema puts them, nothing written on failure.

mod actes_support;
mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use actes_support::*;
use paraphe::actes::archive::{self, ArchiveError, Envoi, Signatures};
use paraphe::actes::model::{Acte, Saisie};
use paraphe::actes::names::{Nommage, StyleNoms};
use paraphe::xml::schema::{SchemaKind, XmlSchema};

/// (nature, matière, act typology expected, annex typology) for the test classification.
const NATURES: [(&str, &str, &str, &str); 6] = [
    ("1", "1.1", "99_DE", "21_RP"),
    ("2", "2.1", "99_AR", "99_AR"),
    ("3", "4.1", "99_AI", "41_NC"),
    ("4", "1.1", "99_DC", "11_AE"),
    ("5", "7.1", "99_BU", "70_DE"),
    ("6", "9.1", "99_AU", "99_AU"),
];

fn xsd() -> Option<PathBuf> {
    common::conformance("actes/xsd").map(|d| d.join("actesv1_1.xsd"))
}

/// Annex `i`: PDFs, PNGs and JPEGs in turn, all different.
fn annex(dir: &Path, i: usize) -> PathBuf {
    match i % 3 {
        0 => file(
            dir,
            &format!("annexe{i}.pdf"),
            &pdf_bytes(&format!("Annexe {i}")),
        ),
        1 => file(dir, &format!("plan{i}.png"), &png_bytes(8 + i as u32, 4)),
        _ => file(
            dir,
            &format!("photo{i}.jpg"),
            &jpeg_bytes(100 + i as u16, 50),
        ),
    }
}

fn checked_act(dir: &Path, nature: usize, annexes: usize, objet: &str) -> Acte {
    let (code, matiere, _, annex_type) = NATURES[nature];
    let acte = file(dir, "acte.pdf", &pdf_bytes("Acte"));
    let saisie = Saisie {
        nature: Some(code.to_owned()),
        matiere: Some(matiere.to_owned()),
        numero: Some(format!("N{code}_{annexes}")),
        date: Some("2026-03-02".to_owned()),
        objet: Some(objet.to_owned()),
        acte: Some(piece(&acte, None)),
        annexes: (0..annexes)
            .map(|i| piece(&annex(dir, i), Some(annex_type)))
            .collect(),
    };
    let c = classification("2019-03-01");
    let controle = check(&saisie, &contexte(Some(&c), None));
    assert_eq!(controle.blocking(), 0, "{:#?}", controle.constats);
    controle.acte.expect("acte")
}

/// The members of a .tar.gz, in order.
fn members(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(archive).expect("open"));
    let mut tar = tar::Archive::new(gz);
    let mut out = Vec::new();
    for entry in tar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        assert_eq!(entry.header().entry_type(), tar::EntryType::Regular);
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        assert!(!name.contains('/'), "flat archive: {name}");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read");
        out.push((name, bytes));
    }
    out
}

/// Validates with Paraphe's libxml2 validator and with xmllint; panics with the errors.
fn assert_schema_valid(schema: &XmlSchema, xsd: &Path, path: &Path) {
    let findings = schema.validate(path).expect("validation ran");
    assert!(findings.is_empty(), "{}: {findings:#?}", path.display());
    if common::tools(&["xmllint"]) {
        let out = Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(xsd)
            .arg(path)
            .output()
            .expect("xmllint");
        assert!(
            out.status.success(),
            "xmllint {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn build(
    acte: &Acte,
    nommage: &Nommage,
    serial: u32,
    signatures: &Signatures,
    out: &Path,
) -> archive::ArchiveConstruite {
    archive::build(
        acte,
        &collectivite(),
        nommage,
        Envoi {
            date: TODAY,
            serial,
        },
        signatures,
        out,
        20_000_000,
    )
    .expect("archive")
}

#[test]
fn every_nature_with_0_1_and_20_annexes_is_schema_valid() {
    let Some(xsd) = xsd() else { return };
    let schema = XmlSchema::load(&xsd, SchemaKind::Actes).expect("schema compiles");
    let mut serial = 0;
    for (nature, spec) in NATURES.iter().enumerate() {
        for annexes in [0, 1, 20] {
            let dir = tempfile::tempdir().expect("tmp");
            let acte = checked_act(dir.path(), nature, annexes, "Objet de l'acte n° 1 : été");
            assert_eq!(acte.document.typologie, spec.2);
            let out = dir.path().join("sortie");
            std::fs::create_dir(&out).expect("mkdir");
            serial += 1;
            let built = build(
                &acte,
                &Nommage::default(),
                serial,
                &Signatures::default(),
                &out,
            );
            assert_eq!(built.chemin, out.join(&built.noms.archive));
            let members = members(&built.chemin);
            assert_eq!(members.len(), 3 + annexes);
            let extracted = dir.path().join("extrait");
            std::fs::create_dir(&extracted).expect("mkdir");
            for (name, bytes) in &members {
                std::fs::write(extracted.join(name), bytes).expect("write");
            }
            assert_eq!(members[0].0, built.noms.enveloppe);
            assert_eq!(members[1].0, built.noms.message);
            assert_schema_valid(&schema, &xsd, &extracted.join(&built.noms.enveloppe));
            assert_schema_valid(&schema, &xsd, &extracted.join(&built.noms.message));
            // Documents are the checked files, byte for byte.
            assert_eq!(
                members[2].1,
                std::fs::read(&acte.document.chemin).expect("read")
            );
            for (i, a) in acte.annexes.iter().enumerate() {
                assert_eq!(members[3 + i].0, built.noms.annexes[i]);
                assert_eq!(members[3 + i].1, std::fs::read(&a.chemin).expect("read"));
            }
            let message = String::from_utf8_lossy(&members[1].1).into_owned();
            assert!(message.contains(&format!("actes:Nombre=\"{annexes}\"")));
            assert!(message.contains(&format!("actes:CodeNatureActe=\"{}\"", spec.0)));
        }
    }
}

#[test]
fn names_in_both_styles() {
    let dir = tempfile::tempdir().expect("tmp");
    let acte = checked_act(dir.path(), 0, 2, "Objet");
    let s2low = build(
        &acte,
        &Nommage::default(),
        7,
        &Signatures::default(),
        dir.path(),
    );
    assert_eq!(s2low.noms.archive, "PAR-TACT--210600730--20260310-7.tar.gz");
    assert_eq!(s2low.noms.enveloppe, "TACT--210600730--20260310-7.xml");
    // S²LOW: decision date (2 March) in the message's names.
    assert_eq!(
        s2low.noms.message,
        "006-210600730-20260302-N1_2-DE-1-1_0.xml"
    );
    assert_eq!(
        s2low.noms.document,
        "99_DE-006-210600730-20260302-N1_2-DE-1-1_1.pdf"
    );
    assert_eq!(
        s2low.noms.annexes,
        [
            "21_RP-006-210600730-20260302-N1_2-DE-1-1_2.pdf",
            "21_RP-006-210600730-20260302-N1_2-DE-1-1_3.png"
        ]
    );
    let stela = Nommage {
        application: "EACT".to_owned(),
        trigramme: "SIC".to_owned(),
        style: StyleNoms::Stela,
        prefixe_typologie: true,
    };
    let built = build(&acte, &stela, 1, &Signatures::default(), dir.path());
    assert_eq!(built.noms.archive, "SIC-EACT--210600730--20260310-1.tar.gz");
    // STELA: current date (10 March) everywhere.
    assert_eq!(
        built.noms.message,
        "006-210600730-20260310-N1_2-DE-1-1_0.xml"
    );
    assert_eq!(
        built.noms.document,
        "99_DE-006-210600730-20260310-N1_2-DE-1-1_1.pdf"
    );
    let names: Vec<String> = members(&built.chemin).into_iter().map(|m| m.0).collect();
    assert_eq!(
        names,
        [
            "EACT--210600730--20260310-1.xml",
            "006-210600730-20260310-N1_2-DE-1-1_0.xml",
            "99_DE-006-210600730-20260310-N1_2-DE-1-1_1.pdf",
            "21_RP-006-210600730-20260310-N1_2-DE-1-1_2.pdf",
            "21_RP-006-210600730-20260310-N1_2-DE-1-1_3.png",
        ]
    );
    // The envelope names the message.
    let envelope = String::from_utf8_lossy(&members(&built.chemin)[0].1).into_owned();
    assert!(
        envelope.contains(
            "<actes:NomFichier>006-210600730-20260310-N1_2-DE-1-1_0.xml</actes:NomFichier>"
        )
    );
    // The older names, without the typology in front, when configured; the message names the
    // same files and stays schema-valid.
    let sans_prefixe = Nommage {
        prefixe_typologie: false,
        ..Nommage::default()
    };
    let out = dir.path().join("sans-prefixe");
    std::fs::create_dir(&out).expect("mkdir");
    let built = build(&acte, &sans_prefixe, 2, &Signatures::default(), &out);
    assert_eq!(
        built.noms.document,
        "006-210600730-20260302-N1_2-DE-1-1_1.pdf"
    );
    assert_eq!(
        built.noms.annexes[1],
        "006-210600730-20260302-N1_2-DE-1-1_3.png"
    );
    let members = members(&built.chemin);
    let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(names[2], built.noms.document);
    let message = String::from_utf8_lossy(&members[1].1).into_owned();
    assert!(message.contains(&built.noms.document), "{message}");
    if let Some(xsd) = xsd() {
        let schema = XmlSchema::load(&xsd, SchemaKind::Actes).expect("schema");
        let extracted = out.join(&built.noms.message);
        std::fs::write(&extracted, &members[1].1).expect("write");
        assert_schema_valid(&schema, &xsd, &extracted);
    }
}

#[test]
fn iso_8859_1_with_accents_preserved() {
    let dir = tempfile::tempdir().expect("tmp");
    let objet = "Délibération : travaux de l'église — œuvre d'été & « ça » <ok>";
    let acte = checked_act(dir.path(), 0, 0, objet);
    let built = build(
        &acte,
        &Nommage::default(),
        1,
        &Signatures::default(),
        dir.path(),
    );
    let members = members(&built.chemin);
    let message = &members[1].1;
    let envelope = &members[0].1;
    assert!(message.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"));
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    // é = E9, è = E8, ç = E7, « » = AB BB: one byte each, not UTF-8.
    assert!(contains(
        message,
        b"D\xe9lib\xe9ration : travaux de l'\xe9glise"
    ));
    assert!(contains(message, b"\xab \xe7a \xbb"));
    // Outside Latin-1: character references, nothing lost.
    assert!(contains(message, b"&#8212; &#339;uvre d'\xe9t\xe9 &amp;"));
    assert!(contains(message, b"&lt;ok&gt;"));
    assert!(!contains(message, b"\xc3\xa9"), "no UTF-8 é");
    assert!(contains(envelope, b"H\xe9l\xe8ne M\xfcller"));
    // Read back, the objet is the one typed.
    let mut reader = paraphe::xml::XmlReader::new(message.as_slice()).expect("reader");
    let mut text = String::new();
    let mut in_objet = false;
    loop {
        let event = reader.read_event().expect("well-formed");
        match event {
            quick_xml::events::Event::Start(s) => in_objet = s.name().as_ref() == b"actes:Objet",
            quick_xml::events::Event::End(_) => in_objet = false,
            quick_xml::events::Event::Text(t) if in_objet => {
                text.push_str(&String::from_utf8_lossy(&t))
            }
            quick_xml::events::Event::GeneralRef(r) if in_objet => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let c = match name.as_str() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    n => n
                        .strip_prefix('#')
                        .and_then(|n| n.parse::<u32>().ok())
                        .and_then(char::from_u32)
                        .expect("character reference"),
                };
                text.push(c);
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(text, objet);
    if let Some(xsd) = xsd() {
        let schema = XmlSchema::load(&xsd, SchemaKind::Actes).expect("schema");
        let path = dir.path().join("message.xml");
        std::fs::write(&path, message).expect("write");
        assert_schema_valid(&schema, &xsd, &path);
    }
}

#[test]
fn detached_signatures_go_where_the_schema_puts_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let acte = checked_act(dir.path(), 2, 2, "Arrêté de nomination");
    let signatures = Signatures {
        document: Some(b"CMS-du-document".to_vec()),
        annexes: vec![None, Some(b"CMS-annexe-2".to_vec())],
    };
    let built = build(&acte, &Nommage::default(), 1, &signatures, dir.path());
    let members = members(&built.chemin);
    let message = String::from_utf8_lossy(&members[1].1).into_owned();
    let b64 = |b: &[u8]| openssl::base64::encode_block(b);
    let doc = format!(
        "<actes:Document>\n    <actes:NomFichier>{}</actes:NomFichier>\n    <actes:Signature>{}</actes:Signature>\n  </actes:Document>",
        built.noms.document,
        b64(b"CMS-du-document")
    );
    assert!(message.contains(&doc), "{message}");
    assert_eq!(message.matches("<actes:Signature>").count(), 2);
    assert!(message.contains(&format!(
        "<actes:NomFichier>{}</actes:NomFichier>\n      <actes:Signature>{}</actes:Signature>",
        built.noms.annexes[1],
        b64(b"CMS-annexe-2")
    )));
    if let Some(xsd) = xsd() {
        let schema = XmlSchema::load(&xsd, SchemaKind::Actes).expect("schema");
        let path = dir.path().join("message.xml");
        std::fs::write(&path, &members[1].1).expect("write");
        assert_schema_valid(&schema, &xsd, &path);
    }
}

fn entries(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().expect("meta").len(),
            )
        })
        .collect()
}

#[test]
fn nothing_is_written_when_building_fails() {
    let dir = tempfile::tempdir().expect("tmp");
    let acte = checked_act(dir.path(), 0, 1, "Objet");
    let out = dir.path().join("sortie");
    std::fs::create_dir(&out).expect("mkdir");
    // The act changes after its check (same size, other content).
    let mut bytes = std::fs::read(&acte.document.chemin).expect("read");
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&acte.document.chemin, &bytes).expect("write");
    let err = archive::build(
        &acte,
        &collectivite(),
        &Nommage::default(),
        Envoi {
            date: TODAY,
            serial: 1,
        },
        &Signatures::default(),
        &out,
        20_000_000,
    )
    .expect_err("changed");
    assert!(matches!(err, ArchiveError::Changed(_)));
    assert!(
        err.to_string()
            .contains("« acte.pdf » a changé depuis son contrôle")
    );
    assert!(entries(&out).is_empty(), "no temporary file left");
    // Too large for the limit.
    let acte = checked_act(dir.path(), 0, 1, "Objet");
    let err = archive::build(
        &acte,
        &collectivite(),
        &Nommage::default(),
        Envoi {
            date: TODAY,
            serial: 1,
        },
        &Signatures::default(),
        &out,
        100,
    )
    .expect_err("too large");
    assert!(matches!(err, ArchiveError::TooLarge { .. }));
    assert!(entries(&out).is_empty());
    // An existing file is not replaced.
    let target = out.join("envoi.tar.gz");
    std::fs::write(&target, b"ancien").expect("write");
    let err = archive::build(
        &acte,
        &collectivite(),
        &Nommage::default(),
        Envoi {
            date: TODAY,
            serial: 1,
        },
        &Signatures::default(),
        &target,
        20_000_000,
    )
    .expect_err("exists");
    assert!(matches!(err, ArchiveError::Exists(_)));
    assert_eq!(std::fs::read(&target).expect("read"), b"ancien");
    assert_eq!(entries(&out).len(), 1);
    // Serial beyond 9999.
    let err = archive::build(
        &acte,
        &collectivite(),
        &Nommage::default(),
        Envoi {
            date: TODAY,
            serial: 10_000,
        },
        &Signatures::default(),
        &out,
        20_000_000,
    )
    .expect_err("serial");
    assert!(err.to_string().contains("entre 1 et 9999"));
    assert_eq!(entries(&out).len(), 1);
}

/// A budget document sent as XML (nature 5, matière 7.1) with PDF annexes: the only case where
/// the act is not a PDF; the archive keeps the XML as is and stays schema-valid.
#[test]
fn a_budget_document_in_xml_with_pdf_annexes_is_schema_valid() {
    let Some(xsd) = xsd() else { return };
    let schema = XmlSchema::load(&xsd, SchemaKind::Actes).expect("schema compiles");
    let dir = tempfile::tempdir().expect("tmp");
    let budget = file(
        dir.path(),
        "budget.xml",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DocumentBudgetaire xmlns=\"http://www.minefi.gouv.fr/cp/demat/docbudgetaire\"><VersionSchema V=\"98\"/></DocumentBudgetaire>\n",
    );
    let saisie = Saisie {
        nature: Some("5".to_owned()),
        matiere: Some("7.1".to_owned()),
        numero: Some("BP2026".to_owned()),
        date: Some("2026-03-02".to_owned()),
        objet: Some("Budget primitif 2026".to_owned()),
        acte: Some(piece(&budget, None)),
        annexes: vec![piece(&annex(dir.path(), 0), Some("70_DE"))],
    };
    let c = classification("2019-03-01");
    let controle = check(&saisie, &contexte(Some(&c), None));
    assert_eq!(controle.blocking(), 0, "{:#?}", controle.constats);
    let acte = controle.acte.expect("acte");
    let out = dir.path().join("sortie");
    std::fs::create_dir(&out).expect("mkdir");
    let built = build(&acte, &Nommage::default(), 1, &Signatures::default(), &out);
    assert!(built.noms.document.ends_with(".xml"), "{:?}", built.noms);
    let members = members(&built.chemin);
    let extracted = dir.path().join("extrait");
    std::fs::create_dir(&extracted).expect("mkdir");
    for (name, bytes) in &members {
        std::fs::write(extracted.join(name), bytes).expect("write");
    }
    assert_schema_valid(&schema, &xsd, &extracted.join(&built.noms.enveloppe));
    assert_schema_valid(&schema, &xsd, &extracted.join(&built.noms.message));
    assert_eq!(members[2].1, std::fs::read(&budget).expect("read"));

    // With an XML act, a PNG annexe is refused (S²LOW's rule).
    let saisie = Saisie {
        annexes: vec![piece(&annex(dir.path(), 1), Some("70_DE"))],
        ..saisie
    };
    let controle = check(&saisie, &contexte(Some(&c), None));
    assert!(controle.blocking() > 0, "{:#?}", controle.constats);
}

/// The ACTES schema shipped inside the program is the official one, byte for byte (its
/// PROVENANCE.txt names the public source; `../shared` holds the same files).
#[test]
fn shipped_actes_schema_is_the_official_one() {
    let Some(dir) = common::conformance("actes/xsd") else {
        return;
    };
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/schemas/actes_v1.1");
    for name in ["actesv1_1.xsd", "siret.xsd", "insee-commun.xsd"] {
        assert_eq!(
            std::fs::read(shipped.join(name)).expect("shipped"),
            std::fs::read(dir.join(name)).expect("official"),
            "{name}"
        );
    }
    assert!(shipped.join("PROVENANCE.txt").is_file());
}

/// What Paraphe writes into an archive is checked against the shipped schema before anything is
/// written: a good envelope and message pass; a message the schema refuses (a required element
/// taken out, an attribute the schema does not know) is refused with the file's name and
/// libxml2's reason — proved by xmllint on the same bytes.
#[test]
fn archive_xml_is_checked_against_the_shipped_schema_before_writing() {
    let Some(xsd) = xsd() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let acte = checked_act(dir.path(), 0, 1, "Objet conforme");
    let out = dir.path().join("sortie");
    std::fs::create_dir(&out).expect("mkdir");
    let built = build(&acte, &Nommage::default(), 1, &Signatures::default(), &out);
    assert!(built.schema_verifie, "libxml2 is on every test machine");
    let members = members(&built.chemin);
    let message = String::from_utf8_lossy(&members[1].1).into_owned();
    assert!(
        archive::check_against_schema(&[("message.xml", members[1].1.as_slice())]).expect("valid")
    );
    let xmllint_refuses = |bytes: &[u8]| {
        let f = dir.path().join("mutant.xml");
        std::fs::write(&f, bytes).expect("write");
        !Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&f)
            .output()
            .expect("xmllint")
            .status
            .success()
    };
    let start = message.find("<actes:Objet>").expect("objet");
    let end = message.find("</actes:Objet>").expect("objet") + "</actes:Objet>".len();
    let mutants = [
        format!("{}{}", &message[..start], &message[end..]),
        message.replacen("actes:Date=", "actes:Inconnu=\"1\" actes:Date=", 1),
    ];
    for mutant in mutants {
        let mutant = mutant.into_bytes();
        assert!(xmllint_refuses(&mutant), "the mutant must be out of schema");
        let err = archive::check_against_schema(&[("acte-message.xml", mutant.as_slice())])
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            matches!(err, ArchiveError::Schema { .. })
                && text.contains("acte-message.xml")
                && text.contains("schéma ACTES"),
            "{text}"
        );
    }
}
