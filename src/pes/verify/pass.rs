//! The streaming pass: reads the document once, notes every `Id` and every bordereau, hands each
//! target element to the hashing thread and captures each `ds:Signature` (in canonical form,
//! with its `SignedInfo` and inner elements), sending it with its target's digests to come to
//! the thread that checks signatures.

use super::digests::{Digests, DigestsLater, MultiHash, Pair, TargetHash, exclusive, inclusive};
use super::prescan::{Needs, nothing_left_to_verify};
use super::verdict::VerifyError;
use crate::messages::tf;
use crate::pes::hashing::{NotFed, TargetHasher};
use crate::pes::xades::NS_DS;
use crate::xml::{C14nError, Canonicalizer, XmlReader};
use quick_xml::events::Event;
use std::collections::HashMap;

/// Where an element stands in a PES_Aller, as far as signatures are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The document's root `PES_Aller`: a global signature's parent.
    Root,
    /// `PES_DepenseAller` or `PES_RecetteAller` under the root.
    Domain,
    /// A `Bordereau` of a domain: where a bordereau signature stands.
    Bordereau,
    /// Anywhere else (an unknown element, `Enveloppe`, a PJ, a bordereau nested elsewhere…).
    Other,
}

impl Place {
    /// The place of an element named `local`, child of an element at `parent` (None: the root).
    fn of(local: &str, parent: Option<Place>) -> Place {
        match (parent, local) {
            (None, "PES_Aller") => Place::Root,
            (Some(Place::Root), "PES_DepenseAller" | "PES_RecetteAller") => Place::Domain,
            (Some(Place::Domain), "Bordereau") => Place::Bordereau,
            _ => Place::Other,
        }
    }
}

/// An open element of the document.
struct Frame {
    id: Option<String>,
    /// The element is a target, hashed by the [`TargetHasher`].
    hashed: bool,
    place: Place,
    /// Its local name is `Bordereau` (wherever it stands).
    named_bordereau: bool,
}

/// Every `Id` of the document, to find those used twice (a signature's reference would then be
/// ambiguous: the wrapping attacks rely on it). Kept as 128 bits of their SHA-256, so that memory
/// does not follow the values' lengths.
#[derive(Default)]
pub(in crate::pes) struct IdRegister {
    seen: std::collections::HashSet<[u8; 16]>,
    /// Ids met twice (the first few, for the report).
    pub(super) repeated: Vec<String>,
    /// More Ids than [`MAX_IDS`]: the file is refused.
    pub(super) too_many: bool,
}

/// Beyond this many `Id`s a file is refused (a PES has a handful per bordereau).
pub(in crate::pes) const MAX_IDS: usize = 1_000_000;
/// Repeated Ids named in the report, at most.
const REPEATED_IDS_REPORTED: usize = 20;

impl IdRegister {
    /// The first Id met twice, if any.
    pub(in crate::pes) fn first_repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }

    /// More Ids than are kept: uniqueness could not be checked.
    pub(in crate::pes) fn too_many(&self) -> bool {
        self.too_many
    }

    pub(in crate::pes) fn note(&mut self, id: &str) {
        if self.too_many {
            return;
        }
        let digest = openssl::sha::sha256(id.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        if !self.seen.insert(key) {
            if self.repeated.len() < REPEATED_IDS_REPORTED && !self.repeated.iter().any(|r| r == id)
            {
                self.repeated.push(id.to_owned());
            }
        } else if self.seen.len() > MAX_IDS {
            self.too_many = true;
            self.seen = Default::default();
        }
    }
}

/// What the reading learnt of the document as a whole, beside its signatures.
#[derive(Default)]
pub(super) struct DocumentFacts {
    pub(super) ids: IdRegister,
    /// Bordereaux (of a domain) with no signature of their own: their Ids, or their rank.
    pub(super) unsigned_bordereaux: Vec<String>,
    /// Some signature stands on the root (a global signature).
    pub(super) root_signed: bool,
    /// Bordereaux (of a domain) met.
    bordereaux: usize,
}

