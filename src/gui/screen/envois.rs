//! Envois: the outbox, newest first; only one page of rows is built.

use crate::gui::{background, theme};
use crate::messages::{t, tf};
use crate::outbox::{Filter, Item, Outbox, State as ItemState};
use crate::platform::s2low::UploadProgress;
use crate::platform::sender::Report;
use crate::usecases::sign_items::SignedItem;
use iced::widget::{button, column, row, scrollable, text, text_input};
use iced::{Element, Length, Task};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use zeroize::Zeroizing;

const PAGE: usize = 100;

/// A filter choice as the lists show it: « Tous » or one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choix<T> {
    Tous,
    Un(T),
}

impl std::fmt::Display for Choix<crate::outbox::Kind> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&match self {
            Choix::Tous => t("gui.filtre_tous_genres"),
            Choix::Un(crate::outbox::Kind::Acte) => t("gui.filtre_actes"),
            Choix::Un(crate::outbox::Kind::Pes) => t("gui.filtre_pes"),
        })
    }
}

impl std::fmt::Display for Choix<ItemState> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&match self {
            Choix::Tous => t("gui.filtre_tous_etats"),
            Choix::Un(state) => state.label(),
        })
    }
}

/// The search box's widget id (the tests type in it).
pub const SEARCH_ID: &str = "envois-chercher";
/// The transaction number field of a PES « transmis, à rattacher ».
pub const TRANSACTION_ID: &str = "envois-transaction";

#[derive(Default)]
pub struct State {
    items: Vec<Item>,
    counts: Vec<(ItemState, u64)>,
    error: Option<String>,
    page: usize,
    /// The card PIN for the next sending, wiped once handed over (and when dropped).
    pin: Zeroizing<String>,
    /// The platform account's password, asked only when the settings name a login.
    password: Zeroizing<String>,
    /// The platform login of the settings, if any (read with each page).
    login: Option<String>,
    /// Set while a sending runs: pressing "Arrêter" sets it.
    sending: Option<Arc<AtomicBool>>,
    /// Bytes of the upload under way, read at each tick while sending.
    upload: Arc<UploadProgress>,
    /// What the last sending did, or why it could not run.
    last: Option<Result<Report, String>>,
    /// The demonstration platform, when started: sending goes there with its certificate.
    demo: Option<crate::platform::demo::Demo>,
    /// What came back in the last seven days, by kind (the home screen shows it).
    received: Vec<(String, u64)>,
    /// Bytes of the outbox's copies of the items' files.
    copies: u64,
    /// The item opened in detail (acquit, documents received, journal).
    detail: Option<Result<Box<super::envoi_detail::Detail>, String>>,
    /// What opening a received document said.
    opened: Option<Result<String, String>>,
    /// An answer to a préfecture letter being written.
    reply: Option<ReplyForm>,
    /// Which items the list shows.
    genre: Option<crate::outbox::Kind>,
    etat: Option<ItemState>,
    /// The dates typed for the period (JJ/MM/AAAA), applied when they read as dates.
    du: String,
    au: String,
    /// The text searched (objet, numéro, file name, IDActe), applied as typed.
    chercher: String,
    /// The lot file to write or read.
    lot: String,
    /// A lot checked, what it said (who prepared and signed it), and whether it is the unsigned
    /// lot the person chose to accept: imported only on « Importer ces envois ».
    lot_checked: Option<(std::path::PathBuf, String, bool)>,
    /// A lot refused only for being unsigned: the person may accept it (received by hand).
    lot_unsigned: Option<std::path::PathBuf>,
    /// What the last action on the list or an item said (lot, withdrawal, retry, cancellation).
    action: Option<Result<String, String>>,
    /// An action under way (the buttons wait).
    busy: bool,
    /// PES transmis that wait to be attached to their transaction.
    to_attach: u64,
    /// The transaction number typed to attach the PES shown (« transmis, à rattacher »).
    transaction: String,
    /// The collectivités' names by SIREN when several are set (see [`Page`]).
    collectivites: std::collections::BTreeMap<String, String>,
    /// What the home screen says of the classification (none kept, or old), if anything.
    classification: Option<String>,
    /// The items prepared, waiting for their signature (« À signer »).
    to_sign: Vec<Item>,
    /// The items of « À signer » unticked: all are chosen unless unticked.
    not_chosen: std::collections::BTreeSet<i64>,
    /// The card PIN for the signature key, wiped once handed over (and when dropped); not the
    /// authentication PIN of the sending bar.
    sign_pin: Zeroizing<String>,
    /// A signing under way (the button waits).
    signing: bool,
    /// What the last signing did per item, or why nothing was signed.
    signed: Option<Result<Vec<SignedItem>, String>>,
}

/// The answer to a préfecture letter: the letter (and, for a demande de pièces, the pieces or
/// the refusal to send them; for a lettre d'observations, the answer or its rejection).
#[derive(Debug, Clone, Default)]
pub struct ReplyForm {
    pub item: i64,
    pub courrier: String,
    /// The letter's type: 2 courrier simple, 3 demande de pièces complémentaires (pieces or
    /// refusal), 4 lettre d'observations (answer or rejection).
    pub kind: u8,
    pub lettre: String,
    pub type_lettre: String,
    /// `FICHIER:TYPE`, separated by `;`.
    pub pieces: String,
    pub refus: bool,
    pub sending: bool,
    pub result: Option<Result<String, String>>,
}

#[derive(Debug, Clone)]
pub enum ReplyField {
    Lettre,
    TypeLettre,
    Pieces,
}

