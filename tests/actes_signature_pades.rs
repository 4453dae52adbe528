//! PAdES signatures of PDF act files, checked by poppler's `pdfsig` and by pyHanko's validator
//! (test root as trust): one signature, a second one on top (two revisions, both valid), visible
//! and invisible fields, classic and stream cross-references, real act PDFs from the conformance
//! samples, a SoftHSM card key, and the refusals (encrypted PDF, not a PDF, no room, bad page).

mod common;

use common::pdf::{make_pdf, pyhanko};
use common::*;
use lopdf::{Document, Object};
use paraphe::actes::pades::{Appearance, PadesError, PadesOptions, sign_pdf};
use paraphe::card::pin::FixedPrompt;
use paraphe::card::pkcs11::Module;
use paraphe::card::software::SoftwareKey;
use std::path::Path;
use std::process::Command;

/// This process's SoftHSM token, made before any test loads the module (SoftHSM only sees the
/// tokens that exist when it is initialised).
fn token() -> String {
    static LABEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LABEL
        .get_or_init(|| {
            let hsm = SoftHsm::shared();
            let pki = TestPki::shared();
            let label = unique_label("pades");
            hsm.create_token(&label, USER_PIN).expect("create token");
            for name in ["signature", "ecdsa-p256"] {
                hsm.import(&label, USER_PIN, pki.identity(name))
                    .expect("import");
            }
            label
        })
        .clone()
}

fn card_key(name: &str) -> paraphe::card::pkcs11::CardKey {
    let label = token();
    let module = Module::load(&softhsm_module()).expect("load softhsm");
    let token = module.token(Some(&label)).expect("token");
    module
        .open_key(
            &token,
            &TestPki::shared().identity(name).cka_id,
            Box::new(FixedPrompt::new(USER_PIN)),
        )
        .expect("open key")
}

fn software_key(name: &str) -> SoftwareKey {
    let id = TestPki::shared().identity(name);
    let bytes = std::fs::read(&id.p12).expect("read p12");
    SoftwareKey::from_pkcs12(&bytes, P12_PASSWORD, &id.p12).expect("open p12")
}

fn ready() -> bool {
    tools(&["pdfsig"])
}

struct PdfSig {
    text: String,
}

impl PdfSig {
    fn run(path: &Path) -> PdfSig {
        let out = Command::new("pdfsig").arg(path).output().expect("pdfsig");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        PdfSig { text }
    }

    fn signature_count(&self) -> usize {
        self.text
            .lines()
            .filter(|l| l.starts_with("Signature #"))
            .count()
    }

    fn validation_lines(&self) -> Vec<&str> {
        self.text
            .lines()
            .filter(|l| l.contains("Signature Validation:"))
            .map(str::trim)
            .collect()
    }

    fn valid_count(&self) -> usize {
        self.text
            .matches("Signature Validation: Signature is Valid.")
            .count()
    }

    fn assert_all_valid(&self, expected: usize) {
        assert_eq!(self.signature_count(), expected, "{}", self.text);
        assert_eq!(self.valid_count(), expected, "{}", self.text);
        assert!(
            self.text
                .matches("Signature Type: ETSI.CAdES.detached")
                .count()
                == expected,
            "{}",
            self.text
        );
        assert!(
            self.text.matches("Signed Ranges: [0 - ").count() == expected,
            "{}",
            self.text
        );
    }
}

/// `pyhanko sign validate` with the test root as the only trust anchor; every signature of the
/// file is reported. Returns whether pyHanko judged the file valid and its report, or None when
/// pyHanko is missing (outside CI).
fn pyhanko_report(path: &Path) -> Option<(bool, String)> {
    let pyhanko = pyhanko()?;
    let pki = TestPki::shared();
    let out = Command::new(pyhanko)
        .args([
            "sign",
            "validate",
            "--no-strict-syntax",
            "--no-revocation-check",
            "--pretty-print",
            "--trust",
        ])
        .arg(&pki.root.cert_pem)
        .arg("--trust-replace")
        .arg("--other-certs")
        .arg(&pki.intermediate.cert_pem)
        .arg(path)
        .output()
        .expect("pyhanko");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

/// [`pyhanko_report`] for a file whose every signature must be valid.
fn pyhanko_validate(path: &Path) -> Option<String> {
    let (ok, text) = pyhanko_report(path)?;
    assert!(ok, "pyhanko failed: {text}");
    Some(text)
}

/// The part of a pyHanko report about one field.
fn pyhanko_field<'a>(report: &'a str, field: &str) -> &'a str {
    let marker = format!(": {field}\n");
    let start = report
        .find(&marker)
        .unwrap_or_else(|| panic!("{field} in {report}"));
    let rest = &report[start..];
    let end = rest[marker.len()..]
        .find("\n===")
        .map_or(rest.len(), |e| e + marker.len());
    &rest[..end]
}

