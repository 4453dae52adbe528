//! One streaming pass over a PES_Aller: the summary an ordonnateur reviews before signing, and the
//! facts the checks need. Memory stays bounded by the largest single text node (a PJ's base64),
//! never by the file.

use super::amount::Amount;
use super::{PES_ALLER_NS, PesError};
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};
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

/// What the reader is inside of, to route values.
#[derive(Default)]
struct State {
    /// Local names of the open elements.
    path: OpenNames,
    /// The same elements, as the summary knows them.
    tags: Vec<Tag>,
    ids_seen: HashSet<String>,
    current_bordereau: Option<Bordereau>,
    current_piece: Option<Piece>,
    current_pj: Option<PieceJointe>,
    in_fichier: bool,
    base64: Base64Counter,
    /// Id of each open element (for signature parents).
    open_ids: Vec<Option<String>>,
    signature_depth: Option<usize>,
    /// Depth of the current bordereau (of a domain).
    bordereau_depth: Option<usize>,
    /// The open signature stands directly in the current bordereau: its reference to that
    /// bordereau makes the bordereau signed.
    own_signature: bool,
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

/// The elements the summary acts on, recognised once per start tag. Comparing the name with
/// each element of the chain below, one string after the other, cost about 300 instructions per
/// tag (callgrind), on the million tags of a large PES; names of up to 15 bytes are looked up here
/// as one 128-bit word (name and length) in a table, and the chain compares small integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    PesAller,
    Signature,
    Version,
    TypFic,
    NomFic,
    Parametres,
    DteStr,
    IdPost,
    LibellePoste,
    IdColl,
    FinJur,
    CodCol,
    CodBud,
    LibelleColBud,
    EnTetePes,
    InfoDematerialisee,
    PesRecetteAller,
    PesDepenseAller,
    Bordereau,
    BlocBordereau,
    Exer,
    IdBord,
    DteBordEm,
    TypBord,
    NbrPce,
    MtBordHT,
    MtBordHt,
    MtBordTva,
    Piece,
    LigneDePiece,
    IdPce,
    TypPce,
    NatPce,
    Obj,
    ObjPce,
    Nom,
    InfoTiers,
    MtHT,
    MtTva,
    Tiers,
    IdUnique,
    PjRef,
    Pj,
    PesPj,
    NomPj,
    TypePj,
    Description,
    Fichier,
    Other,
}

/// A name of at most 15 bytes as one word: its bytes, zero-padded, and its length in the last
/// byte (so that a name holding NUL bytes cannot pass for a shorter one).
/// Used both to build [`NAME_TABLE`] and to look names up in it.
const fn word(name: &[u8]) -> u128 {
    let len = if name.len() < 15 { name.len() } else { 15 };
    let mut bytes = [0u8; 16];
    bytes
        .split_at_mut(len)
        .0
        .copy_from_slice(name.split_at(len).0);
    bytes[15] = name.len() as u8;
    u128::from_le_bytes(bytes)
}

/// The table [`Tag::of`] looks names of up to 15 bytes up in: one slot per name, found by a
/// multiplicative hash of its word — one comparison per tag (a `match` over the words was a tree
/// of 128-bit comparisons whose branches the processor kept mispredicting: 4 % of a signature's
/// parsing thread).
const SLOT_BITS: u32 = 7;
/// A multiplier under which the names below all fall in distinct slots (found by trying; a
/// collision stops the build, see [`NAME_TABLE`]).
const NAME_HASH: u64 = 0x0bd7_fe0c_9db4_8381;

const fn slot(word: u128) -> usize {
    let low = word as u64;
    let high = (word >> 64) as u64;
    (low.wrapping_add(high.rotate_left(7))
        .wrapping_mul(NAME_HASH)
        >> (64 - SLOT_BITS)) as usize
}

