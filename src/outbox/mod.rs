//! The outbox: everything prepared, signed, sent and received, in one SQLite file in the data
//! folder. Each state change is one transaction with its journal row; nothing is ever deleted
//! (a cancelled item stays, with its history).

pub mod lot;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::messages::{t, tf};

/// Schema versions, applied in order (PRAGMA user_version says how far a file is).
const MIGRATIONS: &[&str] = &[
    // 1: items, their files, their journal, what they received, lots.
    "CREATE TABLE lots (
        id INTEGER PRIMARY KEY,
        nom TEXT NOT NULL,
        cree_le TEXT NOT NULL
     );
     CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        genre TEXT NOT NULL CHECK (genre IN ('acte', 'pes')),
        libelle TEXT NOT NULL,
        etat TEXT NOT NULL,
        cree_le TEXT NOT NULL,
        modifie_le TEXT NOT NULL,
        lot_id INTEGER REFERENCES lots(id),
        siren TEXT,
        numero_interne TEXT,
        id_plateforme TEXT,
        donnees TEXT NOT NULL DEFAULT '{}'
     );
     CREATE INDEX items_etat ON items(etat, modifie_le);
     CREATE INDEX items_genre ON items(genre, modifie_le);
     CREATE UNIQUE INDEX items_numero ON items(siren, numero_interne)
        WHERE numero_interne IS NOT NULL AND etat != 'annule';
     CREATE TABLE fichiers (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        role TEXT NOT NULL,
        chemin TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        taille INTEGER NOT NULL
     );
     CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        le TEXT NOT NULL,
        evenement TEXT NOT NULL,
        etat_avant TEXT,
        etat_apres TEXT,
        qui TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        empreintes TEXT NOT NULL DEFAULT ''
     );
     CREATE INDEX journal_item ON journal(item_id, id);
     CREATE TABLE recus (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        genre TEXT NOT NULL,
        le TEXT NOT NULL,
        nom TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        contenu BLOB NOT NULL
     );",
    // 2: the sender's schedule: attempts made, when to try next, whether the outcome of the last
    // attempt is unknown (to be reconciled with the platform before anything is resent).
    "ALTER TABLE items ADD COLUMN tentatives INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE items ADD COLUMN prochain_essai TEXT;
     ALTER TABLE items ADD COLUMN a_rapprocher INTEGER NOT NULL DEFAULT 0;",
    // 3: the outbox owns its files: `chemin` is its own copy (under `fichiers/`), `origine` the
    // file the user gave (for information only; it may since have moved or changed).
    "ALTER TABLE fichiers ADD COLUMN origine TEXT;",
];

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Brouillon,
    Prepare,
    Signe,
    EnAttente,
    EnCours,
    Envoye,
    Acquitte,
    Refuse,
    Erreur,
    Annule,
}

impl State {
    pub const ALL: [State; 10] = [
        State::Brouillon,
        State::Prepare,
        State::Signe,
        State::EnAttente,
        State::EnCours,
        State::Envoye,
        State::Acquitte,
        State::Refuse,
        State::Erreur,
        State::Annule,
    ];

    pub fn key(&self) -> &'static str {
        match self {
            State::Brouillon => "brouillon",
            State::Prepare => "prepare",
            State::Signe => "signe",
            State::EnAttente => "en_attente",
            State::EnCours => "en_cours",
            State::Envoye => "envoye",
            State::Acquitte => "acquitte",
            State::Refuse => "refuse",
            State::Erreur => "erreur",
            State::Annule => "annule",
        }
    }

    pub fn from_key(key: &str) -> Option<State> {
        State::ALL.iter().copied().find(|s| s.key() == key)
    }

    /// The French label shown in the Envois screen.
    pub fn label(&self) -> String {
        t(&format!("envois.etat_{}", self.key()))
    }

    /// The changes the outbox allows. `EnCours` → `EnAttente` is the retry after a failure whose
    /// outcome is known (nothing reached the platform); an unknown outcome goes to `Erreur` and is
    /// reconciled with the platform before anything is resent.
    /// « Envoi n° 7 : annulé. » — what the command line and the window say after a change.
    pub fn said_of(&self, id: i64) -> String {
        tf(
            "envois.etat_maintenant",
            &[("id", &id.to_string()), ("etat", &self.label())],
        )
    }

    /// Not yet left for the platform: can be taken out of the queue ([`Outbox::withdraw`]).
    pub fn can_be_withdrawn(&self) -> bool {
        matches!(
            self,
            State::Brouillon | State::Prepare | State::Signe | State::EnAttente
        )
    }

    /// Waiting for a new attempt or in error: can be made due now ([`Outbox::retry_now`]).
    pub fn can_be_retried(&self) -> bool {
        matches!(self, State::EnAttente | State::Erreur)
    }

    pub fn can_go_to(&self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (Brouillon, Prepare | Annule)
                | (Prepare, Signe | EnAttente | Brouillon | Annule)
                | (Signe, EnAttente | Annule)
                | (EnAttente, EnCours | Annule | Prepare)
                | (EnCours, Envoye | EnAttente | Erreur | Refuse | Prepare)
                | (Envoye, Acquitte | Refuse | Erreur | Annule)
                | (Erreur, EnAttente | Envoye | Refuse | Annule)
                | (Acquitte, Annule)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Acte,
    Pes,
}

