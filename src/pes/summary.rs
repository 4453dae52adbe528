//! One streaming pass over a PES_Aller: the summary an ordonnateur reviews before signing, and the
//! facts the checks need. Memory stays bounded by the largest single text node (a PJ's base64),
//! never by the file.

use super::amount::Amount;
use super::{PES_ALLER_NS, PesError};
use crate::findings::{Finding, Location};
use crate::messages::tf;
use crate::xml::OpenNames;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
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

/// What the reader is inside of, to route values.
#[derive(Default)]
struct State {
    /// Local names of the open elements.
    path: OpenNames,
    ids_seen: HashSet<String>,
    current_bordereau: Option<Bordereau>,
    current_piece: Option<Piece>,
    current_pj: Option<PieceJointe>,
    in_fichier: bool,
    base64: Base64Counter,
    /// Id of each open element (for signature parents).
    open_ids: Vec<Option<String>>,
    signature_depth: Option<usize>,
    /// Pieces whose details may still be kept.
    piece_budget: usize,
}

/// Counts the decoded size of base64 text fed in pieces, and notices garbage.
#[derive(Default)]
struct Base64Counter {
    symbols: u64,
    padding: u64,
    invalid: bool,
}

impl Base64Counter {
    fn feed(&mut self, text: &[u8]) {
        // Fast path while no padding was seen: 64-byte chunks holding only symbols and white
        // space are counted without branches, with comparisons the compiler turns into SIMD
        // (a lookup table would not vectorise); any other chunk (and the tail) goes byte by
        // byte. This runs over every byte of every PJ.
        let mut rest = text;
        while self.padding == 0 && rest.len() >= 64 {
            let (chunk, tail) = rest.split_at(64);
            let mut symbols = 0u8;
            let mut other = 0u8;
            for &b in chunk {
                let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
                let digit = b.wrapping_sub(b'0') < 10;
                let symbol = alpha | digit | (b == b'+') | (b == b'/');
                let space = (b == b'\n') | (b == b'\r') | (b == b' ') | (b == b'\t');
                symbols += u8::from(symbol);
                other |= u8::from(!(symbol | space));
            }
            if other != 0 {
                break;
            }
            self.symbols += u64::from(symbols);
            rest = tail;
        }
        for &b in rest {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {
                    if self.padding > 0 {
                        self.invalid = true;
                    }
                    self.symbols += 1;
                }
                b'=' => self.padding += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => self.invalid = true,
            }
        }
    }

    fn finish(&mut self) -> (u64, bool) {
        let total = self.symbols + self.padding;
        let invalid = self.invalid || !total.is_multiple_of(4) || self.padding > 2;
        let size = (self.symbols * 6) / 8;
        *self = Base64Counter::default();
        (size, invalid)
    }
}

fn local_name(qname: &[u8]) -> Cow<'_, str> {
    let local = match qname.iter().rposition(|b| *b == b':') {
        Some(i) => &qname[i + 1..],
        None => qname,
    };
    // The strict check first: it is much quicker than the lossy one on the valid names of
    // every element.
    match crate::xml::str_from_utf8(local) {
        Ok(name) => Cow::Borrowed(name),
        Err(_) => String::from_utf8_lossy(local),
    }
}

/// The attributes the summary reads, from one pass over a start tag's attributes. `V` and
/// `MIMEType` are kept as written and decoded only when the element is one the summary keeps.
#[derive(Default)]
struct Values<'a> {
    id: Option<String>,
    v: Option<Attribute<'a>>,
    mime_type: Option<Attribute<'a>>,
}

/// The decoded value of an attribute kept by [`Values::read`].
fn decoded<R>(
    reader: &quick_xml::Reader<R>,
    attribute: Option<&Attribute>,
) -> Result<Option<String>, PesError> {
    attribute
        .map(|a| {
            a.decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, reader.decoder())
                .map(std::borrow::Cow::into_owned)
                .map_err(|e| PesError::Malformed {
                    offset: reader.buffer_position(),
                    detail: e.to_string(),
                })
        })
        .transpose()
}

