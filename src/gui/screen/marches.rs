//! Marchés publics: open the bids of a consultation with the card (one PIN for the folder), see
//! each bid opened or why not, and where the opening report is.

use crate::gui::{background, theme};
use crate::marches::{BidOutcome, bid_files, open_all, report};
use crate::messages::{t, tf};
use iced::widget::{button, column, row, scrollable, text, text_input};
use iced::{Element, Length, Task};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use zeroize::Zeroizing;

/// One bid in the results.
#[derive(Debug, Clone)]
pub struct Row {
    pub nom: String,
    pub ouvert: bool,
    /// Where it was opened, or why not.
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Opened {
    pub rows: Vec<Row>,
    pub rapport: PathBuf,
}

/// A running opening: how far, and how to stop it.
struct Running {
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

#[derive(Default)]
pub struct State {
    entree: String,
    sortie: String,
    /// The card PIN, wiped once handed over (and when dropped).
    pin: Zeroizing<String>,
    running: Option<Running>,
    last: Option<Result<Opened, String>>,
    /// The key to use instead of the settings' choice (a PKCS#12 in tests).
    key_override: Option<crate::card::select::KeyChoice>,
}

#[derive(Debug, Clone)]
pub enum Message {
    EntreeChanged(String),
    SortieChanged(String),
    PinChanged(crate::gui::Secret),
    Ouvrir,
    Arreter,
    Tick,
    Fini(Option<Result<Opened, String>>),
}

/// Everything an opening needs, moved to its thread.
pub struct Job {
    pub entree: PathBuf,
    pub sortie: PathBuf,
    pub pin: Zeroizing<String>,
    pub choice: Option<crate::card::select::KeyChoice>,
    pub cancel: Arc<AtomicBool>,
    pub done: Arc<AtomicUsize>,
    pub total: Arc<AtomicUsize>,
}

/// Open the bids (off the UI thread): the settings' decryption key or `choice`, one PIN.
pub fn open_bids(job: Job) -> Result<Opened, String> {
    let files = bid_files(&job.entree).map_err(|e| format!("{} : {e}", job.entree.display()))?;
    if files.is_empty() {
        return Err(tf(
            "marches.cli.aucun_pli",
            &[("chemin", &job.entree.display().to_string())],
        ));
    }
    job.total.store(files.len(), Ordering::Relaxed);
    let choice = match job.choice {
        Some(c) => c,
        None => {
            let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
            crate::card::select::KeyChoice::from_settings(
                &settings.carte,
                crate::certs::Role::Chiffrement,
            )
        }
    };
    let prompt = Box::new(crate::card::pin::FixedPrompt::new(&job.pin));
    drop(job.pin);
    let mut key =
        crate::card::select::open_decrypter(&choice, prompt).map_err(|e| e.to_string())?;
    let done = job.done.clone();
    let cancel = job.cancel.clone();
    let settings = crate::settings::Settings::load().unwrap_or_default();
    let trust =
        crate::pes::verify::TrustStore::chosen(None, &settings).map_err(|e| e.to_string())?;
    let review = crate::marches::Review {
        trust: trust.as_ref(),
        deadline: None,
    };
    let outcomes: Vec<BidOutcome> = open_all(
        &files,
        &job.sortie,
        key.as_mut(),
        &review,
        &mut |index, _| done.store(index, Ordering::Relaxed),
        &|| cancel.load(Ordering::Relaxed),
    );
    drop(key);
    job.done.store(outcomes.len(), Ordering::Relaxed);
    let (_, html) = report::write_reports(&outcomes, &job.sortie)
        .map_err(|e| format!("{} : {e}", job.sortie.display()))?;
    let rows = outcomes
        .iter()
        .map(|o| Row {
            nom: crate::actes::files::display_name(&o.source),
            ouvert: o.result.is_ok(),
            detail: match &o.result {
                Ok(bid) => tf(
                    "gui.marches_ouvert",
                    &[
                        ("dossier", &bid.dossier.display().to_string()),
                        ("fichiers", &(1 + bid.fichiers.len()).to_string()),
                    ],
                ),
                Err(e) => e.to_string(),
            },
        })
        .collect();
    Ok(Opened {
        rows,
        rapport: html,
    })
}

impl State {
    /// Ticks while an opening runs, to redraw its progress.
    pub fn subscription(&self) -> iced::Subscription<Message> {
        if self.running.is_some() {
            iced::time::every(std::time::Duration::from_millis(250)).map(|_| Message::Tick)
        } else {
            iced::Subscription::none()
        }
    }

