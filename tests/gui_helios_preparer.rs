//! « Préparer pour signature » in the Hélios screen (issue 20), on a workstation of its own
//! (iced_test simulator, no display): the PES opened and reviewed is kept in the outbox as
//! `préparé`, its copy byte for byte the file shown; a file changed after it was shown is
//! refused and nothing more is queued.
#![cfg(feature = "gui")]

mod common;
mod gui_support;

use common::pes::{HEAD, bordereau};
use gui_support::{click, helios_with, shows};
use paraphe::messages::{t, tf};

#[test]
fn a_reviewed_pes_is_kept_to_be_signed_and_a_changed_one_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", dir.path().join("absent.toml"));
        std::env::set_var("PARAPHE_DONNEES", dir.path().join("donnees"));
    }
    let mut xml = HEAD.to_owned();
    xml.push_str(&bordereau("B1", 2, &["12.50", "30.00"]));
    xml.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let pes = dir.path().join("mandats.xml");
    std::fs::write(&pes, common::pes::latin1(&xml)).expect("pes");
    let original = std::fs::read(&pes).expect("read");

    let mut state = helios_with(&pes);
    click(&mut state, &t("gui.preparer_pour_signature"));
    let outbox = paraphe::outbox::Outbox::open_default().expect("outbox");
    let items = outbox.list(&Default::default()).expect("list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].etat, paraphe::outbox::State::Prepare);
    assert!(shows(
        &state,
        &tf(
            "gui.pes_prepare_a_signer",
            &[("id", &items[0].id.to_string())]
        )
    ));
    let copy = &outbox.files(items[0].id).expect("files")[0];
    assert_eq!(std::fs::read(&copy.chemin).expect("copy"), original);

    // The file changed after it was shown (not reopened): refused, nothing more queued.
    let mut changed = original.clone();
    changed.extend_from_slice(b"<!-- ajout -->\n");
    std::fs::write(&pes, &changed).expect("change");
    click(&mut state, &t("gui.preparer_pour_signature"));
    assert!(shows(
        &state,
        &tf(
            "signature.fichier_change",
            &[("chemin", &pes.display().to_string())]
        )
    ));
    assert_eq!(outbox.list(&Default::default()).expect("list").len(), 1);
}
