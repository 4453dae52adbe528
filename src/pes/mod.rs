//! Hélios PES V2: reading a PES_Aller (summary in one streaming pass), checking it before signing.

pub mod acquit;
pub mod amount;
pub mod checks;
pub mod control;
mod hashing;
pub mod pj;
pub mod precheck;
pub mod retour;
pub mod sign;
pub mod summary;
pub mod verify;
pub mod xades;

use crate::messages::{t, tf};
use std::io::BufRead;
use std::path::Path;

pub use summary::{PesSummary, read_summary};

/// Base64 as XML carries it (signature values, certificates, PJ contents): white space between
/// the characters is dropped, then the text is decoded; `None` when it is not base64.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    openssl::base64::decode_block(&clean).ok()
}

pub const PES_ALLER_NS: &str = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller";

#[derive(Debug, thiserror::Error)]
pub enum PesError {
    #[error("{}", tf("pes.illisible", &[("chemin", .path), ("detail", .detail)]))]
    Io { path: String, detail: String },
    #[error("{}", t("pes.doctype"))]
    Doctype,
    #[error("{}", tf("pes.encodage", &[("encodage", .0)]))]
    Encoding(String),
    #[error("{}", if .0.is_empty() { t("pes.vide") } else { tf("pes.mauvaise_racine", &[("racine", .0)]) })]
    WrongRoot(String),
    #[error("{}", t("pes.tronque"))]
    Truncated,
    #[error("{}", tf("pes.mal_forme", &[("position", &.offset.to_string()), ("detail", .detail)]))]
    Malformed { offset: u64, detail: String },
}

/// Open and summarise a PES_Aller file for a review that a signature will follow: `sha256` is
/// the file's (whole file, trailing bytes included), to bind the review to the signature.
pub fn inspect_file(path: &Path) -> Result<PesSummary, PesError> {
    summarise(path, true)
}

/// Open and summarise a PES_Aller file for a report (`pes inspecter`, `pes controler`):
/// `sha256` is left empty.
pub fn summarise_file(path: &Path) -> Result<PesSummary, PesError> {
    summarise(path, false)
}

/// The file is read once, on a thread of its own; the summary and, if wanted, the SHA-256 are
/// computed side by side on two more (the hash took a third of the time when it was computed on
/// the summary's thread).
fn summarise(path: &Path, with_sha256: bool) -> Result<PesSummary, PesError> {
    let io_error = |e: std::io::Error| PesError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let file = crate::files::open_regular(path).map_err(io_error)?;
    let (to_summary, summary_chunks) = std::sync::mpsc::sync_channel(4);
    let mut passes = vec![to_summary];
    let hash_chunks = with_sha256.then(|| {
        let (to_hash, hash_chunks) = std::sync::mpsc::sync_channel::<std::sync::Arc<Vec<u8>>>(4);
        passes.push(to_hash);
        hash_chunks
    });
    std::thread::scope(|threads| {
        let reading = threads.spawn(move || crate::chunks::share_chunks(file, passes));
        let hashing = hash_chunks
            .map(|chunks| threads.spawn(move || crate::chunks::sha256_of_chunks(chunks)));
        let summary = inspect_chunks(summary_chunks);
        let read = crate::chunks::read_outcome(reading.join());
        let sha256 = hashing.map(|h| crate::chunks::read_outcome(h.join().map(Ok)));
        // A read error comes first: it is why the document looked cut short.
        read.map_err(io_error)?;
        let mut summary = summary?;
        if let Some(sha256) = sha256 {
            summary.sha256 = sha256.map_err(io_error)?.to_vec();
        }
        Ok(summary)
    })
}

/// Summarise a PES_Aller from the chunks another pass reads (see [`crate::chunks`]); `sha256`
/// is left empty, since both passes read the same buffers.
pub fn inspect_chunks(
    receiver: std::sync::mpsc::Receiver<std::sync::Arc<Vec<u8>>>,
) -> Result<PesSummary, PesError> {
    let mut input = crate::chunks::ReceivedChunks::new(receiver);
    let head = input
        .fill_buf()
        .map(|b| b[..b.len().min(50)].to_vec())
        .unwrap_or_default();
    let mut summary = summary::SummaryBuilder::new(summary::DEFAULT_PIECE_DETAIL_LIMIT);
    summary.note_head(&head);
    let mut reader = quick_xml::Reader::from_reader(crate::xml::limit::TokenLimit::new(input));
    reader.config_mut().expand_empty_elements = false;
    summary.read_to_end(&mut reader)
}
