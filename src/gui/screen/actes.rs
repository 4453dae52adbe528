//! Actes: the six-field form (nature, classification with its picker, numéro interne, date,
//! objet, the act file) and the annexes with their typology; every rule checked off the UI
//! thread as the user types, each finding shown under its field; "Préparer" puts the act in the
//! outbox, "Télétransmettre" does the same and opens the Envois screen to send it. A file
//! dropped on the window becomes the act, then the next annexe.

use crate::actes::classification::{Classification, Resultat};
use crate::actes::model::{Nature, PieceSaisie, Saisie};
use crate::findings::Finding;
use crate::gui::{background, theme};
use crate::messages::{t, tf};
use crate::usecases::prepare_act::ShownFile;
use iced::widget::{button, column, pick_list, row, text, text_input};
use iced::{Element, Length, Task};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A nature as the list shows it: « 1 — Délibérations ».
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatureChoice(pub Nature);

impl std::fmt::Display for NatureChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} — {}", self.0.code(), self.0.label())
    }
}

/// Findings about the collectivité's identity (`actes::rules::check_collectivite`), which the
/// window's user fixes in « Paramètres ».
const COLLECTIVITE_CODES: [&str; 6] = [
    "actes.siren",
    "actes.departement",
    "actes.arrondissement",
    "actes.nature_collectivite",
    "actes.referent",
    "actes.adresses_retour",
];

/// Where a finding shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Nature,
    Matiere,
    Numero,
    Date,
    Objet,
    Acte,
    Annexe(usize),
    Other,
}

#[derive(Debug, Clone, Default)]
struct Annexe {
    chemin: String,
    typologie: String,
}

#[derive(Default)]
pub struct State {
    nature: Option<NatureChoice>,
    matiere: String,
    recherche: String,
    numero: String,
    date: String,
    objet: String,
    acte: String,
    acte_type: String,
    annexes: Vec<Annexe>,
    /// The classification in force on this workstation, for the picker.
    classification: Option<Arc<Classification>>,
    findings: Vec<Finding>,
    /// Each check is numbered; an answer to an older one is dropped, and a check that a newer
    /// edit overtakes while it waits is not run (shared with the checking thread).
    generation: Arc<std::sync::atomic::AtomicU64>,
    checking: bool,
    busy: bool,
    /// After "Télétransmettre": open Envois once queued.
    send_after: bool,
    /// The fields the user has filled in: their findings show; the others wait until
    /// « Préparer » (a blank form is not a list of errors).
    touched: Vec<Place>,
    /// « Préparer » or « Télétransmettre » was pressed: every finding shows.
    show_all: bool,
    result: Option<Result<String, String>>,
    /// Each document's SHA-256 as the last check saw it: what « Signer » signs.
    shown: Vec<ShownFile>,
    /// What the answer of the queueing under way says when it succeeds (an assets key).
    queued_as: &'static str,
    /// The signature card's PIN, wiped once handed over (and when dropped).
    pin: zeroize::Zeroizing<String>,
}

/// A check's findings, and each document's hash as that check read it.
pub type CheckOutcome = (Vec<Finding>, Vec<ShownFile>);

#[derive(Debug, Clone)]
pub enum Field {
    Matiere,
    Numero,
    Date,
    Objet,
    Acte,
    ActeType,
    AnnexeChemin(usize),
    AnnexeType(usize),
}

#[derive(Debug, Clone)]
pub enum Message {
    /// Read the classification in force (screen opened).
    Load,
    Loaded(Option<Result<Option<Arc<Classification>>, String>>),
    Nature(NatureChoice),
    Edit(Field, String),
    Search(String),
    Pick(String),
    AddAnnexe,
    RemoveAnnexe(usize),
    Dropped(PathBuf),
    /// « Parcourir… » beside the act (one file) or « Ajouter des annexes… » (several).
    Browse(crate::gui::files::Request),
    /// What the dialog chose: the act (beside its field), or annexes added.
    Chosen(crate::gui::files::Mode, Vec<PathBuf>),
    Checked(u64, Option<Result<CheckOutcome, String>>),
    Prepare,
    Transmit,
    /// Queue it `préparé`, to be signed later (here in « À signer », or after a lot).
    PrepareToSign,
    PinChanged(crate::gui::Secret),
    /// Sign it with the card (the PIN typed) and queue it.
    SignAndQueue,
    Queued(Option<Result<(i64, String), String>>),
}

