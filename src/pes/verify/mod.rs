//! Verifying every XAdES signature of a PES_Aller in one streaming pass.
//!
//! While reading, each possible target (the `PES_Aller` root and each `Bordereau` with an `Id`) is
//! canonicalised — exclusive and inclusive, its `ds:Signature` children left out — into SHA-1 and
//! SHA-256 hashers at once, because the signature that says which is needed comes at the element's
//! end. Each `ds:Signature` is small: it is kept (in canonical form) and checked when its target
//! closes: reference digests, signature value, SignedProperties (embedded certificate digest,
//! known policy and its hash, signing time), and the certificate's chain to the trust store at
//! signing time.
//!
//! Three threads share the work: the reading pass (decoding, parsing and checking every event,
//! keeping the signatures), the hashing of the targets ([`super::hashing`]) and the checking of
//! each signature once its target's digests are in; the file itself is read by a fourth.
//!
//! The code is split by what it does, each part using only those listed before it:
//! - `verdict`: what a verification hands back (and the revocation check that amends it);
//! - `digests`: the digests of canonical forms, shared by the pass and the check;
//! - `policy`: the known Hélios policies;
//! - `prescan`: the byte scan that says what the pass will need;
//! - `pass`: the streaming pass that reads the document and captures signatures;
//! - `signature`: the check of one captured signature;
//! - here: the threads put together, and the verdict on the whole file.

mod digests;
mod pass;
mod policy;
mod prescan;
mod signature;
mod verdict;

pub(super) use pass::{IdRegister, MAX_IDS};
pub use policy::{PolicyProblem, check_policy};
pub use prescan::{Needs, prescan};
pub use signature::Checks;
pub use verdict::{FileVerdict, SignatureVerdict, VerifyError, check_revocation};

use crate::certs::trust::TrustStore;
use crate::messages::{t, tf};
use crate::xml::C14nError;
use pass::{DocumentFacts, ToCheck, read_signatures};
use signature::check_signature;
use std::io::BufReader;
use std::path::Path;

/// Verify every signature of the file.
pub fn verify_file(path: &Path, trust: Option<&TrustStore>) -> Result<FileVerdict, VerifyError> {
    let read_error =
        |e: std::io::Error| VerifyError::Read(path.display().to_string(), e.to_string());
    // A PDF, an ACTES message, a PES_Retour… is said to be one, before its bytes are judged
    // as a PES's.
    if let Some(nature) = super::not_a_pes_aller(&super::file_head(path).map_err(read_error)?) {
        return Err(VerifyError::NotPesAller(nature));
    }
    let needs = prescan(path).map_err(read_error)?;
    // XML forbids NUL: such a file is refused whatever its signatures (the prescan stopped
    // there, and a verdict must not rest on counts it did not finish).
    if let Some(offset) = needs.first_nul() {
        return Err(VerifyError::Nul(crate::xml::Position::said_in_file(
            path, offset,
        )));
    }
    let file = crate::files::open_regular(path).map_err(read_error)?;
    // The file is read on a thread of its own: its system calls are off the reading pass,
    // which is the longest of the threads.
    std::thread::scope(|threads| {
        let (to_pass, chunks) = std::sync::mpsc::sync_channel(READ_AHEAD_CHUNKS);
        let reading = threads.spawn(move || crate::chunks::share_chunks(file, vec![to_pass]));
        let verdict = verify_reader(
            crate::chunks::ReceivedChunks::new(chunks),
            trust,
            Some(&needs),
        );
        let read = crate::chunks::read_outcome(reading.join());
        // A read error comes first: it is why the document looked cut short.
        read.map_err(read_error)?;
        verdict
    })
}

/// Chunks read ahead of the verifying pass (1 MiB each).
const READ_AHEAD_CHUNKS: usize = 2;

