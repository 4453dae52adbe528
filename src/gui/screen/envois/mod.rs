//! Envois: the outbox, newest first; only one page of rows is built. The screen's state and
//! what each message does live here; how it looks in `view.rs`; what runs off the UI thread
//! (reading a page, sending, signing, answering, lots) in `work.rs`.

mod view;
mod work;

use crate::gui::background;
use crate::messages::{t, tf};
use crate::outbox::{Filter, Item, Outbox, State as ItemState};
use crate::platform::s2low::UploadProgress;
use crate::platform::sender::Report;
use crate::usecases::sign_items::SignedItem;
use iced::Task;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
pub use work::{LotCheck, refresh};
use work::{
    attach_item, cancel_act, change_item, export_lot, import_lot, inspect_lot, load, period_bound,
    send, send_reply, sign_chosen,
};
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

/// A collectivité as the Envois filter offers it: its name, chosen by its SIREN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectiviteChoix {
    pub siren: String,
    pub nom: String,
}

impl std::fmt::Display for Choix<CollectiviteChoix> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Choix::Tous => f.write_str(&t("gui.filtre_toutes_collectivites")),
            Choix::Un(c) => f.write_str(&c.nom),
        }
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
    detail: Option<Result<Box<crate::gui::screen::envoi_detail::Detail>, String>>,
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
    /// Only this collectivité's items (its SIREN), when several are set.
    collectivite: Option<String>,
    /// The column the list is ordered by, and in which direction.
    tri: crate::outbox::Tri,
    croissant: bool,
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
    Selected(Option<Result<Box<crate::gui::screen::envoi_detail::Detail>, String>>),
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
    /// Only one collectivité's items (its SIREN), or all.
    FilterCollectivite(Choix<CollectiviteChoix>),
    /// A column header clicked: ordered by it, or the other way round when it already is.
    SortBy(crate::outbox::Tri),
    LotPath(String),
    /// « Parcourir… » for the lot (to import) or « Enregistrer sous… » (to export), or for the
    /// letter answering the préfecture.
    Browse(crate::gui::files::Request),
    /// What the dialog chose: the lot's path, or the letter's when an answer is being written.
    Chosen(crate::gui::files::Kind, Vec<std::path::PathBuf>),
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
            siren: self.collectivite.clone(),
            tri: self.tri,
            croissant: self.croissant,
        })
    }

    /// Check lot `lot` off the UI thread (accepting it unsigned or not).
    fn check_lot(&mut self, lot: std::path::PathBuf, accept_unsigned: bool) -> Task<Message> {
        self.busy = true;
        let checked = lot.clone();
        Task::perform(
            background(move || inspect_lot(lot, accept_unsigned)),
            move |r| Message::LotInspected(checked.clone(), accept_unsigned, r),
        )
    }

    /// A filter or the order changed: the list is read again from its first page.
    fn reread_from_first_page(&mut self) -> Task<Message> {
        self.page = 0;
        self.reload()
    }

    /// Read the list again with the filters; a date that does not read yet leaves it as it is.
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
                return self.reread_from_first_page();
            }
            Message::FilterState(choix) => {
                self.etat = match choix {
                    Choix::Tous => None,
                    Choix::Un(e) => Some(e),
                };
                return self.reread_from_first_page();
            }
            Message::FilterFrom(text) => {
                self.du = text;
                return self.reread_from_first_page();
            }
            Message::FilterTo(text) => {
                self.au = text;
                return self.reread_from_first_page();
            }
            Message::FilterCollectivite(choix) => {
                self.collectivite = match choix {
                    Choix::Tous => None,
                    Choix::Un(c) => Some(c.siren),
                };
                return self.reread_from_first_page();
            }
            Message::SortBy(tri) => {
                // The same column again turns the order round; a new one starts where a person
                // expects: the newest first for the date, A to Z (or the life cycle) otherwise.
                if self.tri == tri {
                    self.croissant = !self.croissant;
                } else {
                    self.tri = tri;
                    self.croissant = tri != crate::outbox::Tri::Modification;
                }
                return self.reread_from_first_page();
            }
            Message::FilterText(text) => {
                self.chercher = text;
                return self.reread_from_first_page();
            }
            Message::Browse(request) => {
                let kind = request.kind;
                return crate::gui::files::choose(request, move |p| Message::Chosen(kind, p));
            }
            Message::Chosen(kind, paths) => {
                if let Some(path) = paths.into_iter().next() {
                    let path = path.display().to_string();
                    match kind {
                        crate::gui::files::Kind::Lettre => {
                            if let Some(form) = self.reply.as_mut() {
                                form.lettre = path;
                            }
                        }
                        _ => return self.update(Message::LotPath(path)),
                    }
                }
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
                    background(move || crate::gui::screen::envoi_detail::load(id).map(Box::new)),
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
                    background(move || crate::gui::screen::envoi_detail::open_received(id, index)),
                    Message::OpenedReceived,
                );
            }
            Message::OpenedReceived(result) => {
                self.opened = Some(crate::gui::opened_message(result));
            }
            Message::ReplyTo(index) => {
                if let Some(Ok(detail)) = &self.detail
                    && let Some(r) = detail.recus.get(index)
                    && let Some(kind) =
                        crate::gui::screen::envoi_detail::answerable(&r.genre, &r.nom)
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

    /// The items of « À signer » ticked, in the order listed.
    fn chosen_to_sign(&self) -> Vec<i64> {
        self.to_sign
            .iter()
            .map(|i| i.id)
            .filter(|id| !self.not_chosen.contains(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::work::collectivite_names;
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

    /// The list has column headers, and each state is a chip with its icon and its French word
    /// (issue 22): an accusé de réception is ticked, a refusal crossed, a PES to attach flagged.
    #[test]
    fn the_list_has_headers_and_each_state_its_icon_and_word() {
        let item = |id: i64, genre, etat, id_plateforme: Option<&str>| Item {
            id,
            genre,
            libelle: format!("Envoi {id}"),
            etat,
            cree_le: "2026-12-01T10:00:00Z".to_owned(),
            modifie_le: "2026-12-01T10:00:00Z".to_owned(),
            lot_id: None,
            siren: None,
            numero_interne: None,
            id_plateforme: id_plateforme.map(str::to_owned),
        };
        let mut state = State::default();
        let _ = state.update(Message::Loaded(Some(Ok(Page {
            items: vec![
                item(1, crate::outbox::Kind::Acte, ItemState::Acquitte, Some("7")),
                item(2, crate::outbox::Kind::Acte, ItemState::Refuse, Some("8")),
                item(3, crate::outbox::Kind::Pes, ItemState::Envoye, None),
                item(4, crate::outbox::Kind::Pes, ItemState::Envoye, Some("9")),
            ],
            counts: Vec::new(),
            login: None,
            received: Vec::new(),
            copies: 0,
            to_sign: Vec::new(),
            to_attach: 1,
            collectivites: Default::default(),
        }))));
        let mut ui = simulator(state.view());
        // The date column shows the order in use: the newest change first.
        for header in ["Objet", "Numéro", "État", "Modifié le ▼"] {
            ui.find(header).expect(header);
        }
        assert!(
            ui.find("Collectivité").is_err(),
            "one collectivité: no column"
        );
        assert!(state.collectivite_filter().is_none(), "one: no filter");
        for chip in [
            "✓ accusé de réception reçu",
            "✗ refusé",
            "⚠ transmis, à rattacher",
            "→ transmis",
        ] {
            ui.find(chip).expect(chip);
        }
    }

    /// A click on a header orders the list by it (a second turns it round, shown ▲ or ▼), and
    /// with several collectivités a filter keeps one — both reach the outbox's query.
    #[test]
    fn headers_sort_and_the_collectivite_filter_narrows_the_list() {
        use crate::outbox::Tri;
        let fontvieille = named("Commune de Fontvieille", "211300397");
        let paradou = named("Commune de Paradou", "211300686");
        let mut state = State::default();
        let _ = state.update(Message::Loaded(Some(Ok(Page {
            items: vec![Item {
                id: 1,
                genre: crate::outbox::Kind::Acte,
                libelle: "Voirie".to_owned(),
                etat: ItemState::EnAttente,
                cree_le: "2026-12-01T10:00:00Z".to_owned(),
                modifie_le: "2026-12-01T10:00:00Z".to_owned(),
                lot_id: None,
                siren: Some("211300397".to_owned()),
                numero_interne: None,
                id_plateforme: None,
            }],
            counts: Vec::new(),
            login: None,
            received: Vec::new(),
            copies: 0,
            to_sign: Vec::new(),
            to_attach: 0,
            collectivites: collectivite_names(&[&fontvieille, &paradou]),
        }))));
        {
            let mut ui = simulator(state.view());
            ui.click("Objet").expect("the Objet header");
            assert!(
                ui.into_messages()
                    .any(|m| matches!(m, Message::SortBy(Tri::Objet)))
            );
        }
        // The pick list's words are drawn, not read by the simulator: its presence is asked.
        assert!(state.collectivite_filter().is_some(), "several: the filter");
        let filter = |state: &State| state.filter().expect("filter");
        assert_eq!(
            filter(&state).tri,
            Tri::Modification,
            "newest first at start"
        );
        let _ = state.update(Message::SortBy(Tri::Objet));
        assert!(filter(&state).tri == Tri::Objet && filter(&state).croissant);
        simulator(state.view())
            .find("Objet ▲")
            .expect("the order shown");
        let _ = state.update(Message::SortBy(Tri::Objet));
        assert!(!filter(&state).croissant, "a second click turns it round");
        simulator(state.view())
            .find("Objet ▼")
            .expect("the order shown");
        let _ = state.update(Message::FilterCollectivite(Choix::Un(CollectiviteChoix {
            siren: "211300686".to_owned(),
            nom: "Commune de Paradou".to_owned(),
        })));
        assert_eq!(filter(&state).siren.as_deref(), Some("211300686"));
        let _ = state.update(Message::FilterCollectivite(Choix::Tous));
        assert_eq!(filter(&state).siren, None);
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