impl<'a> Values<'a> {
    fn read<R>(
        reader: &quick_xml::Reader<R>,
        start: &'a BytesStart,
    ) -> Result<Values<'a>, PesError> {
        let malformed = |detail: String| PesError::Malformed {
            offset: reader.buffer_position(),
            detail,
        };
        let mut values = Values::default();
        // Duplicates are checked here rather than by quick-xml, whose check allocates for every
        // tag: by comparison for the usual few attributes, with a set beyond.
        // (The set is made only when needed: making one reads a thread-local, at every tag.)
        let mut many: Option<HashSet<&[u8]>> = None;
        let mut few: [&[u8]; 8] = [&[]; 8];
        for (count, attr) in start.attributes().with_checks(false).enumerate() {
            let attr = attr.map_err(|e| malformed(e.to_string()))?;
            let key = attr.key.into_inner();
            let duplicate = if count < few.len() {
                few[..count].contains(&key)
            } else {
                !many
                    .get_or_insert_with(|| few.into_iter().collect())
                    .insert(key)
            };
            if duplicate {
                return Err(malformed(tf(
                    "pes.attribut_en_double",
                    &[("nom", &String::from_utf8_lossy(key))],
                )));
            }
            if count < few.len() {
                few[count] = key;
            }
            match key {
                b"Id" => values.id = decoded(reader, Some(&attr))?,
                b"V" => values.v = Some(attr),
                b"MIMEType" => values.mime_type = Some(attr),
                _ => {}
            }
        }
        Ok(values)
    }
}

/// Read a PES_Aller from `input` in one pass, keeping the details of at most
/// [`DEFAULT_PIECE_DETAIL_LIMIT`] pieces.
pub fn read_summary<R: BufRead>(input: R) -> Result<PesSummary, PesError> {
    read_summary_with(input, DEFAULT_PIECE_DETAIL_LIMIT)
}

/// Read a PES_Aller, keeping the details of at most `piece_limit` pieces.
pub fn read_summary_with<R: BufRead>(input: R, piece_limit: usize) -> Result<PesSummary, PesError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    reader.config_mut().expand_empty_elements = false;
    SummaryBuilder::new(piece_limit).read_to_end(&mut reader)
}

/// The summary built event by event, from a parser that may be someone else's: the signing pass
/// feeds it the events it parses anyway, then hands it over with its parser to a thread that
/// reads on (see `sign::sign_with_review`). The parser must not expand empty elements.
pub struct SummaryBuilder {
    state: State,
    summary: PesSummary,
    root_seen: bool,
    /// The first error met: the summary stops there, as a reading of the file alone would.
    failed: Option<PesError>,
}

impl SummaryBuilder {
    /// A summary keeping the details of at most `piece_limit` pieces.
    pub fn new(piece_limit: usize) -> Self {
        SummaryBuilder {
            state: State {
                piece_budget: piece_limit,
                ..State::default()
            },
            summary: PesSummary::default(),
            root_seen: false,
            failed: None,
        }
    }

    /// Whether "ISO-8859-1" is declared in `head`, the file's first bytes (S²LOW's rule).
    pub fn note_head(&mut self, head: &[u8]) {
        self.summary.iso_8859_1_declared_early = declares_latin1_early(head);
    }

    /// The error that stopped the summary, if any.
    pub fn failure(&self) -> Option<&PesError> {
        self.failed.as_ref()
    }

    /// The parser could not read the next event: the summary ends with its error.
    pub fn parse_failed<R>(&mut self, reader: &quick_xml::Reader<R>, error: &quick_xml::Error) {
        if self.failed.is_none() {
            self.failed = Some(PesError::Malformed {
                offset: reader.error_position(),
                detail: error.to_string(),
            });
        }
    }

