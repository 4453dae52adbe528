//! Checking the signatures of a bid's documents: CAdES made by `openssl cms -sign`, PAdES made by
//! pyHanko, RFC 3161 timestamps made by `openssl ts`, verified by `paraphe marches verifier`; a
//! changed document, a damaged signature, an expired certificate and an unknown authority each
//! give a French reason and a non-zero exit.

mod common;

use common::pdf::{make_pdf, pyhanko};
use common::tsa::{timestamp, tsa};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ready() -> bool {
    tools(&["openssl"])
}

fn verifier(file: &Path, trust: Option<&Path>) -> (Output, serde_json::Value) {
    let tmp = file.parent().unwrap_or(file).to_owned();
    let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    command
        .args(["marches", "verifier", "--json"])
        .arg(file)
        .env("PARAPHE_CONFIG", tmp.join("absent.toml"))
        .env("PARAPHE_DONNEES", tmp.join("donnees"));
    if let Some(trust) = trust {
        command.arg("--confiance").arg(trust);
    }
    let out = command.output().expect("paraphe");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

/// `openssl cms -sign` of `document` by the test identity `who` (with its chain).
fn cades(document: &Path, who: &str, out: &Path, attached: bool) {
    let id = TestPki::shared().identity(who);
    let mut command = Command::new("openssl");
    command
        .args(["cms", "-sign", "-binary", "-outform", "DER", "-in"])
        .arg(document)
        .arg("-signer")
        .arg(&id.cert_pem)
        .arg("-inkey")
        .arg(&id.key_pem)
        .arg("-certfile")
        .arg(&id.chain_pem)
        .arg("-out")
        .arg(out);
    if attached {
        command.arg("-nodetach");
    }
    assert!(
        command.status().expect("openssl").success(),
        "openssl cms -sign"
    );
}

fn reasons(signature: &serde_json::Value) -> String {
    signature["raisons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

fn document(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let text = "Mémoire technique — lot 2 : voirie.\n".repeat(5000);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn cades_detached_and_attached_are_checked() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let trust = pki.ca_bundle_pem();
    let doc = document(dir.path(), "memoire.txt");
    let p7s = dir.path().join("memoire.txt.p7s");
    cades(&doc, "signature", &p7s, false);

    // Given the document, its .p7s beside it is found.
    let (out, json) = verifier(&doc, Some(&trust));
    assert_eq!(out.status.code(), Some(0), "{json}");
    let s = &json["signatures"][0];
    assert_eq!(s["format"], "CAdES détachée");
    assert_eq!(s["signataire"], pki.identity("signature").cn.as_str());
    assert_eq!(s["qualifie"], false);
    assert_eq!(s["integrite"], true);
    assert_eq!(s["chaine"], true);
    assert_eq!(s["valide"], true, "{}", reasons(s));
    assert!(
        s["date_signature"]
            .as_str()
            .is_some_and(|d| d.starts_with("20"))
    );
    assert_eq!(json["revocation_verifiee"], false);

    // A qualified certificate is said to be one; an attached signature carries its document.
    let p7m = dir.path().join("qualifie.p7m");
    cades(&doc, "qualifie", &p7m, true);
    let (out, json) = verifier(&p7m, Some(&trust));
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["signatures"][0]["format"], "CAdES enveloppante");
    assert_eq!(json["signatures"][0]["qualifie"], true);

    // Without trust anchors the integrity is checked but the signature is not called valid.
    let (out, json) = verifier(&p7s, None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["signatures"][0]["integrite"], true);
    assert!(reasons(&json["signatures"][0]).contains("--confiance"));

    // An authority that is not trusted.
    let (out, json) = verifier(&p7s, Some(&pki.identity("chiffrement").cert_pem));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["signatures"][0]["chaine"], false);
    assert!(reasons(&json["signatures"][0]).contains("autorité de confiance"));

    // The document changed after signing.
    let mut changed = std::fs::read(&doc).expect("read");
    changed[100] ^= 0x20;
    std::fs::write(&doc, &changed).expect("write");
    let (out, json) = verifier(&p7s, Some(&trust));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["signatures"][0]["integrite"], false);
    assert!(reasons(&json["signatures"][0]).contains("modifié depuis sa signature"));
    changed[100] ^= 0x20;
    std::fs::write(&doc, &changed).expect("write");

    // The signature value damaged (its last byte: no unsigned attributes follow it).
    let mut damaged = std::fs::read(&p7s).expect("read");
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    let damaged_path = dir.path().join("abime.txt.p7s");
    std::fs::write(&damaged_path, &damaged).expect("write");
    std::fs::copy(&doc, dir.path().join("abime.txt")).expect("copy");
    let (out, json) = verifier(&damaged_path, Some(&trust));
    assert_eq!(out.status.code(), Some(1));
    assert!(reasons(&json["signatures"][0]).contains("valeur de la signature"));

    // Signed with a certificate that had expired.
    let expired = dir.path().join("expire.txt.p7s");
    std::fs::copy(&doc, dir.path().join("expire.txt")).expect("copy");
    cades(&dir.path().join("expire.txt"), "expire", &expired, false);
    let (out, json) = verifier(&expired, Some(&trust));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["signatures"][0]["certificat_valide"], false);
    assert!(reasons(&json["signatures"][0]).contains("expiré à la date de signature"));

    // A signature without its document (in a folder of its own: beside it, the document would be
    // recognised by its digest): a French error, exit 2.
    std::fs::create_dir(dir.path().join("seul")).expect("mkdir");
    let alone = dir.path().join("seul/seul.pdf.p7s");
    std::fs::copy(&p7s, &alone).expect("copy");
    let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["marches", "verifier"])
        .arg(&alone)
        .env("PARAPHE_CONFIG", dir.path().join("absent.toml"))
        .output()
        .expect("paraphe");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("introuvable"));
}

