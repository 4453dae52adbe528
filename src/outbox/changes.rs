//! Every change of an item's state or journal: transitions (each with its journal row), the
//! platform's identifier, withdrawing, releasing and retrying an item, a journal note, what the
//! item received.

use rusqlite::{OptionalExtension, params};

use super::{Outbox, OutboxError, State, now};
use crate::messages::t;

impl Outbox {
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
}
