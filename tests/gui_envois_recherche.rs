//! The Envois screen's search box (iced_test simulator, no display), on a workstation of its
//! own: what is typed narrows the list to the items where it is found, accents and case aside.
#![cfg(feature = "gui")]

use iced_test::{selector, simulator};
use paraphe::gui::screen::envois;
use paraphe::messages::t;
use paraphe::outbox::{Kind, NewItem, Outbox, State};

mod gui_support;

use gui_support::{settle, shows};

/// Type `text` in the (empty) search box, and deliver what it produces, reloads included.
fn type_search(state: &mut envois::State, text: &str) {
    let messages: Vec<envois::Message> = {
        let mut ui = simulator(state.view());
        ui.click(selector::id(envois::SEARCH_ID))
            .expect("the search box");
        ui.typewrite(text);
        ui.into_messages().collect()
    };
    assert!(!messages.is_empty(), "typing produced nothing");
    for message in messages {
        settle(state, message);
    }
}

#[test]
fn typing_in_the_search_box_lists_only_the_matching_items() {
    let dir = tempfile::tempdir().expect("tmp");
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", dir.path().join("absent.toml"));
        std::env::set_var("PARAPHE_DONNEES", dir.path().join("donnees"));
    }
    let pdf = dir.path().join("Délibération école.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 test").expect("file");
    let mut outbox = Outbox::open_default().expect("outbox");
    for (libelle, fichiers) in [
        ("Travaux de l'Église", vec![]),
        ("Budget primitif", vec![]),
        ("Procès-verbal du conseil", vec![("acte".to_owned(), pdf)]),
    ] {
        let id = outbox
            .add(NewItem {
                genre: Kind::Acte,
                libelle,
                siren: Some("210600730"),
                numero_interne: None,
                donnees: serde_json::json!({}),
                fichiers,
                qui: "test",
            })
            .expect("add");
        // Waiting to be sent, so that « À signer » does not list them too.
        outbox
            .transition(id, State::EnAttente, "test", "")
            .expect("queue");
    }

    let mut state = envois::State::default();
    let page = envois::Page::read(&outbox, &Default::default()).expect("page");
    settle(&mut state, envois::Message::Loaded(Some(Ok(page))));
    for libelle in [
        "Travaux de l'Église",
        "Budget primitif",
        "Procès-verbal du conseil",
    ] {
        assert!(shows(&state, libelle), "{libelle} listed before searching");
    }

    // Without its accent and in capitals: the church only.
    type_search(&mut state, "EGLISE");
    assert!(shows(&state, "Travaux de l'Église"));
    assert!(!shows(&state, "Budget primitif"));
    assert!(!shows(&state, "Procès-verbal du conseil"));

    // Emptied, everything again; then a file's name finds its item.
    settle(&mut state, envois::Message::FilterText(String::new()));
    assert!(shows(&state, "Budget primitif"));
    type_search(&mut state, "ecole");
    assert!(shows(&state, "Procès-verbal du conseil"));
    assert!(!shows(&state, "Travaux de l'Église"));
    assert!(!shows(&state, "Budget primitif"));

    // Nothing found: the list says it is empty.
    settle(&mut state, envois::Message::FilterText(String::new()));
    type_search(&mut state, "zzz");
    assert!(shows(&state, &t("gui.envois_vide")));
}
