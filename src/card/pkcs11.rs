//! PKCS#11 tokens through cryptoki: modules, tokens with their PIN state, certificates, and a
//! logged-in [`CardKey`] that signs and decrypts.

use super::error::{CardError, PinState};
use super::pin::{PinPrompt, PinPurpose, PinRequest};
use super::raw;
use super::{DecryptScheme, Decrypter, KeyKind, SignatureScheme, Signer};
use crate::certs::CertificateInfo;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, Rv, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use zeroize::Zeroizing;

/// Modules are loaded and initialised once per process and never finalised: a second
/// `C_Initialize` fails, and finalising one context would pull the rug from under every other
/// session on the same module.
/// How many keys are open on each token (module, slot). PKCS#11 login belongs to the process,
/// shared by all its sessions on a token: the last key closed logs out, not the first — which
/// would leave the others unable to sign (CKR_OBJECT_HANDLE_INVALID), e.g. a signing batch while
/// the window sends with the authentication key of the same card.
fn open_keys() -> &'static Mutex<HashMap<(PathBuf, u64), usize>> {
    static OPEN: OnceLock<Mutex<HashMap<(PathBuf, u64), usize>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

fn loaded_modules() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    LOADED.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A loaded PKCS#11 module.
#[derive(Clone)]
pub struct Module {
    path: PathBuf,
    ctx: Pkcs11,
}

/// A token (card or USB key) present in a slot.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Token {
    pub slot_id: u64,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub pin: PinState,
    pub login_required: bool,
    pub initialized: bool,
    #[serde(skip)]
    slot: Slot,
}

/// A certificate stored on a token, with the CKA_ID that ties it to its private key.
#[derive(Debug, Clone)]
pub struct TokenCertificate {
    pub cka_id: Vec<u8>,
    pub label: String,
    pub der: Vec<u8>,
    pub info: CertificateInfo,
}

const CKF_LOGIN_REQUIRED: u64 = 0x0000_0004;
const CKF_PROTECTED_AUTHENTICATION_PATH: u64 = 0x0000_0100;
const CKF_TOKEN_INITIALIZED: u64 = 0x0000_0400;
const CKF_USER_PIN_COUNT_LOW: u64 = 0x0001_0000;
const CKF_USER_PIN_FINAL_TRY: u64 = 0x0002_0000;
const CKF_USER_PIN_LOCKED: u64 = 0x0004_0000;

/// The PIN state encoded in CK_TOKEN_INFO flags.
pub fn pin_state_from_flags(flags: u64) -> PinState {
    PinState {
        count_low: flags & CKF_USER_PIN_COUNT_LOW != 0,
        final_try: flags & CKF_USER_PIN_FINAL_TRY != 0,
        locked: flags & CKF_USER_PIN_LOCKED != 0,
        pin_pad: flags & CKF_PROTECTED_AUTHENTICATION_PATH != 0,
    }
}

