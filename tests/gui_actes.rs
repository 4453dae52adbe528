//! The Actes screen of the window (iced_test simulator, no display), on a workstation of its own
//! (settings and data in a temporary folder): the form filled with mistakes shows each finding
//! under its field, corrected it offers « Préparer », and the act lands in the outbox.
#![cfg(feature = "gui")]

mod actes_support;

use actes_support::{classification_xml, file, pdf_bytes, png_bytes};
use iced_test::simulator;
use paraphe::gui::screen::actes::{Field, Message, NatureChoice, State};
use paraphe::messages::t;

/// Run the checks the screen starts in the background, in place, and hand back their answer.
fn settle(state: &mut State, message: Message) {
    let _ = state.update(message);
    let (generation, result) = state.check_now();
    let _ = state.update(Message::Checked(generation, Some(result)));
}

#[test]
fn the_act_form_shows_findings_by_field_then_prepares_the_act() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("paraphe.toml");
    std::fs::write(
        &config,
        "[collectivite]\nsiren = \"210600730\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nreferent_nom = \"Hélène Müller\"\nemails_retour = [\"actes@mairie-exemple.fr\"]\n",
    )
    .expect("settings");
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", &config);
        std::env::set_var("PARAPHE_DONNEES", dir.path().join("donnees"));
    }
    let classification = file(
        dir.path(),
        "classification.xml",
        &classification_xml("2019-03-01"),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["actes", "classification", "importer"])
        .arg(&classification)
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acte = file(dir.path(), "deliberation.pdf", &pdf_bytes("Deliberation"));
    let plan = file(dir.path(), "plan.png", &png_bytes(8, 8));
    let renamed = file(dir.path(), "faux.pdf", b"MZ\x90\x00 not a pdf at all");

    let mut state = State::default();
    let loaded = state.load_now();
    let _ = state.update(Message::Loaded(Some(loaded)));
    // The picker finds matières by words (accents and case aside) and a click picks one.
    let _ = state.update(Message::Search("marches publics".to_owned()));
    let expected = actes_support::classification("2019-03-01").search("marches publics");
    let line = format!("{} — {}", expected[0].code, expected[0].chemin);
    {
        let mut ui = simulator(state.view());
        ui.click(line.as_str()).expect("search result shown");
        let messages: Vec<Message> = ui.into_messages().collect();
        assert!(
            matches!(messages.last(), Some(Message::Pick(code)) if code == "1.1"),
            "{messages:?}"
        );
    }
    settle(&mut state, Message::Pick("1.1".to_owned()));

    // Mistakes: a lower-case numéro, a date in the future, an executable renamed .pdf.
    settle(
        &mut state,
        Message::Nature(NatureChoice(paraphe::actes::model::Nature::ALL[0])),
    );
    settle(
        &mut state,
        Message::Edit(Field::Numero, "del2026_1".to_owned()),
    );
    settle(
        &mut state,
        Message::Edit(Field::Date, "2099-01-01".to_owned()),
    );
    settle(
        &mut state,
        Message::Edit(Field::Acte, renamed.display().to_string()),
    );
    // The objet is not filled in yet: its finding waits (a blank field is not an error shown
    // before the user got there).
    let objet_missing = state
        .findings_text()
        .into_iter()
        .find(|m| m.contains("Objet"))
        .expect("the checks know the objet is missing");
    {
        let mut ui = simulator(state.view());
        assert!(ui.find(objet_missing.as_str()).is_err(), "not shown yet");
    }
    {
        let mut ui = simulator(state.view());
        for phrase in ["Numéro interne", "Date de décision", "exécutable"] {
            let found = state
                .findings_text()
                .into_iter()
                .find(|m| m.contains(phrase))
                .unwrap_or_else(|| panic!("a finding about {phrase}: {:?}", state.findings_text()));
            ui.find(found.as_str()).expect("finding shown");
        }
        ui.find(t("gui.actes_a_corriger").as_str())
            .expect("blocking status");
    }
    // « Préparer » with blocking findings queues nothing and shows every finding.
    {
        let mut ui = simulator(state.view());
        ui.click(t("gui.actes_preparer").as_str())
            .expect("the button is there");
        for message in ui.into_messages().collect::<Vec<Message>>() {
            settle(&mut state, message);
        }
    }
    {
        let mut ui = simulator(state.view());
        ui.find(objet_missing.as_str())
            .expect("shown once « Préparer » was pressed");
    }
    assert!(
        paraphe::outbox::Outbox::open_default()
            .expect("outbox")
            .list(&Default::default())
            .expect("list")
            .is_empty(),
        "nothing queued while something blocks"
    );
    settle(
        &mut state,
        Message::Edit(Field::Objet, "Travaux de l'église".to_owned()),
    );

    // Fixed: the act and an annexe dropped on the window.
    settle(
        &mut state,
        Message::Edit(Field::Numero, "DEL2026_1".to_owned()),
    );
    settle(
        &mut state,
        Message::Edit(Field::Date, "2020-01-15".to_owned()),
    );
    settle(&mut state, Message::Edit(Field::Acte, String::new()));
    settle(&mut state, Message::Dropped(acte.clone()));
    settle(&mut state, Message::Dropped(plan.clone()));
    settle(
        &mut state,
        Message::Edit(Field::AnnexeType(0), "21_RP".to_owned()),
    );
    assert!(
        !state
            .findings_text()
            .iter()
            .any(|m| m.starts_with(&t("commun.erreur"))),
        "{:?}",
        state.findings_text()
    );
    {
        let mut ui = simulator(state.view());
        ui.find(t("gui.actes_pret").as_str()).expect("ready");
        ui.click(t("gui.actes_preparer").as_str())
            .expect("Préparer");
        let messages: Vec<Message> = ui.into_messages().collect();
        assert!(
            matches!(messages.last(), Some(Message::Prepare)),
            "{messages:?}"
        );
    }
    let queued = state.queue_now();
    let _ = state.update(Message::Queued(Some(queued)));
    let mut ui = simulator(state.view());
    ui.find(
        paraphe::messages::tf(
            "gui.actes_en_file",
            &[
                ("id", "1"),
                ("id_acte", "006-210600730-20200115-DEL2026_1-DE"),
            ],
        )
        .as_str(),
    )
    .expect("queued");
    let outbox = paraphe::outbox::Outbox::open_default().expect("outbox");
    let items = outbox.list(&Default::default()).expect("list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].numero_interne.as_deref(), Some("DEL2026_1"));
    let roles: Vec<String> = outbox
        .files(items[0].id)
        .expect("files")
        .into_iter()
        .map(|f| f.role)
        .collect();
    assert_eq!(roles, ["acte", "annexe"]);
}
