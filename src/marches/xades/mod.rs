//! XAdES signatures of a bid's documents, as i-Parapheur v5 (the DSS library), xmlsec1 and
//! other tools make them:
//!
//! - detached, the document named by a reference `URI="offre.pdf"` beside the signature, or by a
//!   reference **without URI** (DSS), whose document is given or found by the caller;
//! - enveloping, the document inside the signature (`ds:Object` with an `Id`, taken as XML or
//!   through the base64 transform).
//!
//! The signature file is small and read whole (bounded by the caller), twice: once to read the
//! structure, once per element to canonicalise (the `SignedInfo`, the `SignedProperties`, the
//! enveloped objects). The documents are hashed as streams.
//!
//! Here: what is read of a signature (`Signature`, `Reference`, `Properties`) and what a caller
//! asks of the file; reading it is `read`, re-reading elements in canonical form `canonical`,
//! checking each signature `check`, the references' digests `digests`, and the algorithms by
//! their URIs `algorithms`.

mod algorithms;
mod canonical;
mod check;
mod digests;
mod read;

use algorithms::digest_algorithm;

use super::verify::DocumentDigest;
use std::collections::HashMap;
use std::path::Path;

const XADES_132: &str = "http://uri.etsi.org/01903/v1.3.2#";
const XADES_141: &str = "http://uri.etsi.org/01903/v1.4.1#";
const XADES_111: &str = "http://uri.etsi.org/01903/v1.1.1#";
const BASE64_TRANSFORM: &str = "http://www.w3.org/2000/09/xmldsig#base64";
const ENVELOPED_TRANSFORM: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// Elements and Ids kept for one file: beyond, the file is refused.
const MAX_ELEMENTS: usize = 1_000_000;
const MAX_SIGNATURES: usize = 100;
/// References read per signature: each costs a reading of the file.
const MAX_REFERENCES: usize = 32;
/// Bytes re-read from the file to canonicalise its elements, all signatures together: what a
/// file of many signatures or references may cost before it is refused.
const MAX_WORK: u64 = 1 << 30;

#[derive(Default, Debug)]
struct Reference {
    uri: Option<String>,
    /// Transforms: algorithm and InclusiveNamespaces prefixes.
    transforms: Vec<(String, Vec<String>)>,
    digest_method: String,
    digest_value: String,
}

#[derive(Default, Debug)]
struct Properties {
    id: Option<String>,
    target: Option<String>,
    signing_time: Option<String>,
    /// `(algorithm, value)` of each `Cert/CertDigest` of SigningCertificate(V2).
    cert_digests: Vec<(String, String)>,
}

/// One `ds:Signature` of the file, as read.
#[derive(Default, Debug)]
struct Signature {
    id: Option<String>,
    /// Rank (among all elements of the file) of its first `SignedInfo`.
    signed_info_at: Option<usize>,
    signed_infos: usize,
    c14n: Option<(String, Vec<String>)>,
    signature_method: Option<String>,
    references: Vec<Reference>,
    signature_value: String,
    certificates: Vec<String>,
    properties: Vec<Properties>,
    /// More references than [`MAX_REFERENCES`]: the signature is not checked.
    too_many_references: bool,
    /// Rank of its `ds:SignatureValue`, what a signature timestamp covers.
    signature_value_at: Option<usize>,
    /// `SignatureTimeStamp`s of its unsigned properties: canonicalisation and token (base64).
    timestamps: Vec<(Option<String>, String)>,
}

/// Timestamps read per signature.
const MAX_TIMESTAMPS: usize = 4;

/// Whether `rel` (names from the signature down) is the place of the unsigned signature
/// properties, followed by `rest`.
fn in_unsigned(rel: &[Name], rest: &[&str]) -> bool {
    rel.len() == 5 + rest.len()
        && is(&rel[1], "Object")
        && is_x(&rel[2], "QualifyingProperties")
        && is_x(&rel[3], "UnsignedProperties")
        && is_x(&rel[4], "UnsignedSignatureProperties")
        && rel[5..].iter().zip(rest).all(|(n, r)| is_x(n, r))
}

/// A file of XML signatures, read.
pub(super) struct XadesFile {
    bytes: Vec<u8>,
    signatures: Vec<Signature>,
    /// Id value → ranks of the elements that carry it.
    ids: HashMap<String, Vec<usize>>,
    /// Bytes re-read so far (see [`MAX_WORK`]).
    work: std::cell::Cell<u64>,
}

/// Local name and whether it is in the XML-DSig or a XAdES namespace.
#[derive(Clone, PartialEq)]
enum Name {
    Ds(String),
    Xades(String),
    Other,
}

fn is(name: &Name, ds: &str) -> bool {
    matches!(name, Name::Ds(n) if n == ds)
}

fn is_x(name: &Name, x: &str) -> bool {
    matches!(name, Name::Xades(n) if n == x)
}

impl XadesFile {
    pub(super) fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// The digests the detached document must have (references without URI or to a file), to
    /// find it among the files beside the signature.
    pub(super) fn document_digests(&self) -> Vec<DocumentDigest> {
        self.signatures
            .iter()
            .flat_map(|s| &s.references)
            .filter(|r| is_external(r))
            .filter_map(|r| {
                Some(DocumentDigest {
                    md: digest_algorithm(&r.digest_method)?,
                    value: crate::pes::decode_base64(&r.digest_value)?,
                })
            })
            .collect()
    }

    /// Whether some reference designates a document outside the file.
    pub(super) fn is_detached(&self) -> bool {
        self.signatures
            .iter()
            .flat_map(|s| &s.references)
            .any(is_external)
    }

    /// Whether some reference has no URI: its document must be given or found.
    pub(super) fn needs_document(&self) -> bool {
        self.signatures
            .iter()
            .flat_map(|s| &s.references)
            .any(|r| r.uri.is_none())
    }

    /// The file beside `signature` a reference names (`URI="offre.pdf"`), if any.
    pub(super) fn referenced_file(&self, signature: &Path) -> Option<std::path::PathBuf> {
        let uri = self
            .signatures
            .iter()
            .flat_map(|s| &s.references)
            .filter(|r| is_external(r))
            .find_map(|r| r.uri.as_deref())?;
        Some(signature.with_file_name(file_name_of(uri)?))
    }
}

/// A reference to data outside the signature file: no URI, or a URI that is not `#…` nor `""`.
fn is_external(r: &Reference) -> bool {
    match r.uri.as_deref() {
        None => true,
        Some(u) => !u.is_empty() && !u.starts_with('#'),
    }
}

/// A plain file name from a reference URI (percent-decoded), or None if it would leave the folder.
fn file_name_of(uri: &str) -> Option<String> {
    let bytes = uri.as_bytes();
    let mut name = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            name.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            name.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(name).ok()?;
    let name = name.strip_prefix("file:").unwrap_or(&name).to_owned();
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', ':']) {
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_references_stay_in_their_folder() {
        assert_eq!(
            file_name_of("offre%20finale.pdf").as_deref(),
            Some("offre finale.pdf")
        );
        assert_eq!(file_name_of("../secret").as_deref(), None);
        assert_eq!(file_name_of("/etc/passwd").as_deref(), None);
        assert_eq!(file_name_of("").as_deref(), None);
    }
}