impl State {
    fn saisie(&self) -> Saisie {
        let piece = |chemin: &str, typologie: &str| PieceSaisie {
            chemin: PathBuf::from(chemin.trim()),
            typologie: Some(typologie.trim().to_owned()).filter(|t| !t.is_empty()),
        };
        let filled = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        Saisie {
            nature: self.nature.map(|n| n.0.code().to_string()),
            matiere: filled(&self.matiere),
            numero: filled(&self.numero),
            date: filled(&self.date),
            objet: filled(&self.objet),
            acte: filled(&self.acte).map(|a| piece(&a, &self.acte_type)),
            annexes: self
                .annexes
                .iter()
                .filter(|a| !a.chemin.trim().is_empty())
                .map(|a| piece(&a.chemin, &a.typologie))
                .collect(),
        }
    }

    /// Whether the user has typed anything (an empty form shows no findings).
    fn started(&self) -> bool {
        self.nature.is_some()
            || [
                &self.matiere,
                &self.numero,
                &self.date,
                &self.objet,
                &self.acte,
            ]
            .iter()
            .any(|v| !v.trim().is_empty())
    }

    /// Run every rule on the form as it is now, off the UI thread.
    fn check(&mut self) -> Task<Message> {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.result = None;
        if !self.started() {
            self.findings.clear();
            return Task::none();
        }
        self.checking = true;
        let saisie = self.saisie();
        let latest = self.generation.clone();
        Task::perform(
            background(move || {
                // While the user types, only the last edit's check runs: the files are read and
                // parsed once the typing pauses, not at every keystroke.
                std::thread::sleep(std::time::Duration::from_millis(250));
                if latest.load(Ordering::SeqCst) != generation {
                    return Ok((Vec::new(), Vec::new()));
                }
                checked(&saisie)
            }),
            move |r| Message::Checked(generation, r),
        )
    }

    /// The check the last edit started, run in place (the window runs it in the background):
    /// its number and its answer.
    pub fn check_now(&self) -> (u64, Result<CheckOutcome, String>) {
        let result = checked(&self.saisie());
        (self.generation.load(Ordering::SeqCst), result)
    }

    /// The classification the screen loads when shown, read in place.
    pub fn load_now(&self) -> Result<Option<Arc<Classification>>, String> {
        load_classification()
    }

    /// What « Préparer » does in the background, run in place.
    pub fn queue_now(&self) -> Result<(i64, String), String> {
        queue(&self.saisie(), false)
    }

    /// The findings as the screen shows them.
    pub fn findings_text(&self) -> Vec<String> {
        self.findings.iter().map(finding_text).collect()
    }

