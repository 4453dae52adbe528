//! Errors of the XML reader and of the canonicaliser. Every message is a French sentence meant for
//! the user (the PES signer shows them as they are).

use crate::messages::{t, tf};
use std::fmt;

/// A place in the document: line and column (both counted from 1; the column counts bytes of the
/// line once decoded to UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tf(
            "xml.position",
            &[
                ("ligne", &self.line.to_string()),
                ("colonne", &self.column.to_string()),
            ],
        ))
    }
}

impl Position {
    /// The line and column of byte `offset` of a document read from `input` (only up to that
    /// byte, in blocks: bounded memory whatever the length of the line). The column counts
    /// characters, as an editor shows them: every byte in a single-byte encoding (`single_byte`:
    /// ISO-8859-1 and its relatives), every byte that does not continue a UTF-8 sequence otherwise.
    pub fn of_offset(
        input: impl std::io::Read,
        offset: u64,
        single_byte: bool,
    ) -> std::io::Result<Position> {
        use std::io::Read;
        let mut input = input.take(offset);
        let mut block = vec![0u8; 64 * 1024];
        let mut position = Position { line: 1, column: 1 };
        loop {
            let n = input.read(&mut block)?;
            if n == 0 {
                return Ok(position);
            }
            for &byte in &block[..n] {
                if byte == b'\n' {
                    position.line += 1;
                    position.column = 1;
                } else if single_byte || byte & 0xC0 != 0x80 {
                    position.column += 1;
                }
            }
        }
    }
}

impl Position {
    /// The line and column of byte `offset` of the file at `path`, the column counted in the
    /// encoding its XML declaration names (read from its first kilobyte). `None` when the file
    /// cannot be read again: the caller then says the byte offset alone.
    pub fn in_file(path: &std::path::Path, offset: u64) -> Option<Position> {
        use std::io::Read;
        let mut head = Vec::with_capacity(1024);
        let file = crate::files::open_regular(path).ok()?;
        file.take(1024).read_to_end(&mut head).ok()?;
        let single_byte = super::SourceEncoding::declared_in(&head)
            .is_some_and(super::SourceEncoding::single_byte);
        let file = crate::files::open_regular(path).ok()?;
        Position::of_offset(file, offset, single_byte).ok()
    }

    /// Where byte `offset` of the file at `path` is, said for a person: « ligne L, colonne C »
    /// (with the byte offset), or the byte offset alone when the line cannot be counted.
    pub fn said_in_file(path: &std::path::Path, offset: u64) -> String {
        match Position::in_file(path, offset) {
            Some(at) => tf(
                "xml.position_et_octet",
                &[
                    ("ligne", &at.line.to_string()),
                    ("colonne", &at.column.to_string()),
                    ("octet", &offset.to_string()),
                ],
            ),
            None => tf("xml.octet", &[("octet", &offset.to_string())]),
        }
    }
}

/// Why a document could not be read or canonicalised.
#[derive(Debug, thiserror::Error)]
pub enum C14nError {
    /// A `<!DOCTYPE …>` declaration: refused, so that no entity of any kind is ever expanded.
    #[error("{}{}", t("xml.doctype"), at_suffix(.position))]
    DocType { position: Option<Position> },

    /// The document is not well-formed (or not namespace-well-formed).
    #[error("{}", tf("xml.mal_forme", &[("position", &at_infix(.position)), ("detail", .detail)]))]
    Malformed {
        position: Option<Position>,
        detail: String,
    },

    /// The encoding declared by the document is not one we read.
    #[error("{}", tf("xml.encodage_non_pris_en_charge", &[("label", .label)]))]
    UnsupportedEncoding { label: String },

    /// A byte sequence that is not valid in the document's encoding.
    #[error("{}", tf("xml.encodage_invalide", &[("encodage", .encoding), ("position", &at_infix(.position))]))]
    InvalidEncoding {
        encoding: &'static str,
        position: Option<Position>,
    },

    /// A namespace declaration whose URI is relative or not a valid URI: Canonical XML requires
    /// implementations to fail on them (libxml2 does).
    #[error("{}{}", tf("xml.espace_de_noms_relatif", &[("uri", .uri)]), at_suffix(.position))]
    RelativeNamespace {
        uri: String,
        position: Option<Position>,
    },

    /// No element carries the requested identifier.
    #[error("{}", tf("xml.id_introuvable", &[("attribut", .attribute), ("id", .id)]))]
    IdNotFound { attribute: String, id: String },

    /// Several elements carry the requested identifier: the reference is ambiguous.
    #[error("{}", tf("xml.id_duplique", &[("attribut", .attribute), ("id", .id)]))]
    DuplicateId { attribute: String, id: String },

    /// The canonicaliser was driven incorrectly by the calling code (a bug of the caller, not of
    /// the document).
    #[error("{}", tf("xml.usage", &[("detail", .0)]))]
    Usage(String),

    /// Reading the input or writing the canonical form failed. A token over the size limit is
    /// not an input-output failure: its own sentence is said alone.
    #[error("{}", io_message(.0))]
    Io(#[from] std::io::Error),
}

fn at_infix(position: &Option<Position>) -> String {
    match position {
        Some(p) => format!(" {p}"),
        None => String::new(),
    }
}

fn at_suffix(position: &Option<Position>) -> String {
    match position {
        Some(p) => format!(" ({p})"),
        None => String::new(),
    }
}

fn io_message(e: &std::io::Error) -> String {
    if super::limit::is_token_too_long(e) {
        return tf("xml.trop_long", &[("detail", &e.to_string())]);
    }
    tf("xml.entree_sortie", &[("detail", &e.to_string())])
}

impl C14nError {
    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        C14nError::Malformed {
            position: None,
            detail: detail.into(),
        }
    }

    /// The position the error refers to, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            C14nError::DocType { position }
            | C14nError::Malformed { position, .. }
            | C14nError::InvalidEncoding { position, .. }
            | C14nError::RelativeNamespace { position, .. } => *position,
            _ => None,
        }
    }

    /// Attaches a position to an error that has none yet (an error found by the canonicaliser,
    /// which sees events, not bytes, is located by the reader that produced the events).
    pub fn or_at(mut self, at: Position) -> Self {
        match &mut self {
            C14nError::DocType { position }
            | C14nError::Malformed { position, .. }
            | C14nError::InvalidEncoding { position, .. }
            | C14nError::RelativeNamespace { position, .. }
                if position.is_none() =>
            {
                *position = Some(at);
            }
            _ => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::Position;

    #[test]
    fn offsets_become_lines_and_columns_counted_in_characters() {
        let text = "<a>\n  <b>é</b>\n<c/>";
        // Counted by hand: line 2 is «   <b>é</b> », the byte after « é » in UTF-8 is column 7.
        let after_e = text.find("é").expect("é") + "é".len();
        let at = |offset: usize, latin1: bool| {
            Position::of_offset(text.as_bytes(), offset as u64, latin1).expect("position")
        };
        assert_eq!(at(0, false), Position { line: 1, column: 1 });
        assert_eq!(at(after_e, false), Position { line: 2, column: 7 });
        // The same bytes read as ISO-8859-1: « é » is two characters there.
        assert_eq!(at(after_e, true), Position { line: 2, column: 8 });
        let c = text.find("<c/>").expect("c");
        assert_eq!(at(c, false), Position { line: 3, column: 1 });
        // An offset past the end stops at the end.
        assert_eq!(at(10_000, false), Position { line: 3, column: 5 });
    }
}
