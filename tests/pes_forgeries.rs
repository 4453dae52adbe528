//! A verifier is judged by what it refuses. From files that Paraphe signed with the test card
//! (SoftHSM through PKCS#11, keys of the test PKI),
//! the test builds what an attacker would: a signed bordereau moved away while a forged copy with
//! the same Id takes its place, a forged copy beside the original, a bordereau added without a
//! signature, a second SignedProperties, claims outside the signed properties, and the classic
//! changes (amount, signing time, certificate, signature copied or moved). Each verdict and its
//! reason is asserted, through the library, the command line (`pes verifier`, `pes inspecter`),
//! and `xmlsec1` where a plain XML-DSig check shows why it is not enough.

mod common;

use common::forgeries::{self, Forgery};
use common::pes::xmlsec_integrity;
use common::*;
use paraphe::certs::trust::TrustStore;
use paraphe::messages::{t, tf};
use paraphe::pes::sign::Scope;
use paraphe::pes::verify::{FileVerdict, SignatureVerdict, verify_file};
use std::path::{Path, PathBuf};
use std::process::Command;

fn trust() -> TrustStore {
    TrustStore::load(&TestPki::shared().ca_bundle_pem()).expect("trust store")
}

/// The genuine files and the forgeries made from them, in a temporary folder.
struct Built {
    dir: tempfile::TempDir,
    signed: PathBuf,
    global: PathBuf,
    expired: PathBuf,
    forgeries: Vec<Forgery>,
}

/// None (after a loud message, or a failure in CI) when the card's tools are missing.
fn build() -> Option<Built> {
    if !forgeries::card_available() {
        return None;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let signed = forgeries::signed_pes(dir.path(), "signature", Scope::Bordereaux);
    let global = forgeries::signed_pes(dir.path(), "signature", Scope::File);
    let expired = forgeries::signed_pes(dir.path(), "expire", Scope::Bordereaux);
    let read = |p: &Path| std::fs::read(p).expect("read");
    let forgeries = forgeries::all(&read(&signed), &read(&global), &read(&expired));
    Some(Built {
        dir,
        signed,
        global,
        expired,
        forgeries,
    })
}

impl Built {
    fn path_of(&self, name: &str) -> PathBuf {
        let forgery = self
            .forgeries
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no forgery {name}"));
        let path = self.dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, &forgery.bytes).expect("write");
        path
    }
}

/// The signature whose target (or, failing that, parent) is `id`… and whose Id is `sig`.
fn signature<'a>(verdict: &'a FileVerdict, sig: &str) -> &'a SignatureVerdict {
    verdict
        .signatures
        .iter()
        .find(|s| s.id.as_deref() == Some(sig))
        .unwrap_or_else(|| panic!("no signature {sig}: {verdict:#?}"))
}

fn has_reason(s: &SignatureVerdict, reason: &str) -> bool {
    s.raison.iter().any(|r| r == reason)
}

#[test]
fn genuine_files_are_valid_and_an_expired_certificate_is_not() {
    let Some(built) = build() else { return };
    let trust = trust();
    for path in [&built.signed, &built.global] {
        let verdict = verify_file(path, Some(&trust)).expect("verify");
        assert!(verdict.valide, "{verdict:#?}");
        assert!(verdict.bordereaux_non_signes.is_empty());
        assert!(verdict.identifiants_en_double.is_empty());
        assert!(verdict.erreurs.is_empty());
    }
    let verdict = verify_file(&built.expired, Some(&trust)).expect("verify");
    assert!(!verdict.valide);
    assert!(
        verdict.signatures[0]
            .raison
            .iter()
            .any(|r| r.contains("date de signature")),
        "{verdict:#?}"
    );
}