    /// The job the "Ouvrir les plis" button starts (None while one runs or a path is missing).
    fn job(&mut self) -> Option<Job> {
        if self.running.is_some() || self.entree.trim().is_empty() || self.sortie.trim().is_empty()
        {
            return None;
        }
        let running = Running {
            cancel: Arc::new(AtomicBool::new(false)),
            done: Arc::new(AtomicUsize::new(0)),
            total: Arc::new(AtomicUsize::new(0)),
        };
        let job = Job {
            entree: PathBuf::from(self.entree.trim()),
            sortie: PathBuf::from(self.sortie.trim()),
            pin: std::mem::take(&mut self.pin),
            choice: self.key_override.clone(),
            cancel: running.cancel.clone(),
            done: running.done.clone(),
            total: running.total.clone(),
        };
        self.running = Some(running);
        self.last = None;
        Some(job)
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::EntreeChanged(v) => self.entree = v,
            Message::SortieChanged(v) => self.sortie = v,
            Message::PinChanged(pin) => self.pin = pin.into_zeroizing(),
            Message::Ouvrir => {
                if let Some(job) = self.job() {
                    return Task::perform(background(move || open_bids(job)), Message::Fini);
                }
            }
            Message::Arreter => {
                if let Some(r) = &self.running {
                    r.cancel.store(true, Ordering::Relaxed);
                }
            }
            Message::Tick => {}
            Message::Fini(result) => {
                self.running = None;
                self.last = Some(result.unwrap_or_else(|| Err(t("gui.marches_interrompu"))));
            }
        }
        Task::none()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut col = column![
            text(t("gui.marches_titre")).size(theme::TITLE),
            text(t("gui.marches_explication")).size(theme::TEXT),
            text_input(&t("gui.marches_entree"), &self.entree)
                .on_input(Message::EntreeChanged)
                .padding(theme::PAD),
            text_input(&t("gui.marches_sortie"), &self.sortie)
                .on_input(Message::SortieChanged)
                .padding(theme::PAD),
        ]
        .spacing(theme::GAP);
        match &self.running {
            Some(r) => {
                let total = r.total.load(Ordering::Relaxed);
                let done = r.done.load(Ordering::Relaxed).min(total);
                col = col.push(
                    row![
                        text(tf(
                            "gui.marches_progression",
                            &[("fait", &done.to_string()), ("total", &total.to_string())]
                        ))
                        .size(theme::TEXT),
                        iced::widget::progress_bar(0.0..=1.0, done as f32 / total.max(1) as f32)
                            .length(200),
                        button(text(t("gui.arreter"))).on_press(Message::Arreter),
                    ]
                    .spacing(theme::GAP),
                );
            }
            None => {
                let ready = !self.entree.trim().is_empty() && !self.sortie.trim().is_empty();
                let open = button(text(t("gui.marches_ouvrir")));
                col = col.push(
                    row![
                        text_input(&t("gui.pin_chiffrement"), &self.pin)
                            .secure(true)
                            .on_input(|v| Message::PinChanged(v.into()))
                            .on_submit(Message::Ouvrir)
                            .width(340),
                        if ready {
                            open.on_press(Message::Ouvrir)
                        } else {
                            open
                        },
                    ]
                    .spacing(theme::GAP),
                );
            }
        }
        match &self.last {
            Some(Ok(opened)) => {
                let count = opened.rows.iter().filter(|r| r.ouvert).count();
                col = col.push(
                    text(tf(
                        "gui.marches_bilan",
                        &[
                            ("ouverts", &count.to_string()),
                            ("total", &opened.rows.len().to_string()),
                            ("rapport", &opened.rapport.display().to_string()),
                        ],
                    ))
                    .size(theme::TEXT),
                );
                let mut rows = column![].spacing(theme::GAP / 2.0);
                for r in &opened.rows {
                    let state = if r.ouvert {
                        t("marches.rapport.ouvert")
                    } else {
                        t("marches.rapport.anomalie")
                    };
                    rows = rows.push(
                        row![
                            text(r.nom.clone())
                                .width(Length::FillPortion(2))
                                .size(theme::TEXT),
                            text(state).width(Length::FillPortion(1)).size(theme::TEXT),
                            text(r.detail.clone())
                                .width(Length::FillPortion(5))
                                .size(theme::SMALL),
                        ]
                        .spacing(theme::GAP),
                    );
                }
                col = col.push(scrollable(rows).height(Length::Fill));
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        col.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::simulator;
    use pkcs11_mocks::{P12_PASSWORD, TestPki, tool_required};

    #[test]
    fn bids_are_opened_from_the_window_with_one_password() {
        if !tool_required("openssl") {
            return;
        }
        let dir = tempfile::tempdir().expect("tmp");
        let plis = dir.path().join("plis");
        std::fs::create_dir(&plis).expect("dir");
        let document = dir.path().join("offre.pdf");
        std::fs::write(&document, b"%PDF-1.7\nOffre de l'entreprise TEST\n").expect("write");
        let pki = TestPki::shared();
        let status = std::process::Command::new("openssl")
            .args([
                "cms",
                "-encrypt",
                "-binary",
                "-aes-256-cbc",
                "-outform",
                "DER",
                "-in",
            ])
            .arg(&document)
            .arg("-out")
            .arg(plis.join("entreprise-a.pdf.p7m"))
            .arg(&pki.identity("chiffrement").cert_pem)
            .status()
            .expect("openssl");
        assert!(status.success());
        std::fs::write(plis.join("illisible.p7m"), b"pas un pli").expect("write");

        let mut state = State {
            key_override: Some(crate::card::select::KeyChoice {
                p12: Some(pki.identity("chiffrement").p12.clone()),
                ..Default::default()
            }),
            ..State::default()
        };
        let sortie = dir.path().join("ouverts");
        let _ = state.update(Message::EntreeChanged(plis.display().to_string()));
        let _ = state.update(Message::SortieChanged(sortie.display().to_string()));
        let _ = state.update(Message::PinChanged(P12_PASSWORD.into()));
        let job = state
            .job()
            .expect("both paths given: the button starts an opening");
        assert!(state.pin.is_empty(), "the PIN is handed over, not kept");
        assert!(state.job().is_none(), "one opening at a time");
        {
            let mut ui = simulator(state.view());
            assert!(
                ui.find(t("gui.arreter").as_str()).is_ok(),
                "a running opening can be stopped"
            );
        }
        let result = open_bids(job);
        let _ = state.update(Message::Fini(Some(result)));
        let mut ui = simulator(state.view());
        let expected = tf(
            "gui.marches_bilan",
            &[
                ("ouverts", "1"),
                ("total", "2"),
                (
                    "rapport",
                    &sortie.join("rapport-ouverture.html").display().to_string(),
                ),
            ],
        );
        assert!(ui.find(expected.as_str()).is_ok(), "summary shown");
        assert!(ui.find("entreprise-a.pdf.p7m").is_ok());
        assert!(
            ui.find(t("marches.format_inconnu").as_str()).is_ok(),
            "the reason is shown"
        );
        assert_eq!(
            std::fs::read(sortie.join("entreprise-a/entreprise-a.pdf")).expect("opened"),
            std::fs::read(&document).expect("original")
        );
    }
}
