//! Detached CMS signatures (CAdES-BES, RFC 5652 + RFC 5035) of ACTES files, as S²LOW accepts
//! them beside an act: a `SignedData` without the content, SHA-256, the signer certificate
//! included, and the signed attributes contentType, signingTime, messageDigest and
//! signingCertificateV2.
//!
//! The structure is encoded here, in DER, by hand: the private key may sit on a card, so the only
//! thing asked of the [`Signer`] is a signature over the digest of the signed attributes. The
//! same builder serves PAdES ([`super::pades`]), which signs the digest of the PDF byte ranges.

use crate::keys::{CardError, HashAlg, KeyKind, Signer, digest::ecdsa_raw_to_der};
use crate::messages::{t, tf};
use std::io::Read;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const OID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";

#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    #[error("{0}")]
    Card(#[from] CardError),
    #[error("{}", t("actes_signature.contenu_vide"))]
    EmptyContent,
    #[error("{}", tf("actes_signature.lecture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Read { path: PathBuf, detail: String },
    #[error("{}", tf("actes_signature.certificat_illisible", &[("detail", .0)]))]
    Certificate(String),
    #[error("{}", t("actes_signature.empreinte_invalide"))]
    DigestLength,
    #[error("{}", t("actes_signature.signature_incoherente"))]
    SignatureMismatch,
}

/// What goes into the signature besides the content digest.
#[derive(Debug, Clone)]
pub struct CmsOptions {
    /// The signingTime attribute; `None` leaves it out (PAdES baseline, where the time is the
    /// PDF's `/M`).
    pub signing_time: Option<OffsetDateTime>,
    /// Certificates carried after the signer's (the intermediate authorities), DER.
    pub extra_certificates: Vec<Vec<u8>>,
}

impl Default for CmsOptions {
    /// CAdES-BES signed now, with the signer certificate only.
    fn default() -> Self {
        CmsOptions {
            signing_time: Some(OffsetDateTime::now_utc()),
            extra_certificates: Vec::new(),
        }
    }
}

/// Sign `data` (the bytes of an act file): a detached CMS SignedData, DER.
pub fn sign_detached(signer: &mut dyn Signer, data: &[u8]) -> Result<Vec<u8>, CmsError> {
    if data.is_empty() {
        return Err(CmsError::EmptyContent);
    }
    sign_digest(
        signer,
        &HashAlg::Sha256.digest(data),
        &CmsOptions::default(),
    )
}

