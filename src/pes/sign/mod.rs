//! Signing a PES_Aller in one streaming pass: each bordereau (or the whole file) is canonicalised
//! and hashed while it is read, the card signs, and the `ds:Signature` is inserted just before the
//! element's end tag. Every other byte of the output is the input's byte, copied as read.
//!
//! The output goes to a private temporary file beside the destination and is renamed into place
//! only when everything succeeded; cancellation, a card pulled out or a file that changed since
//! the user reviewed it leave nothing behind.
//!
//! Here: what is asked and what comes back (`SignRequest`, `SignReport`, `SignError`), and the
//! entry points (`sign_checked`, `sign_with_review`, `sign_file`). The pass itself: `write` (the
//! card's thread beside parsing, hashing and copying), `card` (what the card is given), `output` (bytes
//! waiting for a signature), `handover` (the parser and its hand-over to the review), `encoding`
//! (Latin-1 input).

mod card;
mod encoding;
mod handover;
mod output;
mod write;

use self::handover::{HandOver, Review};
use self::write::sign_stream;
use super::xades::{Profile, SignerDetails};
use crate::keys::{BatchProgress, CardError, Signer};
use crate::messages::{t, tf};
use crate::xml::C14nError;
use std::path::{Path, PathBuf};

/// What gets a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Each `Bordereau` (the default).
    Bordereaux,
    /// The whole `PES_Aller`.
    File,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{0}")]
    Card(#[from] CardError),
    #[error("{0}")]
    Xml(#[from] C14nError),
    #[error("{}", tf("signature.illisible", &[("detail", .0)]))]
    Parse(String),
    #[error("{}", tf("signature.ecriture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Write { path: PathBuf, detail: String },
    #[error("{}", tf("signature.lecture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Read { path: PathBuf, detail: String },
    #[error("{}", t("signature.fichier_modifie"))]
    ChangedSinceReview,
    /// The file would be rejected by any verifier once signed: refused before the card.
    #[error("{}", tf("signature.non_signable", &[("detail", .0)]))]
    NotSignable(String),
    #[error("{}", t("signature.rien_a_signer"))]
    NothingToSign,
    #[error("{}", t("signature.sans_id"))]
    MissingId,
    #[error("{}", t("signature.encodage"))]
    Encoding,
    #[error("{}", t("carte.operation_annulee"))]
    Cancelled,
    #[error("{}", t("signature.carte_arretee"))]
    SignerStopped,
    /// The review could not read the file (its own French words).
    #[error("{0}")]
    Review(String),
    /// The review found blocking problems: nothing was put in place.
    #[error("{}", t("signature.bloquant"))]
    Blocked(Vec<crate::findings::Finding>),
    /// Fewer signatures than bordereaux (one stood where signing does not look).
    #[error("{}", tf("signature.compte_different", &[("signes", &.signed.to_string()), ("bordereaux", &.bordereaux.to_string())]))]
    WrongCount { signed: usize, bordereaux: usize },
}

/// A signed file put in place after its review: what was reviewed, the findings (warnings
/// only, since blocking ones stop the signing), and the signatures made.
pub struct CheckedSigning {
    pub summary: super::PesSummary,
    pub findings: Vec<crate::findings::Finding>,
    pub report: SignReport,
}

/// Where the signing key comes from.
pub enum KeySource<'a> {
    /// A key already open (the window opens it when the PIN is typed).
    Open(&'a mut dyn Signer),
    /// A key the card's thread opens while the file is already being read: loading the module
    /// and logging in then take no time of their own. For a PIN that needs no one at the
    /// terminal (read from standard input): a prompt would wait for someone while the file is
    /// read, or after it failed. If opening fails, nothing is signed and that error is returned.
    Opening(Box<dyn FnOnce() -> Result<Box<dyn Signer>, CardError> + Send + 'a>),
}

/// Signing as the user asks for it, for the command line and the window alike: the review and
/// the signature read the same bytes ([`sign_with_review`]), the review's checks run, and the
/// signed file is put in place only when nothing blocks and, per bordereau, every bordereau the
/// review saw got its signature.
pub fn sign_checked(
    request: &SignRequest,
    signer: &mut dyn Signer,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<CheckedSigning, SignError> {
    sign_checked_with(request, KeySource::Open(signer), progress, cancelled)
}

/// [`sign_checked`] with the key open already or opened alongside (see [`KeySource`]).
pub fn sign_checked_with(
    request: &SignRequest,
    key: KeySource,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<CheckedSigning, SignError> {
    use super::checks::{Intent, check};
    let (summary, signed) = sign_with_review(request, key, progress, cancelled);
    let summary = summary.map_err(|e| SignError::Review(e.to_string()))?;
    let intent = match request.scope {
        Scope::File => Intent::SignFile,
        Scope::Bordereaux => Intent::SignBordereaux,
    };
    let findings = check(&summary, intent);
    if findings.iter().any(crate::findings::Finding::is_blocking) {
        return Err(SignError::Blocked(findings));
    }
    let pending = signed?;
    if request.scope == Scope::Bordereaux && pending.report.signed.len() != summary.bordereaux.len()
    {
        return Err(SignError::WrongCount {
            signed: pending.report.signed.len(),
            bordereaux: summary.bordereaux.len(),
        });
    }
    let report = pending.commit()?;
    Ok(CheckedSigning {
        summary,
        findings,
        report,
    })
}

/// What to sign and how.
pub struct SignRequest<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub scope: Scope,
    pub profile: Profile,
    pub details: SignerDetails,
    /// SHA-256 of the file the user reviewed; the signature is refused if the file differs.
    pub reviewed_sha256: Option<Vec<u8>>,
    /// Number of signatures expected (for progress); 0 if unknown.
    pub expected: usize,
}

#[derive(Debug, Clone)]
pub struct SignReport {
    /// Id of each signed element, in document order.
    pub signed: Vec<String>,
    pub input_sha256: Vec<u8>,
}

/// Sign `request.input` into `request.output`.
pub fn sign_file(
    request: &SignRequest,
    signer: &mut dyn Signer,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<SignReport, SignError> {
    sign_to_pending(request, signer, progress, cancelled)?.commit()
}

/// A signed file written and synced beside its destination, not yet in place: dropping it removes
/// it. Lets a caller run its own checks alongside the signing pass and only then commit.
pub struct PendingOutput {
    temp: tempfile::NamedTempFile,
    destination: PathBuf,
    pub report: SignReport,
}

impl PendingOutput {
    /// Rename the signed file into place.
    pub fn commit(self) -> Result<SignReport, SignError> {
        let destination = self.destination;
        self.temp
            .persist(&destination)
            .map_err(|e| SignError::Write {
                path: destination.clone(),
                detail: e.error.to_string(),
            })?;
        Ok(self.report)
    }
}

/// The signing pass, up to a synced temporary file (see [`PendingOutput`]).
pub fn sign_to_pending(
    request: &SignRequest,
    signer: &mut dyn Signer,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<PendingOutput, SignError> {
    let file = crate::files::open_regular(request.input).map_err(|e| SignError::Read {
        path: request.input.to_owned(),
        detail: e.to_string(),
    })?;
    let (to_sign, sign_chunks) = std::sync::mpsc::sync_channel(2);
    std::thread::scope(|threads| {
        let reader = threads.spawn(move || crate::chunks::share_chunks(file, vec![to_sign]));
        let source = crate::chunks::ReceivedChunks::new(sign_chunks);
        let signed = sign_stream(
            request,
            source,
            None,
            KeySource::Open(signer),
            progress,
            cancelled,
        );
        read_error_first(request, reader.join(), signed)
    })
}

/// The signing pass's outcome, unless the reading thread failed: then why it did (the pass only
/// saw the stream end early).
fn read_error_first<T>(
    request: &SignRequest,
    reading: std::thread::Result<std::io::Result<()>>,
    signed: Result<T, SignError>,
) -> Result<T, SignError> {
    match crate::chunks::read_outcome(reading) {
        Err(e) => Err(SignError::Read {
            path: request.input.to_owned(),
            detail: e.to_string(),
        }),
        Ok(()) => signed,
    }
}

/// Sign and review the very same bytes: the file is read once, and the two need no hash to agree
/// on what they read (`input_sha256` and the summary's `sha256` are left empty). The signing pass
/// feeds the review's summary the events it parses anyway, and hands it over, with its parser, to
/// a thread of its own where it stops parsing: at the PJ section when signing bordereaux (it only
/// copies the PJ then, while the review reads on beside it), at the end for the whole file, or
/// where signing failed (the review still reads to the end: its findings say what is wrong with
/// the file better than the point where signing stopped). The signed file is pending: the caller
/// commits it once the review found nothing blocking.
pub fn sign_with_review(
    request: &SignRequest,
    key: KeySource,
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> (
    Result<super::PesSummary, super::PesError>,
    Result<PendingOutput, SignError>,
) {
    let file = match crate::files::open_regular(request.input) {
        Ok(f) => f,
        Err(e) => {
            let review = super::PesError::Io {
                path: request.input.display().to_string(),
                detail: e.to_string(),
            };
            let error = SignError::Read {
                path: request.input.to_owned(),
                detail: e.to_string(),
            };
            return (Err(review), Err(error));
        }
    };
    // At most this many chunks (1 MiB each) wait: memory stays bounded.
    let (to_sign, sign_chunks) = std::sync::mpsc::sync_channel(2);
    let mut passes = vec![to_sign];
    // The bytes signed must be those reviewed: hashed on a pass of their own when a review's
    // hash is given (the signing pass shares its chunks with the review and hashes nothing).
    let hash_chunks = request.reviewed_sha256.is_some().then(|| {
        let (to_hash, hash_chunks) = std::sync::mpsc::sync_channel(4);
        passes.push(to_hash);
        hash_chunks
    });
    let (hand_over, handed_over) = std::sync::mpsc::channel::<HandOver>();
    std::thread::scope(|threads| {
        let reader = threads.spawn(move || crate::chunks::share_chunks(file, passes));
        let hashing = hash_chunks
            .map(|chunks| threads.spawn(move || crate::chunks::sha256_of_chunks(chunks)));
        let review = threads.spawn(move || match handed_over.recv() {
            Ok(HandOver {
                mut parser,
                summary,
            }) => summary.read_to_end(&mut parser),
            // Not reached: the signing pass hands the review over whatever happens.
            Err(_) => Err(super::PesError::Truncated),
        });
        let source = crate::chunks::ReceivedChunks::new(sign_chunks);
        let alongside = Review {
            summary: super::summary::SummaryBuilder::new(
                super::summary::DEFAULT_PIECE_DETAIL_LIMIT,
            ),
            hand_over,
        };
        let mut signed = sign_stream(request, source, Some(alongside), key, progress, cancelled);
        let summary = review.join().unwrap_or(Err(super::PesError::Truncated));
        let hashed = hashing.map(|h| h.join().ok());
        if let (Some(reviewed), Some(hashed), Ok(_)) = (&request.reviewed_sha256, hashed, &signed)
            && hashed.is_none_or(|h| h.as_slice() != reviewed.as_slice())
        {
            signed = Err(SignError::ChangedSinceReview);
        }
        // Both passes saw the stream end early if the reading failed: say why.
        (summary, read_error_first(request, reader.join(), signed))
    })
}