impl Module {
    /// Load (once per process) and initialise the module at `path`.
    pub fn load(path: &Path) -> Result<Module, CardError> {
        if !path.is_file() {
            return Err(CardError::ModuleNotFound(path.to_owned()));
        }
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let mut loaded = loaded_modules()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ctx) = loaded.get(&key) {
            return Ok(Module {
                path: key,
                ctx: ctx.clone(),
            });
        }
        let ctx = Pkcs11::new(&key).map_err(|e| CardError::ModuleLoad {
            path: key.clone(),
            detail: e.to_string(),
        })?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => {
                return Err(CardError::ModuleLoad {
                    path: key,
                    detail: e.to_string(),
                });
            }
        }
        tracing::info!(module = %key.display(), "module PKCS#11 chargé");
        loaded.insert(key.clone(), ctx.clone());
        Ok(Module { path: key, ctx })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Library description and version, for the diagnostics screen.
    pub fn description(&self) -> Option<String> {
        self.ctx.get_library_info().ok().map(|info| {
            format!(
                "{} {} ({})",
                info.library_description().trim(),
                info.library_version(),
                info.manufacturer_id().trim()
            )
        })
    }

    /// Tokens present now (asked afresh each time: a key plugged in later shows up).
    pub fn tokens(&self) -> Result<Vec<Token>, CardError> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(|e| map_error(e, None))?;
        let mut tokens = Vec::new();
        for slot in slots {
            match self.token_in(slot) {
                // An uninitialised token (SoftHSM's free slot, a blank card) holds nothing usable.
                Ok(token) if !token.initialized => {}
                Ok(token) => tokens.push(token),
                // A token pulled out between the two calls is simply not there.
                Err(CardError::TokenRemoved) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(tokens)
    }

    fn token_in(&self, slot: Slot) -> Result<Token, CardError> {
        let info =
            raw::token_info(&self.path, slot.id()).map_err(|rv| map_rv(rv, "C_GetTokenInfo"))?;
        Ok(Token {
            slot_id: slot.id(),
            label: info.label,
            manufacturer: info.manufacturer,
            model: info.model,
            serial: info.serial,
            pin: pin_state_from_flags(info.flags),
            login_required: info.flags & CKF_LOGIN_REQUIRED != 0,
            initialized: info.flags & CKF_TOKEN_INITIALIZED != 0,
            slot,
        })
    }

    /// The token with this label, or the only token when `label` is `None`.
    pub fn token(&self, label: Option<&str>) -> Result<Token, CardError> {
        let tokens = self.tokens()?;
        match label {
            Some(label) => tokens
                .into_iter()
                .find(|t| t.label == label)
                .ok_or_else(|| CardError::TokenNotFound(label.to_owned())),
            None => match tokens.len() {
                0 => Err(CardError::NoToken),
                1 => Ok(tokens.into_iter().next().ok_or(CardError::NoToken)?),
                _ => Err(CardError::SeveralTokens(
                    tokens.into_iter().map(|t| t.label).collect(),
                )),
            },
        }
    }

    /// Re-read a token's PIN state (after a failed login, before asking again).
    pub fn pin_state(&self, token: &Token) -> Result<PinState, CardError> {
        Ok(self.token_in(token.slot)?.pin)
    }

    /// Certificates on the token (public objects: no PIN needed).
    pub fn certificates(&self, token: &Token) -> Result<Vec<TokenCertificate>, CardError> {
        let session = self
            .ctx
            .open_ro_session(token.slot)
            .map_err(|e| map_error(e, None))?;
        let handles = session
            .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
            .map_err(|e| map_error(e, None))?;
        let mut certs = Vec::new();
        for handle in handles {
            let attrs = session
                .get_attributes(
                    handle,
                    &[
                        AttributeType::Id,
                        AttributeType::Label,
                        AttributeType::Value,
                    ],
                )
                .map_err(|e| map_error(e, None))?;
            let (mut cka_id, mut label, mut der) = (Vec::new(), String::new(), Vec::new());
            for attr in attrs {
                match attr {
                    Attribute::Id(v) => cka_id = v,
                    Attribute::Label(v) => label = String::from_utf8_lossy(&v).into_owned(),
                    Attribute::Value(v) => der = v,
                    _ => {}
                }
            }
            match CertificateInfo::from_der(&der) {
                Ok(info) => certs.push(TokenCertificate {
                    cka_id,
                    label,
                    der,
                    info,
                }),
                Err(e) => tracing::warn!(%label, "certificat illisible sur la carte : {e}"),
            }
        }
        Ok(certs)
    }

    /// Open the private key whose CKA_ID is `cka_id`, logging in once (PIN asked through
    /// `prompt`, or on the reader's pad). A wrong PIN is never retried.
    pub fn open_key(
        &self,
        token: &Token,
        cka_id: &[u8],
        mut prompt: Box<dyn PinPrompt>,
    ) -> Result<CardKey, CardError> {
        let cka_hex = hex::encode(cka_id);
        let state = self.pin_state(token)?;
        if state.locked {
            return Err(CardError::PinLocked);
        }
        let session = self
            .ctx
            .open_ro_session(token.slot)
            .map_err(|e| map_error(e, None))?;
        let cert_der =
            find_certificate(&session, cka_id)?.ok_or_else(|| CardError::CertificateNotFound {
                cka_id: cka_hex.clone(),
            })?;
        let request = PinRequest {
            label: token.label.clone(),
            purpose: PinPurpose::Login,
            state,
        };
        let login = if state.pin_pad {
            tracing::info!(token = %token.label, "saisie du PIN sur le lecteur");
            session.login(UserType::User, None)
        } else if token.login_required {
            let pin = prompt.ask(&request)?;
            session.login(UserType::User, Some(&pin))
        } else {
            Ok(())
        };
        match login {
            Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(self.pin_error(e, token)),
        }
        let keys = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(cka_id.to_vec()),
            ])
            .map_err(|e| map_error(e, None))?;
        let key = *keys.first().ok_or(CardError::KeyNotFound {
            cka_id: cka_hex.clone(),
        })?;
        let kind = match session.get_attributes(key, &[AttributeType::KeyType]) {
            Ok(attrs) => match attrs.first() {
                Some(Attribute::KeyType(t)) if *t == KeyType::EC => KeyKind::Ec,
                _ => KeyKind::Rsa,
            },
            Err(e) => return Err(map_error(e, None)),
        };
        // Modules that do not know CKA_ALWAYS_AUTHENTICATE answer "attribute type invalid":
        // that means the key does not require it.
        let always_authenticate = matches!(
            session
                .get_attributes(key, &[AttributeType::AlwaysAuthenticate])
                .ok()
                .as_deref(),
            Some([Attribute::AlwaysAuthenticate(true)])
        );
        tracing::info!(token = %token.label, cka_id = %cka_hex, always_authenticate, "clé ouverte");
        *open_keys()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((self.path.clone(), token.slot.id()))
            .or_default() += 1;
        Ok(CardKey {
            module: self.clone(),
            token: token.clone(),
            session,
            key,
            cert_der,
            kind,
            always_authenticate,
            prompt,
        })
    }

    /// Turn a failed login into the right error, re-reading the tries left for a wrong PIN.
    fn pin_error(&self, e: P11Error, token: &Token) -> CardError {
        match map_error(e, None) {
            CardError::PinIncorrect { .. } => {
                let state = self.pin_state(token).unwrap_or_default();
                if state.locked {
                    CardError::PinLocked
                } else {
                    CardError::PinIncorrect { state }
                }
            }
            other => other,
        }
    }
}

