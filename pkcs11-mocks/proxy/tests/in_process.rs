//! The proxy driven in-process by the Rust `cryptoki` crate, as Paraphe itself uses it.
//!
//! SoftHSM reads `SOFTHSM2_CONF` once per process and the proxies never finalise it, so this
//! binary holds a single test that runs the scenarios one after the other. Each scenario loads
//! its own copy of the proxy, configured by the `.toml` next to the copy.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{PIN, SOFTHSM, Token, proxy_so};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

const DATA: &[u8] = b"Deliberation n. 2024-042";

/// Copies the proxy to `<dir>/<name>.so` with `<name>.so.toml` beside it, loads and
/// initialises it.
fn load_copy(dir: &Path, name: &str, extra_conf: &str) -> (Pkcs11, PathBuf) {
    let so = dir.join(format!("{name}.so"));
    std::fs::copy(proxy_so(), &so).unwrap();
    let stats = dir.join(format!("{name}-stats.json"));
    std::fs::write(
        dir.join(format!("{name}.so.toml")),
        format!(
            "module = \"{SOFTHSM}\"\nstats_file = \"{}\"\n{extra_conf}\n",
            stats.display()
        ),
    )
    .unwrap();
    let p11 = Pkcs11::new(&so).unwrap();
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    (p11, stats)
}

fn stat(stats: &Path, key: &str) -> u64 {
    let map: std::collections::BTreeMap<String, u64> =
        serde_json::from_slice(&std::fs::read(stats).unwrap()).unwrap();
    map.get(key).copied().unwrap_or(0)
}

fn pin(text: &str) -> AuthPin {
    AuthPin::from(text)
}

fn rv(result: Result<impl std::fmt::Debug, Error>) -> RvError {
    match result {
        Err(Error::Pkcs11(rv, _)) => rv,
        other => panic!("expected a PKCS#11 error, got {other:?}"),
    }
}

/// A logged-in session on `slot` (tolerating a login already made by another proxy copy
/// sharing the same SoftHSM) and the private and public keys.
fn user_session(p11: &Pkcs11, slot: Slot) -> (Session, ObjectHandle, ObjectHandle) {
    let session = p11.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&pin(PIN))) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("login: {e}"),
    }
    let find = |class| {
        session
            .find_objects(&[Attribute::Class(class), Attribute::Id(vec![1])])
            .unwrap()[0]
    };
    let private = find(ObjectClass::PRIVATE_KEY);
    let public = find(ObjectClass::PUBLIC_KEY);
    (session, private, public)
}

#[test]
fn in_process_scenarios() {
    let token = Token::new();
    // SAFETY: this is the only test of this binary, so no other thread reads the environment
    // concurrently; SoftHSM reads SOFTHSM2_CONF when first initialised, below.
    unsafe {
        std::env::set_var("SOFTHSM2_CONF", &token.softhsm_conf);
        // The copies must find their configuration beside them.
        std::env::remove_var("PARAPHE_P11_PROXY_CONF");
    }
    let slot_id = token.slot;
    let dir = token.dir.path();

    two_independent_copies_and_removal(dir, slot_id);
    always_authenticate(dir);
    pin_lockout_in_memory(dir);
    mechanisms_and_latency(dir);
    invalid_configuration(dir);
}

/// Two proxies over one SoftHSM in one process: the second real `C_Initialize` answers
/// "already initialised", `C_Finalize` of one leaves the other working, and removing the token
/// in one does not remove it in the other.
fn two_independent_copies_and_removal(dir: &Path, slot_id: u64) {
    let (plain, plain_stats) = load_copy(dir, "plain", "");
    let (removing, _) = load_copy(dir, "removing", "remove_after_ops = 2");
    let info = plain.get_library_info().unwrap();
    assert_eq!(info.library_description(), "Paraphe test proxy");

    let slot = *removing
        .get_slots_with_token()
        .unwrap()
        .iter()
        .find(|s| s.id() == slot_id)
        .expect("token present before any operation");
    let (session, private, _) = user_session(&removing, slot);
    let (plain_session, plain_private, _) = user_session(&plain, slot);

    for _ in 0..2 {
        session
            .sign(&Mechanism::Sha256RsaPkcs, private, DATA)
            .unwrap();
    }
    // The third signature: the card is gone.
    assert_eq!(
        rv(session.sign(&Mechanism::Sha256RsaPkcs, private, DATA)),
        RvError::DeviceRemoved
    );
    assert_eq!(rv(session.get_session_info()), RvError::DeviceRemoved);
    assert!(!removing.get_slots_with_token().unwrap().contains(&slot));
    assert!(removing.get_all_slots().unwrap().contains(&slot));
    assert!(!removing.get_slot_info(slot).unwrap().token_present());
    assert_eq!(rv(removing.get_token_info(slot)), RvError::TokenNotPresent);
    assert_eq!(rv(removing.open_ro_session(slot)), RvError::TokenNotPresent);
    assert_eq!(removing.get_slot_event().unwrap(), Some(slot));
    // Closing what is left must still work.
    session.close().unwrap();

    // The other proxy still sees the token and signs.
    assert!(plain.get_slots_with_token().unwrap().contains(&slot));
    plain_session
        .sign(&Mechanism::Sha256RsaPkcs, plain_private, DATA)
        .unwrap();

    // Finalising one proxy does not finalise SoftHSM under the other.
    removing.finalize().unwrap();
    plain_session
        .sign(&Mechanism::Sha256RsaPkcs, plain_private, DATA)
        .unwrap();
    assert_eq!(
        stat(&plain_stats, "C_Sign"),
        2 * 2,
        "size query + signature, twice"
    );

    // Without a state file, a new initialisation starts with the card back in.
    let (again, _) = load_copy(dir, "removing", "remove_after_ops = 2");
    assert!(again.get_slots_with_token().unwrap().contains(&slot));
    again.finalize().unwrap();

    drop(plain_session);
    plain.finalize().unwrap();
}

