//! The collectivité's answers (2-2, 3-2, 3-3, 3-4, 4-2, 4-3, 4-4, 6-1) are valid against
//! `actesv1_1.xsd` according to libxml2 (`xmllint --schema`), in ISO-8859-1 and in UTF-8, and read
//! back as what they are. Answers to the real préfecture samples take their act and date.

mod common;

use common::{conformance, tools};
use paraphe::actes::answers::{Answer, AnswerError, AnswerKind, OutputEncoding};
use paraphe::actes::messages::{MessageKind, read_message};
use std::path::{Path, PathBuf};
use std::process::Command;

fn xsd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/actes/xsd/actesv1_1.xsd")
}

/// `xmllint --noout --schema`: `None` when valid, the diagnostics otherwise.
fn xmllint_errors(file: &Path) -> Option<String> {
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(xsd())
        .arg(file)
        .output()
        .expect("xmllint");
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

const ID: &str = "034-491011698-20171207-CL20171227_06-DE";

fn documents(kind: AnswerKind) -> Vec<String> {
    let a = Answer::new(kind, ID, None, vec![]);
    match kind {
        AnswerKind::ARDemandePieceComplementaire
        | AnswerKind::ARLettreObservations
        | AnswerKind::Annulation => vec![],
        AnswerKind::PieceComplementaire => vec![
            a.document_file_name(1, "pdf"),
            a.document_file_name(2, "pdf"),
            "Plan d'implantation – annexe n°3 (€).pdf".to_owned(),
        ],
        _ => vec![a.document_file_name(1, "pdf")],
    }
}

#[test]
fn every_answer_is_schema_valid_in_both_encodings() {
    let Some(_) = conformance("actes/xsd") else {
        return;
    };
    if !tools(&["xmllint"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let mut checked = 0;
    for kind in AnswerKind::ALL {
        for encoding in [OutputEncoding::Latin1, OutputEncoding::Utf8] {
            let answer = Answer::new(kind, ID, Some("2017-12-28"), documents(kind));
            let xml = answer
                .to_xml(encoding)
                .unwrap_or_else(|e| panic!("{}: {e}", kind.code()));
            let path = dir
                .path()
                .join(format!("{encoding:?}-{}", answer.file_name()));
            std::fs::write(&path, &xml).expect("write");
            if let Some(errors) = xmllint_errors(&path) {
                panic!(
                    "{} ({encoding:?}) rejected by xmllint:\n{errors}\n{}",
                    kind.code(),
                    String::from_utf8_lossy(&xml)
                );
            }
            // The root element libxml2 sees.
            let out = Command::new("xmllint")
                .args(["--xpath", "local-name(/*)"])
                .arg(&path)
                .output()
                .expect("xmllint");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                kind.root(),
                "{}",
                kind.code()
            );

            let back = read_message(xml.as_slice()).expect("read back");
            assert_eq!(back.kind, kind.message_kind());
            assert_eq!(back.kind.code(), kind.code());
            assert_eq!(back.id_acte.as_deref(), Some(ID));
            assert!(back.avertissements.is_empty(), "{:?}", back.avertissements);
            let names: Vec<String> = back.documents.iter().map(|d| d.nom.clone()).collect();
            assert_eq!(names, documents(kind));
            if kind != AnswerKind::Annulation {
                assert_eq!(back.date_courrier(), Some("2017-12-28"));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}

#[test]
fn in_process_validation_agrees() {
    let Some(_) = conformance("actes/xsd") else {
        return;
    };
    let schema = match paraphe::xml::schema::XmlSchema::load(
        &xsd(),
        paraphe::xml::schema::SchemaKind::Actes,
    ) {
        Ok(s) => s,
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("{e}");
            }
            eprintln!("SKIPPED: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tmp");
    for kind in AnswerKind::ALL {
        let answer = Answer::new(kind, ID, Some("2017-12-28"), documents(kind));
        let path = dir.path().join(answer.file_name());
        std::fs::write(&path, answer.to_xml(OutputEncoding::Latin1).expect("xml")).expect("w");
        let findings = schema.validate(&path).expect("validate");
        assert!(findings.is_empty(), "{}: {findings:?}", kind.code());
    }
}

#[test]
fn answers_to_real_prefecture_messages() {
    let Some(dir) = conformance("actes/samples") else {
        return;
    };
    if !tools(&["xmllint"]) {
        return;
    }
    let read =
        |rel: &str| read_message(std::fs::File::open(dir.join(rel)).expect("open")).expect("read");
    let courrier = read(
        "s2low/test/PHPUnit/class/fixtures/test-courrier-simple/034-000000000-20170701-20170725A-AI-2-1_0.xml",
    );
    assert_eq!(
        AnswerKind::answers_to(courrier.kind),
        [AnswerKind::ReponseCourrierSimple]
    );
    let answer = Answer::replying_to(
        &courrier,
        AnswerKind::ReponseCourrierSimple,
        vec!["034-000000000-20170701-20170725A-AI-2-2_1.pdf".to_owned()],
    )
    .expect("2-2");
    assert_eq!(answer.id_acte, "034-000000000-20170701-20170725A-AI");
    assert_eq!(answer.date_courrier.as_deref(), Some("2017-07-25"));
    assert_eq!(
        answer.file_name(),
        "034-000000000-20170701-20170725A-AI-2-2_0.xml"
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join(answer.file_name());
    std::fs::write(&path, answer.to_xml(OutputEncoding::Latin1).expect("xml")).expect("w");
    assert_eq!(xmllint_errors(&path), None);

    // A lettre d'observations cannot be answered to a courrier simple.
    let err = Answer::replying_to(&courrier, AnswerKind::ARLettreObservations, vec![])
        .expect_err("wrong answer");
    assert!(matches!(err, AnswerError::WrongMessage { .. }));
    assert!(
        err.to_string().starts_with("Impossible de répondre"),
        "{err}"
    );

    // Cancelling an acknowledged act.
    let ar = read("pastell-megalis/test/PHPUnit/module/actes-generique/fixtures/aractes.xml");
    assert_eq!(ar.kind, MessageKind::ARActe);
    let cancel = Answer::replying_to(&ar, AnswerKind::Annulation, vec![]).expect("6-1");
    let path = tmp.path().join(cancel.file_name());
    std::fs::write(&path, cancel.to_xml(OutputEncoding::Utf8).expect("xml")).expect("w");
    assert_eq!(xmllint_errors(&path), None);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("actes:IDActe=\"034-491011698-20171207-CL20171227_06-DE\""));
    assert!(!text.contains("DateCourrierPref"));
}

#[test]
fn invalid_answers_are_refused_in_french() {
    let cases = [
        Answer::new(
            AnswerKind::ReponseCourrierSimple,
            "pas-un-identifiant",
            Some("2017-12-28"),
            vec!["a.pdf".into()],
        ),
        Answer::new(
            AnswerKind::ReponseCourrierSimple,
            ID,
            Some("28/12/2017"),
            vec!["a.pdf".into()],
        ),
        Answer::new(
            AnswerKind::ReponseCourrierSimple,
            ID,
            None,
            vec!["a.pdf".into()],
        ),
        Answer::new(
            AnswerKind::ReponseLettreObservations,
            ID,
            Some("2017-12-28"),
            vec![],
        ),
        Answer::new(
            AnswerKind::RejetLettreObservations,
            ID,
            Some("2017-12-28"),
            vec!["../../etc/passwd".into()],
        ),
        Answer::new(
            AnswerKind::ARDemandePieceComplementaire,
            ID,
            Some("2017-12-28"),
            vec!["a.pdf".into()],
        ),
        Answer::new(
            AnswerKind::PieceComplementaire,
            ID,
            Some("2017-12-28"),
            vec![],
        ),
    ];
    for answer in cases {
        let err = answer.to_xml(OutputEncoding::Latin1).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.ends_with('.') && !text.contains('⟦') && !text.contains('{'),
            "{text}"
        );
    }
}