/// Verify a document read from `input`; `needs` (from [`prescan`]) limits the work to what the
/// signatures reference, `None` canonicalises every candidate in both modes.
pub fn verify_reader<R: std::io::Read>(
    input: R,
    trust: Option<&TrustStore>,
    needs: Option<&Needs>,
) -> Result<FileVerdict, VerifyError> {
    verify_reader_with(input, trust, needs, Checks::HELIOS)
}

/// Verify a detached XAdES signature file (a `ds:Signature` whose references name files beside
/// it, e.g. a bid's `offre.pdf.xml`): integrity of every file and of the signed properties,
/// signature value, signing certificate, chain; a signature policy is optional.
pub fn verify_detached(
    path: &Path,
    trust: Option<&TrustStore>,
) -> Result<FileVerdict, VerifyError> {
    let read_error =
        |e: std::io::Error| VerifyError::Read(path.display().to_string(), e.to_string());
    let file = crate::files::open_regular(path).map_err(read_error)?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    verify_reader_with(
        BufReader::new(file),
        trust,
        None,
        Checks {
            helios_policy: false,
            external_base: Some(base),
        },
    )
}
fn verify_reader_with<R: std::io::Read>(
    input: R,
    trust: Option<&TrustStore>,
    needs: Option<&Needs>,
    checks: Checks,
) -> Result<FileVerdict, VerifyError> {
    // Each signature read is checked (value, certificate, chain, policy) on another thread
    // while this one reads on: with one signature per bordereau, checking is a tenth of the work.
    let (to_check, signatures) = std::sync::mpsc::channel::<ToCheck>();
    std::thread::scope(|threads| {
        let checker = threads.spawn(move || {
            let mut verdicts = Vec::new();
            for (group, parent, later) in signatures {
                // None when hashing failed: the reading reports why.
                let digests = later.and_then(|l| l.recv().ok());
                verdicts.extend(
                    group
                        .iter()
                        .map(|p| check_signature(p, &parent, digests.as_ref(), trust, checks)),
                );
            }
            verdicts
        });
        let read = read_signatures(input, needs, &to_check);
        // Ends the checker's queue whatever happened.
        drop(to_check);
        let verdicts = checker
            .join()
            .map_err(|_| VerifyError::from(C14nError::Usage(String::new())))?;
        let facts = read?;
        Ok(file_verdict(verdicts, facts, checks))
    })
}

/// The file's verdict: every signature valid, and — for a PES — every Id unique and every
/// bordereau covered by its own signature or by a global one.
fn file_verdict(
    signatures: Vec<SignatureVerdict>,
    facts: DocumentFacts,
    checks: Checks,
) -> FileVerdict {
    let mut erreurs = Vec::new();
    for id in &facts.ids.repeated {
        erreurs.push(tf("pes.id_duplique", &[("id", id)]));
    }
    if facts.ids.too_many {
        erreurs.push(tf(
            "verification.trop_d_identifiants",
            &[("nombre", &MAX_IDS.to_string())],
        ));
    }
    let bordereaux_non_signes = if checks.helios_policy && !facts.root_signed {
        facts.unsigned_bordereaux
    } else {
        Vec::new()
    };
    if checks.helios_policy && signatures.is_empty() {
        // Not valid, and said why (the text output and `--json` alike).
        erreurs.push(t("verification.aucune"));
    }
    if !signatures.is_empty() && !bordereaux_non_signes.is_empty() {
        erreurs.push(tf(
            "verification.bordereaux_non_signes",
            &[("liste", &bordereaux_non_signes.join(", "))],
        ));
    }
    let valide = !signatures.is_empty()
        && signatures.iter().all(|v| v.valide)
        && erreurs.is_empty()
        && bordereaux_non_signes.is_empty();
    FileVerdict {
        valide,
        signatures,
        bordereaux_non_signes,
        identifiants_en_double: facts.ids.repeated,
        erreurs,
        trop_d_identifiants: facts.ids.too_many,
        revocation_verifiee: false,
    }
}
