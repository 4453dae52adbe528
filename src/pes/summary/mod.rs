//! One streaming pass over a PES_Aller: the summary an ordonnateur reviews before signing, and the
//! facts the checks need. Memory stays bounded by the largest single text node (a PJ's base64),
//! never by the file.
//!
//! Here: what the summary holds (its public types) and the entry points; the pass itself is
//! [`SummaryBuilder`] (`builder`), fed start tags recognised by `tags`, attribute values read by
//! `values`, and PJ contents counted by `base64_size`.

mod base64_size;
mod builder;
mod tags;
mod values;

pub use builder::SummaryBuilder;

use super::PesError;
use super::amount::Amount;
use crate::findings::Finding;
use serde::Serialize;
use std::collections::HashMap;
use std::io::BufRead;

/// Dépense (mandats) or recette (titres).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Domaine {
    Depense,
    Recette,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Enveloppe {
    pub version: Option<String>,
    pub typ_fic: Option<String>,
    pub nom_fic: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EnTete {
    pub dte_str: Option<String>,
    pub id_post: Option<String>,
    pub libelle_poste: Option<String>,
    pub id_coll: Option<String>,
    pub fin_jur: Option<String>,
    pub cod_col: Option<String>,
    pub cod_bud: Option<String>,
    pub libelle_col_bud: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Piece {
    pub id_pce: Option<String>,
    pub typ_pce: Option<String>,
    pub nat_pce: Option<String>,
    pub objet: Option<String>,
    pub tiers: Vec<String>,
    pub nb_lignes: u64,
    pub montant_ht: Amount,
    pub montant_tva: Amount,
    pub pj: Vec<String>,
    /// The `Support` of each PJ reference in `pj` (01 électronique, 02 papier, 03 cédérom), as
    /// declared.
    #[serde(skip)]
    pub pj_support: Vec<Option<String>>,
    /// The `Support` of the PJ reference being read (it comes before its IdUnique).
    #[serde(skip)]
    pub(crate) support_en_cours: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bordereau {
    pub domaine: Domaine,
    pub id: Option<String>,
    pub exercice: Option<String>,
    pub numero: Option<String>,
    pub type_bordereau: Option<String>,
    pub date: Option<String>,
    pub nb_pieces: Option<u64>,
    pub nb_pieces_calcule: u64,
    pub montant_ht: Option<Amount>,
    pub montant_ht_calcule: Amount,
    pub montant_tva: Option<Amount>,
    pub montant_tva_calcule: Amount,
    pub pieces: Vec<Piece>,
    pub signe: bool,
    #[serde(skip)]
    pub offset: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PieceJointe {
    pub id_unique: Option<String>,
    pub nom: Option<String>,
    pub type_pj: Option<String>,
    pub type_mime: Option<String>,
    pub description: Option<String>,
    /// Size of the content once base64-decoded (the gzipped original).
    pub taille: u64,
    #[serde(skip)]
    pub base64_invalide: bool,
    #[serde(skip)]
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExistingSignature {
    pub id: Option<String>,
    /// Local name of the signed element's parent (`Bordereau`, `PES_Aller`…).
    pub parent: String,
    pub parent_id: Option<String>,
}

/// A PJ reference from a piece, kept for every piece (even when piece details are not) so that
/// dangling references are always found.
#[derive(Debug, Clone, Serialize)]
pub struct PjReference {
    pub bordereau: usize,
    pub piece: Option<String>,
    pub pj: String,
    /// The reference's `Support` (01 électronique, 02 papier, 03 cédérom), as declared.
    pub support: Option<String>,
}

/// How many pieces keep their details in the summary. Beyond it only counts and totals are kept
/// (a 100 MB file can hold hundreds of thousands of pieces: memory must not follow the file);
/// the window loads a bordereau's pieces on demand.
pub const DEFAULT_PIECE_DETAIL_LIMIT: usize = 20_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct PesSummary {
    pub encodage: String,
    /// The first 50 bytes declare ISO-8859-1 (S²LOW's upload rule).
    #[serde(skip)]
    pub iso_8859_1_declared_early: bool,
    pub id: Option<String>,
    pub enveloppe: Enveloppe,
    pub entete: EnTete,
    /// `InfoDematerialisee` per domain, as declared.
    pub info_dematerialisee: Vec<(Domaine, String)>,
    pub bordereaux: Vec<Bordereau>,
    pub pj: Vec<PieceJointe>,
    pub signatures: Vec<ExistingSignature>,
    pub references_pj: Vec<PjReference>,
    /// True when some pieces were counted but their details not kept.
    pub pieces_tronquees: bool,
    /// SHA-256 of the file summarised (set by `inspect_file`): binds the review to the signature.
    #[serde(skip)]
    pub sha256: Vec<u8>,
    /// Findings met while reading (duplicate Ids, unreadable values).
    #[serde(skip)]
    pub reading_findings: Vec<Finding>,
}

/// Read a PES_Aller from `input` in one pass, keeping the details of at most
/// [`DEFAULT_PIECE_DETAIL_LIMIT`] pieces.
pub fn read_summary<R: BufRead>(input: R) -> Result<PesSummary, PesError> {
    read_summary_with(input, DEFAULT_PIECE_DETAIL_LIMIT)
}

/// Read a PES_Aller, keeping the details of at most `piece_limit` pieces.
pub fn read_summary_with<R: BufRead>(input: R, piece_limit: usize) -> Result<PesSummary, PesError> {
    let mut reader = quick_xml::Reader::from_reader(crate::xml::limit::TokenLimit::new(input));
    reader.config_mut().expand_empty_elements = false;
    SummaryBuilder::new(piece_limit).read_to_end(&mut reader)
}

/// Whether "ISO-8859-1" appears in the first 50 bytes (S²LOW refuses the file otherwise).
pub fn declares_latin1_early(head: &[u8]) -> bool {
    let head = &head[..head.len().min(50)];
    head.windows(10)
        .any(|w| w.eq_ignore_ascii_case(b"ISO-8859-1"))
}

/// Index of PJ by IdUnique, for reference checks.
pub fn pj_index(summary: &PesSummary) -> HashMap<&str, &PieceJointe> {
    summary
        .pj
        .iter()
        .filter_map(|p| p.id_unique.as_deref().map(|id| (id, p)))
        .collect()
}