/// Same as [`sign_detached`], hashing what `reader` yields without holding it in memory. `path`
/// only names the source in errors.
pub fn sign_detached_reader(
    signer: &mut dyn Signer,
    reader: &mut dyn Read,
    path: &Path,
    options: &CmsOptions,
) -> Result<Vec<u8>, CmsError> {
    // Hashed only: the copy goes nowhere (writing to a sink cannot fail, so any error is a read's).
    let (digest, total) = crate::hashing::copy_hashed(&mut &mut *reader, &mut std::io::sink())
        .map_err(|e| CmsError::Read {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    if total == 0 {
        return Err(CmsError::EmptyContent);
    }
    sign_digest(signer, &digest, options)
}

/// Sign the file at `path`, streamed.
pub fn sign_detached_file(
    signer: &mut dyn Signer,
    path: &Path,
    options: &CmsOptions,
) -> Result<Vec<u8>, CmsError> {
    let file = crate::files::open_regular(path).map_err(|e| CmsError::Read {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let mut reader = std::io::BufReader::new(file);
    sign_detached_reader(signer, &mut reader, path, options)
}

/// Checks a detached signature just made against the content it signs (signature value and
/// message digest; the certificate's chain is the verifier's business): a card whose key does
/// not match its certificate is caught before the signature leaves. French reason when not.
pub fn verify_detached(cms: &[u8], content: &[u8]) -> Result<(), String> {
    use openssl::cms::{CMSOptions, CmsContentInfo};
    let mut info = CmsContentInfo::from_der(cms).map_err(|e| e.to_string())?;
    info.verify(
        None,
        None,
        Some(content),
        None,
        CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::BINARY,
    )
    .map_err(|e| e.to_string())
}

/// The detached SignedData over content whose SHA-256 is `content_digest`.
pub fn sign_digest(
    signer: &mut dyn Signer,
    content_digest: &[u8],
    options: &CmsOptions,
) -> Result<Vec<u8>, CmsError> {
    if content_digest.len() != HashAlg::Sha256.output_len() {
        return Err(CmsError::DigestLength);
    }
    let cert_der = signer.certificate_der().to_vec();
    let cert = CertParts::parse(&cert_der)?;
    let kind = signer.key_kind();

    // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }
    let issuer_and_serial = seq(&[cert.issuer.as_slice(), &cert.serial]);
    let sha256_alg = seq(&[&oid(OID_SHA256)]);

    let mut attributes = vec![
        attribute(OID_CONTENT_TYPE, &oid(OID_DATA)),
        attribute(OID_MESSAGE_DIGEST, &tlv(TAG_OCTET_STRING, content_digest)),
        attribute(
            OID_SIGNING_CERTIFICATE_V2,
            &signing_certificate_v2(&cert_der, &cert),
        ),
    ];
    if let Some(time) = options.signing_time {
        attributes.push(attribute(OID_SIGNING_TIME, &cms_time(time)));
    }
    // The signature covers the attributes as a DER SET OF (tag 0x31, sorted); in the SignerInfo
    // the same bytes carry the [0] IMPLICIT tag.
    let attributes_content = sorted_concat(attributes);
    let to_be_signed = tlv(TAG_SET, &attributes_content);
    let scheme = signer.default_scheme(HashAlg::Sha256);
    let mut signature = signer.sign_digest(scheme, &HashAlg::Sha256.digest(&to_be_signed))?;
    if kind == KeyKind::Ec && openssl::ecdsa::EcdsaSig::from_der(&signature).is_err() {
        // A module that returned the raw r ‖ s form.
        signature = ecdsa_raw_to_der(&signature).ok_or(CmsError::SignatureMismatch)?;
    }
    // A card holding another key under this certificate's CKA_ID, or a glitch, must not produce a
    // file that only the préfecture would find broken.
    if !signature_matches(&cert_der, &to_be_signed, &signature) {
        return Err(CmsError::SignatureMismatch);
    }
    let signature_alg = match kind {
        KeyKind::Rsa => seq(&[&oid(OID_RSA_ENCRYPTION), &NULL]),
        KeyKind::Ec => seq(&[&oid(OID_ECDSA_WITH_SHA256)]),
    };
    let signer_info = seq(&[
        &integer_small(1),
        &issuer_and_serial,
        &sha256_alg,
        &tlv(TAG_CONTEXT_0_CONSTRUCTED, &attributes_content),
        &signature_alg,
        &tlv(TAG_OCTET_STRING, &signature),
    ]);

    let mut certificates = vec![cert_der.clone()];
    for extra in &options.extra_certificates {
        if *extra != cert_der && !certificates.contains(extra) {
            CertParts::parse(extra)?;
            certificates.push(extra.clone());
        }
    }
    let signed_data = seq(&[
        &integer_small(1),
        &tlv(TAG_SET, &sha256_alg),
        // EncapsulatedContentInfo without eContent: the signature is detached.
        &seq(&[&oid(OID_DATA)]),
        &tlv(TAG_CONTEXT_0_CONSTRUCTED, &sorted_concat(certificates)),
        &tlv(TAG_SET, &signer_info),
    ]);
    Ok(seq(&[
        &oid(OID_SIGNED_DATA),
        &tlv(TAG_CONTEXT_0_CONSTRUCTED, &signed_data),
    ]))
}

/// The DER signature as PEM (`-----BEGIN PKCS7-----`, read by `openssl cms -inform PEM`).
pub fn to_pem(der: &[u8]) -> String {
    let body = openssl::base64::encode_block(der);
    let mut out = String::from("-----BEGIN PKCS7-----\n");
    let bytes = body.as_bytes();
    for line in bytes.chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END PKCS7-----\n");
    out
}

/// The pieces of the signer certificate that the SignedData repeats.
struct CertParts {
    /// The issuer Name, DER, as in the certificate.
    issuer: Vec<u8>,
    /// The serial number INTEGER, DER, as in the certificate.
    serial: Vec<u8>,
}

impl CertParts {
    fn parse(der: &[u8]) -> Result<CertParts, CmsError> {
        use x509_parser::prelude::FromDer;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
            .map_err(|e| CmsError::Certificate(e.to_string()))?;
        Ok(CertParts {
            issuer: cert.tbs_certificate.issuer.as_raw().to_vec(),
            serial: tlv(TAG_INTEGER, cert.tbs_certificate.raw_serial()),
        })
    }
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }` with one
/// `ESSCertIDv2 ::= SEQUENCE { certHash OCTET STRING, issuerSerial IssuerSerial }`; the hash
/// algorithm is SHA-256, the DEFAULT, hence absent in DER.
fn signing_certificate_v2(cert_der: &[u8], cert: &CertParts) -> Vec<u8> {
    let cert_hash = openssl::sha::sha256(cert_der);
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }, the issuer as a
    // directoryName [4] (explicit: Name is a CHOICE).
    let general_names = seq(&[&tlv(TAG_CONTEXT_4_CONSTRUCTED, &cert.issuer)]);
    let issuer_serial = seq(&[&general_names, &cert.serial]);
    let ess_cert_id = seq(&[&tlv(TAG_OCTET_STRING, &cert_hash), &issuer_serial]);
    seq(&[&seq(&[&ess_cert_id])])
}

/// Check the signature with the certificate's public key before anything is written.
fn signature_matches(cert_der: &[u8], signed: &[u8], signature: &[u8]) -> bool {
    let Ok(cert) = openssl::x509::X509::from_der(cert_der) else {
        return false;
    };
    let Ok(key) = cert.public_key() else {
        return false;
    };
    let Ok(mut verifier) =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key)
    else {
        return false;
    };
    verifier.verify_oneshot(signature, signed).unwrap_or(false)
}

/// signingTime: UTCTime from 1950 to 2049, GeneralizedTime otherwise (RFC 5652 §11.3).
fn cms_time(time: OffsetDateTime) -> Vec<u8> {
    let time = time.to_offset(time::UtcOffset::UTC);
    let year = time.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    );
    if (1950..2050).contains(&year) {
        tlv(TAG_UTC_TIME, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(TAG_GENERALIZED_TIME, format!("{year:04}{rest}").as_bytes())
    }
}

// --- DER, the few constructions CMS needs ---

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_CONTEXT_0_CONSTRUCTED: u8 = 0xa0;
const TAG_CONTEXT_4_CONSTRUCTED: u8 = 0xa4;
const NULL: [u8; 2] = [0x05, 0x00];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &parts.concat())
}

/// `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value }` with one value.
fn attribute(attr_oid: &str, value: &[u8]) -> Vec<u8> {
    seq(&[&oid(attr_oid), &tlv(TAG_SET, value)])
}

/// The content of a DER SET OF: the encodings in ascending byte order (X.690 §11.6).
fn sorted_concat(mut items: Vec<Vec<u8>>) -> Vec<u8> {
    items.sort();
    items.concat()
}

fn integer_small(value: u8) -> Vec<u8> {
    if value & 0x80 != 0 {
        tlv(TAG_INTEGER, &[0, value])
    } else {
        tlv(TAG_INTEGER, &[value])
    }
}

/// An OBJECT IDENTIFIER from its dotted form (the constants above, all well formed).
fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut content = Vec::new();
    if let [first, second, rest @ ..] = arcs.as_slice() {
        push_base128(&mut content, first * 40 + second);
        for arc in rest {
            push_base128(&mut content, *arc);
        }
    }
    tlv(TAG_OID, &content)
}

fn push_base128(out: &mut Vec<u8>, mut value: u64) {
    let mut groups = vec![(value & 0x7f) as u8];
    value >>= 7;
    while value > 0 {
        groups.push(0x80 | (value & 0x7f) as u8);
        value >>= 7;
    }
    groups.reverse();
    out.extend(groups);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_match_openssl() {
        for dotted in [
            OID_DATA,
            OID_SIGNED_DATA,
            OID_SIGNING_CERTIFICATE_V2,
            OID_SHA256,
            OID_ECDSA_WITH_SHA256,
        ] {
            let expected = openssl::asn1::Asn1Object::from_str(dotted).expect("oid");
            let der = oid(dotted);
            assert_eq!(der[0], TAG_OID);
            assert_eq!(&der[2..], expected.as_slice(), "{dotted}");
        }
    }

    #[test]
    fn long_lengths_are_definite_and_minimal() {
        assert_eq!(&tlv(0x04, &[0; 0x7f])[..2], &[0x04, 0x7f]);
        assert_eq!(&tlv(0x04, &[0; 0x80])[..3], &[0x04, 0x81, 0x80]);
        assert_eq!(&tlv(0x04, &[0; 0x1234])[..4], &[0x04, 0x82, 0x12, 0x34]);
        assert_eq!(
            &tlv(0x04, &[0; 0x12345])[..5],
            &[0x04, 0x83, 0x01, 0x23, 0x45]
        );
    }

    #[test]
    fn signing_time_switches_to_generalized_time_in_2050() {
        let t2049 = time::macros::datetime!(2049-12-31 23:59:58 UTC);
        assert_eq!(cms_time(t2049), tlv(TAG_UTC_TIME, b"491231235958Z"));
        let t2050 = time::macros::datetime!(2050-01-01 00:00:00 UTC);
        assert_eq!(
            cms_time(t2050),
            tlv(TAG_GENERALIZED_TIME, b"20500101000000Z")
        );
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let pem = to_pem(&[0xab; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PKCS7-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last().copied(), Some("-----END PKCS7-----"));
    }
}
