//! Behaviours real cards have and soft tokens lack, through the fault-injecting proxy module
//! (pkcs11-mocks/proxy) in front of SoftHSM2: removal mid-batch, PIN lockout counting,
//! PIN per signature, and cards that only do raw CKM_RSA_PKCS.

mod common;

use common::*;
use paraphe::card::pin::{FixedPrompt, PinPrompt, PinRequest};
use paraphe::card::pkcs11::Module;
use paraphe::card::{CardError, HashAlg, Pin, SignatureScheme, Signer, sign_batch};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn ready() -> bool {
    tools(&["openssl", "softhsm2-util", "pkcs11-tool"])
}

/// The tests of this file, each with its own token: SoftHSM keeps one login state per token and
/// process, which the proxy copies would otherwise share.
const TESTS: [&str; 5] = ["removal", "lockout", "always", "rawonly", "pinpad"];

/// This test's SoftHSM token with the signature identity. All tokens are made at once, before
/// SoftHSM is initialised: it does not see tokens created later.
fn token(test: &str) -> String {
    static LABELS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        let hsm = SoftHsm::shared();
        TESTS
            .iter()
            .map(|name| {
                let label = unique_label(name);
                hsm.create_token(&label, USER_PIN).expect("token");
                hsm.import(&label, USER_PIN, TestPki::shared().identity("signature"))
                    .expect("import");
                ((*name).to_owned(), label)
            })
            .collect()
    });
    labels
        .iter()
        .find(|(name, _)| name == test)
        .map(|(_, label)| label.clone())
        .unwrap_or_else(|| panic!("no token for test {test}"))
}

/// The shared token seen through a fresh proxy instance configured with `behaviours`.
/// Returns (proxy module, token label, stats file).
fn proxied(dir: &Path, name: &str, behaviours: &str) -> (Module, String, std::path::PathBuf) {
    let label = token(name);
    let stats = dir.join(format!("{name}-stats.json"));
    let config = format!(
        "module = \"{}\"\nstats_file = \"{}\"\n{behaviours}\n",
        softhsm_module().display(),
        stats.display()
    );
    let so = proxy_copy(dir, name, &config);
    (Module::load(&so).expect("load proxy"), label, stats)
}

/// A prompt that records every request and answers with the given PINs in turn.
#[derive(Clone)]
struct Script(Arc<Mutex<(Vec<String>, Vec<PinRequest>)>>);

impl Script {
    fn new(pins: &[&str]) -> Self {
        Script(Arc::new(Mutex::new((
            pins.iter().rev().map(|s| (*s).to_owned()).collect(),
            Vec::new(),
        ))))
    }
    fn requests(&self) -> Vec<PinRequest> {
        self.0.lock().expect("lock").1.clone()
    }
}

impl PinPrompt for Script {
    fn ask(&mut self, request: &PinRequest) -> Result<Pin, CardError> {
        let mut guard = self.0.lock().expect("lock");
        guard.1.push(request.clone());
        guard.0.pop().map(Pin::from).ok_or(CardError::PinCancelled)
    }
}

#[test]
fn card_pulled_out_mid_batch_gives_a_clean_error_and_no_signature() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (module, label, stats) = proxied(dir.path(), "removal", "remove_after_ops = 20");
    let token = module.token(Some(&label)).expect("token");
    let id = TestPki::shared().identity("signature");
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new(USER_PIN)))
        .expect("open");
    let digests: Vec<Vec<u8>> = (0..50)
        .map(|i| HashAlg::Sha256.digest(format!("b{i}").as_bytes()))
        .collect();
    let mut progress = 0;
    let result = sign_batch(
        &mut key,
        SignatureScheme::RsaPkcs1(HashAlg::Sha256),
        &digests,
        &mut |p| progress = p.done,
        &|| false,
    );
    let err = result.expect_err("the card was removed after 20 signatures");
    assert!(matches!(err, CardError::TokenRemoved), "{err:?}");
    assert_eq!(progress, 20, "20 signatures made before the removal");
    let text = err.to_string();
    assert!(
        text.contains("retirée") && text.contains("rien n'a été enregistré"),
        "{text}"
    );
    let s = proxy_stats(&stats);
    assert_eq!(
        stat(&s, "C_SignInit"),
        21,
        "the 21st signature met the removed card"
    );
    // Two C_Sign per signature (length query, then the signature), none for the 21st.
    assert_eq!(stat(&s, "C_Sign"), 40);
    // The token is gone from the list too.
    assert!(matches!(
        module.token(Some(&label)),
        Err(CardError::TokenNotFound(_))
    ));
}

