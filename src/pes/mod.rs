//! Hélios PES V2: reading a PES_Aller (summary in one streaming pass), checking it before signing.

pub mod acquit;
pub mod amount;
pub mod checks;
mod hashing;
pub mod pj;
pub mod retour;
pub mod schema;
pub mod sign;
pub mod summary;
pub mod verify;
pub mod xades;

use crate::messages::{t, tf};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
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

/// Open and summarise a PES_Aller file.
pub fn inspect_file(path: &Path) -> Result<PesSummary, PesError> {
    let io_error = |e: std::io::Error| PesError::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let mut file = File::open(path).map_err(io_error)?;
    let mut head = [0u8; 50];
    let n = read_up_to(&mut file, &mut head).map_err(io_error)?;
    let file = File::open(path).map_err(io_error)?;
    let hashing = crate::hashing::Sha256Reader::new(file);
    let mut reader = BufReader::with_capacity(256 * 1024, hashing);
    let mut summary = read_summary(&mut reader)?;
    // Hash what the parser left unread (trailing bytes after the root) so that the hash covers
    // the whole file the user reviewed.
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(io_error)?;
    summary.sha256 = reader.into_inner().finish().to_vec();
    summary.iso_8859_1_declared_early = summary::declares_latin1_early(&head[..n]);
    Ok(summary)
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
    let mut summary = read_summary(&mut input)?;
    summary.iso_8859_1_declared_early = summary::declares_latin1_early(&head);
    Ok(summary)
}

fn read_up_to(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