fn assert_prefix(original: &Path, signed: &Path) {
    let original = std::fs::read(original).expect("read original");
    let signed = std::fs::read(signed).expect("read signed");
    assert!(signed.len() > original.len());
    assert!(
        signed[..original.len()] == original[..],
        "the original bytes must be kept as they are"
    );
}

/// Check the byte range closes the file and the gap is exactly the `/Contents` hex string.
fn assert_byte_range_covers_all_but_contents(signed: &Path) {
    let bytes = std::fs::read(signed).expect("read");
    let text = String::from_utf8_lossy(&bytes);
    let at = text.rfind("/ByteRange [").expect("ByteRange") + "/ByteRange [".len();
    let end = text[at..].find(']').expect("]") + at;
    let numbers: Vec<usize> = text[at..end]
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect();
    assert_eq!(numbers.len(), 4);
    assert_eq!(numbers[0], 0);
    assert_eq!(numbers[2] + numbers[3], bytes.len());
    assert_eq!(bytes[numbers[1]], b'<');
    assert_eq!(bytes[numbers[2] - 1], b'>');
    assert!(
        bytes[numbers[1] + 1..numbers[2] - 1]
            .iter()
            .all(u8::is_ascii_hexdigit)
    );
}

#[test]
fn invisible_signature_is_valid_for_pdfsig_and_pyhanko() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("acte.pdf");
    let output = dir.path().join("acte-signe.pdf");
    make_pdf(&input, 2, false);
    let mut key = software_key("signature");
    let options = PadesOptions {
        reason: Some("Transmission au contrôle de légalité".into()),
        location: Some("Mairie de Saint-Étienne".into()),
        ..PadesOptions::default()
    };
    sign_pdf(&input, &output, &mut key, &options).expect("sign");
    assert_prefix(&input, &output);
    assert_byte_range_covers_all_but_contents(&output);
    let pdfsig = PdfSig::run(&output);
    eprintln!("pdfsig:\n{}", pdfsig.text);
    pdfsig.assert_all_valid(1);
    assert!(
        pdfsig
            .text
            .contains("Signer Certificate Common Name: Camille Test"),
        "{}",
        pdfsig.text
    );
    assert!(
        pdfsig.text.contains("Signature Field Name: Signature1"),
        "{}",
        pdfsig.text
    );
    if let Some(report) = pyhanko_validate(&output) {
        eprintln!("pyhanko:\n{report}");
        assert!(
            report.contains("The signature is cryptographically sound"),
            "{report}"
        );
        assert!(report.contains("judged VALID"), "{report}");
        assert!(report.contains("entire file"), "{report}");
    }
    // No temporary file left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".paraphe"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn second_signature_keeps_the_first_valid() {
    if !ready() || !tools(&["softhsm2-util", "pkcs11-tool"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("acte.pdf");
    let once = dir.path().join("une-signature.pdf");
    let twice = dir.path().join("deux-signatures.pdf");
    make_pdf(&input, 1, false);
    let mut first = software_key("signature");
    sign_pdf(&input, &once, &mut first, &PadesOptions::default()).expect("first");
    // The second with a card key (ECDSA P-256 on SoftHSM), visible this time.
    let mut second = card_key("ecdsa-p256");
    let options = PadesOptions {
        appearance: Appearance::Visible {
            page: 1,
            rect: [350.0, 60.0, 560.0, 120.0],
        },
        reason: Some("Visa du maire".into()),
        ..PadesOptions::default()
    };
    sign_pdf(&once, &twice, &mut second, &options).expect("second");
    assert_prefix(&input, &twice);
    assert_prefix(&once, &twice);
    let pdfsig = PdfSig::run(&twice);
    eprintln!("pdfsig (two signatures):\n{}", pdfsig.text);
    pdfsig.assert_all_valid(2);
    assert!(pdfsig.text.contains("Signature Field Name: Signature2"));
    // The first covers its own revision only, the second the whole file.
    assert!(
        pdfsig.text.contains("Total document signed"),
        "{}",
        pdfsig.text
    );
    assert!(
        pdfsig.text.contains("Not total document signed"),
        "{}",
        pdfsig.text
    );
    if let Some(report) = pyhanko_validate(&twice) {
        eprintln!("pyhanko (two signatures):\n{report}");
        assert_eq!(
            report
                .matches("The signature is cryptographically sound")
                .count(),
            2,
            "{report}"
        );
        assert_eq!(report.matches("judged VALID").count(), 2, "{report}");
    }
    let doc = Document::load(&twice).expect("lopdf reads the result");
    assert_eq!(doc.revision_count(), 3);
}

#[test]
fn visible_signature_on_a_given_page_with_an_rsa_card_key() {
    if !ready() || !tools(&["softhsm2-util", "pkcs11-tool"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("acte.pdf");
    let output = dir.path().join("acte-signe.pdf");
    make_pdf(&input, 3, false);
    let mut key = card_key("signature");
    let options = PadesOptions {
        appearance: Appearance::Visible {
            page: 3,
            rect: [72.0, 72.0, 272.5, 122.0],
        },
        field_name: Some("Signature du maire".into()),
        ..PadesOptions::default()
    };
    sign_pdf(&input, &output, &mut key, &options).expect("sign");
    let pdfsig = PdfSig::run(&output);
    pdfsig.assert_all_valid(1);
    assert!(
        pdfsig
            .text
            .contains("Signature Field Name: Signature du maire")
    );
    // The widget sits on page 3 with an appearance that shows the signer's name.
    let doc = Document::load(&output).expect("load");
    let page3 = *doc.get_pages().get(&3).expect("page 3");
    let annots = doc.get_page_annotations(page3).expect("annotations");
    assert_eq!(annots.len(), 1);
    let widget = annots[0];
    let ap = widget
        .get(b"AP")
        .and_then(Object::as_dict)
        .and_then(|ap| ap.get(b"N"))
        .and_then(Object::as_reference)
        .expect("appearance");
    let stream = doc
        .get_object(ap)
        .and_then(Object::as_stream)
        .expect("stream");
    let content = String::from_utf8_lossy(&stream.content);
    assert!(
        content.contains("(Sign\\351 par Camille Test "),
        "{content}"
    );
    assert!(content.contains("/Helv"), "{content}");
    if let Some(report) = pyhanko_validate(&output) {
        assert!(report.contains("judged VALID"), "{report}");
    }
    if tools(&["pdftoppm"]) {
        let status = Command::new("pdftoppm")
            .args(["-f", "3", "-l", "3", "-r", "30", "-png"])
            .arg(&output)
            .arg(dir.path().join("rendu"))
            .status()
            .expect("pdftoppm");
        assert!(status.success(), "the signed page renders");
    }
}

#[test]
fn cross_reference_stream_files_get_a_stream_section() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("moderne.pdf");
    let output = dir.path().join("moderne-signe.pdf");
    make_pdf(&input, 1, true);
    let original = std::fs::read(&input).expect("read");
    assert!(
        !original.windows(5).any(|w| w == b"\nxref"),
        "the test file must use a cross-reference stream"
    );
    let mut key = software_key("ecdsa-p256");
    sign_pdf(&input, &output, &mut key, &PadesOptions::default()).expect("sign");
    assert_prefix(&input, &output);
    let signed = std::fs::read(&output).expect("read");
    let increment = String::from_utf8_lossy(&signed[original.len()..]);
    assert!(increment.contains("/Type /XRef") || increment.contains("/Type/XRef"));
    assert!(!increment.contains("\nxref\n"));
    let pdfsig = PdfSig::run(&output);
    pdfsig.assert_all_valid(1);
    if let Some(report) = pyhanko_validate(&output) {
        eprintln!("pyhanko (xref stream):\n{report}");
        assert!(report.contains("judged VALID"), "{report}");
    }
}

#[test]
fn real_act_pdfs_from_the_samples_are_signed_in_place() {
    if !ready() {
        return;
    }
    let Some(samples) = conformance("actes/samples") else {
        return;
    };
    let mut pdfs = Vec::new();
    let mut stack = vec![samples];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
            {
                pdfs.push(path);
            }
        }
    }
    assert!(!pdfs.is_empty(), "no sample PDF found");
    let dir = tempfile::tempdir().expect("tmp");
    let mut key = software_key("signature");
    for (i, sample) in pdfs.iter().enumerate() {
        // The samples are read in place; the signed copy goes to the temporary directory.
        let output = dir.path().join(format!("echantillon-{i}.pdf"));
        sign_pdf(sample, &output, &mut key, &PadesOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", sample.display()));
        assert_prefix(sample, &output);
        // Some samples already carry signatures (old SHA-1 ones that poppler cannot validate):
        // they must read exactly as before, and the new one must be valid.
        let before = PdfSig::run(sample);
        let after = PdfSig::run(&output);
        eprintln!("{}:\n{}", sample.display(), after.text);
        let previous = before.signature_count();
        assert_eq!(after.signature_count(), previous + 1, "{}", after.text);
        let lines = after.validation_lines();
        assert_eq!(lines[..previous], before.validation_lines()[..]);
        assert_eq!(
            lines.last().copied(),
            Some("- Signature Validation: Signature is Valid.")
        );
        assert!(after.text.contains("Signature Type: ETSI.CAdES.detached"));
        if let Some((_, report)) = pyhanko_report(&output) {
            let field = after
                .text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("- Signature Field Name: "))
                .expect("field name");
            let ours = pyhanko_field(&report, field);
            eprintln!("pyhanko, new field:\n{ours}");
            assert!(
                ours.contains("judged VALID"),
                "{}: {report}",
                sample.display()
            );
            assert!(ours.contains("covers the entire file"), "{ours}");
        }
    }
}