static NAME_TABLE: [(u128, Tag); 1 << SLOT_BITS] = {
    let names: [(&[u8], Tag); 45] = [
        (b"PES_Aller", Tag::PesAller),
        (b"Signature", Tag::Signature),
        (b"Version", Tag::Version),
        (b"TypFic", Tag::TypFic),
        (b"NomFic", Tag::NomFic),
        (b"Parametres", Tag::Parametres),
        (b"DteStr", Tag::DteStr),
        (b"IdPost", Tag::IdPost),
        (b"LibellePoste", Tag::LibellePoste),
        (b"IdColl", Tag::IdColl),
        (b"FinJur", Tag::FinJur),
        (b"CodCol", Tag::CodCol),
        (b"CodBud", Tag::CodBud),
        (b"LibelleColBud", Tag::LibelleColBud),
        (b"EnTetePES", Tag::EnTetePes),
        (b"Bordereau", Tag::Bordereau),
        (b"BlocBordereau", Tag::BlocBordereau),
        (b"Exer", Tag::Exer),
        (b"IdBord", Tag::IdBord),
        (b"DteBordEm", Tag::DteBordEm),
        (b"TypBord", Tag::TypBord),
        (b"NbrPce", Tag::NbrPce),
        (b"MtBordHT", Tag::MtBordHT),
        (b"MtBordHt", Tag::MtBordHt),
        (b"MtBordTVA", Tag::MtBordTva),
        (b"Piece", Tag::Piece),
        (b"LigneDePiece", Tag::LigneDePiece),
        (b"IdPce", Tag::IdPce),
        (b"TypPce", Tag::TypPce),
        (b"NatPce", Tag::NatPce),
        (b"Obj", Tag::Obj),
        (b"ObjPce", Tag::ObjPce),
        (b"Nom", Tag::Nom),
        (b"InfoTiers", Tag::InfoTiers),
        (b"MtHT", Tag::MtHT),
        (b"MtTVA", Tag::MtTva),
        (b"Tiers", Tag::Tiers),
        (b"IdUnique", Tag::IdUnique),
        (b"PJRef", Tag::PjRef),
        (b"PJ", Tag::Pj),
        (b"PES_PJ", Tag::PesPj),
        (b"NomPJ", Tag::NomPj),
        (b"TypePJ", Tag::TypePj),
        (b"Description", Tag::Description),
        (b"Fichier", Tag::Fichier),
    ];
    let mut table = [(0u128, Tag::Other); 1 << SLOT_BITS];
    let mut i = 0;
    while i < names.len() {
        let word = word(names[i].0);
        let slot = slot(word);
        assert!(
            matches!(table[slot].1, Tag::Other),
            "deux noms dans une case : changer NAME_HASH"
        );
        table[slot] = (word, names[i].1);
        i += 1;
    }
    table
};

impl Tag {
    fn of(name: &str) -> Tag {
        let name = name.as_bytes();
        if name.len() > 15 {
            return match name {
                b"InfoDematerialisee" => Tag::InfoDematerialisee,
                b"PES_RecetteAller" => Tag::PesRecetteAller,
                b"PES_DepenseAller" => Tag::PesDepenseAller,
                _ => Tag::Other,
            };
        }
        let word = word(name);
        let (name, tag) = NAME_TABLE[slot(word)];
        if name == word { tag } else { Tag::Other }
    }
}

fn local_name(qname: &[u8]) -> Cow<'_, str> {
    let local = crate::xml::local_part(qname);
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

/// The value of the only attribute of the usual PES start tag, ` V="…"` (white space around),
/// found without quick-xml's attribute iterator (a fifth of the summary's work on a million
/// tags); `None` for any other shape, which the iterator then reads. Where this finds a value,
/// the iterator finds the same single attribute.
fn lone_v(raw: &[u8]) -> Option<&[u8]> {
    // XML's white space, not Rust's ASCII one (which has the form feed).
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let name_at = raw.iter().position(|b| !space(b))?;
    if name_at == 0 {
        return None;
    }
    let rest = raw[name_at..].strip_prefix(b"V=")?;
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let end = memchr::memchr(quote, rest)?;
    rest[end + 1..].iter().all(space).then_some(&rest[..end])
}