    /// Take one event, read by `reader` from `offset` (its position before the event); `Err`
    /// (kept as the summary's outcome) stops the summary.
    pub fn event<R>(
        &mut self,
        reader: &quick_xml::Reader<R>,
        offset: u64,
        event: &Event,
    ) -> Result<(), &PesError> {
        if self.failed.is_none()
            && let Err(e) = self.take(reader, offset, event)
        {
            self.failed = Some(e);
        }
        self.failed.as_ref().map_or(Ok(()), Err)
    }

    fn take<R>(
        &mut self,
        reader: &quick_xml::Reader<R>,
        offset: u64,
        event: &Event,
    ) -> Result<(), PesError> {
        let (state, summary) = (&mut self.state, &mut self.summary);
        match event {
            Event::Decl(decl) => {
                let enc = decl
                    .encoding()
                    .transpose()
                    .map_err(|e| PesError::Malformed {
                        offset,
                        detail: e.to_string(),
                    })?
                    .map(|e| String::from_utf8_lossy(&e).to_uppercase())
                    .unwrap_or_else(|| "UTF-8".to_owned());
                if !matches!(
                    enc.as_str(),
                    "UTF-8" | "ISO-8859-1" | "ISO8859-1" | "LATIN1"
                ) {
                    return Err(PesError::Encoding(enc));
                }
                summary.encodage = enc;
            }
            Event::DocType(_) => return Err(PesError::Doctype),
            Event::Start(start) | Event::Empty(start) => {
                if !self.root_seen {
                    check_root(reader, start)?;
                    self.root_seen = true;
                }
                let empty = matches!(event, Event::Empty(_));
                on_start(reader, start, offset, state, summary, empty)?;
            }
            Event::End(_) => on_end(state, summary),
            Event::Text(text) if state.in_fichier => state.base64.feed(text),
            Event::CData(data) if state.in_fichier => state.base64.feed(data),
            Event::GeneralRef(_) if state.in_fichier => state.base64.invalid = true,
            _ => {}
        }
        Ok(())
    }

    /// Read on with `reader` to the end of the document, then [`Self::finish`].
    pub fn read_to_end<R: BufRead>(
        mut self,
        reader: &mut quick_xml::Reader<R>,
    ) -> Result<PesSummary, PesError> {
        let mut buf = Vec::new();
        while self.failed.is_none() {
            let offset = reader.buffer_position();
            match reader.read_event_into(&mut buf) {
                Ok(Event::Eof) => break,
                Ok(event) => {
                    let _ = self.event(reader, offset, &event);
                }
                Err(e) => self.parse_failed(reader, &e),
            }
            buf.clear();
        }
        self.finish()
    }

    /// The summary of a document read to its end (or the error that stopped it).
    pub fn finish(self) -> Result<PesSummary, PesError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mut summary = self.summary;
        if !self.root_seen {
            return Err(PesError::WrongRoot(String::new()));
        }
        if !self.state.path.is_empty() {
            return Err(PesError::Truncated);
        }
        if summary.encodage.is_empty() {
            summary.encodage = "UTF-8".to_owned();
        }
        Ok(summary)
    }
}

fn check_root<R>(reader: &quick_xml::Reader<R>, start: &BytesStart) -> Result<(), PesError> {
    let name = local_name(start.name().as_ref()).into_owned();
    let prefix = start.name().prefix().map(|p| p.as_ref().to_vec());
    let ns_attr = match &prefix {
        Some(p) => [b"xmlns:".as_slice(), p].concat(),
        None => b"xmlns".to_vec(),
    };
    let ns = start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == ns_attr.as_slice())
        .and_then(|a| {
            a.decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, reader.decoder())
                .ok()
        })
        .map(|v| v.into_owned());
    if name != "PES_Aller" || ns.as_deref() != Some(PES_ALLER_NS) {
        return Err(PesError::WrongRoot(name));
    }
    Ok(())
}

