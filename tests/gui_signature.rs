//! The Hélios signature panel and a card whose PIN counter runs down (SoftHSM2 behind the
//! fault-injecting proxy, which counts tries as real cards do): before each PIN is typed the
//! panel says what the card says — tries already lost, the last try, locked — a wrong PIN is
//! sent once and never again by itself, and a locked card cannot be asked to sign.
#![cfg(feature = "gui")]

mod common;
mod gui_support;

use common::pes::{HEAD, bordereau};
use common::{proxy_copy, proxy_stats, stat};
use gui_support::{helios_with, settle, shows, try_click};
use paraphe::gui::screen::helios;
use paraphe::gui::screen::signature::Message as Sig;
use paraphe::messages::{t, tf};
use pkcs11_mocks::{SoftHsm, TestPki, USER_PIN, softhsm_module, unique_label};

/// Type `pin` in the panel and press « Signer »; false when the button cannot be pressed.
fn sign_with(state: &mut helios::State, pin: &str) -> bool {
    settle(state, helios::Message::Signature(Sig::Pin(pin.into())));
    try_click(state, &t("gui.signer"))
}

#[test]
fn the_panel_warns_of_tries_left_and_a_locked_card_cannot_sign() {
    if !common::tools(&["softhsm2-util", "pkcs11-tool", "openssl"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let hsm = SoftHsm::shared();
    let label = unique_label("compteur");
    hsm.create_token(&label, USER_PIN).expect("token");
    let pki = TestPki::shared();
    hsm.import(&label, USER_PIN, pki.identity("signature"))
        .expect("import");
    let stats = dir.path().join("stats.json");
    let module = proxy_copy(
        dir.path(),
        "compteur",
        &format!(
            "module = \"{}\"\nstats_file = \"{}\"\npin_lockout = true\n",
            softhsm_module().display(),
            stats.display()
        ),
    );
    let config = dir.path().join("paraphe.toml");
    std::fs::write(
        &config,
        format!(
            "[carte]\nmodule = \"{}\"\njeton = \"{label}\"\ncle_signature = \"{}\"\n\n[signature]\nrole = \"Ordonnateur\"\nville = \"Montpellier\"\ncode_postal = \"34000\"\n",
            module.display(),
            pki.identity("signature").cka_id_hex()
        ),
    )
    .expect("settings");
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", &config);
        std::env::set_var("PARAPHE_DONNEES", dir.path().join("donnees"));
    }
    let mut xml = HEAD.to_owned();
    xml.push_str(&bordereau("B1", 1, &["10.00"]));
    xml.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let pes = dir.path().join("mandats.xml");
    std::fs::write(&pes, common::pes::latin1(&xml)).expect("pes");

    let mut state = helios_with(&pes);
    let lost = tf("gui.pin_bas", &[("label", &label)]);
    let last = tf("gui.pin_dernier_essai", &[("label", &label)]);
    let locked = tf("gui.pin_bloque", &[("label", &label)]);
    assert!(
        !shows(&state, &lost) && !shows(&state, &last),
        "a card with all its tries says nothing"
    );
    // Which certificate on which card will sign, said before the PIN is typed.
    assert!(shows(
        &state,
        &tf(
            "gui.signature_carte",
            &[("nom", &pki.identity("signature").cn), ("label", &label)]
        )
    ));

    // A wrong PIN: sent once; the panel now says tries were lost.
    assert!(sign_with(&mut state, "0000"));
    assert_eq!(stat(&proxy_stats(&stats), "C_Login"), 1, "never retried");
    assert!(shows(&state, &lost), "tries lost, said before the next PIN");
    // Another: the last try is announced.
    assert!(sign_with(&mut state, "1111"));
    assert_eq!(stat(&proxy_stats(&stats), "C_Login"), 2);
    assert!(shows(&state, &last), "the last try is announced");
    // A third locks the card: it is said, and « Signer » cannot be pressed any more.
    assert!(sign_with(&mut state, "2222"));
    assert_eq!(stat(&proxy_stats(&stats), "C_Login"), 3);
    assert!(shows(&state, &locked));
    assert!(
        !sign_with(&mut state, USER_PIN),
        "a locked card is not asked to sign"
    );
    assert_eq!(
        stat(&proxy_stats(&stats), "C_Login"),
        3,
        "nothing sent to it"
    );
    assert!(!dir.path().join("mandats-signe.xml").exists());
}
