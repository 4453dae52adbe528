//! The local register of numéros internes already used (a préfecture — and S²LOW — refuses a
//! number used before by the same collectivité), in the local database `actes.sqlite` that the
//! stored classification shares.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use time::Date;

use super::model::{Acte, french_date, iso_date};
use super::names::MAX_SERIAL;
use crate::messages::tf;

/// The local database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("{}", tf("actes.registre.base", &[("detail", .0)]))]
    Sqlite(String),
    #[error("{}", tf("actes.registre.dossier", &[("chemin", .chemin), ("detail", .detail)]))]
    Io { chemin: String, detail: String },
    #[error("{0}")]
    Settings(#[from] crate::settings::SettingsError),
}

impl From<rusqlite::Error> for BaseError {
    fn from(e: rusqlite::Error) -> Self {
        BaseError::Sqlite(e.to_string())
    }
}

/// `actes.sqlite` in the data folder (`PARAPHE_DONNEES` overrides it).
pub fn default_database() -> Result<PathBuf, BaseError> {
    Ok(crate::settings::data_dir()?.join("actes.sqlite"))
}

/// Opens the database at `path`, creating it (and its folder) if needed: file readable by its
/// owner only (it tells what the collectivité prepared), WAL journal so that a reader never waits
/// for a writer, and a wait rather than an error when another Paraphe is writing.
pub fn open_database(path: &Path) -> Result<Connection, BaseError> {
    let io = |e: std::io::Error| BaseError::Io {
        chemin: path.display().to_string(),
        detail: e.to_string(),
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        // A file created by an older version or by hand: make it private too. SQLite gives the
        // -wal and -shm files the database file's permissions.
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata().map_err(io)?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
    }
    drop(file);
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // journal_mode returns a row; read it rather than execute.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
    Ok(conn)
}

/// A numéro interne found in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsedNumber {
    pub numero: String,
    /// When it was prepared (RFC 3339).
    pub le: String,
    pub archive: Option<String>,
}

/// `27/11/2026` for a stored RFC 3339 time (as is if it cannot be read).
fn shown_date(stored: &str) -> String {
    time::OffsetDateTime::parse(stored, &time::format_description::well_known::Rfc3339)
        .map(|t| french_date(t.date()))
        .unwrap_or_else(|_| stored.to_owned())
}

/// Why a numéro could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("{}", tf("actes.regles.numero_utilise", &[("numero", &.0.numero), ("date", &shown_date(&.0.le)), ("archive", .0.archive.as_deref().unwrap_or("—"))]))]
    Used(UsedNumber),
    #[error("{}", tf("actes.registre.serie_epuisee", &[("max", &MAX_SERIAL.to_string())]))]
    SerialExhausted,
    #[error("{0}")]
    Base(#[from] BaseError),
}

impl From<rusqlite::Error> for ReserveError {
    fn from(e: rusqlite::Error) -> Self {
        ReserveError::Base(e.into())
    }
}

/// Numbers used and envelope serials per day, per SIREN.
pub struct Registre {
    conn: Connection,
}