/// One page of items and what the screen shows beside it.
#[derive(Debug, Clone)]
pub struct Page {
    items: Vec<Item>,
    /// Items per state.
    counts: Vec<(ItemState, u64)>,
    /// The platform login of the settings.
    login: Option<String>,
    /// What came back in the last seven days, by kind.
    received: Vec<(String, u64)>,
    /// Bytes of the outbox's copies of the items' files.
    copies: u64,
    /// The items prepared, waiting for their signature.
    to_sign: Vec<Item>,
    /// PES transmis that wait to be attached to their transaction.
    to_attach: u64,
    /// The collectivités' names by SIREN, when several are set (the list then says whose each
    /// item is); empty otherwise.
    collectivites: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Loaded(Option<Result<Page, String>>),
    Page(usize),
    PinChanged(crate::gui::Secret),
    PasswordChanged(crate::gui::Secret),
    Send,
    Stop,
    Sent(Option<Result<Report, String>>),
    /// Redraw the progress while sending.
    Tick,
    Select(i64),
    Selected(Option<Result<Box<super::envoi_detail::Detail>, String>>),
    CloseDetail,
    OpenReceived(i64, usize),
    OpenedReceived(Option<Result<std::path::PathBuf, String>>),
    ReplyTo(usize),
    ReplyEdit(ReplyField, String),
    ReplyRefus(bool),
    SendReply,
    ReplySent(Option<Result<String, String>>),
    CancelReply,
    FilterKind(Choix<crate::outbox::Kind>),
    FilterState(Choix<ItemState>),
    FilterFrom(String),
    FilterTo(String),
    FilterText(String),
    LotPath(String),
    ExportLot,
    ImportLot,
    /// A lot checked (accepting it unsigned or not): who prepared it, or why not.
    LotInspected(std::path::PathBuf, bool, Option<LotCheck>),
    /// Accept the unsigned lot just refused (received by hand): checked again, otherwise whole.
    AcceptUnsignedLot,
    ConfirmImport,
    CancelImport,
    Withdraw(i64),
    RetryNow(i64),
    /// Queue a signed item kept out of the queue (`[envois] liberation_manuelle`).
    Release(i64),
    CancelAct(i64),
    /// The platform's transaction number typed for a PES « transmis, à rattacher ».
    TransactionEdit(String),
    /// Attach the PES shown to the transaction typed.
    Attach(i64),
    /// An action done (off the UI thread): what to tell, and the item to show again.
    ActionDone(Option<Result<String, String>>, Option<i64>),
    /// The home screen's word on the classification, read off the UI thread.
    Classification(Option<Option<String>>),
    /// An item of « À signer » ticked or unticked.
    ChooseToSign(i64, bool),
    SignPinChanged(crate::gui::Secret),
    /// Sign the items ticked, with one PIN.
    SignChosen,
    /// What the signing did per item, or why nothing was signed.
    SignedItems(Option<Result<Vec<SignedItem>, String>>),
}

/// The classification of the settings' collectivité, as the home screen speaks of it: nothing
/// when no SIREN is set (no ACTES here) or when it is recent.
fn classification_notice() -> Option<String> {
    use crate::actes::classification::{ClassificationStore, Staleness};
    let settings = crate::settings::Settings::load().ok()?;
    let siren = settings.collectivite.siren?;
    let db = crate::actes::register::default_database().ok()?;
    let store = ClassificationStore::open(&db).ok()?;
    match store.staleness(&siren, crate::actes::model::today()).ok()? {
        Staleness::Missing => Some(t("gui.accueil_classification_absente")),
        Staleness::Old(date) => Some(tf(
            "gui.accueil_classification_ancienne",
            &[("date", &crate::actes::model::french_date(date))],
        )),
        Staleness::Current => None,
    }
}

/// One bound of the period: empty (no bound) or a date as French users write it; the time
/// makes the bound include the whole day in the outbox's UTC timestamps.
fn period_bound(text: &str, time_of_day: &str) -> Result<Option<String>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::actes::model::parse_date(text)
        .map(|d| {
            Some(format!(
                "{}T{time_of_day}Z",
                crate::actes::model::iso_date(d)
            ))
        })
        .ok_or_else(|| tf("gui.envois_date_illisible", &[("valeur", text.trim())]))
}

/// Connect with the card's authentication key and send the answer (off the UI thread).
fn send_reply(
    form: ReplyForm,
    pin: Zeroizing<String>,
    password: Zeroizing<String>,
) -> Result<String, String> {
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    // A piece is `FICHIER:TYPE` as on the command line; the window also wants the 5-character
    // typology code S²LOW uses.
    let piece = |text: &str| {
        let (path, code) = crate::platform::s2low::file_with_typology(text.trim())?;
        if code.len() != 5 {
            return Err(tf("envoi.cli.fichier_type", &[("valeur", text.trim())]));
        }
        Ok((path, code))
    };
    let pieces = form
        .pieces
        .split([';', '\n'])
        .filter(|l| !l.trim().is_empty())
        .map(piece)
        .collect::<Result<Vec<_>, String>>()?;
    let reply = crate::platform::s2low::Reply {
        refus: form.refus,
        lettre: std::path::PathBuf::from(form.lettre.trim()),
        type_lettre: form.type_lettre.trim().to_owned(),
        pieces,
    };
    let platform = crate::gui::connect_platform(&settings, pin, password, None)?;
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    crate::platform::reply_to_courrier(
        &mut outbox,
        platform.as_ref(),
        form.item,
        &form.courrier,
        &reply,
        &crate::platform::sender::who(),
    )
}

/// Send what waits and bring back what came, off the UI thread, with the card's authentication
/// key (settings' choice) and the PIN typed in the window; at most a minute of waiting for
/// answers, stoppable.
fn send(
    pin: Zeroizing<String>,
    password: Zeroizing<String>,
    cancel: Arc<AtomicBool>,
    upload: Arc<UploadProgress>,
    demo: Option<crate::platform::demo::Demo>,
) -> Task<Message> {
    Task::perform(
        background(move || {
            let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
            let platform = crate::gui::connect_platform(&settings, pin, password, demo)?;
            let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
            crate::platform::send_pending(
                &settings,
                platform.as_ref(),
                Some(until),
                &cancel,
                &upload,
            )
            .map_err(|e| e.to_string())
        }),
        Message::Sent,
    )
}

/// Sign the prepared items `ids` with the card's signature key (settings' choice): the key is
/// opened once with `pin` (one login for all), then the use case signs and queues each item
/// (off the UI thread). Nothing is signed when an item is not signable or the key does not open.
fn sign_chosen(ids: Vec<i64>, pin: Zeroizing<String>) -> Result<Vec<SignedItem>, String> {
    use crate::card::select::{KeyChoice, open_for_role};
    use crate::certs::Role;
    use crate::usecases::sign_items::{pes_signing_from_settings, sign_items, signable};
    if pin.is_empty() {
        return Err(t("gui.a_signer_pin_requis"));
    }
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    // Every item is checked, and the PES signer's details read, before the card is asked.
    let items = signable(&outbox, &ids)?;
    let pes = if items.iter().any(|i| i.genre == crate::outbox::Kind::Pes) {
        Some(pes_signing_from_settings(&settings)?)
    } else {
        None
    };
    let choice = KeyChoice::from_settings(&settings.carte, Role::Signature);
    let prompt = Box::new(crate::card::pin::FixedPrompt::new(&pin));
    drop(pin);
    let mut key = open_for_role(&choice, Role::Signature, prompt).map_err(|e| e.to_string())?;
    Ok(sign_items(
        &mut outbox,
        &items,
        &mut *key,
        pes.as_ref(),
        &settings,
        &crate::platform::sender::who(),
    ))
}

