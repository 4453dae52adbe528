//! What the sender reads and writes: the items due, to reconcile (unknown outcome) and to poll,
//! the item the platform names, and the schedule of failed attempts.

use rusqlite::{OptionalExtension, params};

use super::{Item, Outbox, OutboxError};

impl Outbox {
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

    /// Items sent and waiting for the platform's answer.
    pub fn to_poll(&self) -> Result<Vec<Item>, OutboxError> {
        self.select_where("etat = 'envoye' ORDER BY id", params![])
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
}
