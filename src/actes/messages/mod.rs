//! Everything the préfecture sends back — and, for completeness, every other ACTES message —
//! read into typed values: the business messages (1-1 … 7-3), the envelopes (`EnveloppeMISILLCL`,
//! `EnveloppeCLMISILL`, `AnomalieEnveloppe`) and the `.tar.gz` archives that carry them.
//!
//! # Reading
//!
//! XML goes through the project's strict reader ([`XmlReader`](crate::xml::XmlReader):
//! DOCTYPE refused, ISO-8859-1 / windows-1252 / UTF-8), into a small bounded tree (a message is
//! a few kilobytes; a classification a few hundred). Each message is then checked against the
//! structure of `actesv1_1.xsd` (element order and cardinality, required and allowed
//! attributes, dates, patterns): a message the schema would reject is still read, and what
//! departs from the schema is listed in [`ActesMessage::avertissements`]. The check mirrors the
//! schema shipped with STELA (revised: `DocumentPapier` required, `TypePJNatureActe` required in
//! a classification); it is not a general XSD validator.
//!
//! # Archives
//!
//! An archive is read from its stream, never extracted to disk: each member goes to memory, with
//! a cap per member and on the total ([`ReadLimits`]); members with an absolute path or a `..`
//! component, links, directories, devices, duplicated names, contradictory sizes are refused.
//! The XML members are read as messages; the others (the letter's PDF…) are kept with their size,
//! the kind found from their content, and their bytes ([`ArchiveFile::contenu`]).
//!
//! # Layout
//!
//! Each file leans only on those listed before it:
//! - `model`: the message model (kinds, details, files named) and the kind of a file;
//! - `error`: why a reading fails, and the bounds ([`ReadLimits`]);
//! - `tree`: the bounded XML tree of one message;
//! - `schema`: the structure of `actesv1_1.xsd`, as tables;
//! - `check`: a tree checked against the schema, and the schema's simple types;
//! - `read`: one message read, from the tree to an [`ActesMessage`];
//! - `archive`: an archive read, its members, the cross-checks with its envelope;
//! - here: what callers use, re-exported, and [`read_file`] / [`read_any`], which tell a message
//!   from an archive.

mod archive;
mod check;
mod error;
mod model;
mod read;
mod schema;
mod tree;

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::messages::t;

pub use archive::{ActesArchive, ArchiveFile, FileRole, read_archive};
pub(crate) use check::{is_id_acte, is_xsd_date};
pub use error::{ActesReadError, ReadLimits};
pub use model::{
    ACTES_NS, ActeData, ActesMessage, CollectiviteEnvelope, Details, DocumentRef, DocumentRole,
    FileKind, INSEE_NS, MatieresResume, MessageKind, NatureResume, Origin, PrefectureEnvelope,
    Referent, TypologieResume, detect_kind,
};
pub use read::{read_message, read_message_with_limits};

/// The former name of [`precise_size`](super::files::precise_size), kept so that callers do not
/// change: the exact format lives with the rounded one in `actes::files`.
pub use super::files::precise_size as human_size;

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// What a file turned out to be.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Reading {
    Message(Box<ActesMessage>),
    Archive(Box<ActesArchive>),
}

/// Reads a file: an ACTES message or envelope (XML), or an archive (`.tar.gz`, or `.tar`),
/// recognised by content.
pub fn read_file(path: &Path) -> Result<Reading, ActesReadError> {
    read_file_with_limits(path, &ReadLimits::default())
}

/// [`read_file`] with other bounds.
pub fn read_file_with_limits(path: &Path, limits: &ReadLimits) -> Result<Reading, ActesReadError> {
    let file = crate::files::open_regular(path).map_err(|e| ActesReadError::Open {
        chemin: path.display().to_string(),
        detail: e.to_string(),
    })?;
    read_any(file, limits)
}

/// Reads a message, an envelope or an archive from a stream, recognised by content.
pub fn read_any<R: Read>(mut input: R, limits: &ReadLimits) -> Result<Reading, ActesReadError> {
    // Enough to see a tar header's magic.
    let mut head = Vec::with_capacity(512);
    (&mut input).take(512).read_to_end(&mut head)?;
    let kind = detect_kind(&head);
    let empty = head.is_empty();
    let stream = std::io::Cursor::new(head).chain(input);
    match kind {
        FileKind::Gzip | FileKind::Tar => {
            Ok(Reading::Archive(Box::new(read_archive(stream, limits)?)))
        }
        FileKind::Xml => Ok(Reading::Message(Box::new(read_message_with_limits(
            stream, limits,
        )?))),
        other => Err(ActesReadError::NotActes(if empty {
            t("actes_messages.fichier_vide")
        } else {
            other.label().to_owned()
        })),
    }
}