    /// Whether a queued act should open Envois now (the app reads it after `Queued`).
    pub fn take_send_after(&mut self) -> bool {
        std::mem::take(&mut self.send_after)
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Load => {
                return Task::perform(background(load_classification), Message::Loaded);
            }
            Message::Loaded(Some(Ok(c))) => self.classification = c,
            Message::Loaded(_) => {}
            Message::Nature(n) => {
                self.nature = Some(n);
                self.touch(Place::Nature);
                return self.check();
            }
            Message::Edit(field, value) => {
                self.touch(match field {
                    Field::Matiere => Place::Matiere,
                    Field::Numero => Place::Numero,
                    Field::Date => Place::Date,
                    Field::Objet => Place::Objet,
                    Field::Acte | Field::ActeType => Place::Acte,
                    Field::AnnexeChemin(i) | Field::AnnexeType(i) => Place::Annexe(i),
                });
                match field {
                    Field::Matiere => self.matiere = value,
                    Field::Numero => self.numero = value,
                    Field::Date => self.date = value,
                    Field::Objet => self.objet = value,
                    Field::Acte => self.acte = value,
                    Field::ActeType => self.acte_type = value,
                    Field::AnnexeChemin(i) | Field::AnnexeType(i) if i >= self.annexes.len() => {}
                    Field::AnnexeChemin(i) => self.annexes[i].chemin = value,
                    Field::AnnexeType(i) => self.annexes[i].typologie = value,
                }
                return self.check();
            }
            Message::Search(q) => self.recherche = q,
            Message::Pick(code) => {
                self.matiere = code;
                self.touch(Place::Matiere);
                self.recherche.clear();
                return self.check();
            }
            Message::AddAnnexe => self.annexes.push(Annexe::default()),
            Message::RemoveAnnexe(i) => {
                if i < self.annexes.len() {
                    self.annexes.remove(i);
                    return self.check();
                }
            }
            Message::Browse(request) => {
                let mode = request.mode;
                return crate::gui::files::choose(request, move |p| Message::Chosen(mode, p));
            }
            Message::Chosen(crate::gui::files::Mode::Open, paths) => {
                if let Some(path) = paths.into_iter().next() {
                    self.acte = path.display().to_string();
                    self.touch(Place::Acte);
                    return self.check();
                }
            }
            Message::Chosen(_, paths) => {
                if paths.is_empty() {
                    return Task::none();
                }
                for path in paths {
                    self.touch(Place::Annexe(self.annexes.len()));
                    self.annexes.push(Annexe {
                        chemin: path.display().to_string(),
                        typologie: String::new(),
                    });
                }
                return self.check();
            }
            Message::Dropped(path) => {
                let path = path.display().to_string();
                if self.acte.trim().is_empty() {
                    self.acte = path;
                    self.touch(Place::Acte);
                } else {
                    self.touch(Place::Annexe(self.annexes.len()));
                    self.annexes.push(Annexe {
                        chemin: path,
                        typologie: String::new(),
                    });
                }
                return self.check();
            }
            Message::Checked(generation, result) => {
                if generation == self.generation.load(Ordering::SeqCst) {
                    self.checking = false;
                    match result {
                        Some(Ok((findings, shown))) => {
                            self.findings = findings;
                            self.shown = shown;
                        }
                        Some(Err(e)) => self.result = Some(Err(e)),
                        None => {}
                    }
                }
            }
            Message::PinChanged(pin) => self.pin = pin.into_zeroizing(),
            Message::Prepare
            | Message::Transmit
            | Message::PrepareToSign
            | Message::SignAndQueue
                if self.findings.iter().any(Finding::is_blocking) =>
            {
                // Not ready: every finding shows, also those of fields not filled in yet.
                self.show_all = true;
            }
            Message::Prepare | Message::Transmit if !self.busy => {
                self.busy = true;
                self.send_after = matches!(message, Message::Transmit);
                self.queued_as = "gui.actes_en_file";
                self.result = None;
                let saisie = self.saisie();
                return Task::perform(background(move || queue(&saisie, false)), Message::Queued);
            }
            Message::PrepareToSign if !self.busy => {
                self.busy = true;
                self.queued_as = "gui.actes_prepare_a_signer";
                self.send_after = false;
                self.result = None;
                let saisie = self.saisie();
                return Task::perform(background(move || queue(&saisie, true)), Message::Queued);
            }
            Message::SignAndQueue if !self.busy => {
                if self.pin.is_empty() {
                    self.result = Some(Err(t("gui.actes_pin_requis")));
                    return Task::none();
                }
                self.busy = true;
                self.send_after = false;
                self.queued_as = "gui.actes_signe_en_file";
                self.result = None;
                let saisie = self.saisie();
                let shown = self.shown.clone();
                let pin = std::mem::take(&mut self.pin);
                return Task::perform(
                    background(move || sign_and_queue(&saisie, &shown, pin)),
                    Message::Queued,
                );
            }
            Message::Prepare
            | Message::Transmit
            | Message::PrepareToSign
            | Message::SignAndQueue => {}
            Message::Queued(result) => {
                self.busy = false;
                match result {
                    Some(Ok((id, id_acte))) => {
                        let said = match self.queued_as {
                            "" => "gui.actes_en_file",
                            key => key,
                        };
                        self.result = Some(Ok(tf(
                            said,
                            &[("id", &id.to_string()), ("id_acte", &id_acte)],
                        )));
                        // A new act starts from a clean form (the nature stays).
                        let nature = self.nature;
                        let classification = self.classification.take();
                        // Any check still under way is about the act just queued.
                        self.generation.fetch_add(1, Ordering::SeqCst);
                        *self = State {
                            nature,
                            classification,
                            result: self.result.take(),
                            send_after: self.send_after,
                            generation: self.generation.clone(),
                            ..State::default()
                        };
                    }
                    Some(Err(e)) => {
                        self.send_after = false;
                        self.result = Some(Err(e));
                    }
                    None => self.send_after = false,
                }
            }
        }
        Task::none()
    }

    /// Which field of the form a finding belongs to, from the place the rules name.
    fn place_of(&self, element: &str) -> Place {
        let champ = |key: &str| t(&format!("actes.champs.{key}"));
        // A named file's place starts like « fichier de l'acte « » or « annexe 2 « ».
        let prefix = |named: String| named.trim_end_matches(['»', ' ']).to_owned();
        for (key, place) in [
            ("nature", Place::Nature),
            ("matiere", Place::Matiere),
            ("classification", Place::Matiere),
            ("numero", Place::Numero),
            ("date", Place::Date),
            ("objet", Place::Objet),
            ("acte", Place::Acte),
        ] {
            if element == champ(key) {
                return place;
            }
        }
        if element.starts_with(&prefix(tf("actes.champs.acte_nomme", &[("fichier", "")]))) {
            return Place::Acte;
        }
        (0..self.annexes.len())
            .find(|i| {
                let named = tf(
                    "actes.champs.annexe",
                    &[("numero", &(i + 1).to_string()), ("fichier", "")],
                );
                element.starts_with(&prefix(named))
            })
            .map_or(Place::Other, Place::Annexe)
    }

    fn touch(&mut self, place: Place) {
        if !self.touched.contains(&place) {
            self.touched.push(place);
        }
    }

    /// The findings shown under `place`: those of a field once filled in (or all after
    /// « Préparer »); those about the collectivité's settings always.
    fn findings_at(&self, place: Place) -> Vec<&Finding> {
        if place != Place::Other && !self.show_all && !self.touched.contains(&place) {
            return Vec::new();
        }
        self.findings
            .iter()
            .filter(|f| {
                let at = f
                    .lieu
                    .element
                    .as_deref()
                    .map_or(Place::Other, |e| self.place_of(e));
                at == place
            })
            .collect()
    }

    fn field<'a>(
        &'a self,
        label: &str,
        input: Element<'a, Message>,
        findings: Vec<&'a Finding>,
    ) -> Element<'a, Message> {
        let mut col = column![
            row![text(t(label)).width(220).size(theme::TEXT), input]
                .spacing(theme::GAP)
                .align_y(iced::alignment::Vertical::Center)
        ]
        .spacing(2);
        for f in findings {
            col = col.push(finding_line(f));
        }
        col.into()
    }

    fn input<'a>(&self, placeholder: &str, value: &'a str, field: Field) -> Element<'a, Message> {
        text_input(placeholder, value)
            .on_input(move |v| Message::Edit(field.clone(), v))
            .padding(theme::PAD)
            .into()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut col = column![text(t("gui.actes_titre")).size(theme::TITLE)].spacing(theme::GAP);
        let natures: Vec<NatureChoice> = Nature::ALL.into_iter().map(NatureChoice).collect();
        col = col.push(
            self.field(
                "gui.actes_nature",
                pick_list(natures, self.nature, Message::Nature)
                    .placeholder(t("gui.actes_nature_choisir"))
                    .into(),
                self.findings_at(Place::Nature),
            ),
        );
        col = col.push(
            self.field(
                "gui.actes_matiere",
                row![
                    self.input("1.2.3", &self.matiere, Field::Matiere),
                    text_input(&t("gui.actes_recherche"), &self.recherche)
                        .on_input(Message::Search)
                        .padding(theme::PAD),
                ]
                .spacing(theme::GAP)
                .into(),
                self.findings_at(Place::Matiere),
            ),
        );
        if let Some(found) = self.search_results() {
            let mut list = column![].spacing(2);
            for r in found {
                list = list.push(
                    button(text(format!("{} — {}", r.code, r.chemin)).size(theme::SMALL))
                        .on_press(Message::Pick(r.code.clone()))
                        .style(button::text),
                );
            }
            col = col.push(list);
        }
        col = col.push(self.field(
            "gui.actes_numero",
            self.input("DEL2026_042", &self.numero, Field::Numero),
            self.findings_at(Place::Numero),
        ));
        col = col.push(self.field(
            "gui.actes_date",
            self.input(&t("gui.format_date"), &self.date, Field::Date),
            self.findings_at(Place::Date),
        ));
        col = col.push(self.field(
            "gui.actes_objet",
            self.input(&t("gui.actes_objet_aide"), &self.objet, Field::Objet),
            self.findings_at(Place::Objet),
        ));
        col = col.push(
            self.field(
                "gui.actes_fichier",
                row![
                    self.input(&t("gui.actes_deposer"), &self.acte, Field::Acte),
                    button(text(t("gui.parcourir")))
                        .padding(theme::PAD)
                        .on_press(Message::Browse(crate::gui::files::Request::open(
                            crate::gui::files::Kind::Acte
                        ))),
                    text_input("99_DE", &self.acte_type)
                        .on_input(|v| Message::Edit(Field::ActeType, v))
                        .width(100)
                        .padding(theme::PAD),
                ]
                .spacing(theme::GAP)
                .into(),
                self.findings_at(Place::Acte),
            ),
        );
        for (i, a) in self.annexes.iter().enumerate() {
            col = col.push(
                self.field(
                    "gui.actes_annexe",
                    row![
                        self.input(&t("gui.actes_deposer"), &a.chemin, Field::AnnexeChemin(i)),
                        text_input("21_RP", &a.typologie)
                            .on_input(move |v| Message::Edit(Field::AnnexeType(i), v))
                            .width(100)
                            .padding(theme::PAD),
                        button(text(t("gui.retirer"))).on_press(Message::RemoveAnnexe(i)),
                    ]
                    .spacing(theme::GAP)
                    .into(),
                    self.findings_at(Place::Annexe(i)),
                ),
            );
        }
        col = col.push(
            row![
                button(text(t("gui.actes_ajouter_annexe"))).on_press(Message::AddAnnexe),
                button(text(t("gui.actes_parcourir_annexes"))).on_press(Message::Browse(
                    crate::gui::files::Request::open_many(crate::gui::files::Kind::Acte)
                )),
            ]
            .spacing(theme::GAP),
        );
        // Findings without a field of the form (the collectivité, the total size…).
        let others = self.findings_at(Place::Other);
        for f in &others {
            col = col.push(finding_line(f));
        }
        // The collectivité's identity comes from the settings: say where to fill it in here.
        if others.iter().any(|f| COLLECTIVITE_CODES.contains(&f.code)) {
            col = col.push(text(t("gui.actes_voir_parametres")).size(theme::TEXT));
        }
        let blocking = self.findings.iter().any(Finding::is_blocking);
        // Pressed with blocking findings, « Préparer » shows them all instead of queueing.
        let ready = self.started() && !self.checking && !self.busy;
        let status = if self.checking {
            t("gui.actes_controle_en_cours")
        } else if !self.started() {
            String::new()
        } else if blocking {
            t("gui.actes_a_corriger")
        } else {
            t("gui.actes_pret")
        };
        col = col.push(text(status).size(theme::TEXT));
        col = col.push(
            row![
                button(text(t("gui.actes_preparer")))
                    .on_press_maybe(ready.then_some(Message::Prepare)),
                button(text(t("gui.actes_teletransmettre")))
                    .on_press_maybe(ready.then_some(Message::Transmit)),
                button(text(t("gui.actes_preparer_signature")))
                    .on_press_maybe(ready.then_some(Message::PrepareToSign)),
            ]
            .spacing(theme::GAP),
        );
        // Signing here: the card's signature PIN, then one click signs what was checked.
        col = col.push(
            row![
                text_input(&t("gui.pin_signature"), &self.pin)
                    .secure(true)
                    .on_input(|v| Message::PinChanged(v.into()))
                    .width(Length::Fixed(300.0)),
                button(text(t("gui.actes_signer_et_mettre_en_file")))
                    .on_press_maybe(ready.then_some(Message::SignAndQueue)),
            ]
            .spacing(theme::GAP),
        );
        match &self.result {
            Some(Ok(m)) | Some(Err(m)) => col = col.push(text(m.clone()).size(theme::TEXT)),
            None => {}
        }
        theme::scrolling(col).height(Length::Fill).into()
    }

    /// Up to 12 matières matching what is typed in the search box.
    fn search_results(&self) -> Option<Vec<Resultat>> {
        let query = self.recherche.trim();
        if query.chars().count() < 2 {
            return None;
        }
        let c = self.classification.as_ref()?;
        Some(c.search(query).into_iter().take(12).collect())
    }
}