#[test]
fn signing_in_place_replaces_the_file() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("acte.pdf");
    make_pdf(&path, 1, false);
    let before = std::fs::read(&path).expect("read");
    let mut key = software_key("signature");
    sign_pdf(&path, &path, &mut key, &PadesOptions::default()).expect("sign in place");
    let after = std::fs::read(&path).expect("read");
    assert_eq!(&after[..before.len()], &before[..]);
    PdfSig::run(&path).assert_all_valid(1);
}

fn assert_french(err: &PadesError) {
    let text = err.to_string();
    assert!(!text.contains('⟦') && !text.contains('{'), "{text}");
    assert!(text.ends_with('.'), "a full sentence: {text}");
}

#[test]
fn encrypted_pdfs_are_refused() {
    if !tools(&["qpdf"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("acte.pdf");
    make_pdf(&plain, 1, false);
    let mut key = software_key("signature");
    // With a user password, and with an owner password only (opens without a password).
    for (name, user) in [("avec-mot-de-passe.pdf", "secret"), ("restreint.pdf", "")] {
        let encrypted = dir.path().join(name);
        let status = Command::new("qpdf")
            .args(["--encrypt", user, "proprietaire", "256", "--"])
            .arg(&plain)
            .arg(&encrypted)
            .status()
            .expect("qpdf");
        assert!(status.success());
        let output = dir.path().join(format!("signe-{name}"));
        let err = sign_pdf(&encrypted, &output, &mut key, &PadesOptions::default())
            .expect_err("encrypted");
        assert!(matches!(err, PadesError::Encrypted(_)), "{name}: {err:?}");
        assert!(err.to_string().contains("protégé par un mot de passe"));
        assert_french(&err);
        assert!(!output.exists(), "nothing written");
    }
}

#[test]
fn non_pdf_and_missing_files_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut key = software_key("signature");
    let output = dir.path().join("signe.pdf");
    for (name, bytes) in [
        ("acte.odt", b"PK\x03\x04 not a pdf".as_slice()),
        ("vide.pdf", b"".as_slice()),
    ] {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).expect("write");
        let err =
            sign_pdf(&input, &output, &mut key, &PadesOptions::default()).expect_err("not a pdf");
        assert!(matches!(err, PadesError::NotPdf(_)), "{err:?}");
        assert!(err.to_string().contains("n'est pas un PDF"));
        assert_french(&err);
    }
    // A PDF header with nothing behind it.
    let input = dir.path().join("tronque.pdf");
    std::fs::write(&input, b"%PDF-1.4\n1 0 obj\n<<").expect("write");
    let err = sign_pdf(&input, &output, &mut key, &PadesOptions::default()).expect_err("damaged");
    assert!(matches!(err, PadesError::Damaged { .. }), "{err:?}");
    assert_french(&err);
    let err = sign_pdf(
        &dir.path().join("absent.pdf"),
        &output,
        &mut key,
        &PadesOptions::default(),
    )
    .expect_err("missing");
    assert!(matches!(err, PadesError::Read { .. }), "{err:?}");
    assert_french(&err);
    assert!(!output.exists());
}

