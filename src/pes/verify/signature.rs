//! The check of one signature read by the pass: its XML-DSig and XAdES structure parsed at the
//! expected places only, its references against the digests computed, its value against its
//! certificate, its signed properties (signing certificate, policy, time) and its chain to the
//! trust store at signing time.

use super::digests::{Digests, INCLUSIVE_C14N, SHA1, SHA256};
use super::pass::{Parent, Pending, Place};
use super::policy::check_policy;
use super::verdict::SignatureVerdict;
use crate::certs::revocation::RevocationSubject;
use crate::certs::trust::TrustStore;
use crate::keys::digest::ecdsa_raw_to_der;
use crate::messages::{t, tf};
use crate::pes::decode_base64;
use crate::pes::xades::EXC_C14N;
use openssl::hash::MessageDigest;
use openssl::x509::X509;
use quick_xml::events::Event;
use std::path::Path;

/// What a signature must have beyond integrity, and where its external references are.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    /// A known Hélios signature policy is required (PES); otherwise a policy is optional
    /// (XAdES-BES, as in public procurement).
    pub helios_policy: bool,
    /// The folder that external references (`URI="offre.pdf"`) are files of; None refuses them.
    pub external_base: Option<&'a Path>,
}

impl Checks<'_> {
    /// A PES: same-document references only, Hélios policy required.
    pub const HELIOS: Checks<'static> = Checks {
        helios_policy: true,
        external_base: None,
    };
}

/// The digest of a file named by an external reference: a plain file name (percent-encoded as in
/// a URI) in `base`, nothing that leaves it.
fn external_digest(base: &Path, uri: &str, md: MessageDigest) -> Option<Vec<u8>> {
    let mut name = Vec::with_capacity(uri.len());
    let bytes = uri.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            name.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            name.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(name).ok()?;
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', ':']) {
        return None;
    }
    let mut file = crate::files::open_regular(&base.join(name)).ok()?;
    let mut hasher = openssl::hash::Hasher::new(md).ok()?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]).ok()?;
    }
    hasher.finish().ok().map(|d| d.to_vec())
}