impl Registre {
    pub fn open(db: &Path) -> Result<Registre, BaseError> {
        let conn = open_database(db)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS numero (
                siren TEXT NOT NULL,
                numero TEXT NOT NULL,
                nature INTEGER,
                date_decision TEXT,
                archive TEXT,
                le TEXT NOT NULL,
                PRIMARY KEY (siren, numero)
            );
            CREATE TABLE IF NOT EXISTS serie (
                siren TEXT NOT NULL,
                jour TEXT NOT NULL,
                dernier INTEGER NOT NULL,
                PRIMARY KEY (siren, jour)
            );",
        )?;
        Ok(Registre { conn })
    }

    /// The use of `numero` by `siren`, if any.
    pub fn used(&self, siren: &str, numero: &str) -> Result<Option<UsedNumber>, BaseError> {
        Ok(self
            .conn
            .query_row(
                "SELECT numero, le, archive FROM numero WHERE siren = ?1 AND numero = ?2",
                params![siren, numero],
                |r| {
                    Ok(UsedNumber {
                        numero: r.get(0)?,
                        le: r.get(1)?,
                        archive: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records a number used elsewhere (sent before Paraphe, or by another tool).
    pub fn record(&self, siren: &str, numero: &str) -> Result<(), ReserveError> {
        let tx = self.conn.unchecked_transaction()?;
        insert_number(&tx, siren, numero, None, None)?;
        tx.commit()?;
        Ok(())
    }

    /// Reserves `acte`'s number and takes the next envelope serial of `envoi`, in one transaction
    /// (two Paraphe preparing at once cannot get the same number or serial).
    pub fn reserve(&self, siren: &str, acte: &Acte, envoi: Date) -> Result<u32, ReserveError> {
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        insert_number(
            &tx,
            siren,
            &acte.numero,
            Some(acte.nature.code()),
            Some(acte.date_decision),
        )?;
        let serial = take_serial(&tx, siren, envoi)?;
        tx.commit()?;
        Ok(serial)
    }

    /// Takes the next envelope serial of `day` for `siren` without reserving a number (answers
    /// and cancellations travel in envelopes of the same daily series as acts).
    pub fn next_serial(&self, siren: &str, day: Date) -> Result<u32, ReserveError> {
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let serial = take_serial(&tx, siren, day)?;
        tx.commit()?;
        Ok(serial)
    }

    /// Notes the archive an act went into.
    pub fn set_archive(&self, siren: &str, numero: &str, archive: &str) -> Result<(), BaseError> {
        self.conn.execute(
            "UPDATE numero SET archive = ?3 WHERE siren = ?1 AND numero = ?2",
            params![siren, numero, archive],
        )?;
        Ok(())
    }

    /// Gives a reserved number back (the archive could not be written). The serial is not given
    /// back: a gap in a day's serials is harmless, a serial used twice is not.
    pub fn release(&self, siren: &str, numero: &str) -> Result<(), BaseError> {
        self.conn.execute(
            "DELETE FROM numero WHERE siren = ?1 AND numero = ?2 AND archive IS NULL",
            params![siren, numero],
        )?;
        Ok(())
    }
}

fn insert_number(
    conn: &Connection,
    siren: &str,
    numero: &str,
    nature: Option<u8>,
    date: Option<Date>,
) -> Result<(), ReserveError> {
    let existing: Option<UsedNumber> = conn
        .query_row(
            "SELECT numero, le, archive FROM numero WHERE siren = ?1 AND numero = ?2",
            params![siren, numero],
            |r| {
                Ok(UsedNumber {
                    numero: r.get(0)?,
                    le: r.get(1)?,
                    archive: r.get(2)?,
                })
            },
        )
        .optional()?;
    if let Some(used) = existing {
        return Err(ReserveError::Used(used));
    }
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    conn.execute(
        "INSERT INTO numero (siren, numero, nature, date_decision, le) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![siren, numero, nature, date.map(iso_date), now],
    )?;
    Ok(())
}

/// The next serial of `day` for `siren`, recorded in `tx` (≤ MAX_SERIAL a day).
fn take_serial(tx: &rusqlite::Transaction, siren: &str, day: Date) -> Result<u32, ReserveError> {
    let last: Option<u32> = tx
        .query_row(
            "SELECT dernier FROM serie WHERE siren = ?1 AND jour = ?2",
            params![siren, iso_date(day)],
            |r| r.get(0),
        )
        .optional()?;
    let serial = last.unwrap_or(0) + 1;
    if serial > MAX_SERIAL {
        return Err(ReserveError::SerialExhausted);
    }
    tx.execute(
        "INSERT INTO serie (siren, jour, dernier) VALUES (?1, ?2, ?3)
         ON CONFLICT (siren, jour) DO UPDATE SET dernier = excluded.dernier",
        params![siren, iso_date(day), serial],
    )?;
    Ok(serial)
}