#[test]
fn wrong_pin_is_sent_once_and_lockout_sequence_is_reported() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (module, label, stats) = proxied(dir.path(), "lockout", "pin_lockout = true");
    let id = TestPki::shared().identity("signature");
    let token = module.token(Some(&label)).expect("token");

    // First wrong PIN: exactly one C_Login, error says nothing of the last try yet.
    let prompt = Script::new(&["0000", "9999"]);
    let err = module
        .open_key(&token, &id.cka_id, Box::new(prompt.clone()))
        .err()
        .expect("wrong pin");
    assert!(
        matches!(err, CardError::PinIncorrect { state } if state.count_low && !state.final_try),
        "{err:?}"
    );
    assert_eq!(
        prompt.requests().len(),
        1,
        "asked once, never retried with the second PIN"
    );
    assert_eq!(stat(&proxy_stats(&stats), "C_Login"), 1);

    // The user tries again: the prompt is told the count is low; the card is now on its final try.
    let prompt = Script::new(&["1111"]);
    let err = module
        .open_key(&token, &id.cka_id, Box::new(prompt.clone()))
        .err()
        .expect("wrong pin");
    assert!(prompt.requests()[0].state.count_low);
    assert!(
        matches!(err, CardError::PinIncorrect { state } if state.final_try),
        "{err:?}"
    );
    assert!(err.to_string().contains("un seul essai"), "{err}");
    assert_eq!(stat(&proxy_stats(&stats), "C_Login"), 2);

    // Third wrong PIN locks the card.
    let prompt = Script::new(&["2222"]);
    let err = module
        .open_key(&token, &id.cka_id, Box::new(prompt.clone()))
        .err()
        .expect("locked");
    assert!(
        prompt.requests()[0].state.final_try,
        "the prompt saw the final-try warning"
    );
    assert!(matches!(err, CardError::PinLocked), "{err:?}");
    assert_eq!(stat(&proxy_stats(&stats), "C_Login"), 3);

    // Locked: Paraphe does not even ask, and sends nothing to the card.
    let prompt = Script::new(&[USER_PIN]);
    let err = module
        .open_key(&token, &id.cka_id, Box::new(prompt.clone()))
        .err()
        .expect("still locked");
    assert!(matches!(err, CardError::PinLocked));
    assert!(err.to_string().contains("Contactez"), "{err}");
    assert!(prompt.requests().is_empty());
    assert_eq!(stat(&proxy_stats(&stats), "C_Login"), 3);
}

