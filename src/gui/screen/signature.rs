//! The signature panel of the Hélios screen: who signs and where (from the settings, editable),
//! per bordereau or the whole file, the key (the card chosen in the settings, or a `.p12`), the
//! PIN; then signing off the UI thread with progress and "Arrêter", the signatures verified at
//! once, and the signed file put in the outbox.

use crate::certs::trust::TrustStore;
use crate::gui::{background, theme};
use crate::messages::{t, tf};
use crate::pes::verify::{FileVerdict, verify_file};
use iced::widget::{button, checkbox, column, row, text, text_input};
use iced::{Element, Task};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use zeroize::Zeroizing;

#[derive(Default)]
pub struct Panel {
    role: String,
    ville: String,
    code_postal: String,
    global: bool,
    sha1: bool,
    /// A software certificate instead of the card.
    p12: String,
    /// PIN or password, wiped once handed to the key (and when dropped).
    pin: Zeroizing<String>,
    /// Set while signing: "Arrêter" sets it.
    running: Option<Arc<AtomicBool>>,
    /// Signatures made so far, and how many are expected.
    done: Arc<AtomicUsize>,
    expected: usize,
    result: Option<Result<Signed, String>>,
    queued: Option<Result<i64, String>>,
    /// What « Préparer pour signature » did: the item's number, or why not.
    prepared: Option<Result<i64, String>>,
    /// The signature card and what it says of the PIN tries left, read when the panel opens
    /// and after each signing (None: not read yet, or a software certificate).
    card: Option<Result<crate::card::select::CardStatus, String>>,
    /// Authorities to verify the signatures against instead of the settings' (the demo's).
    trust: Option<PathBuf>,
    /// In the demonstration: its signer's password is shown, as on the home screen.
    demo: bool,
}

/// A signed file and what the verifier says of it.
#[derive(Debug, Clone)]
pub struct Signed {
    pub sortie: PathBuf,
    pub signatures: usize,
    pub warnings: Vec<String>,
    pub verdict: Result<Arc<FileVerdict>, String>,
}

#[derive(Debug, Clone)]
pub enum Field {
    Role,
    Ville,
    CodePostal,
    P12,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// The settings' [signature] defaults, read at opening.
    Defaults(Option<Result<crate::settings::SignatureSettings, String>>),
    Edit(Field, String),
    /// The PIN (or the `.p12` password) as typed.
    Pin(crate::gui::Secret),
    Global(bool),
    Sha1(bool),
    Sign,
    Stop,
    Tick,
    Done(Option<Result<Signed, String>>),
    Queue,
    Queued(Option<Result<i64, String>>),
    /// Keep the PES as reviewed in the outbox, `préparé`, to be signed later (here in Envois
    /// « À signer », or on another workstation after a lot).
    PrepareToSign,
    Prepared(Option<Result<i64, String>>),
    CardState(Option<CardStatus>),
}

/// The signature card's label, holder and PIN state; `Ok(None)` for a software certificate.
pub type CardStatus = Result<Option<crate::card::select::CardStatus>, String>;

/// Read the PIN state of the card the signature would use (off the UI thread, nothing logged
/// in): the window warns before the PIN is typed when a wrong one would lock the card.
pub fn read_card_state() -> Task<Message> {
    Task::perform(
        background(|| {
            let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
            let choice = crate::card::select::KeyChoice::from_settings(
                &settings.carte,
                crate::certs::Role::Signature,
            );
            crate::card::select::card_pin_state(&choice, crate::certs::Role::Signature)
                .map_err(|e| e.to_string())
        }),
        Message::CardState,
    )
}

/// Where the signed file goes: beside the original, `-signe` added to its name.
pub fn signed_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pes".into());
    input.with_file_name(format!("{stem}-signe.xml"))
}

/// What one signing needs, gathered on the UI thread.
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
    pub global: bool,
    pub sha1: bool,
    pub details: crate::pes::xades::SignerDetails,
    pub p12: Option<PathBuf>,
    pub pin: Zeroizing<String>,
    pub expected: usize,
    pub cancel: Arc<AtomicBool>,
    pub done: Arc<AtomicUsize>,
    /// Authorities for the verification after signing, instead of the settings' ones.
    pub trust: Option<PathBuf>,
    /// SHA-256 of the file as the person reviewed it: a file changed since is not signed.
    pub reviewed_sha256: Vec<u8>,
}