impl Kind {
    fn key(&self) -> &'static str {
        match self {
            Kind::Acte => "acte",
            Kind::Pes => "pes",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{}", tf("envois.base", &[("detail", &.0.to_string())]))]
    Db(#[from] rusqlite::Error),
    #[error("{}", tf("envois.fichier", &[("chemin", &.0.display().to_string()), ("detail", .1)]))]
    File(PathBuf, String),
    #[error("{}", tf("envois.transition", &[("de", &.0.label()), ("vers", &.1.label())]))]
    Transition(State, State),
    #[error("{}", tf("envois.inconnu", &[("id", &.0.to_string())]))]
    Unknown(i64),
    #[error("{}", tf("envois.numero_deja_utilise", &[("numero", .0)]))]
    NumberUsed(String),
    #[error("{}", tf("envois.version", &[("version", &.0.to_string())]))]
    TooNew(i64),
    #[error("{0}")]
    Lot(String),
    #[error("{}", crate::messages::t("envois.lot_non_signe"))]
    UnsignedLot,
    #[error("{}", tf("envois.pas_a_rattacher", &[("id", &.0.to_string())]))]
    NotToAttach(i64),
    #[error("{}", tf("envois.pas_a_liberer", &[("id", &.0.to_string()), ("etat", &.1.label())]))]
    NotToRelease(i64, State),
    #[error("{}", tf("envois.transaction_invalide", &[("transaction", .0)]))]
    BadTransaction(String),
    #[error("{}", tf("envoi.cli.pes_illisible", &[("chemin", &.0.display().to_string()), ("detail", .1)]))]
    NotPes(PathBuf, String),
    #[error("{}", tf("envois.espace_insuffisant", &[("dossier", &.dir.display().to_string()), ("besoin", &.needed_mb.to_string()), ("libre", &.free_mb.to_string())]))]
    NoSpace {
        dir: PathBuf,
        needed_mb: u64,
        free_mb: u64,
    },
}

/// What the outbox keeps of a PES besides its file: how many bordereaux, and which (domain,
/// exercice, number) with the collectivité, to attach the comptable's PES_Retour to it.
fn pes_data(summary: &crate::pes::PesSummary) -> serde_json::Value {
    let ids: Vec<serde_json::Value> = summary
        .bordereaux
        .iter()
        .filter_map(|b| {
            Some(serde_json::json!({
                "domaine": match b.domaine {
                    crate::pes::summary::Domaine::Depense => "depense",
                    crate::pes::summary::Domaine::Recette => "recette",
                },
                "exercice": b.exercice.as_deref()?.trim(),
                "numero": b.numero.as_deref()?.trim(),
            }))
        })
        .collect();
    serde_json::json!({
        "bordereaux": summary.bordereaux.len(),
        "bordereaux_ids": ids,
        "id_coll": summary.entete.id_coll.as_deref().map(str::trim),
    })
}

/// A file attached to an item, with its hash at the time it was attached.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItemFile {
    pub role: String,
    pub chemin: PathBuf,
    pub sha256: String,
    pub taille: u64,
}

/// An item as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: i64,
    pub genre: Kind,
    pub libelle: String,
    pub etat: State,
    pub cree_le: String,
    pub modifie_le: String,
    pub lot_id: Option<i64>,
    pub siren: Option<String>,
    pub numero_interne: Option<String>,
    pub id_plateforme: Option<String>,
}

impl Item {
    /// A PES the platform already held (« doublon détecté ») without naming its transaction: it
    /// left, but nothing follows it until a person attaches it ([`Outbox::attach_transaction`]).
    pub fn awaits_attachment(&self) -> bool {
        self.genre == Kind::Pes && self.etat == State::Envoye && self.id_plateforme.is_none()
    }

    /// The state as a person reads it in a list: « transmis, à rattacher » for a PES to attach.
    pub fn state_label(&self) -> String {
        if self.awaits_attachment() {
            t("envois.etat_a_rattacher")
        } else {
            self.etat.label()
        }
    }
}

/// A journal row.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub le: String,
    pub evenement: String,
    pub etat_avant: Option<State>,
    pub etat_apres: Option<State>,
    pub qui: String,
    pub detail: String,
    pub empreintes: String,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub genre: Option<Kind>,
    pub etats: Vec<State>,
    /// ISO 8601 bounds on the last change.
    pub depuis: Option<String>,
    pub jusqu_a: Option<String>,
    pub limite: Option<usize>,
    pub decalage: usize,
    /// Text to find (trimmed; case and accents ignored, `%` and `_` literal) in the libellé,
    /// the numéro interne, the platform's id, the act's IDActe or the name of one of the files.
    pub chercher: Option<String>,
}

/// A new item.
pub struct NewItem<'a> {
    pub genre: Kind,
    pub libelle: &'a str,
    pub siren: Option<&'a str>,
    pub numero_interne: Option<&'a str>,
    pub donnees: serde_json::Value,
    pub fichiers: Vec<(String, PathBuf)>,
    pub qui: &'a str,
}

pub struct Outbox {
    conn: Connection,
    /// The folder of the items' own copies of their files (`fichiers/` beside the database).
    files_dir: PathBuf,
}

/// Files copied into the outbox's folder and hashed, waiting to be given to an item
/// ([`Outbox::add_staged`]); dropped unused, they are removed.
pub struct Staged {
    dir: tempfile::TempDir,
    files: Vec<StagedFile>,
}

struct StagedFile {
    role: String,
    /// Path inside the staging folder (and, once added, inside the item's folder).
    relative: PathBuf,
    original: PathBuf,
    sha256: String,
    size: u64,
}

impl Staged {
    /// The copy of the first file with `role` (to check it before it is added).
    pub fn path_of(&self, role: &str) -> Option<PathBuf> {
        self.files
            .iter()
            .find(|f| f.role == role)
            .map(|f| self.dir.path().join(&f.relative))
    }
}

/// Space left free on the disk beyond the copies (the database and the journal grow too).
const SPACE_MARGIN: u64 = 16 << 20;

