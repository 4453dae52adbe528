#![allow(dead_code)] // each test binary uses its part

//! Runs a screen in a test as the window's runtime would, without a window: messages delivered,
//! the Tasks they start run to the end (their work off the UI thread included), and what those
//! produce delivered in turn.

use iced::{Element, Task};
use iced_test::simulator;
use paraphe::gui::screen::{actes, envois, helios};

/// A screen of the window: what the tests need of it.
pub trait Screen {
    type Message: Send + 'static;
    fn update(&mut self, message: Self::Message) -> Task<Self::Message>;
    fn view(&self) -> Element<'_, Self::Message>;
}

impl Screen for helios::State {
    type Message = helios::Message;
    fn update(&mut self, message: helios::Message) -> Task<helios::Message> {
        helios::State::update(self, message)
    }
    fn view(&self) -> Element<'_, helios::Message> {
        helios::State::view(self)
    }
}

impl Screen for actes::State {
    type Message = actes::Message;
    fn update(&mut self, message: actes::Message) -> Task<actes::Message> {
        actes::State::update(self, message)
    }
    fn view(&self) -> Element<'_, actes::Message> {
        actes::State::view(self)
    }
}

impl Screen for envois::State {
    type Message = envois::Message;
    fn update(&mut self, message: envois::Message) -> Task<envois::Message> {
        envois::State::update(self, message)
    }
    fn view(&self) -> Element<'_, envois::Message> {
        envois::State::view(self)
    }
}

/// The messages `task` produces, once all its work is done.
pub fn run_task<M: Send + 'static>(task: Task<M>) -> Vec<M> {
    let Some(stream) = iced_runtime::task::into_stream(task) else {
        return Vec::new();
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use futures_util::StreamExt;
        stream
            .filter_map(|action| async move {
                match action {
                    iced_runtime::Action::Output(m) => Some(m),
                    _ => None,
                }
            })
            .collect()
            .await
    })
}

/// Deliver `message`, then what its Tasks produce, until nothing more comes.
pub fn settle<S: Screen>(screen: &mut S, message: S::Message) {
    for output in run_task(screen.update(message)) {
        settle(screen, output);
    }
}

/// Whether the screen shows `what` now.
pub fn shows<S: Screen>(screen: &S, what: &str) -> bool {
    let mut ui = simulator(screen.view());
    ui.find(what).is_ok()
}

/// Some text of the screen contains `part` (for messages made of several sentences).
pub fn shows_part<S: Screen>(screen: &S, part: &str) -> bool {
    use iced_test::selector::Candidate;
    let mut ui = simulator(screen.view());
    ui.find(|candidate: Candidate<'_>| match candidate {
        Candidate::Text { content, .. } if content.contains(part) => Some(()),
        _ => None,
    })
    .is_ok()
}

/// Click `what`; false when nothing was produced (absent or disabled). What the click produced
/// is delivered, Tasks included.
pub fn try_click<S: Screen>(screen: &mut S, what: &str) -> bool {
    let messages: Vec<S::Message> = {
        let mut ui = simulator(screen.view());
        if ui.click(what).is_err() {
            return false;
        }
        ui.into_messages().collect()
    };
    let produced = !messages.is_empty();
    for message in messages {
        settle(screen, message);
    }
    produced
}

/// The Hélios screen with the PES at `path` opened (typed, then « Ouvrir »).
pub fn helios_with(path: &std::path::Path) -> helios::State {
    let mut state = helios::State::default();
    settle(
        &mut state,
        helios::Message::PathChanged(path.display().to_string()),
    );
    settle(&mut state, helios::Message::Open);
    state
}

/// Click `what`, which must be there.
pub fn click<S: Screen>(screen: &mut S, what: &str) {
    assert!(try_click(screen, what), "no « {what} » to click");
}

/// Points this process at a workstation of its own in `dir` (no settings file, data in
/// `dir/donnees`). Each gui test binary holds one test, so the environment is its own.
pub fn own_workstation(dir: &std::path::Path) {
    // SAFETY: called first in the binary's only test, before any other thread reads it.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", dir.join("absent.toml"));
        std::env::set_var("PARAPHE_DONNEES", dir.join("donnees"));
    }
}

/// A PES item `libelle` (a stand-in file in `dir`) added to the workstation's outbox: its id.
pub fn add_pes(outbox: &mut paraphe::outbox::Outbox, dir: &std::path::Path, libelle: &str) -> i64 {
    let pes = dir.join(format!("{}.xml", libelle.replace(' ', "-")));
    std::fs::write(&pes, b"<PES_Aller/>").expect("file");
    outbox
        .add(paraphe::outbox::NewItem {
            genre: paraphe::outbox::Kind::Pes,
            libelle,
            siren: None,
            numero_interne: None,
            donnees: serde_json::json!({}),
            fichiers: vec![("pes".into(), pes)],
            qui: "test",
        })
        .expect("add")
}
