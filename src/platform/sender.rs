//! The sender: moves outbox items to the platform exactly once, then brings back what the platform
//! answers (accusé de réception, PES_Acquit).
//!
//! Exactly once rests on three rules: (1) an item is marked `en_cours` in the outbox *before* its
//! upload starts, so a crash leaves a trace; (2) an item whose outcome is unknown (crash, timeout
//! or cut after the upload began, an unreadable answer) is reconciled with the platform before
//! anything is resent — an act by its IDActe, which the platform knows; a PES by resending, which
//! the platform's duplicate detection turns into "doublon détecté" with the original transaction;
//! (3) only one sender runs at a time on an outbox (a file lock).

use super::Platform;
use super::PlatformError;
use super::s2low::{
    ActeFields, ActeFiles, HeliosImport, PesRetourEntry, Reference, UploadProgress,
};
use crate::messages::tf;
use crate::outbox::{Item, Kind, Outbox, OutboxError, State};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What the sender needs to know of an act besides its files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActeData {
    pub acte: ActeFields,
    /// `IDActe` (département-SIREN-date-numéro-nature), how the platform finds the act again.
    pub id_acte: String,
}

/// Retry schedule: exponential with jitter, from `first` to `last`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub last: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(5),
            last: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// Delay before attempt `n + 1` after `n` failures: first·2^(n-1), capped, then drawn in
    /// [½, 1] of that so that many workstations do not retry in step.
    pub fn delay(&self, failures: u32) -> Duration {
        let exp = self
            .first
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let capped = exp.min(self.last);
        let factor = rand::rng().random_range(0.5..=1.0);
        capped.mul_f64(factor)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("{0}")]
    Outbox(#[from] OutboxError),
    #[error("{0}")]
    Platform(#[from] PlatformError),
    #[error("{}", tf("envoi.deja_en_cours", &[("chemin", &.0.display().to_string())]))]
    AlreadyRunning(PathBuf),
}

/// What one pass did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub envoyes: u32,
    pub rapproches: u32,
    pub acquittes: u32,
    pub refuses: u32,
    pub nouvels_essais: u32,
    /// Préfecture documents brought back (courriers, demandes de pièces…).
    pub courriers: u32,
    /// PES_Retour brought back from the comptable.
    pub retours_pes: u32,
    /// PES the platform already held without naming their transaction: to attach by hand.
    pub a_rattacher: u32,
    /// Items whose copies of their files were removed (`[envois] supprimer_copies_apres_jours`).
    pub copies_supprimees: u32,
    pub erreurs: Vec<String>,
}

impl Report {
    /// Add a pass to the running totals. The same error repeats at every retry: each is kept
    /// once, and only the latest few.
    pub fn merge(&mut self, pass: Report) {
        self.envoyes += pass.envoyes;
        self.rapproches += pass.rapproches;
        self.acquittes += pass.acquittes;
        self.refuses += pass.refuses;
        self.nouvels_essais += pass.nouvels_essais;
        self.courriers += pass.courriers;
        self.retours_pes += pass.retours_pes;
        self.a_rattacher += pass.a_rattacher;
        self.copies_supprimees += pass.copies_supprimees;
        for e in pass.erreurs {
            self.erreurs.retain(|known| *known != e);
            self.erreurs.push(e);
        }
        let excess = self.erreurs.len().saturating_sub(10);
        self.erreurs.drain(..excess);
    }
}

/// Who acts, for the journal: the session's user.
pub fn who() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "?".into())
}

/// The lock that keeps a second sender away from the same outbox while this one lives.
pub struct SenderLock {
    _file: std::fs::File,
}

impl SenderLock {
    pub fn acquire(path: &Path) -> Result<SenderLock, SenderError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| OutboxError::File(path.to_owned(), e.to_string()))?;
        match file.try_lock() {
            Ok(()) => Ok(SenderLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(SenderError::AlreadyRunning(path.to_owned()))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(OutboxError::File(path.to_owned(), e.to_string()).into())
            }
        }
    }
}

