//! The outbox: everything prepared, signed, sent and received, in one SQLite file in the data
//! folder. Each state change is one transaction with its journal row; nothing is ever deleted
//! (a cancelled item stays, with its history).
//!
//! One concern per file:
//! - `mod.rs`: the [`Outbox`] handle, its error ([`OutboxError`]), the time rows are stamped with;
//! - `model.rs`: what an item is — its state and the changes allowed, its kind, its files, its
//!   journal rows, a new item;
//! - `schema.rs`: opening the SQLite file and bringing its schema up to date (migrations);
//! - `copies.rs`: the outbox's own copies of the files (staged, given to a new item, replaced,
//!   added to, measured, purged);
//! - `changes.rs`: every change of an item's state or journal (transitions, withdraw, release,
//!   retry, what it received);
//! - `queries.rs`: reading items back — one item, its files and journal, the filtered list, counts;
//! - `sending.rs`: what the sender reads and writes — due items, items to reconcile or to poll, the
//!   schedule of attempts;
//! - `pes.rs`: a PES through the door into the queue, the bordereaux kept to find the PES a
//!   PES_Retour answers, a « doublon » attached to its transaction;
//! - `lot.rs`: lots of items exported and imported between two machines.
//!
//! Acts are queued by `usecases::prepare_act`, through [`Outbox::add_staged`].

mod changes;
mod copies;
pub mod lot;
mod model;
mod pes;
mod queries;
mod schema;
mod sending;

pub use copies::Staged;
pub use model::{Item, ItemFile, JournalEntry, Kind, NewItem, State};
pub use queries::{Filter, Tri};

use rusqlite::Connection;
use std::path::PathBuf;

use crate::messages::tf;

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

pub struct Outbox {
    conn: Connection,
    /// The folder of the items' own copies of their files (`fichiers/` beside the database).
    files_dir: PathBuf,
}

pub(crate) fn now() -> String {
    crate::certs::iso8601(time::OffsetDateTime::now_utc())
}

impl Outbox {
    pub(crate) fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}
