//! Errors of the XML reader and of the canonicaliser. Every message is a French sentence meant for
//! the user (the PES signer shows them as they are).

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
        write!(f, "ligne {}, colonne {}", self.line, self.column)
    }
}

/// Why a document could not be read or canonicalised.
#[derive(Debug, thiserror::Error)]
pub enum C14nError {
    /// A `<!DOCTYPE …>` declaration: refused, so that no entity of any kind is ever expanded.
    #[error(
        "Le document contient une déclaration DOCTYPE : elle est refusée (aucune entité n'est interprétée).{}",
        at_suffix(.position)
    )]
    DocType { position: Option<Position> },

    /// The document is not well-formed (or not namespace-well-formed).
    #[error("XML mal formé{} : {detail}", at_infix(.position))]
    Malformed {
        position: Option<Position>,
        detail: String,
    },

    /// The encoding declared by the document is not one we read.
    #[error(
        "L'encodage « {label} » déclaré par le document n'est pas pris en charge (seuls UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15 et windows-1252 le sont)."
    )]
    UnsupportedEncoding { label: String },

    /// A byte sequence that is not valid in the document's encoding.
    #[error(
        "Le document n'est pas correctement encodé en {encoding}{} : séquence d'octets invalide.",
        at_infix(.position)
    )]
    InvalidEncoding {
        encoding: &'static str,
        position: Option<Position>,
    },

    /// A namespace declaration whose URI is relative or not a valid URI: Canonical XML requires
    /// implementations to fail on them (libxml2 does).
    #[error(
        "L'espace de noms « {uri} » n'est pas une URI absolue valide : la canonisation XML le refuse.{}",
        at_suffix(.position)
    )]
    RelativeNamespace {
        uri: String,
        position: Option<Position>,
    },

    /// No element carries the requested identifier.
    #[error("Aucun élément du document ne porte l'attribut {attribute}=\"{id}\".")]
    IdNotFound { attribute: String, id: String },

    /// Several elements carry the requested identifier: the reference is ambiguous.
    #[error(
        "Plusieurs éléments du document portent l'attribut {attribute}=\"{id}\" : la référence est ambiguë, elle est refusée."
    )]
    DuplicateId { attribute: String, id: String },

    /// The canonicaliser was driven incorrectly by the calling code (a bug of the caller, not of
    /// the document).
    #[error("Utilisation incorrecte du canonicaliseur XML : {0}")]
    Usage(String),

    /// Reading the input or writing the canonical form failed.
    #[error("Erreur d'entrée-sortie pendant la lecture ou la canonisation du XML : {0}")]
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
        Some(p) => format!(" (ligne {}, colonne {})", p.line, p.column),
        None => String::new(),
    }
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