#[test]
fn every_forgery_is_refused_for_its_reason() {
    let Some(built) = build() else { return };
    let trust = trust();
    let genuine = verify_file(&built.signed, Some(&trust)).expect("verify");
    let genuine_time = signature(&genuine, "B1_SIG_1").date_signature.clone();
    let expired_time = verify_file(&built.expired, Some(&trust))
        .expect("verify")
        .signatures[0]
        .date_signature
        .clone();
    let duplicate = |id: &str| tf("pes.id_duplique", &[("id", id)]);
    let mut checked = 0;
    for forgery in &built.forgeries {
        let path = built.path_of(forgery.name);
        let v =
            verify_file(&path, Some(&trust)).unwrap_or_else(|e| panic!("{}: {e}", forgery.name));
        let name = forgery.name;
        assert_eq!(v.valide, forgery.still_valid, "{name}: {v:#?}");
        // Read whole, without the prescan that lets the verifier stop early: the same verdict.
        let whole = paraphe::pes::verify::verify_reader(
            std::io::BufReader::new(std::fs::File::open(&path).expect("open")),
            Some(&trust),
            None,
        )
        .expect("verify whole");
        let summary = |v: &FileVerdict| {
            let signatures: Vec<_> = v
                .signatures
                .iter()
                .map(|s| (s.id.clone(), s.valide, s.raison.clone()))
                .collect();
            (
                v.valide,
                signatures,
                v.bordereaux_non_signes.clone(),
                v.identifiants_en_double.clone(),
            )
        };
        assert_eq!(summary(&v), summary(&whole), "{name}");
        match name {
            "original_moved_into_an_unknown_element"
            | "original_moved_into_enveloppe"
            | "original_nested_in_a_forged_copy" => {
                assert_eq!(v.identifiants_en_double, ["B1"], "{name}");
                assert!(v.erreurs.contains(&duplicate("B1")), "{name}: {v:#?}");
                assert_eq!(v.bordereaux_non_signes, ["B1"], "{name}");
                let moved = signature(&v, "B1_SIG_1");
                assert!(!moved.valide, "{name}");
                assert!(
                    has_reason(moved, &t("verification.mal_placee")),
                    "{name}: {moved:#?}"
                );
                assert!(signature(&v, "B2_SIG_1").valide, "{name}");
            }
            "forged_copy_beside_the_original" => {
                assert_eq!(v.identifiants_en_double, ["B1"]);
                // The forged copy has no signature of its own.
                assert_eq!(v.bordereaux_non_signes, ["B1"]);
            }
            "unsigned_bordereau_added" => {
                assert!(v.identifiants_en_double.is_empty());
                assert_eq!(v.bordereaux_non_signes, ["B3"]);
                assert!(v.signatures.iter().all(|s| s.valide), "{v:#?}");
                // A plain XML-DSig check passes every signature of this file.
                if tools(&["xmlsec1"]) {
                    assert!(xmlsec_integrity(&path, "B1_SIG_1"));
                    assert!(xmlsec_integrity(&path, "B2_SIG_1"));
                }
            }
            "second_signed_properties_with_the_same_id" => {
                assert_eq!(v.identifiants_en_double, ["B1_SIG_1_SP"]);
                let s = signature(&v, "B1_SIG_1");
                assert!(!s.valide);
                assert!(
                    has_reason(
                        s,
                        &tf(
                            "verification.proprietes_en_double",
                            &[("id", "B1_SIG_1_SP")]
                        )
                    ),
                    "{s:#?}"
                );
            }
            "signing_time_in_unsigned_properties" => {
                let s = signature(&v, "B1_SIG_1");
                assert_eq!(s.date_signature, genuine_time);
                assert!(
                    s.informations_non_signees
                        .iter()
                        .any(|i| i.contains("SigningTime") && i.contains("2001-01-01")),
                    "{s:#?}"
                );
                if tools(&["xmlsec1"]) {
                    assert!(xmlsec_integrity(&path, "B1_SIG_1"));
                }
            }
            "claimed_role_in_another_object" => {
                let s = signature(&v, "B1_SIG_1");
                assert_eq!(s.role.as_deref(), Some("Maire"));
                assert!(
                    s.informations_non_signees
                        .iter()
                        .any(|i| i.contains("Préfet")),
                    "{s:#?}"
                );
            }
            "expired_certificate_with_an_earlier_unsigned_date" => {
                let s = signature(&v, "B1_SIG_1");
                assert!(s.integrite && !s.valide);
                assert_eq!(
                    s.date_signature, expired_time,
                    "the unsigned date is not used"
                );
                assert!(
                    s.raison.iter().any(|r| r.contains("date de signature")),
                    "{s:#?}"
                );
            }
            "amount_changed" => {
                let s = signature(&v, "B1_SIG_1");
                assert!(!s.integrite);
                assert!(has_reason(
                    s,
                    &tf("verification.empreinte", &[("uri", "#B1")])
                ));
                if tools(&["xmlsec1"]) {
                    assert!(!xmlsec_integrity(&path, "B1_SIG_1"));
                }
            }
            "signature_copied_over_another" => {
                // B2 now holds B1's signature, which does not designate B2.
                let copy = v
                    .signatures
                    .iter()
                    .find(|s| s.cible.as_deref() == Some("B2"))
                    .expect("the copy");
                assert!(!copy.integrite);
                assert!(has_reason(
                    copy,
                    &tf("verification.ne_couvre_pas", &[("id", "B2")])
                ));
                assert!(v.identifiants_en_double.contains(&"B1_SIG_1".to_owned()));
            }
            "signature_moved_to_another_bordereau" => {
                assert!(v.identifiants_en_double.is_empty());
                assert_eq!(v.bordereaux_non_signes, ["B1"]);
                let moved = signature(&v, "B1_SIG_1");
                assert!(!moved.valide);
                assert!(has_reason(
                    moved,
                    &tf("verification.ne_couvre_pas", &[("id", "B2")])
                ));
                // xmlsec1 finds B1 by its Id wherever the signature is: for it, all is well.
                if tools(&["xmlsec1"]) {
                    assert!(xmlsec_integrity(&path, "B1_SIG_1"));
                }
            }
            "signing_time_edited" => {
                let s = signature(&v, "B1_SIG_1");
                assert!(!s.integrite);
                assert!(has_reason(
                    s,
                    &tf("verification.empreinte", &[("uri", "#B1_SIG_1_SP")])
                ));
            }
            "certificate_swapped" => {
                let s = signature(&v, "B1_SIG_1");
                assert!(!s.integrite);
                assert!(has_reason(s, &t("verification.valeur_signature")));
                assert!(has_reason(s, &t("verification.cert_digest")));
            }
            "certificate_removed" => {
                let s = signature(&v, "B1_SIG_1");
                assert!(!s.integrite);
                assert!(has_reason(s, &t("verification.sans_certificat")));
            }
            "global_then_bordereau_added" => {
                assert!(!v.signatures[0].integrite, "{v:#?}");
                assert!(has_reason(
                    &v.signatures[0],
                    &tf("verification.empreinte", &[("uri", "#F1")])
                ));
            }
            "global_signature_moved_into_a_bordereau" => {
                let s = &v.signatures[0];
                assert!(!s.valide);
                assert!(has_reason(
                    s,
                    &tf("verification.ne_couvre_pas", &[("id", "B1")])
                ));
                assert_eq!(v.bordereaux_non_signes, ["B2"]);
            }
            other => panic!("forgery {other} has no expectation"),
        }
        checked += 1;
    }
    assert_eq!(checked, 17);
}