/// Unsigned bordereaux named in the report, at most.
const UNSIGNED_REPORTED: usize = 1_000;

impl DocumentFacts {
    /// The bordereau just met (the last counted) has no signature of its own.
    fn note_unsigned(&mut self, id: Option<&str>) {
        if self.unsigned_bordereaux.len() < UNSIGNED_REPORTED {
            let label = bordereau_label(id, self.bordereaux);
            self.unsigned_bordereaux.push(label);
        }
    }
}

/// A signature being read.
struct Capture {
    id: Option<String>,
    /// Index in the frame stack of the element containing the signature.
    parent: usize,
    depth: usize,
    full: Canonicalizer<Vec<u8>>,
    signed_info: Option<Pair<Vec<u8>>>,
    signed_info_done: Option<(Vec<u8>, Vec<u8>)>,
    /// Elements with an Id inside the signature (SignedProperties).
    inner: Vec<(String, Pair<Vec<u8>>)>,
    inner_done: HashMap<String, Digests>,
    /// Two elements inside the signature have the same Id.
    inner_repeated: bool,
}

/// A signature read, waiting for its target's digests.
pub(super) struct Pending {
    pub(super) id: Option<String>,
    parent: usize,
    pub(super) full: Vec<u8>,
    pub(super) signed_info: (Vec<u8>, Vec<u8>),
    pub(super) inner: HashMap<String, Digests>,
    pub(super) inner_repeated: bool,
}

/// The element a group of signatures stands in.
pub(super) struct Parent {
    pub(super) id: Option<String>,
    pub(super) place: Place,
}

/// Signatures read on one element, the element, and its digests to come (None when the
/// signatures have no target in the document).
pub(super) type ToCheck = (Vec<Pending>, Parent, Option<DigestsLater>);

/// Reads the document, handing each signature to `to_check` with its target's digests to come;
/// the targets are hashed on a thread of their own ([`TargetHasher`]).
pub(super) fn read_signatures<R: std::io::Read>(
    input: R,
    needs: Option<&Needs>,
    to_check: &std::sync::mpsc::Sender<ToCheck>,
) -> Result<DocumentFacts, VerifyError> {
    let mut reader = XmlReader::new(input)?;
    std::thread::scope(|threads| {
        let mut hasher = TargetHasher::spawn(threads);
        let mut facts = DocumentFacts::default();
        let read = read_events(&mut reader, needs, to_check, &mut hasher, &mut facts);
        let hashed = hasher.finish();
        // An error of the hashing thread comes first: the reading stopped because of it.
        hashed.map_err(|(at, e)| e.or_at(reader.position_at(at)))?;
        read.map(|()| facts)
    })
}