fn load(filter: Filter) -> Task<Message> {
    Task::perform(
        background(move || {
            let outbox = Outbox::open_default().map_err(|e| e.to_string())?;
            Page::read(&outbox, &filter)
        }),
        Message::Loaded,
    )
}

impl Page {
    /// The page `filter` selects from `outbox`, with the counts, what came back this week, the
    /// space the copies take and the settings' platform login (off the UI thread).
    pub fn read(outbox: &Outbox, filter: &Filter) -> Result<Page, String> {
        let items = outbox.list(filter).map_err(|e| e.to_string())?;
        let counts = outbox.counts().map_err(|e| e.to_string())?;
        let settings = crate::settings::Settings::load().ok();
        let login = settings
            .as_ref()
            .and_then(|s| s.plateforme.identifiant.clone());
        let collectivites = settings
            .as_ref()
            .map(|s| collectivite_names(&s.collectivites_reglees()))
            .unwrap_or_default();
        let week_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(7))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let received = outbox
            .received_since(&week_ago)
            .map_err(|e| e.to_string())?;
        let to_sign = outbox
            .list(&Filter {
                etats: vec![ItemState::Prepare],
                limite: Some(PAGE),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
        Ok(Page {
            items,
            counts,
            login,
            received,
            copies: outbox.copies_size(),
            to_sign,
            to_attach: outbox
                .awaiting_attachment_count()
                .map_err(|e| e.to_string())?,
            collectivites,
        })
    }
}

pub fn refresh() -> Task<Message> {
    Task::batch([
        load(Filter {
            limite: Some(PAGE),
            ..Default::default()
        }),
        Task::perform(background(classification_notice), Message::Classification),
    ])
}

/// Write the items listed to a lot file, its manifest signed with the card's authentication key
/// (the PIN typed for sending), off the UI thread.
fn export_lot(
    ids: Vec<i64>,
    dest: std::path::PathBuf,
    pin: Zeroizing<String>,
) -> Result<String, String> {
    use crate::card::select::KeyChoice;
    use crate::certs::Role;
    use crate::usecases::KeyToOpen;
    use crate::usecases::lots::export_lot;
    if pin.is_empty() {
        return Err(t("gui.envois_lot_pin"));
    }
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    let name = dest
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lot".to_owned());
    let key = KeyToOpen {
        choice: KeyChoice::from_settings(&settings.carte, Role::Authentification),
        role: Role::Authentification,
        prompt: Box::new(crate::card::pin::FixedPrompt::new(&pin)),
    };
    drop(pin);
    let who = crate::platform::sender::who();
    let done = export_lot(&mut outbox, &name, &ids, &dest, &who, Some(key))?;
    let mut said = tf(
        "envois.lot_exporte",
        &[("chemin", &dest.display().to_string())],
    );
    if let Some(s) = &done.signataire {
        said.push(' ');
        said.push_str(&tf("envois.lot_signe_exporte", &[("signataire", s)]));
    }
    Ok(said)
}

/// What checking a lot found.
#[derive(Debug, Clone)]
pub enum LotCheck {
    /// Whole, and who prepared and signed it.
    Origin(String),
    /// Whole but unsigned: refused unless the person accepts it.
    Unsigned,
    /// Refused, and why.
    Refused(String),
}

/// Check a lot from another workstation whole and say who prepared and signed it (off the UI
/// thread); nothing is imported until the person confirms.
fn inspect_lot(lot: std::path::PathBuf, accept_unsigned: bool) -> LotCheck {
    let trust = match crate::settings::Settings::load()
        .map_err(|e| e.to_string())
        .and_then(|settings| crate::usecases::lots::trust_store(None, &settings))
    {
        Ok(trust) => trust,
        Err(e) => return LotCheck::Refused(e),
    };
    match crate::usecases::lots::inspect_lot(&lot, trust.as_ref(), accept_unsigned) {
        Ok(origin) => LotCheck::Origin(origin.describe()),
        Err(crate::outbox::OutboxError::UnsignedLot) => LotCheck::Unsigned,
        Err(e) => LotCheck::Refused(e.to_string()),
    }
}

/// Import a lot checked by [`inspect_lot`] (checked again: the file may have changed since);
/// `accept_unsigned` only when the person accepted that unsigned lot.
fn import_lot(lot: std::path::PathBuf, accept_unsigned: bool) -> Result<String, String> {
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let trust = crate::usecases::lots::trust_store(None, &settings)?;
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    let done = crate::usecases::lots::import_lot(
        &mut outbox,
        &lot,
        trust.as_ref(),
        accept_unsigned,
        &crate::platform::sender::who(),
    )
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "{} {}",
        done.origine.describe(),
        tf("envois.lot_importe", &[("n", &done.ids.len().to_string())])
    ))
}

/// The names of the collectivités set, by SIREN — only when there are several (with one, the
/// list has no need to say whose an item is).
fn collectivite_names(
    set: &[&crate::settings::CollectiviteSettings],
) -> std::collections::BTreeMap<String, String> {
    if set.len() < 2 {
        return Default::default();
    }
    set.iter()
        .filter_map(|c| Some((c.siren.as_deref()?.trim().to_owned(), c.short_name())))
        .collect()
}

/// Withdraw, retry or release item `id` (off the UI thread); says the item's state afterwards.
fn change_item(
    id: i64,
    change: fn(&mut Outbox, i64, &str) -> Result<ItemState, crate::outbox::OutboxError>,
) -> Result<String, String> {
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    let etat =
        change(&mut outbox, id, &crate::platform::sender::who()).map_err(|e| e.to_string())?;
    Ok(etat.said_of(id))
}

/// Attach PES `id` (« transmis, à rattacher ») to the platform's transaction `transaction`, as
/// `paraphe envois rattacher` does; its acquit is then followed at the next sending.
fn attach_item(id: i64, transaction: &str) -> Result<String, String> {
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    outbox
        .attach_transaction(id, transaction, &crate::platform::sender::who())
        .map_err(|e| e.to_string())?;
    Ok(tf(
        "envois.rattache",
        &[("id", &id.to_string()), ("transaction", transaction.trim())],
    ))
}