fn finding_text(f: &Finding) -> String {
    let level = if f.is_blocking() {
        t("commun.erreur")
    } else {
        t("commun.avertissement")
    };
    format!("{level} : {}", f.message)
}

fn finding_line(f: &Finding) -> Element<'_, Message> {
    text(finding_text(f)).size(theme::SMALL).into()
}

/// The classification in force for the settings' collectivité, if one was ever kept.
fn load_classification() -> Result<Option<Arc<Classification>>, String> {
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let siren = settings.collectivite.siren.clone().unwrap_or_default();
    let db = crate::actes::register::default_database().map_err(|e| e.to_string())?;
    let store =
        crate::actes::classification::ClassificationStore::open(&db).map_err(|e| e.to_string())?;
    store
        .in_force_at(&siren, crate::actes::model::today())
        .map(|c| c.map(Arc::new))
        .map_err(|e| e.to_string())
}

/// An act that passed every rule, and the collectivité it is from.
type Ready = (crate::actes::model::Acte, crate::actes::model::Collectivite);

/// Every rule on the form, with the settings' collectivité; the act when nothing blocks.
fn check(saisie: &Saisie, for_sending: bool) -> Result<(Vec<Finding>, Option<Ready>), String> {
    use crate::usecases::prepare_act::{Demande, check_act};
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let collectivite = crate::actes::model::Collectivite::from_settings(&settings.collectivite);
    let prepared = check_act(
        saisie,
        &Demande {
            settings: &settings,
            collectivite: &collectivite,
            style: settings.collectivite.style_noms,
            classification: None,
            for_sending,
            document_papier: false,
        },
    );
    let acte = prepared.controle.acte.map(|a| (a, collectivite));
    Ok((prepared.controle.constats, acte))
}