pub struct Sender<'a> {
    pub outbox: &'a mut Outbox,
    pub platform: &'a dyn Platform,
    pub backoff: Backoff,
    /// Who acts, for the journal.
    pub who: String,
    /// Where a préfecture document for an act this outbox does not know is kept.
    pub unattached_dir: PathBuf,
    /// Where the PES_Retour the comptable sends back are kept (they belong to no item).
    pub retours_dir: PathBuf,
    /// Bytes of the upload under way (the window's progress bar reads it).
    pub upload: Arc<UploadProgress>,
}

impl Sender<'_> {
    /// One pass: reconcile, send what is due, poll what was sent. Stops early when `cancel` is
    /// set, or on an error that would repeat for every item (the card, the settings).
    pub fn run_once(&mut self, cancel: &AtomicBool) -> Result<Report, SenderError> {
        let mut report = Report::default();
        for item in self.outbox.to_reconcile()? {
            if cancel.load(Ordering::Relaxed) {
                return Ok(report);
            }
            self.reconcile(&item, false, &mut report)?;
        }
        for item in self.outbox.due_for_sending(&crate::outbox::now())? {
            if cancel.load(Ordering::Relaxed) {
                return Ok(report);
            }
            self.send(&item, &mut report)?;
        }
        let polled = self.outbox.to_poll()?;
        let had_actes = polled.iter().any(|i| i.genre == Kind::Acte);
        for item in polled {
            if cancel.load(Ordering::Relaxed) {
                return Ok(report);
            }
            self.poll(&item, &mut report)?;
        }
        if had_actes || self.outbox.has_acknowledged_actes()? {
            self.fetch_prefecture_documents(&mut report, cancel)?;
            self.fetch_acte_letters(&mut report, cancel)?;
        }
        if self.outbox.has_sent_pes()? {
            self.fetch_pes_retours(&mut report, cancel)?;
        }
        Ok(report)
    }

    /// Bring back the PES_Retour waiting on the platform: each is written (privately) to the
    /// retours folder and synced before the platform is told it was read, so a crash in between
    /// only fetches it again.
    fn fetch_pes_retours(
        &mut self,
        report: &mut Report,
        cancel: &AtomicBool,
    ) -> Result<(), SenderError> {
        let entries = match self.platform.helios_retours() {
            Ok(entries) => entries,
            Err(e @ (PlatformError::Card(_) | PlatformError::Config(_))) => return Err(e.into()),
            Err(e) => {
                report.erreurs.push(e.to_string());
                return Ok(());
            }
        };
        for entry in entries {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            match self.fetch_pes_retour(&entry) {
                Ok(()) => report.retours_pes += 1,
                Err(e @ (PlatformError::Card(_) | PlatformError::Config(_))) => {
                    return Err(e.into());
                }
                Err(e) => report.erreurs.push(e.to_string()),
            }
        }
        Ok(())
    }

    fn fetch_pes_retour(&mut self, entry: &PesRetourEntry) -> Result<(), PlatformError> {
        let content = self.platform.helios_retour(&entry.id)?;
        // Kept only if it reads as a PES_Retour: an error page is not a file to keep.
        let retour = crate::pes::retour::read_retour(content.as_slice()).map_err(|e| {
            PlatformError::Unknown(tf(
                "plateforme.retour_illisible",
                &[("id", &entry.id), ("detail", &e.to_string())],
            ))
        })?;
        let name = format!(
            "{}-{}",
            super::s2low::sanitise_name(&entry.id),
            retour_file_name(&entry.nom)
        );
        crate::logging::create_private_dir(&self.retours_dir).map_err(|e| {
            PlatformError::Config(tf(
                "plateforme.fichier_illisible",
                &[
                    ("chemin", &self.retours_dir.display().to_string()),
                    ("detail", &e.to_string()),
                ],
            ))
        })?;
        let path = self.retours_dir.join(&name);
        crate::logging::write_private(&path, &content).map_err(|e| {
            PlatformError::Config(tf(
                "plateforme.fichier_illisible",
                &[
                    ("chemin", &path.display().to_string()),
                    ("detail", &e.to_string()),
                ],
            ))
        })?;
        self.attach_retour(&retour, &name, &content)?;
        self.platform.helios_retour_mark_read(&entry.id)
    }

    /// Keep a PES_Retour with each PES item holding one of its bordereaux, so that the item's
    /// detail shows it; a retour that answers no item stays in the folder only.
    fn attach_retour(
        &mut self,
        retour: &crate::pes::retour::Retour,
        name: &str,
        content: &[u8],
    ) -> Result<(), PlatformError> {
        let keys: Vec<(String, String)> = retour
            .bordereaux
            .iter()
            .filter_map(|b| Some((b.exercice.clone()?, b.numero.clone()?)))
            .collect();
        let recette = retour.type_fichier.as_deref().and_then(|t| {
            let t = t.to_ascii_uppercase();
            if t.contains("REC") {
                Some(true)
            } else if t.contains("DEP") {
                Some(false)
            } else {
                None
            }
        });
        let items = self
            .outbox
            .pes_items_answered_by(retour.id_coll.as_deref(), recette, &keys)
            .map_err(config)?;
        for id in items {
            // Fetched again after a pass that could not mark it read: kept once.
            let known =
                self.outbox
                    .received(id)
                    .map_err(config)?
                    .iter()
                    .any(|(genre, nom, bytes)| {
                        genre == "pes_retour" && nom == name && bytes == content
                    });
            if !known {
                self.outbox
                    .receive(id, "pes_retour", name, content, &self.who)
                    .map_err(config)?;
            }
        }
        Ok(())
    }

    /// Bring back the préfecture's documents and attach each to its act. A document for an act
    /// this outbox does not know is kept in a folder and reported: nothing is lost.
    fn fetch_prefecture_documents(
        &mut self,
        report: &mut Report,
        cancel: &AtomicBool,
    ) -> Result<(), SenderError> {
        let documents = match self.platform.prefecture_documents() {
            Ok(d) => d,
            Err(e @ (PlatformError::Card(_) | PlatformError::Config(_))) => return Err(e.into()),
            Err(e) => {
                report.erreurs.push(e.to_string());
                return Ok(());
            }
        };
        for document in documents {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let archive = match self.platform.prefecture_document(&document.id) {
                Ok(a) => a,
                Err(e) => {
                    report.erreurs.push(e.to_string());
                    continue;
                }
            };
            let name = format!("{}-courrier-{}.tar.gz", document.unique_id, document.id);
            let item = match self
                .outbox
                .find_by_platform_id(&document.related_transaction_id)?
            {
                Some(item) => Some(item),
                None => self.outbox.find_by_platform_id(
                    &Reference::UniqueId(document.unique_id.clone()).stored(),
                )?,
            };
            match item {
                Some(item) => {
                    self.outbox.receive(
                        item.id,
                        &format!("courrier_prefecture_{}", document.kind),
                        &name,
                        &archive,
                        &self.who,
                    )?;
                }
                None => {
                    crate::logging::create_private_dir(&self.unattached_dir).map_err(|e| {
                        OutboxError::File(self.unattached_dir.clone(), e.to_string())
                    })?;
                    let path = self
                        .unattached_dir
                        .join(crate::platform::s2low::sanitise_name(&name));
                    crate::logging::write_private(&path, &archive)
                        .map_err(|e| OutboxError::File(path.clone(), e.to_string()))?;
                    report.erreurs.push(tf(
                        "envoi.courrier_non_rattache",
                        &[
                            ("id_acte", &document.unique_id),
                            ("chemin", &path.display().to_string()),
                        ],
                    ));
                }
            }
            report.courriers += 1;
            // Marked read only once kept: a crash before this line fetches it again.
            if let Err(e) = self.platform.prefecture_mark_read(&document.id) {
                report.erreurs.push(e.to_string());
            }
        }
        Ok(())
    }

    /// Keep the letters the platform announces in each acknowledged act's own record (STELA's
    /// history; none on S²LOW, which lists them). A letter is kept once, under its key, however
    /// many passes read it again; a failure on one act is reported and the others are read.
    ///
    /// Only acts acknowledged within `LETTERS_WINDOW_DAYS` are read, one request each, at every
    /// pass: the préfet's control runs two months from the act's reception (CGCT L. 2131-6),
    /// started again by a demande de pièces or a recours gracieux — a year covers it with room,
    /// without reading every act ever sent at every pass.
    fn fetch_acte_letters(
        &mut self,
        report: &mut Report,
        cancel: &AtomicBool,
    ) -> Result<(), SenderError> {
        let since = crate::certs::iso8601(
            time::OffsetDateTime::now_utc() - time::Duration::days(LETTERS_WINDOW_DAYS),
        );
        let acts = self.outbox.list(&crate::outbox::Filter {
            genre: Some(Kind::Acte),
            etats: vec![State::Acquitte],
            depuis: Some(since),
            ..Default::default()
        })?;
        for item in acts {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let Some(stored) = &item.id_plateforme else {
                continue;
            };
            let letters = match self.platform.acte_letters(&Reference::parse(stored)) {
                Ok(letters) => letters,
                Err(e @ (PlatformError::Card(_) | PlatformError::Config(_))) => {
                    return Err(e.into());
                }
                Err(e) => {
                    report.erreurs.push(e.to_string());
                    continue;
                }
            };
            if letters.is_empty() {
                continue;
            }
            let known = self.outbox.received(item.id)?;
            // Named as S²LOW's letters are (IDActe, then the document's key) so that a reply
            // finds it the same way (`courrier_number`).
            let prefix = self
                .acte_data(item.id)
                .map(|d| d.id_acte)
                .unwrap_or_else(|_| item.id.to_string());
            for letter in letters {
                let genre = format!("courrier_prefecture_{}", letter.kind);
                let name = format!("{prefix}-courrier-{}.txt", letter.key);
                if known.iter().any(|(g, n, _)| *g == genre && *n == name) {
                    continue;
                }
                self.outbox
                    .receive(item.id, &genre, &name, letter.note.as_bytes(), &self.who)?;
                report.courriers += 1;
            }
        }
        Ok(())
    }

    fn later(&self, failures: u32) -> String {
        let at = time::OffsetDateTime::now_utc()
            + time::Duration::try_from(self.backoff.delay(failures + 1))
                .unwrap_or(time::Duration::MINUTE);
        crate::certs::iso8601(at)
    }

    fn attempts(&self, id: i64) -> u32 {
        self.outbox.attempts(id).unwrap_or(0)
    }

    /// Upload one item; the state is `en_cours` in the outbox before the first byte leaves.
    fn send(&mut self, item: &Item, report: &mut Report) -> Result<(), SenderError> {
        // What was checked and queued is what goes: a file changed since sends the item back to
        // preparation, before anything leaves.
        if let Err(changed) = self.check_unchanged(item.id) {
            self.outbox
                .transition(item.id, State::Prepare, &self.who, &changed)?;
            report.erreurs.push(changed);
            return Ok(());
        }
        self.outbox
            .transition(item.id, State::EnCours, &self.who, "")?;
        let outcome = match item.genre {
            Kind::Acte => self.upload_acte(item.id).map(Uploaded::Acte),
            Kind::Pes => self.upload_pes(item.id).map(Uploaded::Pes),
        };
        match outcome {
            Ok(Uploaded::Acte(id)) => {
                self.mark_sent(item.id, &Reference::Transaction(id), "")?;
                report.envoyes += 1;
            }
            Ok(Uploaded::Pes(import)) => {
                let note = if import.duplicate {
                    tf("envoi.doublon_adopte", &[("id", &import.id)])
                } else {
                    String::new()
                };
                self.mark_sent(item.id, &Reference::Transaction(import.id), &note)?;
                report.envoyes += 1;
            }
            Err(PlatformError::Duplicate(message)) if item.genre == Kind::Acte => {
                // The platform already has this numéro: find the act it holds.
                self.outbox
                    .transition(item.id, State::Erreur, &self.who, &message)?;
                let failures = self.attempts(item.id);
                self.outbox.schedule(item.id, &self.later(failures), true)?;
                let reconciled = self.outbox.get(item.id)?;
                self.reconcile(&reconciled, true, report)?;
            }
            Err(PlatformError::Ko(message)) => {
                self.outbox
                    .transition(item.id, State::Refuse, &self.who, &message)?;
                self.outbox.clear_schedule(item.id)?;
                report.refuses += 1;
            }
            Err(PlatformError::Duplicate(_)) => {
                // A PES the platform already holds (same SHA-1), without naming its transaction
                // (S²LOW answers an empty <id/>): it has left, so it is « envoyé », never sent
                // again; a person attaches it to its transaction (`envois rattacher`), and it is
                // followed from then on. Not an error: the file is there.
                let note = tf("envoi.doublon_a_rattacher", &[("id", &item.id.to_string())]);
                self.outbox
                    .transition(item.id, State::Envoye, &self.who, &note)?;
                self.outbox.clear_schedule(item.id)?;
                report.a_rattacher += 1;
            }
            Err(PlatformError::Unsendable(reason)) => {
                // Nothing left: the item cannot go as it is; back to preparation with the
                // reason, and the pass goes on with the others.
                self.outbox
                    .transition(item.id, State::Prepare, &self.who, &reason)?;
                self.outbox.clear_schedule(item.id)?;
                report.erreurs.push(reason);
            }
            Err(e @ PlatformError::NotSent(_)) => {
                let detail = e.to_string();
                self.outbox
                    .transition(item.id, State::EnAttente, &self.who, &detail)?;
                let failures = self.attempts(item.id);
                self.outbox
                    .schedule(item.id, &self.later(failures), false)?;
                report.nouvels_essais += 1;
                report.erreurs.push(detail);
            }
            Err(e @ PlatformError::Unknown(_)) => {
                let detail = e.to_string();
                self.outbox
                    .transition(item.id, State::Erreur, &self.who, &detail)?;
                let failures = self.attempts(item.id);
                self.outbox.schedule(item.id, &self.later(failures), true)?;
                report.nouvels_essais += 1;
                report.erreurs.push(detail);
            }
            Err(e @ (PlatformError::Card(_) | PlatformError::Config(_))) => {
                // Nothing left: the item goes back to the queue, and the pass stops (the same
                // error would come back for every item).
                self.outbox
                    .transition(item.id, State::EnAttente, &self.who, &e.to_string())?;
                return Err(e.into());
            }
        }
        Ok(())
    }

    fn mark_sent(&mut self, id: i64, reference: &Reference, note: &str) -> Result<(), SenderError> {
        self.outbox
            .set_platform_id(id, &reference.stored(), &self.who)?;
        self.outbox.transition(id, State::Envoye, &self.who, note)?;
        self.outbox.clear_schedule(id)?;
        Ok(())
    }

    fn upload_acte(&mut self, id: i64) -> Result<String, PlatformError> {
        let data = self.acte_data(id)?;
        let files = self.outbox.files(id).map_err(config)?;
        let acte = files.iter().find(|f| f.role == "acte").ok_or_else(|| {
            PlatformError::Config(tf("envoi.sans_fichier", &[("id", &id.to_string())]))
        })?;
        let with_role = |role: &str| -> Vec<&Path> {
            files
                .iter()
                .filter(|f| f.role == role)
                .map(|f| f.chemin.as_path())
                .collect()
        };
        let annexes = with_role("annexe");
        let annexes_signatures = with_role("signature_annexe");
        let upload = ActeFiles {
            acte: &acte.chemin,
            annexes: &annexes,
            acte_signature: files
                .iter()
                .find(|f| f.role == "signature_acte")
                .map(|f| f.chemin.as_path()),
            annexes_signatures: &annexes_signatures,
        };
        self.platform
            .acte_create(&data.acte, &upload, Some(self.upload.clone()))
    }

    fn upload_pes(&mut self, id: i64) -> Result<HeliosImport, PlatformError> {
        let files = self.outbox.files(id).map_err(config)?;
        let pes = files.iter().find(|f| f.role == "pes").ok_or_else(|| {
            PlatformError::Config(tf("envoi.sans_fichier", &[("id", &id.to_string())]))
        })?;
        self.platform
            .helios_import(&pes.chemin, Some(self.upload.clone()))
    }

    /// Every file of the item still has the hash recorded when it was queued (or the French
    /// reason why not: changed, missing).
    fn check_unchanged(&self, id: i64) -> Result<(), String> {
        for file in self.outbox.files(id).map_err(|e| e.to_string())? {
            let changed = match crate::hashing::file_sha256_and_size(&file.chemin) {
                Ok((sha, _)) => hex::encode(sha) != file.sha256,
                Err(_) => true,
            };
            if changed {
                return Err(tf(
                    "envoi.fichier_modifie",
                    &[("chemin", &file.chemin.display().to_string())],
                ));
            }
        }
        Ok(())
    }

    fn acte_data(&self, id: i64) -> Result<ActeData, PlatformError> {
        serde_json::from_value(self.outbox.data(id).map_err(config)?)
            .map_err(|e| PlatformError::Config(e.to_string()))
    }

    /// Find out whether the platform holds an item whose last attempt has an unknown outcome
    /// (`after_conflict`: or whose number the platform has just said is taken).
    fn reconcile(
        &mut self,
        item: &Item,
        after_conflict: bool,
        report: &mut Report,
    ) -> Result<(), SenderError> {
        if item.etat == State::EnCours {
            self.outbox.transition(
                item.id,
                State::Erreur,
                &self.who,
                &tf("envoi.interrompu", &[]),
            )?;
        }
        match item.genre {
            Kind::Acte => {
                let data = self.acte_data(item.id)?;
                let lookup = super::ActeLookup {
                    id_acte: &data.id_acte,
                    acte: &data.acte,
                    after_conflict,
                };
                match self.platform.acte_find(&lookup) {
                    Ok(Some(reference)) => {
                        self.mark_sent(item.id, &reference, &tf("envoi.rapproche", &[]))?;
                        report.rapproches += 1;
                    }
                    Ok(None) => {
                        // The platform does not have it: send it (again), now.
                        self.outbox.transition(
                            item.id,
                            State::EnAttente,
                            &self.who,
                            &tf("envoi.absent_de_la_plateforme", &[]),
                        )?;
                        self.outbox.clear_schedule(item.id)?;
                    }
                    Err(PlatformError::Ko(message)) => {
                        // The platform will never take the act as it is (its number is held by
                        // another act): refused with its words, never sent again.
                        self.outbox
                            .transition(item.id, State::Refuse, &self.who, &message)?;
                        self.outbox.clear_schedule(item.id)?;
                        report.refuses += 1;
                    }
                    Err(e) => {
                        let failures = self.attempts(item.id);
                        self.outbox.schedule(item.id, &self.later(failures), true)?;
                        report.erreurs.push(e.to_string());
                    }
                }
            }
            Kind::Pes => {
                // Hélios has no lookup by content; its SHA-1 duplicate rule makes a resend safe:
                // it answers "doublon détecté" with the transaction it already holds.
                self.outbox.transition(
                    item.id,
                    State::EnAttente,
                    &self.who,
                    &tf("envoi.rapprochement_par_doublon", &[]),
                )?;
                self.outbox.clear_schedule(item.id)?;
            }
        }
        Ok(())
    }

    /// Ask the platform where a sent item stands; keep what it sends back.
    fn poll(&mut self, item: &Item, report: &mut Report) -> Result<(), SenderError> {
        let Some(stored) = &item.id_plateforme else {
            return Ok(());
        };
        let reference = Reference::parse(stored);
        let result = match item.genre {
            Kind::Acte => self.poll_acte(item, &reference),
            Kind::Pes => self.poll_pes(item, stored),
        };
        match result {
            Ok(Some(State::Acquitte)) => report.acquittes += 1,
            Ok(Some(State::Refuse)) => report.refuses += 1,
            Ok(_) => {}
            Err(e @ (PlatformError::Card(_) | PlatformError::Config(_))) => return Err(e.into()),
            Err(e) => report.erreurs.push(e.to_string()),
        }
        Ok(())
    }

    fn poll_acte(
        &mut self,
        item: &Item,
        reference: &Reference,
    ) -> Result<Option<State>, PlatformError> {
        let status = self.platform.acte_status(reference)?;
        match status.code {
            // Created waiting for the user's confirmation (accounts that require it): confirm,
            // once — a lost answer is seen at the next poll as status 1.
            17 => {
                if let Reference::Transaction(id) = reference {
                    self.platform.acte_confirm(id)?;
                    self.outbox
                        .record(item.id, "confirme", &tf("envoi.confirmee", &[]), &self.who)
                        .map_err(config)?;
                }
                Ok(None)
            }
            4 | 5 | 7 | 8 | 21 => {
                // Everything the platform hands over with the AR is fetched before anything is
                // kept: a failure leaves the act to poll again, never half received.
                let bordereau = self.platform.acte_bordereau(reference)?;
                let stamped = self.platform.acte_stamped_files(reference)?;
                if let Some(pdf) = bordereau {
                    self.outbox
                        .receive(item.id, "bordereau", "bordereau.pdf", &pdf, &self.who)
                        .map_err(config)?;
                }
                for (name, pdf) in &stamped {
                    self.outbox
                        .receive(item.id, "acte_tamponne", name, pdf, &self.who)
                        .map_err(config)?;
                }
                // STELA's editor API says the AR came without handing it over.
                if !status.detail.is_empty() {
                    self.outbox
                        .receive(
                            item.id,
                            "accuse_reception",
                            "ARActe.xml",
                            &crate::latin1::encode(&status.detail)
                                .unwrap_or_else(|_| status.detail.clone().into_bytes()),
                            &self.who,
                        )
                        .map_err(config)?;
                }
                self.outbox
                    .transition(item.id, State::Acquitte, &self.who, "")
                    .map_err(config)?;
                Ok(Some(State::Acquitte))
            }
            -1 => {
                self.outbox
                    .transition(item.id, State::Refuse, &self.who, &status.detail)
                    .map_err(config)?;
                Ok(Some(State::Refuse))
            }
            0 => {
                self.outbox
                    .transition(item.id, State::Annule, &self.who, "")
                    .map_err(config)?;
                Ok(Some(State::Annule))
            }
            _ => Ok(None),
        }
    }

    fn poll_pes(&mut self, item: &Item, id: &str) -> Result<Option<State>, PlatformError> {
        let status = self.platform.helios_status(id)?;
        let outcome = match status {
            4 | 5 | 8 => State::Acquitte,
            6 => State::Refuse,
            -1 => State::Refuse,
            _ => return Ok(None),
        };
        let mut detail = String::new();
        if status != -1 {
            let acquit = self.platform.helios_acquit(id)?;
            let read = crate::pes::acquit::read_acquit(acquit.as_slice())
                .map_err(|e| PlatformError::Unknown(e.to_string()))?;
            self.outbox
                .receive(item.id, "pes_acquit", "PES_Acquit.xml", &acquit, &self.who)
                .map_err(config)?;
            detail = read
                .elements
                .iter()
                .flat_map(|e| e.erreurs.iter())
                .map(|e| format!("{} {}", e.code, e.libelle))
                .collect::<Vec<_>>()
                .join(" ; ");
        }
        self.outbox
            .transition(item.id, outcome, &self.who, &detail)
            .map_err(config)?;
        Ok(Some(outcome))
    }
}

