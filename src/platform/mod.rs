//! Talking to the télétransmission platform: the S²LOW API (ACTES and Hélios) over HTTPS with the
//! card's authentication key, the sender that moves outbox items to the platform exactly once, and
//! the sandbox platform used for demonstrations, training and tests.

pub mod demo;
mod http;
pub mod s2low;
pub mod sandbox;
pub mod sender;
pub mod stela;
pub mod tls;

use crate::card::CardError;
use crate::card::pin::PinPrompt;
use crate::card::select::{KeyChoice, open_for_role};
use crate::certs::Role;
use crate::messages::tf;
use crate::outbox::Outbox;
use sender::{Report, Sender, SenderError, SenderLock};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use std::time::Instant;

// The settings' `[plateforme]` is plain data of the settings; its behaviour lives here.
pub use crate::settings::{PlatformKind, PlatformSettings};

impl PlatformSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.delai_secondes.max(1))
    }

    pub fn backoff(&self) -> sender::Backoff {
        let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.0, 86_400.0));
        sender::Backoff {
            first: secs(self.premier_nouvel_essai_secondes),
            last: secs(self.dernier_nouvel_essai_secondes),
        }
    }
}

/// What the sender asks of a platform. S²LOW does everything; STELA's editor API carries acts
/// only (the other calls say so in French).
pub trait Platform: Send + Sync {
    fn acte_create(
        &self,
        fields: &s2low::ActeFields,
        files: &s2low::ActeFiles,
        progress: Option<std::sync::Arc<s2low::UploadProgress>>,
    ) -> Result<String, PlatformError>;
    fn acte_status(&self, reference: &s2low::Reference)
    -> Result<s2low::ActeStatus, PlatformError>;
    /// The platform's reference of an act it holds (after an answer lost, or the platform
    /// saying the number is taken); `None` when it does not have it and the act may be sent.
    fn acte_find(&self, lookup: &ActeLookup) -> Result<Option<s2low::Reference>, PlatformError>;
    fn acte_cancel(&self, transaction: &str) -> Result<String, PlatformError>;
    /// Answer a préfecture document: send the letter and, for a demande de pièces, the pieces —
    /// or refuse to send them (a demande de pièces, a lettre d'observations). Returns the reply's
    /// transaction (S²LOW's new one; STELA gives none and the act's UUID is returned).
    fn reply(&self, target: &ReplyTarget, reply: &s2low::Reply) -> Result<String, PlatformError>;
    /// The préfecture's classification in force (`RetourClassification`), raw.
    fn classification(&self) -> Result<Vec<u8>, PlatformError>;
    fn helios_import(
        &self,
        pes: &std::path::Path,
        progress: Option<std::sync::Arc<s2low::UploadProgress>>,
    ) -> Result<s2low::HeliosImport, PlatformError>;
    fn helios_status(&self, id: &str) -> Result<i32, PlatformError>;
    fn helios_acquit(&self, id: &str) -> Result<Vec<u8>, PlatformError>;
    fn prefecture_documents(&self) -> Result<Vec<s2low::PrefectureDocument>, PlatformError>;
    fn prefecture_document(&self, id: &str) -> Result<Vec<u8>, PlatformError>;
    fn prefecture_mark_read(&self, id: &str) -> Result<(), PlatformError>;
    /// Check the connection and the account (TLS with the card, login): the platform's words.
    fn test_connection(&self) -> Result<String, PlatformError>;
    /// Ask the préfecture for a new classification (it arrives later as a 7-2 message).
    fn classification_request(&self) -> Result<(), PlatformError> {
        Err(PlatformError::Config(crate::messages::t(
            "plateforme.demande_classification_non_prise_en_charge",
        )))
    }
    /// Confirm a transmission the platform holds waiting for the user's authentication.
    fn acte_confirm(&self, _transaction: &str) -> Result<(), PlatformError> {
        Err(PlatformError::Config(crate::messages::t(
            "plateforme.confirmation_non_prise_en_charge",
        )))
    }
    /// The platform's bordereau (PDF) of an acknowledged act; `None` when it gives none.
    fn acte_bordereau(
        &self,
        _reference: &s2low::Reference,
    ) -> Result<Option<Vec<u8>>, PlatformError> {
        Ok(None)
    }
    /// The act and annexes as stamped by the platform (file name, PDF); empty when it gives none.
    fn acte_stamped_files(
        &self,
        _reference: &s2low::Reference,
    ) -> Result<Vec<(String, Vec<u8>)>, PlatformError> {
        Ok(Vec::new())
    }
    /// The préfecture's letters about an act that the platform announces in the act's own
    /// record instead of a listing of documents (STELA's history), each with the platform's key
    /// for it. None by default: S²LOW lists its documents (`prefecture_documents`).
    fn acte_letters(
        &self,
        _reference: &s2low::Reference,
    ) -> Result<Vec<ActeLetter>, PlatformError> {
        Ok(Vec::new())
    }
    /// The PES_Retour waiting to be read (none on a platform without Hélios).
    fn helios_retours(&self) -> Result<Vec<s2low::PesRetourEntry>, PlatformError> {
        Ok(Vec::new())
    }
    fn helios_retour(&self, _id: &str) -> Result<Vec<u8>, PlatformError> {
        Err(PlatformError::Config(crate::messages::t(
            "plateforme.retour_non_pris_en_charge",
        )))
    }
    fn helios_retour_mark_read(&self, _id: &str) -> Result<(), PlatformError> {
        Err(PlatformError::Config(crate::messages::t(
            "plateforme.retour_non_pris_en_charge",
        )))
    }
}