/// A value with nothing to normalise (no reference, no white space other than the space), in one
/// of the encodings a PES may have, decoded directly — what quick-xml's decoding and
/// normalisation give, without their copies and passes (ASCII values, most of them, are taken as
/// they are). `None` for anything else, which quick-xml then decodes (and reports).
fn plain_value(encoding: &'static encoding_rs::Encoding, raw: &[u8]) -> Option<String> {
    if raw
        .iter()
        .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    if encoding != encoding_rs::UTF_8 && encoding != encoding_rs::WINDOWS_1252 {
        return None;
    }
    if let Some(ascii) = crate::xml::ascii_str(raw) {
        // The same text in UTF-8 and in Latin-1.
        return Some(ascii.to_owned());
    }
    // What quick-xml's decoder does ("ISO-8859-1" is read as windows-1252, the WHATWG rule);
    // invalid UTF-8 is left to quick-xml, which reports it.
    encoding
        .decode_without_bom_handling_and_without_replacement(raw)
        .map(Cow::into_owned)
}

/// The decoded value of an attribute kept by [`Values::read`].
fn decoded<R>(
    reader: &quick_xml::Reader<R>,
    attribute: Option<&Attribute>,
) -> Result<Option<String>, PesError> {
    attribute
        .map(|a| {
            if let Some(plain) = plain_value(reader.decoder().encoding(), &a.value) {
                return Ok(plain);
            }
            a.decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, reader.decoder())
                .map(std::borrow::Cow::into_owned)
                .map_err(|e| PesError::Malformed {
                    position: None,
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
            position: None,
            offset: reader.buffer_position(),
            detail,
        };
        let mut values = Values::default();
        if let Some(v) = lone_v(start.attributes_raw()) {
            values.v = Some(Attribute {
                key: quick_xml::name::QName(b"V"),
                value: Cow::Borrowed(v),
            });
            return Ok(values);
        }
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
    let mut reader = quick_xml::Reader::from_reader(crate::xml::limit::TokenLimit::new(input));
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
                position: None,
                offset: reader.error_position(),
                detail: crate::xml::describe_quick_xml_error(error),
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
        self.check_well_formed(offset, event)?;
        let (state, summary) = (&mut self.state, &mut self.summary);
        match event {
            Event::Decl(decl) => {
                let enc = decl
                    .encoding()
                    .transpose()
                    .map_err(|e| PesError::Malformed {
                        position: None,
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

    /// What quick-xml lets through and XML forbids: a NUL byte (in text or in a tag), an XML
    /// declaration elsewhere than at the very start, and anything but comments, processing
    /// instructions and white space after the root element. Each costs a `memchr` over bytes the
    /// reader has just read.
    fn check_well_formed(&self, offset: u64, event: &Event) -> Result<(), PesError> {
        // `at`: how far into the event the faulty byte is, so that the line and column said
        // are the byte's own, not the start of the text or tag holding it.
        let malformed = |key: &str, at: usize| PesError::Malformed {
            position: None,
            offset: offset + at as u64,
            detail: t(key),
        };
        let root_closed = self.root_seen && self.state.path.is_empty();
        match event {
            Event::Decl(_) if offset != 0 => Err(malformed("pes.declaration_deplacee", 0)),
            Event::Start(tag) | Event::Empty(tag) => {
                if root_closed {
                    Err(malformed("pes.contenu_apres_racine", 0))
                } else if let Some(at) = memchr::memchr(0, tag) {
                    // The tag's bytes start after its `<`.
                    Err(malformed("pes.caractere_nul", at + 1))
                } else {
                    Ok(())
                }
            }
            Event::Text(text) => {
                if let Some(at) = memchr::memchr(0, text) {
                    Err(malformed("pes.caractere_nul", at))
                } else if root_closed || !self.root_seen {
                    match text.iter().position(|b| !b.is_ascii_whitespace()) {
                        Some(at) => Err(malformed("pes.contenu_hors_racine", at)),
                        None => Ok(()),
                    }
                } else {
                    Ok(())
                }
            }
            Event::CData(_) | Event::GeneralRef(_) if root_closed => {
                Err(malformed("pes.contenu_apres_racine", 0))
            }
            _ => Ok(()),
        }
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
    let tag = Tag::of(&name);
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
        let parent = state.tags.last().copied().unwrap_or(Tag::Other);
        let in_path = |t: Tag| state.tags.contains(&t);
        match tag {
            Tag::PesAller if depth == 0 => summary.id = id.clone(),
            Tag::Signature => {
                let parent_id = state.open_ids.last().cloned().flatten();
                summary.signatures.push(ExistingSignature {
                    id: id.clone(),
                    parent: state.path.last().unwrap_or("").to_owned(),
                    parent_id,
                });
                if !empty {
                    state.signature_depth = Some(depth);
                    state.own_signature = parent == Tag::Bordereau
                        && state.bordereau_depth.is_some_and(|d| d + 1 == depth);
                }
            }
            Tag::Version if parent == Tag::Parametres => summary.enveloppe.version = v()?,
            Tag::TypFic if parent == Tag::Parametres => summary.enveloppe.typ_fic = v()?,
            Tag::NomFic if parent == Tag::Parametres => summary.enveloppe.nom_fic = v()?,
            Tag::DteStr if parent == Tag::EnTetePes => summary.entete.dte_str = v()?,
            Tag::IdPost if parent == Tag::EnTetePes => summary.entete.id_post = v()?,
            Tag::LibellePoste if parent == Tag::EnTetePes => summary.entete.libelle_poste = v()?,
            Tag::IdColl if parent == Tag::EnTetePes => summary.entete.id_coll = v()?,
            Tag::FinJur if parent == Tag::EnTetePes => summary.entete.fin_jur = v()?,
            Tag::CodCol if parent == Tag::EnTetePes => summary.entete.cod_col = v()?,
            Tag::CodBud if parent == Tag::EnTetePes => summary.entete.cod_bud = v()?,
            Tag::LibelleColBud if parent == Tag::EnTetePes => summary.entete.libelle_col_bud = v()?,
            Tag::InfoDematerialisee => {
                let domaine = if in_path(Tag::PesRecetteAller) {
                    Domaine::Recette
                } else {
                    Domaine::Depense
                };
                if let Some(value) = v()? {
                    summary.info_dematerialisee.push((domaine, value));
                }
            }
            Tag::Bordereau if parent == Tag::PesDepenseAller || parent == Tag::PesRecetteAller => {
                state.bordereau_depth = (!empty).then_some(depth);
                state.current_bordereau = Some(Bordereau {
                    domaine: if parent == Tag::PesRecetteAller {
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
            _ if parent == Tag::BlocBordereau => {
                if let Some(b) = state.current_bordereau.as_mut() {
                    let value = v()?;
                    match tag {
                        Tag::Exer => b.exercice = value,
                        Tag::IdBord => b.numero = value,
                        Tag::DteBordEm => b.date = value,
                        Tag::TypBord => b.type_bordereau = value,
                        Tag::NbrPce => {
                            b.nb_pieces = value.as_deref().and_then(|s| s.trim().parse().ok())
                        }
                        Tag::MtBordHT | Tag::MtBordHt => {
                            b.montant_ht = value.as_deref().and_then(Amount::parse)
                        }
                        Tag::MtBordTva => b.montant_tva = value.as_deref().and_then(Amount::parse),
                        _ => {}
                    }
                }
            }
            Tag::Piece if parent == Tag::Bordereau => state.current_piece = Some(Piece::default()),
            _ if state.current_piece.is_some() => {
                let piece = state.current_piece.as_mut().ok_or(PesError::Truncated)?;
                match tag {
                    Tag::LigneDePiece => piece.nb_lignes += 1,
                    Tag::IdPce if !in_path(Tag::LigneDePiece) => piece.id_pce = v()?,
                    Tag::TypPce if !in_path(Tag::LigneDePiece) => piece.typ_pce = v()?,
                    Tag::NatPce if !in_path(Tag::LigneDePiece) => piece.nat_pce = v()?,
                    Tag::Obj | Tag::ObjPce if !in_path(Tag::LigneDePiece) => piece.objet = v()?,
                    Tag::Nom if parent == Tag::InfoTiers => {
                        if let Some(nom) = v()?
                            && !piece.tiers.contains(&nom)
                        {
                            piece.tiers.push(nom);
                        }
                    }
                    Tag::MtHT if in_path(Tag::LigneDePiece) && !in_path(Tag::Tiers) => {
                        if let Some(a) = v()?.as_deref().and_then(Amount::parse) {
                            piece.montant_ht += a;
                        }
                    }
                    Tag::MtTva if in_path(Tag::LigneDePiece) && !in_path(Tag::Tiers) => {
                        if let Some(a) = v()?.as_deref().and_then(Amount::parse) {
                            piece.montant_tva += a;
                        }
                    }
                    Tag::Other if parent == Tag::PjRef && name == "Support" => {
                        piece.support_en_cours = v()?;
                    }
                    Tag::IdUnique if parent == Tag::PjRef => {
                        let support = piece.support_en_cours.take();
                        if let Some(r) = v()? {
                            piece.pj.push(r);
                            piece.pj_support.push(support);
                        }
                    }
                    _ => {}
                }
            }
            Tag::Pj if parent == Tag::PesPj => {
                state.current_pj = Some(PieceJointe {
                    offset,
                    ..Default::default()
                })
            }
            _ if state.current_pj.is_some() => {
                let pj = state.current_pj.as_mut().ok_or(PesError::Truncated)?;
                match tag {
                    Tag::IdUnique if parent == Tag::Pj => pj.id_unique = v()?,
                    Tag::NomPj => pj.nom = v()?,
                    Tag::TypePj => pj.type_pj = v()?,
                    Tag::Description if parent == Tag::Pj => pj.description = v()?,
                    Tag::Fichier => {
                        pj.type_mime = decoded(reader, mime_type.as_ref())?;
                        state.in_fichier = !empty;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    } else if state.own_signature
        && state.signature_depth.map(|d| d + 2) == Some(depth)
        && name == "Reference"
        && state.path.last() == Some("SignedInfo")
    {
        // The bordereau is signed when its own signature designates it (a signature moved
        // from another bordereau designates that one).
        let uri = start.try_get_attribute("URI").ok().flatten();
        if let (Some(uri), Some(b)) = (uri, state.current_bordereau.as_mut())
            && let Some(bordereau_id) = b.id.as_deref()
            && uri.value.strip_prefix(b"#") == Some(bordereau_id.as_bytes())
        {
            b.signe = true;
        }
    }
    if !empty {
        state.path.push(&name);
        state.tags.push(tag);
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
    let closing = match state.tags.pop() {
        None => return,
        Some(Tag::Fichier) => Closing::Fichier,
        Some(Tag::Pj) => Closing::Pj,
        Some(Tag::Piece) => Closing::Piece,
        Some(Tag::Bordereau) => Closing::Bordereau,
        Some(_) => Closing::Other,
    };
    state.path.pop();
    state.open_ids.pop();
    let depth = state.path.len();
    if state.signature_depth == Some(depth) {
        state.signature_depth = None;
        state.own_signature = false;
        return;
    }
    if state.bordereau_depth == Some(depth) {
        state.bordereau_depth = None;
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
                for (i, pj) in piece.pj.iter().enumerate() {
                    summary.references_pj.push(PjReference {
                        bordereau,
                        piece: piece.id_pce.clone(),
                        pj: pj.clone(),
                        support: piece.pj_support.get(i).cloned().flatten(),
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
    use super::{Base64Counter, PesError, Tag, lone_v, read_summary};
    use base64::Engine;

    /// Names are recognised exactly: not by a prefix, not with a NUL byte added (the padding of
    /// the word they are compared as), not across case; long names too.
    #[test]
    fn element_names_are_recognised_exactly() {
        assert_eq!(Tag::of("Exer"), Tag::Exer);
        assert_eq!(Tag::of("Exe"), Tag::Other);
        assert_eq!(Tag::of("Exer\0"), Tag::Other);
        assert_eq!(Tag::of("Exerc"), Tag::Other);
        assert_eq!(Tag::of("MtBordHT"), Tag::MtBordHT);
        assert_eq!(Tag::of("MtBordHt"), Tag::MtBordHt);
        assert_eq!(Tag::of("mtbordht"), Tag::Other);
        assert_eq!(Tag::of("LibelleColBud"), Tag::LibelleColBud);
        assert_eq!(Tag::of("PES_PJ"), Tag::PesPj);
        assert_eq!(Tag::of("PJ"), Tag::Pj);
        assert_eq!(Tag::of("PES_DepenseAller"), Tag::PesDepenseAller);
        assert_eq!(Tag::of("PES_RecetteAller"), Tag::PesRecetteAller);
        assert_eq!(Tag::of("PES_DepenseAlle"), Tag::Other);
        assert_eq!(Tag::of("PES_DepenseAllerX"), Tag::Other);
        assert_eq!(Tag::of("InfoDematerialisee"), Tag::InfoDematerialisee);
        assert_eq!(Tag::of("InfoDematerialise"), Tag::Other);
        assert_eq!(Tag::of(""), Tag::Other);
        // Every name the summary acts on, and each of them with one byte changed.
        let all = [
            ("PES_Aller", Tag::PesAller),
            ("Signature", Tag::Signature),
            ("Version", Tag::Version),
            ("TypFic", Tag::TypFic),
            ("NomFic", Tag::NomFic),
            ("Parametres", Tag::Parametres),
            ("DteStr", Tag::DteStr),
            ("IdPost", Tag::IdPost),
            ("LibellePoste", Tag::LibellePoste),
            ("IdColl", Tag::IdColl),
            ("FinJur", Tag::FinJur),
            ("CodCol", Tag::CodCol),
            ("CodBud", Tag::CodBud),
            ("LibelleColBud", Tag::LibelleColBud),
            ("EnTetePES", Tag::EnTetePes),
            ("Bordereau", Tag::Bordereau),
            ("BlocBordereau", Tag::BlocBordereau),
            ("Exer", Tag::Exer),
            ("IdBord", Tag::IdBord),
            ("DteBordEm", Tag::DteBordEm),
            ("TypBord", Tag::TypBord),
            ("NbrPce", Tag::NbrPce),
            ("MtBordHT", Tag::MtBordHT),
            ("MtBordHt", Tag::MtBordHt),
            ("MtBordTVA", Tag::MtBordTva),
            ("Piece", Tag::Piece),
            ("LigneDePiece", Tag::LigneDePiece),
            ("IdPce", Tag::IdPce),
            ("TypPce", Tag::TypPce),
            ("NatPce", Tag::NatPce),
            ("Obj", Tag::Obj),
            ("ObjPce", Tag::ObjPce),
            ("Nom", Tag::Nom),
            ("InfoTiers", Tag::InfoTiers),
            ("MtHT", Tag::MtHT),
            ("MtTVA", Tag::MtTva),
            ("Tiers", Tag::Tiers),
            ("IdUnique", Tag::IdUnique),
            ("PJRef", Tag::PjRef),
            ("PJ", Tag::Pj),
            ("PES_PJ", Tag::PesPj),
            ("NomPJ", Tag::NomPj),
            ("TypePJ", Tag::TypePj),
            ("Description", Tag::Description),
            ("Fichier", Tag::Fichier),
            ("InfoDematerialisee", Tag::InfoDematerialisee),
            ("PES_RecetteAller", Tag::PesRecetteAller),
            ("PES_DepenseAller", Tag::PesDepenseAller),
        ];
        for (name, tag) in all {
            assert_eq!(Tag::of(name), tag, "{name}");
            for i in 0..name.len() {
                let mut changed = name.as_bytes().to_vec();
                changed[i] ^= 0x01;
                let changed = String::from_utf8(changed).expect("ASCII");
                if !all.iter().any(|(n, _)| *n == changed) {
                    assert_eq!(Tag::of(&changed), Tag::Other, "{changed}");
                }
            }
        }
    }

    /// Where the quick path finds a lone `V`, quick-xml's iterator finds that one attribute with
    /// the same raw value; the shapes it does not take are left to the iterator.
    #[test]
    fn the_lone_v_path_agrees_with_quick_xml() {
        let cases = [
            " V=\"1\"",
            " V='a b' ",
            "\tV=\"x\"\r\n",
            " V=\"a&amp;b\"",
            " V=\"\"",
            " V=\"1\" W=\"2\"",
            " V = \"1\"",
            "\x0cV=\"1\"",
            " V=\"1\"x",
            " V=\"1",
            " V=1",
            " W=\"1\"",
            " VV=\"1\"",
            "V=\"1\"",
            "",
        ];
        let mut quick = 0;
        for raw in cases {
            let content = format!("X{raw}");
            let start = quick_xml::events::BytesStart::from_content(content.as_str(), 1);
            let Some(value) = lone_v(start.attributes_raw()) else {
                continue;
            };
            quick += 1;
            let attributes: Vec<_> = start.attributes().with_checks(false).collect();
            assert_eq!(attributes.len(), 1, "{raw:?}");
            let attribute = attributes[0].as_ref().expect("attribut lisible");
            assert_eq!(attribute.key.as_ref(), b"V", "{raw:?}");
            assert_eq!(attribute.value.as_ref(), value, "{raw:?}");
        }
        // The usual shapes do take the quick path.
        assert_eq!(quick, 5);
    }

    /// Values that need decoding or normalising still get it: references, white space, Latin-1.
    #[test]
    fn values_are_decoded_and_normalised() {
        let value = |v: &str| {
            read_summary(root_with(&format!("V=\"{v}\"")).as_bytes())
                .expect("lu")
                .entete
                .id_post
        };
        assert_eq!(value("034000").as_deref(), Some("034000"));
        assert_eq!(value("a&amp;b").as_deref(), Some("a&b"));
        assert_eq!(value("a\tb\nc").as_deref(), Some("a b c"));
        let latin1 = root_with("V=\"\u{e9}t\u{e9}\"");
        let bytes: Vec<u8> = latin1
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
            .collect();
        let summary = read_summary(bytes.as_slice()).expect("lu");
        assert_eq!(summary.entete.id_post.as_deref(), Some("\u{e9}t\u{e9}"));
    }

    /// Every value the direct decoding takes is decoded as encoding_rs and quick-xml's
    /// normalisation decode it, in UTF-8 and in windows-1252 (ISO-8859-1's reading).
    #[test]
    fn plain_values_decode_as_quick_xml_decodes_them() {
        let samples: [&[u8]; 9] = [
            b"034000",
            b"",
            b"a b",
            b"\xe9t\xe9",
            b"\xc3\xa9t\xc3\xa9",
            b"\x80\x9f",
            b"a&amp;b",
            b"a\tb",
            b"\xff\xfe",
        ];
        let mut direct = 0;
        for label in ["UTF-8", "ISO-8859-1"] {
            // A reader that read the declaration: its decoder is the one the summary uses.
            let declaration = format!("<?xml version=\"1.0\" encoding=\"{label}\"?><a/>");
            let mut reader = quick_xml::Reader::from_reader(declaration.as_bytes());
            reader.read_event().expect("déclaration");
            let decoder = reader.decoder();
            for raw in samples {
                let Some(plain) = super::plain_value(decoder.encoding(), raw) else {
                    continue;
                };
                direct += 1;
                let attribute = quick_xml::events::attributes::Attribute {
                    key: quick_xml::name::QName(b"V"),
                    value: std::borrow::Cow::Borrowed(raw),
                };
                let decoded = attribute
                    .decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, decoder)
                    .expect("décodable");
                assert_eq!(plain, decoded, "{raw:?} en {label}");
            }
        }
        // ASCII, UTF-8 and windows-1252 values are taken directly (not invalid UTF-8).
        assert_eq!(direct, 11);
    }

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
