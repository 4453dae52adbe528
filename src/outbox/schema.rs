//! Opening the outbox's SQLite file and bringing its schema up to date.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

use super::{Outbox, OutboxError};

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
}
