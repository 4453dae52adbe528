//! The opencryptoki soft token: reset, import, signing, PIN lockout.
//! Uses the machine's single `pkcsslotd` (tests serialise on a file lock);
//! needs root.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use common::{data_and_digest, pkeyutl_verify};
use pkcs11_mocks::{Opencryptoki, TestPki, USER_PIN, tool_required};

fn tools() -> bool {
    ["openssl", "pkcs11-tool", "pkcsslotd", "pkcsconf"]
        .iter()
        .all(|t| tool_required(t))
}

fn acquire(label: &str) -> Opencryptoki {
    let start = Instant::now();
    let ock = Opencryptoki::acquire(label).unwrap_or_else(|e| panic!("acquire: {e}"));
    eprintln!(
        "Opencryptoki::acquire({label}) took {:?} (slot {})",
        start.elapsed(),
        ock.slot
    );
    ock
}

fn out(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn pkcs11-tool")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn login_list(ock: &Opencryptoki, pin: &str) -> Output {
    out(ock
        .pkcs11_tool()
        .args(["--login", "--pin", pin, "--list-objects"]))
}

/// The "token flags" line of `pkcs11-tool -T` for our slot.
fn tool_flags(ock: &Opencryptoki) -> String {
    let o = out(ock.pkcs11_tool().arg("-T"));
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
        .lines()
        .find(|l| l.contains("token flags"))
        .unwrap_or_default()
        .to_string()
}

fn sign(ock: &Opencryptoki, id_hex: &str, mechanism: &str, input: &Path, output: &Path) -> Output {
    out(ock
        .pkcs11_tool()
        .args(["--login", "--pin", USER_PIN, "--sign", "--id", id_hex])
        .args(["--mechanism", mechanism])
        .arg("--input-file")
        .arg(input)
        .arg("--output-file")
        .arg(output))
}

#[test]
fn fresh_token_import_and_rsa_signature() {
    if !tools() {
        return;
    }
    let pki = TestPki::shared();
    let ock = acquire("paraphe-ock-sig");
    let flags = ock.token_flags().unwrap();
    for f in [
        "TOKEN_INITIALIZED",
        "USER_PIN_INITIALIZED",
        "LOGIN_REQUIRED",
    ] {
        assert!(flags.iter().any(|g| g == f), "{flags:?}");
    }
    let listing = text(&out(ock.pkcs11_tool().arg("-T")));
    assert!(
        listing.contains("token label        : paraphe-ock-sig"),
        "{listing}"
    );
    assert!(listing.contains("IBM SoftTok"), "{listing}");

    // Fresh token: no objects.
    let o = login_list(&ock, USER_PIN);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("Object"), "{}", text(&o));

    let id = pki.identity("signature");
    ock.import(USER_PIN, id).expect("import");
    let listing = text(&login_list(&ock, USER_PIN));
    assert_eq!(
        listing.matches("label:      signature").count(),
        3,
        "{listing}"
    );
    assert_eq!(listing.matches("ID:         01").count(), 3, "{listing}");

    let tmp = tempfile::tempdir().unwrap();
    let (_data, digest, digest_bytes) = data_and_digest(tmp.path(), b"Budget primitif, TEST ONLY");
    let di = tmp.path().join("digestinfo.bin");
    std::fs::write(
        &di,
        [&common::SHA256_DIGEST_INFO[..], &digest_bytes].concat(),
    )
    .unwrap();
    let sig = tmp.path().join("sig.bin");
    let o = sign(&ock, "01", "RSA-PKCS", &di, &sig);
    assert!(o.status.success(), "{}", text(&o));
    pkeyutl_verify(&id.cert_pem, &digest, &sig, true);

    // This token has no CKM_SHA256_RSA_PKCS.
    let o = sign(
        &ock,
        "01",
        "SHA256-RSA-PKCS",
        &di,
        &tmp.path().join("x.bin"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("CKR_MECHANISM_INVALID"), "{}", text(&o));
}

