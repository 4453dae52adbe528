//! The digest of what a reference designates: an element of the signature file (canonical
//! form, or base64-decoded), or the detached document beside it.

use super::{BASE64_TRANSFORM, ENVELOPED_TRANSFORM, Reference, XadesFile, file_name_of};
use crate::messages::{t, tf};
use crate::xml::{C14nError, C14nMode};
use openssl::hash::MessageDigest;
use std::path::Path;

impl XadesFile {
    /// The digest of a same-document reference `#id` (signed properties, enveloped object).
    pub(super) fn internal_digest(
        &self,
        r: &Reference,
        md: MessageDigest,
    ) -> Result<Vec<u8>, String> {
        let uri = r.uri.as_deref().unwrap_or_default();
        let Some(id) = uri.strip_prefix('#') else {
            // `URI=""` (the whole document, enveloped) or xpointer: not a form of a bid's
            // signature file.
            return Err(tf(
                "marches.xades.reference_non_prise_en_charge",
                &[("uri", uri)],
            ));
        };
        let at = self.element_with_id(id)?;
        let mut mode = C14nMode::Inclusive {
            with_comments: false,
        };
        let mut base64 = false;
        let mut enveloped = false;
        for (algorithm, prefixes) in &r.transforms {
            if algorithm == BASE64_TRANSFORM {
                base64 = true;
            } else if algorithm == ENVELOPED_TRANSFORM {
                enveloped = true;
            } else if let Some(m) = C14nMode::from_algorithm(algorithm, prefixes) {
                mode = m;
            } else {
                return Err(tf(
                    "marches.xades.transformation",
                    &[("algorithme", algorithm), ("uri", uri)],
                ));
            }
        }
        let illegible = |e: C14nError| tf("marches.xades.illisible", &[("detail", &e.to_string())]);
        if base64 {
            let text = self.text_of(at).map_err(illegible)?;
            let bytes = crate::pes::decode_base64(&text)
                .ok_or_else(|| tf("marches.xades.base64", &[("uri", uri)]))?;
            return openssl::hash::hash(md, &bytes)
                .map(|d| d.to_vec())
                .map_err(|e| e.to_string());
        }
        {
            // A bare-name reference drops comments whatever the algorithm.
            let mode = match mode {
                C14nMode::Inclusive { .. } => C14nMode::Inclusive {
                    with_comments: false,
                },
                C14nMode::Exclusive {
                    inclusive_prefixes, ..
                } => C14nMode::Exclusive {
                    with_comments: false,
                    inclusive_prefixes,
                },
            };
            let hasher = openssl::hash::Hasher::new(md).map_err(|e| e.to_string())?;
            let mut hasher = self
                .canonical(at, &mode, enveloped, hasher)
                .map_err(illegible)?;
            hasher
                .finish()
                .map(|d| d.to_vec())
                .map_err(|e| e.to_string())
        }
    }

    /// The digest of the detached document: the one given, else (reference to a file name) the
    /// file of that name beside the signature, nothing that leaves its folder.
    pub(super) fn external_digest(
        &self,
        r: &Reference,
        md: MessageDigest,
        document: Option<&Path>,
        explicit: bool,
        base: &Path,
    ) -> Result<Vec<u8>, String> {
        if let Some(t) = r.transforms.first() {
            return Err(tf(
                "marches.xades.transformation",
                &[
                    ("algorithme", &t.0),
                    ("uri", r.uri.as_deref().unwrap_or("")),
                ],
            ));
        }
        let path = match r.uri.as_deref().filter(|u| !u.is_empty()) {
            Some(uri) if !explicit => base.join(
                file_name_of(uri)
                    .ok_or_else(|| tf("marches.xades.reference_introuvable", &[("uri", uri)]))?,
            ),
            _ => document
                .map(Path::to_owned)
                .ok_or_else(|| t("marches.xades.sans_document"))?,
        };
        crate::marches::verify::digest_file(&path, md)
            .map_err(|e| tf("marches.verif.document_illisible", &[("detail", &e)]))
    }
}
