//! The Envois screen queues a signed item kept out of the queue (`[envois] liberation_manuelle`,
//! issue 20) with « Mettre en file d'envoi » (iced_test simulator, no display), as
//! `paraphe envois liberer` does: the button is offered for a signed item only, and pressing it
//! queues the item, journalled.
#![cfg(feature = "gui")]

use iced_test::simulator;
use paraphe::gui::screen::envois;
use paraphe::messages::t;
use paraphe::outbox::{Outbox, State};

mod gui_support;

use gui_support::{add_pes, click, own_workstation, settle};

/// Whether the screen offers `label` as something to press.
fn offers(state: &envois::State, label: &str) -> bool {
    simulator(state.view()).find(label).is_ok()
}

#[test]
fn a_signed_item_kept_out_of_the_queue_is_queued_from_its_detail() {
    let dir = tempfile::tempdir().expect("tmp");
    own_workstation(dir.path());
    let mut outbox = Outbox::open_default().expect("outbox");
    let prepared = add_pes(&mut outbox, dir.path(), "Mandats de novembre");
    let signed = add_pes(&mut outbox, dir.path(), "Mandats de décembre");
    // What `envois signer` leaves with `liberation_manuelle` (tests/envois_signer.rs).
    outbox
        .transition(signed, State::Signe, "test", "")
        .expect("transition");
    drop(outbox);

    let mut state = envois::State::default();
    settle(&mut state, envois::Message::Page(0));
    let button = t("gui.envoi_mettre_en_file");
    click(&mut state, "Mandats de novembre");
    assert!(!offers(&state, &button), "a prepared item is signed first");
    click(&mut state, &t("gui.fermer"));
    click(&mut state, "Mandats de décembre");
    assert!(offers(&state, &button), "a signed item is offered");
    click(&mut state, &button);
    let outbox = Outbox::open_default().expect("outbox");
    assert_eq!(outbox.get(signed).expect("item").etat, State::EnAttente);
    assert_eq!(outbox.get(prepared).expect("item").etat, State::Prepare);
    let journal = outbox.journal(signed).expect("journal");
    assert!(
        journal
            .iter()
            .any(|j| j.etat_apres == Some(State::EnAttente) && j.detail == t("envois.libere")),
        "{journal:?}"
    );
}