#[test]
fn rfc3161_timestamps_are_checked() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let tsa = tsa(dir.path());
    let doc = document(dir.path(), "offre.txt");
    let tsr = dir.path().join("offre.txt.tsr");
    timestamp(&tsa, &doc, &tsr);
    let (out, json) = verifier(&doc, Some(&tsa.cert));
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "Jeton d'horodatage");
    assert_eq!(s["signataire"], "Horodatage TEST ONLY");
    assert_eq!(s["valide"], true, "{}", reasons(s));
    // The time is the token's, close to now.
    let when = s["horodatage"].as_str().expect("time");
    let year = time::OffsetDateTime::now_utc().year().to_string();
    assert!(when.starts_with(&year), "{when}");

    std::fs::write(&doc, b"autre contenu").expect("write");
    let (out, json) = verifier(&tsr, Some(&tsa.cert));
    assert_eq!(out.status.code(), Some(1));
    assert!(reasons(&json["signatures"][0]).contains("modifié depuis son horodatage"));
}

#[test]
fn pades_made_by_pyhanko_is_checked() {
    if !ready() {
        return;
    }
    let Some(pyhanko) = pyhanko() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let id = pki.identity("signature");
    let input = dir.path().join("acte.pdf");
    make_pdf(&input, 2, false);
    let signed = dir.path().join("acte-signe.pdf");
    let status = Command::new(&pyhanko)
        .args([
            "sign",
            "addsig",
            "--field",
            "Sig1",
            "pemder",
            "--no-pass",
            "--key",
        ])
        .arg(&id.key_pem)
        .arg("--cert")
        .arg(&id.cert_pem)
        .arg("--chain")
        .arg(&id.chain_pem)
        .arg(&input)
        .arg(&signed)
        .status()
        .expect("pyhanko");
    assert!(status.success(), "pyhanko sign addsig");
    let trust = pki.ca_bundle_pem();
    let (out, json) = verifier(&signed, Some(&trust));
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "PAdES");
    assert_eq!(s["signataire"], id.cn.as_str());
    assert_eq!(s["couvre_tout_le_fichier"], true);
    assert_eq!(s["valide"], true, "{}", reasons(s));

    // Bytes added after the signature: still a valid signature, but it no longer covers the file.
    let mut appended = std::fs::read(&signed).expect("read");
    appended.extend_from_slice(b"\n% ajout\n");
    let appended_path = dir.path().join("ajout.pdf");
    std::fs::write(&appended_path, &appended).expect("write");
    let (_, json) = verifier(&appended_path, Some(&trust));
    assert_eq!(json["signatures"][0]["couvre_tout_le_fichier"], false);
    assert_eq!(json["signatures"][0]["integrite"], true);

    // A byte changed inside the signed range (the page text).
    let mut changed = std::fs::read(&signed).expect("read");
    let at = changed
        .windows(b"Deliberation".len())
        .position(|w| w == b"Deliberation")
        .expect("page text");
    changed[at] = b'X';
    let changed_path = dir.path().join("modifie.pdf");
    std::fs::write(&changed_path, &changed).expect("write");
    let (out, json) = verifier(&changed_path, Some(&trust));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["signatures"][0]["integrite"], false, "{json}");
}

