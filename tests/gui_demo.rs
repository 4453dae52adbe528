//! The demonstration path for Hélios, through the window's screens (iced_test simulator, no
//! display): the sandbox started in the process writes a sample PES; the Hélios screen opens it,
//! signs each bordereau with the demonstration signer and shows them valid, puts the signed file
//! in the outbox; the Envois screen sends it with the demonstration identity and the PES_Acquit
//! comes back accepted. One test in its own binary: it sets PARAPHE_DONNEES for the process.
#![cfg(feature = "gui")]

mod common;
mod gui_support;

use gui_support::{click, settle, shows};

use iced_test::simulator;
use paraphe::gui::screen::signature::Message as Sig;
use paraphe::gui::screen::{envois, helios};
use paraphe::messages::t;
use paraphe::outbox::{Filter, Kind, Outbox, State};
use paraphe::platform::demo;
use paraphe::platform::sandbox::pki::DEMO_P12_PASSWORD;

#[test]
fn the_demo_pes_is_signed_sent_and_its_acquit_comes_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    let demo = common::start_demo(tmp.path());
    let pes = demo::write_sample_pes(&demo).expect("sample PES");
    // The sample is a PES the DGFiP schemas accept, 4.7.1 and 5.12 (xmllint, not Paraphe, says
    // so).
    if let Some(xsd_dir) = common::conformance("pes/xsd")
        && common::tools(&["xmllint"])
    {
        for version in ["Schemas_PES_v471_072015", "schemas_pes_v5.12"] {
            let out = std::process::Command::new("xmllint")
                .args(["--noout", "--schema"])
                .arg(xsd_dir.join(version).join("PES_V2/Rev0/PES_Aller.xsd"))
                .arg(&pes)
                .output()
                .expect("xmllint");
            assert!(
                out.status.success(),
                "{version}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    let mut helios = helios::State::default();
    helios.set_demo(&demo, pes.clone());
    settle(&mut helios, helios::Message::Open);
    settle(
        &mut helios,
        helios::Message::Signature(Sig::Pin(DEMO_P12_PASSWORD.into())),
    );
    click(&mut helios, &t("gui.signer"));
    {
        let mut ui = simulator(helios.view());
        ui.find(t("gui.signature_toutes_valides").as_str())
            .expect("every signature valid against the sandbox's authority");
    }
    click(&mut helios, &t("gui.mettre_en_file"));

    // The signed file opened again: its signatures are there and verify; a copy changed by one
    // amount after signing does not.
    let signed = paraphe::gui::screen::signature::signed_path(&pes);
    let bytes = std::fs::read(&signed).expect("signed");
    let at = bytes
        .windows(7)
        .position(|w| w == b"3480.00")
        .expect("an amount");
    let mut tampered = bytes.clone();
    tampered[at] = b'9';
    let tampered_path = tmp.path().join("PES_modifie.xml");
    std::fs::write(&tampered_path, &tampered).expect("write");
    for (file, expected) in [
        (&signed, "gui.signature_toutes_valides"),
        (&tampered_path, "gui.signature_des_invalides"),
    ] {
        let mut reopened = helios::State::default();
        reopened.set_demo(&demo, file.clone());
        settle(&mut reopened, helios::Message::Open);
        assert!(shows(
            &reopened,
            &paraphe::messages::tf("gui.signatures_existantes", &[("n", "2")])
        ));
        click(&mut reopened, &t("gui.verifier_signatures"));
        assert!(shows(&reopened, &t(expected)), "{}", file.display());
    }
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
    settle(
        &mut envois,
        envois::Message::PinChanged(DEMO_P12_PASSWORD.into()),
    );
    settle(&mut envois, envois::Message::Send);
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
