//! Marchés publics: open the bids of a consultation with the card (one PIN for the folder), see
//! each bid opened or why not, flagged when deposited after the deadline typed (date and hour,
//! Paris time), and where the opening report is.

use crate::gui::files::{Kind, Request};
use crate::gui::{background, theme};
use crate::marches::{BidOutcome, Lateness, bid_files, open_all, paris_deadline_fields, report};
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
    /// Deposited after the deadline (Some(true)), before it (Some(false)), or not known.
    pub hors_delai: Option<bool>,
    /// What the buyer should look at (late or undated deposit, unreadable signature…), in French.
    pub anomalies: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Opened {
    pub rows: Vec<Row>,
    pub rapport: PathBuf,
    /// The deadline the deposits were checked against; None: lateness not checked.
    pub deadline: Option<time::OffsetDateTime>,
    pub lateness: Lateness,
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
    /// The deadline for bids, as typed: date (JJ/MM/AAAA) and hour (HH:MM), Paris time.
    date_limite: String,
    heure_limite: String,
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
    /// « Parcourir… » for the bids (a bid, or their folder) or for the folder to open them in.
    Browse(Chemin, crate::gui::files::Request),
    /// What the dialog chose for that field (nothing chosen: nothing changes).
    Chosen(Chemin, Vec<std::path::PathBuf>),
    DateLimiteChanged(String),
    HeureLimiteChanged(String),
    PinChanged(crate::gui::Secret),
    Ouvrir,
    Arreter,
    Tick,
    Fini(Option<Result<Opened, String>>),
}

/// Which path field a dialog fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chemin {
    Entree,
    Sortie,
}

