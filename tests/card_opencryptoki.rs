//! The card layer against opencryptoki's soft token: a second real PKCS#11 implementation, and the
//! one that really locks a PIN (COUNT_LOW → FINAL_TRY → LOCKED).

mod common;

use common::*;
use paraphe::card::pin::FixedPrompt;
use paraphe::card::pkcs11::Module;
use paraphe::card::{CardError, HashAlg, SignatureScheme, Signer};

fn ready() -> bool {
    tools(&["openssl", "pkcs11-tool", "pkcsconf", "pkcsslotd"])
}

#[test]
fn opencryptoki_signs_then_walks_the_real_lockout_sequence() {
    if !ready() {
        return;
    }
    let label = unique_label("ock");
    let ock = Opencryptoki::acquire(&label).expect("opencryptoki token");
    let pki = TestPki::shared();
    let id = pki.identity("signature");
    ock.import(USER_PIN, id).expect("import");
    let module = Module::load(&opencryptoki_module()).expect("load opencryptoki");
    let token = module.token(Some(&ock.label)).expect("token by label");
    assert!(!token.pin.locked);

    let certs = module.certificates(&token).expect("certificates");
    assert!(certs.iter().any(|c| c.cka_id == id.cka_id));
    {
        let mut key = module
            .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new(USER_PIN)))
            .expect("open");
        let dir = tempfile::tempdir().expect("tmp");
        let pubkey = public_key_pem(dir.path(), &id.cert_pem);
        for (scheme, name, padding) in [
            (
                SignatureScheme::RsaPkcs1(HashAlg::Sha256),
                "sha256",
                Padding::Pkcs1,
            ),
            (
                SignatureScheme::RsaPkcs1(HashAlg::Sha1),
                "sha1",
                Padding::Pkcs1,
            ),
            (
                SignatureScheme::RsaPss(HashAlg::Sha256),
                "sha256",
                Padding::Pss,
            ),
        ] {
            let sig = key.sign(scheme, b"titre de recette").expect("sign");
            assert!(
                openssl_verifies(
                    dir.path(),
                    &pubkey,
                    name,
                    padding,
                    b"titre de recette",
                    &sig
                ),
                "{scheme:?}"
            );
        }
    }

    // The real lockout: each wrong PIN is sent once; the flags move as the token says.
    let mut prompt_counts = Vec::new();
    for (attempt, expected) in ["count_low", "final_try", "locked"].iter().enumerate() {
        let err = module
            .open_key(&token, &id.cka_id, Box::new(FixedPrompt::new("00000000")))
            .err()
            .unwrap_or_else(|| panic!("attempt {attempt} must fail"));
        match (*expected, &err) {
            ("count_low", CardError::PinIncorrect { state }) => {
                assert!(state.count_low && !state.final_try, "{state:?}")
            }
            ("final_try", CardError::PinIncorrect { state }) => {
                assert!(state.final_try, "{state:?}")
            }
            ("locked", CardError::PinLocked) => {}
            _ => panic!("attempt {attempt}: expected {expected}, got {err:?}"),
        }
        prompt_counts.push(module.pin_state(&token).expect("state"));
    }
    assert!(prompt_counts[2].locked);
    // Locked: refused before any PIN is asked, even the right one.
    let prompt = FixedPrompt::new(USER_PIN);
    let err = module
        .open_key(&token, &id.cka_id, Box::new(prompt))
        .err()
        .expect("locked");
    assert!(matches!(err, CardError::PinLocked));
    drop(ock);
}
