//! The Hélios signature policies this verifier knows, and the check of a signature's
//! `SignaturePolicyId` against them: kept apart because the known hashes are data that changes
//! when a new policy is published, not code of the verification.

use super::digests::{SHA1, SHA256};
use crate::messages::{t, tf};

/// A known Hélios signature policy: its identifier and the hash of its document, base64, in
/// each algorithm a signature may name (None where no public source gives it).
struct KnownPolicy {
    id: &'static str,
    sha1: Option<&'static str>,
    sha256: Option<&'static str>,
}

/// Known Hélios policies. …1.4 (policy v1, 2011): SHA-1 as every producer writes it, SHA-256
/// computed from the same document (the PDF shipped in SICTIAM STELA's signingPolicies.zip,
/// whose SHA-1 is the published one). …1.7: SHA-256 as S²LOW hands it to LiberSign; its SHA-1
/// is published nowhere we know of.
const POLICIES: &[KnownPolicy] = &[
    KnownPolicy {
        id: "urn:oid:1.2.250.1.131.1.5.18.21.1.7",
        sha1: None,
        sha256: Some("roF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E="),
    },
    KnownPolicy {
        id: "urn:oid:1.2.250.1.131.1.5.18.21.1.4",
        sha1: Some("Jkdb+aba0Hz6+ZPKmKNhPByzQ+Q="),
        sha256: Some("pYtFgzn09kQWZywqdIGVd1fFI07tjKmEAyQHr0l/YAk="),
    },
];

/// What is wrong with a signature's policy (`SignaturePolicyId`), said exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyProblem {
    /// Not a policy we know (its identifier).
    Unknown(String),
    /// The hash is computed with an algorithm we cannot check for this policy (its URI).
    Algorithm(String),
    /// The hash is not base64.
    Encoding,
    /// The hash decodes but is not the policy document's.
    Value,
}

impl PolicyProblem {
    pub fn message(&self) -> String {
        match self {
            PolicyProblem::Unknown(id) => {
                tf("verification.politique_inconnue", &[("politique", id)])
            }
            PolicyProblem::Algorithm(uri) => tf(
                "verification.politique_algorithme",
                &[("algorithme", if uri.is_empty() { "?" } else { uri })],
            ),
            PolicyProblem::Encoding => t("verification.politique_encodage"),
            PolicyProblem::Value => t("verification.politique_empreinte"),
        }
    }
}

/// Checks a signature's policy identifier and hash (algorithm URI, base64 value) against the
/// known Hélios policies: the decoded bytes are compared with the document's hash in the
/// algorithm the signature names. `Ok(true)` when they match but the base64 lacks its `=`
/// padding (accepted, with a warning).
pub fn check_policy(id: &str, algorithm: &str, value: &str) -> Result<bool, PolicyProblem> {
    let id = id.trim();
    let known = POLICIES
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| PolicyProblem::Unknown(id.to_owned()))?;
    let expected = match algorithm.trim() {
        SHA1 => known.sha1,
        SHA256 => known.sha256,
        _ => None,
    }
    .and_then(crate::pes::decode_base64)
    .ok_or_else(|| PolicyProblem::Algorithm(algorithm.trim().to_owned()))?;
    let clean: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let (decoded, unpadded) = match crate::pes::decode_base64(&clean) {
        Some(d) => (d, false),
        None if !clean.len().is_multiple_of(4) && !clean.ends_with('=') => {
            let padded = format!("{clean}{}", "=".repeat(4 - clean.len() % 4));
            (
                crate::pes::decode_base64(&padded).ok_or(PolicyProblem::Encoding)?,
                true,
            )
        }
        None => return Err(PolicyProblem::Encoding),
    };
    if decoded != expected {
        return Err(PolicyProblem::Value);
    }
    Ok(unpadded)
}