/// Values read from a signature's canonical text, each only at its place in the XML-DSig and
/// XAdES structures: a `SigningTime`, a certificate or a reference anywhere else is not the
/// signature's (an attacker may add such elements in an unsigned object).
#[derive(Default, Debug)]
struct Parsed {
    /// `SignedInfo` children of the signature (one expected).
    signed_infos: usize,
    c14n: Option<String>,
    signature_method: Option<String>,
    references: Vec<Reference>,
    signature_value: String,
    certificates: Vec<String>,
    /// Every `SignedProperties` at its place (`Signature/Object/QualifyingProperties/…`).
    properties: Vec<Properties>,
    /// `SigningTime` and `ClaimedRole` found outside any such `SignedProperties`.
    stray_claims: Vec<(&'static str, String)>,
}

/// What one `SignedProperties` declares.
#[derive(Default, Debug)]
struct Properties {
    id: Option<String>,
    /// The `Target` of the `QualifyingProperties` holding it.
    target: Option<String>,
    signing_time: Option<String>,
    /// `(algorithm, value)` of each certificate named in `SigningCertificate(V2)`.
    cert_digests: Vec<(String, String)>,
    policy_id: Option<String>,
    policy_hash: Option<(String, String)>,
    role: Option<String>,
}

impl Properties {
    /// The claims it holds, to report them when this element is not the signed one.
    fn claims(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let time = self.signing_time.iter().map(|v| ("SigningTime", v.clone()));
        let role = self.role.iter().map(|v| ("ClaimedRole", v.clone()));
        time.chain(role)
    }
}

#[derive(Default, Debug)]
struct Reference {
    uri: String,
    transforms: Vec<String>,
    digest_method: String,
    digest_value: String,
}

const SIGNED_INFO: &[&str] = &["Signature", "SignedInfo"];
const REFERENCE: &[&str] = &["Signature", "SignedInfo", "Reference"];
const QUALIFYING: &[&str] = &["Signature", "Object", "QualifyingProperties"];
const SIGNED_PROPERTIES: &[&str] = &[
    "Signature",
    "Object",
    "QualifyingProperties",
    "SignedProperties",
];

/// Whether `path` (local names from the signature down) is `prefix` followed by `rest`.
fn path_is(path: &[String], prefix: &[&str], rest: &[&str]) -> bool {
    path.len() == prefix.len() + rest.len()
        && path
            .iter()
            .zip(prefix.iter().chain(rest))
            .all(|(a, b)| a == b)
}

/// Whether `path` ends with `tail`.
fn path_ends(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len()
        && path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

fn parse_signature(xml: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut path: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    // The text of the element being read, references resolved.
    let mut text = String::new();
    // Index in `p.properties` of the SignedProperties being read, and the current
    // QualifyingProperties' Target.
    let mut in_properties: Option<usize> = None;
    let mut target: Option<String> = None;
    let local = |q: &[u8]| {
        let q = String::from_utf8_lossy(q).into_owned();
        q.rsplit(':').next().unwrap_or_default().to_owned()
    };
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match &event {
            Event::Start(s) | Event::Empty(s) => {
                text.clear();
                let name = local(s.name().as_ref());
                let attribute = |key: &[u8]| {
                    s.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == key)
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                let algorithm = attribute(b"Algorithm");
                let first_signed_info = p.signed_infos == 1;
                if path_is(&path, &["Signature"], &[]) && name == "SignedInfo" {
                    p.signed_infos += 1;
                } else if first_signed_info && path_is(&path, SIGNED_INFO, &[]) {
                    match name.as_str() {
                        "CanonicalizationMethod" => p.c14n = algorithm,
                        "SignatureMethod" => p.signature_method = algorithm,
                        "Reference" => p.references.push(Reference {
                            uri: attribute(b"URI").unwrap_or_default(),
                            ..Default::default()
                        }),
                        _ => {}
                    }
                } else if first_signed_info && path_is(&path, REFERENCE, &["Transforms"]) {
                    if let (Some(r), Some(a), "Transform") =
                        (p.references.last_mut(), algorithm, name.as_str())
                    {
                        r.transforms.push(a);
                    }
                } else if first_signed_info && path_is(&path, REFERENCE, &[]) {
                    if let (Some(r), Some(a), "DigestMethod") =
                        (p.references.last_mut(), algorithm, name.as_str())
                    {
                        r.digest_method = a;
                    }
                } else if path_is(&path, &["Signature", "KeyInfo", "X509Data"], &[])
                    && name == "X509Certificate"
                {
                    p.certificates.push(String::new());
                } else if path_is(&path, &["Signature", "Object"], &[])
                    && name == "QualifyingProperties"
                {
                    target = attribute(b"Target");
                } else if path_is(&path, QUALIFYING, &[]) && name == "SignedProperties" {
                    in_properties = Some(p.properties.len());
                    p.properties.push(Properties {
                        id: attribute(b"Id"),
                        target: target.clone(),
                        ..Default::default()
                    });
                } else if let Some(props) = in_properties.and_then(|i| p.properties.get_mut(i))
                    && name == "DigestMethod"
                {
                    let algorithm = algorithm.unwrap_or_default();
                    if path_ends(&path, &["Cert", "CertDigest"]) {
                        props.cert_digests.push((algorithm, String::new()));
                    } else if path_ends(&path, &["SigPolicyHash"]) {
                        props.policy_hash = Some((algorithm, String::new()));
                    }
                }
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                }
            }
            Event::Text(t) => text.push_str(&String::from_utf8_lossy(t)),
            Event::GeneralRef(r) => {
                if let Ok(c) = crate::xml::resolve_reference(&String::from_utf8_lossy(r)) {
                    text.push(c);
                }
            }
            Event::End(_) => {
                let value = std::mem::take(&mut text);
                let props = in_properties.and_then(|i| p.properties.get_mut(i));
                if p.signed_infos == 1 && path_is(&path, REFERENCE, &["DigestValue"]) {
                    if let Some(r) = p.references.last_mut() {
                        r.digest_value.push_str(&value);
                    }
                } else if path_is(&path, &["Signature", "SignatureValue"], &[]) {
                    p.signature_value.push_str(&value);
                } else if path_is(
                    &path,
                    &["Signature", "KeyInfo", "X509Data"],
                    &["X509Certificate"],
                ) {
                    if let Some(c) = p.certificates.last_mut() {
                        c.push_str(&value);
                    }
                } else if let Some(props) = props {
                    if path_is(&path, SIGNED_PROPERTIES, &[]) {
                        in_properties = None;
                    } else if path_ends(&path, &["SignedSignatureProperties", "SigningTime"]) {
                        props.signing_time = Some(value);
                    } else if path_ends(&path, &["CertDigest", "DigestValue"]) {
                        if let Some(d) = props.cert_digests.last_mut() {
                            d.1.push_str(&value);
                        }
                    } else if path_ends(&path, &["SigPolicyId", "Identifier"]) {
                        props.policy_id = Some(value);
                    } else if path_ends(&path, &["SigPolicyHash", "DigestValue"]) {
                        if let Some(h) = props.policy_hash.as_mut() {
                            h.1.push_str(&value);
                        }
                    } else if path_ends(&path, &["ClaimedRoles", "ClaimedRole"]) {
                        props.role = Some(value);
                    } else if path_ends(&path, &["SigningTime"]) {
                        p.stray_claims.push(("SigningTime", value));
                    } else if path_ends(&path, &["ClaimedRole"]) {
                        p.stray_claims.push(("ClaimedRole", value));
                    }
                } else if path_ends(&path, &["SigningTime"]) {
                    p.stray_claims.push(("SigningTime", value));
                } else if path_ends(&path, &["ClaimedRole"]) {
                    p.stray_claims.push(("ClaimedRole", value));
                }
                path.pop();
            }
            _ => {}
        }
        buf.clear();
    }
    p
}

