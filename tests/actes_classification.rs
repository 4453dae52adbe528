//! ACTES classification: every RetourClassification of the conformance set is read (the
//! schema-invalid old ones with a warning), DOCTYPE and oversized files are refused, versions are
//! kept per SIREN with their date, the tree is searchable without regard to accents.

mod actes_support;
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use actes_support::*;
use paraphe::actes::classification::{Classification, ClassificationError, ClassificationStore};
use paraphe::actes::model::{CodeMatiere, Nature, iso_date};
use paraphe::actes::rules::default_typologie;
use time::macros::date;

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            xml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

#[test]
fn every_sample_classification_is_read() {
    let Some(samples) = common::conformance("actes/samples") else {
        return;
    };
    let mut files = Vec::new();
    xml_files(&samples, &mut files);
    let mut read = 0;
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(600)]).into_owned();
        if !head.contains("RetourClassification") {
            continue;
        }
        let c =
            Classification::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        read += 1;
        assert!(c.matieres.len() >= 9, "{}", path.display());
        assert_eq!(c.natures.len(), 6, "{}", path.display());
        let typed = c.natures.iter().all(|n| !n.types_pj.is_empty());
        // The schema-invalid ones of RESULTS.txt are those without TypePJNatureActe: read, with
        // a warning saying typologies cannot be checked.
        if !typed {
            assert!(
                c.avertissements
                    .iter()
                    .any(|w| !w.is_blocking() && w.message.contains("typologies")),
                "{}: {:#?}",
                path.display(),
                c.avertissements
            );
        }
        // Every matière code is usable as an act's classification.
        for (code, chain) in c.all() {
            assert_eq!(code.levels().len(), chain.len());
            assert!(c.path(&code).is_some());
        }
    }
    assert!(read >= 9, "only {read} classifications found");
}

#[test]
fn sample_tree_search_and_typologies() {
    let Some(samples) = common::conformance("actes/samples") else {
        return;
    };
    let path = samples
        .join("pastell-megalis/test/PHPUnit/connecteur/s2low/fixtures/classification-exemple.xml");
    let c = Classification::read_file(&path).expect("read");
    assert_eq!(iso_date(c.date), "2019-03-01");
    assert!(c.avertissements.is_empty(), "{:#?}", c.avertissements);
    // Accents and case do not matter; parents' libellés count.
    let hits = c.search("URBANISME permis DEMOLIR");
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].code, "2.2.3");
    assert_eq!(hits[0].libelle, "Les permis de démolir");
    assert!(hits[0].feuille);
    assert!(
        c.search("schéma coherence")
            .iter()
            .any(|h| h.code == "2.1.1")
    );
    // By code: the matière and its sub-matières.
    let by_code = c.search("2.2");
    assert_eq!(by_code.len(), 5);
    assert_eq!(
        by_code[0].chemin,
        "Urbanisme › Actes relatifs au droit d occupation ou d utilisation des sols"
    );
    // A character reference outside Latin-1 (&#339;) is read.
    let de = c.nature(Nature::Deliberation).expect("DE");
    assert!(
        de.types_pj
            .iter()
            .any(|t| t.libelle.contains("mise en œuvre"))
    );
    assert_eq!(default_typologie(Nature::Budget, Some(&c)), "99_BU");
    assert_eq!(default_typologie(Nature::Contrat, Some(&c)), "99_DC");
    assert!(
        c.path(&CodeMatiere::parse("2.2.9").expect("code"))
            .is_none()
    );
}

#[test]
fn doctype_and_oversized_files_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let xml = String::from_utf8_lossy(&classification_xml("2019-03-01")).into_owned();
    let with_doctype = xml.replacen(
        "<actes:RetourClassification",
        "<!DOCTYPE actes:RetourClassification [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<actes:RetourClassification",
        1,
    );
    let path = file(
        dir.path(),
        "classification-doctype.xml",
        with_doctype.as_bytes(),
    );
    let err = Classification::read_file(&path).expect_err("doctype");
    assert!(matches!(err, ClassificationError::Doctype { .. }));
    let m = err.to_string();
    assert!(
        m.contains("« classification-doctype.xml » contient une déclaration DOCTYPE")
            && m.contains("refusée par sécurité"),
        "{m}"
    );
    // 2 GB, sparse: refused from its size, instantly.
    let big = dir.path().join("classification-geante.xml");
    std::fs::File::create(&big)
        .expect("create")
        .set_len(2_000_000_000)
        .expect("sparse");
    let start = Instant::now();
    let err = Classification::read_file(&big).expect_err("too big");
    assert!(start.elapsed().as_millis() < 200);
    assert!(err.to_string().contains("2000,0 Mo"), "{err}");
    // Not a classification.
    let other = file(
        dir.path(),
        "autre.xml",
        b"<?xml version=\"1.0\"?><PES_Aller/>",
    );
    let err = Classification::read_file(&other).expect_err("root");
    assert!(
        err.to_string().contains("élément racine « PES_Aller »"),
        "{err}"
    );
    // No date.
    let nodate = xml.replace(
        "<actes:DateClassification>2019-03-01</actes:DateClassification>",
        "",
    );
    let err = Classification::parse(nodate.as_bytes(), "x.xml").expect_err("no date");
    assert!(matches!(err, ClassificationError::NoDate { .. }));
    // Malformed.
    let err = Classification::parse(b"<actes:RetourClassification", "x.xml").expect_err("bad");
    assert!(matches!(err, ClassificationError::Malformed { .. }));
}

