//! The card layer against a real PKCS#11 module (SoftHSM2): listing, roles, signing with every
//! scheme and hash, decrypting, all checked with the openssl command line.

mod common;

use common::*;
use paraphe::card::inventory::pick_for_role;
use paraphe::card::pin::FixedPrompt;
use paraphe::card::pkcs11::Module;
use paraphe::card::software::SoftwareKey;
use paraphe::card::{
    CardError, DecryptScheme, Decrypter, HashAlg, SignatureScheme, Signer, sign_batch,
};
use paraphe::certs::{Role, ValidityState};
use std::process::Command;

const ALL_IDENTITIES: &[&str] = &[
    "signature",
    "authentification",
    "chiffrement",
    "expire",
    "pas-encore-valide",
    "bientot-expire",
    "mauvais-usage",
    "ecdsa-p256",
    "double-usage",
    "qualifie",
];

/// The label of this process's SoftHSM token holding every test identity. SoftHSM only sees the
/// tokens that exist when it is initialised, so the token is made once, before any test loads it.
fn token() -> String {
    static LABEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LABEL
        .get_or_init(|| {
            let hsm = SoftHsm::shared();
            let pki = TestPki::shared();
            let label = unique_label("carte");
            hsm.create_token(&label, USER_PIN).expect("create token");
            for name in ALL_IDENTITIES {
                hsm.import(&label, USER_PIN, pki.identity(name))
                    .expect("import");
            }
            label
        })
        .clone()
}

fn ready() -> bool {
    tools(&["openssl", "softhsm2-util", "pkcs11-tool"])
}

#[test]
fn lists_certificates_with_roles_qualification_and_validity() {
    if !ready() {
        return;
    }
    let label = token();
    let module = Module::load(&softhsm_module()).expect("load softhsm");
    let token = module.token(Some(&label)).expect("token");
    assert!(!token.pin.locked && !token.pin.count_low);
    let certs = module.certificates(&token).expect("certificates");
    assert_eq!(certs.len(), ALL_IDENTITIES.len());
    let pki = TestPki::shared();
    let roles_of = |name: &str| {
        let id = &pki.identity(name).cka_id;
        certs
            .iter()
            .find(|c| &c.cka_id == id)
            .unwrap_or_else(|| panic!("{name} not listed"))
            .info
            .clone()
    };
    assert_eq!(roles_of("signature").roles, vec![Role::Signature]);
    assert_eq!(
        roles_of("authentification").roles,
        vec![Role::Authentification]
    );
    assert_eq!(roles_of("chiffrement").roles, vec![Role::Chiffrement]);
    assert_eq!(
        roles_of("double-usage").roles,
        vec![Role::Signature, Role::Authentification, Role::Chiffrement]
    );
    assert!(roles_of("mauvais-usage").roles.is_empty());
    assert_eq!(
        roles_of("ecdsa-p256").roles,
        vec![Role::Signature, Role::Authentification]
    );
    let qualified = roles_of("qualifie");
    assert!(qualified.is_qualified());
    let qc = qualified.qc_statements.expect("qc statements");
    assert!(qc.sscd);
    assert_eq!(qc.types, vec!["esign".to_owned()]);
    assert!(!roles_of("signature").is_qualified());
    assert_eq!(roles_of("expire").validity_now(), ValidityState::Expire);
    assert_eq!(
        roles_of("pas-encore-valide").validity_now(),
        ValidityState::PasEncoreValide
    );
    assert!(matches!(
        roles_of("bientot-expire").validity_now(),
        ValidityState::ExpireBientot { jours } if (28..=30).contains(&jours)
    ));
    assert_eq!(roles_of("signature").validity_now(), ValidityState::Valide);

    // Automatic choice per role: the qualified one, then the dedicated key over the dual-use one,
    // never an expired one.
    let sig = pick_for_role(&certs, Role::Signature, None).expect("a signature key");
    assert_eq!(sig.cka_id, pki.identity("qualifie").cka_id);
    let without_qualified: Vec<_> = certs
        .iter()
        .filter(|c| c.cka_id != pki.identity("qualifie").cka_id)
        .cloned()
        .collect();
    let sig = pick_for_role(&without_qualified, Role::Signature, None).expect("a signature key");
    assert_eq!(sig.cka_id, pki.identity("signature").cka_id);
    let enc = pick_for_role(&certs, Role::Chiffrement, None).expect("an encryption key");
    assert_eq!(enc.cka_id, pki.identity("chiffrement").cka_id);
    let chosen = pick_for_role(
        &certs,
        Role::Signature,
        Some(&pki.identity("double-usage").cka_id),
    );
    assert_eq!(
        chosen.map(|c| c.cka_id.clone()),
        Some(pki.identity("double-usage").cka_id.clone())
    );
}

