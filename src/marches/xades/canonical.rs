//! Elements of the signature file re-read in canonical form (the `SignedInfo`, the signed
//! properties, enveloped objects), and found by their `Id`, within a budget of work.

use super::{MAX_WORK, XadesFile};
use crate::messages::{t, tf};
use crate::xml::{C14nError, C14nMode, Canonicalizer, Progress, XmlReader};
use quick_xml::events::Event;

impl XadesFile {
    /// One more reading of the file, within the budget of [`MAX_WORK`].
    pub(super) fn charge(&self) -> Result<(), C14nError> {
        let spent = self.work.get().saturating_add(self.bytes.len() as u64);
        if spent > MAX_WORK {
            return Err(C14nError::malformed(t("marches.xades.trop_de_travail")));
        }
        self.work.set(spent);
        Ok(())
    }

    /// Canonical form of the element of rank `at`, written to `out` as it is computed (a hasher
    /// or a verifier: canonical forms can be much larger than the file, nothing is kept).
    pub(super) fn canonical<W: std::io::Write>(
        &self,
        at: usize,
        mode: &C14nMode,
        enveloped: bool,
        out: W,
    ) -> Result<W, C14nError> {
        self.charge()?;
        let mut reader = XmlReader::new(self.bytes.as_slice())?;
        let mut rank = 0usize;
        let mut out = Some(out);
        let mut canon: Option<Canonicalizer<W>> = None;
        loop {
            let (event, info) = reader.read_event_with_info()?;
            if matches!(event, Event::Eof) {
                break;
            }
            if let Some(c) = canon.as_mut() {
                if c.feed(&event)? == Progress::Done {
                    break;
                }
                continue;
            }
            if matches!(event, Event::Start(_) | Event::Empty(_)) {
                if rank == at
                    && let Some(w) = out.take()
                {
                    let mut c = Canonicalizer::subtree(mode, &info.apex_context(), w)
                        .exclude_signature_children(enveloped);
                    let done = c.feed(&event)? == Progress::Done;
                    canon = Some(c);
                    if done {
                        break;
                    }
                }
                rank += 1;
            }
        }
        match canon {
            Some(c) => c.finish(),
            None => Err(C14nError::malformed(t("marches.xades.element_absent"))),
        }
    }

    /// The text of the element of rank `at` (its string value, descendants included).
    pub(super) fn text_of(&self, at: usize) -> Result<String, C14nError> {
        self.charge()?;
        let mut reader = XmlReader::new(self.bytes.as_slice())?;
        let mut rank = 0usize;
        let mut depth: Option<usize> = None;
        let mut text = String::new();
        loop {
            let (event, _) = reader.read_event_with_info()?;
            match &event {
                Event::Eof => break,
                Event::Start(_) | Event::Empty(_) => {
                    let empty = matches!(event, Event::Empty(_));
                    if let Some(d) = depth.as_mut() {
                        if !empty {
                            *d += 1;
                        }
                    } else if rank == at {
                        if empty {
                            break;
                        }
                        depth = Some(1);
                    }
                    rank += 1;
                }
                Event::End(_) => {
                    if let Some(d) = depth.as_mut() {
                        *d -= 1;
                        if *d == 0 {
                            break;
                        }
                    }
                }
                Event::Text(t) if depth.is_some() => text.push_str(&String::from_utf8_lossy(t)),
                Event::CData(t) if depth.is_some() => text.push_str(&String::from_utf8_lossy(t)),
                Event::GeneralRef(r) if depth.is_some() => {
                    if let Ok(c) = crate::xml::resolve_reference(&String::from_utf8_lossy(r)) {
                        text.push(c);
                    }
                }
                _ => {}
            }
        }
        Ok(text)
    }

    /// The one element carrying `id`, or why not.
    pub(super) fn element_with_id(&self, id: &str) -> Result<usize, String> {
        match self.ids.get(id).map(Vec::as_slice) {
            Some([one]) => Ok(*one),
            Some([]) | None => Err(tf("marches.xades.reference_introuvable", &[("uri", id)])),
            Some(_) => Err(tf("marches.xades.identifiant_double", &[("id", id)])),
        }
    }
}