/// Keep the PES reviewed (`reviewed`: its SHA-256 when it was shown) in the outbox as `préparé`,
/// through the door's checks for a file to sign; a file changed since it was shown is refused.
fn prepare_to_sign(input: &Path, reviewed: &[u8]) -> Result<i64, String> {
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let mut outbox = crate::outbox::Outbox::open_default().map_err(|e| e.to_string())?;
    crate::usecases::sign_items::prepare_pes_as_reviewed(
        &mut outbox,
        input,
        reviewed,
        &settings,
        &crate::platform::sender::who(),
    )
}

/// Sign with the checks of the review, then verify what was written (the settings' trust store).
pub fn run(job: Job, settings: &crate::settings::Settings) -> Result<Signed, String> {
    use crate::card::select::{KeyChoice, open_for_role};
    use crate::certs::Role;
    use crate::pes::sign::{Scope, SignRequest, sign_checked};
    use crate::pes::xades::Profile;
    let mut choice = KeyChoice::from_settings(&settings.carte, Role::Signature);
    if job.p12.is_some() {
        choice.p12 = job.p12.clone();
    }
    // The file is still the one reviewed and fit to be signed, before the card hears of it.
    crate::pes::precheck::check_before_signing(&job.input, Some(&job.reviewed_sha256))
        .map_err(|e| e.to_string())?;
    let prompt = Box::new(crate::card::pin::FixedPrompt::new(&job.pin));
    drop(job.pin);
    let mut key = open_for_role(&choice, Role::Signature, prompt).map_err(|e| e.to_string())?;
    let request = SignRequest {
        input: &job.input,
        output: &job.output,
        scope: if job.global {
            Scope::File
        } else {
            Scope::Bordereaux
        },
        profile: if job.sha1 {
            Profile::Sha1
        } else {
            Profile::Sha256
        },
        details: job.details,
        reviewed_sha256: Some(job.reviewed_sha256),
        expected: job.expected,
    };
    let done = job.done.clone();
    let mut progress = move |p: crate::card::BatchProgress| done.store(p.done, Ordering::Relaxed);
    let cancel = job.cancel.clone();
    let signed = sign_checked(&request, key.as_mut(), &mut progress, &|| {
        cancel.load(Ordering::Relaxed)
    })
    .map_err(|e| e.to_string())?;
    let verdict = verify(&job.output, job.trust.as_deref(), settings);
    Ok(Signed {
        sortie: job.output,
        signatures: signed.report.signed.len(),
        warnings: signed.findings.into_iter().map(|f| f.message).collect(),
        verdict,
    })
}