#[test]
fn rsa_signatures_verify_with_openssl_for_every_hash_and_padding() {
    if !ready() {
        return;
    }
    let label = token();
    let pki = TestPki::shared();
    let id = pki.identity("signature");
    let module = Module::load(&softhsm_module()).expect("load");
    let token = module.token(Some(&label)).expect("token");
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new(USER_PIN)))
        .expect("open key");
    assert_eq!(
        Signer::certificate_der(&key),
        std::fs::read(&id.cert_der).expect("der").as_slice()
    );
    let dir = tempfile::tempdir().expect("tmp");
    let pubkey = public_key_pem(dir.path(), &id.cert_pem);
    let data = "Bordereau n°42 — mandats de novembre".as_bytes();
    for (hash, name) in [
        (HashAlg::Sha1, "sha1"),
        (HashAlg::Sha256, "sha256"),
        (HashAlg::Sha384, "sha384"),
        (HashAlg::Sha512, "sha512"),
    ] {
        let sig = key
            .sign(SignatureScheme::RsaPkcs1(hash), data)
            .expect("sign pkcs1");
        assert!(
            openssl_verifies(dir.path(), &pubkey, name, Padding::Pkcs1, data, &sig),
            "PKCS#1 {name}"
        );
        assert!(
            !openssl_verifies(
                dir.path(),
                &pubkey,
                name,
                Padding::Pkcs1,
                b"autre chose",
                &sig
            ),
            "openssl must reject the signature over other data"
        );
        let sig = key
            .sign(SignatureScheme::RsaPss(hash), data)
            .expect("sign pss");
        assert!(
            openssl_verifies(dir.path(), &pubkey, name, Padding::Pss, data, &sig),
            "PSS {name}"
        );
    }
    // A digest of the wrong length is refused before reaching the card.
    let err = key
        .sign_digest(SignatureScheme::RsaPkcs1(HashAlg::Sha256), &[0u8; 20])
        .expect_err("wrong length");
    assert!(matches!(err, CardError::InvalidInput(_)));
}

#[test]
fn ecdsa_signature_is_der_and_verifies() {
    if !ready() {
        return;
    }
    let label = token();
    let id = TestPki::shared().identity("ecdsa-p256");
    let module = Module::load(&softhsm_module()).expect("load");
    let token = module.token(Some(&label)).expect("token");
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new(USER_PIN)))
        .expect("open");
    let dir = tempfile::tempdir().expect("tmp");
    let pubkey = public_key_pem(dir.path(), &id.cert_pem);
    let data = b"PES_Aller";
    let scheme = key.default_scheme(HashAlg::Sha256);
    assert_eq!(scheme, SignatureScheme::Ecdsa(HashAlg::Sha256));
    let sig = key.sign(scheme, data).expect("sign");
    assert_eq!(sig[0], 0x30, "DER SEQUENCE");
    assert!(openssl_verifies(
        dir.path(),
        &pubkey,
        "sha256",
        Padding::Ecdsa,
        data,
        &sig
    ));
    let err = key
        .sign(SignatureScheme::RsaPkcs1(HashAlg::Sha256), data)
        .expect_err("RSA scheme on an EC key");
    assert!(matches!(err, CardError::InvalidInput(_)));
}

#[test]
fn decrypts_pkcs1_and_oaep_made_by_openssl() {
    if !ready() {
        return;
    }
    let label = token();
    let id = TestPki::shared().identity("chiffrement");
    let module = Module::load(&softhsm_module()).expect("load");
    let token = module.token(Some(&label)).expect("token");
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new(USER_PIN)))
        .expect("open");
    let dir = tempfile::tempdir().expect("tmp");
    let pubkey = public_key_pem(dir.path(), &id.cert_pem);
    let secret = b"cle de contenu AES-256 0123456789abcdef";
    let ct = openssl_encrypt(dir.path(), &pubkey, secret, None);
    assert_eq!(
        key.decrypt(DecryptScheme::RsaPkcs1, &ct)
            .expect("pkcs1")
            .as_slice(),
        secret
    );
    // SoftHSM implements OAEP with SHA-1 only.
    let ct = openssl_encrypt(dir.path(), &pubkey, secret, Some("sha1"));
    assert_eq!(
        key.decrypt(DecryptScheme::RsaOaep(HashAlg::Sha1), &ct)
            .expect("oaep")
            .as_slice(),
        secret
    );
}