#[test]
fn bad_options_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("acte.pdf");
    let output = dir.path().join("signe.pdf");
    make_pdf(&input, 1, false);
    let mut key = software_key("signature");
    let cases = [
        PadesOptions {
            appearance: Appearance::Visible {
                page: 2,
                rect: [0.0, 0.0, 100.0, 50.0],
            },
            ..PadesOptions::default()
        },
        PadesOptions {
            appearance: Appearance::Visible {
                page: 1,
                rect: [100.0, 0.0, 100.0, 50.0],
            },
            ..PadesOptions::default()
        },
        PadesOptions {
            reserved_size: 256,
            ..PadesOptions::default()
        },
    ];
    for options in cases {
        let err = sign_pdf(&input, &output, &mut key, &options).expect_err("refused");
        eprintln!("{err}");
        assert!(
            matches!(
                err,
                PadesError::PageOutOfRange { page: 2, count: 1 }
                    | PadesError::InvalidRect
                    | PadesError::SignatureTooBig { .. }
            ),
            "{err:?}"
        );
        assert_french(&err);
        assert!(!output.exists());
    }
    // A field name already used.
    sign_pdf(&input, &output, &mut key, &PadesOptions::default()).expect("sign");
    let again = dir.path().join("encore.pdf");
    let err = sign_pdf(
        &output,
        &again,
        &mut key,
        &PadesOptions {
            field_name: Some("Signature1".into()),
            ..PadesOptions::default()
        },
    )
    .expect_err("field exists");
    assert!(matches!(err, PadesError::FieldExists(_)), "{err:?}");
    assert_french(&err);
    assert!(!again.exists());
}

