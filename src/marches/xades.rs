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

use super::verify::{DocumentDigest, SignatureReport, blank_report, judge_certificate};
use crate::certs::trust::TrustStore;
use crate::certs::{CertificateInfo, iso8601};
use crate::messages::{t, tf};
use crate::xml::{C14nError, C14nMode, Canonicalizer, DSIG_NAMESPACE, Progress, XmlReader};
use openssl::hash::MessageDigest;
use openssl::x509::X509;
use quick_xml::events::Event;
use std::collections::HashMap;
use std::path::Path;
use time::OffsetDateTime;

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

/// A digest algorithm of XML-DSig by its URI.
pub(super) fn digest_algorithm(uri: &str) -> Option<MessageDigest> {
    match uri.trim() {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Some(MessageDigest::sha1()),
        "http://www.w3.org/2001/04/xmldsig-more#sha224" => Some(MessageDigest::sha224()),
        "http://www.w3.org/2001/04/xmlenc#sha256" => Some(MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Some(MessageDigest::sha384()),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

/// How a signature method signs: digest, ECDSA (raw r‖s value), RSA-PSS.
fn signature_algorithm(uri: &str) -> Option<(MessageDigest, bool, bool)> {
    let more = "http://www.w3.org/2001/04/xmldsig-more#";
    let pss = "http://www.w3.org/2007/05/xmldsig-more#";
    let uri = uri.trim();
    if uri == "http://www.w3.org/2000/09/xmldsig#rsa-sha1" {
        return Some((MessageDigest::sha1(), false, false));
    }
    if let Some(name) = uri.strip_prefix(more) {
        let (ecdsa, hash) = match name.split_once('-') {
            Some(("rsa", hash)) => (false, hash),
            Some(("ecdsa", hash)) => (true, hash),
            _ => return None,
        };
        return hash_named(hash).map(|md| (md, ecdsa, false));
    }
    if let Some(name) = uri.strip_prefix(pss) {
        let hash = name.strip_suffix("-rsa-MGF1")?;
        return hash_named(hash).map(|md| (md, false, true));
    }
    None
}

fn hash_named(name: &str) -> Option<MessageDigest> {
    match name {
        "sha1" => Some(MessageDigest::sha1()),
        "sha224" => Some(MessageDigest::sha224()),
        "sha256" => Some(MessageDigest::sha256()),
        "sha384" => Some(MessageDigest::sha384()),
        "sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

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
    /// Read the structure of the signatures of `bytes` (strict XML, no DOCTYPE).
    pub(super) fn parse(bytes: Vec<u8>) -> Result<XadesFile, C14nError> {
        let mut signatures: Vec<Signature> = Vec::new();
        let mut ids: HashMap<String, Vec<usize>> = HashMap::new();
        {
            let mut reader = XmlReader::new(bytes.as_slice())?;
            // Names of the open elements; the depth of the signature being read.
            let mut path: Vec<Name> = Vec::new();
            let mut in_signature: Option<usize> = None;
            let mut in_properties = false;
            let mut target: Option<String> = None;
            let mut text = String::new();
            let mut rank = 0usize;
            loop {
                let (event, info) = reader.read_event_with_info()?;
                match &event {
                    Event::Eof => break,
                    Event::Start(_) | Event::Empty(_) => {
                        text.clear();
                        let here = rank;
                        rank += 1;
                        if rank > MAX_ELEMENTS {
                            return Err(C14nError::malformed(t("marches.xades.trop_d_elements")));
                        }
                        let (ns, local) = info.element_name().unwrap_or((None, ""));
                        let name = match ns {
                            Some(DSIG_NAMESPACE) => Name::Ds(local.to_owned()),
                            Some(XADES_132 | XADES_141 | XADES_111) => {
                                Name::Xades(local.to_owned())
                            }
                            _ => Name::Other,
                        };
                        for key in ["Id", "ID", "id"] {
                            if let Some(v) = info.attribute(key) {
                                ids.entry(v.to_owned()).or_default().push(here);
                            }
                        }
                        let attribute = |k: &str| info.attribute(k).map(str::to_owned);
                        let algorithm = attribute("Algorithm");
                        match in_signature {
                            None if is(&name, "Signature") => {
                                if signatures.len() >= MAX_SIGNATURES {
                                    return Err(C14nError::malformed(t(
                                        "marches.xades.trop_de_signatures",
                                    )));
                                }
                                in_signature = Some(path.len());
                                signatures.push(Signature {
                                    id: attribute("Id"),
                                    ..Default::default()
                                });
                            }
                            Some(base) => {
                                let rel = &path[base..];
                                if let Some(sig) = signatures.last_mut() {
                                    read_start(
                                        sig,
                                        rel,
                                        &name,
                                        here,
                                        algorithm,
                                        &attribute,
                                        &mut in_properties,
                                        &mut target,
                                        info.start_tag()
                                            .and_then(|t| t.attribute("PrefixList"))
                                            .map(str::to_owned),
                                    );
                                }
                            }
                            None => {}
                        }
                        if matches!(event, Event::Start(_)) {
                            path.push(name);
                        } else if in_signature == Some(path.len()) {
                            in_signature = None;
                        }
                    }
                    Event::Text(t) => text.push_str(&String::from_utf8_lossy(t)),
                    Event::CData(t) => text.push_str(&String::from_utf8_lossy(t)),
                    Event::GeneralRef(r) => {
                        if let Ok(c) = crate::xml::resolve_reference(&String::from_utf8_lossy(r)) {
                            text.push(c);
                        }
                    }
                    Event::End(_) => {
                        let value = std::mem::take(&mut text);
                        if let (Some(base), Some(sig)) = (in_signature, signatures.last_mut()) {
                            let rel = &path[base..];
                            read_end(sig, rel, value, &mut in_properties);
                        }
                        path.pop();
                        if in_signature == Some(path.len()) {
                            in_signature = None;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(XadesFile {
            bytes,
            signatures,
            ids,
            work: std::cell::Cell::new(0),
        })
    }

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

    /// One more reading of the file, within the budget of [`MAX_WORK`].
    fn charge(&self) -> Result<(), C14nError> {
        let spent = self.work.get().saturating_add(self.bytes.len() as u64);
        if spent > MAX_WORK {
            return Err(C14nError::malformed(t("marches.xades.trop_de_travail")));
        }
        self.work.set(spent);
        Ok(())
    }

    /// Canonical form of the element of rank `at`, written to `out` as it is computed (a hasher
    /// or a verifier: canonical forms can be much larger than the file, nothing is kept).
    fn canonical<W: std::io::Write>(
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
    fn text_of(&self, at: usize) -> Result<String, C14nError> {
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
    fn element_with_id(&self, id: &str) -> Result<usize, String> {
        match self.ids.get(id).map(Vec::as_slice) {
            Some([one]) => Ok(*one),
            Some([]) | None => Err(tf("marches.xades.reference_introuvable", &[("uri", id)])),
            Some(_) => Err(tf("marches.xades.identifiant_double", &[("id", id)])),
        }
    }

    /// Check every signature of the file. `document` is the detached document (references
    /// without URI, or to a file when given explicitly); `base` the folder where a reference
    /// to a file name is looked for.
    pub(super) fn verify(
        &self,
        file: &Path,
        document: Option<&Path>,
        explicit: bool,
        trust: Option<&TrustStore>,
    ) -> Vec<SignatureReport> {
        let base = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        self.signatures
            .iter()
            .map(|sig| self.verify_one(sig, file, document, explicit, base, trust))
            .collect()
    }

    fn verify_one(
        &self,
        sig: &Signature,
        file: &Path,
        document: Option<&Path>,
        explicit: bool,
        base: &Path,
        trust: Option<&TrustStore>,
    ) -> SignatureReport {
        let detached = sig.references.iter().any(is_external);
        let format = if detached {
            t("marches.xades.detachee")
        } else {
            t("marches.xades.enveloppante")
        };
        let mut report = blank_report(file, document.filter(|_| detached).unwrap_or(file), &format);
        if sig.too_many_references {
            report.raisons.push(tf(
                "marches.xades.trop_de_references",
                &[("n", &MAX_REFERENCES.to_string())],
            ));
            return report;
        }
        let mut integrity = true;
        if sig.signed_infos != 1 {
            integrity = false;
            report.raisons.push(t("marches.xades.signed_info"));
        }
        // The signed properties: the one SignedProperties a reference names.
        let referenced: Vec<&Properties> = sig
            .properties
            .iter()
            .filter(|p| {
                p.id.as_deref().is_some_and(|id| {
                    sig.references
                        .iter()
                        .any(|r| r.uri.as_deref().and_then(|u| u.strip_prefix('#')) == Some(id))
                })
            })
            .collect();
        let props = match referenced.as_slice() {
            [one] => Some(*one),
            [] => {
                report.raisons.push(t("marches.xades.sans_proprietes"));
                None
            }
            _ => {
                report.raisons.push(t("marches.xades.proprietes_en_double"));
                None
            }
        };
        let mut covers_data = 0usize;
        for r in &sig.references {
            let uri_text = r.uri.clone().unwrap_or_default();
            let Some(md) = digest_algorithm(&r.digest_method) else {
                integrity = false;
                report.raisons.push(tf(
                    "marches.xades.algorithme_empreinte",
                    &[("algorithme", r.digest_method.trim()), ("uri", &uri_text)],
                ));
                continue;
            };
            let is_props = props.is_some_and(|p| {
                p.id.as_deref().is_some()
                    && r.uri.as_deref().and_then(|u| u.strip_prefix('#')) == p.id.as_deref()
            });
            if !is_props {
                covers_data += 1;
            }
            let computed = if is_external(r) {
                self.external_digest(r, md, document, explicit, base)
            } else {
                self.internal_digest(r, md)
            };
            let computed = match computed {
                Ok(c) => c,
                Err(reason) => {
                    integrity = false;
                    report.raisons.push(reason);
                    continue;
                }
            };
            match crate::pes::decode_base64(&r.digest_value) {
                Some(expected) if expected == computed => {}
                _ if is_external(r) => {
                    integrity = false;
                    report.raisons.push(t("marches.verif.empreinte"));
                }
                _ => {
                    integrity = false;
                    report.raisons.push(tf(
                        "marches.xades.empreinte_reference",
                        &[("uri", &uri_text)],
                    ));
                }
            }
        }
        if covers_data == 0 {
            integrity = false;
            report.raisons.push(t("marches.xades.sans_reference"));
        }
        // The signature value over the canonical SignedInfo, with the first certificate.
        let cert_der = sig
            .certificates
            .first()
            .and_then(|c| crate::pes::decode_base64(c));
        let cert = cert_der.as_deref().and_then(|d| X509::from_der(d).ok());
        let info = cert_der
            .as_deref()
            .and_then(|d| CertificateInfo::from_der(d).ok());
        if let Some(info) = &info {
            report.signataire = Some(info.display_name().to_owned());
            report.emetteur = Some(info.issuer.clone());
            report.qualifie = Some(info.is_qualified());
        }
        match (&cert, sig.signature_method.as_deref()) {
            (None, _) => {
                integrity = false;
                report.raisons.push(t("marches.xades.sans_certificat"));
            }
            (Some(cert), Some(method)) => match signature_algorithm(method) {
                None => {
                    integrity = false;
                    report.raisons.push(tf(
                        "marches.xades.algorithme_signature",
                        &[("algorithme", method.trim())],
                    ));
                }
                Some(alg) => match self.signature_value_ok(sig, cert, alg) {
                    Ok(true) => {}
                    Ok(false) => {
                        integrity = false;
                        report.raisons.push(t("marches.verif.valeur_signature"));
                    }
                    Err(reason) => {
                        integrity = false;
                        report.raisons.push(reason);
                    }
                },
            },
            (Some(_), None) => {
                integrity = false;
                report.raisons.push(tf(
                    "marches.xades.algorithme_signature",
                    &[("algorithme", "")],
                ));
            }
        }
        // The certificate named in the signed properties is the one that signed.
        let mut acceptable = integrity && props.is_some();
        if let (Some(props), Some(cert)) = (props, &cert) {
            if let (Some(target), Some(id)) = (&props.target, &sig.id)
                && target.strip_prefix('#') != Some(id.as_str())
            {
                acceptable = false;
                report.raisons.push(tf(
                    "marches.xades.proprietes_autre_signature",
                    &[("cible", target)],
                ));
            }
            if props.cert_digests.is_empty() {
                acceptable = false;
                report
                    .raisons
                    .push(t("marches.xades.sans_signing_certificate"));
            } else {
                let mut unknown = Vec::new();
                let mut matched = false;
                for (alg, value) in &props.cert_digests {
                    match digest_algorithm(alg) {
                        None => unknown.push(alg.trim().to_owned()),
                        Some(md) => {
                            matched |= cert
                                .digest(md)
                                .ok()
                                .zip(crate::pes::decode_base64(value))
                                .is_some_and(|(d, v)| d.as_ref() == v.as_slice());
                        }
                    }
                }
                if !matched {
                    acceptable = false;
                    if unknown.len() == props.cert_digests.len() {
                        report.raisons.push(tf(
                            "marches.xades.algorithme_certificat",
                            &[("algorithme", &unknown.join(", "))],
                        ));
                    } else {
                        report.raisons.push(t("marches.xades.cert_digest"));
                    }
                }
            }
        }
        report.integrite = integrity;
        // The time: the signer's claim in the signed properties.
        let claimed = props.and_then(|p| p.signing_time.as_deref()).and_then(|s| {
            OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
        });
        report.date_signature = claimed.map(iso8601);
        let (proven, timestamps_ok) = self.signature_timestamps(sig, file, &mut report, trust);
        if let (Some(cert), Some(info)) = (&cert, &info) {
            let extra: Vec<X509> = sig
                .certificates
                .iter()
                .skip(1)
                .filter_map(|c| crate::pes::decode_base64(c))
                .filter_map(|der| X509::from_der(&der).ok())
                .collect();
            judge_certificate(
                &mut report,
                cert,
                info,
                &extra,
                proven,
                claimed,
                &t("marches.xades.source_signing_time"),
                trust,
            );
        }
        report.valide =
            acceptable && timestamps_ok && report.certificat_valide && report.chaine == Some(true);
        report
    }

    /// Check the signature timestamps (XAdES-T) over the canonical `ds:SignatureValue`; the
    /// time of the first that verifies from a trusted authority, and whether all verify.
    fn signature_timestamps(
        &self,
        sig: &Signature,
        file: &Path,
        report: &mut SignatureReport,
        trust: Option<&TrustStore>,
    ) -> (Option<OffsetDateTime>, bool) {
        let mut proven = None;
        let mut all_ok = true;
        for (algorithm, token) in &sig.timestamps {
            let checked = (|| -> Result<super::verify::SignerVerdict, String> {
                let mode = match algorithm.as_deref() {
                    None => C14nMode::Inclusive {
                        with_comments: false,
                    },
                    Some(a) => C14nMode::from_algorithm(a.trim(), &[]).ok_or_else(|| {
                        tf(
                            "marches.xades.canonicalisation",
                            &[("algorithme", a.trim())],
                        )
                    })?,
                };
                let at = sig
                    .signature_value_at
                    .ok_or_else(|| t("marches.xades.sans_valeur"))?;
                let covered = self
                    .canonical(at, &mode, false, Vec::new())
                    .map_err(|e| e.to_string())?;
                let token = crate::pes::decode_base64(token)
                    .ok_or_else(|| t("marches.xades.jeton_illisible"))?;
                super::verify::verify_token(
                    &token,
                    &super::verify::Signed::Bytes(&covered),
                    file,
                    file,
                    trust,
                )
                .map_err(|e| e.to_string())
            })();
            match checked {
                Ok(ts) if ts.report.integrite => {
                    if report.horodatage.is_none() {
                        report.horodatage = ts.gen_time.map(iso8601);
                    }
                    // Only a timestamp of a trusted authority proves the time.
                    if proven.is_none() && ts.report.chaine == Some(true) {
                        proven = ts.gen_time;
                    }
                    if ts.report.chaine == Some(false) {
                        report
                            .raisons
                            .push(t("marches.verif.horodatage_non_fiable"));
                    }
                }
                Ok(ts) => {
                    all_ok = false;
                    report.raisons.push(tf(
                        "marches.verif.horodatage_invalide",
                        &[("detail", &ts.report.raisons.join(" ; "))],
                    ))
                }
                Err(e) => {
                    all_ok = false;
                    report
                        .raisons
                        .push(tf("marches.verif.horodatage_invalide", &[("detail", &e)]))
                }
            }
        }
        (proven, all_ok)
    }

    /// Check the signature value over the canonical SignedInfo, streamed into the verifier.
    fn signature_value_ok(
        &self,
        sig: &Signature,
        cert: &X509,
        (md, ecdsa, pss): (MessageDigest, bool, bool),
    ) -> Result<bool, String> {
        let (algorithm, prefixes) = sig.c14n.clone().unwrap_or_default();
        let Some(mode) = C14nMode::from_algorithm(algorithm.trim(), &prefixes) else {
            return Err(tf(
                "marches.xades.canonicalisation",
                &[("algorithme", algorithm.trim())],
            ));
        };
        let at = sig
            .signed_info_at
            .ok_or_else(|| t("marches.xades.signed_info"))?;
        let Some(mut value) = crate::pes::decode_base64(&sig.signature_value) else {
            return Ok(false);
        };
        if ecdsa {
            match crate::keys::digest::ecdsa_raw_to_der(&value) {
                Some(der) => value = der,
                None => return Ok(false),
            }
        }
        let key = cert.public_key().map_err(|e| e.to_string())?;
        let mut verifier = openssl::sign::Verifier::new(md, &key).map_err(|e| e.to_string())?;
        if pss {
            verifier
                .set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS)
                .map_err(|e| e.to_string())?;
            verifier
                .set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(|e| e.to_string())?;
        }
        let verifier = self
            .canonical(at, &mode, false, verifier)
            .map_err(|e| tf("marches.xades.illisible", &[("detail", &e.to_string())]))?;
        Ok(verifier.verify(&value).unwrap_or(false))
    }

    /// The digest of a same-document reference `#id` (signed properties, enveloped object).
    fn internal_digest(&self, r: &Reference, md: MessageDigest) -> Result<Vec<u8>, String> {
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
    fn external_digest(
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
        super::verify::digest_file(&path, md)
            .map_err(|e| tf("marches.verif.document_illisible", &[("detail", &e)]))
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

#[allow(clippy::too_many_arguments)]
fn read_start(
    sig: &mut Signature,
    rel: &[Name],
    name: &Name,
    rank: usize,
    algorithm: Option<String>,
    attribute: &dyn Fn(&str) -> Option<String>,
    in_properties: &mut bool,
    target: &mut Option<String>,
    prefix_list: Option<String>,
) {
    let at = |path: &[&str]| {
        rel.len() == path.len() + 1 && rel[1..].iter().zip(path).all(|(n, p)| is(n, p))
    };
    if rel.len() == 1 && is(name, "SignatureValue") && sig.signature_value_at.is_none() {
        sig.signature_value_at = Some(rank);
        return;
    }
    if in_unsigned(rel, &[]) && is_x(name, "SignatureTimeStamp") {
        if sig.timestamps.len() < MAX_TIMESTAMPS {
            sig.timestamps.push((None, String::new()));
        }
        return;
    }
    if in_unsigned(rel, &["SignatureTimeStamp"]) && is(name, "CanonicalizationMethod") {
        if let Some(ts) = sig.timestamps.last_mut() {
            ts.0 = algorithm;
        }
        return;
    }
    if rel.len() == 1 && is(name, "SignedInfo") {
        sig.signed_infos += 1;
        if sig.signed_infos == 1 {
            sig.signed_info_at = Some(rank);
        }
        return;
    }
    let first = sig.signed_infos == 1;
    if first && at(&["SignedInfo"]) {
        if is(name, "CanonicalizationMethod") {
            sig.c14n = Some((algorithm.unwrap_or_default(), Vec::new()));
        } else if is(name, "SignatureMethod") {
            sig.signature_method = algorithm;
        } else if is(name, "Reference") && sig.references.len() >= MAX_REFERENCES {
            sig.too_many_references = true;
        } else if is(name, "Reference") {
            sig.references.push(Reference {
                uri: attribute("URI"),
                ..Default::default()
            });
        }
    } else if first && at(&["SignedInfo", "CanonicalizationMethod"]) {
        if let (Some(c), Some(list)) = (sig.c14n.as_mut(), prefix_list) {
            c.1 = list.split_whitespace().map(str::to_owned).collect();
        }
    } else if first && at(&["SignedInfo", "Reference", "Transforms"]) {
        if is(name, "Transform")
            && let Some(r) = sig.references.last_mut()
        {
            r.transforms
                .push((algorithm.unwrap_or_default(), Vec::new()));
        }
    } else if first && at(&["SignedInfo", "Reference", "Transforms", "Transform"]) {
        if let (Some(r), Some(list)) = (sig.references.last_mut(), prefix_list)
            && let Some(t) = r.transforms.last_mut()
        {
            t.1 = list.split_whitespace().map(str::to_owned).collect();
        }
    } else if first && at(&["SignedInfo", "Reference"]) {
        if is(name, "DigestMethod")
            && let Some(r) = sig.references.last_mut()
        {
            r.digest_method = algorithm.unwrap_or_default();
        }
    } else if at(&["KeyInfo", "X509Data"]) && is(name, "X509Certificate") {
        sig.certificates.push(String::new());
    } else if at(&["Object"]) && is_x(name, "QualifyingProperties") {
        *target = attribute("Target");
    } else if rel.len() == 3
        && is(&rel[1], "Object")
        && is_x(&rel[2], "QualifyingProperties")
        && is_x(name, "SignedProperties")
    {
        *in_properties = true;
        sig.properties.push(Properties {
            id: attribute("Id"),
            target: target.clone(),
            ..Default::default()
        });
    } else if *in_properties
        && is(name, "DigestMethod")
        && rel.len() >= 2
        && is_x(&rel[rel.len() - 1], "CertDigest")
        && is_x(&rel[rel.len() - 2], "Cert")
        && let Some(p) = sig.properties.last_mut()
    {
        p.cert_digests
            .push((algorithm.unwrap_or_default(), String::new()));
    }
}

fn read_end(sig: &mut Signature, rel: &[Name], value: String, in_properties: &mut bool) {
    let Some(last) = rel.last() else { return };
    let parent = rel.len().checked_sub(2).and_then(|i| rel.get(i));
    let at = |path: &[&str]| {
        rel.len() == path.len() + 1 && rel[1..].iter().zip(path).all(|(n, p)| is(n, p))
    };
    if sig.signed_infos == 1 && at(&["SignedInfo", "Reference", "DigestValue"]) {
        if let Some(r) = sig.references.last_mut() {
            r.digest_value.push_str(&value);
        }
    } else if at(&["SignatureValue"]) {
        sig.signature_value.push_str(&value);
    } else if in_unsigned(rel, &["SignatureTimeStamp", "EncapsulatedTimeStamp"]) {
        if let Some(ts) = sig.timestamps.last_mut() {
            ts.1.push_str(&value);
        }
    } else if at(&["KeyInfo", "X509Data", "X509Certificate"]) {
        if let Some(c) = sig.certificates.last_mut() {
            c.push_str(&value);
        }
    } else if *in_properties {
        if is_x(last, "SignedProperties") && rel.len() == 4 {
            *in_properties = false;
        } else if let Some(p) = sig.properties.last_mut() {
            if is_x(last, "SigningTime")
                && parent.is_some_and(|n| is_x(n, "SignedSignatureProperties"))
            {
                p.signing_time = Some(value);
            } else if is(last, "DigestValue")
                && parent.is_some_and(|n| is_x(n, "CertDigest"))
                && let Some(d) = p.cert_digests.last_mut()
            {
                d.1.push_str(&value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_are_known_by_their_uris() {
        assert!(digest_algorithm("http://www.w3.org/2001/04/xmlenc#sha512").is_some());
        assert!(digest_algorithm("http://www.w3.org/2001/04/xmldsig-more#sha224").is_some());
        assert!(digest_algorithm("http://www.w3.org/2001/04/xmldsig-more#md5").is_none());
        assert!(signature_algorithm("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384").is_some());
        assert!(
            signature_algorithm("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
                .is_some_and(|(_, ecdsa, _)| ecdsa)
        );
        assert!(
            signature_algorithm("http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1")
                .is_some_and(|(_, _, pss)| pss)
        );
        assert!(signature_algorithm("http://www.w3.org/2001/04/xmldsig-more#rsa-md5").is_none());
    }

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

    #[test]
    fn a_dss_signature_is_read() {
        let xml = br##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="S"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference Id="r"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference><ds:Reference URI="#P"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>BBBB</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>CC&#13;
CC</ds:SignatureValue><ds:Object><x:QualifyingProperties xmlns:x="http://uri.etsi.org/01903/v1.3.2#" Target="#S"><x:SignedProperties Id="P"><x:SignedSignatureProperties><x:SigningTime>2022-02-15T08:44:52Z</x:SigningTime><x:SigningCertificateV2><x:Cert><x:CertDigest><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"/><ds:DigestValue>DDDD</ds:DigestValue></x:CertDigest></x:Cert></x:SigningCertificateV2></x:SignedSignatureProperties></x:SignedProperties></x:QualifyingProperties></ds:Object></ds:Signature>"##;
        let file = XadesFile::parse(xml.to_vec()).expect("lu");
        let sig = &file.signatures[0];
        assert_eq!(sig.references.len(), 2);
        assert_eq!(sig.references[0].uri, None);
        assert_eq!(sig.references[0].digest_value, "AAAA");
        assert_eq!(sig.signature_value, "CC\r\nCC");
        assert_eq!(sig.properties[0].id.as_deref(), Some("P"));
        assert_eq!(
            sig.properties[0].signing_time.as_deref(),
            Some("2022-02-15T08:44:52Z")
        );
        assert_eq!(sig.properties[0].cert_digests[0].1, "DDDD");
        assert!(file.is_detached());
        assert_eq!(file.element_with_id("P"), Ok(file.ids["P"][0]));
        let si = file
            .canonical(
                sig.signed_info_at.expect("rang"),
                &C14nMode::from_algorithm(crate::xml::EXC_C14N_10, &[]).expect("mode"),
                false,
                Vec::new(),
            )
            .expect("c14n");
        assert!(si.starts_with(b"<ds:SignedInfo xmlns:ds="));
        assert!(si.ends_with(b"</ds:SignedInfo>"));
    }
}
