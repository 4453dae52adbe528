//! Schema verdicts agree with `xmllint --schema` on every PES_Aller sample of the conformance set.

mod common;

use common::tools;
use paraphe::xml::schema::{SchemaKind, XmlSchema};
use std::path::Path;
use std::process::Command;

#[test]
fn same_valid_invalid_verdict_as_xmllint() {
    let Some(root) = common::conformance("pes") else {
        return;
    };
    if !tools(&["xmllint"]) {
        return;
    }
    let xsd = root.join("xsd/Schemas_PES_v471_072015/PES_V2/Rev0/PES_Aller.xsd");
    let schema = XmlSchema::load(&xsd, SchemaKind::Pes).expect("schema compiles");
    let mut compared = (0, 0);
    for entry in std::fs::read_dir(root.join("samples"))
        .expect("samples")
        .flatten()
    {
        let file = entry.path();
        let root_name = Command::new("xmllint")
            .args(["--xpath", "local-name(/*)"])
            .arg(&file)
            .output()
            .expect("xmllint");
        if String::from_utf8_lossy(&root_name.stdout).trim() != "PES_Aller" {
            continue;
        }
        let xmllint_valid = Command::new("xmllint")
            .args(["--noout", "--stream", "--schema"])
            .arg(&xsd)
            .arg(&file)
            .output()
            .expect("xmllint")
            .status
            .success();
        let findings = schema.validate(&file).expect("validate");
        assert_eq!(
            findings.is_empty(),
            xmllint_valid,
            "{}: {findings:?}",
            file.display()
        );
        if xmllint_valid {
            compared.0 += 1
        } else {
            compared.1 += 1
        }
    }
    assert!(
        compared.0 >= 3 && compared.1 >= 5,
        "valid/invalid compared: {compared:?}"
    );
}

/// The first conformance sample `xmllint --stream --schema` accepts, or None (skipped outside CI).
fn valid_sample(root: &Path, xsd: &Path) -> Option<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root.join("samples"))
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.into_iter().find(|file| {
        Command::new("xmllint")
            .args(["--noout", "--stream", "--schema"])
            .arg(xsd)
            .arg(file)
            .output()
            .expect("xmllint")
            .status
            .success()
    })
}

#[test]
fn schema_error_line_and_broken_xml_as_xmllint_reports_them() {
    let Some(root) = common::conformance("pes") else {
        return;
    };
    if !tools(&["xmllint"]) {
        return;
    }
    let xsd = root.join("xsd/Schemas_PES_v471_072015/PES_V2/Rev0/PES_Aller.xsd");
    let schema = XmlSchema::load(&xsd, SchemaKind::Pes).expect("schema compiles");
    let sample = valid_sample(&root, &xsd).expect("a valid PES_Aller sample");
    let bytes = std::fs::read(&sample).expect("sample");
    let dir = tempfile::tempdir().expect("tempdir");

    // An unexpected element two lines below the root's start tag.
    let root_at = bytes
        .windows(9)
        .position(|w| w == b"PES_Aller")
        .expect("root");
    let insert_at = root_at
        + bytes[root_at..]
            .iter()
            .position(|b| *b == b'>')
            .expect("'>'")
        + 1;
    let mut wrong = bytes[..insert_at].to_vec();
    wrong.extend_from_slice(b"\n\n<Inconnu/>");
    wrong.extend_from_slice(&bytes[insert_at..]);
    let wrong_path = dir.path().join("element-inconnu.xml");
    std::fs::write(&wrong_path, &wrong).expect("write");
    let xmllint = Command::new("xmllint")
        .args(["--noout", "--stream", "--schema"])
        .arg(&xsd)
        .arg(&wrong_path)
        .output()
        .expect("xmllint");
    let stderr = String::from_utf8_lossy(&xmllint.stderr);
    let marker = format!("{}:", wrong_path.display());
    let xmllint_line: u64 = stderr
        .lines()
        .filter(|l| l.contains("validity error"))
        .find_map(|l| l.strip_prefix(&marker)?.split(':').next()?.parse().ok())
        .expect("xmllint names the line");
    let findings = schema.validate(&wrong_path).expect("validate");
    assert!(!findings.is_empty(), "the unknown element is an error");
    assert_eq!(findings[0].lieu.ligne, Some(xmllint_line), "{findings:?}");
    assert!(
        findings[0].message.contains("Inconnu"),
        "{}",
        findings[0].message
    );

    // Truncated: not well-formed, so not valid.
    let truncated_path = dir.path().join("tronque.xml");
    std::fs::write(&truncated_path, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let findings = schema.validate(&truncated_path).expect("validate");
    assert!(!findings.is_empty(), "a truncated file is not valid");
}

/// libxml2 2.9 initialises its catalogs and XSD types lazily and unsafely: schemas compiled in
/// several threads at once deadlocked or saw half-built types (`'1' is not a valid value of
/// V_Num2`) before Paraphe initialised the library once. Eight threads, each its own compilation
/// and validation of the same valid sample, must all agree with xmllint that it is valid (a
/// deadlock is caught by the time limit of `scripts/test.sh`).
#[test]
fn schemas_compiled_in_several_threads_at_once_agree() {
    let Some(root) = common::conformance("pes") else {
        return;
    };
    if !tools(&["xmllint"]) {
        return;
    }
    let xsd = root.join("xsd/Schemas_PES_v471_072015/PES_V2/Rev0/PES_Aller.xsd");
    let sample = valid_sample(&root, &xsd).expect("a valid PES_Aller sample");
    // Several rounds: a library unloaded between rounds would start its set-up again.
    for _round in 0..30 {
        compile_and_validate_together(&xsd, &sample);
    }
}

fn compile_and_validate_together(xsd: &Path, sample: &Path) {
    let start = std::sync::Barrier::new(8);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let schema = XmlSchema::load(xsd, SchemaKind::Pes).expect("schema compiles");
                    schema.validate(sample).expect("validate")
                })
            })
            .collect();
        for worker in workers {
            let findings = worker.join().expect("worker");
            assert!(findings.is_empty(), "{}: {findings:?}", sample.display());
        }
    });
}