#[test]
fn missing_key_and_unknown_token_are_french_errors() {
    if !ready() {
        return;
    }
    let label = token();
    let module = Module::load(&softhsm_module()).expect("load");
    let token = module.token(Some(&label)).expect("token");
    let err = module
        .open_key(&token, &[0xde, 0xad], Box::new(FixedPrompt::new(USER_PIN)))
        .err()
        .expect("no such certificate");
    assert!(matches!(err, CardError::CertificateNotFound { .. }));
    assert!(err.to_string().contains("dead"), "{err}");
    let err = module.token(Some("ABSENTE")).expect_err("absent token");
    assert!(err.to_string().contains("« ABSENTE »"), "{err}");
    let err = Module::load(std::path::Path::new("/nulle/part/pilote.so"))
        .err()
        .expect("missing");
    assert!(err.to_string().contains("introuvable"), "{err}");
}

#[test]
fn batch_signs_fifty_digests_with_one_login() {
    if !ready() {
        return;
    }
    let label = token();
    let id = TestPki::shared().identity("signature");
    let module = Module::load(&softhsm_module()).expect("load");
    let token = module.token(Some(&label)).expect("token");
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new(USER_PIN)))
        .expect("open");
    let docs: Vec<Vec<u8>> = (0..50)
        .map(|i| format!("bordereau {i}").into_bytes())
        .collect();
    let digests: Vec<Vec<u8>> = docs.iter().map(|d| HashAlg::Sha256.digest(d)).collect();
    let mut seen = Vec::new();
    let sigs = sign_batch(
        &mut key,
        SignatureScheme::RsaPkcs1(HashAlg::Sha256),
        &digests,
        &mut |p| seen.push(p.done),
        &|| false,
    )
    .expect("batch");
    assert_eq!(seen, (1..=50).collect::<Vec<_>>());
    let dir = tempfile::tempdir().expect("tmp");
    let pubkey = public_key_pem(dir.path(), &id.cert_pem);
    for i in [0usize, 17, 49] {
        assert!(openssl_verifies(
            dir.path(),
            &pubkey,
            "sha256",
            Padding::Pkcs1,
            &docs[i],
            &sigs[i]
        ));
    }
    let cancelled = sign_batch(
        &mut key,
        SignatureScheme::RsaPkcs1(HashAlg::Sha256),
        &digests,
        &mut |_| {},
        &|| true,
    );
    assert!(matches!(cancelled, Err(CardError::Cancelled)));
}

#[test]
fn pkcs12_software_key_signs_and_decrypts_like_a_card() {
    if !tools(&["openssl"]) {
        return;
    }
    let pki = TestPki::shared();
    let dir = tempfile::tempdir().expect("tmp");
    for (name, p12) in [
        ("signature", pki.identity("signature").p12.clone()),
        (
            "signature (legacy)",
            pki.identity("signature").p12_legacy.clone(),
        ),
    ] {
        let mut prompt = FixedPrompt::new(P12_PASSWORD);
        let mut key =
            SoftwareKey::open(&p12, &mut prompt).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(prompt.asked, 1);
        assert_eq!(
            key.chain_der().len(),
            2,
            "{name}: chain carried in the file"
        );
        let pubkey = public_key_pem(dir.path(), &pki.identity("signature").cert_pem);
        let sig = key
            .sign(SignatureScheme::RsaPkcs1(HashAlg::Sha256), b"acte")
            .expect("sign");
        assert!(
            openssl_verifies(dir.path(), &pubkey, "sha256", Padding::Pkcs1, b"acte", &sig),
            "{name}"
        );
        let sig = key
            .sign(SignatureScheme::RsaPss(HashAlg::Sha512), b"acte")
            .expect("pss");
        assert!(
            openssl_verifies(dir.path(), &pubkey, "sha512", Padding::Pss, b"acte", &sig),
            "{name}"
        );
    }
    let ec = pki.identity("ecdsa-p256");
    let mut key = SoftwareKey::open(&ec.p12, &mut FixedPrompt::new(P12_PASSWORD)).expect("ec p12");
    let pubkey = public_key_pem(dir.path(), &ec.cert_pem);
    let sig = key
        .sign(SignatureScheme::Ecdsa(HashAlg::Sha384), b"titre")
        .expect("ecdsa");
    assert!(openssl_verifies(
        dir.path(),
        &pubkey,
        "sha384",
        Padding::Ecdsa,
        b"titre",
        &sig
    ));

    let enc = pki.identity("chiffrement");
    let mut key =
        SoftwareKey::open(&enc.p12, &mut FixedPrompt::new(P12_PASSWORD)).expect("enc p12");
    let pubkey = public_key_pem(dir.path(), &enc.cert_pem);
    let ct = openssl_encrypt(dir.path(), &pubkey, b"secret", Some("sha256"));
    assert_eq!(
        key.decrypt(DecryptScheme::RsaOaep(HashAlg::Sha256), &ct)
            .expect("oaep")
            .as_slice(),
        b"secret"
    );

    let err = SoftwareKey::open(&enc.p12, &mut FixedPrompt::new("mauvais"))
        .err()
        .expect("bad password");
    assert!(matches!(err, CardError::WrongPassword));
    assert!(err.to_string().contains("Mot de passe"), "{err}");
    let not_p12 = dir.path().join("faux.p12");
    std::fs::write(&not_p12, b"%PDF-1.7 pas un certificat").expect("write");
    let err = SoftwareKey::open(&not_p12, &mut FixedPrompt::new("x"))
        .err()
        .expect("not a p12");
    assert!(matches!(err, CardError::SoftwareFile { .. }), "{err:?}");
    let big = dir.path().join("gros.p12");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(50 * 1024 * 1024))
        .expect("sparse file");
    let mut prompt = FixedPrompt::new("x");
    let err = SoftwareKey::open(&big, &mut prompt).err().expect("too big");
    assert!(matches!(err, CardError::SoftwareFileTooBig { .. }));
    assert_eq!(
        prompt.asked, 0,
        "no password asked for a file refused by size"
    );
}

