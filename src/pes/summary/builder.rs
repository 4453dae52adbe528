//! The summary's pass, event by event: [`SummaryBuilder`] checks what quick-xml lets through and
//! XML forbids, routes each start tag's values to the summary (`on_start`) and closes bordereaux,
//! pieces and PJ at their end tags (`on_end`).

use super::base64_size::Base64Counter;
use super::tags::Tag;
use super::values::{Values, decoded, local_name};
use super::{
    Bordereau, Domaine, ExistingSignature, PesSummary, Piece, PieceJointe, PjReference,
    declares_latin1_early,
};
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};
use crate::pes::amount::Amount;
use crate::pes::{PES_ALLER_NS, PesError};
use crate::xml::OpenNames;
use quick_xml::events::{BytesStart, Event};
use std::collections::HashSet;
use std::io::BufRead;

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