/// A XAdES-BES detached signature of `document` (reference to the file beside it, and to the
/// signed properties: signing time and certificate digest), made and signed by xmlsec1.
fn xades_by_xmlsec1(document: &Path, who: &str, out: &Path) {
    let id = TestPki::shared().identity(who);
    let der = std::fs::read(&id.cert_der).expect("cert der");
    let b64 = |bytes: &[u8]| {
        let out = Command::new("openssl")
            .args(["base64", "-A"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(bytes)?;
                child.wait_with_output()
            })
            .expect("openssl base64");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let digest = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .arg(&id.cert_der)
        .output()
        .expect("openssl dgst")
        .stdout;
    let name = document
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    let template = format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="SIG1"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="{name}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference><ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#SP1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><ds:Object><xad:QualifyingProperties xmlns:xad="http://uri.etsi.org/01903/v1.3.2#" Target="#SIG1"><xad:SignedProperties Id="SP1"><xad:SignedSignatureProperties><xad:SigningTime>{now}</xad:SigningTime><xad:SigningCertificate><xad:Cert><xad:CertDigest><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{digest}</ds:DigestValue></xad:CertDigest></xad:Cert></xad:SigningCertificate></xad:SignedSignatureProperties></xad:SignedProperties></xad:QualifyingProperties></ds:Object></ds:Signature>
"##,
        cert = b64(&der),
        digest = b64(&digest),
    );
    let dir = document.parent().expect("dir");
    let template_path = dir.join("modele-xades.xml");
    std::fs::write(&template_path, template).expect("template");
    // xmlsec1 resolves the file reference from its working directory.
    let status = Command::new("xmlsec1")
        .current_dir(dir)
        .args(["--sign", "--privkey-pem"])
        .arg(&id.key_pem)
        .args(["--id-attr:Id", "SignedProperties", "--output"])
        .arg(out)
        .arg(&template_path)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("xmlsec1");
    assert!(status.success(), "xmlsec1 --sign");
}

#[test]
fn xades_detached_made_by_xmlsec1_is_checked() {
    if !tools(&["openssl", "xmlsec1"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let trust = pki.ca_bundle_pem();
    let doc = document(dir.path(), "memoire technique.txt");
    let xades = dir.path().join("memoire technique.txt.xml");
    xades_by_xmlsec1(&doc, "qualifie", &xades);

    // Given the document, the .xml signature beside it is found.
    let (out, json) = verifier(&doc, Some(&trust));
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "XAdES détachée");
    assert_eq!(s["signataire"], pki.identity("qualifie").cn.as_str());
    assert_eq!(s["qualifie"], true);
    assert_eq!(s["chaine"], true);
    assert_eq!(s["valide"], true, "{}", reasons(s));

    // The document changed: the file reference no longer matches.
    std::fs::write(&doc, b"autre contenu").expect("write");
    let (out, json) = verifier(&xades, Some(&trust));
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(json["signatures"][0]["integrite"], false);

    // A reference that tries to leave the folder is not followed.
    let escaping = std::fs::read_to_string(&xades)
        .expect("read")
        .replace("URI=\"memoire technique.txt\"", "URI=\"../secret.txt\"");
    let escaping_path = dir.path().join("evasion.txt.xml");
    std::fs::write(&escaping_path, escaping).expect("write");
    let (out, json) = verifier(&escaping_path, Some(&trust));
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(json["signatures"][0]["integrite"], false);
}

#[test]
fn pades_with_a_signature_timestamp_is_checked() {
    if !tools(&["openssl", "python3"]) {
        return;
    }
    let Some(pyhanko) = pyhanko() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let id = pki.identity("signature");
    let authority = tsa(dir.path());
    let server = common::tsa::serve(&authority);
    let input = dir.path().join("acte.pdf");
    make_pdf(&input, 1, false);
    let signed = dir.path().join("acte-horodate.pdf");
    let status = Command::new(&pyhanko)
        .args([
            "sign",
            "addsig",
            "--field",
            "Sig1",
            "--timestamp-url",
            &server.url,
        ])
        .args(["pemder", "--no-pass", "--key"])
        .arg(&id.key_pem)
        .arg("--cert")
        .arg(&id.cert_pem)
        .arg("--chain")
        .arg(&id.chain_pem)
        .arg(&input)
        .arg(&signed)
        .status()
        .expect("pyhanko");
    assert!(status.success(), "pyhanko sign addsig --timestamp-url");
    // Trust: the test PKI and the TSA.
    let trust = dir.path().join("confiance.pem");
    let mut bundle = std::fs::read(pki.ca_bundle_pem()).expect("bundle");
    bundle.extend(std::fs::read(&authority.cert).expect("tsa"));
    std::fs::write(&trust, bundle).expect("trust");
    let (out, json) = verifier(&signed, Some(&trust));
    let s = &json["signatures"][0];
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "PAdES");
    assert_eq!(s["valide"], true, "{}", reasons(s));
    // The signature timestamp (CAdES-T inside the PDF's CMS) was found and verified.
    let when = s["horodatage"].as_str().expect("signature timestamp");
    let year = time::OffsetDateTime::now_utc().year().to_string();
    assert!(when.starts_with(&year), "{when}");

    // Without the TSA among the trusted authorities, the timestamp is said not trusted.
    let (_, json) = verifier(&signed, Some(&pki.ca_bundle_pem()));
    assert!(
        reasons(&json["signatures"][0]).contains("autorité d'horodatage"),
        "{json}"
    );
}
