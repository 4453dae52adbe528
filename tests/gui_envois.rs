//! The Envois screen's detail of an item (iced_test simulator, no display), on a workstation of
//! its own: the PES_Acquit read per bordereau with the comptable's error, what came back listed
//! with an « Ouvrir » button, and the journal.
#![cfg(feature = "gui")]

use iced_test::simulator;
use paraphe::gui::screen::{envoi_detail, envois};
use paraphe::messages::{t, tf};
use paraphe::outbox::{Kind, NewItem, Outbox, State};
use paraphe::platform::sandbox::replies::{AckLine, pes_acquit};

mod common;
mod gui_support;

use gui_support::{add_pes, click, own_workstation, settle, shows, shows_part};

#[test]
fn an_item_shows_its_acquit_per_bordereau_what_came_back_and_its_journal() {
    let dir = tempfile::tempdir().expect("tmp");
    own_workstation(dir.path());
    let mut outbox = Outbox::open_default().expect("outbox");
    let id = add_pes(&mut outbox, dir.path(), "Mandats de novembre");
    // The acquit as Hélios writes it: one bordereau accepted, one refused for its signature.
    let summary = paraphe::pes::PesSummary::default();
    let acquit = pes_acquit(
        &summary,
        "2026-11-27",
        &[
            AckLine {
                domaine: 5,
                accepte: true,
                bordereau: Some("12".into()),
                exercice: Some("2026".into()),
                erreur: None,
            },
            AckLine {
                domaine: 3,
                accepte: false,
                bordereau: Some("13".into()),
                exercice: Some("2026".into()),
                erreur: Some((
                    "ERREUR_SIGNATURE_BORDEREAU_INVALIDE".into(),
                    "Signature du bordereau invalide".into(),
                )),
            },
        ],
    );
    outbox
        .receive(id, "pes_acquit", "PES_Acquit.xml", &acquit, "test")
        .expect("receive");
    // A demande de pièces came back too: it can be answered from the window.
    outbox
        .receive(
            id,
            "courrier_prefecture_3",
            "034-210000000-20261120-DEL42-DE-courrier-17.tar.gz",
            b"\x1f\x8b",
            "test",
        )
        .expect("receive letter");
    for (to, note) in [
        (State::EnAttente, ""),
        (State::EnCours, ""),
        (State::Envoye, ""),
        (State::Refuse, "ERREUR_SIGNATURE_BORDEREAU_INVALIDE"),
    ] {
        outbox.transition(id, to, "test", note).expect("transition");
    }

    let mut state = envois::State::default();
    // The home screen says what came back this week.
    let received = outbox
        .received_since("2000-01-01T00:00:00Z")
        .expect("received");
    assert_eq!(
        received,
        [
            ("courrier_prefecture_3".to_owned(), 1),
            ("pes_acquit".to_owned(), 1)
        ]
    );
    let page = envois::Page::read(&outbox, &Default::default()).expect("page");
    let _ = state.update(envois::Message::Loaded(Some(Ok(page))));
    {
        let certs = paraphe::gui::screen::certificats::State::default();
        let demo = paraphe::gui::screen::accueil::DemoStatus::Off;
        let mut ui = simulator(paraphe::gui::screen::accueil::view(
            &state,
            &certs,
            &demo,
            Vec::new(),
            "démo",
            "paramètres",
        ));
        let line = tf(
            "gui.accueil_recus",
            &[("n", "1"), ("quoi", &t("gui.recu_pes_acquit"))],
        );
        ui.find(line.as_str()).expect("home screen line");
        assert!(ui.find(t("gui.accueil_pour_commencer").as_str()).is_err());
    }
    {
        // A first launch, nothing set: the home screen says what to set up and leads there.
        use paraphe::gui::screen::parametres;
        let mut settings = parametres::State::default();
        let _ = settings.update(parametres::Message::Loaded(Some(Ok(Box::default()))));
        let gaps = settings.setup_gaps();
        assert_eq!(
            gaps,
            [
                t("gui.accueil_regler_collectivite"),
                t("gui.accueil_regler_plateforme")
            ]
        );
        let certs = paraphe::gui::screen::certificats::State::default();
        let demo = paraphe::gui::screen::accueil::DemoStatus::Off;
        let mut ui = simulator(paraphe::gui::screen::accueil::view(
            &state,
            &certs,
            &demo,
            gaps,
            "démo",
            "paramètres",
        ));
        ui.find(t("gui.accueil_regler_plateforme").as_str())
            .expect("what to set up");
        ui.click(t("gui.accueil_ouvrir_parametres").as_str())
            .expect("the way there");
        let messages: Vec<&str> = ui.into_messages().collect();
        assert_eq!(messages, ["paramètres"]);
    }
    {
        // The list: the item's title opens its detail.
        let mut ui = simulator(state.view());
        ui.click("Mandats de novembre").expect("item title");
        let messages: Vec<envois::Message> = ui.into_messages().collect();
        assert!(
            matches!(messages.last(), Some(envois::Message::Select(i)) if *i == id),
            "{messages:?}"
        );
    }
    // The comptable's PES_Retour for this PES, as Hélios writes it: shown per bordereau and piece.
    let retour = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\
        <n:PES_Retour xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour\">\
        <Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESRETOUR_DEP\"/><NomFic V=\"R1\"/></Parametres></Enveloppe>\
        <EnTetePES><DteStr V=\"2026-11-30\"/><IdColl V=\"21000000000000\"/></EnTetePES>\
        <PES_DepenseRetour><EnTeteDepense><IdVer V=\"2\"/></EnTeteDepense>\
        <Bordereau><BlocBordereau><Exer V=\"2026\"/><IdBord V=\"12\"/></BlocBordereau>\
        <Piece><InfoPiece><IdPce V=\"345\"/><Obj V=\"Fournitures scolaires\"/><DtePcePec V=\"2026-11-29\"/><EtatPce V=\"01\"/></InfoPiece></Piece>\
        </Bordereau></PES_DepenseRetour></n:PES_Retour>\n";
    outbox
        .receive(
            id,
            "pes_retour",
            "PES_Retour_R1.xml",
            retour.as_bytes(),
            "test",
        )
        .expect("receive retour");
    let detail = envoi_detail::load(id).map(Box::new);
    let _ = state.update(envois::Message::Selected(Some(detail)));
    let mut ui = simulator(state.view());
    ui.find(tf("gui.envoi_retour", &[("date", "2026-11-30")]).as_str())
        .expect("the retour's heading");
    let piece = tf(
        "retour.piece",
        &[
            ("id", "345"),
            ("etat", "01"),
            ("objet", "Fournitures scolaires"),
        ],
    );
    let taken = tf(
        "gui.envoi_retour_prise_en_charge",
        &[("date", "2026-11-29")],
    );
    ui.find(format!("    {piece}{taken}").as_str())
        .expect("the piece's state in Hélios");
    let accepted = tf(
        "acquit.ligne_bordereau",
        &[("numero", "12"), ("exercice", "2026")],
    );
    ui.find(format!("{accepted} : {}", t("acquit.accepte")).as_str())
        .expect("accepted bordereau");
    let refused = tf(
        "acquit.ligne_bordereau",
        &[("numero", "13"), ("exercice", "2026")],
    );
    ui.find(format!("{refused} : {}", t("acquit.refuse")).as_str())
        .expect("refused bordereau");
    let explanation =
        paraphe::pes::acquit::error_explanation("ERREUR_SIGNATURE_BORDEREAU_INVALIDE");
    ui.find(format!("    ERREUR_SIGNATURE_BORDEREAU_INVALIDE — {explanation}").as_str())
        .expect("the error in French");
    ui.find(t("gui.envoi_journal").as_str()).expect("journal");
    ui.click(t("gui.ouvrir").as_str()).expect("open button");
    ui.click(t("gui.repondre").as_str()).expect("answer button");
    let messages: Vec<envois::Message> = ui.into_messages().collect();
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, envois::Message::OpenReceived(i, 0) if *i == id)),
        "{messages:?}"
    );
    assert!(
        matches!(messages.last(), Some(envois::Message::ReplyTo(1))),
        "{messages:?}"
    );
    let _ = state.update(envois::Message::ReplyTo(1));
    let _ = state.update(envois::Message::ReplyEdit(
        envois::ReplyField::Lettre,
        "/tmp/lettre.pdf".into(),
    ));
    let _ = state.update(envois::Message::ReplyEdit(
        envois::ReplyField::TypeLettre,
        "99_AU".into(),
    ));
    let mut ui = simulator(state.view());
    ui.find(tf("gui.reponse_titre", &[("courrier", "17")]).as_str())
        .expect("the answer form names the letter");
    ui.find(t("gui.reponse_refus").as_str())
        .expect("a demande de pièces may be refused");
    ui.click(t("gui.reponse_envoyer").as_str()).expect("send");
    let messages: Vec<envois::Message> = ui.into_messages().collect();
    assert!(
        matches!(messages.last(), Some(envois::Message::SendReply)),
        "{messages:?}"
    );

    let _ = state.update(envois::Message::CancelReply);

    // More items: a PES waiting after a failed attempt, an act prepared; the first one last
    // changed in October.
    let later = dir.path().join("titres.xml");
    std::fs::write(&later, b"<PES_Aller/>").expect("file");
    let waiting = outbox
        .add(NewItem {
            genre: Kind::Pes,
            libelle: "Titres de novembre",
            siren: None,
            numero_interne: None,
            donnees: serde_json::json!({}),
            fichiers: vec![("pes".into(), later)],
            qui: "test",
        })
        .expect("add");
    outbox
        .transition(waiting, State::EnAttente, "test", "")
        .expect("queue");
    outbox
        .schedule(waiting, "2999-01-01T00:00:00Z", false)
        .expect("backoff");
    drop(outbox);
    let db = rusqlite::Connection::open(dir.path().join("donnees/envois.sqlite")).expect("db");
    db.execute(
        "UPDATE items SET modifie_le = '2026-10-01T09:00:00Z' WHERE id = ?1",
        [id],
    )
    .expect("date");
    drop(db);

    // The period: a date that does not read says so; from 01/11/2026 the October item is gone.
    settle(&mut state, envois::Message::CloseDetail);
    settle(&mut state, envois::Message::FilterFrom("31/11/2026".into()));
    assert!(shows(
        &state,
        &tf("gui.envois_date_illisible", &[("valeur", "31/11/2026")])
    ));
    settle(&mut state, envois::Message::FilterFrom("01/11/2026".into()));
    assert!(shows(&state, "Titres de novembre"), "November item listed");
    assert!(
        !shows(&state, "Mandats de novembre"),
        "the item changed in October is filtered out"
    );
    settle(&mut state, envois::Message::FilterFrom(String::new()));
    assert!(
        shows(&state, "Mandats de novembre"),
        "no period: listed again"
    );

    // « Réessayer maintenant » makes the backed-off PES due now; « Retirer de la file » takes
    // it out, and the buttons follow its state.
    settle(&mut state, envois::Message::Select(waiting));
    click(&mut state, &t("gui.envoi_relancer"));
    let outbox = Outbox::open_default().expect("outbox");
    let due: Vec<i64> = outbox
        .due_for_sending("2026-11-28T00:00:00Z")
        .expect("due")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(due, vec![waiting], "due now");
    assert!(shows(
        &state,
        &tf(
            "envois.etat_maintenant",
            &[
                ("id", &waiting.to_string()),
                ("etat", &t("envois.etat_en_attente"))
            ],
        )
    ));
    click(&mut state, &t("gui.envoi_retirer"));
    assert_eq!(outbox.get(waiting).expect("item").etat, State::Annule);
    assert!(
        !shows(&state, &t("gui.envoi_retirer")),
        "a cancelled item has no « Retirer » any more"
    );
    // The refused PES offers no cancellation with the préfecture (acts only).
    settle(&mut state, envois::Message::Select(id));
    assert!(!shows(&state, &t("gui.envoi_demander_annulation")));
    settle(&mut state, envois::Message::CloseDetail);

    // A lot of what is listed, signed with the card's authentication key (the PIN typed in the
    // screen), written to a file, checked and described, then read back as new items.
    if !common::tools(&["softhsm2-util", "pkcs11-tool", "openssl"]) {
        return;
    }
    let hsm = common::SoftHsm::shared();
    let label = common::unique_label("lot-ecran");
    hsm.create_token(&label, common::USER_PIN).expect("token");
    let pki = common::TestPki::shared();
    let auth = pki.identity("authentification");
    hsm.import(&label, common::USER_PIN, auth).expect("import");
    std::fs::write(
        dir.path().join("absent.toml"),
        format!(
            "[carte]\nmodule = \"{}\"\njeton = \"{label}\"\n[verification]\nconfiance = \"{}\"\n",
            common::softhsm_module().display(),
            pki.ca_bundle_pem().display()
        ),
    )
    .expect("settings");
    let lot = dir.path().join("lot-novembre.paraphe");
    settle(
        &mut state,
        envois::Message::LotPath(lot.display().to_string()),
    );
    settle(
        &mut state,
        envois::Message::FilterState(envois::Choix::Un(State::Annule)),
    );
    let export = tf("gui.envois_lot_exporter", &[("n", "1")]);
    // Without the PIN: said, nothing written.
    click(&mut state, &export);
    assert!(shows(&state, &t("gui.envois_lot_pin")));
    assert!(!lot.exists());
    settle(
        &mut state,
        envois::Message::PinChanged(common::USER_PIN.to_owned().into()),
    );
    click(&mut state, &export);
    assert!(lot.is_file(), "the lot is written");
    assert!(shows_part(
        &state,
        &tf("envois.lot_signe_exporte", &[("signataire", &auth.cn)])
    ));
    let before = outbox.list(&Default::default()).expect("list").len();
    click(&mut state, &t("gui.envois_lot_importer"));
    // Checked and described first; nothing imported until « Importer ces envois ».
    assert!(shows_part(
        &state,
        &tf("envois.lot_signe_par", &[("signataire", &auth.cn)])
    ));
    assert_eq!(
        outbox.list(&Default::default()).expect("list").len(),
        before
    );
    click(&mut state, &t("gui.envois_lot_confirmer"));
    assert!(shows_part(&state, &tf("envois.lot_importe", &[("n", "1")])));
    assert_eq!(
        outbox.list(&Default::default()).expect("list").len(),
        before + 1
    );
}