/// `pes controler` validates against the DGFiP's schema shipped inside the program, in a fresh
/// profile with no settings and no option: the same verdicts as `xmllint --schema` with the
/// official 5.12 set (from `../shared/conformance`), a schema error found with its line, and the
/// shipped copy is byte for byte that set.
#[test]
fn controler_uses_the_shipped_schema_with_no_setting() {
    let Some(root) = common::conformance("pes") else {
        return;
    };
    if !tools(&["xmllint"]) {
        return;
    }
    let official = root.join("xsd/schemas_pes_v5.12");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut good = common::pes::HEAD.to_owned();
    good.push_str(&common::pes::bordereau("B1", 2, &["10.00", "5.00"]));
    good.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let good_path = tmp.path().join("bon.xml");
    std::fs::write(&good_path, common::pes::latin1(&good)).expect("write");
    // IdPce must be greater than 0 (a facet the rules of Paraphe do not check).
    let bad = good.replacen("<IdPce V=\"1\"/>", "<IdPce V=\"0\"/>", 1);
    let bad_line = bad[..bad.find("<IdPce V=\"0\"/>").expect("piece")]
        .matches('\n')
        .count()
        + 1;
    let bad_path = tmp.path().join("mauvais.xml");
    std::fs::write(&bad_path, common::pes::latin1(&bad)).expect("write");
    let xmllint_valid = |file: &Path| {
        Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(official.join("PES_V2/Rev0/PES_Aller.xsd"))
            .arg(file)
            .output()
            .expect("xmllint")
            .status
            .success()
    };
    let controler = |file: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(["pes", "controler", "--json"])
            .arg(file)
            .env("PARAPHE_CONFIG", tmp.path().join("absent.toml"))
            .env("PARAPHE_DONNEES", tmp.path().join("profil-neuf"))
            .output()
            .expect("paraphe");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (out.status.code(), doc)
    };
    assert!(xmllint_valid(&good_path));
    let (code, doc) = controler(&good_path);
    assert_eq!(code, Some(0), "{doc}");
    assert!(
        !doc.to_string().contains("pes.schema_non_verifie"),
        "the schema was checked: {doc}"
    );
    assert!(!xmllint_valid(&bad_path));
    let (code, doc) = controler(&bad_path);
    assert_eq!(code, Some(1), "{doc}");
    let schema_errors: Vec<&serde_json::Value> = doc["constats"]
        .as_array()
        .expect("constats")
        .iter()
        .filter(|c| c["code"] == "pes.schema")
        .collect();
    assert_eq!(schema_errors.len(), 1, "{doc}");
    assert_eq!(schema_errors[0]["lieu"]["ligne"], bad_line, "{doc}");
    assert!(
        schema_errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("IdPce")),
        "{doc}"
    );
    // What the program wrote from its own copy is the official set, byte for byte.
    let written = std::fs::read_dir(tmp.path().join("profil-neuf/schemas"))
        .expect("schemas folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pes-v5.12-"))
        })
        .expect("shipped set written");
    let mut compared = 0;
    for sub in ["PES_V2", "xades", "xmldsig", "xmlenc"] {
        for file in walk(&written.join(sub)) {
            let relative = file.strip_prefix(&written).expect("inside");
            let official_bytes = std::fs::read(official.join(relative)).expect("official file");
            assert_eq!(
                std::fs::read(&file).expect("read"),
                official_bytes,
                "{relative:?}"
            );
            compared += 1;
        }
    }
    assert!(compared > 80, "{compared}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A small schema using every kind of constraint the PES and ACTES schemas use.
const SMALL_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns="urn:t" elementFormDefault="qualified">
<xs:element name="R"><xs:complexType><xs:sequence>
<xs:element name="A" type="xs:int"/>
<xs:element name="B" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string"><xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="C" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="x"/><xs:enumeration value="y"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="D" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[0-9]{2}"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="E" minOccurs="0"><xs:simpleType><xs:restriction base="xs:decimal"><xs:totalDigits value="3"/><xs:fractionDigits value="1"/><xs:maxInclusive value="50"/><xs:minInclusive value="1"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="F" minOccurs="0"><xs:simpleType><xs:restriction base="xs:string"><xs:length value="2"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="G" minOccurs="0"><xs:complexType><xs:sequence><xs:element name="H"/><xs:element name="I"/></xs:sequence><xs:attribute name="v" type="xs:int" use="required"/></xs:complexType></xs:element>
</xs:sequence></xs:complexType></xs:element></xs:schema>"#;

/// libxml2 speaks English; the user reads every schema and well-formedness error in French, with
/// the element, the value and the limit libxml2 named (namespaces dropped). Each document breaks
/// one constraint; xmllint on the same file gives the count of errors and the values to find.
#[test]
fn schema_errors_are_said_in_french_with_their_values() {
    if !tools(&["xmllint"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let xsd = dir.path().join("petit.xsd");
    std::fs::write(&xsd, SMALL_XSD).expect("xsd");
    let schema = XmlSchema::load(&xsd, SchemaKind::Pes).expect("schema compiles");
    // (document, values the French message must still carry)
    let cases: &[(&str, &[&str])] = &[
        (
            r#"<R xmlns="urn:t"><A>x</A></R>"#,
            &["« A »", "« x »", "nombre entier"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><B>abcd</B></R>"#,
            &["« B »", "4", "3"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><C>z</C></R>"#,
            &["« C »", "« z »", "'x', 'y'"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><D>1</D></R>"#,
            &["« D »", "« 1 »", "[0-9]{2}"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><E>1.25</E></R>"#,
            &["« E »", "1.25", "décimales"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><E>1234</E></R>"#,
            &["« E »", "1234", "chiffres", "50"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><E>0</E></R>"#,
            &["« E »", "minimum"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><F>a</F></R>"#,
            &["« F »", "1", "2"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><G/></R>"#,
            &["« G »", "« v »", "H"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><G v="x" w="1"><H/><Z/></G></R>"#,
            &["« w »", "« Z »", "I"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A><Q/></R>"#,
            &["« Q »", "l'un de B, C, D, E, F, G"],
        ),
        (
            r#"<R xmlns="urn:t"><A>1</A>texte<G v="1"><H/><I/></G></R>"#,
            &["« R »", "texte"],
        ),
        (r#"<X/>"#, &["« X »", "racine"]),
        (r#"<R xmlns="urn:t"><A>1</A></R><R/>"#, &["racine"]),
        (r#"<R xmlns="urn:t"><A>1</B></R>"#, &["« B »", "« A »"]),
        // libxml2 says "Extra content at the end of the document" for a truncated file too.
        (r#"<R xmlns="urn:t"><A>1</A>"#, &["tronqué"]),
    ];
    let english = [
        "Element '",
        "expected",
        "Expected",
        "facet",
        "is not",
        "allowed",
        "{urn:t}",
    ];
    for (i, (document, values)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("cas-{i}.xml"));
        std::fs::write(&file, document).expect("write");
        let xmllint = Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&file)
            .output()
            .expect("xmllint");
        assert!(
            !xmllint.status.success(),
            "case {i} must be refused by xmllint"
        );
        let findings = schema.validate(&file).expect("validate");
        assert!(!findings.is_empty(), "case {i}: {document}");
        let text: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        for message in &text {
            assert!(
                !message.contains("non traduit") && english.iter().all(|w| !message.contains(w)),
                "case {i}: {message}"
            );
        }
        let all = text.join(" | ");
        for value in *values {
            assert!(
                all.contains(value),
                "case {i}: « {value} » missing in {all}"
            );
        }
    }
}