/// A préfecture letter an act's record announces, as the sender keeps it with the act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActeLetter {
    /// The platform's own entry for the letter, the same at every reading (STELA: the history
    /// entry's uuid), made of letters, digits and dashes: the letter is kept once under it, and
    /// a reply names it (`courrier_number`).
    pub key: String,
    /// Its ACTES transaction type: 2 courrier simple, 3 demande de pièces complémentaires,
    /// 4 lettre d'observations, 5 déféré.
    pub kind: u8,
    /// What is kept: a note in French saying what came, when, with the préfecture's words and
    /// where to read the document — STELA does not hand the file to the editor API.
    pub note: String,
}

/// What the sender knows of an act it looks for on the platform.
pub struct ActeLookup<'a> {
    /// `IDActe` as the act was queued: département-SIREN-date-numéro-nature (S²LOW finds the
    /// act by it; STELA's list is matched on the SIREN it carries).
    pub id_acte: &'a str,
    pub acte: &'a s2low::ActeFields,
    /// The platform has just refused the act because its number is taken: not finding the act
    /// then means another act holds the number, and sending again would only be refused again.
    pub after_conflict: bool,
}

/// The préfecture document a reply answers, with what the outbox knows of it.
#[derive(Debug, Clone, Default)]
pub struct ReplyTarget {
    /// The document's number on the platform (S²LOW's transaction id of the letter).
    pub document: String,
    /// Its ACTES transaction type when the letter was brought back: 2 courrier simple, 3 demande
    /// de pièces complémentaires, 4 lettre d'observations, 5 déféré.
    pub kind: Option<u8>,
    /// The platform's reference of the act the letter is about (STELA answers under the act).
    pub act: Option<String>,
}

