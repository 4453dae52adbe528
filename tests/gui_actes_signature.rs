//! Signing an act in the window (issues 16 and 20): the Actes screen signs, with the card's
//! signature key and one PIN, the very files its check was made on — a file changed after the
//! check is not signed and leaves no item waiting; a wrong PIN queues nothing; the signature
//! (CMS, detached, as S²LOW takes it) is verified by `openssl cms -verify` against the test PKI,
//! and the card saw exactly one C_Login (counted by the PKCS#11 proxy).
#![cfg(feature = "gui")]

mod actes_support;
mod common;
mod gui_support;

use actes_support::{classification_xml, file, pdf_bytes, png_bytes};
use gui_support::{click, settle, shows, shows_part};
use paraphe::gui::screen::actes::{Field, Message, NatureChoice, State};
use paraphe::messages::t;
use paraphe::outbox::{Filter, Outbox, State as ItemState};
use std::path::Path;

fn fill(state: &mut State, numero: &str, acte: &Path, plan: &Path) {
    settle(
        state,
        Message::Nature(NatureChoice(paraphe::actes::model::Nature::ALL[0])),
    );
    settle(state, Message::Pick("1.1".to_owned()));
    settle(state, Message::Edit(Field::Numero, numero.to_owned()));
    settle(state, Message::Edit(Field::Date, "2020-01-15".to_owned()));
    settle(
        state,
        Message::Edit(Field::Objet, "Travaux de l'église".to_owned()),
    );
    settle(state, Message::Dropped(acte.to_owned()));
    settle(state, Message::Dropped(plan.to_owned()));
    settle(
        state,
        Message::Edit(Field::AnnexeType(0), "21_RP".to_owned()),
    );
    assert!(
        shows(state, &t("gui.actes_pret")),
        "{:?}",
        state.findings_text()
    );
}

#[test]
fn the_actes_screen_signs_what_it_checked_with_one_pin() {
    if !common::tools(&["softhsm2-util", "pkcs11-tool", "openssl"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let hsm = common::SoftHsm::shared();
    let label = common::unique_label("actes-ecran");
    hsm.create_token(&label, common::USER_PIN).expect("token");
    let pki = common::TestPki::shared();
    hsm.import(&label, common::USER_PIN, pki.identity("signature"))
        .expect("import");
    let stats = d.join("stats.json");
    let proxy = common::proxy_copy(
        d,
        "compteur",
        &format!(
            "module = \"{}\"\nstats_file = \"{}\"\n",
            common::softhsm_module().display(),
            stats.display()
        ),
    );
    let config = d.join("paraphe.toml");
    std::fs::write(
        &config,
        format!(
            "[collectivite]\nsiren = \"210600730\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nreferent_nom = \"Hélène Müller\"\nemails_retour = [\"actes@mairie-exemple.fr\"]\n\
             [carte]\nmodule = \"{}\"\njeton = \"{label}\"\n[actes]\nsignature = \"cms\"\n",
            proxy.display()
        ),
    )
    .expect("settings");
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", &config);
        std::env::set_var("PARAPHE_DONNEES", d.join("donnees"));
    }
    let classification = file(d, "classification.xml", &classification_xml("2019-03-01"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["actes", "classification", "importer"])
        .arg(&classification)
        .output()
        .expect("import");
    assert!(out.status.success(), "{}", common::show(&out));
    let acte = file(d, "deliberation.pdf", &pdf_bytes("Deliberation"));
    let plan = file(d, "plan.png", &png_bytes(8, 8));
    let mut state = State::default();
    settle(&mut state, Message::Load);
    fill(&mut state, "SIG2026_1", &acte, &plan);
    let outbox = Outbox::open_default().expect("outbox");
    let all = || outbox.list(&Filter::default()).expect("list");

    // No PIN typed: said, nothing queued.
    click(&mut state, &t("gui.actes_signer_et_mettre_en_file"));
    assert!(shows(&state, &t("gui.actes_pin_requis")));
    assert!(all().is_empty());

    // A wrong PIN: the card refuses, nothing is queued, no automatic retry.
    settle(&mut state, Message::PinChanged("0000".to_owned().into()));
    click(&mut state, &t("gui.actes_signer_et_mettre_en_file"));
    assert!(all().is_empty(), "a wrong PIN queues nothing");
    let counts = common::proxy_stats(&stats);
    assert_eq!(
        common::stat(&counts, "C_Login"),
        1,
        "one try only: {counts}"
    );

    // The annexe changed after the check the person looked at (no edit since, so the screen
    // still shows that check): not signed, nothing queued, the card not asked.
    std::fs::write(&plan, png_bytes(9, 9)).expect("change");
    settle(
        &mut state,
        Message::PinChanged(common::USER_PIN.to_owned().into()),
    );
    click(&mut state, &t("gui.actes_signer_et_mettre_en_file"));
    assert!(shows_part(&state, "a changé depuis son contrôle"));
    assert!(all().is_empty());
    let counts = common::proxy_stats(&stats);
    assert_eq!(
        common::stat(&counts, "C_Login"),
        1,
        "card not asked: {counts}"
    );

    // Checked again (any edit), then signed with the right PIN: one more login, signed, queued.
    settle(
        &mut state,
        Message::Edit(Field::AnnexeType(0), "21_RP".to_owned()),
    );
    settle(
        &mut state,
        Message::PinChanged(common::USER_PIN.to_owned().into()),
    );
    click(&mut state, &t("gui.actes_signer_et_mettre_en_file"));
    assert!(
        shows_part(&state, "Acte signé et mis en file"),
        "{:?}",
        all()
    );
    let counts = common::proxy_stats(&stats);
    assert_eq!(common::stat(&counts, "C_Login"), 2, "{counts}");
    let items = all();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].etat, ItemState::EnAttente);
    let files = outbox.files(items[0].id).expect("files");
    let roles: Vec<&str> = files.iter().map(|f| f.role.as_str()).collect();
    assert_eq!(
        roles,
        ["acte", "annexe", "signature_acte", "signature_annexe"]
    );
    // Independently: each detached signature verifies over the outbox's copy it signs, and the
    // annexe signed is the one shown at the last check.
    for (document, signature) in [(&files[0], &files[2]), (&files[1], &files[3])] {
        let out = std::process::Command::new("openssl")
            .args([
                "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
            ])
            .arg("-in")
            .arg(&signature.chemin)
            .arg("-content")
            .arg(&document.chemin)
            .arg("-CAfile")
            .arg(pki.ca_bundle_pem())
            .args(["-out", "/dev/null"])
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", common::show(&out));
    }
    assert_eq!(
        std::fs::read(&files[1].chemin).expect("copy"),
        png_bytes(9, 9)
    );
}
