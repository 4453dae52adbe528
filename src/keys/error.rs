//! Card-layer errors. Each variant is something a user can meet; its text (from `assets/fr.toml`)
//! says what happened and what to do next.

use crate::messages::{t, tf};
use std::path::PathBuf;

/// State of the user PIN as the token reports it (PKCS#11 token flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PinState {
    /// CKF_USER_PIN_COUNT_LOW: at least one wrong PIN since the last good one.
    pub count_low: bool,
    /// CKF_USER_PIN_FINAL_TRY: one more wrong PIN locks the card.
    pub final_try: bool,
    /// CKF_USER_PIN_LOCKED.
    pub locked: bool,
    /// CKF_PROTECTED_AUTHENTICATION_PATH: the PIN is typed on the reader's pad.
    pub pin_pad: bool,
}

impl PinState {
    /// A French phrase about the tries left, when the token says something worth telling.
    pub fn tries_phrase(&self) -> Option<String> {
        if self.final_try {
            Some(t("carte.essais_dernier"))
        } else if self.count_low {
            Some(t("carte.essais_compteur_bas"))
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("{}", tf("carte.module_introuvable", &[("chemin", &.0.display().to_string())]))]
    ModuleNotFound(PathBuf),
    #[error("{}", tf("carte.module_illisible", &[("chemin", &.path.display().to_string()), ("detail", detail)]))]
    ModuleLoad { path: PathBuf, detail: String },
    #[error("{}", t("carte.aucun_module"))]
    NoModule,
    #[error("{}", t("carte.aucun_jeton"))]
    NoToken,
    #[error("{}", tf("carte.jeton_introuvable", &[("label", .0)]))]
    TokenNotFound(String),
    #[error("{}", tf("carte.plusieurs_jetons", &[("labels", &.0.join(", "))]))]
    SeveralTokens(Vec<String>),
    #[error("{}", t("carte.retiree"))]
    TokenRemoved,
    #[error("{}", match .state.tries_phrase() {
        Some(p) => tf("carte.pin_incorrect_essais", &[("essais", &p)]),
        None => t("carte.pin_incorrect"),
    })]
    PinIncorrect { state: PinState },
    #[error("{}", t("carte.pin_bloque"))]
    PinLocked,
    #[error("{}", t("carte.pin_expire"))]
    PinExpired,
    #[error("{}", t("carte.pin_invalide"))]
    PinInvalid,
    #[error("{}", t("carte.pin_annule"))]
    PinCancelled,
    #[error("{}", tf("carte.cle_introuvable", &[("cka_id", .cka_id)]))]
    KeyNotFound { cka_id: String },
    #[error("{}", tf("carte.certificat_introuvable", &[("cka_id", .cka_id)]))]
    CertificateNotFound { cka_id: String },
    #[error("{}", tf("carte.mecanisme_non_supporte", &[("mecanisme", .0)]))]
    MechanismNotSupported(String),
    #[error("{}", tf("carte.certificat_expire", &[("sujet", .subject), ("date", .date)]))]
    CertificateExpired { subject: String, date: String },
    #[error("{}", tf("carte.certificat_pas_encore_valide", &[("sujet", .subject), ("date", .date)]))]
    CertificateNotYetValid { subject: String, date: String },
    #[error("{}", tf("carte.role_inadapte", &[("sujet", .subject), ("role", .role)]))]
    WrongRole { subject: String, role: String },
    #[error("{}", t("carte.session_invalide"))]
    SessionLost,
    #[error("{}", t("carte.operation_annulee"))]
    Cancelled,
    #[error("{}", tf("carte.donnees_invalides", &[("detail", .0)]))]
    InvalidInput(String),
    #[error("{}", tf("carte.erreur_carte", &[("fonction", .function), ("code", .code)]))]
    Device { function: String, code: String },
    #[error("{}", tf("logiciel.fichier_illisible", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    SoftwareFile { path: PathBuf, detail: String },
    #[error("{}", tf("logiciel.fichier_trop_gros", &[("chemin", &.path.display().to_string()), ("taille", &.size.to_string())]))]
    SoftwareFileTooBig { path: PathBuf, size: u64 },
    #[error("{}", t("logiciel.mot_de_passe_incorrect"))]
    WrongPassword,
    #[error("{}", tf("logiciel.sans_cle", &[("chemin", &.0.display().to_string())]))]
    NoPrivateKey(PathBuf),
    #[error("{}", tf("saisie.lecture_impossible", &[("detail", .0)]))]
    PromptFailed(String),
}

impl CardError {
    /// True when the user must not be offered another PIN attempt without thinking first.
    pub fn is_pin_error(&self) -> bool {
        matches!(
            self,
            CardError::PinIncorrect { .. }
                | CardError::PinLocked
                | CardError::PinExpired
                | CardError::PinInvalid
        )
    }
}
