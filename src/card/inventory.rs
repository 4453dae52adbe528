//! What is on this workstation: modules, the tokens each one sees, their certificates and roles.
//! Shared by `paraphe cartes` and the Certificats screen.

use super::modules::{ModuleCandidate, Origin, SearchPaths, discover};
use super::pkcs11::{Module, Token, TokenCertificate};
use crate::certs::{Role, ValidityState};
use std::path::PathBuf;

pub struct ModuleReport {
    pub candidate: ModuleCandidate,
    pub description: Option<String>,
    /// Why the module could not be used, in French.
    pub error: Option<String>,
    pub tokens: Vec<TokenReport>,
}

pub struct TokenReport {
    pub token: Token,
    pub certificates: Vec<TokenCertificate>,
    pub error: Option<String>,
}

/// Scan the modules: `explicit` (command line) or the configured one first, then the system's.
/// When `explicit` is given, only that module is scanned.
pub fn scan(explicit: Option<PathBuf>, configured: Option<PathBuf>) -> Vec<ModuleReport> {
    let candidates = match explicit {
        Some(path) => vec![ModuleCandidate {
            path,
            origin: Origin::LigneDeCommande,
        }],
        None => discover(
            configured.map(|p| (p, Origin::Configure)),
            &SearchPaths::system(),
        ),
    };
    candidates.into_iter().map(scan_module).collect()
}

fn scan_module(candidate: ModuleCandidate) -> ModuleReport {
    let module = match Module::load(&candidate.path) {
        Ok(m) => m,
        Err(e) => {
            return ModuleReport {
                candidate,
                description: None,
                error: Some(e.to_string()),
                tokens: Vec::new(),
            };
        }
    };
    let (tokens, error) = match module.tokens() {
        Ok(tokens) => (
            tokens
                .into_iter()
                .map(|token| match module.certificates(&token) {
                    Ok(certificates) => TokenReport {
                        token,
                        certificates,
                        error: None,
                    },
                    Err(e) => TokenReport {
                        token,
                        certificates: Vec::new(),
                        error: Some(e.to_string()),
                    },
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    ModuleReport {
        description: module.description(),
        candidate,
        error,
        tokens,
    }
}

/// The certificate to use for `role` on a token: the one the user chose (`preferred` CKA_ID),
/// else a currently valid certificate with that role: a qualified one first (eIDAS), then a
/// single-role one (a dedicated signature key over a dual-use key), then the one valid longest.
pub fn pick_for_role<'a>(
    certificates: &'a [TokenCertificate],
    role: Role,
    preferred: Option<&[u8]>,
) -> Option<&'a TokenCertificate> {
    if let Some(id) = preferred {
        return certificates.iter().find(|c| c.cka_id == id);
    }
    let usable = |c: &&TokenCertificate| {
        c.info.has_role(role)
            && matches!(
                c.info.validity_now(),
                ValidityState::Valide | ValidityState::ExpireBientot { .. }
            )
    };
    certificates.iter().filter(usable).min_by_key(|c| {
        (
            !c.info.is_qualified(),
            c.info.roles.len(),
            std::cmp::Reverse(c.info.not_after),
        )
    })
}
