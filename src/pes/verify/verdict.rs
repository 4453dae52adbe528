//! The verdicts a verification hands back — on one signature, on the whole file — the errors
//! that stop it before any verdict, and the revocation check that amends a verdict afterwards
//! (it needs the network, so it is a step of its own, after the offline verification).

use crate::certs::revocation::{
    Judgement, RevocationChecker, RevocationReport, RevocationSubject, judge,
};
use crate::messages::tf;
use crate::xml::C14nError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Xml(#[from] C14nError),
    #[error("{}", tf("verification.lecture", &[("chemin", .0), ("detail", .1)]))]
    Read(String, String),
    /// A NUL byte, and where (« ligne L, colonne C (octet N) »).
    #[error("{}", tf("pes.octet_nul", &[("position", .0)]))]
    Nul(String),
    /// What the file is instead of a PES_Aller (« un document PDF »…).
    #[error("{}", tf("pes.autre_document", &[("nature", .0)]))]
    NotPesAller(String),
}

/// The verdict on one signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureVerdict {
    pub id: Option<String>,
    /// Id of the signed element.
    pub cible: Option<String>,
    /// Digests and signature value correct.
    pub integrite: bool,
    /// Integrity, certificate and policy all acceptable.
    pub valide: bool,
    /// Why not, in French (empty when valid).
    pub raison: Vec<String>,
    /// What is accepted but not as the policy asks (a policy hash without its base64 padding),
    /// in French.
    pub avertissements: Vec<String>,
    /// Claims found in the signature outside its signed properties (a `SigningTime` or a
    /// `ClaimedRole` in unsigned properties or another object): reported, never used.
    pub informations_non_signees: Vec<String>,
    pub signataire: Option<String>,
    pub date_signature: Option<String>,
    pub role: Option<String>,
    pub politique: Option<String>,
    /// The signer's certificate (DER), for callers that describe it further.
    #[serde(skip)]
    pub certificat: Option<Vec<u8>>,
    /// The certificate chains to the trust store at signing time; None without a trust store.
    #[serde(skip)]
    pub chaine: Option<bool>,
    /// Revocation of the signer's certificate, once [`check_revocation`] has looked.
    pub revocation: Option<RevocationReport>,
    /// The certificate to check for revocation, its possible issuers and the signing date.
    #[serde(skip)]
    pub revocation_subject: Option<RevocationSubject>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileVerdict {
    /// Every signature valid, every Id unique, every bordereau covered by a signature.
    pub valide: bool,
    pub signatures: Vec<SignatureVerdict>,
    /// Bordereaux that carry no signature of their own while others do (and no global signature
    /// covers the file): their Ids, or their rank when they have none.
    pub bordereaux_non_signes: Vec<String>,
    /// Ids used by several elements (the first few): no signature of such a file can say what
    /// it covers.
    pub identifiants_en_double: Vec<String>,
    /// Why the file as a whole is not valid, beyond its signatures (no signature at all, Ids
    /// used twice, unsigned bordereaux), in French.
    pub erreurs: Vec<String>,
    /// More Ids than the verifier keeps: as doubtful as Ids used twice.
    #[serde(skip)]
    pub trop_d_identifiants: bool,
    /// Every signer's certificate was checked for revocation ([`check_revocation`]).
    pub revocation_verifiee: bool,
}

impl FileVerdict {
    /// Some Id may designate several elements: what any signature covers is ambiguous.
    pub fn ids_ambiguous(&self) -> bool {
        !self.identifiants_en_double.is_empty() || self.trop_d_identifiants
    }
}

/// Check the revocation of each signer's certificate: revoked before the signing date makes the
/// signature (and the file) invalid, the date and the reason said; revoked after it, an unknown
/// status, or a status that could not be checked (offline) are said as warnings.
pub fn check_revocation(verdict: &mut FileVerdict, checker: &RevocationChecker) {
    for signature in &mut verdict.signatures {
        let Some(subject) = signature.revocation_subject.as_ref() else {
            continue;
        };
        let found = checker.check(subject);
        match judge(&found, subject.at) {
            Judgement::Fine => {}
            Judgement::Invalid(reason) => {
                signature.valide = false;
                signature.raison.push(reason);
                verdict.valide = false;
            }
            Judgement::Note(note) => signature.avertissements.push(note),
        }
        signature.revocation = Some(found);
    }
    verdict.revocation_verifiee = !verdict.signatures.is_empty()
        && verdict
            .signatures
            .iter()
            .all(|s| s.revocation.as_ref().is_some_and(|r| r.verifiee));
}