fn find_certificate(session: &Session, cka_id: &[u8]) -> Result<Option<Vec<u8>>, CardError> {
    let handles = session
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Id(cka_id.to_vec()),
        ])
        .map_err(|e| map_error(e, None))?;
    let Some(handle) = handles.first() else {
        return Ok(None);
    };
    let attrs = session
        .get_attributes(*handle, &[AttributeType::Value])
        .map_err(|e| map_error(e, None))?;
    Ok(attrs.into_iter().find_map(|a| match a {
        Attribute::Value(v) => Some(v),
        _ => None,
    }))
}

/// A private key on a token, logged in for a batch of operations. Dropping it logs out.
pub struct CardKey {
    module: Module,
    token: Token,
    session: Session,
    key: ObjectHandle,
    cert_der: Vec<u8>,
    kind: KeyKind,
    always_authenticate: bool,
    prompt: Box<dyn PinPrompt>,
}

impl CardKey {
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// True when the card asks for the PIN again before each signature.
    pub fn requires_pin_per_operation(&self) -> bool {
        self.always_authenticate
    }

    /// Context-specific login right before the operation (keys with CKA_ALWAYS_AUTHENTICATE).
    fn context_login(&mut self) -> Result<(), CardError> {
        let state = self.module.pin_state(&self.token)?;
        if state.locked {
            return Err(CardError::PinLocked);
        }
        let result = if state.pin_pad {
            self.session.login(UserType::ContextSpecific, None)
        } else {
            let pin = self.prompt.ask(&PinRequest {
                label: self.token.label.clone(),
                purpose: PinPurpose::Signature,
                state,
            })?;
            self.session.login(UserType::ContextSpecific, Some(&pin))
        };
        result.map_err(|e| self.module.pin_error(e, &self.token))
    }