#[test]
fn versions_are_kept_per_siren() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("actes.sqlite");
    let store = ClassificationStore::open(&db).expect("open");
    let siren = "210600730";
    assert!(store.latest(siren).expect("q").is_none());
    store
        .import(siren, &classification_xml("2017-08-28"), "ancienne.xml")
        .expect("import");
    store
        .import(siren, &classification_xml("2019-03-01"), "recente.xml")
        .expect("import");
    store
        .import("214502494", &classification_xml("2020-01-01"), "autre.xml")
        .expect("import");
    assert_eq!(
        store.versions(siren).expect("versions"),
        [date!(2017 - 08 - 28), date!(2019 - 03 - 01)]
    );
    assert_eq!(
        store.latest(siren).expect("q").expect("some").date,
        date!(2019 - 03 - 01)
    );
    // In force on a day: the newest dated that day or before.
    let at = store
        .in_force_at(siren, date!(2018 - 06 - 01))
        .expect("q")
        .expect("some");
    assert_eq!(at.date, date!(2017 - 08 - 28));
    assert!(
        store
            .in_force_at(siren, date!(2010 - 01 - 01))
            .expect("q")
            .is_none()
    );
    assert!(
        store
            .is_current(siren, date!(2017 - 08 - 28), date!(2018 - 06 - 01))
            .expect("q")
    );
    assert!(
        !store
            .is_current(siren, date!(2017 - 08 - 28), date!(2019 - 03 - 01))
            .expect("q")
    );
    assert!(
        store
            .is_current(siren, date!(2019 - 03 - 01), date!(2026 - 01 - 01))
            .expect("q")
    );
    // What the home screen says: none for another SIREN; the newest kept (2019-03-01) is over a
    // year old 366 days later (2020-03-01, a leap year), still recent after 365 days.
    use paraphe::actes::classification::Staleness;
    assert_eq!(
        store
            .staleness("000000000", date!(2026 - 01 - 01))
            .expect("q"),
        Staleness::Missing
    );
    assert_eq!(
        store.staleness(siren, date!(2020 - 03 - 01)).expect("q"),
        Staleness::Old(date!(2019 - 03 - 01))
    );
    assert_eq!(
        store.staleness(siren, date!(2020 - 02 - 29)).expect("q"),
        Staleness::Current
    );
    // A DOCTYPE file is not stored.
    let xml = String::from_utf8_lossy(&classification_xml("2021-01-01")).into_owned();
    let bad = xml.replacen("<actes:Retour", "<!DOCTYPE x><actes:Retour", 1);
    assert!(store.import(siren, bad.as_bytes(), "bad.xml").is_err());
    assert_eq!(store.versions(siren).expect("versions").len(), 2);
}

#[test]
fn sample_pdfs_are_accepted_in_place() {
    let Some(samples) = common::conformance("actes/samples") else {
        return;
    };
    use paraphe::actes::files;
    use paraphe::actes::model::Format;
    for rel in [
        "pastell-megalis/connecteur/fakeTdt/fixtures/vide.pdf",
        "pastell-megalis/test/PHPUnit/module/actes-generique/fixtures/Delib Adullact.pdf",
        "pastell-megalis/test/PHPUnit/module/actes-preversement-seda/fixtures/034-491011698-20171207-CL20171227_06-DE-1-1_1.pdf",
    ] {
        let info = files::inspect(&samples.join(rel), 20_000_000, &[Format::Pdf], "PDF")
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(info.pages.unwrap_or(0) >= 1, "{rel}");
    }
    // A classification is XML, not an acceptable act.
    let xml = samples.join("s2low/test/PHPUnit/class/fixtures/classification.xml");
    let err = files::inspect(&xml, 20_000_000, &[Format::Pdf], "document PDF").expect_err("xml");
    assert!(err.to_string().contains("document XML"), "{err}");
}