/// What each kind of letter can be answered with, checked before anything leaves. S²LOW builds
/// the reply's message from the letter's type and `type_envoie` alone
/// (ActesTransaction::generateReponseCourrierXMLFile, libriciel/s2low): a courrier simple gets a
/// ReponseCourrierSimple (2-2) whatever `type_envoie` says, so a « refus » would go as an answer;
/// only a PieceComplementaire (3-4) lists pieces — sent with anything else they would travel in
/// the archive unnamed by its message; a déféré (5) has no reply (« Mauvais type de transaction »).
/// STELA has the same four answers (EditeurRestController: courrier-simple and
/// lettre-observation take one `file`, only pieces-complementaires takes `files`).
pub fn check_reply(kind: u8, reply: &s2low::Reply) -> Result<(), PlatformError> {
    let refuse = |key: &str| Err(PlatformError::Unsendable(crate::messages::t(key)));
    match kind {
        2 if reply.refus => refuse("plateforme.reponse_courrier_simple_sans_refus"),
        3 if reply.refus && !reply.pieces.is_empty() => {
            refuse("plateforme.reponse_refus_sans_pieces")
        }
        2 | 4 if !reply.pieces.is_empty() => {
            refuse("plateforme.reponse_pieces_sur_demande_seulement")
        }
        2..=4 => Ok(()),
        _ => refuse("plateforme.reponse_impossible_pour_ce_courrier"),
    }
}

/// What went wrong with the platform, sorted by what the sender may do next.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Nothing reached the platform (no connection, TLS refused before the request): safe to retry.
    #[error("{}", tf("plateforme.non_envoye", &[("detail", .0)]))]
    NotSent(String),
    /// The request may or may not have been received (timeout or cut after sending started, an
    /// answer that cannot be read): the item must be reconciled before any new attempt.
    #[error("{}", tf("plateforme.issue_inconnue", &[("detail", .0)]))]
    Unknown(String),
    /// The platform refused, with its own words.
    #[error("{}", tf("plateforme.refus", &[("message", .0)]))]
    Ko(String),
    /// The platform says it already has this item.
    #[error("{}", tf("plateforme.doublon", &[("message", .0)]))]
    Duplicate(String),
    /// The card could not sign the TLS handshake (removed, PIN…).
    #[error("{0}")]
    Card(#[from] CardError),
    /// Settings or local files.
    #[error("{0}")]
    Config(String),
    /// This item cannot be sent as it is (found before anything left): it goes back to
    /// preparation with the reason; the other items are sent.
    #[error("{0}")]
    Unsendable(String),
}

impl PlatformError {
    /// Whether the platform may have acted on the request.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, PlatformError::Unknown(_))
    }
}

/// The platform client for these settings (address and CA overridable), authenticated with the
/// card's authentication key: one PIN entry for the whole session.
pub fn connect(
    settings: &crate::settings::Settings,
    address: Option<String>,
    ca: Option<PathBuf>,
    choice: &KeyChoice,
    prompt: Box<dyn PinPrompt>,
) -> Result<Box<dyn Platform>, PlatformError> {
    let address = address
        .or_else(|| settings.plateforme.adresse.clone())
        .ok_or_else(|| PlatformError::Config(crate::messages::t("plateforme.non_configuree")))?;
    let ca = ca.or_else(|| settings.plateforme.ca.clone());
    let mut prompt = prompt;
    // The platform password is asked before the card's PIN (with `--pin-stdin`: first line).
    let login = match &settings.plateforme.identifiant {
        Some(user) => Some((user.clone(), ask_password(prompt.as_mut(), user, &address)?)),
        None => None,
    };
    if settings.plateforme.confirmation && login.is_none() {
        return Err(PlatformError::Config(crate::messages::t(
            "plateforme.confirmation_sans_identifiant",
        )));
    }
    let signer = open_for_role(choice, Role::Authentification, prompt)?;
    let key = tls::SharedCardKey::new(signer)?;
    let timeout = settings.plateforme.timeout();
    Ok(match settings.plateforme.genre {
        PlatformKind::S2low => {
            let client = s2low::S2low::new(&address, ca.as_deref(), Some(key), timeout)?
                .with_confirmation(settings.plateforme.confirmation);
            match login {
                // A wrong password is found here, before any item moves: every request would
                // be refused with the same words.
                Some((user, password)) => {
                    let client = client.with_login(user, password);
                    client.test_connection()?;
                    Box::new(client)
                }
                None => Box::new(client),
            }
        }
        PlatformKind::Stela => Box::new(stela::Stela::new(
            &address,
            ca.as_deref(),
            Some(key),
            timeout,
        )?),
    })
}

