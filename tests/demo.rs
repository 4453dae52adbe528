//! The demonstration path, as the window runs it: the sandbox started inside the process, a sample
//! act queued, sent with the demonstration certificate over mutual TLS, the accusé de réception
//! back in the outbox. One test in its own binary: it sets PARAPHE_DONNEES for the process.

mod common;

use paraphe::card::pin::FixedPrompt;
use paraphe::card::select::KeyChoice;
use paraphe::outbox::{Outbox, State};
use paraphe::platform::sandbox::pki::DEMO_P12_PASSWORD;
use paraphe::platform::{connect, demo, send_pending};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[test]
fn demo_act_goes_to_the_sandbox_and_its_ar_comes_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    let demo = common::start_demo(tmp.path());
    let mut outbox = Outbox::open_default().expect("outbox");
    let id = demo::queue_sample_act(&demo, &mut outbox).expect("sample act");
    assert_eq!(outbox.get(id).expect("item").etat, State::EnAttente);

    let settings = paraphe::settings::Settings::load().expect("settings");
    let choice = KeyChoice {
        p12: Some(demo.p12.clone()),
        ..Default::default()
    };
    let platform = connect(
        &settings,
        Some(demo.adresse.clone()),
        Some(demo.ca.clone()),
        &choice,
        Box::new(FixedPrompt::new(DEMO_P12_PASSWORD)),
    )
    .expect("connect");
    let report = send_pending(
        &settings,
        platform.as_ref(),
        Some(Instant::now() + Duration::from_secs(30)),
        &AtomicBool::new(false),
        &Default::default(),
    )
    .expect("send");
    assert_eq!((report.envoyes, report.acquittes), (1, 1), "{report:?}");
    let item = outbox.get(id).expect("item");
    assert_eq!(item.etat, State::Acquitte);
    let received = outbox.received(id).expect("received");
    let (_, _, ar) = received
        .iter()
        .find(|r| r.0 == "accuse_reception")
        .expect("AR kept");
    let message = paraphe::actes::messages::read_message(ar.as_slice()).expect("AR reads");
    assert_eq!(message.kind, paraphe::actes::messages::MessageKind::ARActe);
    // The sample act is a real PDF (the independent reader agrees).
    if common::tools(&["pdfinfo"]) {
        let pdf = &outbox.files(id).expect("files")[0].chemin;
        let out = std::process::Command::new("pdfinfo")
            .arg(pdf)
            .output()
            .expect("pdfinfo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