/// The findings of `saisie` and the hash of each document they were made on.
fn checked(saisie: &Saisie) -> Result<CheckOutcome, String> {
    let shown = crate::usecases::prepare_act::shown_files(saisie);
    check(saisie, false).map(|(findings, _)| (findings, shown))
}

/// Check again (the files may have changed) and the act ready to queue, or why not.
fn ready_act(saisie: &Saisie) -> Result<Ready, String> {
    let (findings, acte) = check(saisie, true)?;
    let Some((acte, collectivite)) = acte else {
        let first = findings
            .iter()
            .find(|f| f.is_blocking())
            .map(|f| f.message.clone())
            .unwrap_or_default();
        return Err(tf("gui.actes_refuse", &[("detail", &first)]));
    };
    Ok((acte, collectivite))
}

/// Check again and put the act in the outbox (`préparé` when `to_sign`).
fn queue(saisie: &Saisie, to_sign: bool) -> Result<(i64, String), String> {
    let (acte, collectivite) = ready_act(saisie)?;
    crate::usecases::prepare_act::queue_act(
        &acte,
        &collectivite,
        None,
        to_sign,
        &crate::platform::sender::who(),
    )
}

/// Check again, sign with the card (the PIN typed) what was shown, and queue it.
fn sign_and_queue(
    saisie: &Saisie,
    shown: &[ShownFile],
    pin: zeroize::Zeroizing<String>,
) -> Result<(i64, String), String> {
    use crate::card::select::KeyChoice;
    use crate::certs::Role;
    let (acte, collectivite) = ready_act(saisie)?;
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let key = crate::usecases::KeyToOpen {
        choice: KeyChoice::from_settings(&settings.carte, Role::Signature),
        role: Role::Signature,
        prompt: Box::new(crate::card::pin::FixedPrompt::new(&pin)),
    };
    drop(pin);
    crate::usecases::prepare_act::sign_and_queue_act(
        &acte,
        &collectivite,
        shown,
        key,
        &settings,
        &crate::platform::sender::who(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::simulator;

    /// A finding about the collectivité's identity says where the window's user fixes it.
    #[test]
    fn collectivite_findings_point_to_the_settings_screen() {
        let mut state = State::default();
        let finding = |code: &'static str| {
            Finding::blocking(
                code,
                format!("{code} : manquant"),
                crate::findings::Location::default(),
            )
        };
        let _ = state.update(Message::Checked(
            0,
            Some(Ok((vec![finding("actes.taille")], Vec::new()))),
        ));
        let hint = t("gui.actes_voir_parametres");
        assert!(simulator(state.view()).find(hint.as_str()).is_err());
        let _ = state.update(Message::Checked(
            0,
            Some(Ok((vec![finding("actes.siren")], Vec::new()))),
        ));
        let mut ui = simulator(state.view());
        ui.find(finding_text(&finding("actes.siren")).as_str())
            .expect("the finding");
        ui.find(hint.as_str()).expect("where to fix it");
    }

    /// « Parcourir… » beside the act asks for one act file (PDF, JPEG, PNG); « Choisir des
    /// annexes… » for several; what is chosen fills the act, or adds annexes (issue 22).
    #[test]
    fn the_dialogs_ask_for_acts_and_fill_the_form() {
        use crate::gui::files::{Kind, Mode, Request};
        let mut state = State::default();
        {
            let mut ui = simulator(state.view());
            ui.click(t("gui.parcourir").as_str()).expect("Parcourir…");
            ui.click(t("gui.actes_parcourir_annexes").as_str())
                .expect("annexes");
            let asked: Vec<Request> = ui
                .into_messages()
                .filter_map(|m| match m {
                    Message::Browse(r) => Some(r),
                    _ => None,
                })
                .collect();
            assert_eq!(
                asked,
                vec![Request::open(Kind::Acte), Request::open_many(Kind::Acte)]
            );
        }
        let _ = state.update(Message::Chosen(
            Mode::Open,
            vec!["/d/deliberation.pdf".into()],
        ));
        let _ = state.update(Message::Chosen(
            Mode::OpenMany,
            vec!["/d/plan.pdf".into(), "/d/photo.png".into()],
        ));
        // A second act chosen replaces the first; closing the dialog changes nothing.
        let _ = state.update(Message::Chosen(Mode::Open, vec!["/d/arrete.pdf".into()]));
        let _ = state.update(Message::Chosen(Mode::Open, Vec::new()));
        let _ = state.update(Message::Chosen(Mode::OpenMany, Vec::new()));
        assert_eq!(state.acte, "/d/arrete.pdf");
        let annexes: Vec<&str> = state.annexes.iter().map(|a| a.chemin.as_str()).collect();
        assert_eq!(annexes, ["/d/plan.pdf", "/d/photo.png"]);
    }
}