/// `paraphe actes signer` from the command line: a visible PAdES signature made with a
/// software certificate (password on standard input), valid for pdfsig and pyHanko, the original
/// bytes kept; a bad zone is refused in French with nothing written.
#[test]
fn the_command_line_signs_an_act_pdf_visibly() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("deliberation.pdf");
    let output = dir.path().join("deliberation-signee.pdf");
    make_pdf(&input, 2, false);
    let run = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
        command
            .env("PARAPHE_CONFIG", dir.path().join("absent.toml"))
            .env("PARAPHE_DONNEES", dir.path().join("donnees"))
            .args(["actes", "signer"])
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .args(extra)
            .arg("--p12")
            .arg(&TestPki::shared().identity("signature").p12)
            .arg("--pin-stdin");
        spawn_with_input(command, P12_PASSWORD)
            .wait_with_output()
            .expect("wait")
    };
    // A page the file does not have: refused, nothing written.
    let out = run(&["--visible", "5:20,20,200,70", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Rien n'a été écrit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.exists(), "nothing written");

    let out = run(&[
        "--visible",
        "2:20,20,200,70",
        "--raison",
        "Certifié exécutoire",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["signe"], true);
    assert_eq!(doc["visible"], true);
    assert_prefix(&input, &output);
    assert_byte_range_covers_all_but_contents(&output);
    let pdfsig = PdfSig::run(&output);
    pdfsig.assert_all_valid(1);
    if let Some(report) = pyhanko_validate(&output) {
        assert!(report.contains("judged VALID"), "{report}");
    }
    let signed = Document::load(&output).expect("load");
    let page2 = *signed.get_pages().get(&2).expect("page 2");
    assert_eq!(signed.get_page_annotations(page2).expect("annots").len(), 1);

    std::fs::remove_file(&output).expect("rm");
    let out = run(&["--visible", "0:1,2,3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("attendu PAGE:X1,Y1,X2,Y2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.exists(), "nothing written");
}