/// A file name for a PES_Retour as the platform names it: kept to safe characters, ending `.xml`.
fn retour_file_name(nom: &str) -> String {
    let base = super::s2low::sanitise_name(nom.rsplit(['/', '\\']).next().unwrap_or(""));
    let base = base.trim_start_matches('.');
    match base {
        "" => "PES_Retour.xml".to_owned(),
        b if b.to_ascii_lowercase().ends_with(".xml") => b.to_owned(),
        b => format!("{b}.xml"),
    }
}

/// How far back acknowledged acts are read for the letters their record announces
/// (`Sender::fetch_acte_letters`).
const LETTERS_WINDOW_DAYS: i64 = 366;

enum Uploaded {
    Acte(String),
    Pes(HeliosImport),
}

fn config(e: OutboxError) -> PlatformError {
    PlatformError::Config(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let b = Backoff {
            first: Duration::from_secs(2),
            last: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let d1 = b.delay(1);
            assert!(
                d1 >= Duration::from_secs(1) && d1 <= Duration::from_secs(2),
                "{d1:?}"
            );
            let d4 = b.delay(4);
            assert!(
                d4 >= Duration::from_secs(8) && d4 <= Duration::from_secs(16),
                "{d4:?}"
            );
            let d30 = b.delay(30);
            assert!(
                d30 >= Duration::from_secs(30) && d30 <= Duration::from_secs(60),
                "{d30:?}"
            );
        }
        let draws: std::collections::HashSet<_> = (0..20).map(|_| b.delay(3)).collect();
        assert!(draws.len() > 1, "no jitter");
    }
}
