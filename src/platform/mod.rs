//! Talking to the télétransmission platform: the S²LOW API (ACTES and Hélios) over HTTPS with the
//! card's authentication key, the sender that moves outbox items to the platform exactly once, and
//! the sandbox platform used for demonstrations, training and tests.

pub mod s2low;
pub mod sandbox;
pub mod sender;
pub mod tls;

use crate::card::CardError;
use crate::messages::tf;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[plateforme]` in the settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformSettings {
    /// Address of the platform, e.g. `https://s2low.example.fr`.
    pub adresse: Option<String>,
    /// PEM file of the certificate authorities that sign the platform's server certificate
    /// (otherwise the system's trust store).
    pub ca: Option<PathBuf>,
    /// Optional HTTP login (some accounts require one besides the certificate).
    pub identifiant: Option<String>,
    /// Seconds before a request with no answer is abandoned.
    pub delai_secondes: u64,
    /// Wait before the first new attempt after a failure (doubling up to the last).
    pub premier_nouvel_essai_secondes: f64,
    pub dernier_nouvel_essai_secondes: f64,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        PlatformSettings {
            adresse: None,
            ca: None,
            identifiant: None,
            delai_secondes: 60,
            premier_nouvel_essai_secondes: 5.0,
            dernier_nouvel_essai_secondes: 900.0,
        }
    }
}

impl PlatformSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.delai_secondes.max(1))
    }

    pub fn backoff(&self) -> sender::Backoff {
        let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.0, 86_400.0));
        sender::Backoff {
            first: secs(self.premier_nouvel_essai_secondes),
            last: secs(self.dernier_nouvel_essai_secondes),
        }
    }
}

/// What went wrong with the platform, sorted by what the sender may do next.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Nothing reached the platform (no connection, TLS refused before the request): safe to retry.
    #[error("{}", tf("plateforme.non_envoye", &[("detail", .0)]))]
    NotSent(String),
    /// The request may or may not have been received (timeout or cut after sending started, an
    /// answer that cannot be read): the item must be reconciled before any new attempt.
    #[error("{}", tf("plateforme.issue_inconnue", &[("detail", .0)]))]
    Unknown(String),
    /// The platform refused, with its own words.
    #[error("{}", tf("plateforme.refus", &[("message", .0)]))]
    Ko(String),
    /// The platform says it already has this item.
    #[error("{}", tf("plateforme.doublon", &[("message", .0)]))]
    Duplicate(String),
    /// The card could not sign the TLS handshake (removed, PIN…).
    #[error("{0}")]
    Card(#[from] CardError),
    /// Settings or local files.
    #[error("{0}")]
    Config(String),
}

impl PlatformError {
    /// Whether the platform may have acted on the request.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, PlatformError::Unknown(_))
    }
}
