//! What the Envois screen does off the UI thread: read a page, send, sign, answer, lots.

use super::{Message, PAGE, Page, ReplyForm};
use crate::gui::background;
use crate::messages::{t, tf};
use crate::outbox::{Filter, Outbox, State as ItemState};
use crate::platform::s2low::UploadProgress;
use crate::usecases::sign_items::SignedItem;
use iced::Task;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use zeroize::Zeroizing;

/// The classification of the settings' collectivité, as the home screen speaks of it: nothing
/// when no SIREN is set (no ACTES here) or when it is recent.
pub(super) fn classification_notice() -> Option<String> {
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
pub(super) fn period_bound(text: &str, time_of_day: &str) -> Result<Option<String>, String> {
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
pub(super) fn send_reply(
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
pub(super) fn send(
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
pub(super) fn sign_chosen(
    ids: Vec<i64>,
    pin: Zeroizing<String>,
) -> Result<Vec<SignedItem>, String> {
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

pub(super) fn load(filter: Filter) -> Task<Message> {
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
pub(super) fn export_lot(
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
pub(super) fn inspect_lot(lot: std::path::PathBuf, accept_unsigned: bool) -> LotCheck {
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
pub(super) fn import_lot(lot: std::path::PathBuf, accept_unsigned: bool) -> Result<String, String> {
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
pub(super) fn collectivite_names(
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
pub(super) fn change_item(
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
pub(super) fn attach_item(id: i64, transaction: &str) -> Result<String, String> {
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
pub(super) fn cancel_act(
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