#[test]
fn ec_key_is_stored_but_cannot_sign() {
    if !tools() {
        return;
    }
    let pki = TestPki::shared();
    let ock = acquire("paraphe-ock-ec");
    let id = pki.identity("ecdsa-p256");
    ock.import(USER_PIN, id).expect("import EC");
    let tmp = tempfile::tempdir().unwrap();
    let (_data, digest, _) = data_and_digest(tmp.path(), b"EC, TEST ONLY");
    let o = sign(
        &ock,
        &id.cka_id_hex(),
        "ECDSA",
        &digest,
        &tmp.path().join("s"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("CKR_MECHANISM_INVALID"), "{}", text(&o));
}

#[test]
fn lockout_after_three_bad_pins_then_reacquire_resets() {
    if !tools() {
        return;
    }
    let pki = TestPki::shared();
    let ock = acquire("paraphe-ock-lock");
    ock.import(USER_PIN, pki.identity("authentification"))
        .expect("import");

    // (pkcsconf flag, pkcs11-tool flag, C_Login answer) after 1, 2, 3 bad PINs.
    let steps = [
        (
            "USER_PIN_COUNT_LOW",
            "user PIN count low",
            "CKR_PIN_INCORRECT",
        ),
        (
            "USER_PIN_FINAL_TRY",
            "final user PIN try",
            "CKR_PIN_INCORRECT",
        ),
        ("USER_PIN_LOCKED", "user PIN locked", "CKR_PIN_INCORRECT"),
    ];
    for (i, (flag, tool_flag, answer)) in steps.iter().enumerate() {
        let o = login_list(&ock, "0000");
        assert!(!o.status.success());
        assert!(
            text(&o).contains(answer),
            "bad PIN #{}: {}",
            i + 1,
            text(&o)
        );
        let flags = ock.token_flags().unwrap();
        assert!(
            flags.iter().any(|f| f == flag),
            "after {} bad PIN(s): {flags:?}",
            i + 1
        );
        let tf = tool_flags(&ock);
        assert!(tf.contains(tool_flag), "after {} bad PIN(s): {tf}", i + 1);
    }
    // Locked: even the right PIN is refused now.
    let o = login_list(&ock, USER_PIN);
    assert!(!o.status.success());
    assert!(text(&o).contains("CKR_PIN_LOCKED"), "{}", text(&o));
    drop(ock);

    // A new acquire starts from a virgin token: unlocked, empty.
    let ock = acquire("paraphe-ock-after");
    let flags = ock.token_flags().unwrap();
    assert!(
        !flags
            .iter()
            .any(|f| f.starts_with("USER_PIN_") && f != "USER_PIN_INITIALIZED"),
        "{flags:?}"
    );
    let o = login_list(&ock, USER_PIN);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !text(&o).contains("Object"),
        "objects survived the reset: {}",
        text(&o)
    );
    assert!(tool_flags(&ock).contains("PIN initialized"));
    assert!(text(&out(ock.pkcs11_tool().arg("-T"))).contains("paraphe-ock-after"));
}

#[test]
fn one_good_login_clears_count_low() {
    if !tools() {
        return;
    }
    let ock = acquire("paraphe-ock-count");
    assert!(!login_list(&ock, "0000").status.success());
    assert!(
        ock.token_flags()
            .unwrap()
            .iter()
            .any(|f| f == "USER_PIN_COUNT_LOW")
    );
    assert!(login_list(&ock, USER_PIN).status.success());
    let flags = ock.token_flags().unwrap();
    assert!(
        !flags.iter().any(|f| f == "USER_PIN_COUNT_LOW"),
        "{flags:?}"
    );
}

#[test]
fn acquiring_twice_on_one_thread_is_an_error() {
    if !tools() {
        return;
    }
    let ock = acquire("paraphe-ock-twice");
    let err = Opencryptoki::acquire("paraphe-ock-again").unwrap_err();
    assert!(err.to_string().contains("already holds"), "{err}");
    drop(ock);
    let again = acquire("paraphe-ock-again");
    assert_eq!(again.label, "paraphe-ock-again");
    assert!(Opencryptoki::acquire(&"x".repeat(33)).is_err());
}
