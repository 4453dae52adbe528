//! The Certificats screen (iced_test simulator, no display) over a real SoftHSM token holding the
//! test PKI's signature and authentication identities: each certificate offers the roles it can
//! serve, and choosing one writes module, token and key to the settings, keeping the rest.
#![cfg(feature = "gui")]

mod common;

use iced_test::simulator;
use paraphe::gui::screen::certificats::{Message, State};
use paraphe::messages::{t, tf};
use pkcs11_mocks::{SoftHsm, TestPki, USER_PIN, softhsm_module, unique_label};

#[test]
fn a_certificate_is_chosen_for_a_role_and_written_to_the_settings() {
    if !common::tools(&["softhsm2-util", "pkcs11-tool", "openssl"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("paraphe.toml");
    std::fs::write(&config, "[collectivite]\nsiren = \"210600730\"\n").expect("settings");
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", &config);
        std::env::set_var("PARAPHE_DONNEES", dir.path().join("donnees"));
    }
    let hsm = SoftHsm::shared();
    let label = unique_label("ecran");
    hsm.create_token(&label, USER_PIN).expect("token");
    let pki = TestPki::shared();
    for name in ["signature", "authentification"] {
        hsm.import(&label, USER_PIN, pki.identity(name))
            .expect("import");
    }
    // A second token holding only an authority's certificate: a store, not a card.
    let store = unique_label("magasin");
    hsm.create_token(&store, USER_PIN).expect("token");
    let ca_der = dir.path().join("ca.der");
    let converted = std::process::Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(pki.ca_bundle_pem())
        .arg("-out")
        .arg(&ca_der)
        .status()
        .expect("openssl");
    assert!(converted.success());
    let written = std::process::Command::new("pkcs11-tool")
        .envs(hsm.env())
        .arg("--module")
        .arg(softhsm_module())
        .args(["--token-label", &store, "--login", "--pin", USER_PIN])
        .args(["--write-object"])
        .arg(&ca_der)
        .args(["--type", "cert", "--id", "99", "--label", "autorite"])
        .output()
        .expect("pkcs11-tool");
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let reports = std::sync::Arc::new(paraphe::card::inventory::scan(Some(softhsm_module()), None));
    let mut state = State::default();
    let _ = state.update(Message::Scanned(Some((reports, Default::default()))));
    let signature = t("roles.signature");
    let mut ui = simulator(state.view());
    ui.find(tf("gui.certificats_magasin", &[("label", &store), ("n", "1")]).as_str())
        .expect("the store in one line");
    ui.click(tf("gui.certificat_utiliser", &[("role", &signature)]).as_str())
        .expect("a certificate offers the signature role");
    let messages: Vec<Message> = ui.into_messages().collect();
    let Some(Message::Choose(choice)) = messages.last().cloned() else {
        panic!("{messages:?}")
    };
    assert_eq!(choice.jeton, label);
    assert_eq!(choice.cka_id, pki.identity("signature").cka_id_hex());
    let said = paraphe::gui::screen::certificats::choose(&choice);
    let carte = said.clone().expect("written");
    let _ = state.update(Message::Chosen(Some(Ok((carte, "ok".into())))));
    let written = paraphe::settings::Settings::load_from(&config).expect("read back");
    assert_eq!(
        written.carte.cle_signature.as_deref(),
        Some(pki.identity("signature").cka_id_hex().as_str())
    );
    assert_eq!(written.carte.jeton.as_deref(), Some(label.as_str()));
    assert_eq!(
        written.carte.module.as_deref(),
        Some(softhsm_module().as_path())
    );
    assert_eq!(
        written.collectivite.siren.as_deref(),
        Some("210600730"),
        "kept"
    );
    let mut ui = simulator(state.view());
    ui.find(tf("gui.certificat_utilise", &[("role", &signature)]).as_str())
        .expect("shown as the one in use");
}
