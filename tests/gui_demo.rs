//! The demonstration path for Hélios, through the window's screens (iced_test simulator, no
//! display): the sandbox started in the process writes a sample PES; the Hélios screen opens it,
//! signs each bordereau with the demonstration signer and shows them valid, puts the signed file
//! in the outbox; the Envois screen sends it with the demonstration identity and the PES_Acquit
//! comes back accepted. One test in its own binary: it sets PARAPHE_DONNEES for the process.
#![cfg(feature = "gui")]

mod common;
mod gui_support;

use iced_test::simulator;
use paraphe::gui::screen::signature::Message as Sig;
use paraphe::gui::screen::{envois, helios};
use paraphe::messages::t;
use paraphe::outbox::{Filter, Kind, Outbox, State};
use paraphe::platform::demo;
use paraphe::platform::sandbox::pki::DEMO_P12_PASSWORD;

fn settle_helios(state: &mut helios::State, message: helios::Message) {
    for output in gui_support::run_task(state.update(message)) {
        settle_helios(state, output);
    }
}

fn settle_envois(state: &mut envois::State, message: envois::Message) {
    for output in gui_support::run_task(state.update(message)) {
        settle_envois(state, output);
    }
}

fn click_helios(state: &mut helios::State, what: &str) {
    let messages: Vec<helios::Message> = {
        let mut ui = simulator(state.view());
        ui.click(what)
            .unwrap_or_else(|_| panic!("no « {what} » to click"));
        ui.into_messages().collect()
    };
    for message in messages {
        settle_helios(state, message);
    }
}

#[test]
fn the_demo_pes_is_signed_sent_and_its_acquit_comes_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    // SAFETY: the only test of this binary; set before any thread reads the environment.
    unsafe {
        std::env::set_var("PARAPHE_DONNEES", tmp.path());
        std::env::set_var("PARAPHE_CONFIG", tmp.path().join("absent.toml"));
    }
    std::fs::create_dir_all(tmp.path().join("bac-a-sable")).expect("mkdir");
    std::fs::write(
        tmp.path().join("bac-a-sable/bac-a-sable.toml"),
        "delai_ar_secondes = 0.2\n",
    )
    .expect("settings");
    let demo = demo::start(tmp.path()).expect("sandbox starts");
    let pes = demo::write_sample_pes(&demo).expect("sample PES");
    // The sample is a PES the DGFiP schema accepts (xmllint, not Paraphe, says so).
    if let Some(xsd_dir) = common::conformance("pes/xsd")
        && common::tools(&["xmllint"])
    {
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(xsd_dir.join("Schemas_PES_v471_072015/PES_V2/Rev0/PES_Aller.xsd"))
            .arg(&pes)
            .output()
            .expect("xmllint");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let mut helios = helios::State::default();
    helios.set_demo(&demo, pes.clone());
    settle_helios(&mut helios, helios::Message::Open);
    settle_helios(
        &mut helios,
        helios::Message::Signature(Sig::Pin(DEMO_P12_PASSWORD.into())),
    );
    click_helios(&mut helios, &t("gui.signer"));
    {
        let mut ui = simulator(helios.view());
        ui.find(t("gui.signature_toutes_valides").as_str())
            .expect("every signature valid against the sandbox's authority");
    }
    click_helios(&mut helios, &t("gui.mettre_en_file"));
    let outbox = Outbox::open_default().expect("outbox");
    let queued = outbox
        .list(&Filter {
            genre: Some(Kind::Pes),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(queued.len(), 1, "{queued:?}");
    let id = queued[0].id;
    assert_eq!(queued[0].etat, State::EnAttente);

    let mut envois = envois::State::default();
    envois.set_demo(demo.clone());
    settle_envois(
        &mut envois,
        envois::Message::PinChanged(DEMO_P12_PASSWORD.into()),
    );
    settle_envois(&mut envois, envois::Message::Send);
    let item = outbox.get(id).expect("item");
    assert_eq!(item.etat, State::Acquitte, "{item:?}");
    let received = outbox.received(id).expect("received");
    let (_, _, acquit) = received
        .iter()
        .find(|r| r.0 == "pes_acquit")
        .expect("PES_Acquit kept");
    let acquit = paraphe::pes::acquit::read_acquit(acquit.as_slice()).expect("acquit reads");
    assert!(acquit.accepted(), "{acquit:?}");
}
