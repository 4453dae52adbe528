//! The sandbox's own state, in its SQLite file: accounts (one per client certificate), acts and
//! Hélios files received. The duplicate rules are UNIQUE constraints, so two uploads racing for the
//! same numéro (or the same file) cannot both be accepted.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS comptes (
    id INTEGER PRIMARY KEY,
    empreinte TEXT NOT NULL UNIQUE,
    sujet TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS actes (
    id INTEGER PRIMARY KEY,
    compte INTEGER NOT NULL REFERENCES comptes(id),
    numero TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    nature INTEGER NOT NULL,
    date_decision TEXT NOT NULL,
    objet TEXT NOT NULL,
    matieres TEXT NOT NULL,
    fichiers TEXT NOT NULL,
    recu_ms INTEGER NOT NULL,
    statut INTEGER NOT NULL,
    ar TEXT,
    papier INTEGER NOT NULL DEFAULT 0,
    UNIQUE (compte, numero)
);
CREATE TABLE IF NOT EXISTS helios (
    id INTEGER PRIMARY KEY,
    compte INTEGER NOT NULL REFERENCES comptes(id),
    sha1 TEXT NOT NULL,
    nom TEXT NOT NULL,
    chemin TEXT NOT NULL,
    recu_ms INTEGER NOT NULL,
    statut INTEGER NOT NULL,
    acquit BLOB,
    UNIQUE (compte, sha1)
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    compte INTEGER NOT NULL REFERENCES comptes(id),
    acte INTEGER NOT NULL REFERENCES actes(id),
    genre INTEGER NOT NULL,
    archive BLOB NOT NULL,
    lu INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reponses (
    id INTEGER PRIMARY KEY,
    compte INTEGER NOT NULL REFERENCES comptes(id),
    document INTEGER NOT NULL REFERENCES documents(id),
    genre TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS retours (
    id INTEGER PRIMARY KEY,
    compte INTEGER NOT NULL REFERENCES comptes(id),
    nom TEXT NOT NULL,
    date TEXT NOT NULL,
    contenu BLOB NOT NULL,
    lu INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS stela_reponses (
    id INTEGER PRIMARY KEY,
    compte INTEGER NOT NULL REFERENCES comptes(id),
    acte INTEGER NOT NULL REFERENCES actes(id),
    chemin TEXT NOT NULL,
    fichiers TEXT NOT NULL,
    recu_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS annulations (
    id INTEGER PRIMARY KEY,
    compte INTEGER NOT NULL REFERENCES comptes(id),
    acte INTEGER NOT NULL UNIQUE REFERENCES actes(id)
);
";

/// A préfecture document waiting to be read, as listed to the client.
#[derive(Debug, Clone)]
pub struct StoredDocument {
    pub id: i64,
    pub genre: u8,
    pub acte_id: i64,
    pub unique_id: String,
    pub numero: String,
}

pub struct Store {
    conn: Connection,
}

const SELECT_ACTE: &str = "SELECT id, numero, unique_id, nature, date_decision, objet, matieres,
    fichiers, recu_ms, statut, ar, papier FROM actes";

fn row_to_acte(r: &rusqlite::Row) -> rusqlite::Result<StoredActe> {
    row_to_acte_from(r, 0)
}

/// An act from the columns of SELECT_ACTE, the first at `at`.
fn row_to_acte_from(r: &rusqlite::Row, at: usize) -> rusqlite::Result<StoredActe> {
    let matieres: String = r.get(at + 6)?;
    let fichiers: String = r.get(at + 7)?;
    Ok(StoredActe {
        id: r.get(at)?,
        numero: r.get(at + 1)?,
        unique_id: r.get(at + 2)?,
        nature: r.get(at + 3)?,
        date_decision: r.get(at + 4)?,
        objet: r.get(at + 5)?,
        matieres: matieres.split('.').map(str::to_owned).collect(),
        fichiers: serde_json::from_str(&fichiers).unwrap_or_default(),
        recu_ms: r.get(at + 8)?,
        statut: r.get(at + 9)?,
        ar: r.get(at + 10)?,
        papier: r.get(at + 11)?,
    })
}

/// An act as the sandbox received it.
#[derive(Debug, Clone)]
pub struct StoredActe {
    pub id: i64,
    pub numero: String,
    pub unique_id: String,
    pub nature: u8,
    pub date_decision: String,
    pub objet: String,
    pub matieres: Vec<String>,
    /// Names of the act file then the annexes.
    pub fichiers: Vec<String>,
    pub recu_ms: i64,
    pub statut: i32,
    pub ar: Option<String>,
    pub papier: bool,
}

#[derive(Debug, Clone)]
pub struct StoredPes {
    pub id: i64,
    pub chemin: String,
    pub recu_ms: i64,
    pub statut: i32,
    pub acquit: Option<Vec<u8>>,
}

pub enum Inserted {
    New(i64),
    /// Already there (duplicate rule): the existing id.
    Existing(i64),
}

impl Store {
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn })
    }

    /// The account of a client certificate, created on first sight.
    pub fn account(&mut self, fingerprint: &str, subject: &str) -> rusqlite::Result<i64> {
        self.conn.execute(
            "INSERT OR IGNORE INTO comptes (empreinte, sujet) VALUES (?1, ?2)",
            params![fingerprint, subject],
        )?;
        self.conn.query_row(
            "SELECT id FROM comptes WHERE empreinte = ?1",
            [fingerprint],
            |r| r.get(0),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_acte(
        &mut self,
        account: i64,
        numero: &str,
        unique_id: &str,
        nature: u8,
        date_decision: &str,
        objet: &str,
        matieres: &[String],
        fichiers: &[String],
        papier: bool,
        now_ms: i64,
    ) -> rusqlite::Result<Inserted> {
        let done = self.conn.execute(
            "INSERT OR IGNORE INTO actes (compte, numero, unique_id, nature, date_decision, objet,
                matieres, fichiers, recu_ms, statut, papier)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)",
            params![
                account,
                numero,
                unique_id,
                nature,
                date_decision,
                objet,
                matieres.join("."),
                serde_json::to_string(fichiers).unwrap_or_default(),
                now_ms,
                papier
            ],
        )?;
        if done == 1 {
            Ok(Inserted::New(self.conn.last_insert_rowid()))
        } else {
            let id = self.conn.query_row(
                "SELECT id FROM actes WHERE compte = ?1 AND numero = ?2",
                params![account, numero],
                |r| r.get(0),
            )?;
            Ok(Inserted::Existing(id))
        }
    }

    /// An act of this account, by transaction id or by IDActe.
    pub fn find_acte(
        &self,
        account: i64,
        id: Option<i64>,
        unique_id: Option<&str>,
    ) -> rusqlite::Result<Option<StoredActe>> {
        self.conn
            .query_row(
                // As S²LOW's ActesTransaction::getTransactionFromUniqueId: the `unique_id`
                // column is filled when the ARActe is processed, so an IDActe finds an act only
                // after its AR; before, the fallback matches the message file
                // `<IDActe>-1-1_0.xml`, i.e. the query `<IDActe>-1-1`.
                &format!(
                    "{SELECT_ACTE} WHERE compte = ?1 AND (id = ?2 \
                     OR (unique_id = ?3 AND statut >= 4) OR unique_id || '-1-1' = ?3)"
                ),
                params![account, id, unique_id],
                row_to_acte,
            )
            .optional()
    }

    /// Every act of this account, oldest first.
    pub fn list_actes(&self, account: i64) -> rusqlite::Result<Vec<StoredActe>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_ACTE} WHERE compte = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([account], row_to_acte)?;
        rows.collect()
    }

    /// Every act of every account, oldest first, with its account.
    pub fn every_acte(&self) -> rusqlite::Result<Vec<(i64, StoredActe)>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT compte, {} ORDER BY id",
            SELECT_ACTE.trim_start_matches("SELECT ")
        ))?;
        let rows = stmt.query_map([], |r| {
            let account: i64 = r.get(0)?;
            // The act's columns follow the account's.
            let acte = row_to_acte_from(r, 1)?;
            Ok((account, acte))
        })?;
        rows.collect()
    }

    /// An act by its id, whatever its account, with its account.
    pub fn acte_by_id(&self, id: i64) -> rusqlite::Result<Option<(i64, StoredActe)>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT compte, {} WHERE id = ?1",
                    SELECT_ACTE.trim_start_matches("SELECT ")
                ),
                [id],
                |r| Ok((r.get(0)?, row_to_acte_from(r, 1)?)),
            )
            .optional()
    }

    /// Whether a cancellation was requested for this act.
    pub fn is_cancelled(&self, acte: i64) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM annulations WHERE acte = ?1", [acte], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// The préfecture's anomaly: status -1 with its message.
    pub fn reject_acte(&mut self, id: i64, message: &str) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE actes SET statut = -1, ar = ?1 WHERE id = ?2",
            params![message, id],
        )?;
        Ok(())
    }

    pub fn acknowledge_acte(&mut self, id: i64, ar: &str) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE actes SET statut = 4, ar = ?1 WHERE id = ?2",
            params![ar, id],
        )?;
        Ok(())
    }

    /// A transmission created waiting for confirmation (status 17).
    pub fn hold_acte(&mut self, id: i64) -> rusqlite::Result<()> {
        self.conn
            .execute("UPDATE actes SET statut = 17 WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Confirm a waiting transmission: it is posted now (status 1, the AR delay starts).
    /// False when it was not waiting.
    pub fn confirm_acte(&mut self, account: i64, id: i64, now_ms: i64) -> rusqlite::Result<bool> {
        Ok(self.conn.execute(
            "UPDATE actes SET statut = 1, recu_ms = ?1 WHERE compte = ?2 AND id = ?3 AND statut = 17",
            params![now_ms, account, id],
        )? == 1)
    }

    /// A PES_Retour for the account, unread.
    pub fn add_retour(
        &mut self,
        account: i64,
        nom: &str,
        date: &str,
        contenu: &[u8],
    ) -> rusqlite::Result<i64> {
        self.conn.execute(
            "INSERT INTO retours (compte, nom, date, contenu) VALUES (?1, ?2, ?3, ?4)",
            params![account, nom, date, contenu],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Unread PES_Retour of the account: (id, name, date).
    pub fn unread_retours(&self, account: i64) -> rusqlite::Result<Vec<(i64, String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, nom, date FROM retours WHERE compte = ?1 AND lu = 0 ORDER BY id",
        )?;
        let rows = stmt.query_map([account], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    }

    pub fn retour(&self, account: i64, id: i64) -> rusqlite::Result<Option<Vec<u8>>> {
        self.conn
            .query_row(
                "SELECT contenu FROM retours WHERE compte = ?1 AND id = ?2",
                params![account, id],
                |r| r.get(0),
            )
            .optional()
    }

    /// Mark a PES_Retour read; false when it is not this account's.
    pub fn mark_retour_read(&mut self, account: i64, id: i64) -> rusqlite::Result<bool> {
        Ok(self.conn.execute(
            "UPDATE retours SET lu = 1 WHERE compte = ?1 AND id = ?2",
            params![account, id],
        )? == 1)
    }

    /// Every PES_Retour ever made, read or not: (id, read).
    pub fn retours(&self) -> rusqlite::Result<Vec<(i64, bool)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, lu FROM retours ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? == 1)))?;
        rows.collect()
    }

    pub fn insert_pes(
        &mut self,
        account: i64,
        sha1: &str,
        nom: &str,
        chemin: &str,
        now_ms: i64,
    ) -> rusqlite::Result<Inserted> {
        let done = self.conn.execute(
            "INSERT OR IGNORE INTO helios (compte, sha1, nom, chemin, recu_ms, statut)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)",
            params![account, sha1, nom, chemin, now_ms],
        )?;
        if done == 1 {
            Ok(Inserted::New(self.conn.last_insert_rowid()))
        } else {
            let id = self.conn.query_row(
                "SELECT id FROM helios WHERE compte = ?1 AND sha1 = ?2",
                params![account, sha1],
                |r| r.get(0),
            )?;
            Ok(Inserted::Existing(id))
        }
    }

    /// The transaction holding the PES of SHA-1 `sha1` (hex), as the platform's web interface
    /// lets a person find it.
    pub fn pes_by_sha1(&self, sha1: &str) -> rusqlite::Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT id FROM helios WHERE sha1 = ?1",
                params![sha1],
                |r| r.get(0),
            )
            .optional()
    }

    pub fn find_pes(&self, account: i64, id: i64) -> rusqlite::Result<Option<StoredPes>> {
        self.conn
            .query_row(
                "SELECT id, chemin, recu_ms, statut, acquit FROM helios WHERE compte = ?1 AND id = ?2",
                params![account, id],
                |r| {
                    Ok(StoredPes {
                        id: r.get(0)?,
                        chemin: r.get(1)?,
                        recu_ms: r.get(2)?,
                        statut: r.get(3)?,
                        acquit: r.get(4)?,
                    })
                },
            )
            .optional()
    }

    pub fn acknowledge_pes(&mut self, id: i64, statut: i32, acquit: &[u8]) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE helios SET statut = ?1, acquit = ?2 WHERE id = ?3",
            params![statut, acquit, id],
        )?;
        Ok(())
    }

    pub fn add_document(
        &mut self,
        account: i64,
        acte: i64,
        genre: u8,
        archive: &[u8],
    ) -> rusqlite::Result<i64> {
        self.conn.execute(
            "INSERT INTO documents (compte, acte, genre, archive) VALUES (?1, ?2, ?3, ?4)",
            params![account, acte, genre, archive],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn unread_documents(&self, account: i64) -> rusqlite::Result<Vec<StoredDocument>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, d.genre, d.acte, a.unique_id, a.numero FROM documents d
             JOIN actes a ON a.id = d.acte WHERE d.compte = ?1 AND d.lu = 0 ORDER BY d.id",
        )?;
        let rows = stmt.query_map([account], |r| {
            Ok(StoredDocument {
                id: r.get(0)?,
                genre: r.get(1)?,
                acte_id: r.get(2)?,
                unique_id: r.get(3)?,
                numero: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    pub fn document(&self, account: i64, id: i64) -> rusqlite::Result<Option<Vec<u8>>> {
        self.conn
            .query_row(
                "SELECT archive FROM documents WHERE compte = ?1 AND id = ?2",
                params![account, id],
                |r| r.get(0),
            )
            .optional()
    }

    /// The préfecture documents sent about an act, oldest first: (id, genre).
    pub fn documents_of_acte(&self, acte: i64) -> rusqlite::Result<Vec<(i64, u8)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, genre FROM documents WHERE acte = ?1 ORDER BY id")?;
        let rows = stmt.query_map([acte], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// Mark a document read; false when it is not this account's.
    pub fn mark_read(&mut self, account: i64, id: i64) -> rusqlite::Result<bool> {
        Ok(self.conn.execute(
            "UPDATE documents SET lu = 1 WHERE compte = ?1 AND id = ?2",
            params![account, id],
        )? == 1)
    }

    /// The ACTES transaction type of one of this account's documents (2, 3, 4 or 5).
    pub fn document_kind(&self, account: i64, id: i64) -> rusqlite::Result<Option<u8>> {
        self.conn
            .query_row(
                "SELECT genre FROM documents WHERE compte = ?1 AND id = ?2",
                params![account, id],
                |r| r.get(0),
            )
            .optional()
    }

    /// Record a reply to one of this account's documents; `None` when the document is not theirs.
    pub fn add_reply(
        &mut self,
        account: i64,
        document: i64,
        kind: &str,
    ) -> rusqlite::Result<Option<i64>> {
        let known = self
            .conn
            .query_row(
                "SELECT 1 FROM documents WHERE compte = ?1 AND id = ?2",
                params![account, document],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !known {
            return Ok(None);
        }
        self.conn.execute(
            "INSERT INTO reponses (compte, document, genre) VALUES (?1, ?2, ?3)",
            params![account, document, kind],
        )?;
        Ok(Some(2_000_000 + self.conn.last_insert_rowid()))
    }

    /// Replies received, for tests and the trainer: (document, message code such as `3-4`).
    pub fn replies(&self) -> rusqlite::Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT document, genre FROM reponses ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// Record a reply received on STELA's face: the act, the path under it (`courrier-simple`,
    /// `pieces-complementaires/reject`…) and the original names of the files, in order.
    pub fn add_stela_reply(
        &mut self,
        account: i64,
        acte: i64,
        action: &str,
        files: &[String],
        at_ms: i64,
    ) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO stela_reponses (compte, acte, chemin, fichiers, recu_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account, acte, action, files.join("\n"), at_ms],
        )?;
        Ok(())
    }

    /// The replies received on STELA's face for one act: (path, file names, moment).
    pub fn stela_replies_of_acte(
        &self,
        acte: i64,
    ) -> rusqlite::Result<Vec<(String, Vec<String>, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT chemin, fichiers, recu_ms FROM stela_reponses WHERE acte = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([acte], |r| {
            let files: String = r.get(1)?;
            Ok((
                r.get(0)?,
                files.split('\n').map(str::to_owned).collect(),
                r.get(2)?,
            ))
        })?;
        rows.collect()
    }

    /// Replies received on STELA's face, for tests and the trainer: (act, path, file names).
    pub fn stela_replies(&self) -> rusqlite::Result<Vec<(i64, String, Vec<String>)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT acte, chemin, fichiers FROM stela_reponses ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            let files: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                files.split('\n').map(str::to_owned).collect(),
            ))
        })?;
        rows.collect()
    }

    /// Record a cancellation request; `None` when one already exists for this act.
    pub fn add_cancellation(&mut self, account: i64, acte: i64) -> rusqlite::Result<Option<i64>> {
        let done = self.conn.execute(
            "INSERT OR IGNORE INTO annulations (compte, acte) VALUES (?1, ?2)",
            params![account, acte],
        )?;
        // Cancellation transactions are numbered after the acts, as S²LOW gives them new ids.
        Ok((done == 1).then(|| 1_000_000 + self.conn.last_insert_rowid()))
    }

    /// How many acts and PES each account holds (tests and the demo's summary).
    pub fn counts(&self) -> rusqlite::Result<(i64, i64)> {
        let actes = self
            .conn
            .query_row("SELECT COUNT(*) FROM actes", [], |r| r.get(0))?;
        let pes = self
            .conn
            .query_row("SELECT COUNT(*) FROM helios", [], |r| r.get(0))?;
        Ok((actes, pes))
    }
}
