//! The Envois screen and an unsigned lot (issue 20), iced_test simulator, no display: refused
//! as it stands with why, nothing imported; accepted only when the person says it was received
//! by hand — then checked again, described with its risk, imported on « Importer ces envois »,
//! and the risk written in each item's journal, as `envois importer --accepter-non-signe` does.
#![cfg(feature = "gui")]

use paraphe::gui::screen::envois;
use paraphe::messages::t;
use paraphe::outbox::Outbox;

mod gui_support;

use gui_support::{add_pes, click, own_workstation, settle, shows, shows_part, try_click};

#[test]
fn an_unsigned_lot_is_imported_only_when_the_person_accepts_it() {
    let dir = tempfile::tempdir().expect("tmp");
    own_workstation(dir.path());
    let mut outbox = Outbox::open_default().expect("outbox");
    let id = add_pes(&mut outbox, dir.path(), "Mandats de décembre");
    let lot = dir.path().join("lot-non-signe.paraphe");
    paraphe::usecases::lots::export_lot(&mut outbox, "décembre", &[id], &lot, "Secrétaire", None)
        .expect("unsigned export");
    let before = outbox.list(&Default::default()).expect("list").len();

    let mut state = envois::State::default();
    settle(&mut state, envois::Message::Page(0));
    settle(
        &mut state,
        envois::Message::LotPath(lot.display().to_string()),
    );
    click(&mut state, &t("gui.envois_lot_importer"));
    assert!(
        shows(&state, &t("envois.lot_non_signe")),
        "why it is refused"
    );
    assert!(
        !try_click(&mut state, &t("gui.envois_lot_confirmer")),
        "nothing to confirm while it is refused"
    );
    assert_eq!(
        outbox.list(&Default::default()).expect("list").len(),
        before
    );

    // « Ne pas importer »: the question goes, nothing imported.
    click(&mut state, &t("gui.envois_lot_annuler"));
    assert!(!shows(&state, &t("envois.lot_non_signe")));

    // Asked again, accepted: described with its risk, imported on confirmation only.
    click(&mut state, &t("gui.envois_lot_importer"));
    click(&mut state, &t("gui.envois_lot_accepter_non_signe"));
    assert!(shows_part(&state, &t("envois.lot_risque_non_signe")));
    assert_eq!(
        outbox.list(&Default::default()).expect("list").len(),
        before
    );
    click(&mut state, &t("gui.envois_lot_confirmer"));
    let items = outbox.list(&Default::default()).expect("list");
    assert_eq!(items.len(), before + 1, "{items:?}");
    let imported = items.iter().map(|i| i.id).max().expect("imported");
    let journal = outbox.journal(imported).expect("journal");
    assert!(
        journal.iter().any(|j| j.detail.contains("NON SIGNÉ")),
        "the risk is journalled: {journal:?}"
    );
}