/// Bytes free for the user on the file system holding `dir`, when the system says.
fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: statvfs fills the struct we own from a NUL-terminated path.
        let done = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
        if done != 0 {
            return None;
        }
        // SAFETY: initialised by the successful call above.
        let stats = unsafe { stats.assume_init() };
        // Their types differ between systems (u32 on some 32-bit ones).
        #[allow(clippy::unnecessary_cast)]
        Some((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Copies `from` to `to` (a new private file), hashing what is copied, and syncs it; the copy's
/// SHA-256 (hexadecimal) and size. Only a regular file is copied (not a FIFO, a device…).
fn copy_hashed(from: &Path, to: &Path) -> std::io::Result<(String, u64)> {
    let mut input = crate::files::open_regular(from)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut output = options.open(to)?;
    let (digest, size) = crate::hashing::copy_hashed(&mut input, &mut output)?;
    output.sync_all()?;
    Ok((hex::encode(digest), size))
}

pub(crate) fn now() -> String {
    crate::certs::iso8601(time::OffsetDateTime::now_utc())
}

/// SHA-256 (hexadecimal) and size of a file, read in blocks.
pub fn sha256_file(path: &Path) -> Result<(String, u64), OutboxError> {
    crate::hashing::file_sha256_and_size(path)
        .map(|(digest, size)| (hex::encode(digest), size))
        .map_err(|e| OutboxError::File(path.to_owned(), e.to_string()))
}

impl Outbox {
    /// Open (creating and migrating) the outbox at `path`; the file is readable by the user only.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        if let Some(dir) = path.parent() {
            crate::logging::create_private_dir(dir)
                .map_err(|e| OutboxError::File(dir.to_owned(), e.to_string()))?;
        }
        let conn = Connection::open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| OutboxError::File(path.to_owned(), e.to_string()))?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let files_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("fichiers");
        let mut outbox = Outbox { conn, files_dir };
        outbox.migrate()?;
        Ok(outbox)
    }

    /// The default outbox in the data folder.
    pub fn open_default() -> Result<Outbox, OutboxError> {
        let dir = crate::settings::data_dir()
            .map_err(|e| OutboxError::File(PathBuf::new(), e.to_string()))?;
        Self::open(&dir.join("envois.sqlite"))
    }

    fn migrate(&mut self) -> Result<(), OutboxError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(OutboxError::TooNew(version));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Record a new item (state `prepare`) with its own copies of its files ([`Self::stage`]);
    /// one transaction.
    pub fn add(&mut self, item: NewItem) -> Result<i64, OutboxError> {
        let staged = self.stage(&item.fichiers)?;
        self.add_staged(item, staged)
    }

    /// Copies `files` into the outbox's folder, hashing them as they are copied, after checking
    /// that the disk has room for them. The originals may then move, change or go: the item is
    /// sent from its copies, whose hash the sender checks first.
    pub fn stage(&self, files: &[(String, PathBuf)]) -> Result<Staged, OutboxError> {
        let dir_error =
            |e: std::io::Error| OutboxError::File(self.files_dir.clone(), e.to_string());
        crate::logging::create_private_dir(&self.files_dir).map_err(dir_error)?;
        let mut needed = SPACE_MARGIN;
        for (_, path) in files {
            let meta = std::fs::metadata(path).map_err(|e| {
                OutboxError::File(path.clone(), crate::files::in_french(&e).to_string())
            })?;
            if !meta.is_file() {
                return Err(OutboxError::File(path.clone(), t("fichiers.pas_ordinaire")));
            }
            needed = needed.saturating_add(meta.len());
        }
        if let Some(free) = free_space(&self.files_dir)
            && free < needed
        {
            return Err(OutboxError::NoSpace {
                dir: self.files_dir.clone(),
                needed_mb: needed.div_ceil(1 << 20),
                free_mb: free >> 20,
            });
        }
        let dir = tempfile::Builder::new()
            .prefix(".en-cours-")
            .tempdir_in(&self.files_dir)
            .map_err(dir_error)?;
        let mut staged = Staged {
            dir,
            files: Vec::new(),
        };
        for (i, (role, path)) in files.iter().enumerate() {
            // Absolute: for information, whatever folder the window or the command ran from.
            let original = std::path::absolute(path)
                .map_err(|e| OutboxError::File(path.clone(), e.to_string()))?;
            let name = original.file_name().unwrap_or_default();
            // One folder per file keeps each name as the user gave it (the platform may show it).
            let relative = Path::new(&i.to_string()).join(name);
            let copy = staged.dir.path().join(&relative);
            let made = std::fs::create_dir(staged.dir.path().join(i.to_string()))
                .and_then(|()| copy_hashed(&original, &copy));
            let (sha256, size) = made.map_err(|e| {
                OutboxError::File(original.clone(), crate::files::in_french(&e).to_string())
            })?;
            staged.files.push(StagedFile {
                role: role.clone(),
                relative,
                original,
                sha256,
                size,
            });
        }
        Ok(staged)
    }

    /// Record a new item (state `prepare`) with files already staged (`item.fichiers` is not
    /// read): they become the item's own, in `fichiers/<id>/`; one transaction.
    pub fn add_staged(&mut self, item: NewItem, staged: Staged) -> Result<i64, OutboxError> {
        let tx = self.conn.transaction()?;
        let at = now();
        let inserted = tx.execute(
            "INSERT INTO items (genre, libelle, etat, cree_le, modifie_le, siren, numero_interne, donnees)
             VALUES (?1, ?2, 'prepare', ?3, ?3, ?4, ?5, ?6)",
            params![
                item.genre.key(),
                item.libelle,
                at,
                item.siren,
                item.numero_interne,
                item.donnees.to_string()
            ],
        );
        if let Err(rusqlite::Error::SqliteFailure(e, _)) = &inserted
            && e.code == rusqlite::ErrorCode::ConstraintViolation
        {
            return Err(OutboxError::NumberUsed(
                item.numero_interne.unwrap_or_default().to_owned(),
            ));
        }
        inserted?;
        let id = tx.last_insert_rowid();
        let folder = self.files_dir.join(id.to_string());
        let io = |e: std::io::Error| OutboxError::File(folder.clone(), e.to_string());
        // A folder left by an item whose transaction never committed (the id is then reused).
        if folder.exists() {
            std::fs::remove_dir_all(&folder).map_err(io)?;
        }
        let Staged { dir, files } = staged;
        std::fs::rename(dir.path(), &folder).map_err(io)?;
        // From here the folder is the item's; it goes if the item is not recorded.
        let _ = dir.keep();
        let recorded = (|| -> Result<(), OutboxError> {
            let mut hashes = Vec::new();
            for f in &files {
                tx.execute(
                    "INSERT INTO fichiers (item_id, role, chemin, sha256, taille, origine)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        f.role,
                        folder.join(&f.relative).to_string_lossy(),
                        f.sha256,
                        f.size as i64,
                        f.original.to_string_lossy()
                    ],
                )?;
                hashes.push(format!("{}:{}", f.role, f.sha256));
            }
            tx.execute(
                "INSERT INTO journal (item_id, le, evenement, etat_apres, qui, empreintes)
                 VALUES (?1, ?2, 'creation', 'prepare', ?3, ?4)",
                params![id, at, item.qui, hashes.join(" ")],
            )?;
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = recorded {
            let _ = std::fs::remove_dir_all(&folder);
            return Err(e);
        }
        Ok(id)
    }

    /// Move an item to `to`, checking the transition; one transaction with its journal row.
    /// `en_cours`, which precedes a network call, is on disk before the call: that transaction
    /// is committed with `synchronous = FULL` (the write-ahead log is synced at the commit), so
    /// that even a power cut after the first byte left finds the item to reconcile.
    pub fn transition(
        &mut self,
        id: i64,
        to: State,
        qui: &str,
        detail: &str,
    ) -> Result<(), OutboxError> {
        let durable = to == State::EnCours;
        if durable {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
        }
        let done = self.transition_in_one_transaction(id, to, qui, detail);
        if durable {
            self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        done
    }

    fn transition_in_one_transaction(
        &mut self,
        id: i64,
        to: State,
        qui: &str,
        detail: &str,
    ) -> Result<(), OutboxError> {
        let tx = self.conn.transaction()?;
        let from: String = tx
            .query_row("SELECT etat FROM items WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or(OutboxError::Unknown(id))?;
        let from = State::from_key(&from).ok_or(OutboxError::Unknown(id))?;
        if !from.can_go_to(to) {
            return Err(OutboxError::Transition(from, to));
        }
        let at = now();
        // An item leaving `en_cours` for `erreur` has an unknown outcome until the sender says
        // otherwise (`schedule`): marked for reconciliation in the same transaction, so that a
        // sender killed between the two writes never leaves it out of the pending work.
        let unknown_outcome = from == State::EnCours && to == State::Erreur;
        tx.execute(
            "UPDATE items SET etat = ?1, modifie_le = ?2,
                a_rapprocher = CASE WHEN ?4 THEN 1 ELSE a_rapprocher END
             WHERE id = ?3",
            params![to.key(), at, id, unknown_outcome],
        )?;
        tx.execute(
            "INSERT INTO journal (item_id, le, evenement, etat_avant, etat_apres, qui, detail)
             VALUES (?1, ?2, 'etat', ?3, ?4, ?5, ?6)",
            params![id, at, from.key(), to.key(), qui, detail],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Record the platform's identifier for an item (journalled).
    pub fn set_platform_id(
        &mut self,
        id: i64,
        platform_id: &str,
        qui: &str,
    ) -> Result<(), OutboxError> {
        let tx = self.conn.transaction()?;
        let changed = tx.execute(
            "UPDATE items SET id_plateforme = ?1, modifie_le = ?2 WHERE id = ?3",
            params![platform_id, now(), id],
        )?;
        if changed == 0 {
            return Err(OutboxError::Unknown(id));
        }
        tx.execute(
            "INSERT INTO journal (item_id, le, evenement, qui, detail) VALUES (?1, ?2, 'id_plateforme', ?3, ?4)",
            params![id, now(), qui, platform_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Take an item that has not left for the platform out of the queue: it goes to « annulé »,
    /// kept with its files and journal. An item already sent is cancelled with the préfecture
    /// instead (`platform::cancel_act`). Returns the item's new state.
    pub fn withdraw(&mut self, id: i64, qui: &str) -> Result<State, OutboxError> {
        let item = self.get(id)?;
        if !item.etat.can_be_withdrawn() {
            return Err(OutboxError::Transition(item.etat, State::Annule));
        }
        self.transition(id, State::Annule, qui, &t("envois.retire"))?;
        Ok(State::Annule)
    }

    /// Queue a signed item kept out of the queue (`[envois] liberation_manuelle`): `signé` →
    /// `en attente`, noted in its journal with who released it. Any other state is refused as
    /// it stands — a prepared item must be signed first, a queued one is queued already.
    pub fn release(&mut self, id: i64, qui: &str) -> Result<State, OutboxError> {
        let item = self.get(id)?;
        if item.etat != State::Signe {
            return Err(OutboxError::NotToRelease(id, item.etat));
        }
        self.transition(id, State::EnAttente, qui, &t("envois.libere"))?;
        Ok(State::EnAttente)
    }

    /// Make an item due at the next sending instead of after its back-off: one waiting for a
    /// new attempt, or in error. An error whose outcome is known goes back to « en attente »;
    /// one whose outcome is unknown stays to be reconciled first (nothing is sent twice).
    /// Returns the item's state afterwards.
    pub fn retry_now(&mut self, id: i64, qui: &str) -> Result<State, OutboxError> {
        let item = self.get(id)?;
        let reconcile: bool =
            self.conn
                .query_row("SELECT a_rapprocher FROM items WHERE id = ?1", [id], |r| {
                    r.get::<_, i64>(0).map(|v| v != 0)
                })?;
        let now = match item.etat {
            State::Erreur if !reconcile => {
                self.transition(id, State::EnAttente, qui, &t("envois.relance"))?;
                State::EnAttente
            }
            state if state.can_be_retried() => {
                let note = if reconcile {
                    t("envois.relance_rapprochement")
                } else {
                    t("envois.relance")
                };
                self.record(id, "relance", &note, qui)?;
                state
            }
            other => return Err(OutboxError::Transition(other, State::EnAttente)),
        };
        self.conn
            .execute("UPDATE items SET prochain_essai = NULL WHERE id = ?1", [id])?;
        Ok(now)
    }

    /// Put `signed` in place of the item's own copy of role `role` (a prepared PES just signed):
    /// the file row takes the new hash and size, the rename is atomic (same folder), and the
    /// journal keeps both hashes. Nothing changes if any step fails.
    pub fn replace_copy(
        &mut self,
        id: i64,
        role: &str,
        signed: &Path,
        qui: &str,
    ) -> Result<(), OutboxError> {
        let file = self
            .files(id)?
            .into_iter()
            .find(|f| f.role == role)
            .ok_or_else(|| OutboxError::File(PathBuf::from(role), "absent".into()))?;
        let io = |e: std::io::Error| OutboxError::File(file.chemin.clone(), e.to_string());
        let (digest, size) = crate::hashing::file_sha256_and_size(signed).map_err(io)?;
        let sha = hex::encode(digest);
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE fichiers SET sha256 = ?1, taille = ?2 WHERE item_id = ?3 AND role = ?4",
            params![sha, size as i64, id, role],
        )?;
        tx.execute(
            "INSERT INTO journal (item_id, le, evenement, qui, detail, empreintes) VALUES (?1, ?2, 'copie_signee', ?3, ?4, ?5)",
            params![id, now(), qui, role, format!("{} -> {sha}", file.sha256)],
        )?;
        std::fs::rename(signed, &file.chemin).map_err(io)?;
        // The rename is done: the row must follow, or the copy would look changed.
        tx.commit()?;
        Ok(())
    }

    /// Add files to an item (the detached signatures of an act just signed): copied into the
    /// item's folder with their hash, recorded with `role`, journalled; nothing is added if any
    /// step fails.
    pub fn add_copies(
        &mut self,
        id: i64,
        files: &[(String, PathBuf)],
        qui: &str,
    ) -> Result<(), OutboxError> {
        let folder = self.files_dir.join(id.to_string());
        let staged = self.stage(files)?;
        let Staged { dir, files: staged } = staged;
        let tx = self.conn.transaction()?;
        let mut hashes = Vec::new();
        let mut moved = Vec::new();
        let recorded = (|| -> Result<(), OutboxError> {
            for f in &staged {
                // A folder name no copy of this item uses yet.
                let sub = (0..)
                    .map(|n| format!("ajout-{n}"))
                    .find(|n| !folder.join(n).exists())
                    .unwrap_or_default();
                let target = folder.join(&sub);
                let io = |e: std::io::Error| OutboxError::File(target.clone(), e.to_string());
                let from = dir
                    .path()
                    .join(f.relative.parent().unwrap_or(Path::new("")));
                std::fs::rename(&from, &target).map_err(io)?;
                moved.push(target.clone());
                let name = f.relative.file_name().unwrap_or_default();
                tx.execute(
                    "INSERT INTO fichiers (item_id, role, chemin, sha256, taille, origine)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        f.role,
                        target.join(name).to_string_lossy(),
                        f.sha256,
                        f.size as i64,
                        f.original.to_string_lossy()
                    ],
                )?;
                hashes.push(format!("{}:{}", f.role, f.sha256));
            }
            tx.execute(
                "INSERT INTO journal (item_id, le, evenement, qui, empreintes) VALUES (?1, ?2, 'fichiers_ajoutes', ?3, ?4)",
                params![id, now(), qui, hashes.join(" ")],
            )?;
            Ok(())
        })();
        match recorded.and_then(|()| tx.commit().map_err(OutboxError::from)) {
            Ok(()) => Ok(()),
            Err(e) => {
                for target in moved {
                    let _ = std::fs::remove_dir_all(target);
                }
                Err(e)
            }
        }
    }

    /// A journal row without a change of state (a reply sent to the préfecture, say).
    pub fn record(
        &mut self,
        id: i64,
        event: &str,
        detail: &str,
        qui: &str,
    ) -> Result<(), OutboxError> {
        self.get(id)?;
        self.conn.execute(
            "INSERT INTO journal (item_id, le, evenement, qui, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, now(), event, qui, detail],
        )?;
        Ok(())
    }

    /// Keep something the item received (AR, stamped act, PES_Acquit, letter), with its hash.
    pub fn receive(
        &mut self,
        id: i64,
        genre: &str,
        nom: &str,
        contenu: &[u8],
        qui: &str,
    ) -> Result<(), OutboxError> {
        let sha = hex::encode(openssl::sha::sha256(contenu));
        let tx = self.conn.transaction()?;
        let at = now();
        tx.execute(
            "INSERT INTO recus (item_id, genre, le, nom, sha256, contenu) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, genre, at, nom, sha, contenu],
        )?;
        tx.execute(
            "INSERT INTO journal (item_id, le, evenement, qui, detail, empreintes) VALUES (?1, ?2, 'recu', ?3, ?4, ?5)",
            params![id, at, qui, format!("{genre} {nom}"), sha],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// What an item received: (kind, name, content).
    pub fn received(&self, id: i64) -> Result<Vec<(String, String, Vec<u8>)>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare("SELECT genre, nom, contenu FROM recus WHERE item_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn get(&self, id: i64) -> Result<Item, OutboxError> {
        self.conn
            .query_row(&format!("{SELECT_ITEM} WHERE id = ?1"), [id], row_to_item)
            .optional()?
            .ok_or(OutboxError::Unknown(id))
    }

    pub fn files(&self, id: i64) -> Result<Vec<ItemFile>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT role, chemin, sha256, taille FROM fichiers WHERE item_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(ItemFile {
                role: r.get(0)?,
                chemin: PathBuf::from(r.get::<_, String>(1)?),
                sha256: r.get(2)?,
                taille: r.get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn journal(&self, id: i64) -> Result<Vec<JournalEntry>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT le, evenement, etat_avant, etat_apres, qui, detail, empreintes FROM journal WHERE item_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(JournalEntry {
                le: r.get(0)?,
                evenement: r.get(1)?,
                etat_avant: r
                    .get::<_, Option<String>>(2)?
                    .and_then(|s| State::from_key(&s)),
                etat_apres: r
                    .get::<_, Option<String>>(3)?
                    .and_then(|s| State::from_key(&s)),
                qui: r.get(4)?,
                detail: r.get(5)?,
                empreintes: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items matching `filter`, most recently changed first; only the requested page is built.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Item>, OutboxError> {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(genre) = filter.genre {
            sql.push_str(" AND genre = ?");
            values.push(Box::new(genre.key()));
        }
        if !filter.etats.is_empty() {
            sql.push_str(&format!(
                " AND etat IN ({})",
                vec!["?"; filter.etats.len()].join(", ")
            ));
            for s in &filter.etats {
                values.push(Box::new(s.key()));
            }
        }
        if let Some(d) = &filter.depuis {
            sql.push_str(" AND modifie_le >= ?");
            values.push(Box::new(d.clone()));
        }
        if let Some(d) = &filter.jusqu_a {
            sql.push_str(" AND modifie_le <= ?");
            values.push(Box::new(d.clone()));
        }
        sql.push_str(" ORDER BY modifie_le DESC, id DESC");
        let searched = filter
            .chercher
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(crate::latin1::fold);
        let Some(needle) = searched else {
            sql.insert_str(0, SELECT_ITEM);
            sql.push_str(" LIMIT ? OFFSET ?");
            values.push(Box::new(filter.limite.map(|l| l as i64).unwrap_or(-1)));
            values.push(Box::new(filter.decalage as i64));
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
            let rows = stmt.query_map(params.as_slice(), row_to_item)?;
            return Ok(rows.collect::<Result<_, _>>()?);
        };
        // The text is compared in Rust, on the rows the other filters keep, and the page is cut
        // from the matches here: SQLite's LIKE folds neither accents nor non-ASCII case, and
        // teaching SQLite our folding (a scalar function) would take rusqlite's `functions`
        // feature, not enabled. An outbox holds thousands of items at most; the rows are read
        // one by one and only the page's items are kept. Comparing folded text with
        // `contains` also keeps `%` and `_` literal, with nothing to escape.
        sql.insert_str(0, SELECT_ITEM_SEARCHED);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let mut rows = stmt.query(params.as_slice())?;
        let mut page = Vec::new();
        let mut skipped = 0;
        while let Some(r) = rows.next()? {
            if filter.limite.is_some_and(|l| page.len() >= l) {
                break;
            }
            let item = row_to_item(r)?;
            let id_acte: Option<String> = r.get(10)?;
            let files: Option<String> = r.get(11)?;
            let found = |text: &str| crate::latin1::fold(text).contains(&needle);
            let matches = found(&item.libelle)
                || item.numero_interne.as_deref().is_some_and(found)
                || item.id_plateforme.as_deref().is_some_and(found)
                || id_acte.as_deref().is_some_and(found)
                || files.as_deref().is_some_and(|names| {
                    names.lines().any(|path| {
                        Path::new(path)
                            .file_name()
                            .is_some_and(|name| found(&name.to_string_lossy()))
                    })
                });
            if !matches {
                continue;
            }
            if skipped < filter.decalage {
                skipped += 1;
                continue;
            }
            page.push(item);
        }
        Ok(page)
    }

    /// Count per state (the home screen's "what needs attention").
    pub fn counts(&self) -> Result<Vec<(State, u64)>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare("SELECT etat, COUNT(*) FROM items GROUP BY etat")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (s, n) = row?;
            if let Some(s) = State::from_key(&s) {
                out.push((s, n.max(0) as u64));
            }
        }
        Ok(out)
    }

    /// How many PES are transmis and wait to be attached to their transaction (the rule of
    /// [`Item::awaits_attachment`], in SQL).
    pub fn awaiting_attachment_count(&self) -> Result<u64, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM items
                 WHERE genre = 'pes' AND etat = 'envoye' AND id_plateforme IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )?
            .max(0) as u64)
    }

    /// What came back since `since` (RFC 3339), by kind of document (`accuse_reception`,
    /// `pes_acquit`, `courrier_prefecture_2`…), for the home screen.
    pub fn received_since(&self, since: &str) -> Result<Vec<(String, u64)>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT genre, COUNT(*) FROM recus WHERE le >= ?1 GROUP BY genre ORDER BY genre",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether a numéro interne was already used for this SIREN (cancelled items excepted).
    pub fn number_used(&self, siren: &str, numero: &str) -> Result<bool, OutboxError> {
        Ok(self.find_by_number(siren, numero)?.is_some())
    }

    /// The item (not cancelled) that holds this numéro interne for this SIREN.
    pub fn find_by_number(&self, siren: &str, numero: &str) -> Result<Option<Item>, OutboxError> {
        Ok(self
            .select_where(
                "siren = ?1 AND numero_interne = ?2 AND etat != 'annule'",
                params![siren, numero],
            )?
            .into_iter()
            .next())
    }

    /// Bytes taken by the items' copies of their files (what « Envois » shows).
    pub fn copies_size(&self) -> u64 {
        fn size_of(dir: &Path) -> u64 {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(t) if t.is_dir() => size_of(&entry.path()),
                    Ok(t) if t.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
                    _ => 0,
                })
                .sum()
        }
        size_of(&self.files_dir)
    }

    /// Removes the copies of the files of items acknowledged before `cutoff` (ISO 8601, UTC):
    /// what came back (accusé de réception, acquit, courriers) and the journal stay, and each
    /// removal is journalled. Returns how many items lost their copies, and the bytes freed.
    pub fn purge_copies(&mut self, cutoff: &str, qui: &str) -> Result<(usize, u64), OutboxError> {
        let acknowledged: Vec<i64> = {
            let mut stmt = self.conn.prepare(
                "SELECT id FROM items WHERE etat = 'acquitte' AND modifie_le < ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([cutoff], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let (mut items, mut freed) = (0, 0u64);
        for id in acknowledged {
            let folder = self.files_dir.join(id.to_string());
            if !folder.is_dir() {
                continue;
            }
            let size: u64 = self
                .files(id)?
                .iter()
                .filter(|f| f.chemin.starts_with(&folder))
                .map(|f| f.taille)
                .sum();
            std::fs::remove_dir_all(&folder)
                .map_err(|e| OutboxError::File(folder.clone(), e.to_string()))?;
            self.conn.execute(
                "INSERT INTO journal (item_id, le, evenement, qui, detail)
                 VALUES (?1, ?2, 'copies_supprimees', ?3, ?4)",
                params![
                    id,
                    now(),
                    qui,
                    tf("envois.copies_supprimees", &[("octets", &size.to_string())])
                ],
            )?;
            items += 1;
            freed += size;
        }
        Ok((items, freed))
    }

    /// Queue a PES_Aller for sending (state `en_attente`); returns its id and its label (the
    /// file's NomFic). A file that is not a readable PES_Aller is refused here, not by the
    /// platform.
    pub fn queue_pes(&mut self, file: &Path, qui: &str) -> Result<(i64, String), OutboxError> {
        let staged = self.stage(&[("pes".into(), file.to_owned())])?;
        self.queue_staged_pes(staged, file, qui, State::EnAttente)
    }

    /// [`Self::queue_pes`] of a PES already copied into the outbox (`file` names the original).
    fn queue_staged_pes(
        &mut self,
        staged: Staged,
        file: &Path,
        qui: &str,
        target: State,
    ) -> Result<(i64, String), OutboxError> {
        let copy = staged.path_of("pes").unwrap_or_else(|| file.to_owned());
        let summary = std::fs::File::open(&copy)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                crate::pes::read_summary(std::io::BufReader::new(f)).map_err(|e| e.to_string())
            })
            .map_err(|e| OutboxError::NotPes(file.to_owned(), e))?;
        let libelle = summary
            .enveloppe
            .nom_fic
            .clone()
            .unwrap_or_else(|| file.display().to_string());
        let id = self.add_staged(
            NewItem {
                genre: Kind::Pes,
                libelle: &libelle,
                siren: None,
                numero_interne: None,
                donnees: pes_data(&summary),
                fichiers: Vec::new(),
                qui,
            },
            staged,
        )?;
        if target != State::Prepare {
            self.transition(id, target, qui, "")?;
        }
        Ok((id, libelle))
    }

    /// The door for a PES (`envois ajouter pes`, « Mettre en file d'envoi »): the file is copied
    /// into the outbox, and the copy — what will be sent — goes through the checks of
    /// [`crate::pes::control::door_check`] (schema, rules, signatures); it is queued only when
    /// nothing blocks. The checks are returned either way, with the id when queued.
    pub fn queue_pes_checked(
        &mut self,
        file: &Path,
        settings: &crate::settings::Settings,
        qui: &str,
    ) -> Result<(crate::pes::control::DoorCheck, Option<(i64, String)>), OutboxError> {
        self.queue_pes_through(file, qui, State::EnAttente, |copy| {
            crate::pes::control::door_check(copy, settings)
        })
    }

    /// The door for a PES to be signed here later (`envois ajouter pes --a-signer`): the copy
    /// passes the same checks, unsigned accepted, and the item stays `préparé` until
    /// `envois signer` signs it.
    pub fn queue_pes_to_sign(
        &mut self,
        file: &Path,
        settings: &crate::settings::Settings,
        qui: &str,
    ) -> Result<(crate::pes::control::DoorCheck, Option<(i64, String)>), OutboxError> {
        self.queue_pes_through(file, qui, State::Prepare, |copy| {
            crate::pes::control::door_check_to_sign(copy, settings)
        })
    }

    /// Copies `file` into the outbox, puts the copy through `door`, and queues it in `target`
    /// when nothing blocks (the copy is dropped otherwise).
    fn queue_pes_through(
        &mut self,
        file: &Path,
        qui: &str,
        target: State,
        door: impl FnOnce(&Path) -> Result<crate::pes::control::DoorCheck, crate::pes::PesError>,
    ) -> Result<(crate::pes::control::DoorCheck, Option<(i64, String)>), OutboxError> {
        let staged = self.stage(&[("pes".into(), file.to_owned())])?;
        let copy = staged.path_of("pes").unwrap_or_else(|| file.to_owned());
        let door = door(&copy).map_err(|e| OutboxError::NotPes(file.to_owned(), e.to_string()))?;
        if !door.accepted() {
            return Ok((door, None));
        }
        let queued = self.queue_staged_pes(staged, file, qui, target)?;
        Ok((door, Some(queued)))
    }

    /// The default outbox, only if it was ever created (checks must not create one).
    pub fn open_default_if_exists() -> Result<Option<Outbox>, OutboxError> {
        let dir = crate::settings::data_dir()
            .map_err(|e| OutboxError::File(PathBuf::new(), e.to_string()))?;
        let path = dir.join("envois.sqlite");
        if path.exists() {
            Self::open(&path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A PES item's data with its bordereaux (domain, exercice, number) and `IdColl`: items
    /// queued before these were kept (or added without them) get them from their own copy, read
    /// once and kept, so that a PES_Retour still finds the PES it answers. A copy no longer
    /// there (purged) leaves the data as it was.
    fn pes_data_of(&self, id: i64) -> Result<serde_json::Value, OutboxError> {
        let mut data = self.data(id)?;
        if data.get("bordereaux_ids").is_some() {
            return Ok(data);
        }
        let Some(copy) = self.files(id)?.into_iter().find(|f| f.role == "pes") else {
            return Ok(data);
        };
        let Ok(summary) = crate::pes::summarise_file(&copy.chemin) else {
            return Ok(data);
        };
        let read = pes_data(&summary);
        match (data.as_object_mut(), read.as_object()) {
            (Some(kept), Some(read)) => {
                for (key, value) in read {
                    kept.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            _ => data = read,
        }
        self.conn.execute(
            "UPDATE items SET donnees = ?1 WHERE id = ?2",
            params![data.to_string(), id],
        )?;
        Ok(data)
    }

    /// The item's data (what the platform needs besides its files).
    pub fn data(&self, id: i64) -> Result<serde_json::Value, OutboxError> {
        let text: String = self
            .conn
            .query_row("SELECT donnees FROM items WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(OutboxError::Unknown(id))?;
        serde_json::from_str(&text).map_err(|e| OutboxError::Lot(e.to_string()))
    }

    /// Items waiting to be sent whose next attempt is due at `now` (oldest first).
    pub fn due_for_sending(&self, now: &str) -> Result<Vec<Item>, OutboxError> {
        self.select_where(
            "etat = 'en_attente' AND (prochain_essai IS NULL OR prochain_essai <= ?1) ORDER BY id",
            params![now],
        )
    }

    /// Items whose last attempt has an unknown outcome: left `en_cours` by a crash, or put in
    /// `erreur` with the reconciliation flag.
    pub fn to_reconcile(&self) -> Result<Vec<Item>, OutboxError> {
        self.select_where(
            "etat = 'en_cours' OR (etat = 'erreur' AND a_rapprocher = 1) ORDER BY id",
            params![],
        )
    }

    /// The item the platform knows by `platform_id` (as stored in `id_plateforme`).
    pub fn find_by_platform_id(&self, platform_id: &str) -> Result<Option<Item>, OutboxError> {
        Ok(self
            .select_where(
                "id_plateforme = ?1 ORDER BY id DESC LIMIT 1",
                params![platform_id],
            )?
            .into_iter()
            .next())
    }

    /// Whether any act was acknowledged (the préfecture may still write about it).
    pub fn has_acknowledged_actes(&self) -> Result<bool, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM items WHERE genre = 'acte' AND etat = 'acquitte' LIMIT 1",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Whether any PES reached the platform (the comptable may send PES_Retour back).
    pub fn has_sent_pes(&self) -> Result<bool, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM items WHERE genre = 'pes' AND id_plateforme IS NOT NULL LIMIT 1",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Items sent and waiting for the platform's answer.
    pub fn to_poll(&self) -> Result<Vec<Item>, OutboxError> {
        self.select_where("etat = 'envoye' ORDER BY id", params![])
    }

    /// The PES items that a PES_Retour of collectivité `id_coll` answers: those the comptable
    /// took (acknowledged, else sent — a refused PES was not taken in charge, and a bordereau
    /// number is often reused by the corrected file) holding one of its bordereaux (`exercice`,
    /// `numero`) of the same domain (`recette`: true for a recette retour, None when the retour
    /// does not say).
    pub fn pes_items_answered_by(
        &self,
        id_coll: Option<&str>,
        recette: Option<bool>,
        bordereaux: &[(String, String)],
    ) -> Result<Vec<i64>, OutboxError> {
        let mut found = Vec::new();
        let taken = "genre = 'pes' AND etat IN ('envoye', 'acquitte') ORDER BY id";
        for item in self.select_where(taken, params![])? {
            let data = self.pes_data_of(item.id)?;
            let same_coll = match (id_coll, data["id_coll"].as_str()) {
                (Some(a), Some(b)) => a.trim() == b.trim(),
                _ => true,
            };
            let holds = data["bordereaux_ids"].as_array().is_some_and(|ids| {
                ids.iter().any(|b| {
                    let domain_ok = match (recette, b["domaine"].as_str()) {
                        (Some(true), Some(d)) => d == "recette",
                        (Some(false), Some(d)) => d == "depense",
                        _ => true,
                    };
                    domain_ok
                        && bordereaux.iter().any(|(exercice, numero)| {
                            b["exercice"].as_str() == Some(exercice.trim())
                                && b["numero"].as_str() == Some(numero.trim())
                        })
                })
            });
            if same_coll && holds {
                found.push((item.id, item.etat));
            }
        }
        // An acknowledged PES is the one the comptable took; one still in flight with the same
        // bordereau number (a corrected file, say) is not answered by this retour.
        if found.iter().any(|(_, etat)| *etat == State::Acquitte) {
            found.retain(|(_, etat)| *etat == State::Acquitte);
        }
        Ok(found.into_iter().map(|(id, _)| id).collect())
    }

    /// PES the platform already held (« doublon », without naming its transaction): sent, but
    /// followed only once a person attaches them to their transaction.
    pub fn to_attach(&self) -> Result<Vec<Item>, OutboxError> {
        self.select_where(
            "etat = 'envoye' AND id_plateforme IS NULL AND genre = 'pes' ORDER BY id",
            params![],
        )
    }

    /// Attach such a PES to the platform's transaction `transaction` (a number read in the
    /// platform's web interface): from then on it is followed like any sent item.
    pub fn attach_transaction(
        &mut self,
        id: i64,
        transaction: &str,
        qui: &str,
    ) -> Result<(), OutboxError> {
        if !self.get(id)?.awaits_attachment() {
            return Err(OutboxError::NotToAttach(id));
        }
        let transaction = transaction.trim();
        if transaction.is_empty()
            || transaction.len() > 18
            || !transaction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(OutboxError::BadTransaction(transaction.to_owned()));
        }
        self.set_platform_id(id, transaction, qui)
    }

    /// Items still moving through the sender (waiting, sending, sent, or to reconcile).
    pub fn pending_count(&self) -> Result<u64, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM items WHERE etat IN ('en_attente', 'en_cours')
                OR (etat = 'envoye' AND id_plateforme IS NOT NULL)
                OR (etat = 'erreur' AND a_rapprocher = 1)",
                [],
                |r| r.get::<_, i64>(0),
            )?
            .max(0) as u64)
    }

    /// Record a failed attempt: how many so far, when to try next, whether to reconcile first.
    pub fn schedule(
        &mut self,
        id: i64,
        next_attempt: &str,
        reconcile: bool,
    ) -> Result<u32, OutboxError> {
        let attempts: i64 = self.conn.query_row(
            "UPDATE items SET tentatives = tentatives + 1, prochain_essai = ?1, a_rapprocher = ?2
             WHERE id = ?3 RETURNING tentatives",
            params![next_attempt, reconcile as i64, id],
            |r| r.get(0),
        )?;
        Ok(attempts.max(0) as u32)
    }

    /// Failed attempts recorded so far.
    pub fn attempts(&self, id: i64) -> Result<u32, OutboxError> {
        let n: i64 = self
            .conn
            .query_row("SELECT tentatives FROM items WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(OutboxError::Unknown(id))?;
        Ok(n.max(0) as u32)
    }

    /// Clear the reconciliation flag and the schedule (the outcome is known again).
    pub fn clear_schedule(&mut self, id: i64) -> Result<(), OutboxError> {
        self.conn.execute(
            "UPDATE items SET a_rapprocher = 0, prochain_essai = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    fn select_where(
        &self,
        condition: &str,
        values: impl rusqlite::Params,
    ) -> Result<Vec<Item>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_ITEM} WHERE {condition}"))?;
        let rows = stmt.query_map(values, row_to_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// The columns [`row_to_item`] reads, in its order.
macro_rules! item_columns {
    () => {
        "id, genre, libelle, etat, cree_le, modifie_le, lot_id, siren, numero_interne, id_plateforme"
    };
}

const SELECT_ITEM: &str = concat!("SELECT ", item_columns!(), " FROM items");

/// An item's columns, then what a search looks into besides them: the act's IDActe kept in
/// `donnees` (as `queue_act` stores it) and the item's files, one a line (the file the person
/// gave, or the copy for items older than `origine`).
const SELECT_ITEM_SEARCHED: &str = concat!(
    "SELECT ",
    item_columns!(),
    ", CASE WHEN json_valid(donnees) THEN CAST(json_extract(donnees, '$.id_acte') AS TEXT) END,
     (SELECT group_concat(coalesce(origine, chemin), char(10)) FROM fichiers
      WHERE fichiers.item_id = items.id)
     FROM items"
);

fn row_to_item(r: &rusqlite::Row) -> rusqlite::Result<Item> {
    let genre: String = r.get(1)?;
    let etat: String = r.get(3)?;
    Ok(Item {
        id: r.get(0)?,
        genre: if genre == "pes" {
            Kind::Pes
        } else {
            Kind::Acte
        },
        libelle: r.get(2)?,
        etat: State::from_key(&etat).unwrap_or(State::Erreur),
        cree_le: r.get(4)?,
        modifie_le: r.get(5)?,
        lot_id: r.get(6)?,
        siren: r.get(7)?,
        numero_interne: r.get(8)?,
        id_plateforme: r.get(9)?,
    })
}
