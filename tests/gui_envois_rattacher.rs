//! The Envois screen attaches a PES « transmis, à rattacher » to its transaction (iced_test
//! simulator, no display), on a workstation of its own: the list and the detail say what the item
//! waits for, the number is typed in the detail, a wrong one is refused in French and nothing
//! changes, the right one attaches it and the sender follows it again — as
//! `paraphe envois rattacher` does.
#![cfg(feature = "gui")]

use iced_test::{selector, simulator};
use paraphe::gui::screen::envois;
use paraphe::messages::{t, tf};
use paraphe::outbox::{Filter, Outbox, State};

mod gui_support;

use gui_support::{add_pes, click, own_workstation, settle, shows, shows_part, try_click};

/// Empty the transaction field, type `text` in it, and deliver what it produces.
fn type_transaction(state: &mut envois::State, text: &str) {
    settle(state, envois::Message::TransactionEdit(String::new()));
    let messages: Vec<envois::Message> = {
        let mut ui = simulator(state.view());
        ui.click(selector::id(envois::TRANSACTION_ID))
            .expect("the transaction field");
        ui.typewrite(text);
        ui.into_messages().collect()
    };
    assert!(!messages.is_empty(), "typing produced nothing");
    for message in messages {
        settle(state, message);
    }
}

/// Whether the home screen, fed by this Envois state, shows `line`.
fn home_says(state: &envois::State, line: &str) -> bool {
    let certs = paraphe::gui::screen::certificats::State::default();
    let demo = paraphe::gui::screen::accueil::DemoStatus::Off;
    let mut ui = simulator(paraphe::gui::screen::accueil::view(
        state,
        &certs,
        &demo,
        Vec::new(),
        "démo",
        "paramètres",
    ));
    ui.find(line).is_ok()
}

#[test]
fn a_pes_the_platform_already_held_is_attached_from_its_detail() {
    let dir = tempfile::tempdir().expect("tmp");
    own_workstation(dir.path());
    let mut outbox = Outbox::open_default().expect("outbox");
    let id = add_pes(&mut outbox, dir.path(), "Mandats de décembre");
    // Sent, and the platform answered « doublon détecté » without a transaction: what the
    // sender leaves (tests/platform_sandbox.rs shows the sender doing it).
    for to in [State::EnAttente, State::EnCours, State::Envoye] {
        outbox.transition(id, to, "test", "").expect("transition");
    }
    assert_eq!(outbox.pending_count().expect("pending"), 0, "not followed");

    let mut state = envois::State::default();
    settle(&mut state, envois::Message::Page(0));
    // The state's chip: its icon, then its word.
    let label = format!("⚠ {}", t("envois.etat_a_rattacher"));
    assert!(shows(&state, &label), "the list says what it waits for");
    assert!(
        home_says(&state, &t("gui.accueil_a_rattacher_un")),
        "home screen"
    );
    click(&mut state, "Mandats de décembre");
    assert!(
        shows(&state, &t("gui.envoi_a_rattacher_aide")),
        "what to do"
    );
    // Nothing typed: the button does nothing.
    assert!(!try_click(&mut state, &t("gui.envoi_rattacher")));

    // A number that is not one: refused in French, the item unchanged.
    type_transaction(&mut state, "abc");
    click(&mut state, &t("gui.envoi_rattacher"));
    let outbox = Outbox::open_default().expect("outbox");
    assert_eq!(outbox.get(id).expect("item").id_plateforme, None);
    let refused = tf("envois.transaction_invalide", &[("transaction", "abc")]);
    assert!(shows_part(&state, &refused), "the refusal, in French");

    // The platform's number: attached, said, and followed again by the sender.
    type_transaction(&mut state, " 4242 ");
    click(&mut state, &t("gui.envoi_rattacher"));
    let item = outbox.get(id).expect("item");
    assert_eq!(item.id_plateforme.as_deref(), Some("4242"));
    assert_eq!(item.etat, State::Envoye);
    assert!(!item.awaits_attachment());
    assert_eq!(outbox.pending_count().expect("pending"), 1, "followed");
    let said = tf(
        "envois.rattache",
        &[("id", &id.to_string()), ("transaction", "4242")],
    );
    assert!(shows(&state, &said), "the window says it");
    assert!(
        !shows(&state, &t("gui.envoi_a_rattacher_aide")),
        "nothing left to attach"
    );
    assert!(
        !home_says(&state, &t("gui.accueil_a_rattacher_un")),
        "nothing left for the home screen"
    );
    let journal = outbox.journal(id).expect("journal");
    assert!(
        journal.iter().any(|j| j.detail.contains("4242")),
        "journalled: {journal:?}"
    );
    let listed = outbox.list(&Filter::default()).expect("list");
    assert_eq!(listed[0].state_label(), State::Envoye.label());
}