/// The préfecture document number in the name a received letter is kept under: what a reply
/// is addressed to. S²LOW's archive `…-courrier-N.tar.gz` (its transaction number), or the note
/// kept for a letter STELA announces, `…-courrier-KEY.txt` (its history entry's uuid,
/// `ActeLetter::key`).
pub fn courrier_number(name: &str) -> Option<&str> {
    let tail = name.rsplit_once("-courrier-")?.1;
    if let Some(n) = tail.strip_suffix(".tar.gz") {
        return (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n);
    }
    let key = tail.strip_suffix(".txt")?;
    (!key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')).then_some(key)
}

/// Answer a préfecture letter about outbox item `item` and note it in the item's journal.
/// Returns the reply's transaction.
pub fn reply_to_courrier(
    outbox: &mut Outbox,
    platform: &dyn Platform,
    item: i64,
    courrier: &str,
    reply: &s2low::Reply,
    who: &str,
) -> Result<String, String> {
    let found = outbox.get(item).map_err(|e| e.to_string())?;
    // The letter as it was brought back (`…-courrier-N.tar.gz`, or STELA's note
    // `…-courrier-KEY.txt`; genre `courrier_prefecture_K`) gives its type; a letter not brought
    // back (yet) has none here, and STELA reads it from the act's history.
    let kind = outbox
        .received(item)
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|(_, name, _)| courrier_number(name) == Some(courrier))
        .find_map(|(genre, _, _)| genre.strip_prefix("courrier_prefecture_")?.parse().ok());
    if let Some(kind) = kind {
        check_reply(kind, reply).map_err(|e| e.to_string())?;
    }
    let target = ReplyTarget {
        document: courrier.to_owned(),
        kind,
        act: found
            .id_plateforme
            .filter(|id| !id.starts_with("unique_id:")),
    };
    let transaction = platform.reply(&target, reply).map_err(|e| e.to_string())?;
    let detail = tf(
        "envoi.cli.reponse_envoyee",
        &[("courrier", courrier), ("transaction", &transaction)],
    );
    outbox
        .record(item, "reponse_prefecture", &detail, who)
        .map_err(|e| e.to_string())?;
    Ok(transaction)
}

/// The act of outbox item `item` as the préfecture must be asked to cancel it: an acknowledged
/// act whose transaction the platform gave. Checked before anything is asked of the card.
pub fn cancellable_act(outbox: &Outbox, item: i64) -> Result<String, String> {
    let found = outbox.get(item).map_err(|e| e.to_string())?;
    match (&found.genre, found.etat, found.id_plateforme.as_deref()) {
        (crate::outbox::Kind::Acte, crate::outbox::State::Acquitte, Some(id))
            if !id.starts_with("unique_id:") =>
        {
            Ok(id.to_owned())
        }
        _ => Err(tf(
            "envoi.cli.annulation_impossible",
            &[("id", &item.to_string()), ("etat", &found.etat.label())],
        )),
    }
}

/// Ask the préfecture to cancel the acknowledged act of outbox item `item`; the item goes to
/// « annulé » with the cancellation's transaction in its journal. Returns that transaction.
pub fn cancel_act(
    outbox: &mut Outbox,
    platform: &dyn Platform,
    item: i64,
    who: &str,
) -> Result<String, String> {
    let transaction = cancellable_act(outbox, item)?;
    let cancel_id = platform
        .acte_cancel(&transaction)
        .map_err(|e| e.to_string())?;
    let detail = tf(
        "envoi.cli.annulation_demandee",
        &[("transaction", &cancel_id)],
    );
    outbox
        .transition(item, crate::outbox::State::Annule, who, &detail)
        .map_err(|e| e.to_string())?;
    Ok(cancel_id)
}

/// The platform account's password, asked once per connection.
fn ask_password(
    prompt: &mut dyn PinPrompt,
    user: &str,
    address: &str,
) -> Result<zeroize::Zeroizing<String>, PlatformError> {
    use secrecy::ExposeSecret;
    let request = crate::card::pin::PinRequest {
        label: format!("{user} @ {address}"),
        purpose: crate::card::pin::PinPurpose::PlatformPassword,
        state: Default::default(),
    };
    let secret = prompt.ask(&request)?;
    Ok(zeroize::Zeroizing::new(secret.expose_secret().to_owned()))
}