/// The command line says the same: exit 1, the JSON's `valide`, `bordereaux_non_signes` and
/// `identifiants_en_double`; `pes inspecter` calls a bordereau signed only when its own signature
/// designates it, and gives the SHA-256 of the file.
#[test]
fn the_command_line_reports_forgeries_and_the_file_s_hash() {
    let Some(built) = build() else { return };
    let paraphe = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(args)
            .env("PARAPHE_CONFIG", built.dir.path().join("absent.toml"))
            .env("PARAPHE_DONNEES", built.dir.path().join("donnees"))
            .output()
            .expect("paraphe")
    };
    let ca = TestPki::shared().ca_bundle_pem();
    let verify = |path: &Path| {
        let out = paraphe(&[
            "pes",
            "verifier",
            path.to_str().expect("path"),
            "--confiance",
            ca.to_str().expect("ca"),
            "--json",
        ]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (out.status.code(), doc)
    };
    let (code, doc) = verify(&built.signed);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["valide"], true);
    let (code, doc) = verify(&built.path_of("unsigned_bordereau_added"));
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(doc["valide"], false);
    assert_eq!(doc["bordereaux_non_signes"], serde_json::json!(["B3"]));
    let (code, doc) = verify(&built.path_of("original_moved_into_an_unknown_element"));
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(doc["identifiants_en_double"], serde_json::json!(["B1"]));
    // The text report names the problem in French.
    let out = paraphe(&[
        "pes",
        "verifier",
        built
            .path_of("forged_copy_beside_the_original")
            .to_str()
            .expect("path"),
        "--confiance",
        ca.to_str().expect("ca"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("« B1 » est utilisé par plusieurs éléments"),
        "{stdout}"
    );

    let inspect = |path: &Path| {
        let out = paraphe(&["pes", "inspecter", path.to_str().expect("path"), "--json"]);
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let signed_flags = |doc: &serde_json::Value| -> Vec<(String, bool)> {
        doc["bordereaux"]
            .as_array()
            .expect("bordereaux")
            .iter()
            .map(|b| {
                (
                    b["id"].as_str().unwrap_or_default().to_owned(),
                    b["signe"].as_bool().expect("signe"),
                )
            })
            .collect()
    };
    let doc = inspect(&built.signed);
    let bytes = std::fs::read(&built.signed).expect("read");
    assert_eq!(
        doc["empreinte"].as_str(),
        Some(hex::encode(openssl::sha::sha256(&bytes)).as_str())
    );
    assert_eq!(
        signed_flags(&doc),
        [("B1".to_owned(), true), ("B2".to_owned(), true)]
    );
    let doc = inspect(&built.path_of("forged_copy_beside_the_original"));
    assert_eq!(
        signed_flags(&doc),
        [
            ("B1".to_owned(), false),
            ("B1".to_owned(), true),
            ("B2".to_owned(), true)
        ]
    );
    let doc = inspect(&built.path_of("signature_copied_over_another"));
    assert_eq!(
        signed_flags(&doc),
        [("B1".to_owned(), true), ("B2".to_owned(), false)]
    );
    let doc = inspect(&built.path_of("original_nested_in_a_forged_copy"));
    assert_eq!(
        signed_flags(&doc),
        [("B1".to_owned(), false), ("B2".to_owned(), true)]
    );
}

/// The outbox's door (`envois ajouter pes`) runs the same verifier: every forgery is refused
/// (exit 1, nothing queued, the reason among the `constats`), the genuine files and those that
/// only add unsigned claims are queued `en_attente`.
#[test]
fn the_outbox_door_refuses_every_forgery() {
    let Some(built) = build() else { return };
    let settings = built.dir.path().join("paraphe.toml");
    std::fs::write(
        &settings,
        format!(
            "[verification]\nconfiance = \"{}\"\n",
            TestPki::shared().ca_bundle_pem().display()
        ),
    )
    .expect("settings");
    let queue = |path: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(["envois", "ajouter", "pes", "--json"])
            .arg(path)
            .env("PARAPHE_CONFIG", &settings)
            .env("PARAPHE_DONNEES", built.dir.path().join("donnees"))
            .output()
            .expect("paraphe");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), doc)
    };
    for path in [&built.signed, &built.global] {
        let (code, doc) = queue(path);
        assert_eq!(code, Some(0), "{doc}");
        assert_eq!(doc["etat"], "en_attente");
    }
    let mut queued = 2;
    for forgery in &built.forgeries {
        let (code, doc) = queue(&built.path_of(forgery.name));
        let codes: Vec<&str> = doc["constats"]
            .as_array()
            .expect("constats")
            .iter()
            .filter(|c| c["gravite"] == "bloquant")
            .filter_map(|c| c["code"].as_str())
            .collect();
        if forgery.still_valid {
            assert_eq!(code, Some(0), "{}: {doc}", forgery.name);
            queued += 1;
        } else {
            assert_eq!(code, Some(1), "{}: {doc}", forgery.name);
            assert!(doc.get("id").is_none(), "{}: {doc}", forgery.name);
            assert!(
                codes.iter().any(|c| c.starts_with("pes.porte.")),
                "{}: {doc}",
                forgery.name
            );
        }
    }
    // Only the accepted ones are in the outbox.
    let outbox = paraphe::outbox::Outbox::open(&built.dir.path().join("donnees/envois.sqlite"))
        .expect("outbox");
    let items = outbox
        .list(&paraphe::outbox::Filter::default())
        .expect("list");
    assert_eq!(items.len(), queued);
}

