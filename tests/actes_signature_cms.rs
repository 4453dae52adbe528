//! Detached CMS (CAdES-BES) signatures of ACTES files, checked by `openssl cms -verify` (with the
//! test chain, `-cades` for the ESS signingCertificateV2, and `-noverify` for integrity only) and by
//! pyHanko on detached content, with software keys (PKCS#12) and SoftHSM card keys, RSA and
//! ECDSA P-256.

mod common;

use common::*;
use paraphe::actes::cms::{self, CmsError, CmsOptions};
use paraphe::card::pin::FixedPrompt;
use paraphe::card::pkcs11::Module;
use paraphe::card::software::SoftwareKey;
use paraphe::card::{KeyKind as CardKeyKind, Signer};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ACT: &[u8] = "Délibération n° 2026-042 du conseil municipal — budget primitif".as_bytes();

/// This process's SoftHSM token with the RSA and ECDSA signature identities. SoftHSM only sees
/// tokens that exist when it is initialised: the token is made before any test loads the module.
fn token() -> String {
    static LABEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LABEL
        .get_or_init(|| {
            let hsm = SoftHsm::shared();
            let pki = TestPki::shared();
            let label = unique_label("cms");
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
    tools(&["openssl"])
}

fn ready_card() -> bool {
    tools(&["openssl", "softhsm2-util", "pkcs11-tool"])
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// `openssl cms -verify` of a detached signature; `ca` None means `-noverify`.
fn openssl_cms_verify(
    sig: &Path,
    inform: &str,
    content: &Path,
    ca: Option<&Path>,
    extra: &[&str],
) -> Output {
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-verify", "-binary", "-inform", inform, "-in"])
        .arg(sig)
        .arg("-content")
        .arg(content)
        .args(["-out", "/dev/null"]);
    match ca {
        Some(ca) => cmd.arg("-CAfile").arg(ca).args(["-purpose", "any"]),
        None => cmd.arg("-noverify"),
    };
    cmd.args(extra).output().expect("openssl cms")
}

fn verified(out: &Output) -> bool {
    out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Verification successful")
}

fn cms_print(sig: &Path) -> String {
    let out = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(sig)
        .output()
        .expect("openssl cms -cmsout");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Everything a signature must pass: full chain with the ESS check, integrity only, tampered
/// content refused.
fn assert_verifies(dir: &Path, signature: &[u8], data: &[u8]) {
    let pki = TestPki::shared();
    let sig = write(dir, "acte.pdf.p7s", signature);
    let content = write(dir, "acte.pdf", data);
    let out = openssl_cms_verify(&sig, "DER", &content, Some(&pki.ca_bundle_pem()), &[]);
    eprintln!(
        "openssl cms -verify (chain): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    assert!(verified(&out), "{out:?}");
    let out = openssl_cms_verify(
        &sig,
        "DER",
        &content,
        Some(&pki.ca_bundle_pem()),
        &["-cades"],
    );
    assert!(verified(&out), "-cades (signingCertificateV2): {out:?}");
    let out = openssl_cms_verify(&sig, "DER", &content, None, &[]);
    assert!(verified(&out), "-noverify: {out:?}");

    let mut tampered = data.to_vec();
    tampered[0] ^= 1;
    let other = write(dir, "acte-modifie.pdf", &tampered);
    let out = openssl_cms_verify(&sig, "DER", &other, None, &[]);
    eprintln!(
        "openssl cms -verify (tampered): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    assert!(!out.status.success(), "a tampered content must fail");
    let out = openssl_cms_verify(&sig, "DER", &other, Some(&pki.ca_bundle_pem()), &[]);
    assert!(!out.status.success(), "a tampered content must fail");
}

/// The structure: detached, SHA-256, issuerAndSerialNumber, the four signed attributes, the
/// signer certificate, and the ESS hash of that certificate.
fn assert_structure(dir: &Path, signature: &[u8], cert_der: &[u8], kind: CardKeyKind) {
    let sig = write(dir, "structure.p7s", signature);
    let printed = cms_print(&sig);
    for needle in [
        "contentType: pkcs7-signedData",
        "eContentType: pkcs7-data",
        "eContent: <ABSENT>",
        "algorithm: sha256",
        "d.issuerAndSerialNumber",
        "object: contentType",
        "object: signingTime",
        "UTCTIME:",
        "object: messageDigest",
        "object: id-smime-aa-signingCertificateV2",
    ] {
        assert!(printed.contains(needle), "{needle} missing in:\n{printed}");
    }
    let alg = match kind {
        CardKeyKind::Rsa => "algorithm: rsaEncryption",
        CardKeyKind::Ec => "algorithm: ecdsa-with-SHA256",
    };
    assert!(printed.contains(alg), "{alg} missing in:\n{printed}");
    // Exactly one certificate: the signer's.
    assert_eq!(printed.matches("cert_info:").count(), 1, "{printed}");
    let der = signature;
    let cert_hash = openssl::sha::sha256(cert_der);
    assert!(
        der.windows(cert_der.len()).any(|w| w == cert_der),
        "signer certificate included"
    );
    assert!(
        der.windows(32).any(|w| w == cert_hash),
        "ESS certHash = SHA-256 of the signer certificate"
    );
    if let Some(report) = asn1crypto_reencodes_identically(dir, signature) {
        eprintln!("asn1crypto: {report}");
        assert!(report.contains("reencoded: True"), "{report}");
        assert!(
            report.contains(&format!("ess certHash: {}", hex::encode(cert_hash))),
            "{report}"
        );
        assert!(report.contains("sid: issuer_and_serial_number"), "{report}");
        assert!(report.contains("ess reencoded: True"), "{report}");
        assert!(report.contains("ess issuerSerial: True"), "{report}");
        assert!(report.contains("ess hashAlgorithm: sha256"), "{report}");
    }
}

/// asn1crypto (pyHanko's ASN.1 layer, from the project's venv) parses the signature strictly and
/// re-encodes it to the same bytes: proper DER, SET OF members in order. Returns its summary.
fn asn1crypto_reencodes_identically(dir: &Path, signature: &[u8]) -> Option<String> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if !tool_required(python.to_str().unwrap_or("python")) {
        return None;
    }
    let sig = write(dir, "asn1crypto.p7s", signature);
    let script = r#"
import sys
from asn1crypto import cms, tsp
d = open(sys.argv[1], 'rb').read()
ci = cms.ContentInfo.load(d, strict=True)
si = ci['content']['signer_infos'][0]
print('attributes:', sorted(a['type'].dotted for a in si['signed_attrs']))
print('sid:', si['sid'].name, 'digest:', si['digest_algorithm']['algorithm'].native,
      'signature:', si['signature_algorithm']['algorithm'].native)
ess = [a for a in si['signed_attrs'] if a['type'].dotted == '1.2.840.113549.1.9.16.2.47'][0]
raw = ess['values'][0].dump()
v = tsp.SigningCertificateV2.load(raw, strict=True)
cert_id = v['certs'][0]
print('ess certHash:', cert_id['cert_hash'].native.hex())
print('ess hashAlgorithm:', cert_id['hash_algorithm']['algorithm'].native)
print('ess issuerSerial:', cert_id['issuer_serial']['serial_number'].native
      == ci['content']['certificates'][0].chosen.serial_number)
print('ess reencoded:', v.dump(force=True) == raw)
copy = cms.ContentInfo.load(d)
copy.native
print('reencoded:', copy.dump(force=True) == d)
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&sig)
        .output()
        .expect("python");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "asn1crypto: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(text)
}

/// pyHanko's validator on a detached CMS (`--detached SIG DATA`), with the test root as trust.
/// Returns whether it succeeded and its report, or None when pyHanko is missing (outside CI).
fn pyhanko_detached(dir: &Path, signature: &[u8], data: &[u8]) -> Option<(bool, String)> {
    let pyhanko = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/pyhanko");
    if !tool_required(pyhanko.to_str().unwrap_or("pyhanko")) {
        return None;
    }
    let pki = TestPki::shared();
    let sig = write(dir, "pyhanko.p7s", signature);
    let content = write(dir, "pyhanko.bin", data);
    let out = Command::new(&pyhanko)
        .args(["sign", "validate", "--no-revocation-check", "--trust"])
        .arg(&pki.root.cert_pem)
        .arg("--trust-replace")
        .arg("--other-certs")
        .arg(&pki.intermediate.cert_pem)
        .arg("--detached")
        .arg(&sig)
        .arg(&content)
        .output()
        .expect("pyhanko");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

/// pyHanko accepts the signature over `data` and refuses it over altered data.
fn assert_pyhanko_detached(dir: &Path, signature: &[u8], data: &[u8]) {
    let Some((ok, report)) = pyhanko_detached(dir, signature, data) else {
        return;
    };
    eprintln!("pyhanko --detached: {}", report.trim());
    assert!(ok && report.contains("INTACT:TRUSTED"), "{report}");
    let mut tampered = data.to_vec();
    tampered[0] ^= 1;
    if let Some((ok, report)) = pyhanko_detached(dir, signature, &tampered) {
        eprintln!("pyhanko --detached (tampered): {}", report.trim());
        assert!(!ok && !report.contains("INTACT"), "{report}");
    }
}

#[test]
fn rsa_software_key_signature_verifies_with_the_chain() {
    if !ready() {
        return;
    }
    let mut key = software_key("signature");
    let signature = cms::sign_detached(&mut key, ACT).expect("sign");
    let dir = tempfile::tempdir().expect("tmp");
    assert_verifies(dir.path(), &signature, ACT);
    assert_structure(
        dir.path(),
        &signature,
        Signer::certificate_der(&key),
        CardKeyKind::Rsa,
    );
    assert_pyhanko_detached(dir.path(), &signature, ACT);
}

#[test]
fn pem_output_verifies_too() {
    if !ready() {
        return;
    }
    let mut key = software_key("signature");
    let signature = cms::sign_detached(&mut key, ACT).expect("sign");
    let dir = tempfile::tempdir().expect("tmp");
    let pem = cms::to_pem(&signature);
    assert!(pem.starts_with("-----BEGIN PKCS7-----\n"));
    let sig = write(dir.path(), "acte.pdf.p7s.pem", pem.as_bytes());
    let content = write(dir.path(), "acte.pdf", ACT);
    let out = openssl_cms_verify(
        &sig,
        "PEM",
        &content,
        Some(&TestPki::shared().ca_bundle_pem()),
        &[],
    );
    assert!(verified(&out), "{out:?}");
}

#[test]
fn ecdsa_p256_software_key_signature_verifies() {
    if !ready() {
        return;
    }
    let mut key = software_key("ecdsa-p256");
    assert_eq!(Signer::key_kind(&key), CardKeyKind::Ec);
    let signature = cms::sign_detached(&mut key, ACT).expect("sign");
    let dir = tempfile::tempdir().expect("tmp");
    assert_verifies(dir.path(), &signature, ACT);
    assert_structure(
        dir.path(),
        &signature,
        Signer::certificate_der(&key),
        CardKeyKind::Ec,
    );
    assert_pyhanko_detached(dir.path(), &signature, ACT);
}

#[test]
fn card_keys_on_softhsm_sign_rsa_and_ecdsa() {
    if !ready_card() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    for (name, kind) in [
        ("signature", CardKeyKind::Rsa),
        ("ecdsa-p256", CardKeyKind::Ec),
    ] {
        let mut key = card_key(name);
        let signature = cms::sign_detached(&mut key, ACT).expect("card signature");
        assert_verifies(dir.path(), &signature, ACT);
        assert_pyhanko_detached(dir.path(), &signature, ACT);
        assert_structure(dir.path(), &signature, Signer::certificate_der(&key), kind);
    }
}

#[test]
fn large_file_is_signed_streamed() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    // 6 MB, not a multiple of the read buffer.
    let data: Vec<u8> = (0..6_000_001u32).map(|i| (i % 251) as u8).collect();
    let path = write(dir.path(), "annexe.pdf", &data);
    let mut key = software_key("signature");
    let signature =
        cms::sign_detached_file(&mut key, &path, &CmsOptions::default()).expect("sign file");
    assert_verifies(dir.path(), &signature, &data);
}

#[test]
fn intermediate_certificate_can_travel_in_the_signature() {
    if !ready() {
        return;
    }
    let pki = TestPki::shared();
    let mut key = software_key("signature");
    let options = CmsOptions {
        extra_certificates: vec![std::fs::read(&pki.intermediate.cert_der).expect("der")],
        ..CmsOptions::default()
    };
    let digest = openssl::sha::sha256(ACT);
    let signature = cms::sign_digest(&mut key, &digest, &options).expect("sign");
    let dir = tempfile::tempdir().expect("tmp");
    let sig = write(dir.path(), "acte.p7s", &signature);
    let content = write(dir.path(), "acte.pdf", ACT);
    // The root alone is enough: the intermediate comes from the signature.
    let out = openssl_cms_verify(&sig, "DER", &content, Some(&pki.root.cert_pem), &[]);
    assert!(verified(&out), "{out:?}");
    assert_eq!(cms_print(&sig).matches("cert_info:").count(), 2);
}

#[test]
fn signing_time_can_be_left_out() {
    if !ready() {
        return;
    }
    let mut key = software_key("signature");
    let options = CmsOptions {
        signing_time: None,
        ..CmsOptions::default()
    };
    let signature = cms::sign_digest(&mut key, &openssl::sha::sha256(ACT), &options).expect("sign");
    let dir = tempfile::tempdir().expect("tmp");
    let sig = write(dir.path(), "acte.p7s", &signature);
    assert!(!cms_print(&sig).contains("object: signingTime"));
    assert_verifies(dir.path(), &signature, ACT);
}

#[test]
fn empty_content_is_refused_in_french() {
    let mut key = software_key("signature");
    let err = cms::sign_detached(&mut key, b"").expect_err("empty");
    assert!(matches!(err, CmsError::EmptyContent));
    let text = err.to_string();
    assert!(text.contains("vide"), "{text}");
    assert!(!text.contains('⟦') && !text.contains('{'), "{text}");

    let dir = tempfile::tempdir().expect("tmp");
    let empty = write(dir.path(), "vide.pdf", b"");
    let err = cms::sign_detached_file(&mut key, &empty, &CmsOptions::default()).expect_err("empty");
    assert!(matches!(err, CmsError::EmptyContent));

    let missing = dir.path().join("absent.pdf");
    let err =
        cms::sign_detached_file(&mut key, &missing, &CmsOptions::default()).expect_err("missing");
    let text = err.to_string();
    assert!(matches!(err, CmsError::Read { .. }));
    assert!(text.starts_with("Impossible de lire"), "{text}");

    let err = cms::sign_digest(&mut key, &[0u8; 20], &CmsOptions::default()).expect_err("sha1");
    assert!(matches!(err, CmsError::DigestLength));
    assert!(!err.to_string().contains('⟦'));
}