/// Run the sender over the default outbox: one pass, or passes until nothing moves any more or
/// `until` passes. `upload` counts the bytes of the upload under way. Holds the sender lock.
pub fn send_pending(
    settings: &crate::settings::Settings,
    platform: &dyn Platform,
    until: Option<Instant>,
    cancel: &AtomicBool,
    upload: &std::sync::Arc<s2low::UploadProgress>,
) -> Result<Report, SenderError> {
    let data_dir = crate::settings::data_dir().map_err(|e| PlatformError::Config(e.to_string()))?;
    let _lock = SenderLock::acquire(&data_dir.join("envoi.verrou"))?;
    let mut outbox = Outbox::open_default()?;
    let mut total = Report::default();
    // Copies of acknowledged items kept past the chosen period go first (never what came back).
    if let Some(days) = settings.envois.supprimer_copies_apres_jours {
        let cutoff = crate::certs::iso8601(
            time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(days)),
        );
        match outbox.purge_copies(&cutoff, &sender::who()) {
            Ok((items, _)) => total.copies_supprimees += items as u32,
            Err(e) => total.erreurs.push(e.to_string()),
        }
    }
    loop {
        let mut sender = Sender {
            outbox: &mut outbox,
            platform,
            backoff: settings.plateforme.backoff(),
            who: sender::who(),
            unattached_dir: data_dir.join("courriers-non-rattaches"),
            retours_dir: data_dir.join("pes-retours"),
            upload: upload.clone(),
        };
        let pass = sender.run_once(cancel)?;
        total.merge(pass);
        let Some(until) = until else { break };
        if cancel.load(std::sync::atomic::Ordering::Relaxed)
            || outbox.pending_count()? == 0
            || Instant::now() >= until
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_letter_takes_only_the_answers_the_platforms_build() {
        use super::{PlatformError, check_reply, s2low::Reply};
        let reply = |refus: bool, pieces: usize| Reply {
            refus,
            lettre: "lettre.pdf".into(),
            type_lettre: "99_AU".into(),
            pieces: (0..pieces)
                .map(|i| (format!("p{i}.pdf").into(), "21_RP".into()))
                .collect(),
        };
        let ok = |kind, refus, pieces| check_reply(kind, &reply(refus, pieces)).is_ok();
        assert!(ok(2, false, 0));
        assert!(!ok(2, true, 0), "a courrier simple has no refusal");
        assert!(!ok(2, false, 1));
        assert!(ok(3, false, 2) && ok(3, true, 0));
        assert!(!ok(3, true, 1), "a refusal is a letter alone");
        assert!(ok(4, false, 0) && ok(4, true, 0));
        assert!(!ok(4, false, 1), "pieces answer a demande only");
        assert!(matches!(
            check_reply(5, &reply(false, 0)),
            Err(PlatformError::Unsendable(_))
        ));
    }

    #[test]
    fn a_letter_s_number_is_read_from_its_name() {
        assert_eq!(
            super::courrier_number("034-210000000-20261120-DEL42-DE-courrier-17.tar.gz"),
            Some("17")
        );
        assert_eq!(super::courrier_number("ARActe.xml"), None);
        assert_eq!(super::courrier_number("x-courrier-.tar.gz"), None);
        assert_eq!(super::courrier_number("x-courrier-1a.tar.gz"), None);
        assert_eq!(
            super::courrier_number(
                "006-210600730-20200115-ST1-DE-courrier-0b4c2e1a-9f3d-4c1e-8a2b-1234567890ab.txt"
            ),
            Some("0b4c2e1a-9f3d-4c1e-8a2b-1234567890ab")
        );
        assert_eq!(super::courrier_number("x-courrier-a/b.txt"), None);
        assert_eq!(super::courrier_number("x-courrier-.txt"), None);
    }
}
