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

/// How much of a file's start is looked at to tell what it is.
const HEAD_LIMIT: u64 = 64 * 1024;

/// The first bytes of `path` (at most 64 KiB), to tell what the file is before reading it.
pub(crate) fn file_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::new();
    crate::files::open_regular(path)?
        .take(HEAD_LIMIT)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// What a file is when its start shows that it is not a PES_Aller (« un document PDF », « un
/// PES_Retour »…), in French; None when it may be one, or when its start cannot tell (an empty
/// file, a DOCTYPE, a prolog longer than the head: the reading says why).
pub fn not_a_pes_aller(head: &[u8]) -> Option<String> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.starts_with(b"%PDF") {
        return Some(t("pes.nature_pdf"));
    }
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(b"PK\x03\x04") {
        return Some(t("pes.nature_archive"));
    }
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        // UTF-16: the reader names the encoding it refuses.
        return None;
    }
    let mut rest = head;
    loop {
        let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        rest = &rest[start..];
        let skip_to = |end: &[u8]| {
            rest.windows(end.len())
                .position(|w| w == end)
                .map(|at| at + end.len())
        };
        if rest.starts_with(b"<?") {
            rest = &rest[skip_to(b"?>")?..];
        } else if rest.starts_with(b"<!--") {
            rest = &rest[skip_to(b"-->")?..];
        } else if rest.starts_with(b"<!") {
            return None;
        } else if let Some(tag) = rest.strip_prefix(b"<") {
            let end = tag
                .iter()
                .position(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))?;
            let name = String::from_utf8_lossy(&tag[..end]);
            let local = name.rsplit(':').next().unwrap_or_default();
            let tag_text = tag
                .iter()
                .position(|b| *b == b'>')
                .map(|at| String::from_utf8_lossy(&tag[..at]))
                .unwrap_or_default();
            return match local {
                "" => None,
                "PES_Aller" => None,
                "PES_Retour" => Some(t("pes.nature_retour")),
                "PES_ACQUIT" | "PES_Acquit" => Some(t("pes.nature_acquit")),
                _ if tag_text.contains("interieur.gouv.fr/ACTES") => {
                    Some(tf("pes.nature_actes", &[("racine", local)]))
                }
                _ => Some(tf("pes.nature_xml", &[("racine", local)])),
            };
        } else {
            return Some(t("pes.nature_pas_xml"));
        }
    }
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
    /// What the file is instead (« un document PDF »…).
    #[error("{}", tf("pes.autre_document", &[("nature", .0)]))]
    NotPesAller(String),
    #[error("{}", t("pes.tronque"))]
    Truncated,
    /// `position`: the line and column of `offset`, when the file could be read again to find
    /// them (see [`PesError::located`]).
    #[error("{}", match .position {
        Some(p) => tf("pes.mal_forme_ligne", &[("ligne", &p.line.to_string()), ("colonne", &p.column.to_string()), ("position", &.offset.to_string()), ("detail", .detail)]),
        None => tf("pes.mal_forme", &[("position", &.offset.to_string()), ("detail", .detail)]),
    })]
    Malformed {
        offset: u64,
        detail: String,
        position: Option<crate::xml::Position>,
    },
}

impl PesError {
    /// A malformed-XML error with the line and column of its offset in `path` (counted in the
    /// encoding it declares): a person opens the file in an editor at a line, not at a byte. Other errors, or a file that cannot be read again, are returned as they are.
    fn located(self, path: &Path) -> PesError {
        match self {
            PesError::Malformed {
                offset,
                detail,
                position: None,
            } => PesError::Malformed {
                offset,
                detail,
                position: crate::xml::Position::in_file(path, offset),
            },
            other => other,
        }
    }
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
    let head = file_head(path).map_err(io_error)?;
    if let Some(nature) = not_a_pes_aller(&head) {
        return Err(PesError::NotPesAller(nature));
    }
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
        let mut summary = summary.map_err(|e| e.located(path))?;
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