/// Ask the préfecture to cancel an acknowledged act, with the card's authentication key.
fn cancel_act(
    id: i64,
    pin: Zeroizing<String>,
    password: Zeroizing<String>,
    demo: Option<crate::platform::demo::Demo>,
) -> Result<String, String> {
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    // Refused before the card is asked for anything.
    crate::platform::cancellable_act(&outbox, id)?;
    let platform = crate::gui::connect_platform(&settings, pin, password, demo)?;
    let transaction = crate::platform::cancel_act(
        &mut outbox,
        platform.as_ref(),
        id,
        &crate::platform::sender::who(),
    )?;
    Ok(tf(
        "envoi.cli.annulation_demandee",
        &[("transaction", &transaction)],
    ))
}

/// The answer form: the letter and its typology, the pieces (demande de pièces) or the refusal.
/// The PIN is the one of the bar above.
fn reply_view(form: &ReplyForm) -> Element<'_, Message> {
    let mut col = column![
        text(tf("gui.reponse_titre", &[("courrier", &form.courrier)])).size(theme::HEADING),
        row![
            text_input(&t("gui.reponse_lettre"), &form.lettre)
                .on_input(|v| Message::ReplyEdit(ReplyField::Lettre, v))
                .padding(theme::PAD),
            text_input("99_AU", &form.type_lettre)
                .on_input(|v| Message::ReplyEdit(ReplyField::TypeLettre, v))
                .width(100)
                .padding(theme::PAD),
        ]
        .spacing(theme::GAP),
    ]
    .spacing(theme::GAP);
    // Pieces go only with a demande de pièces (the platform lists them nowhere else); a
    // demande may be refused and a lettre d'observations rejected, by a letter alone.
    if form.kind == 3 {
        col = col.push(
            text_input(&t("gui.reponse_pieces"), &form.pieces)
                .on_input(|v| Message::ReplyEdit(ReplyField::Pieces, v))
                .padding(theme::PAD),
        );
    }
    let refusal = match form.kind {
        3 => Some(t("gui.reponse_refus")),
        4 => Some(t("gui.reponse_rejet_observations")),
        _ => None,
    };
    if let Some(label) = refusal {
        col = col.push(
            iced::widget::checkbox(form.refus)
                .label(label)
                .on_toggle(Message::ReplyRefus),
        );
    }
    let ready =
        !form.sending && !form.lettre.trim().is_empty() && form.type_lettre.trim().len() == 5;
    col = col.push(
        row![
            button(text(t("gui.reponse_envoyer")))
                .on_press_maybe(ready.then_some(Message::SendReply)),
            button(text(t("gui.annuler"))).on_press(Message::CancelReply),
        ]
        .spacing(theme::GAP),
    );
    match &form.result {
        Some(Ok(m)) | Some(Err(m)) => col = col.push(text(m.clone()).size(theme::TEXT)),
        None => {}
    }
    col.into()
}

impl State {
    /// Whose item it is, when several collectivités are set: its collectivité's name (or its
    /// SIREN when none is set with it); nothing with one collectivité.
    fn collectivite_of(&self, item: &Item) -> String {
        if self.collectivites.is_empty() {
            return String::new();
        }
        let siren = item.siren.as_deref().unwrap_or_default().trim();
        self.collectivites
            .get(siren)
            .cloned()
            .unwrap_or_else(|| siren.to_owned())
    }

    /// Ticks while a sending runs, to redraw its progress.
    pub fn subscription(&self) -> iced::Subscription<Message> {
        if self.sending.is_some() {
            iced::time::every(std::time::Duration::from_millis(250)).map(|_| Message::Tick)
        } else {
            iced::Subscription::none()
        }
    }

    /// Send to the demonstration platform from now on.
    pub fn set_demo(&mut self, demo: crate::platform::demo::Demo) {
        self.demo = Some(demo);
    }

    /// Escape: the answer being written closes first, then the item's detail.
    pub fn escape(&mut self) -> Task<Message> {
        if self.reply.is_some() {
            self.update(Message::CancelReply)
        } else if self.detail.is_some() {
            self.update(Message::CloseDetail)
        } else {
            Task::none()
        }
    }

    /// What the home screen says of the classification, if anything.
    pub fn classification_notice(&self) -> Option<&str> {
        self.classification.as_deref()
    }

    pub fn counts(&self) -> &[(ItemState, u64)] {
        &self.counts
    }

    pub fn received(&self) -> &[(String, u64)] {
        &self.received
    }

    /// PES transmis that wait to be attached to their transaction (for the home screen).
    pub fn to_attach(&self) -> u64 {
        self.to_attach
    }

    /// The list's filter: kind, state, the period typed (when it reads as dates), the text
    /// searched, the page.
    fn filter(&self) -> Result<Filter, String> {
        Ok(Filter {
            genre: self.genre,
            etats: self.etat.into_iter().collect(),
            depuis: period_bound(&self.du, "00:00:00")?,
            jusqu_a: period_bound(&self.au, "23:59:59")?,
            limite: Some(PAGE),
            decalage: self.page * PAGE,
            chercher: Some(self.chercher.clone()),
        })
    }

    /// Read the list again with the filters; a date that does not read yet leaves it as it is.
    /// Check lot `lot` off the UI thread (accepting it unsigned or not).
    fn check_lot(&mut self, lot: std::path::PathBuf, accept_unsigned: bool) -> Task<Message> {
        self.busy = true;
        let checked = lot.clone();
        Task::perform(
            background(move || inspect_lot(lot, accept_unsigned)),
            move |r| Message::LotInspected(checked.clone(), accept_unsigned, r),
        )
    }