#[test]
fn cartes_json_lists_the_token_as_openssl_sees_the_certificates() {
    if !ready() {
        return;
    }
    let label = token();
    let hsm = SoftHsm::shared();
    let cfg = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["cartes", "--json", "--module"])
        .arg(softhsm_module())
        .envs(hsm.env())
        .env("PARAPHE_CONFIG", cfg.path().join("absent.toml"))
        .env("PARAPHE_DONNEES", cfg.path())
        .output()
        .expect("run paraphe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let token = doc["jetons"]
        .as_array()
        .expect("jetons")
        .iter()
        .find(|t| t["label"] == label.as_str())
        .expect("our token listed");
    assert_eq!(token["pin_bloque"], false);
    assert_eq!(token["pin_compteur_bas"], false);
    assert_eq!(token["pin_dernier_essai"], false);
    let certs = token["certificats"].as_array().expect("certificats");
    assert_eq!(certs.len(), ALL_IDENTITIES.len());
    let pki = TestPki::shared();
    for (name, role) in [
        ("signature", "signature"),
        ("authentification", "authentification"),
        ("chiffrement", "chiffrement"),
    ] {
        let id = pki.identity(name);
        let c = certs
            .iter()
            .find(|c| c["cka_id"] == hex::encode(&id.cka_id).as_str())
            .unwrap_or_else(|| panic!("{name} by cka_id"));
        assert_eq!(c["roles"], serde_json::json!([role]));
        // Cross-check dates and names with openssl's own reading of the certificate.
        let end = Command::new("openssl")
            .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
            .arg(&id.cert_pem)
            .output()
            .expect("openssl");
        let end = String::from_utf8_lossy(&end.stdout);
        // "notAfter=2028-11-27 17:00:00Z" → "2028-11-27T17:00:00Z"
        let expected = end
            .trim()
            .trim_start_matches("notAfter=")
            .replacen(' ', "T", 1);
        assert_eq!(c["fin_validite"], expected.as_str(), "{name}");
        let subject = Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-nameopt",
                "utf8,sep_comma_plus_space,-esc_msb",
                "-in",
            ])
            .arg(&id.cert_pem)
            .output()
            .expect("openssl");
        let subject = String::from_utf8_lossy(&subject.stdout);
        let cn = subject
            .split("CN=")
            .nth(1)
            .map(|s| s.split(", ").next().unwrap_or("").trim().to_owned());
        let cn = cn.expect("CN in subject");
        assert!(
            c["sujet"].as_str().expect("sujet").contains(&cn),
            "{} vs {cn}",
            c["sujet"]
        );
        assert!(
            c["emetteur"]
                .as_str()
                .expect("emetteur")
                .contains("TEST ONLY")
        );
    }
}
