//! Choosing and opening the key for a role, from the command line's or the settings' choices:
//! a PKCS#12 file, or a token (module, label) and a CKA_ID — or the best certificate for the role.

use super::error::{CardError, PinState};
use super::inventory::pick_for_role;
use super::modules::{Origin, SearchPaths, discover};
use super::pin::PinPrompt;
use super::pkcs11::CardKey;
use super::pkcs11::Module;
use super::software::SoftwareKey;
use super::{Decrypter, Signer};
use crate::certs::{CertificateInfo, Role, ValidityState, date_fr};
use std::path::PathBuf;

/// Where the key comes from; unset fields fall back to the settings, then to discovery.
#[derive(Debug, Clone, Default)]
pub struct KeyChoice {
    pub module: Option<PathBuf>,
    pub token: Option<String>,
    pub cka_id: Option<Vec<u8>>,
    pub p12: Option<PathBuf>,
}

/// Refuse a certificate that cannot serve `role` today, with the French reason.
pub fn ensure_usable(info: &CertificateInfo, role: Role) -> Result<(), CardError> {
    match info.validity_now() {
        ValidityState::Expire => {
            return Err(CardError::CertificateExpired {
                subject: info.display_name().to_owned(),
                date: date_fr(info.not_after),
            });
        }
        ValidityState::PasEncoreValide => {
            return Err(CardError::CertificateNotYetValid {
                subject: info.display_name().to_owned(),
                date: date_fr(info.not_before),
            });
        }
        ValidityState::Valide | ValidityState::ExpireBientot { .. } => {}
    }
    if !info.has_role(role) {
        return Err(CardError::WrongRole {
            subject: info.display_name().to_owned(),
            role: role.label(),
        });
    }
    Ok(())
}

impl KeyChoice {
    /// The choice the settings make for `role` (module, token, the CKA_ID chosen for the role);
    /// an unreadable CKA_ID counts as no choice, so the best certificate for the role is taken.
    pub fn from_settings(card: &crate::settings::CardSettings, role: Role) -> KeyChoice {
        let configured = match role {
            Role::Signature => &card.cle_signature,
            Role::Authentification => &card.cle_authentification,
            Role::Chiffrement => &card.cle_chiffrement,
        };
        KeyChoice {
            module: card.module.clone(),
            token: card.jeton.clone(),
            cka_id: configured
                .as_deref()
                .and_then(|h| hex::decode(h.trim()).ok()),
            p12: None,
        }
    }
}

/// Open the key for `role`, logging in once through `prompt`.
pub fn open_for_role(
    choice: &KeyChoice,
    role: Role,
    prompt: Box<dyn PinPrompt>,
) -> Result<Box<dyn Signer>, CardError> {
    Ok(match open_key(choice, role, prompt)? {
        OpenedKey::Card(key) => Box::new(key),
        OpenedKey::Software(key) => Box::new(key),
    })
}

/// Open the decryption key (role "chiffrement"), logging in once through `prompt`: one PIN for
/// a whole session of bid opening.
pub fn open_decrypter(
    choice: &KeyChoice,
    prompt: Box<dyn PinPrompt>,
) -> Result<Box<dyn Decrypter>, CardError> {
    Ok(match open_key(choice, Role::Chiffrement, prompt)? {
        OpenedKey::Card(key) => Box::new(key),
        OpenedKey::Software(key) => Box::new(key),
    })
}

enum OpenedKey {
    Card(CardKey),
    Software(SoftwareKey),
}

fn open_key(
    choice: &KeyChoice,
    role: Role,
    mut prompt: Box<dyn PinPrompt>,
) -> Result<OpenedKey, CardError> {
    if let Some(p12) = &choice.p12 {
        let key = SoftwareKey::open(p12, prompt.as_mut())?;
        ensure_usable(&key.certificate_info()?, role)?;
        return Ok(OpenedKey::Software(key));
    }
    let (module, token, cka_id, _) = find_card_key(choice, role)?;
    let key = module.open_key(&token, &cka_id, prompt)?;
    Ok(OpenedKey::Card(key))
}

/// The module, the token, the key id and the certificate's holder of the card key for `role`
/// (nothing is logged in).
fn find_card_key(
    choice: &KeyChoice,
    role: Role,
) -> Result<(Module, crate::card::pkcs11::Token, Vec<u8>, String), CardError> {
    let candidates = match &choice.module {
        Some(path) => vec![path.clone()],
        None => discover(None::<(PathBuf, Origin)>, &SearchPaths::system())
            .into_iter()
            .map(|c| c.path)
            .collect(),
    };
    if candidates.is_empty() {
        return Err(CardError::NoModule);
    }
    let mut last_error = CardError::NoToken;
    for path in candidates {
        let module = match Module::load(&path) {
            Ok(m) => m,
            Err(e) if choice.module.is_some() => return Err(e),
            Err(e) => {
                last_error = e;
                continue;
            }
        };
        let token = match module.token(choice.token.as_deref()) {
            Ok(t) => t,
            Err(e @ CardError::SeveralTokens(_)) => return Err(e),
            Err(e) => {
                last_error = e;
                continue;
            }
        };
        let certificates = module.certificates(&token)?;
        let chosen =
            pick_for_role(&certificates, role, choice.cka_id.as_deref()).ok_or_else(|| {
                match &choice.cka_id {
                    Some(id) => CardError::CertificateNotFound {
                        cka_id: hex::encode(id),
                    },
                    None => CardError::WrongRole {
                        subject: token.label.clone(),
                        role: role.label(),
                    },
                }
            })?;
        ensure_usable(&chosen.info, role)?;
        let cka_id = chosen.cka_id.clone();
        let holder = chosen.info.display_name().to_owned();
        return Ok((module, token, cka_id, holder));
    }
    Err(last_error)
}

/// The card that would be asked for the PIN for a role, as the window shows it beforehand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardStatus {
    /// The token's label.
    pub label: String,
    /// Who the certificate names.
    pub holder: String,
    /// What the card says of the PIN tries left.
    pub pin: PinState,
}

/// The card that would be asked for the PIN for `role`: its label, the certificate's holder and
/// what it says of the tries left, read before any PIN is typed (so that the window can warn of a
/// last try). `None` for a software certificate, which has no counter.
pub fn card_pin_state(choice: &KeyChoice, role: Role) -> Result<Option<CardStatus>, CardError> {
    if choice.p12.is_some() {
        return Ok(None);
    }
    let (module, token, _, holder) = find_card_key(choice, role)?;
    let pin = module.pin_state(&token)?;
    Ok(Some(CardStatus {
        label: token.label,
        holder,
        pin,
    }))
}