fn read_events<R: std::io::Read>(
    reader: &mut XmlReader<R>,
    needs: Option<&Needs>,
    to_check: &std::sync::mpsc::Sender<ToCheck>,
    hasher: &mut TargetHasher<TargetHash>,
    facts: &mut DocumentFacts,
) -> Result<(), VerifyError> {
    // SHA-1 only when the prescan saw it named (or without a prescan).
    let hashes = || MultiHash::new(needs.is_none_or(|n| n.sha1));
    let mut frames: Vec<Frame> = Vec::new();
    let mut capture: Option<Capture> = None;
    let mut pending: Vec<Pending> = Vec::new();
    // For stopping early: signatures met and `Bordereau` elements closed so far, and the root's
    // name as written.
    let mut signatures_seen = 0usize;
    let mut bordereaux_closed = 0usize;
    let mut root_qname: Option<String> = None;
    loop {
        let (event, info) = reader.read_event_with_info()?;
        if matches!(event, Event::Eof) {
            break;
        }
        // Located only on error; names, Ids and namespace contexts only for start tags (the
        // only events that look at them).
        let at = || info.position();
        let is_start = matches!(event, Event::Start(_));
        let is_tag = is_start || matches!(event, Event::Empty(_));
        // Borrowed: a start tag costs no allocation unless it is kept (an Id).
        let name = is_tag.then(|| info.element_name()).flatten();
        let id_attribute = is_tag.then(|| info.attribute("Id")).flatten();
        let id = id_attribute.filter(|_| is_start).map(str::to_owned);
        let context = || info.apex_context();
        // The start tag as the reader parsed and checked it, handed to the canonicalisers.
        let tag = info.start_tag();
        if is_tag {
            if let Some(value) = id_attribute {
                facts.ids.note(value);
            }
            if root_qname.is_none() {
                root_qname = tag.map(|t| t.qname().to_owned());
            }
            let local = name.map(|(_, l)| l).unwrap_or("");
            if local == "Bordereau" && !is_start {
                bordereaux_closed += 1;
            }
            if let Some((Some(ns), local)) = name
                && ns == NS_DS
                && local == "Signature"
            {
                signatures_seen += 1;
            }
            // An empty bordereau of a domain carries no signature.
            if !is_start
                && capture.is_none()
                && Place::of(local, frames.last().map(|f| f.place)) == Place::Bordereau
            {
                facts.bordereaux += 1;
                facts.note_unsigned(id_attribute);
            }
        }
        // Entering a signature?
        if let (Event::Start(_), Some((Some(ns), local)), None) = (&event, name, &capture)
            && ns == NS_DS
            && local == "Signature"
        {
            capture = Some(Capture {
                id: id.clone(),
                parent: frames.len().saturating_sub(1),
                depth: frames.len(),
                full: Canonicalizer::subtree(&inclusive(), &context(), Vec::new()),
                signed_info: None,
                signed_info_done: None,
                inner: Vec::new(),
                inner_done: HashMap::new(),
                inner_repeated: false,
            });
        }
        // Targets: the root and bordereaux with an Id, outside signatures.
        if let Event::Start(_) = &event {
            let local = name.map(|(_, l)| l).unwrap_or("");
            let place = if capture.is_some() {
                Place::Other
            } else {
                Place::of(local, frames.last().map(|f| f.place))
            };
            if place == Place::Bordereau {
                facts.bordereaux += 1;
            }
            let is_target = capture.is_none()
                && id
                    .as_ref()
                    .is_some_and(|i| needs.is_none_or(|n| n.ids.contains(i)))
                && ((frames.is_empty() && local == "PES_Aller") || local == "Bordereau");
            if is_target {
                hasher.open(TargetHash {
                    exc: Canonicalizer::subtree(&exclusive(), &context(), hashes())
                        .exclude_signature_children(true),
                    inc: needs.is_none_or(|n| n.inclusive).then(|| {
                        Canonicalizer::subtree(&inclusive(), &context(), hashes())
                            .exclude_signature_children(true)
                    }),
                });
            }
            frames.push(Frame {
                id: id.clone(),
                hashed: is_target,
                place,
                named_bordereau: local == "Bordereau",
            });
        }
        if let Some(c) = capture.as_mut() {
            if let Event::Start(_) = &event {
                let local = name.map(|(_, l)| l).unwrap_or("");
                // The SignedInfo is the signature's first child; nothing deeper is taken for it.
                if local == "SignedInfo"
                    && frames.len() == c.depth + 2
                    && c.signed_info.is_none()
                    && c.signed_info_done.is_none()
                {
                    c.signed_info = Some(Pair {
                        exc: Canonicalizer::subtree(&exclusive(), &context(), Vec::new()),
                        inc: Canonicalizer::subtree(&inclusive(), &context(), Vec::new()),
                    });
                }
                if let Some(inner_id) = &id
                    && frames.len() > c.depth + 1
                {
                    c.inner.push((
                        inner_id.clone(),
                        Pair {
                            exc: Canonicalizer::subtree(&exclusive(), &context(), Vec::new()),
                            inc: Canonicalizer::subtree(&inclusive(), &context(), Vec::new()),
                        },
                    ));
                }
            }
            c.full.feed_parsed(&event, tag).map_err(|e| e.or_at(at()))?;
            if let Some(si) = c.signed_info.as_mut()
                && si.feed(&event, tag).map_err(|e| e.or_at(at()))?
            {
                let si = c
                    .signed_info
                    .take()
                    .ok_or(C14nError::Usage(String::new()))?;
                c.signed_info_done = Some((si.exc.finish()?, si.inc.finish()?));
            }
            let mut finished = Vec::new();
            for (i, (_, pair)) in c.inner.iter_mut().enumerate() {
                if pair.feed(&event, tag).map_err(|e| e.or_at(at()))? {
                    finished.push(i);
                }
            }
            for i in finished.into_iter().rev() {
                let (inner_id, pair) = c.inner.remove(i);
                let exc = pair.exc.finish()?;
                let inc = pair.inc.finish()?;
                if c.inner_done
                    .insert(inner_id, Digests::from_bytes(&exc, &inc))
                    .is_some()
                {
                    c.inner_repeated = true;
                }
            }
        }
        if hasher.is_hashing() {
            match hasher.feed(&event, tag, info.offset()) {
                Ok(()) => {}
                // The hashing thread stopped on an error, which the caller reports.
                Err(NotFed::Stopped) => return Ok(()),
                Err(NotFed::Refused(e)) => return Err(e.or_at(at()).into()),
            }
        }
        if let Event::End(_) = &event {
            // Leaving the signature?
            if capture
                .as_ref()
                .is_some_and(|c| c.depth + 1 == frames.len())
            {
                let c = capture.take().ok_or(C14nError::Usage(String::new()))?;
                let full = c.full.finish()?;
                pending.push(Pending {
                    id: c.id,
                    parent: c.parent,
                    full,
                    signed_info: c.signed_info_done.unwrap_or_default(),
                    inner: c.inner_done,
                    inner_repeated: c.inner_repeated,
                });
            }
            let index = frames.len().saturating_sub(1);
            let frame = frames.pop().ok_or(C14nError::Usage(String::new()))?;
            if frame.named_bordereau {
                bordereaux_closed += 1;
            }
            let digests = if frame.hashed {
                match hasher.close(info.offset()) {
                    Ok(later) => Some(later),
                    // As above: the caller reports the hashing thread's error.
                    Err(_) => return Ok(()),
                }
            } else {
                None
            };
            // Most elements close with no signature waiting on them: no allocation then.
            let mine: Vec<Pending> = if pending.iter().any(|p| p.parent == index) {
                let (mine, others) = std::mem::take(&mut pending)
                    .into_iter()
                    .partition(|p| p.parent == index);
                pending = others;
                mine
            } else {
                Vec::new()
            };
            match frame.place {
                Place::Root if !mine.is_empty() => facts.root_signed = true,
                Place::Bordereau if mine.is_empty() => {
                    facts.note_unsigned(frame.id.as_deref());
                }
                _ => {}
            }
            if !mine.is_empty() {
                let parent = Parent {
                    id: frame.id,
                    place: frame.place,
                };
                // The checker only stops when this side drops the channel.
                let _ = to_check.send((mine, parent, digests));
            }
            if needs.is_some_and(|n| {
                nothing_left_to_verify(n, signatures_seen, root_qname.as_deref())
                    && bordereaux_closed == n.bordereaux
                    && n.ids_unique_for_sure()
            }) && capture.is_none()
                && pending.is_empty()
                && !hasher.is_hashing()
            {
                // Every signature and every bordereau of the file is read, no digest is under
                // way, and the prescan proved every Id of the file unique: the rest (the PES_PJ,
                // most of a PES's bytes) is covered by no signature and is not parsed. The
                // prescan saw the file end with the root's end tag, so a truncated file still
                // goes the whole way and fails where it breaks.
                break;
            }
        }
    }
    if !pending.is_empty() {
        let parent = Parent {
            id: None,
            place: Place::Other,
        };
        let _ = to_check.send((pending, parent, None));
    }
    Ok(())
}

/// How a bordereau is named in the report: its Id, else its rank in the file.
fn bordereau_label(id: Option<&str>, rank: usize) -> String {
    match id {
        Some(id) => id.to_owned(),
        None => tf(
            "verification.bordereau_sans_id",
            &[("rang", &rank.to_string())],
        ),
    }
}