    /// Run one single-part operation, with the context-specific login the key may require.
    fn run(
        &mut self,
        mechanism: &Mechanism,
        operation: raw::Operation,
        data: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        let name = mechanism_name(mechanism.mechanism_type());
        match operation {
            raw::Operation::Sign => self.session.sign_init(mechanism, self.key),
            raw::Operation::Decrypt => self.session.decrypt_init(mechanism, self.key),
        }
        .map_err(|e| map_error(e, Some(&name)))?;
        if self.always_authenticate {
            self.context_login()?;
        }
        let function = match operation {
            raw::Operation::Sign => "C_Sign",
            raw::Operation::Decrypt => "C_Decrypt",
        };
        raw::finish(&self.module.path, self.session.handle(), operation, data).map_err(|rv| {
            match map_rv(rv, function) {
                CardError::Device { .. } if is_mechanism_rv(rv) => {
                    CardError::MechanismNotSupported(name.clone())
                }
                other => other,
            }
        })
    }
}

impl Drop for CardKey {
    fn drop(&mut self) {
        let last = {
            let mut open = open_keys()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = (self.module.path.clone(), self.token.slot.id());
            let count = open.entry(key.clone()).or_insert(1);
            *count = count.saturating_sub(1);
            let last = *count == 0;
            if last {
                open.remove(&key);
            }
            last
        };
        if last {
            // The token may be gone already; nothing useful to do with an error here.
            let _ = self.session.logout();
        }
    }
}

impl Signer for CardKey {
    fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    fn key_kind(&self) -> KeyKind {
        self.kind
    }

    fn sign_digest(
        &mut self,
        scheme: SignatureScheme,
        digest: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        let hash = scheme.hash();
        if digest.len() != hash.output_len() {
            return Err(CardError::InvalidInput(format!(
                "empreinte de {} octets pour {}",
                digest.len(),
                hash.name()
            )));
        }
        match (scheme, self.kind) {
            (SignatureScheme::RsaPkcs1(_), KeyKind::Rsa) => {
                let digest_info = hash
                    .digest_info(digest)
                    .ok_or_else(|| CardError::InvalidInput(hash.name().to_owned()))?;
                self.run(&Mechanism::RsaPkcs, raw::Operation::Sign, &digest_info)
            }
            (SignatureScheme::RsaPss(_), KeyKind::Rsa) => {
                let params = PkcsPssParams {
                    hash_alg: hash_mechanism(hash),
                    mgf: mgf1(hash),
                    s_len: (hash.output_len() as u64).into(),
                };
                self.run(&Mechanism::RsaPkcsPss(params), raw::Operation::Sign, digest)
            }
            (SignatureScheme::Ecdsa(_), KeyKind::Ec) => {
                let raw_sig = self.run(&Mechanism::Ecdsa, raw::Operation::Sign, digest)?;
                super::digest::ecdsa_raw_to_der(&raw_sig).ok_or_else(|| {
                    CardError::InvalidInput("signature ECDSA de longueur impaire".to_owned())
                })
            }
            (scheme, kind) => Err(CardError::InvalidInput(format!(
                "{scheme:?} avec une clé {kind:?}"
            ))),
        }
    }
}

impl Decrypter for CardKey {
    fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    fn decrypt(
        &mut self,
        scheme: DecryptScheme,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        if self.kind != KeyKind::Rsa {
            return Err(CardError::InvalidInput(
                "déchiffrement RSA avec une clé EC".to_owned(),
            ));
        }
        let plain = match scheme {
            DecryptScheme::RsaPkcs1 => {
                self.run(&Mechanism::RsaPkcs, raw::Operation::Decrypt, ciphertext)?
            }
            DecryptScheme::RsaOaep(hash) => {
                let params =
                    PkcsOaepParams::new(hash_mechanism(hash), mgf1(hash), PkcsOaepSource::empty());
                self.run(
                    &Mechanism::RsaPkcsOaep(params),
                    raw::Operation::Decrypt,
                    ciphertext,
                )?
            }
        };
        Ok(Zeroizing::new(plain))
    }
}

fn hash_mechanism(hash: super::HashAlg) -> MechanismType {
    match hash {
        super::HashAlg::Sha1 => MechanismType::SHA1,
        super::HashAlg::Sha256 => MechanismType::SHA256,
        super::HashAlg::Sha384 => MechanismType::SHA384,
        super::HashAlg::Sha512 => MechanismType::SHA512,
    }
}

fn mgf1(hash: super::HashAlg) -> PkcsMgfType {
    match hash {
        super::HashAlg::Sha1 => PkcsMgfType::MGF1_SHA1,
        super::HashAlg::Sha256 => PkcsMgfType::MGF1_SHA256,
        super::HashAlg::Sha384 => PkcsMgfType::MGF1_SHA384,
        super::HashAlg::Sha512 => PkcsMgfType::MGF1_SHA512,
    }
}

