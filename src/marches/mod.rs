//! Marchés publics, buyer side: opening the encrypted bids (plis) with the card's decryption key.

pub mod armor;
pub mod dce;
pub mod der;
pub mod envelope;
pub mod open;
pub mod report;
pub mod verify;

pub use open::{BidError, OpenedBid, open_bid};

use crate::card::Decrypter;
use std::path::{Path, PathBuf};

/// Read a whole encrypted bid without decrypting it: its form, its head (recipients, algorithm)
/// and the size of its encrypted content. For describing a bid without the card, and for
/// fuzzing the readers.
pub fn scan<R: std::io::BufRead>(
    mut input: R,
) -> Result<(armor::Armor, envelope::EnvelopeHead, u64), envelope::EnvelopeError> {
    use envelope::{Counted, EnvelopeError, read_head, read_mac};
    let head = input.fill_buf()?;
    let form = armor::detect(head).ok_or(EnvelopeError::UnknownFormat)?;
    let source: Box<dyn std::io::Read + '_> = match form {
        armor::Armor::Der => Box::new(&mut input),
        text => Box::new(std::io::BufReader::new(armor::Base64Lines::new(
            &mut input, text,
        ))),
    };
    let mut reader = Counted::new(source);
    let (head, mut content) = read_head(&mut reader)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = content.read(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
    }
    if head.authenticated {
        read_mac(&mut reader, &head)?;
    }
    Ok((form, head, size))
}

/// The outcome for one file of a consultation's folder.
pub struct BidOutcome {
    pub source: PathBuf,
    pub result: Result<OpenedBid, BidError>,
}

/// The files to open: `input` itself, or the regular, non-hidden files of the folder `input`,
/// in name order.
pub fn bid_files(input: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !input.is_dir() {
        return Ok(vec![input.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(input)?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// Open every bid of `files` into `out_dir` with one key (one PIN for the session). A bid that
/// cannot be opened is reported and the others are still opened; cancellation stops after the
/// current one.
pub fn open_all(
    files: &[PathBuf],
    out_dir: &Path,
    key: &mut dyn Decrypter,
    progress: &mut dyn FnMut(usize, &Path),
    cancelled: &dyn Fn() -> bool,
) -> Vec<BidOutcome> {
    let mut outcomes = Vec::new();
    for (index, file) in files.iter().enumerate() {
        if cancelled() {
            break;
        }
        progress(index, file);
        let result = open_bid(file, out_dir, key, &mut |_, _| {}, cancelled);
        // A card pulled out or a locked PIN ends the session: every other bid would fail too.
        let card_gone = matches!(
            &result,
            Err(BidError::Card(
                crate::card::CardError::TokenRemoved | crate::card::CardError::PinLocked
            ))
        );
        outcomes.push(BidOutcome {
            source: file.clone(),
            result,
        });
        if card_gone {
            break;
        }
    }
    outcomes
}
