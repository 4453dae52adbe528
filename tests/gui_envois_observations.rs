//! A lettre d'observations brought back is answered from the item's detail (iced_test
//! simulator, no display): the answer form offers its rejection (4-3) and no pieces — pieces go
//! only with a demande de pièces, as the platform's reply script says — while a demande de
//! pièces keeps both, and a déféré offers no answer at all.
#![cfg(feature = "gui")]

use iced_test::simulator;
use paraphe::gui::screen::{envoi_detail, envois};
use paraphe::messages::{t, tf};
use paraphe::outbox::Outbox;

mod gui_support;

use gui_support::{add_pes, own_workstation, settle};

/// The detail of `id` shown, then the answer to its received document `index` opened.
fn answer_form(state: &mut envois::State, id: i64, index: usize) -> bool {
    let detail = envoi_detail::load(id).map(Box::new);
    settle(state, envois::Message::Selected(Some(detail)));
    settle(state, envois::Message::ReplyTo(index));
    simulator(state.view())
        .find(
            tf(
                "gui.reponse_titre",
                &[("courrier", &(17 + index).to_string())],
            )
            .as_str(),
        )
        .is_ok()
}

fn shows(state: &envois::State, label: &str) -> bool {
    simulator(state.view()).find(label).is_ok()
}

#[test]
fn a_lettre_d_observations_is_answered_or_rejected_by_a_letter_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    own_workstation(dir.path());
    let mut outbox = Outbox::open_default().expect("outbox");
    let id = add_pes(&mut outbox, dir.path(), "Délibération budget");
    for (i, kind) in [3, 4, 5].iter().enumerate() {
        outbox
            .receive(
                id,
                &format!("courrier_prefecture_{kind}"),
                &format!("034-210000000-20261120-DEL42-DE-courrier-{}.tar.gz", 17 + i),
                b"\x1f\x8b",
                "test",
            )
            .expect("receive letter");
    }
    drop(outbox);
    let mut state = envois::State::default();

    // A déféré is not answered through the platform: no form.
    assert!(!answer_form(&mut state, id, 2), "no answer to a déféré");

    // The demande de pièces: pieces, or their refusal.
    assert!(answer_form(&mut state, id, 0));
    assert!(shows(&state, &t("gui.reponse_pieces")));
    assert!(shows(&state, &t("gui.reponse_refus")));
    assert!(!shows(&state, &t("gui.reponse_rejet_observations")));
    settle(&mut state, envois::Message::CancelReply);

    // The lettre d'observations: a letter alone, which answers or rejects.
    assert!(answer_form(&mut state, id, 1));
    assert!(shows(&state, &t("gui.reponse_rejet_observations")));
    assert!(!shows(&state, &t("gui.reponse_pieces")), "no pieces field");
    assert!(!shows(&state, &t("gui.reponse_refus")));
}