#[test]
fn key_with_always_authenticate_gets_a_pin_before_each_signature() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (module, label, stats) = proxied(dir.path(), "always", "always_authenticate = true");
    let id = TestPki::shared().identity("signature");
    let token = module.token(Some(&label)).expect("token");
    let prompt = Script::new(&[USER_PIN; 6]);
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(prompt.clone()))
        .expect("open");
    assert!(key.requires_pin_per_operation());
    let docs: Vec<Vec<u8>> = (0..5).map(|i| format!("mandat {i}").into_bytes()).collect();
    let digests: Vec<Vec<u8>> = docs.iter().map(|d| HashAlg::Sha256.digest(d)).collect();
    let sigs = sign_batch(
        &mut key,
        SignatureScheme::RsaPkcs1(HashAlg::Sha256),
        &digests,
        &mut |_| {},
        &|| false,
    )
    .expect("batch with PIN per signature");
    let s = proxy_stats(&stats);
    assert_eq!(stat(&s, "C_Login_user"), 1, "one login for the batch");
    assert_eq!(
        stat(&s, "C_Login_context_specific"),
        5,
        "one context login per signature"
    );
    let purposes: Vec<_> = prompt.requests().iter().map(|r| r.purpose).collect();
    assert_eq!(purposes.len(), 6);
    let tmp = tempfile::tempdir().expect("tmp");
    let pubkey = public_key_pem(tmp.path(), &id.cert_pem);
    for (doc, sig) in docs.iter().zip(&sigs) {
        assert!(openssl_verifies(
            tmp.path(),
            &pubkey,
            "sha256",
            Padding::Pkcs1,
            doc,
            sig
        ));
    }
    // Giving up at the prompt for the next signature stops the batch, nothing signed.
    let mut key2 = module
        .open_key(&token, &id.cka_id, Box::new(Script::new(&[USER_PIN])))
        .expect("open");
    let err = key2
        .sign(SignatureScheme::RsaPkcs1(HashAlg::Sha256), b"x")
        .expect_err("no PIN for the signature");
    assert!(matches!(err, CardError::PinCancelled));
}

#[test]
fn card_without_on_card_hashing_signs_through_digest_info() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (module, label, _stats) = proxied(
        dir.path(),
        "rawonly",
        "only_mechanisms = [\"CKM_RSA_PKCS\"]",
    );
    let id = TestPki::shared().identity("signature");
    let token = module.token(Some(&label)).expect("token");
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new(USER_PIN)))
        .expect("open");
    let tmp = tempfile::tempdir().expect("tmp");
    let pubkey = public_key_pem(tmp.path(), &id.cert_pem);
    for (hash, name) in [
        (HashAlg::Sha1, "sha1"),
        (HashAlg::Sha256, "sha256"),
        (HashAlg::Sha512, "sha512"),
    ] {
        let sig = key
            .sign(SignatureScheme::RsaPkcs1(hash), b"PES")
            .expect("raw RSA signature");
        assert!(
            openssl_verifies(tmp.path(), &pubkey, name, Padding::Pkcs1, b"PES", &sig),
            "{name}"
        );
    }
    let err = key
        .sign(SignatureScheme::RsaPss(HashAlg::Sha256), b"PES")
        .expect_err("PSS hidden");
    assert!(
        matches!(err, CardError::MechanismNotSupported(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("ne sait pas faire"), "{err}");
}

#[test]
fn pin_pad_reader_is_never_asked_for_a_pin() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (module, label, stats) = proxied(
        dir.path(),
        "pinpad",
        &format!("pinpad_pin = \"{USER_PIN}\"\nalways_authenticate = true"),
    );
    let id = TestPki::shared().identity("signature");
    let token = module.token(Some(&label)).expect("token");
    assert!(
        token.pin.pin_pad,
        "the token reports a protected authentication path"
    );
    let prompt = Script::new(&[]);
    let mut key = module
        .open_key(&token, &id.cka_id, Box::new(prompt.clone()))
        .expect("login on the pad");
    let sig = key
        .sign(
            SignatureScheme::RsaPkcs1(HashAlg::Sha256),
            b"pave numerique",
        )
        .expect("signature with the PIN typed on the pad");
    assert!(
        prompt.requests().is_empty(),
        "Paraphe never asked for the PIN itself"
    );
    let s = proxy_stats(&stats);
    assert_eq!(
        stat(&s, "C_Login_pinpad"),
        2,
        "user login + context-specific login, both on the pad"
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let pubkey = public_key_pem(tmp.path(), &id.cert_pem);
    assert!(openssl_verifies(
        tmp.path(),
        &pubkey,
        "sha256",
        Padding::Pkcs1,
        b"pave numerique",
        &sig
    ));
}
