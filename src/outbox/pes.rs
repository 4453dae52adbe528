//! A PES in the outbox: through the door (checked copy) into the queue, the bordereaux and
//! `IdColl` kept to find the PES a PES_Retour answers, and a PES the platform already held
//! (« doublon ») attached to its transaction.

use rusqlite::params;
use std::path::Path;

use super::{Item, Kind, NewItem, Outbox, OutboxError, Staged, State};

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

impl Outbox {
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
        // The error names the file the person gave, not the outbox's copy of it.
        let summary = crate::pes::summarise_file(&copy)
            .map_err(|e| OutboxError::NotPes(file.to_owned(), e.to_string()))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that is not a PES_Aller — text, or a PDF given by mistake — is refused at the door
    /// with `NotPes` naming the file the person gave, and nothing is queued.
    #[test]
    fn queue_pes_refuses_what_is_not_a_pes() {
        let dir = tempfile::tempdir().expect("dossier");
        let mut outbox = Outbox::open(&dir.path().join("envois.sqlite")).expect("boîte");
        for (name, content) in [
            ("note.xml", &b"<note>pas un PES</note>"[..]),
            ("mandat.pdf", &b"%PDF-1.7\n"[..]),
        ] {
            let file = dir.path().join(name);
            std::fs::write(&file, content).expect("écrit");
            match outbox.queue_pes(&file, "test") {
                Err(OutboxError::NotPes(path, _)) => assert_eq!(path, file),
                other => panic!("{name} : NotPes attendu, {other:?}"),
            }
        }
        assert!(outbox.list(&Default::default()).expect("liste").is_empty());
    }
}
