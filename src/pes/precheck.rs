//! What is checked before a card is asked to sign a PES: the very file the user reviewed, and
//! nothing that the verifier would reject once signed (a NUL byte, content after the root, an
//! `Id` used twice, another root than `PES_Aller`). The PIN is typed and the card logged in only
//! after this: a file refused afterwards would have cost a login and signatures for nothing.
//!
//! The common case costs one fast byte scan (the verifier's prescan, in two halves on two
//! threads) and the first start tag; a file that the scan cannot clear (a repeated `Id`
//! candidate, a tail other than the root's end tag) is read whole by the checking XML reader.

use super::sign::SignError;
use super::verify::{IdRegister, prescan};
use crate::messages::{t, tf};
use crate::xml::XmlReader;
use quick_xml::events::Event;
use std::path::Path;

/// Refuses (with the reason) a file that must not reach the card: not the reviewed one when
/// `reviewed_sha256` is given, or one that the verifier would reject whatever its signatures.
pub fn check_before_signing(path: &Path, reviewed_sha256: Option<&[u8]>) -> Result<(), SignError> {
    let read_error = |e: std::io::Error| SignError::Read {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    if let Some(reviewed) = reviewed_sha256 {
        let (now, _) = crate::hashing::file_sha256_and_size(path).map_err(read_error)?;
        if now.as_slice() != reviewed {
            return Err(SignError::ChangedSinceReview);
        }
    }
    let needs = prescan(path).map_err(read_error)?;
    if let Some(offset) = needs.first_nul() {
        return Err(SignError::NotSignable(tf(
            "pes.octet_nul",
            &[(
                "position",
                &crate::xml::Position::said_in_file(path, offset),
            )],
        )));
    }
    let file = crate::files::open_regular(path).map_err(read_error)?;
    let malformed = |e: crate::xml::C14nError| SignError::NotSignable(e.to_string());
    let mut reader = XmlReader::new(std::io::BufReader::new(file)).map_err(malformed)?;
    let root = loop {
        let (event, info) = reader.read_event_with_info().map_err(malformed)?;
        match event {
            Event::Start(_) | Event::Empty(_) => {
                let (ns, local) = info.element_name().unwrap_or((None, ""));
                if local != "PES_Aller" || ns != Some(super::PES_ALLER_NS) {
                    return Err(SignError::NotSignable(tf(
                        "pes.pas_un_pes_aller",
                        &[("racine", local)],
                    )));
                }
                break info.start_tag().map(|t| t.qname().to_owned());
            }
            Event::Eof => return Err(SignError::NotSignable(t("pes.tronque"))),
            _ => {}
        }
    };
    if needs.ids_unique_for_sure() && needs.ends_with(root.as_deref()) {
        return Ok(());
    }
    // The scan could not clear the file: the XML reader reads it all (it refuses content after
    // the root), and every Id is counted exactly.
    let mut ids = IdRegister::default();
    if let Some(id) = reader.attribute("Id") {
        ids.note(id);
    }
    loop {
        let (event, info) = reader.read_event_with_info().map_err(malformed)?;
        match event {
            Event::Eof => break,
            Event::Start(_) | Event::Empty(_) => {
                if let Some(id) = info.attribute("Id") {
                    ids.note(id);
                }
            }
            _ => {}
        }
    }
    if let Some(id) = ids.first_repeated() {
        return Err(SignError::NotSignable(tf("pes.id_duplique", &[("id", id)])));
    }
    if ids.too_many() {
        return Err(SignError::NotSignable(tf(
            "verification.trop_d_identifiants",
            &[("nombre", &super::verify::MAX_IDS.to_string())],
        )));
    }
    Ok(())
}
