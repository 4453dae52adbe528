//! What an item is: where it stands ([`State`]) and the changes allowed, its kind, its files, its
//! journal rows, and a new item as given to [`Outbox::add`](super::Outbox::add).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::messages::{t, tf};

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

    /// « Envoi n° 7 : annulé. » — what the command line and the window say after a change.
    pub fn said_of(&self, id: i64) -> String {
        tf(
            "envois.etat_maintenant",
            &[("id", &id.to_string()), ("etat", &self.label())],
        )
    }

    /// Not yet left for the platform: can be taken out of the queue
    /// ([`Outbox::withdraw`](super::Outbox::withdraw)).
    pub fn can_be_withdrawn(&self) -> bool {
        matches!(
            self,
            State::Brouillon | State::Prepare | State::Signe | State::EnAttente
        )
    }

    /// Waiting for a new attempt or in error: can be made due now
    /// ([`Outbox::retry_now`](super::Outbox::retry_now)).
    pub fn can_be_retried(&self) -> bool {
        matches!(self, State::EnAttente | State::Erreur)
    }

    /// The changes the outbox allows. `EnCours` → `EnAttente` is the retry after a failure whose
    /// outcome is known (nothing reached the platform); an unknown outcome goes to `Erreur` and is
    /// reconciled with the platform before anything is resent.
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
    pub(super) fn key(&self) -> &'static str {
        match self {
            Kind::Acte => "acte",
            Kind::Pes => "pes",
        }
    }
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
    /// left, but nothing follows it until a person attaches it
    /// ([`Outbox::attach_transaction`](super::Outbox::attach_transaction)).
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