/// The signature's own signed properties: the one `SignedProperties` at its place whose Id a
/// reference of the SignedInfo names; the others, if any, are the signed properties of nobody.
fn signed_properties(parsed: &Parsed) -> Result<usize, String> {
    let referenced = |props: &&Properties| {
        props.id.as_deref().is_some_and(|id| {
            parsed
                .references
                .iter()
                .any(|r| r.uri.strip_prefix('#') == Some(id))
        })
    };
    let mut found = parsed
        .properties
        .iter()
        .enumerate()
        .filter(|(_, props)| referenced(props));
    match (found.next(), found.next()) {
        (Some((index, _)), None) => Ok(index),
        (Some((_, props)), Some(_)) => Err(tf(
            "verification.proprietes_en_double",
            &[("id", props.id.as_deref().unwrap_or(""))],
        )),
        (None, _) => Err(t("verification.sans_proprietes_signees")),
    }
}

fn digest_algorithm(uri: &str) -> Option<(&'static str, MessageDigest)> {
    match uri {
        SHA1 => Some((SHA1, MessageDigest::sha1())),
        SHA256 => Some((SHA256, MessageDigest::sha256())),
        _ => None,
    }
}

pub(super) fn check_signature(
    p: &Pending,
    parent: &Parent,
    parent_digests: Option<&Digests>,
    trust: Option<&TrustStore>,
    checks: Checks,
) -> SignatureVerdict {
    let parsed = parse_signature(&p.full);
    let mut reasons: Vec<String> = Vec::new();
    let mut integrity = true;
    let mut target = None;
    let properties = signed_properties(&parsed);
    let empty = Properties::default();
    let props = properties
        .as_ref()
        .ok()
        .and_then(|i| parsed.properties.get(*i))
        .unwrap_or(&empty);
    if parsed.signed_infos != 1 {
        integrity = false;
        reasons.push(t("verification.signed_info"));
    }
    // References: the signed element (the signature's parent, or files beside a detached
    // signature) and the signature's own signed properties, nothing else.
    if parsed.references.is_empty() {
        integrity = false;
        reasons.push(t("verification.sans_reference"));
    }
    let mut covers_target = 0usize;
    let parent_id = parent.id.as_deref();
    for r in &parsed.references {
        let id = r.uri.strip_prefix('#');
        let enveloped = r
            .transforms
            .iter()
            .any(|t| t.ends_with("#enveloped-signature"));
        let c14n: &'static str = if r.transforms.iter().any(|t| t == EXC_C14N) {
            EXC_C14N
        } else {
            INCLUSIVE_C14N
        };
        let Some((alg, md)) = digest_algorithm(&r.digest_method) else {
            integrity = false;
            reasons.push(tf(
                "verification.algorithme_inconnu",
                &[("algorithme", &r.digest_method)],
            ));
            continue;
        };
        let external = !r.uri.is_empty() && id.is_none();
        let computed = if external {
            covers_target += 1;
            // A file beside the signature, taken as it is (no transform applies to it here).
            match checks.external_base {
                Some(base) if r.transforms.is_empty() => external_digest(base, &r.uri, md),
                _ => None,
            }
        } else if id.is_some() && id == parent_id && enveloped {
            covers_target += 1;
            target = id.map(str::to_owned);
            parent_digests.and_then(|d| d.0.get(&(c14n, alg)).cloned())
        } else if id.is_some() && id == props.id.as_deref() {
            id.and_then(|id| p.inner.get(id))
                .and_then(|d| d.0.get(&(c14n, alg)).cloned())
        } else {
            integrity = false;
            reasons.push(tf("verification.reference_inattendue", &[("uri", &r.uri)]));
            continue;
        };
        match (computed, decode_base64(&r.digest_value)) {
            (Some(c), Some(expected)) if c == expected => {}
            (None, _) => {
                integrity = false;
                reasons.push(tf("verification.reference_introuvable", &[("uri", &r.uri)]));
            }
            _ => {
                integrity = false;
                reasons.push(tf("verification.empreinte", &[("uri", &r.uri)]));
            }
        }
    }
    if p.inner_repeated {
        integrity = false;
        reasons.push(t("verification.identifiant_interne_double"));
    }
    if checks.helios_policy {
        // A PES signature is enveloped in the bordereau or the root it signs, once.
        if !matches!(parent.place, Place::Root | Place::Bordereau) {
            integrity = false;
            reasons.push(t("verification.mal_placee"));
        } else if covers_target != 1 {
            integrity = false;
            reasons.push(tf(
                "verification.ne_couvre_pas",
                &[("id", parent_id.unwrap_or(""))],
            ));
        }
    } else if covers_target == 0 {
        integrity = false;
        reasons.push(t("verification.sans_reference"));
    }
    // Signature value over the canonical SignedInfo.
    let cert = parsed
        .certificates
        .first()
        .and_then(|c| decode_base64(c))
        .and_then(|der| X509::from_der(&der).ok());
    let signer_name = cert.as_ref().and_then(|c| {
        crate::certs::CertificateInfo::from_der(&c.to_der().ok()?)
            .ok()
            .map(|i| i.display_name().to_owned())
    });
    let signed_info = match parsed.c14n.as_deref() {
        Some(EXC_C14N) => Some(&p.signed_info.0),
        Some(INCLUSIVE_C14N) => Some(&p.signed_info.1),
        _ => None,
    };
    match (&cert, signed_info, parsed.signature_method.as_deref()) {
        (Some(cert), Some(si), Some(method)) => {
            if !signature_value_ok(cert, method, si, &parsed.signature_value) {
                integrity = false;
                reasons.push(t("verification.valeur_signature"));
            }
        }
        (None, _, _) => {
            integrity = false;
            reasons.push(t("verification.sans_certificat"));
        }
        _ => {
            integrity = false;
            reasons.push(t("verification.algorithme_signature"));
        }
    }
    // SignedProperties: only the signature's own, signed ones count.
    let mut acceptable = integrity;
    if let Err(reason) = &properties {
        acceptable = false;
        reasons.push(reason.clone());
    } else if let Some(sig_id) = &p.id
        && props.target.as_deref().and_then(|t| t.strip_prefix('#')) != Some(sig_id.as_str())
    {
        acceptable = false;
        reasons.push(tf(
            "verification.proprietes_autre_signature",
            &[("cible", props.target.as_deref().unwrap_or(""))],
        ));
    }
    match &cert {
        Some(cert) if !props.cert_digests.is_empty() => {
            let ok = props.cert_digests.iter().any(|(alg, value)| {
                digest_algorithm(alg)
                    .and_then(|(_, md)| cert.digest(md).ok())
                    .zip(decode_base64(value))
                    .is_some_and(|(d, v)| d.as_ref() == v.as_slice())
            });
            if !ok {
                acceptable = false;
                reasons.push(t("verification.cert_digest"));
            }
        }
        _ => {
            acceptable = false;
            reasons.push(t("verification.sans_signing_certificate"));
        }
    }
    let policy = props.policy_id.clone();
    let mut warnings = Vec::new();
    match (&policy, &props.policy_hash) {
        // Outside Hélios a policy is optional; one that is given is only reported.
        _ if !checks.helios_policy => {}
        (Some(id), Some((alg, value))) => match check_policy(id, alg, value) {
            Ok(false) => {}
            Ok(true) => warnings.push(t("verification.politique_sans_remplissage")),
            Err(problem) => {
                acceptable = false;
                reasons.push(problem.message());
            }
        },
        _ => {
            acceptable = false;
            reasons.push(t("verification.sans_politique"));
        }
    }
    let signing_time = props.signing_time.as_deref().and_then(|s| {
        time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
    });
    if signing_time.is_none() {
        acceptable = false;
        reasons.push(t("verification.sans_date"));
    }
    // Certificate: valid at signing time and chained to a trusted authority.
    let mut chained = None;
    let revocation_subject = cert.as_ref().map(|cert| RevocationSubject {
        certificate: cert.clone(),
        candidates: parsed
            .certificates
            .iter()
            .skip(1)
            .filter_map(|c| decode_base64(c))
            .filter_map(|der| X509::from_der(&der).ok())
            .chain(
                trust
                    .map(TrustStore::certificates)
                    .unwrap_or_default()
                    .iter()
                    .cloned(),
            )
            .collect(),
        at: signing_time,
    });
    if let Some(cert) = &cert {
        match trust {
            None => {
                acceptable = false;
                reasons.push(t("verification.sans_confiance"));
            }
            Some(store) => {
                let chain: Vec<X509> = parsed
                    .certificates
                    .iter()
                    .skip(1)
                    .filter_map(|c| decode_base64(c))
                    .filter_map(|der| X509::from_der(&der).ok())
                    .collect();
                let checked = store.check_chain(cert, &chain, signing_time);
                chained = Some(checked.is_ok());
                if let Err(reason) = checked {
                    acceptable = false;
                    reasons.push(tf("verification.chaine", &[("detail", &reason)]));
                }
            }
        }
    }
    // What the signature carries outside its signed properties: said, never used.
    let own = properties.as_ref().ok().copied();
    let unsigned: Vec<String> = parsed
        .properties
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != own)
        .flat_map(|(_, other)| other.claims())
        .chain(parsed.stray_claims.iter().cloned())
        .map(|(element, value)| {
            tf(
                "verification.non_signee",
                &[("element", element), ("valeur", value.trim())],
            )
        })
        .collect();
    SignatureVerdict {
        id: p.id.clone(),
        cible: target.or_else(|| parent_id.map(str::to_owned)),
        integrite: integrity,
        valide: acceptable,
        raison: reasons,
        avertissements: warnings,
        informations_non_signees: unsigned,
        signataire: signer_name,
        date_signature: props.signing_time.clone(),
        role: props.role.clone(),
        politique: policy,
        certificat: cert.as_ref().and_then(|c| c.to_der().ok()),
        chaine: chained,
        revocation: None,
        revocation_subject,
    }
}

fn signature_value_ok(cert: &X509, method: &str, signed_info: &[u8], value_b64: &str) -> bool {
    let (md, ecdsa) = match method {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => (MessageDigest::sha256(), false),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => (MessageDigest::sha1(), false),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => (MessageDigest::sha512(), false),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => (MessageDigest::sha256(), true),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1" => (MessageDigest::sha1(), true),
        _ => return false,
    };
    let Some(mut value) = decode_base64(value_b64) else {
        return false;
    };
    if ecdsa {
        match ecdsa_raw_to_der(&value) {
            Some(der) => value = der,
            None => return false,
        }
    }
    let Ok(key) = cert.public_key() else {
        return false;
    };
    openssl::sign::Verifier::new(md, &key)
        .and_then(|mut v| v.verify_oneshot(&value, signed_info))
        .unwrap_or(false)
}