    fn reload(&self) -> Task<Message> {
        match self.filter() {
            Ok(filter) => load(filter),
            Err(_) => Task::none(),
        }
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Loaded(Some(Ok(page))) => {
                self.items = page.items;
                self.counts = page.counts;
                self.login = page.login;
                self.received = page.received;
                self.copies = page.copies;
                self.to_sign = page.to_sign;
                self.to_attach = page.to_attach;
                self.collectivites = page.collectivites;
                let listed: Vec<i64> = self.to_sign.iter().map(|i| i.id).collect();
                self.not_chosen.retain(|id| listed.contains(id));
                self.error = None;
            }
            Message::Loaded(Some(Err(e))) => self.error = Some(e),
            Message::Loaded(None) => {}
            Message::Page(p) => {
                self.page = p;
                return self.reload();
            }
            Message::FilterKind(choix) => {
                self.genre = match choix {
                    Choix::Tous => None,
                    Choix::Un(k) => Some(k),
                };
                self.page = 0;
                return self.reload();
            }
            Message::FilterState(choix) => {
                self.etat = match choix {
                    Choix::Tous => None,
                    Choix::Un(e) => Some(e),
                };
                self.page = 0;
                return self.reload();
            }
            Message::FilterFrom(text) => {
                self.du = text;
                self.page = 0;
                return self.reload();
            }
            Message::FilterTo(text) => {
                self.au = text;
                self.page = 0;
                return self.reload();
            }
            Message::FilterText(text) => {
                self.chercher = text;
                self.page = 0;
                return self.reload();
            }
            Message::LotPath(path) => {
                self.lot = path;
                self.lot_checked = None;
                self.lot_unsigned = None;
            }
            Message::ExportLot if !self.busy && !self.lot.trim().is_empty() => {
                self.busy = true;
                let ids = self.items.iter().map(|i| i.id).collect();
                let dest = std::path::PathBuf::from(self.lot.trim());
                let pin = std::mem::take(&mut self.pin);
                return Task::perform(background(move || export_lot(ids, dest, pin)), |r| {
                    Message::ActionDone(r, None)
                });
            }
            Message::ImportLot if !self.busy && !self.lot.trim().is_empty() => {
                self.lot_checked = None;
                self.lot_unsigned = None;
                return self.check_lot(std::path::PathBuf::from(self.lot.trim()), false);
            }
            Message::AcceptUnsignedLot if !self.busy => {
                if let Some(lot) = self.lot_unsigned.take() {
                    return self.check_lot(lot, true);
                }
            }
            Message::LotInspected(lot, accept_unsigned, result) => {
                self.busy = false;
                self.action = None;
                match result.unwrap_or_else(|| LotCheck::Refused(t("gui.envoi_interrompu"))) {
                    LotCheck::Origin(said) => {
                        self.lot_checked = Some((lot, said, accept_unsigned));
                    }
                    LotCheck::Unsigned => self.lot_unsigned = Some(lot),
                    LotCheck::Refused(e) => self.action = Some(Err(e)),
                }
            }
            Message::ConfirmImport if !self.busy => {
                if let Some((lot, _, accept_unsigned)) = self.lot_checked.take() {
                    self.busy = true;
                    return Task::perform(
                        background(move || import_lot(lot, accept_unsigned)),
                        |r| Message::ActionDone(r, None),
                    );
                }
            }
            Message::CancelImport => {
                self.lot_checked = None;
                self.lot_unsigned = None;
            }
            Message::ExportLot
            | Message::ImportLot
            | Message::ConfirmImport
            | Message::AcceptUnsignedLot => {}
            Message::Withdraw(id) | Message::RetryNow(id) | Message::Release(id) if !self.busy => {
                self.busy = true;
                let change = match message {
                    Message::Withdraw(_) => Outbox::withdraw,
                    Message::Release(_) => Outbox::release,
                    _ => Outbox::retry_now,
                };
                return Task::perform(background(move || change_item(id, change)), move |r| {
                    Message::ActionDone(r, Some(id))
                });
            }
            Message::CancelAct(id) if !self.busy => {
                self.busy = true;
                let pin = std::mem::take(&mut self.pin);
                let password = std::mem::take(&mut self.password);
                let demo = self.demo.clone();
                return Task::perform(
                    background(move || cancel_act(id, pin, password, demo)),
                    move |r| Message::ActionDone(r, Some(id)),
                );
            }
            Message::TransactionEdit(value) => self.transaction = value,
            Message::Attach(id) if !self.busy => {
                self.busy = true;
                // Kept in the field: a number refused is corrected, not typed again.
                let transaction = self.transaction.clone();
                return Task::perform(
                    background(move || attach_item(id, &transaction)),
                    move |r| Message::ActionDone(r, Some(id)),
                );
            }
            Message::Withdraw(_)
            | Message::RetryNow(_)
            | Message::Release(_)
            | Message::CancelAct(_)
            | Message::Attach(_) => {}
            Message::Classification(notice) => self.classification = notice.flatten(),
            Message::ActionDone(result, item) => {
                self.busy = false;
                self.action = Some(result.unwrap_or_else(|| Err(t("gui.envoi_interrompu"))));
                let mut tasks = vec![self.reload()];
                if let Some(id) = item
                    && self.detail.is_some()
                {
                    tasks.push(Task::done(Message::Select(id)));
                }
                return Task::batch(tasks);
            }
            Message::PinChanged(pin) => self.pin = pin.into_zeroizing(),
            Message::ChooseToSign(id, chosen) => {
                if chosen {
                    self.not_chosen.remove(&id);
                } else {
                    self.not_chosen.insert(id);
                }
            }
            Message::SignPinChanged(pin) => self.sign_pin = pin.into_zeroizing(),
            Message::SignChosen if !self.signing => {
                let ids = self.chosen_to_sign();
                if !ids.is_empty() {
                    self.signing = true;
                    self.signed = None;
                    let pin = std::mem::take(&mut self.sign_pin);
                    return Task::perform(
                        background(move || sign_chosen(ids, pin)),
                        Message::SignedItems,
                    );
                }
            }
            Message::SignChosen => {}
            Message::SignedItems(result) => {
                self.signing = false;
                self.signed = Some(result.unwrap_or_else(|| Err(t("gui.a_signer_interrompu"))));
                return self.reload();
            }
            Message::PasswordChanged(p) => self.password = p.into_zeroizing(),
            Message::Send if self.sending.is_none() => {
                let cancel = Arc::new(AtomicBool::new(false));
                self.sending = Some(cancel.clone());
                self.last = None;
                let pin = std::mem::take(&mut self.pin);
                let password = std::mem::take(&mut self.password);
                self.upload = Arc::default();
                return send(
                    pin,
                    password,
                    cancel,
                    self.upload.clone(),
                    self.demo.clone(),
                );
            }
            Message::Send => {}
            Message::Stop => {
                if let Some(cancel) = &self.sending {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            Message::Tick => {}
            Message::Select(id) => {
                self.opened = None;
                let same_item = matches!(&self.detail, Some(Ok(d)) if d.item.id == id);
                if !same_item {
                    self.transaction.clear();
                }
                return Task::perform(
                    background(move || super::envoi_detail::load(id).map(Box::new)),
                    Message::Selected,
                );
            }
            Message::Selected(result) => {
                self.detail = Some(result.unwrap_or_else(|| Err(t("gui.envoi_interrompu"))));
            }
            Message::CloseDetail => {
                self.detail = None;
                self.opened = None;
                self.transaction.clear();
            }
            Message::OpenReceived(id, index) => {
                return Task::perform(
                    background(move || super::envoi_detail::open_received(id, index)),
                    Message::OpenedReceived,
                );
            }
            Message::OpenedReceived(result) => {
                self.opened = Some(crate::gui::opened_message(result));
            }
            Message::ReplyTo(index) => {
                if let Some(Ok(detail)) = &self.detail
                    && let Some(r) = detail.recus.get(index)
                    && let Some(kind) = super::envoi_detail::answerable(&r.genre, &r.nom)
                    && let Some(n) = crate::platform::courrier_number(&r.nom)
                {
                    self.reply = Some(ReplyForm {
                        item: detail.item.id,
                        courrier: n.to_owned(),
                        kind,
                        ..ReplyForm::default()
                    });
                }
            }
            Message::ReplyEdit(field, value) => {
                if let Some(form) = self.reply.as_mut() {
                    match field {
                        ReplyField::Lettre => form.lettre = value,
                        ReplyField::TypeLettre => form.type_lettre = value,
                        ReplyField::Pieces => form.pieces = value,
                    }
                }
            }
            Message::ReplyRefus(refus) => {
                if let Some(form) = self.reply.as_mut() {
                    form.refus = refus;
                }
            }
            Message::SendReply => {
                if let Some(form) = self.reply.as_mut()
                    && !form.sending
                {
                    form.sending = true;
                    form.result = None;
                    let form = form.clone();
                    let pin = std::mem::take(&mut self.pin);
                    let password = std::mem::take(&mut self.password);
                    return Task::perform(
                        background(move || send_reply(form, pin, password)),
                        Message::ReplySent,
                    );
                }
            }
            Message::ReplySent(result) => {
                if let Some(form) = self.reply.as_mut() {
                    form.sending = false;
                    form.result = Some(match result {
                        Some(Ok(transaction)) => Ok(tf(
                            "envoi.cli.reponse_envoyee",
                            &[("courrier", &form.courrier), ("transaction", &transaction)],
                        )),
                        Some(Err(e)) => Err(e),
                        None => Err(t("gui.envoi_interrompu")),
                    });
                }
            }
            Message::CancelReply => self.reply = None,
            Message::Sent(result) => {
                self.sending = None;
                self.last = result.or_else(|| Some(Err(t("gui.envoi_interrompu"))));
                return self.reload();
            }
        }
        Task::none()
    }

    /// The sending bar: PIN, "Envoyer maintenant" / "Arrêter", and what the last sending did.
    fn send_bar(&self) -> Element<'_, Message> {
        let mut bar = row![].spacing(theme::GAP);
        if self.sending.is_some() {
            let total = self.upload.total.load(Ordering::Relaxed);
            let sent = self.upload.sent.load(Ordering::Relaxed).min(total);
            let status = if total > 0 {
                tf(
                    "gui.envoi_progression",
                    &[
                        ("envoye", &crate::actes::files::human_size(sent)),
                        ("total", &crate::actes::files::human_size(total)),
                    ],
                )
            } else {
                t("gui.envoi_en_cours")
            };
            bar = bar
                .push(text(status).size(theme::TEXT))
                .push(
                    iced::widget::progress_bar(0.0..=1.0, sent as f32 / total.max(1) as f32)
                        .length(200),
                )
                .push(button(text(t("gui.arreter"))).on_press(Message::Stop));
        } else {
            bar = bar.push(
                text_input(&t("gui.pin_authentification"), &self.pin)
                    .secure(true)
                    .on_input(|v| Message::PinChanged(v.into()))
                    .on_submit(Message::Send)
                    .width(260),
            );
            if let Some(login) = &self.login {
                bar = bar.push(
                    text_input(
                        &tf("gui.mot_de_passe_plateforme", &[("identifiant", login)]),
                        &self.password,
                    )
                    .secure(true)
                    .on_input(|v| Message::PasswordChanged(v.into()))
                    .on_submit(Message::Send)
                    .width(300),
                );
            }
            bar = bar.push(button(text(t("gui.envoyer_maintenant"))).on_press(Message::Send));
        }
        let mut col = column![bar].spacing(theme::GAP);
        match &self.last {
            Some(Ok(r)) => {
                col = col.push(
                    text(tf(
                        "gui.envoi_rapport",
                        &[
                            ("envoyes", &r.envoyes.to_string()),
                            ("acquittes", &r.acquittes.to_string()),
                            ("refuses", &r.refuses.to_string()),
                            ("courriers", &r.courriers.to_string()),
                            ("retours", &r.retours_pes.to_string()),
                        ],
                    ))
                    .size(theme::TEXT),
                );
                if r.a_rattacher > 0 {
                    col = col.push(
                        text(tf(
                            "envoi.cli.a_rattacher",
                            &[("nombre", &r.a_rattacher.to_string())],
                        ))
                        .size(theme::TEXT),
                    );
                }
                for e in &r.erreurs {
                    col = col.push(text(e.clone()).size(theme::SMALL));
                }
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        col.into()
    }

    /// What can be done with the item shown: withdraw it before it leaves, queue it when it was
    /// signed and kept out of the queue, send it again now,
    /// or ask the préfecture to cancel an acknowledged act (with the PIN of the bar above).
    fn item_actions(&self, item: &Item) -> Element<'_, Message> {
        let id = item.id;
        let ready = |m: Message| (!self.busy).then_some(m);
        let mut actions = row![].spacing(theme::GAP);
        if item.etat.can_be_withdrawn() {
            actions = actions.push(
                button(text(t("gui.envoi_retirer"))).on_press_maybe(ready(Message::Withdraw(id))),
            );
        }
        if item.etat == ItemState::Signe {
            actions = actions.push(
                button(text(t("gui.envoi_mettre_en_file")))
                    .on_press_maybe(ready(Message::Release(id))),
            );
        }
        if item.etat.can_be_retried() {
            actions = actions.push(
                button(text(t("gui.envoi_relancer"))).on_press_maybe(ready(Message::RetryNow(id))),
            );
        }
        if item.genre == crate::outbox::Kind::Acte && item.etat == ItemState::Acquitte {
            actions = actions.push(
                button(text(t("gui.envoi_demander_annulation")))
                    .on_press_maybe(ready(Message::CancelAct(id))),
            );
        }
        if !item.awaits_attachment() {
            return actions.into();
        }
        // A PES the platform already held: the person finds its transaction there and types it.
        let typed = !self.transaction.trim().is_empty();
        let attach = row![
            text_input(&t("gui.envoi_rattacher_numero"), &self.transaction)
                .id(TRANSACTION_ID)
                .on_input(Message::TransactionEdit)
                .on_submit_maybe((typed && !self.busy).then_some(Message::Attach(id)))
                .width(Length::Fixed(280.0)),
            button(text(t("gui.envoi_rattacher")))
                .on_press_maybe(ready(Message::Attach(id)).filter(|_| typed)),
        ]
        .spacing(theme::GAP);
        column![
            actions,
            text(t("gui.envoi_a_rattacher_aide")).size(theme::TEXT),
            attach
        ]
        .spacing(theme::GAP)
        .into()
    }

    /// The items of « À signer » ticked, in the order listed.
    fn chosen_to_sign(&self) -> Vec<i64> {
        self.to_sign
            .iter()
            .map(|i| i.id)
            .filter(|id| !self.not_chosen.contains(id))
            .collect()
    }

    /// « À signer »: the prepared items, each ticked unless unticked, the signature PIN, the
    /// button, and what the last signing did per item.
    fn to_sign_block(&self) -> Element<'_, Message> {
        let mut col =
            column![text(t("gui.a_signer_titre")).size(theme::HEADING)].spacing(theme::GAP);
        if !self.to_sign.is_empty() {
            col = col.push(text(t("gui.a_signer_explication")).size(theme::TEXT));
        }
        for item in &self.to_sign {
            let id = item.id;
            col = col.push(
                iced::widget::checkbox(!self.not_chosen.contains(&id))
                    .label(tf(
                        "gui.a_signer_ligne",
                        &[("id", &id.to_string()), ("libelle", &item.libelle)],
                    ))
                    .on_toggle_maybe(
                        (!self.signing).then_some(move |c| Message::ChooseToSign(id, c)),
                    ),
            );
        }
        let chosen = self.chosen_to_sign().len();
        if !self.to_sign.is_empty() {
            let label = if self.signing {
                t("gui.a_signer_en_cours")
            } else if chosen == 1 {
                t("gui.a_signer_bouton_un")
            } else {
                tf("gui.a_signer_bouton", &[("n", &chosen.to_string())])
            };
            let ready = !self.signing && chosen > 0;
            col = col.push(
                row![
                    text_input(&t("gui.pin_signature"), &self.sign_pin)
                        .secure(true)
                        .on_input(|v| Message::SignPinChanged(v.into()))
                        .on_submit_maybe(ready.then_some(Message::SignChosen))
                        .width(300),
                    button(text(label)).on_press_maybe(ready.then_some(Message::SignChosen)),
                ]
                .spacing(theme::GAP)
                .align_y(iced::Alignment::Center),
            );
        }
        match &self.signed {
            Some(Ok(outcomes)) => {
                for o in outcomes {
                    let said = match &o.error {
                        None => o.state.said_of(o.id),
                        Some(e) => tf(
                            "gui.a_signer_echec",
                            &[
                                ("id", &o.id.to_string()),
                                ("etat", &o.state.label()),
                                ("detail", e),
                            ],
                        ),
                    };
                    col = col.push(text(said).size(theme::TEXT));
                    for f in &o.findings {
                        col = col.push(text(format!("    {}", f.message)).size(theme::SMALL));
                    }
                }
            }
            Some(Err(e)) => {
                col = col
                    .push(text(tf("gui.a_signer_rien_signe", &[("detail", e)])).size(theme::TEXT));
            }
            None => {}
        }
        col.into()
    }

