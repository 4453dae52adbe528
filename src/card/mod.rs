//! Key stores: PKCS#11 tokens (smart cards, USB keys) and software certificates (PKCS#12), behind
//! one [`Signer`] / [`Decrypter`] view of a key, whatever holds it.
//!
//! Rules that protect the user's card:
//! - a PIN is asked once per batch (one login per [`pkcs11::CardKey`]) and never retried
//!   automatically: a wrong PIN ends the operation with the tries left;
//! - keys with CKA_ALWAYS_AUTHENTICATE get a context-specific login (a fresh PIN) before each
//!   signature;
//! - the key is found by the certificate's CKA_ID, never "the first key".

pub mod inventory;
pub mod modules;
pub mod pin;
pub mod pkcs11;
mod raw;
pub mod select;
pub mod software;

// The key interface lives one layer down (`keys`), where the formats use it; the card layer
// implements it and re-exports it for its own callers.
pub use crate::keys::{
    BatchProgress, CardError, DecryptScheme, Decrypter, HashAlg, KeyKind, PinState,
    SignatureScheme, Signer, digest, error, sign_batch,
};
pub use pin::{Pin, PinPrompt, PinRequest};