fn always_authenticate(dir: &Path) {
    let (p11, stats) = load_copy(dir, "always", "always_authenticate = true");
    let slot = p11.get_slots_with_token().unwrap()[0];
    let (session, private, public) = user_session(&p11, slot);

    let attrs = session
        .get_attributes(private, &[AttributeType::AlwaysAuthenticate])
        .unwrap();
    assert_eq!(attrs, vec![Attribute::AlwaysAuthenticate(true)]);

    // No context-specific login: refused, and the operation is over (a new C_SignInit works).
    assert_eq!(
        rv(session.sign(&Mechanism::Sha256RsaPkcs, private, DATA)),
        RvError::UserNotLoggedIn
    );

    session
        .sign_init(&Mechanism::Sha256RsaPkcs, private)
        .unwrap();
    assert_eq!(
        rv(session.login(UserType::ContextSpecific, Some(&pin("0000")))),
        RvError::PinIncorrect
    );
    session
        .login(UserType::ContextSpecific, Some(&pin(PIN)))
        .unwrap();
    session.sign_update(DATA).unwrap();
    let signature = session.sign_final().unwrap();
    session
        .verify(&Mechanism::Sha256RsaPkcs, public, DATA, &signature)
        .unwrap();

    // The login covered one signature only.
    session
        .sign_init(&Mechanism::Sha256RsaPkcs, private)
        .unwrap();
    assert_eq!(rv(session.sign_update(DATA)), RvError::UserNotLoggedIn);

    assert_eq!(stat(&stats, "C_Login_context_specific"), 2);
    assert_eq!(stat(&stats, "C_Login_user"), 1);
    assert_eq!(stat(&stats, "C_Login"), 3);
    drop(session);
    p11.finalize().unwrap();
}

fn pin_lockout_in_memory(dir: &Path) {
    let (p11, _) = load_copy(dir, "lockout", "pin_lockout = true");
    let slot = p11.get_slots_with_token().unwrap()[0];
    let session = p11.open_ro_session(slot).unwrap();
    let flags = |p11: &Pkcs11| {
        let info = p11.get_token_info(slot).unwrap();
        (
            info.user_pin_count_low(),
            info.user_pin_final_try(),
            info.user_pin_locked(),
        )
    };
    assert_eq!(flags(&p11), (false, false, false));
    let wrong = || rv(session.login(UserType::User, Some(&pin("0000"))));
    assert_eq!(wrong(), RvError::PinIncorrect);
    assert_eq!(flags(&p11), (true, false, false));
    // A success resets the counter.
    session.login(UserType::User, Some(&pin(PIN))).unwrap();
    session.logout().unwrap();
    assert_eq!(flags(&p11), (false, false, false));

    assert_eq!(wrong(), RvError::PinIncorrect);
    assert_eq!(wrong(), RvError::PinIncorrect);
    assert_eq!(flags(&p11), (true, true, false));
    assert_eq!(wrong(), RvError::PinIncorrect);
    assert_eq!(flags(&p11), (false, false, true));
    assert_eq!(
        rv(session.login(UserType::User, Some(&pin(PIN)))),
        RvError::PinLocked
    );
    drop(session);
    p11.finalize().unwrap();

    // In memory only (no state_file): a new initialisation has a fresh counter.
    let (p11, _) = load_copy(dir, "lockout", "pin_lockout = true");
    let session = p11.open_ro_session(slot).unwrap();
    session.login(UserType::User, Some(&pin(PIN))).unwrap();
    drop(session);
    p11.finalize().unwrap();
}

fn mechanisms_and_latency(dir: &Path) {
    let (p11, _) = load_copy(
        dir,
        "restricted",
        "only_mechanisms = [\"CKM_RSA_PKCS\"]\nlatency_ms = 100",
    );
    let start = Instant::now();
    let slot = p11.get_slots_with_token().unwrap()[0];
    assert!(start.elapsed() >= Duration::from_millis(100));

    assert_eq!(
        p11.get_mechanism_list(slot).unwrap(),
        vec![MechanismType::RSA_PKCS]
    );
    assert_eq!(
        rv(p11.get_mechanism_info(slot, MechanismType::SHA256_RSA_PKCS)),
        RvError::MechanismInvalid
    );
    p11.get_mechanism_info(slot, MechanismType::RSA_PKCS)
        .unwrap();

    let (session, private, _) = user_session(&p11, slot);
    assert_eq!(
        rv(session.sign(&Mechanism::Sha256RsaPkcs, private, DATA)),
        RvError::MechanismInvalid
    );
    assert_eq!(
        session
            .sign(&Mechanism::RsaPkcs, private, DATA)
            .unwrap()
            .len(),
        256
    );
    drop(session);
    p11.finalize().unwrap();
}

fn invalid_configuration(dir: &Path) {
    let so = dir.join("broken.so");
    std::fs::copy(proxy_so(), &so).unwrap();
    std::fs::write(dir.join("broken.so.toml"), "module = 42\n").unwrap();
    let p11 = Pkcs11::new(&so).unwrap();
    assert_eq!(
        rv(p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))),
        RvError::GeneralError
    );
    // Not initialised: calls are refused cleanly.
    assert_eq!(rv(p11.get_all_slots()), RvError::CryptokiNotInitialized);
}
