//! PIN and password entry. A [`Pin`] is zeroized when dropped, is never logged, and its `Debug`
//! shows nothing. A [`PinPrompt`] is asked at most once per attempt: the library never loops on it.

use super::error::{CardError, PinState};
use secrecy::SecretString;
use std::io::BufRead;

/// A PIN or password, wiped from memory when dropped.
pub type Pin = SecretString;

/// Why a PIN is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinPurpose {
    /// Logging in to the token for a batch.
    Login,
    /// Context-specific login right before one signature (CKA_ALWAYS_AUTHENTICATE).
    Signature,
    /// The password of a software certificate file.
    Password,
    /// The password of the platform account (login besides the certificate).
    PlatformPassword,
}

/// What the prompt shows the user before asking.
#[derive(Debug, Clone)]
pub struct PinRequest {
    /// Token label, or file path for a software certificate.
    pub label: String,
    pub purpose: PinPurpose,
    /// Flags read from the token just before asking (tries left, PIN pad).
    pub state: PinState,
}

impl PinRequest {
    /// The French question to ask.
    pub fn question(&self) -> String {
        use crate::messages::tf;
        let key = match self.purpose {
            PinPurpose::Login => "saisie.demande_pin",
            PinPurpose::Signature => "saisie.demande_pin_signature",
            PinPurpose::Password => "saisie.demande_mot_de_passe",
            PinPurpose::PlatformPassword => "saisie.demande_mot_de_passe_plateforme",
        };
        tf(key, &[("label", &self.label), ("chemin", &self.label)])
    }
}

pub trait PinPrompt: Send {
    /// Ask for a PIN. Return [`CardError::PinCancelled`] when the user gives up.
    fn ask(&mut self, request: &PinRequest) -> Result<Pin, CardError>;
}

/// Reads one line from standard input per request (`--pin-stdin`, for scripts). When the input is
/// exhausted the request is refused rather than retried with anything else.
pub struct StdinPrompt;

impl PinPrompt for StdinPrompt {
    fn ask(&mut self, _request: &PinRequest) -> Result<Pin, CardError> {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CardError::PromptFailed(e.to_string()))?;
        let pin = line.trim_end_matches(['\r', '\n']).to_owned();
        zeroize::Zeroize::zeroize(&mut line);
        if pin.is_empty() {
            return Err(CardError::PinCancelled);
        }
        Ok(Pin::from(pin))
    }
}

/// Gives a fixed PIN once per request (tests, demo mode, the window's PIN field), and the
/// platform password when one was given. Counts how often it was asked.
pub struct FixedPrompt {
    pin: Pin,
    platform_password: Option<Pin>,
    pub asked: usize,
}

impl FixedPrompt {
    pub fn new(pin: &str) -> Self {
        FixedPrompt {
            pin: Pin::from(pin.to_owned()),
            platform_password: None,
            asked: 0,
        }
    }

    /// The answer to [`PinPurpose::PlatformPassword`] (otherwise that request is cancelled:
    /// the card's PIN is never sent to the platform).
    pub fn with_platform_password(mut self, password: &str) -> Self {
        self.platform_password = Some(Pin::from(password.to_owned()));
        self
    }
}

impl PinPrompt for FixedPrompt {
    fn ask(&mut self, request: &PinRequest) -> Result<Pin, CardError> {
        use secrecy::ExposeSecret;
        self.asked += 1;
        let answer = match request.purpose {
            PinPurpose::PlatformPassword => self
                .platform_password
                .as_ref()
                .ok_or(CardError::PinCancelled)?,
            _ => &self.pin,
        };
        Ok(Pin::from(answer.expose_secret().to_owned()))
    }
}
