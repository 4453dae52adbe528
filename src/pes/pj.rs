//! A PES's pièces justificatives taken out of the file: `PES_PJ/PJ/Contenu/Fichier` holds the
//! base64 of the gzipped original. One PJ is read from its own start tag (the summary's offset),
//! decoded and decompressed with bounds, so that opening a facture never reads the whole PES and a
//! hostile file cannot inflate without limit.

use crate::messages::tf;
use crate::pes::summary::PieceJointe;
use quick_xml::events::Event;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Largest PJ taken out, decoded or decompressed (a PES is itself limited to a few hundred MB).
pub const PJ_LIMIT: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PjError {
    #[error("{}", tf("pj.illisible", &[("chemin", .0), ("detail", .1)]))]
    Io(String, String),
    #[error("{}", tf("pj.sans_contenu", &[("nom", .0)]))]
    NoContent(String),
    #[error("{}", tf("pj.trop_grande", &[("nom", .0), ("limite", &crate::actes::files::human_size(*.1))]))]
    TooLarge(String, u64),
    #[error("{}", tf("pj.base64", &[("nom", .0)]))]
    Base64(String),
    #[error("{}", tf("pj.gzip", &[("nom", .0), ("detail", .1)]))]
    Gzip(String, String),
}

/// The name a PJ is shown and written under: its `NomPJ`, else its `IdUnique`.
pub fn display_name(pj: &PieceJointe) -> String {
    pj.nom
        .clone()
        .or_else(|| pj.id_unique.clone())
        .unwrap_or_else(|| "piece-jointe".to_owned())
}

/// The original document of `pj` in the PES at `file`: its base64 decoded and, when gzipped as
/// the format says, decompressed. Nothing larger than `limit` bytes is held.
pub fn extract(file: &Path, pj: &PieceJointe, limit: u64) -> Result<Vec<u8>, PjError> {
    let name = display_name(pj);
    if pj.taille > limit {
        return Err(PjError::TooLarge(name, limit));
    }
    let io = |e: std::io::Error| PjError::Io(file.display().to_string(), e.to_string());
    let mut input = crate::files::open_regular(file).map_err(io)?;
    input.seek(SeekFrom::Start(pj.offset)).map_err(io)?;
    let encoded = fichier_text(BufReader::new(input), &name, limit)?;
    let decoded = std::str::from_utf8(&encoded)
        .ok()
        .and_then(super::decode_base64)
        .ok_or_else(|| PjError::Base64(name.clone()))?;
    if decoded.starts_with(&[0x1f, 0x8b]) {
        gunzip(&decoded, &name, limit)
    } else {
        // Some producers leave the document uncompressed: it is given as it is.
        Ok(decoded)
    }
}

/// The base64 text of the `Fichier` element of the PJ whose start tag the reader is at.
fn fichier_text(input: impl std::io::BufRead, name: &str, limit: u64) -> Result<Vec<u8>, PjError> {
    let mut reader = quick_xml::Reader::from_reader(crate::xml::limit::TokenLimit::new(input));
    let mut buf = Vec::new();
    let mut in_fichier = false;
    let mut depth = 0usize;
    let mut text = Vec::new();
    // base64 is 4/3 of the bytes, plus line breaks.
    let text_limit = limit.saturating_mul(3) / 2 + 1024;
    let malformed = |e: &dyn std::fmt::Display| PjError::Io(name.to_owned(), e.to_string());
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(&e))?
        {
            Event::Empty(_) if depth == 0 => return Err(PjError::NoContent(name.to_owned())),
            Event::Start(start) => {
                depth += 1;
                if start.local_name().as_ref() == b"Fichier" {
                    in_fichier = true;
                }
            }
            Event::Text(t) if in_fichier => {
                if (text.len() + t.len()) as u64 > text_limit {
                    return Err(PjError::TooLarge(name.to_owned(), limit));
                }
                text.extend_from_slice(&t);
            }
            Event::CData(t) if in_fichier => text.extend_from_slice(&t),
            Event::GeneralRef(_) if in_fichier => return Err(PjError::Base64(name.to_owned())),
            Event::End(end) => {
                if end.local_name().as_ref() == b"Fichier" && in_fichier {
                    return Ok(text);
                }
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    // The PJ closed without a Fichier.
                    return Err(PjError::NoContent(name.to_owned()));
                }
            }
            Event::Eof => return Err(PjError::NoContent(name.to_owned())),
            _ => {}
        }
        buf.clear();
    }
}

/// Decompress a gzip stream (several members allowed, as gzip writes them), at most `limit` bytes.
fn gunzip(data: &[u8], name: &str, limit: u64) -> Result<Vec<u8>, PjError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(data).take(limit + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| PjError::Gzip(name.to_owned(), e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(PjError::TooLarge(name.to_owned(), limit));
    }
    Ok(out)
}

/// Take `pj` out of `file` into the folder `dir` (created private), under its name made safe
/// (a number is added if the name is taken); the file written is private. Returns its path.
pub fn save(file: &Path, pj: &PieceJointe, dir: &Path) -> Result<std::path::PathBuf, PjError> {
    let content = extract(file, pj, PJ_LIMIT)?;
    let io = |e: std::io::Error| PjError::Io(dir.display().to_string(), e.to_string());
    crate::logging::create_private_dir(dir).map_err(io)?;
    let safe = crate::files::sanitise_name(&display_name(pj));
    let mut path = dir.join(&safe);
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{n}-{safe}"));
        n += 1;
    }
    crate::logging::write_private(&path, &content).map_err(io)?;
    Ok(path)
}
