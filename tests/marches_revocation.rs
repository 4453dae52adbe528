//! Revocation of the signer's certificate in `paraphe marches verifier`: a CRL given with
//! `--crl`, a CRL fetched from the certificate's distribution point (served by a local HTTP
//! server) and kept in the cache, an OCSP responder (`openssl ocsp`), and no server at all.

mod common;

use common::revocation::RevocationCa;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ready() -> bool {
    tools(&["openssl", "python3"])
}

/// `paraphe marches verifier --json FILE --confiance CA [--crl …]` with `data` as data folder.
fn verifier(
    file: &Path,
    ca: &RevocationCa,
    crls: &[&Path],
    data: &Path,
) -> (Output, serde_json::Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    command
        .args(["marches", "verifier", "--json"])
        .arg(file)
        .arg("--confiance")
        .arg(&ca.ca_pem)
        .env("PARAPHE_CONFIG", data.join("absent.toml"))
        .env("PARAPHE_DONNEES", data)
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY");
    for crl in crls {
        command.arg("--crl").arg(crl);
    }
    let out = command.output().expect("paraphe");
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&out)));
    (out, json)
}

/// A detached CAdES signature of `name` (a document written in `dir`) by `cert`/`key`.
fn signed(dir: &Path, name: &str, (cert, key): &(PathBuf, PathBuf)) -> PathBuf {
    let doc = dir.join(name);
    std::fs::write(&doc, format!("Offre {name}\n").repeat(100)).expect("write");
    let p7s = dir.join(format!("{name}.p7s"));
    let status = Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-outform", "DER", "-in"])
        .arg(&doc)
        .arg("-signer")
        .arg(cert)
        .arg("-inkey")
        .arg(key)
        .arg("-out")
        .arg(&p7s)
        .status()
        .expect("openssl cms");
    assert!(status.success(), "openssl cms -sign");
    p7s
}

fn text_of(signature: &serde_json::Value, field: &str) -> String {
    signature[field]
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
fn revocation_from_crl_ocsp_cache_and_offline() {
    if !ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let ca = RevocationCa::new(dir);
    let good = ca.issue("valide", "cdp");
    let revoked = ca.issue("revoque", "cdp");
    let late = ca.issue("tardif", "cdp");
    let by_ocsp = ca.issue("ocsp", "ocsp");
    let offline = ca.issue("horsligne", "horsligne");

    let good_sig = signed(dir, "valide.txt", &good);
    let ocsp_sig = signed(dir, "ocsp.txt", &by_ocsp);
    let offline_sig = signed(dir, "horsligne.txt", &offline);
    // Revoked after signing (a second later at least).
    let late_sig = signed(dir, "tardif.txt", &late);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ca.revoke(&late.0);
    // Revoked, then signed.
    ca.revoke(&revoked.0);
    let revoked_sig = signed(dir, "revoque.txt", &revoked);
    let crl = ca.crl();

    // A CRL given with --crl: revoked before signing → refused, with the date and the reason.
    let data = dir.join("donnees-crl");
    let (out, json) = verifier(&revoked_sig, &ca, &[&crl], &data);
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(s["valide"], false);
    assert_eq!(s["revocation"]["statut"], "revoque", "{json}");
    assert_eq!(s["revocation"]["source"], "crl");
    assert_eq!(s["revocation"]["verifiee"], true);
    assert!(s["revocation"]["date_revocation"].is_string());
    let reasons = text_of(s, "raisons");
    assert!(reasons.contains("révoqué le"), "{reasons}");
    assert!(reasons.contains("clé compromise"), "{reasons}");
    assert_eq!(json["revocation_verifiee"], true);

    // Not revoked: valid, revocation checked.
    let (out, json) = verifier(&good_sig, &ca, &[&crl], &data);
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["revocation"]["statut"], "valide");
    assert_eq!(s["revocation"]["verifiee"], true);
    assert_eq!(json["revocation_verifiee"], true);

    // Revoked after signing: still valid, said in a remark.
    let (out, json) = verifier(&late_sig, &ca, &[&crl], &data);
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["revocation"]["statut"], "revoque");
    assert!(
        text_of(s, "remarques").contains("après la signature"),
        "{json}"
    );

    // The CRL fetched from the distribution point, then reused from the cache with the server
    // stopped.
    let data = dir.join("donnees-http");
    let server = ca.serve_crl();
    let (out, json) = verifier(&revoked_sig, &ca, &[], &data);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(
        json["signatures"][0]["revocation"]["source"], "crl",
        "{json}"
    );
    assert_eq!(json["signatures"][0]["revocation"]["statut"], "revoque");
    let (out, json) = verifier(&good_sig, &ca, &[], &data);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["revocation_verifiee"], true);
    server.stop();
    assert!(
        std::fs::read_dir(data.join("revocation"))
            .expect("cache folder")
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "crl"))
    );
    let (out, json) = verifier(&good_sig, &ca, &[], &data);
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["revocation"]["source"], "cache", "{json}");
    assert_eq!(s["revocation"]["statut"], "valide");
    assert_eq!(json["revocation_verifiee"], true);

    // OCSP.
    let responder = ca.serve_ocsp();
    let (out, json) = verifier(&ocsp_sig, &ca, &[], &data);
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["revocation"]["source"], "ocsp", "{json}");
    assert_eq!(s["revocation"]["statut"], "valide");
    assert_eq!(json["revocation_verifiee"], true);
    responder.stop();
    let (_, json) = verifier(&ocsp_sig, &ca, &[], &data);
    assert_eq!(
        json["signatures"][0]["revocation"]["source"], "cache",
        "{json}"
    );

    // Offline: the distribution point does not answer.
    let (out, json) = verifier(&offline_sig, &ca, &[], &data);
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["revocation"]["statut"], "non_verifiee");
    assert_eq!(s["revocation"]["verifiee"], false);
    assert!(s["revocation"]["source"].is_null());
    assert!(
        text_of(s, "remarques").contains("révocation non vérifiée (hors ligne)"),
        "{json}"
    );
    assert_eq!(json["revocation_verifiee"], false);

    // And in words.
    let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["marches", "verifier"])
        .arg(&offline_sig)
        .arg("--confiance")
        .arg(&ca.ca_pem)
        .env("PARAPHE_CONFIG", data.join("absent.toml"))
        .env("PARAPHE_DONNEES", &data)
        .output()
        .expect("paraphe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("révocation non vérifiée (hors ligne)"),
        "{}",
        show(&out)
    );
}
