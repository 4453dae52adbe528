//! Schema verdicts agree with `xmllint --schema` on every PES_Aller sample of the conformance set.

mod common;

use common::tools;
use paraphe::pes::schema::PesSchema;
use std::path::Path;
use std::process::Command;

#[test]
fn same_valid_invalid_verdict_as_xmllint() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/pes");
    if !root.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/conformance is missing: CI must have it"
        );
        eprintln!("SKIPPED: ../shared/conformance is missing");
        return;
    }
    if !tools(&["xmllint"]) {
        return;
    }
    let xsd = root.join("xsd/Schemas_PES_v471_072015/PES_V2/Rev0/PES_Aller.xsd");
    let schema = PesSchema::load(&xsd).expect("schema compiles");
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
