//! Revocation of the signer's certificate in `paraphe pes verifier`: a CRL given with `--crl`
//! (revoked before signing → refused; not revoked → checked), a CRL fetched from the
//! certificate's distribution point on a local HTTP server, and no server at all (offline).

mod common;

use common::pes::latin1;
use common::revocation::RevocationCa;
use common::*;
use paraphe::card::pin::FixedPrompt;
use paraphe::card::software::SoftwareKey;
use paraphe::pes::sign::{Scope, SignRequest, sign_file};
use paraphe::pes::xades::{Profile, SignerDetails};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ready() -> bool {
    tools(&["openssl", "python3"])
}

/// The certificate and key as a PKCS#12 with the authority, password [`P12_PASSWORD`].
fn p12(ca: &RevocationCa, (cert, key): &(PathBuf, PathBuf)) -> PathBuf {
    let out = cert.with_extension("p12");
    let status = Command::new("openssl")
        .args(["pkcs12", "-export", "-inkey"])
        .arg(key)
        .arg("-in")
        .arg(cert)
        .arg("-certfile")
        .arg(&ca.ca_pem)
        .arg("-out")
        .arg(&out)
        .arg("-passout")
        .arg(format!("pass:{P12_PASSWORD}"))
        .status()
        .expect("openssl pkcs12");
    assert!(status.success(), "openssl pkcs12 -export");
    out
}

/// The test PES signed (per bordereau) with `p12` into `dir/name`.
fn signed(dir: &Path, name: &str, p12: &Path) -> PathBuf {
    let plain = dir.join(format!("clair-{name}"));
    std::fs::write(&plain, latin1(&common::forgeries::plain_pes_text())).expect("write");
    let output = dir.join(name);
    let mut key = SoftwareKey::open(p12, &mut FixedPrompt::new(P12_PASSWORD)).expect("p12");
    let request = SignRequest {
        input: &plain,
        output: &output,
        scope: Scope::Bordereaux,
        profile: Profile::Sha256,
        details: SignerDetails {
            role: "Maire".into(),
            city: "Arles".into(),
            postal_code: "13200".into(),
            country: "France".into(),
        },
        reviewed_sha256: None,
        expected: 0,
    };
    sign_file(&request, &mut key, &mut |_| {}, &|| false).expect("sign");
    output
}

fn verifier(
    file: &Path,
    ca: &RevocationCa,
    crls: &[&Path],
    data: &Path,
    json: bool,
) -> (Output, serde_json::Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    command
        .args(["pes", "verifier"])
        .arg(file)
        .arg("--confiance")
        .arg(&ca.ca_pem)
        .env("PARAPHE_CONFIG", data.join("absent.toml"))
        .env("PARAPHE_DONNEES", data)
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    if json {
        command.arg("--json");
    }
    for crl in crls {
        command.arg("--crl").arg(crl);
    }
    let out = command.output().expect("paraphe");
    let value = if json {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&out)))
    } else {
        serde_json::Value::Null
    };
    (out, value)
}

fn texts(value: &serde_json::Value) -> String {
    value
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

#[test]
fn pes_signers_certificates_are_checked_for_revocation() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let ca = RevocationCa::new(dir);
    let good = ca.issue("valide", "cdp");
    let revoked = ca.issue("revoque", "cdp");
    let offline = ca.issue("horsligne", "horsligne");
    let good_pes = signed(dir, "valide.xml", &p12(&ca, &good));
    let offline_pes = signed(dir, "horsligne.xml", &p12(&ca, &offline));
    let revoked_p12 = p12(&ca, &revoked);
    ca.revoke(&revoked.0);
    let revoked_pes = signed(dir, "revoque.xml", &revoked_p12);
    let crl = ca.crl();
    let data = dir.join("donnees");

    // Revoked before signing: refused, with the date and the reason.
    let (out, json) = verifier(&revoked_pes, &ca, &[&crl], &data, true);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(json["valide"], false);
    let s = &json["signatures"][0];
    assert_eq!(s["valide"], false);
    assert_eq!(s["revocation"]["statut"], "revoque", "{json}");
    assert_eq!(s["revocation"]["source"], "crl");
    assert!(texts(&s["raison"]).contains("révoqué le"), "{json}");
    assert_eq!(json["revocation_verifiee"], true);

    // Not revoked: valid and checked.
    let (out, json) = verifier(&good_pes, &ca, &[&crl], &data, true);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["signatures"][0]["revocation"]["statut"], "valide");
    assert_eq!(json["revocation_verifiee"], true);

    // From the distribution point over HTTP.
    let server = ca.serve_crl();
    let (out, json) = verifier(&revoked_pes, &ca, &[], &data, true);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(
        json["signatures"][0]["revocation"]["source"], "crl",
        "{json}"
    );
    server.stop();

    // Offline: said, and not counted as checked.
    let (out, json) = verifier(&offline_pes, &ca, &[], &data, true);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let s = &json["signatures"][0];
    assert_eq!(s["revocation"]["statut"], "non_verifiee");
    assert_eq!(s["revocation"]["verifiee"], false);
    assert!(
        texts(&s["avertissements"]).contains("révocation non vérifiée (hors ligne)"),
        "{json}"
    );
    assert_eq!(json["revocation_verifiee"], false);
    let (out, _) = verifier(&offline_pes, &ca, &[], &data, false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("révocation non vérifiée (hors ligne)"),
        "{}",
        show(&out)
    );
}
