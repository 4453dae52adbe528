//! Finding the document of a detached signature or token file: by its name (`offre.pdf.p7s`),
//! by the names i-Parapheur gives (`offre.pdf-1-Camille.p7s`), or among the files beside it by
//! the digest the signature gives its document — bounded, since the folder is the bidder's.
//! At the bottom of `verify`: it reads names and hashes files, and knows nothing of CMS.

use openssl::hash::{Hasher, MessageDigest};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The document a detached signature or token file is about: its name without the last
/// extension (`offre.pdf.p7s` → `offre.pdf`).
pub fn document_for(signature: &Path) -> PathBuf {
    signature.with_extension("")
}

pub(in crate::marches) fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The digest a detached signature gives its document: to recognise the document among the
/// files beside the signature.
pub(in crate::marches) struct DocumentDigest {
    pub md: MessageDigest,
    pub value: Vec<u8>,
}

/// Bounds of the search among the files of a folder: entries listed, files hashed, size of each.
const SEARCH_MAX_ENTRIES: usize = 10_000;
pub(in crate::marches) const SEARCH_MAX_FILES: usize = 200;
pub(in crate::marches) const SEARCH_MAX_SIZE: u64 = 1 << 30;
/// Bytes hashed at most while looking for one signature's document.
const SEARCH_MAX_TOTAL: u64 = 4 << 30;
/// A signature file read to learn which document it signs (while looking for a document's
/// signatures) is at most this big.
pub(in crate::marches) const DISCOVERY_FILE_LIMIT: u64 = 4 * 1024 * 1024;

/// The streamed digest of a regular file.
pub(in crate::marches) fn digest_file(path: &Path, md: MessageDigest) -> Result<Vec<u8>, String> {
    let file = crate::files::open_regular(path).map_err(|e| e.to_string())?;
    let mut file = BufReader::with_capacity(256 * 1024, file);
    let mut hasher = Hasher::new(md).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]).map_err(|e| e.to_string())?;
    }
    Ok(hasher.finish().map_err(|e| e.to_string())?.to_vec())
}

/// The regular, non-hidden files of the folder of `path` (symbolic links left out), in name
/// order, at most [`SEARCH_MAX_ENTRIES`] of them.
pub(in crate::marches) fn files_beside(path: &Path) -> Vec<PathBuf> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .take(SEARCH_MAX_ENTRIES)
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

pub(in crate::marches) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Is this the name of a signature or token file (by its extension only)?
pub(in crate::marches) fn has_signature_extension(path: &Path) -> bool {
    matches!(
        extension(path).as_str(),
        "p7s" | "p7m" | "sig" | "tsr" | "tst" | "p7"
    )
}

/// The document named after the signature the way i-Parapheur names its detached signatures:
/// `offre.pdf-1-Camille.p7s` signs `offre.pdf` (the longest such name beside it).
pub(in crate::marches) fn named_document(signature: &Path, beside: &[PathBuf]) -> Option<PathBuf> {
    let name = file_name(signature);
    beside
        .iter()
        .filter(|f| *f != signature && !has_signature_extension(f))
        .filter(|f| {
            let other = file_name(f);
            !other.is_empty() && name.starts_with(&format!("{other}-"))
        })
        .max_by_key(|f| file_name(f).len())
        .cloned()
}

/// The document of a detached signature: the file of the same name without its extension
/// (`offre.pdf.p7s`), else the one i-Parapheur names it after (`offre.pdf-1-Camille.p7s`) when
/// its digest matches, else the first file beside it whose digest matches. A named document
/// whose digest does not match is still returned (last), so that the change is reported.
/// Bounded: regular files of the folder only, of limited size, stopping at the first match.
pub(in crate::marches) fn locate_document(
    signature: &Path,
    digests: &[DocumentDigest],
) -> Option<PathBuf> {
    let plain = document_for(signature);
    if plain != signature && plain.is_file() {
        return Some(plain);
    }
    let beside = files_beside(signature);
    let named = named_document(signature, &beside);
    if digests.is_empty() {
        return named;
    }
    let mut budget = SEARCH_MAX_TOTAL;
    let mut matches = |candidate: &Path| {
        let size = std::fs::symlink_metadata(candidate)
            .ok()
            .filter(|m| m.is_file() && m.len() <= SEARCH_MAX_SIZE)
            .map(|m| m.len());
        let Some(size) = size else { return false };
        let cost = size.saturating_mul(digests.len() as u64);
        if cost > budget {
            return false;
        }
        budget -= cost;
        digests
            .iter()
            .any(|d| digest_file(candidate, d.md).is_ok_and(|v| v == d.value))
    };
    let others = beside
        .iter()
        .filter(|f| *f != signature && Some(*f) != named.as_ref())
        .filter(|f| !has_signature_extension(f))
        .filter(|f| !(extension(f) == "xml" && is_xml_signature(f)));
    named
        .iter()
        .chain(others)
        .take(SEARCH_MAX_FILES)
        .find(|c| matches(c))
        .cloned()
        .or(named)
}

/// Does this XML file hold an XML signature (a `Signature` element of the xmldsig namespace)?
pub(in crate::marches) fn is_xml_signature(path: &Path) -> bool {
    let mut head = Vec::new();
    let read =
        crate::files::open_regular(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
    read.is_ok()
        && memchr::memmem::find(&head, b"http://www.w3.org/2000/09/xmldsig#").is_some()
        && memchr::memmem::find(&head, b"Signature").is_some()
}