    /// The lot: a file path, « Exporter » the items listed, « Importer » a lot from elsewhere.
    fn lot_bar(&self) -> Element<'_, Message> {
        let ready = !self.busy && !self.lot.trim().is_empty();
        let bar = row![
            text_input(&t("gui.envois_lot_fichier"), &self.lot)
                .on_input(Message::LotPath)
                .width(Length::Fill),
            button(text(tf(
                "gui.envois_lot_exporter",
                &[("n", &self.items.len().to_string())]
            )))
            .on_press_maybe((ready && !self.items.is_empty()).then_some(Message::ExportLot)),
            button(text(t("gui.envois_lot_importer")))
                .on_press_maybe(ready.then_some(Message::ImportLot)),
        ]
        .spacing(theme::GAP);
        if self.lot_unsigned.is_some() {
            // Refused as it stands; accepting it is a decision, said with its risk.
            return column![
                bar,
                text(t("envois.lot_non_signe")),
                text(t("gui.envois_lot_non_signe_main_propre")),
                row![
                    button(text(t("gui.envois_lot_accepter_non_signe")))
                        .on_press_maybe((!self.busy).then_some(Message::AcceptUnsignedLot)),
                    button(text(t("gui.envois_lot_annuler"))).on_press(Message::CancelImport),
                ]
                .spacing(theme::GAP),
            ]
            .spacing(theme::GAP)
            .into();
        }
        let Some((_, said, _)) = &self.lot_checked else {
            return bar.into();
        };
        // Who prepared and signed the lot, read before saying yes.
        column![
            bar,
            text(said.clone()),
            row![
                button(text(t("gui.envois_lot_confirmer")))
                    .on_press_maybe((!self.busy).then_some(Message::ConfirmImport)),
                button(text(t("gui.envois_lot_annuler"))).on_press(Message::CancelImport),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP)
        .into()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut col = column![
            text(t("gui.envois_titre")).size(theme::TITLE),
            self.send_bar()
        ]
        .spacing(theme::GAP);
        if let Some(e) = &self.error {
            col = col.push(text(e.clone()));
        }
        match &self.action {
            Some(Ok(m)) | Some(Err(m)) => col = col.push(text(m.clone()).size(theme::TEXT)),
            None => {}
        }
        match &self.detail {
            Some(Ok(detail)) => {
                let id = detail.item.id;
                // The answer being written comes first, where the eye is.
                if let Some(form) = &self.reply {
                    col = col.push(reply_view(form));
                }
                col = col.push(self.item_actions(&detail.item));
                col = col.push(super::envoi_detail::view(
                    detail,
                    move |i| Message::OpenReceived(id, i),
                    Message::ReplyTo,
                    Message::CloseDetail,
                ));
                match &self.opened {
                    Some(Ok(m)) | Some(Err(m)) => {
                        col = col.push(text(m.clone()).size(theme::SMALL))
                    }
                    None => {}
                }
                let nav = row![button(text(t("gui.fermer"))).on_press(Message::CloseDetail)];
                return column![scrollable(col).height(Length::Fill), nav]
                    .spacing(theme::GAP)
                    .into();
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        let genres = vec![
            Choix::Tous,
            Choix::Un(crate::outbox::Kind::Acte),
            Choix::Un(crate::outbox::Kind::Pes),
        ];
        let etats: Vec<Choix<ItemState>> = std::iter::once(Choix::Tous)
            .chain(ItemState::ALL.into_iter().map(Choix::Un))
            .collect();
        col = col.push(
            text_input(&t("gui.envois_chercher"), &self.chercher)
                .id(SEARCH_ID)
                .on_input(Message::FilterText)
                .width(Length::Fill),
        );
        col = col.push(
            row![
                iced::widget::pick_list(
                    genres,
                    Some(self.genre.map_or(Choix::Tous, Choix::Un)),
                    Message::FilterKind
                ),
                iced::widget::pick_list(
                    etats,
                    Some(self.etat.map_or(Choix::Tous, Choix::Un)),
                    Message::FilterState
                ),
                text(t("gui.envois_du")).size(theme::TEXT),
                text_input(&t("gui.format_date"), &self.du)
                    .on_input(Message::FilterFrom)
                    .width(130),
                text(t("gui.envois_au")).size(theme::TEXT),
                text_input(&t("gui.format_date"), &self.au)
                    .on_input(Message::FilterTo)
                    .width(130),
            ]
            .spacing(theme::GAP)
            .align_y(iced::Alignment::Center),
        );
        if let Err(e) = self.filter() {
            col = col.push(text(e).size(theme::SMALL));
        }
        if !self.to_sign.is_empty() || self.signed.is_some() {
            col = col.push(self.to_sign_block());
        }
        col = col.push(self.lot_bar());
        if self.copies > 0 {
            col = col.push(
                text(tf(
                    "envois.espace_copies",
                    &[("taille", &crate::actes::messages::human_size(self.copies))],
                ))
                .size(theme::SMALL),
            );
        }
        if self.items.is_empty() {
            col = col.push(text(t("gui.envois_vide")).size(theme::TEXT));
        }
        for item in &self.items {
            col = col.push(
                row![
                    button(text(item.libelle.clone()).size(theme::TEXT))
                        .on_press(Message::Select(item.id))
                        .style(button::text)
                        .padding(0)
                        .width(Length::FillPortion(3)),
                    text(item.numero_interne.clone().unwrap_or_default())
                        .width(Length::FillPortion(1))
                        .size(theme::TEXT),
                    text(self.collectivite_of(item))
                        .width(if self.collectivites.is_empty() {
                            Length::Shrink
                        } else {
                            Length::FillPortion(2)
                        })
                        .size(theme::SMALL),
                    text(item.state_label())
                        .width(Length::FillPortion(2))
                        .size(theme::TEXT),
                    text(theme::french_datetime(&item.modifie_le))
                        .width(Length::FillPortion(2))
                        .size(theme::SMALL),
                ]
                .spacing(theme::GAP),
            );
        }
        let nav = row![
            button(text(t("gui.precedent")))
                .on_press_maybe((self.page > 0).then(|| Message::Page(self.page - 1))),
            text(tf("gui.page", &[("n", &(self.page + 1).to_string())])),
            button(text(t("gui.suivant")))
                .on_press_maybe((self.items.len() == PAGE).then(|| Message::Page(self.page + 1))),
        ]
        .spacing(theme::GAP);
        column![scrollable(col).height(Length::Fill), nav]
            .spacing(theme::GAP)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::simulator;

    fn named(nom: &str, siren: &str) -> crate::settings::CollectiviteSettings {
        crate::settings::CollectiviteSettings {
            nom: Some(nom.to_owned()),
            siren: Some(siren.to_owned()),
            ..Default::default()
        }
    }

    /// With several collectivités set, each item of the list says whose it is (issue 21); with
    /// one, nothing is added.
    #[test]
    fn the_list_names_each_item_s_collectivite_when_there_are_several() {
        let item = |id: i64, libelle: &str, siren: &str| Item {
            id,
            genre: crate::outbox::Kind::Acte,
            libelle: libelle.to_owned(),
            etat: ItemState::EnAttente,
            cree_le: "2026-12-01T10:00:00Z".to_owned(),
            modifie_le: "2026-12-01T10:00:00Z".to_owned(),
            lot_id: None,
            siren: Some(siren.to_owned()),
            numero_interne: None,
            id_plateforme: None,
        };
        let fontvieille = named("Commune de Fontvieille", "211300397");
        let paradou = named("Commune de Paradou", "211300686");
        let page = |names| Page {
            items: vec![
                item(1, "Voirie", "211300397"),
                item(2, "Cantine", "211300686"),
            ],
            counts: Vec::new(),
            login: None,
            received: Vec::new(),
            copies: 0,
            to_sign: Vec::new(),
            to_attach: 0,
            collectivites: names,
        };
        let mut state = State::default();
        let _ = state.update(Message::Loaded(Some(Ok(page(collectivite_names(&[
            &fontvieille,
            &paradou,
        ]))))));
        {
            let mut ui = simulator(state.view());
            ui.find("Commune de Fontvieille").expect("the first item's");
            ui.find("Commune de Paradou").expect("the second item's");
        }
        let _ = state.update(Message::Loaded(Some(Ok(page(collectivite_names(&[
            &fontvieille,
        ]))))));
        let mut ui = simulator(state.view());
        assert!(
            ui.find("Commune de Fontvieille").is_err(),
            "one: nothing added"
        );
    }

    #[test]
    fn an_upload_under_way_shows_its_progress_and_can_be_stopped() {
        let state = State {
            sending: Some(Arc::new(AtomicBool::new(false))),
            ..Default::default()
        };
        state.upload.total.store(20_000_000, Ordering::Relaxed);
        state.upload.sent.store(5_000_000, Ordering::Relaxed);
        let expected = tf(
            "gui.envoi_progression",
            &[
                ("envoye", &crate::actes::files::human_size(5_000_000)),
                ("total", &crate::actes::files::human_size(20_000_000)),
            ],
        );
        let mut ui = simulator(state.view());
        ui.find(expected.as_str()).expect("progress text");
        ui.click(t("gui.arreter").as_str()).expect("stop button");
        let messages: Vec<Message> = ui.into_messages().collect();
        assert!(
            matches!(messages.last(), Some(Message::Stop)),
            "{messages:?}"
        );
        let mut state = state;
        let _ = state.update(Message::Stop);
        assert!(
            state
                .sending
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed)),
            "Stop sets the cancel flag the sender reads"
        );
    }
}