fn on_start<R>(
    reader: &quick_xml::Reader<R>,
    start: &BytesStart,
    offset: u64,
    state: &mut State,
    summary: &mut PesSummary,
    empty: bool,
) -> Result<(), PesError> {
    let qname = start.name();
    let name = local_name(qname.as_ref());
    let Values {
        id,
        v: value,
        mime_type,
    } = Values::read(reader, start)?;
    if let Some(id) = &id
        && !state.ids_seen.insert(id.clone())
    {
        summary.reading_findings.push(Finding::blocking(
            "pes.id_duplique",
            tf("pes.id_duplique", &[("id", id)]),
            Location {
                offset: Some(offset),
                element: Some(name.clone().into_owned()),
                ..Default::default()
            },
        ));
    }
    let depth = state.path.len();
    if state.signature_depth.is_none() {
        let v = || decoded(reader, value.as_ref());
        let parent = state.path.last().unwrap_or("");
        let in_path = |n: &str| state.path.contains(n);
        match name.as_ref() {
            "PES_Aller" if depth == 0 => summary.id = id.clone(),
            "Signature" => {
                let parent_id = state.open_ids.last().cloned().flatten();
                summary.signatures.push(ExistingSignature {
                    id: id.clone(),
                    parent: parent.to_owned(),
                    parent_id,
                });
                if parent == "Bordereau"
                    && let Some(b) = state.current_bordereau.as_mut()
                {
                    b.signe = true;
                }
                if !empty {
                    state.signature_depth = Some(depth);
                }
            }
            "Version" if parent == "Parametres" => summary.enveloppe.version = v()?,
            "TypFic" if parent == "Parametres" => summary.enveloppe.typ_fic = v()?,
            "NomFic" if parent == "Parametres" => summary.enveloppe.nom_fic = v()?,
            "DteStr" if parent == "EnTetePES" => summary.entete.dte_str = v()?,
            "IdPost" if parent == "EnTetePES" => summary.entete.id_post = v()?,
            "LibellePoste" if parent == "EnTetePES" => summary.entete.libelle_poste = v()?,
            "IdColl" if parent == "EnTetePES" => summary.entete.id_coll = v()?,
            "FinJur" if parent == "EnTetePES" => summary.entete.fin_jur = v()?,
            "CodCol" if parent == "EnTetePES" => summary.entete.cod_col = v()?,
            "CodBud" if parent == "EnTetePES" => summary.entete.cod_bud = v()?,
            "LibelleColBud" if parent == "EnTetePES" => summary.entete.libelle_col_bud = v()?,
            "InfoDematerialisee" => {
                let domaine = if in_path("PES_RecetteAller") {
                    Domaine::Recette
                } else {
                    Domaine::Depense
                };
                if let Some(value) = v()? {
                    summary.info_dematerialisee.push((domaine, value));
                }
            }
            "Bordereau" if parent == "PES_DepenseAller" || parent == "PES_RecetteAller" => {
                state.current_bordereau = Some(Bordereau {
                    domaine: if parent == "PES_RecetteAller" {
                        Domaine::Recette
                    } else {
                        Domaine::Depense
                    },
                    id: id.clone(),
                    exercice: None,
                    numero: None,
                    type_bordereau: None,
                    date: None,
                    nb_pieces: None,
                    nb_pieces_calcule: 0,
                    montant_ht: None,
                    montant_ht_calcule: Amount::default(),
                    montant_tva: None,
                    montant_tva_calcule: Amount::default(),
                    pieces: Vec::new(),
                    signe: false,
                    offset,
                });
            }
            _ if parent == "BlocBordereau" => {
                if let Some(b) = state.current_bordereau.as_mut() {
                    let value = v()?;
                    match name.as_ref() {
                        "Exer" => b.exercice = value,
                        "IdBord" => b.numero = value,
                        "DteBordEm" => b.date = value,
                        "TypBord" => b.type_bordereau = value,
                        "NbrPce" => {
                            b.nb_pieces = value.as_deref().and_then(|s| s.trim().parse().ok())
                        }
                        "MtBordHT" | "MtBordHt" => {
                            b.montant_ht = value.as_deref().and_then(Amount::parse)
                        }
                        "MtBordTVA" => b.montant_tva = value.as_deref().and_then(Amount::parse),
                        _ => {}
                    }
                }
            }
            "Piece" if parent == "Bordereau" => state.current_piece = Some(Piece::default()),
            _ if state.current_piece.is_some() => {
                let piece = state.current_piece.as_mut().ok_or(PesError::Truncated)?;
                match name.as_ref() {
                    "LigneDePiece" => piece.nb_lignes += 1,
                    "IdPce" if !in_path("LigneDePiece") => piece.id_pce = v()?,
                    "TypPce" if !in_path("LigneDePiece") => piece.typ_pce = v()?,
                    "NatPce" if !in_path("LigneDePiece") => piece.nat_pce = v()?,
                    "Obj" | "ObjPce" if !in_path("LigneDePiece") => piece.objet = v()?,
                    "Nom" if parent == "InfoTiers" => {
                        if let Some(nom) = v()?
                            && !piece.tiers.contains(&nom)
                        {
                            piece.tiers.push(nom);
                        }
                    }
                    "MtHT" if in_path("LigneDePiece") && !in_path("Tiers") => {
                        if let Some(a) = v()?.as_deref().and_then(Amount::parse) {
                            piece.montant_ht += a;
                        }
                    }
                    "MtTVA" if in_path("LigneDePiece") && !in_path("Tiers") => {
                        if let Some(a) = v()?.as_deref().and_then(Amount::parse) {
                            piece.montant_tva += a;
                        }
                    }
                    "IdUnique" if parent == "PJRef" => {
                        if let Some(r) = v()? {
                            piece.pj.push(r);
                        }
                    }
                    _ => {}
                }
            }
            "PJ" if parent == "PES_PJ" => {
                state.current_pj = Some(PieceJointe {
                    offset,
                    ..Default::default()
                })
            }
            _ if state.current_pj.is_some() => {
                let pj = state.current_pj.as_mut().ok_or(PesError::Truncated)?;
                match name.as_ref() {
                    "IdUnique" if parent == "PJ" => pj.id_unique = v()?,
                    "NomPJ" => pj.nom = v()?,
                    "TypePJ" => pj.type_pj = v()?,
                    "Description" if parent == "PJ" => pj.description = v()?,
                    "Fichier" => {
                        pj.type_mime = decoded(reader, mime_type.as_ref())?;
                        state.in_fichier = !empty;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if !empty {
        state.path.push(&name);
        state.open_ids.push(id);
    }
    Ok(())
}

/// Elements whose end matters to the summary.
enum Closing {
    Fichier,
    Pj,
    Piece,
    Bordereau,
    Other,
}

fn on_end(state: &mut State, summary: &mut PesSummary) {
    let closing = match state.path.last() {
        None => return,
        Some("Fichier") => Closing::Fichier,
        Some("PJ") => Closing::Pj,
        Some("Piece") => Closing::Piece,
        Some("Bordereau") => Closing::Bordereau,
        Some(_) => Closing::Other,
    };
    state.path.pop();
    state.open_ids.pop();
    let depth = state.path.len();
    if state.signature_depth == Some(depth) {
        state.signature_depth = None;
        return;
    }
    if state.signature_depth.is_some() {
        return;
    }
    match closing {
        Closing::Fichier if state.in_fichier => {
            state.in_fichier = false;
            let (size, invalid) = state.base64.finish();
            if let Some(pj) = state.current_pj.as_mut() {
                pj.taille = size;
                pj.base64_invalide = invalid;
            }
        }
        Closing::Pj => {
            if let Some(pj) = state.current_pj.take() {
                summary.pj.push(pj);
            }
        }
        Closing::Piece => {
            if let (Some(piece), Some(b)) =
                (state.current_piece.take(), state.current_bordereau.as_mut())
            {
                b.nb_pieces_calcule += 1;
                b.montant_ht_calcule += piece.montant_ht;
                b.montant_tva_calcule += piece.montant_tva;
                let bordereau = summary.bordereaux.len();
                for pj in &piece.pj {
                    summary.references_pj.push(PjReference {
                        bordereau,
                        piece: piece.id_pce.clone(),
                        pj: pj.clone(),
                    });
                }
                if state.piece_budget > 0 {
                    state.piece_budget -= 1;
                    b.pieces.push(piece);
                } else {
                    summary.pieces_tronquees = true;
                }
            }
        }
        Closing::Bordereau => {
            if let Some(b) = state.current_bordereau.take() {
                summary.bordereaux.push(b);
            }
        }
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::{Base64Counter, PesError, read_summary};
    use base64::Engine;

    fn root_with(attributes: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1"?><n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller" Id="P"><EnTetePES><IdPost {attributes}/></EnTetePES></n:PES_Aller>"#
        )
    }

    /// Attributes are read once per tag with our own duplicate check: a duplicate is refused
    /// among a few attributes and among many (where a set takes over), values are still read.
    #[test]
    fn duplicate_attributes_are_refused_and_values_read() {
        let ok = read_summary(root_with(r#"V="034000" W="1""#).as_bytes()).expect("lu");
        assert_eq!(ok.entete.id_post.as_deref(), Some("034000"));
        assert_eq!(ok.id.as_deref(), Some("P"));
        let few = root_with(r#"V="1" W="2" V="3""#);
        assert!(matches!(
            read_summary(few.as_bytes()),
            Err(PesError::Malformed { .. })
        ));
        let names: Vec<String> = (0..20).map(|i| format!(r#"a{i}="{i}""#)).collect();
        let many_ok = root_with(&format!(r#"{} V="9""#, names.join(" ")));
        let read = read_summary(many_ok.as_bytes()).expect("lu");
        assert_eq!(read.entete.id_post.as_deref(), Some("9"));
        for duplicate in ["a3", "a15", "V"] {
            let many = root_with(&format!(r#"{} V="9" {duplicate}="x""#, names.join(" ")));
            assert!(
                matches!(
                    read_summary(many.as_bytes()),
                    Err(PesError::Malformed { .. })
                ),
                "{duplicate} en double accepté"
            );
        }
    }

    /// The counter agrees with a real decoder on sizes, line breaks anywhere, every padding,
    /// and notices garbage wherever it is (inside a 64-byte chunk or in the tail).
    #[test]
    fn base64_counter_agrees_with_a_decoder() {
        let engine = base64::engine::general_purpose::STANDARD;
        for len in [0usize, 1, 2, 3, 47, 48, 49, 1000, 4097] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let encoded = engine.encode(&data);
            for width in [64usize, 76, 13] {
                let wrapped: Vec<u8> = encoded
                    .as_bytes()
                    .chunks(width)
                    .flat_map(|l| l.iter().copied().chain(*b"\r\n"))
                    .collect();
                for piece in [7usize, 64, 1 << 20] {
                    let mut counter = Base64Counter::default();
                    for part in wrapped.chunks(piece) {
                        counter.feed(part);
                    }
                    assert_eq!(
                        counter.finish(),
                        (len as u64, false),
                        "{len} {width} {piece}"
                    );
                }
                for at in [0usize, wrapped.len() / 2, wrapped.len().saturating_sub(1)] {
                    if wrapped.is_empty() {
                        continue;
                    }
                    let mut bad = wrapped.clone();
                    bad[at] = b'*';
                    let mut counter = Base64Counter::default();
                    counter.feed(&bad);
                    assert!(counter.finish().1, "garbage at {at} of {len}");
                }
            }
        }
    }
}