/// XML forbids the NUL byte: a signed file with one hidden after its last signature (where the
/// verifier, sure of the rest, would stop reading) is refused, by the verifier as by the parser
/// that reads it whole — and fast, the byte scan stopping at the NUL.
#[test]
fn a_nul_byte_after_the_last_signature_makes_the_file_invalid() {
    let Some(built) = build() else { return };
    let trust = trust();
    let text = forgeries::as_text(&std::fs::read(&built.signed).expect("read"));
    let end = text.rfind("</").expect("root end tag");
    let mut bytes = common::pes::latin1(&text[..end]);
    bytes.extend_from_slice(b"<!-- \0 -->");
    bytes.extend_from_slice(&common::pes::latin1(&text[end..]));
    let path = built.dir.path().join("nul-en-queue.xml");
    std::fs::write(&path, &bytes).expect("write");
    let refused = verify_file(&path, Some(&trust)).expect_err("a NUL byte is not XML");
    let offset = bytes.iter().position(|b| *b == 0).expect("nul");
    // Where an editor shows it (one column per byte: the file is Latin-1).
    let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let at = format!(
        "ligne {line}, colonne {} ; octet {offset}",
        offset - line_start + 1
    );
    assert_eq!(
        refused.to_string(),
        tf("pes.octet_nul", &[("position", &at)])
    );
    let whole = paraphe::pes::verify::verify_reader(
        std::io::BufReader::new(std::fs::File::open(&path).expect("open")),
        Some(&trust),
        None,
    );
    assert!(whole.is_err(), "the parser refuses it too: {whole:?}");
}