/// Everything an opening needs, moved to its thread.
pub struct Job {
    pub entree: PathBuf,
    pub sortie: PathBuf,
    /// Deposits timestamped after it are flagged; None: not checked.
    pub deadline: Option<time::OffsetDateTime>,
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
        crate::certs::trust::TrustStore::chosen(None, &settings).map_err(|e| e.to_string())?;
    let review = crate::marches::Review {
        trust: trust.as_ref(),
        deadline: job.deadline,
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
            hors_delai: o.hors_delai(),
            anomalies: o.anomalies.clone(),
        })
        .collect();
    Ok(Opened {
        rows,
        rapport: html,
        deadline: job.deadline,
        lateness: Lateness::of(&outcomes),
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

    /// The job the "Ouvrir les plis" button starts (None while one runs, a path is missing, or
    /// the deadline is unreadable — then its French reason is the result shown).
    fn job(&mut self) -> Option<Job> {
        if self.running.is_some() || self.entree.trim().is_empty() || self.sortie.trim().is_empty()
        {
            return None;
        }
        let deadline = match paris_deadline_fields(&self.date_limite, &self.heure_limite) {
            Ok(d) => d,
            Err(message) => {
                self.last = Some(Err(message));
                return None;
            }
        };
        let running = Running {
            cancel: Arc::new(AtomicBool::new(false)),
            done: Arc::new(AtomicUsize::new(0)),
            total: Arc::new(AtomicUsize::new(0)),
        };
        let job = Job {
            entree: PathBuf::from(self.entree.trim()),
            sortie: PathBuf::from(self.sortie.trim()),
            deadline,
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
            Message::Browse(chemin, request) => {
                return crate::gui::files::choose(request, move |p| Message::Chosen(chemin, p));
            }
            Message::Chosen(chemin, paths) => {
                if let Some(path) = paths.into_iter().next() {
                    let path = path.display().to_string();
                    match chemin {
                        Chemin::Entree => self.entree = path,
                        Chemin::Sortie => self.sortie = path,
                    }
                }
            }
            Message::SortieChanged(v) => self.sortie = v,
            Message::DateLimiteChanged(v) => self.date_limite = v,
            Message::HeureLimiteChanged(v) => self.heure_limite = v,
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
            row![
                text_input(&t("gui.marches_entree"), &self.entree)
                    .on_input(Message::EntreeChanged)
                    .padding(theme::PAD),
                button(text(t("gui.marches_choisir_pli")))
                    .padding(theme::PAD)
                    .on_press(Message::Browse(Chemin::Entree, Request::open(Kind::Pli))),
                button(text(t("gui.marches_choisir_dossier_plis")))
                    .padding(theme::PAD)
                    .on_press(Message::Browse(Chemin::Entree, Request::folder())),
            ]
            .spacing(theme::GAP),
            row![
                text_input(&t("gui.marches_sortie"), &self.sortie)
                    .on_input(Message::SortieChanged)
                    .padding(theme::PAD),
                button(text(t("gui.parcourir")))
                    .padding(theme::PAD)
                    .on_press(Message::Browse(Chemin::Sortie, Request::folder())),
            ]
            .spacing(theme::GAP),
            text(t("gui.marches_date_limite_explication")).size(theme::SMALL),
            row![
                text_input(&t("gui.marches_date_limite"), &self.date_limite)
                    .on_input(Message::DateLimiteChanged)
                    .padding(theme::PAD)
                    .width(340),
                text_input(&t("gui.marches_heure_limite"), &self.heure_limite)
                    .on_input(Message::HeureLimiteChanged)
                    .padding(theme::PAD)
                    .width(240),
            ]
            .spacing(theme::GAP),
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
                col = col.push(text(lateness_summary(opened)).size(theme::TEXT));
                let mut rows = column![].spacing(theme::GAP / 2.0);
                for r in &opened.rows {
                    let state = if r.ouvert {
                        t("marches.rapport.ouvert")
                    } else {
                        t("marches.rapport.anomalie")
                    };
                    let delai = match r.hors_delai {
                        Some(true) => t("gui.marches_hors_delai"),
                        Some(false) => t("gui.marches_dans_les_delais"),
                        None => String::new(),
                    };
                    let mut detail = column![text(r.detail.clone()).size(theme::SMALL)];
                    for a in &r.anomalies {
                        detail = detail.push(text(a.clone()).size(theme::SMALL));
                    }
                    rows = rows.push(
                        row![
                            text(r.nom.clone())
                                .width(Length::FillPortion(2))
                                .size(theme::TEXT),
                            text(state).width(Length::FillPortion(1)).size(theme::TEXT),
                            text(delai).width(Length::FillPortion(1)).size(theme::TEXT),
                            detail.width(Length::FillPortion(5)),
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

/// The summary line on lateness: how many bids were late against the deadline, or that it was
/// not checked (no deadline typed).
fn lateness_summary(opened: &Opened) -> String {
    let Some(deadline) = opened.deadline else {
        return t("gui.marches_delai_non_verifie");
    };
    let shown = |format: &[time::format_description::BorrowedFormatItem<'_>]| {
        deadline.format(format).unwrap_or_default()
    };
    let l = opened.lateness;
    tf(
        "gui.marches_delai_bilan",
        &[
            (
                "date",
                &shown(time::macros::format_description!("[day]/[month]/[year]")),
            ),
            (
                "heure",
                &shown(time::macros::format_description!("[hour]:[minute]")),
            ),
            ("hors_delai", &l.hors_delai.to_string()),
            ("dans_les_delais", &l.dans_les_delais.to_string()),
            ("inconnus", &l.inconnus.to_string()),
        ],
    )
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
        assert!(
            ui.find(t("gui.marches_delai_non_verifie").as_str()).is_ok(),
            "no deadline typed: said not checked"
        );
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

    /// Deliver `message`, then what its Tasks produce (the opening, run off the UI thread as in
    /// the window), until nothing more comes.
    fn settle(state: &mut State, message: Message) {
        let Some(stream) = iced_runtime::task::into_stream(state.update(message)) else {
            return;
        };
        let outputs: Vec<Message> = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
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
            });
        for output in outputs {
            settle(state, output);
        }
    }

    /// In the simulator: click `what` (a button, or an empty field by its placeholder), type
    /// `typed` if any, then deliver what that produced.
    fn click_and_type(state: &mut State, what: &str, typed: Option<&str>) {
        let messages: Vec<Message> = {
            let mut ui = simulator(state.view());
            ui.click(what).unwrap_or_else(|_| panic!("no « {what} »"));
            if let Some(typed) = typed {
                ui.typewrite(typed);
            }
            ui.into_messages().collect()
        };
        assert!(!messages.is_empty(), "« {what} » produced nothing");
        for message in messages {
            settle(state, message);
        }
    }

    fn shows(state: &State, what: &str) -> bool {
        simulator(state.view()).find(what).is_ok()
    }

    /// DER: a tag, its length, its content.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    /// A test-only time-stamping authority (key, certificate for timeStamping).
    fn test_tsa(dir: &std::path::Path) -> (PathBuf, PathBuf) {
        let key = dir.join("tsa.key");
        let cert = dir.join("tsa.pem");
        let status = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args([
                "-subj",
                "/CN=Horodatage TEST ONLY/O=Paraphe TEST ONLY",
                "-addext",
                "extendedKeyUsage=critical,timeStamping",
            ])
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl req");
        assert!(status.success());
        (key, cert)
    }

    /// The deposit timestamp of `pli` at a known time (`gen_time`, GeneralizedTime in UTC), as
    /// the buyer's platform puts it beside the bid (`pli.p7m.tst`): an RFC 3161 token, a
    /// SignedData over a TSTInfo, signed by the test TSA.
    fn deposit_at(tsa: &(PathBuf, PathBuf), pli: &std::path::Path, gen_time: &str, serial: u8) {
        let hash = openssl::sha::sha256(&std::fs::read(pli).expect("pli"));
        let sha256 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
        let tst_info = tlv(
            0x30,
            &[
                tlv(0x02, &[1]),
                tlv(0x06, &[0x2a, 0x03, 0x04, 0x01]),
                tlv(
                    0x30,
                    &[
                        tlv(0x30, &[tlv(0x06, &sha256), tlv(0x05, &[])].concat()),
                        tlv(0x04, &hash),
                    ]
                    .concat(),
                ),
                tlv(0x02, &[serial]),
                tlv(0x18, gen_time.as_bytes()),
            ]
            .concat(),
        );
        let info_path = pli.with_extension("tstinfo");
        std::fs::write(&info_path, tst_info).expect("tstinfo");
        let mut token = pli.as_os_str().to_owned();
        token.push(".tst");
        let status = std::process::Command::new("openssl")
            .args([
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-outform",
                "DER",
                "-econtent_type",
                "1.2.840.113549.1.9.16.1.4",
                "-md",
                "sha256",
                "-in",
            ])
            .arg(&info_path)
            .arg("-signer")
            .arg(&tsa.1)
            .arg("-inkey")
            .arg(&tsa.0)
            .arg("-out")
            .arg(&token)
            .status()
            .expect("openssl cms -sign");
        assert!(status.success());
        std::fs::remove_file(&info_path).expect("tstinfo");
    }

    #[test]
    fn a_bid_deposited_after_the_deadline_typed_is_flagged_and_a_bad_date_refused() {
        if !tool_required("openssl") {
            return;
        }
        let dir = tempfile::tempdir().expect("tmp");
        let plis = dir.path().join("plis");
        std::fs::create_dir(&plis).expect("dir");
        let pki = TestPki::shared();
        let tsa = test_tsa(dir.path());
        // Deadline: 15/01/2027 at 12:00 Paris time (11:00 UTC, winter time). One bid deposited at
        // 11:59 Paris time, one at 12:30 — before 12:00 UTC: reading the hour as UTC would miss it.
        for (name, deposited, serial) in [
            ("a-temps", "20270115105900Z", 1),
            ("tardive", "20270115113000Z", 2),
        ] {
            let document = dir.path().join(format!("{name}.txt"));
            std::fs::write(&document, format!("Offre {name}\n")).expect("write");
            let pli = plis.join(format!("{name}.txt.p7m"));
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
                .arg(&pli)
                .arg(&pki.identity("chiffrement").cert_pem)
                .status()
                .expect("openssl");
            assert!(status.success());
            deposit_at(&tsa, &pli, deposited, serial);
        }

        let mut state = State {
            key_override: Some(crate::card::select::KeyChoice {
                p12: Some(pki.identity("chiffrement").p12.clone()),
                ..Default::default()
            }),
            ..State::default()
        };
        let sortie = dir.path().join("ouverts");
        settle(
            &mut state,
            Message::EntreeChanged(plis.display().to_string()),
        );
        settle(
            &mut state,
            Message::SortieChanged(sortie.display().to_string()),
        );
        settle(&mut state, Message::PinChanged(P12_PASSWORD.into()));

        // An impossible date: refused in French, nothing started, the PIN kept for the retry.
        click_and_type(
            &mut state,
            &t("gui.marches_date_limite"),
            Some("31/02/2027"),
        );
        click_and_type(&mut state, &t("gui.marches_heure_limite"), Some("12:00"));
        click_and_type(&mut state, &t("gui.marches_ouvrir"), None);
        assert!(
            shows(&state, &t("marches.dce.date_limite_illisible_fr")),
            "the reason is shown"
        );
        assert!(state.running.is_none(), "no opening started");
        assert!(!state.pin.is_empty(), "the PIN is kept for the retry");
        assert!(!sortie.exists(), "nothing opened");

        // The right date: both bids opened, the late one flagged, the other not.
        settle(&mut state, Message::DateLimiteChanged(String::new()));
        click_and_type(
            &mut state,
            &t("gui.marches_date_limite"),
            Some("15/01/2027"),
        );
        click_and_type(&mut state, &t("gui.marches_ouvrir"), None);
        let Some(Ok(opened)) = &state.last else {
            panic!("opened: {:?}", state.last);
        };
        let late: Vec<(&str, Option<bool>)> = opened
            .rows
            .iter()
            .map(|r| (r.nom.as_str(), r.hors_delai))
            .collect();
        assert_eq!(
            late,
            [
                ("a-temps.txt.p7m", Some(false)),
                ("tardive.txt.p7m", Some(true))
            ]
        );
        assert!(opened.rows.iter().all(|r| r.ouvert), "{:?}", opened.rows);
        assert!(opened.rows[0].anomalies.is_empty(), "{:?}", opened.rows);
        assert!(
            opened.rows[1]
                .anomalies
                .iter()
                .any(|a| a.contains("après la date limite")),
            "{:?}",
            opened.rows
        );
        // Shown: the flag in each bid's line, the reason, the summary.
        let mut ui = simulator(state.view());
        assert!(ui.find(t("gui.marches_hors_delai").as_str()).is_ok());
        assert!(ui.find(t("gui.marches_dans_les_delais").as_str()).is_ok());
        assert!(
            ui.find(opened.rows[1].anomalies[0].as_str()).is_ok(),
            "the report's wording is shown"
        );
        let summary = tf(
            "gui.marches_delai_bilan",
            &[
                ("date", "15/01/2027"),
                ("heure", "12:00"),
                ("hors_delai", "1"),
                ("dans_les_delais", "1"),
                ("inconnus", "0"),
            ],
        );
        assert!(ui.find(summary.as_str()).is_ok(), "summary: {summary}");
        assert!(
            ui.find(t("gui.marches_delai_non_verifie").as_str())
                .is_err()
        );
        let csv = std::fs::read_to_string(sortie.join("rapport-ouverture.csv")).expect("csv");
        assert!(csv.contains("après la date limite"), "{csv}");
    }
}
