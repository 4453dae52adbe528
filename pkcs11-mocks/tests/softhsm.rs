//! SoftHSM2 provisioning: tokens, import of TEST-ONLY identities, signing
//! through `pkcs11-tool` and verification with `openssl pkeyutl`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{data_and_digest, pkeyutl_verify};
use pkcs11_mocks::{
    Identity, SoftHsm, TestPki, USER_PIN, softhsm_module, tool_required, unique_label,
};

fn tools() -> bool {
    ["openssl", "softhsm2-util", "pkcs11-tool"]
        .iter()
        .all(|t| tool_required(t))
}

fn pkcs11_tool(hsm: &SoftHsm, label: &str) -> Command {
    let mut cmd = Command::new(pkcs11_mocks::find_tool("pkcs11-tool").unwrap());
    cmd.envs(hsm.env())
        .arg("--module")
        .arg(softhsm_module())
        .args(["--token-label", label]);
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Signs `input` on the token with key `id` and `mechanism`, writes `out`.
fn sign(hsm: &SoftHsm, label: &str, id: &Identity, mechanism: &str, input: &Path, out: &Path) {
    let mut cmd = pkcs11_tool(hsm, label);
    cmd.args(["--login", "--pin", USER_PIN, "--sign", "--id"])
        .arg(id.cka_id_hex())
        .args(["--mechanism", mechanism])
        .arg("--input-file")
        .arg(input)
        .arg("--output-file")
        .arg(out);
    if mechanism == "ECDSA" {
        cmd.args(["--signature-format", "openssl"]);
    }
    run_ok(&mut cmd);
}

#[test]
fn shared_sets_env_for_the_process() {
    if !tools() {
        return;
    }
    let hsm = SoftHsm::shared();
    assert!(std::ptr::eq(hsm, SoftHsm::shared()));
    assert_eq!(
        std::env::var_os("SOFTHSM2_CONF").as_deref(),
        Some(hsm.conf.as_os_str())
    );
    let conf = std::fs::read_to_string(&hsm.conf).unwrap();
    assert!(conf.contains(&format!(
        "directories.tokendir = {}",
        hsm.dir.join("tokens").display()
    )));
    assert!(conf.contains("objectstore.backend = file"));
    assert!(conf.contains("log.level = ERROR"));
    assert_eq!(
        hsm.env(),
        vec![(
            "SOFTHSM2_CONF".to_string(),
            hsm.conf.to_string_lossy().into_owned()
        )]
    );
}

#[test]
fn import_then_sign_rsa_and_ecdsa() {
    if !tools() {
        return;
    }
    let pki = TestPki::shared();
    let hsm = SoftHsm::shared();
    let label = unique_label("sig");
    hsm.create_token(&label, USER_PIN).expect("create token");
    for name in ["signature", "ecdsa-p256", "authentification"] {
        hsm.import(&label, USER_PIN, pki.identity(name))
            .unwrap_or_else(|e| panic!("import {name}: {e}"));
    }

    // Three objects per identity, with the identity's CKA_ID and label.
    let list = run_ok(pkcs11_tool(hsm, &label).args(["--login", "--pin", USER_PIN, "-O"]));
    for name in ["signature", "ecdsa-p256", "authentification"] {
        let id = pki.identity(name);
        assert_eq!(
            list.matches(&format!("label:      {name}\n")).count(),
            3,
            "{list}"
        );
        assert_eq!(
            list.matches(&format!("ID:         {}\n", id.cka_id_hex()))
                .count(),
            3,
            "{list}"
        );
    }
    assert_eq!(list.matches("Private Key Object").count(), 3, "{list}");
    assert_eq!(list.matches("Public Key Object").count(), 3, "{list}");
    assert_eq!(list.matches("Certificate Object").count(), 3, "{list}");

    let tmp = tempfile::tempdir().unwrap();
    let (data, digest, digest_bytes) =
        data_and_digest(tmp.path(), b"Deliberation 2026-042, TEST ONLY");

    // RSA, hashing on the token.
    let sig = tmp.path().join("sig-sha256.bin");
    let id = pki.identity("signature");
    sign(hsm, &label, id, "SHA256-RSA-PKCS", &data, &sig);
    pkeyutl_verify(&id.cert_pem, &digest, &sig, true);

    // RSA, raw PKCS#1 v1.5 over a DigestInfo (what opencryptoki needs).
    let di = tmp.path().join("digestinfo.bin");
    std::fs::write(
        &di,
        [&common::SHA256_DIGEST_INFO[..], &digest_bytes].concat(),
    )
    .unwrap();
    let sig = tmp.path().join("sig-raw.bin");
    sign(hsm, &label, id, "RSA-PKCS", &di, &sig);
    pkeyutl_verify(&id.cert_pem, &digest, &sig, true);

    // ECDSA P-256 over the digest, DER signature.
    let id = pki.identity("ecdsa-p256");
    let sig = tmp.path().join("sig-ec.der");
    sign(hsm, &label, id, "ECDSA", &digest, &sig);
    pkeyutl_verify(&id.cert_pem, &digest, &sig, false);

    // A signature by another key does not verify against this certificate.
    let out = common::exec(
        "openssl",
        [
            "pkeyutl".as_ref(),
            "-verify".as_ref(),
            "-certin".as_ref(),
            "-inkey".as_ref(),
            pki.identity("authentification").cert_pem.as_os_str(),
            "-in".as_ref(),
            digest.as_os_str(),
            "-sigfile".as_ref(),
            tmp.path().join("sig-sha256.bin").as_os_str(),
            "-pkeyopt".as_ref(),
            "digest:sha256".as_ref(),
        ],
    );
    assert!(!out.status.success());
}

#[test]
fn private_instance_with_its_own_conf() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let hsm = SoftHsm::new(tmp.path()).expect("new");
    assert!(hsm.dir.join("tokens").is_dir());
    let a = unique_label("priv");
    let b = unique_label("priv");
    assert_ne!(a, b);
    hsm.create_token(&a, "0000").expect("token a");
    hsm.create_token(&b, USER_PIN).expect("token b");
    hsm.import(&b, USER_PIN, TestPki::shared().identity("qualifie"))
        .expect("import");
    let out = run_ok(
        Command::new(pkcs11_mocks::find_tool("softhsm2-util").unwrap())
            .envs(hsm.env())
            .arg("--show-slots"),
    );
    assert!(out.contains(&a) && out.contains(&b), "{out}");
    // A wrong PIN is refused by the token.
    let out = pkcs11_tool(&hsm, &b)
        .args(["--login", "--pin", "9999", "-O"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CKR_PIN_INCORRECT"));
    // Token files live in the private directory only.
    assert!(std::fs::read_dir(hsm.dir.join("tokens")).unwrap().count() >= 2);
}