/// Verify every signature of `file` against `trust` (a PEM file or folder), or the settings'
/// trust store when none is given.
pub fn verify(
    file: &Path,
    trust: Option<&Path>,
    settings: &crate::settings::Settings,
) -> Result<Arc<FileVerdict>, String> {
    let store = TrustStore::chosen(trust, settings).map_err(|e| e.to_string())?;
    verify_file(file, store.as_ref())
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

impl Panel {
    /// Read the settings' defaults (role, place, profile) off the UI thread.
    pub fn load_defaults() -> Task<Message> {
        Task::batch([
            Task::perform(
                background(|| {
                    crate::settings::Settings::load()
                        .map(|s| s.signature)
                        .map_err(|e| e.to_string())
                }),
                Message::Defaults,
            ),
            read_card_state(),
        ])
    }

    pub fn subscription(&self) -> iced::Subscription<Message> {
        if self.running.is_some() {
            iced::time::every(std::time::Duration::from_millis(200)).map(|_| Message::Tick)
        } else {
            iced::Subscription::none()
        }
    }

    /// The signing job for `input` (None while one runs or a field is missing).
    pub fn job(&mut self, input: &Path, bordereaux: usize, sha256: &[u8]) -> Option<Job> {
        let filled = [&self.role, &self.ville, &self.code_postal]
            .iter()
            .all(|v| !v.trim().is_empty());
        if self.running.is_some() || !filled {
            return None;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.running = Some(cancel.clone());
        self.done = Arc::default();
        self.expected = if self.global { 1 } else { bordereaux };
        self.result = None;
        self.queued = None;
        Some(Job {
            input: input.to_owned(),
            output: signed_path(input),
            global: self.global,
            sha1: self.sha1,
            details: crate::pes::xades::SignerDetails {
                role: self.role.trim().to_owned(),
                city: self.ville.trim().to_owned(),
                postal_code: self.code_postal.trim().to_owned(),
                country: "France".to_owned(),
            },
            p12: Some(self.p12.trim())
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            pin: std::mem::take(&mut self.pin),
            expected: self.expected,
            cancel,
            done: self.done.clone(),
            trust: self.trust.clone(),
            reviewed_sha256: sha256.to_vec(),
        })
    }

    /// The authorities chosen instead of the settings' ones (the demonstration's), if any.
    pub fn trust_override(&self) -> Option<PathBuf> {
        self.trust.clone()
    }

    /// Sign with the demonstration signer (a software certificate) and verify against the
    /// sandbox's authority; who signs is filled in when empty.
    pub fn set_demo(&mut self, demo: &crate::platform::demo::Demo) {
        self.p12 = demo.p12_signature.display().to_string();
        self.trust = Some(demo.ca.clone());
        self.demo = true;
        self.card = None;
        for (field, value) in [
            (&mut self.role, t("demo.role")),
            (&mut self.ville, t("demo.ville")),
            (&mut self.code_postal, t("demo.code_postal")),
        ] {
            if field.trim().is_empty() {
                *field = value;
            }
        }
    }

    /// `input` and its bordereau count come from the Hélios screen (the file opened).
    /// `input`: the file reviewed, its bordereaux and its SHA-256 as reviewed.
    pub fn update(
        &mut self,
        message: Message,
        input: Option<(&Path, usize, &[u8])>,
    ) -> Task<Message> {
        match message {
            Message::Defaults(Some(Ok(s))) => {
                let keep = |field: &mut String, value: Option<String>| {
                    if field.is_empty() {
                        *field = value.unwrap_or_default();
                    }
                };
                keep(&mut self.role, s.role);
                keep(&mut self.ville, s.ville);
                keep(&mut self.code_postal, s.code_postal);
                self.sha1 = s.profil.as_deref() == Some("sha1");
            }
            Message::Defaults(_) => {}
            Message::Edit(field, value) => match field {
                Field::Role => self.role = value,
                Field::Ville => self.ville = value,
                Field::CodePostal => self.code_postal = value,
                Field::P12 => self.p12 = value,
            },
            Message::Pin(pin) => self.pin = pin.into_zeroizing(),
            Message::Global(g) => self.global = g,
            Message::Sha1(s) => self.sha1 = s,
            Message::Sign => {
                if let Some(job) = input.and_then(|(path, n, sha256)| self.job(path, n, sha256)) {
                    return Task::perform(
                        background(move || {
                            let settings =
                                crate::settings::Settings::load().map_err(|e| e.to_string())?;
                            run(job, &settings)
                        }),
                        Message::Done,
                    );
                }
            }
            Message::Stop => {
                if let Some(cancel) = &self.running {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            Message::Tick => {}
            Message::Done(result) => {
                self.running = None;
                self.result = Some(result.unwrap_or_else(|| Err(t("gui.signature_interrompue"))));
                // A wrong PIN changed the counter: read it again (never retried).
                if self.p12.trim().is_empty() {
                    return read_card_state();
                }
            }
            Message::CardState(state) => {
                self.card = match state {
                    Some(Ok(Some(card))) => Some(Ok(card)),
                    Some(Ok(None)) | None => None,
                    Some(Err(e)) => Some(Err(e)),
                };
            }
            Message::Queue => {
                if let Some(Ok(signed)) = &self.result {
                    let path = signed.sortie.clone();
                    return Task::perform(
                        background(move || {
                            let settings =
                                crate::settings::Settings::load().map_err(|e| e.to_string())?;
                            let mut outbox =
                                crate::outbox::Outbox::open_default().map_err(|e| e.to_string())?;
                            // The door's checks (schema, rules, signatures) decide.
                            let (door, queued) = outbox
                                .queue_pes_checked(
                                    &path,
                                    &settings,
                                    &crate::platform::sender::who(),
                                )
                                .map_err(|e| e.to_string())?;
                            queued.map(|(id, _)| id).ok_or_else(|| door.refusal())
                        }),
                        Message::Queued,
                    );
                }
            }
            Message::Queued(result) => {
                self.queued = Some(result.unwrap_or_else(|| Err(t("gui.signature_interrompue"))));
            }
            Message::PrepareToSign => {
                if let Some((path, _, sha256)) = input
                    && self.running.is_none()
                {
                    let path = path.to_owned();
                    let reviewed = sha256.to_vec();
                    self.prepared = None;
                    return Task::perform(
                        background(move || prepare_to_sign(&path, &reviewed)),
                        Message::Prepared,
                    );
                }
            }
            Message::Prepared(result) => {
                self.prepared = Some(result.unwrap_or_else(|| Err(t("gui.signature_interrompue"))));
            }
        }
        Task::none()
    }

    fn input<'a>(&self, label: &str, value: &'a str, field: Field) -> Element<'a, Message> {
        text_input(&t(label), value)
            .on_input(move |v| Message::Edit(field.clone(), v))
            .padding(theme::PAD)
            .into()
    }

    pub fn view(&self, can_sign: bool) -> Element<'_, Message> {
        let mut col =
            column![text(t("gui.signature_titre")).size(theme::HEADING)].spacing(theme::GAP);
        col = col.push(
            row![
                self.input("gui.signature_role", &self.role, Field::Role),
                self.input("gui.signature_ville", &self.ville, Field::Ville),
                self.input(
                    "gui.signature_code_postal",
                    &self.code_postal,
                    Field::CodePostal
                ),
            ]
            .spacing(theme::GAP),
        );
        col = col.push(
            row![
                checkbox(self.global)
                    .label(t("gui.signature_globale"))
                    .on_toggle(Message::Global),
                checkbox(self.sha1)
                    .label(t("gui.signature_sha1"))
                    .on_toggle(Message::Sha1),
            ]
            .spacing(theme::GAP * 2.0),
        );
        col = col.push(self.input("gui.signature_p12", &self.p12, Field::P12));
        if let Some(_cancel) = &self.running {
            let done = self.done.load(Ordering::Relaxed);
            col = col.push(
                row![
                    text(tf(
                        "gui.signature_progression",
                        &[
                            ("fait", &done.to_string()),
                            ("total", &self.expected.to_string())
                        ],
                    ))
                    .size(theme::TEXT),
                    iced::widget::progress_bar(
                        0.0..=1.0,
                        done as f32 / self.expected.max(1) as f32
                    )
                    .length(200),
                    button(text(t("gui.arreter"))).on_press(Message::Stop),
                ]
                .spacing(theme::GAP),
            );
        } else {
            let filled = [&self.role, &self.ville, &self.code_postal]
                .iter()
                .all(|v| !v.trim().is_empty());
            if !filled {
                col = col.push(text(t("gui.signature_a_remplir")).size(theme::SMALL));
            }
            if self.demo {
                col = col.push(
                    text(tf(
                        "gui.signature_demo",
                        &[(
                            "mot_de_passe",
                            crate::platform::sandbox::pki::DEMO_P12_PASSWORD,
                        )],
                    ))
                    .size(theme::SMALL),
                );
            }
            let mut locked = false;
            if self.p12.trim().is_empty() {
                match &self.card {
                    Some(Ok(card)) => {
                        locked = card.pin.locked;
                        col = col.push(
                            text(tf(
                                "gui.signature_carte",
                                &[("nom", &card.holder), ("label", &card.label)],
                            ))
                            .size(theme::SMALL),
                        );
                        if let Some(line) = pin_warning(&card.label, &card.pin) {
                            col = col.push(text(line).size(theme::TEXT));
                        }
                    }
                    Some(Err(e)) => col = col.push(text(e.clone()).size(theme::SMALL)),
                    None => {}
                }
            }
            let can_sign = can_sign && !locked;
            col = col.push(
                row![
                    text_input(&t("gui.pin_signature"), &self.pin)
                        .secure(true)
                        .on_input(|v| Message::Pin(v.into()))
                        .on_submit(Message::Sign)
                        .width(340)
                        .padding(theme::PAD),
                    button(text(t("gui.signer")))
                        .padding(theme::PAD)
                        .on_press_maybe((can_sign && filled).then_some(Message::Sign)),
                    button(text(t("gui.preparer_pour_signature")))
                        .padding(theme::PAD)
                        .on_press_maybe(
                            (can_sign && self.running.is_none()).then_some(Message::PrepareToSign)
                        ),
                ]
                .spacing(theme::GAP),
            );
            match &self.prepared {
                Some(Ok(id)) => {
                    col = col.push(
                        text(tf("gui.pes_prepare_a_signer", &[("id", &id.to_string())]))
                            .size(theme::TEXT),
                    )
                }
                Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
                None => {}
            }
        }
        match &self.result {
            Some(Ok(signed)) => col = col.push(self.signed_view(signed)),
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        col.into()
    }

    /// The signed file, the verifier's verdict per signature, and "Mettre en file d'envoi".
    fn signed_view<'a>(&'a self, signed: &'a Signed) -> Element<'a, Message> {
        let mut col = column![
            text(tf(
                "signature.signe",
                &[
                    ("n", &signed.signatures.to_string()),
                    ("chemin", &signed.sortie.display().to_string()),
                ],
            ))
            .size(theme::TEXT)
        ]
        .spacing(4);
        for w in &signed.warnings {
            col = col.push(text(format!("{} : {w}", t("commun.avertissement"))).size(theme::SMALL));
        }
        col = col.push(verdict_view(&signed.verdict));
        match &self.queued {
            Some(Ok(id)) => {
                col = col.push(
                    text(tf(
                        "envoi.cli.en_file",
                        &[
                            ("id", &id.to_string()),
                            ("libelle", &signed.sortie.display().to_string()),
                        ],
                    ))
                    .size(theme::TEXT),
                )
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => col = col.push(button(text(t("gui.mettre_en_file"))).on_press(Message::Queue)),
        }
        col.into()
    }
}

/// The verifier's verdict: all valid or not, then each signature with its target and reasons.
pub fn verdict_view<'a, M: 'a>(verdict: &Result<Arc<FileVerdict>, String>) -> Element<'a, M> {
    let mut col = column![].spacing(4);
    match verdict {
        Ok(verdict) => {
            col = col.push(
                text(if verdict.valide {
                    t("gui.signature_toutes_valides")
                } else {
                    t("gui.signature_des_invalides")
                })
                .size(theme::TEXT),
            );
            for problem in &verdict.erreurs {
                col = col.push(text(problem.clone()).size(theme::SMALL));
            }
            for s in &verdict.signatures {
                let state = if s.valide {
                    t("gui.signature_valide")
                } else {
                    t("gui.signature_invalide")
                };
                let target = s
                    .cible
                    .clone()
                    .unwrap_or_else(|| t("gui.signature_fichier"));
                let mut line = format!("{target} : {state}");
                if !s.raison.is_empty() {
                    line.push_str(&format!(" ({})", s.raison.join(" ; ")));
                }
                col = col.push(text(line).size(theme::SMALL));
                for warning in &s.avertissements {
                    col = col.push(text(warning.clone()).size(theme::SMALL));
                }
                if let Some(who) = &s.signataire {
                    let when = s
                        .date_signature
                        .as_deref()
                        .map(theme::french_datetime)
                        .unwrap_or_default();
                    col = col.push(
                        text(tf("gui.signature_par", &[("qui", who), ("quand", &when)]))
                            .size(theme::SMALL),
                    );
                }
            }
        }
        Err(e) => col = col.push(text(e.clone()).size(theme::SMALL)),
    }
    col.into()
}

/// What the card says of the PIN before it is typed: locked, last try, tries already lost, or
/// typed on the reader's pad.
fn pin_warning(label: &str, state: &crate::card::PinState) -> Option<String> {
    if state.locked {
        Some(tf("gui.pin_bloque", &[("label", label)]))
    } else if state.final_try {
        Some(tf("gui.pin_dernier_essai", &[("label", label)]))
    } else if state.count_low {
        Some(tf("gui.pin_bas", &[("label", label)]))
    } else if state.pin_pad {
        Some(tf("saisie.pin_sur_lecteur", &[("label", label)]))
    } else {
        None
    }
}
