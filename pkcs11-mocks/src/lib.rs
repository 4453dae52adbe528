//! Test PKI and PKCS#11 token provisioning for Paraphe's tests.
//!
//! **TEST ONLY.** Everything here is generated at test time with the
//! `openssl` command line (no key is ever committed): a root CA "Paraphe
//! TEST ONLY AC racine", an intermediate CA "Paraphe TEST ONLY AC
//! intermédiaire" and leaf identities for each case the application must
//! handle ([`TestPki`]). The identities can be written to SoftHSM2 tokens
//! ([`SoftHsm`]) or to the opencryptoki soft token ([`Opencryptoki`]) with
//! `pkcs11-tool`.
//!
//! Tools used: `openssl` (3.x), `softhsm2-util`, `pkcs11-tool` (OpenSC),
//! `pkcsslotd` and `pkcsconf` (opencryptoki). Guard tests with
//! [`tool_required`].

mod error;
mod opencryptoki;
mod pkcs11_tool;
mod pki;
mod softhsm;
mod util;

pub use error::MockError;
pub use opencryptoki::{
    OPENCRYPTOKI_DEFAULT_SO_PIN, OPENCRYPTOKI_LOCK_FILE, Opencryptoki, opencryptoki_module,
};
pub use pki::{Identity, KeyKind, LEAF_NAMES, P12_PASSWORD, TestPki};
pub use softhsm::{SoftHsm, softhsm_module};
pub use util::{find_tool, proxy_module, tool_required, unique_label};

/// User PIN of every test token.
pub const USER_PIN: &str = "1234";
/// Security-officer PIN of every test token.
pub const SO_PIN: &str = "12345678";
