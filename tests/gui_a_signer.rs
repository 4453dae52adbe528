//! The Envois screen's « À signer » (issue 20; iced_test simulator, no display), on a workstation
//! of its own with a SoftHSM card behind the counting PKCS#11 proxy: two unsigned PES prepared
//! in the outbox are listed, ticked by default; without the signer's role and place in the
//! settings, the screen says what to fill in and the card is not asked; a wrong signature PIN
//! signs nothing and is tried once only; the right one signs both with one login, puts them in
//! the queue, and each signed copy verifies against the test authorities.
#![cfg(feature = "gui")]

mod common;
mod gui_support;

use gui_support::{click, run_task, settle, shows, shows_part};
use paraphe::certs::trust::TrustStore;
use paraphe::gui::screen::envois;
use paraphe::messages::{t, tf};
use paraphe::outbox::{Outbox, State};
use paraphe::pes::verify::verify_file;
use std::path::{Path, PathBuf};

fn unsigned_pes(dir: &Path, name: &str, nom_fic: &str) -> PathBuf {
    let mut text = common::pes::HEAD.replace(
        "<NomFic V=\"essai\"/>",
        &format!("<NomFic V=\"{nom_fic}\"/>"),
    );
    text.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    text.push_str(&common::pes::bordereau("B2", 2, &["5.00", "7.50"]));
    text.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let path = dir.join(name);
    std::fs::write(&path, common::pes::latin1(&text)).expect("write");
    path
}

fn states(ids: &[i64]) -> Vec<State> {
    let outbox = Outbox::open_default().expect("outbox");
    ids.iter()
        .map(|&id| outbox.get(id).expect("item").etat)
        .collect()
}

fn refresh(state: &mut envois::State) {
    for message in run_task(envois::refresh()) {
        settle(state, message);
    }
}

#[test]
fn prepared_pes_are_signed_from_the_window_with_one_pin() {
    if !common::tools(&["softhsm2-util", "pkcs11-tool", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let config = dir.join("paraphe.toml");
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", &config);
        std::env::set_var("PARAPHE_DONNEES", dir.join("donnees"));
    }
    let hsm = common::SoftHsm::shared();
    let label = common::unique_label("a-signer");
    hsm.create_token(&label, common::USER_PIN).expect("token");
    let pki = common::TestPki::shared();
    hsm.import(&label, common::USER_PIN, pki.identity("signature"))
        .expect("import");
    let stats = dir.join("stats.json");
    let proxy = common::proxy_copy(
        dir,
        "carte",
        &format!(
            "module = \"{}\"\nstats_file = \"{}\"\n",
            common::softhsm_module().display(),
            stats.display()
        ),
    );
    let card = format!(
        "[carte]\nmodule = \"{}\"\njeton = \"{label}\"\n",
        proxy.display()
    );
    // First without the signer's role and place.
    std::fs::write(&config, &card).expect("settings");
    let logins = || common::stat(&common::proxy_stats(&stats), "C_Login");

    // Two unsigned PES prepared, as `envois ajouter pes --a-signer` does.
    let settings = paraphe::settings::Settings::load().expect("settings");
    let mut outbox = Outbox::open_default().expect("outbox");
    let mut ids = Vec::new();
    for (file, nom) in [("pes-1.xml", "premier"), ("pes-2.xml", "second")] {
        let pes = unsigned_pes(dir, file, nom);
        let (door, queued) = outbox
            .queue_pes_to_sign(&pes, &settings, "test")
            .expect("queue");
        let (id, _) = queued.unwrap_or_else(|| panic!("refused: {:?}", door.control.findings));
        ids.push(id);
    }
    let lines: Vec<String> = ids
        .iter()
        .map(|&id| {
            let item = outbox.get(id).expect("item");
            tf(
                "gui.a_signer_ligne",
                &[("id", &id.to_string()), ("libelle", &item.libelle)],
            )
        })
        .collect();
    drop(outbox);
    assert_eq!(states(&ids), [State::Prepare, State::Prepare]);

    // Both listed under « À signer », ticked.
    let mut state = envois::State::default();
    refresh(&mut state);
    assert!(shows(&state, &t("gui.a_signer_titre")));
    for line in &lines {
        assert!(shows(&state, line), "« {line} » listed");
    }
    let both = tf("gui.a_signer_bouton", &[("n", "2")]);
    assert!(shows(&state, &both));
    // Unticking one leaves one to sign; ticking it again, two.
    click(&mut state, &lines[0]);
    assert!(shows(&state, &t("gui.a_signer_bouton_un")));
    click(&mut state, &lines[0]);
    assert!(shows(&state, &both));

    // The settings lack the signer's role and place: said, in French, before any PIN.
    settle(
        &mut state,
        envois::Message::SignPinChanged(common::USER_PIN.into()),
    );
    click(&mut state, &both);
    assert!(
        shows_part(&state, &t("signature.parametres_requis")),
        "what to fill in the Paramètres"
    );
    assert_eq!(states(&ids), [State::Prepare, State::Prepare]);
    assert_eq!(logins(), 0, "the card was not asked");

    std::fs::write(
        &config,
        format!("{card}[signature]\nrole = \"Ordonnateur\"\nville = \"Arles\"\ncode_postal = \"13200\"\n"),
    )
    .expect("settings");

    // A wrong PIN: one try, nothing signed, said in French.
    settle(&mut state, envois::Message::SignPinChanged("0000".into()));
    click(&mut state, &both);
    let nothing = tf("gui.a_signer_rien_signe", &[("detail", "")]);
    assert!(shows_part(&state, nothing.trim_end()), "nothing signed");
    let wrong = t("carte.pin_incorrect");
    let wrong = wrong.split('.').next().expect("sentence");
    assert!(shows_part(&state, wrong), "the PIN is said wrong");
    assert_eq!(states(&ids), [State::Prepare, State::Prepare]);
    assert_eq!(logins(), 1, "a wrong PIN is not tried again");
    assert!(shows(&state, &both), "still to sign");

    // The right PIN: both signed with one login, then queued.
    let before = logins();
    settle(
        &mut state,
        envois::Message::SignPinChanged(common::USER_PIN.into()),
    );
    click(&mut state, &both);
    assert_eq!(states(&ids), [State::EnAttente, State::EnAttente]);
    assert_eq!(logins() - before, 1, "one login for both items");
    for &id in &ids {
        assert!(
            shows(&state, &State::EnAttente.said_of(id)),
            "the outcome of item {id}"
        );
    }
    for line in &lines {
        assert!(!shows(&state, line), "no longer to sign");
    }
    assert!(!shows(&state, &both));

    // Each signed copy verifies, one signature per bordereau.
    let trust = TrustStore::load(&pki.ca_bundle_pem()).expect("trust");
    let outbox = Outbox::open_default().expect("outbox");
    for &id in &ids {
        let copy = outbox
            .files(id)
            .expect("files")
            .into_iter()
            .find(|f| f.role == "pes")
            .expect("copy");
        let verdict = verify_file(&copy.chemin, Some(&trust)).expect("verify");
        assert!(verdict.valide, "{verdict:?}");
        assert_eq!(verdict.signatures.len(), 2, "one per bordereau");
    }
}