fn mechanism_name(t: MechanismType) -> String {
    t.to_string()
}

fn is_mechanism_rv(rv: cryptoki_sys::CK_RV) -> bool {
    matches!(
        rv,
        cryptoki_sys::CKR_MECHANISM_INVALID
            | cryptoki_sys::CKR_MECHANISM_PARAM_INVALID
            | cryptoki_sys::CKR_KEY_TYPE_INCONSISTENT
            | cryptoki_sys::CKR_KEY_FUNCTION_NOT_PERMITTED
    )
}

/// A raw CK_RV from a direct call, mapped like cryptoki's errors.
fn map_rv(rv: cryptoki_sys::CK_RV, function: &str) -> CardError {
    match Rv::from(rv) {
        Rv::Ok => CardError::Device {
            function: function.to_owned(),
            code: "CKR_OK".to_owned(),
        },
        Rv::Error(e) => map_rv_error(e, function, None),
    }
}

/// Every PKCS#11 error a user can meet, as a [`CardError`] with a French sentence.
pub fn map_error(e: P11Error, mechanism: Option<&str>) -> CardError {
    match e {
        P11Error::Pkcs11(rv, function) => map_rv_error(rv, &format!("{function:?}"), mechanism),
        P11Error::LibraryLoading(e) => CardError::ModuleLoad {
            path: PathBuf::new(),
            detail: e.to_string(),
        },
        other => CardError::Device {
            function: "cryptoki".to_owned(),
            code: other.to_string(),
        },
    }
}

fn map_rv_error(rv: RvError, function: &str, mechanism: Option<&str>) -> CardError {
    match rv {
        RvError::DeviceRemoved | RvError::TokenNotPresent | RvError::DeviceError => {
            CardError::TokenRemoved
        }
        RvError::SessionHandleInvalid | RvError::SessionClosed => CardError::SessionLost,
        RvError::PinIncorrect => CardError::PinIncorrect {
            state: PinState::default(),
        },
        RvError::PinLocked => CardError::PinLocked,
        RvError::PinExpired => CardError::PinExpired,
        RvError::PinLenRange | RvError::PinInvalid => CardError::PinInvalid,
        RvError::MechanismInvalid
        | RvError::MechanismParamInvalid
        | RvError::KeyTypeInconsistent
        | RvError::KeyFunctionNotPermitted => {
            CardError::MechanismNotSupported(mechanism.unwrap_or(function).to_owned())
        }
        other => CardError::Device {
            function: function.to_owned(),
            code: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_to_pin_state() {
        let s = pin_state_from_flags(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY);
        assert!(s.count_low && s.final_try && !s.locked && !s.pin_pad);
        assert!(pin_state_from_flags(CKF_USER_PIN_LOCKED).locked);
        assert!(pin_state_from_flags(CKF_PROTECTED_AUTHENTICATION_PATH).pin_pad);
    }

    #[test]
    fn errors_users_meet_have_their_own_variant() {
        assert!(matches!(
            map_rv(cryptoki_sys::CKR_DEVICE_REMOVED, "C_Sign"),
            CardError::TokenRemoved
        ));
        assert!(matches!(
            map_rv(cryptoki_sys::CKR_TOKEN_NOT_PRESENT, "C_Sign"),
            CardError::TokenRemoved
        ));
        assert!(matches!(
            map_rv(cryptoki_sys::CKR_PIN_LOCKED, "C_Login"),
            CardError::PinLocked
        ));
        assert!(matches!(
            map_rv(cryptoki_sys::CKR_PIN_INCORRECT, "C_Login"),
            CardError::PinIncorrect { .. }
        ));
        assert!(matches!(
            map_rv(cryptoki_sys::CKR_MECHANISM_INVALID, "C_SignInit"),
            CardError::MechanismNotSupported(_)
        ));
        let text = map_rv(cryptoki_sys::CKR_PIN_LOCKED, "C_Login").to_string();
        assert!(
            text.contains("bloqué") && text.contains("Contactez"),
            "{text}"
        );
    }
}
