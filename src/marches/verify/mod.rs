//! Checking the signatures of a bid's documents and their timestamps, as the buyer must
//! (arrêtés du 22 mars 2019): who signed, with what category of certificate, whether the document
//! is intact, whether the certificate was valid when signing and chains to a trusted authority.
//!
//! - CAdES / CMS SignedData, detached (`offre.pdf.p7s` beside `offre.pdf`) or enveloping;
//! - PAdES: the CMS signatures inside a PDF, over their byte ranges;
//! - RFC 3161 timestamp tokens (`.tsr` replies or `.tst` tokens) over a document, and the
//!   signature timestamps inside CAdES signatures (CAdES-T);
//! - XAdES detached signatures (`offre.pdf.xml`), through the PES verifier's XML signature code.
//!
//! The CMS structures are small (the document is hashed as a stream beside them) and read with
//! our DER reader; the cryptography is OpenSSL's. Revocation (CRL, OCSP) is not checked: the
//! report says so.
//!
//! The code is split by what it does, each part using only those listed before it:
//! - `documents`: finding the document a detached signature is about;
//! - `verdict`: the report, the errors, and the judgement of a signer's certificate;
//! - here: reading CMS structures and checking their signers, in signature files and PDFs.
//!
//! XAdES is in `super::xades`, and which signatures a path holds in `super::discover`: both use
//! what is re-exported here.

mod documents;
mod verdict;

pub use documents::document_for;
pub(super) use documents::{
    DISCOVERY_FILE_LIMIT, DocumentDigest, SEARCH_MAX_FILES, SEARCH_MAX_SIZE, digest_file,
    extension, file_name, files_beside, has_signature_extension, is_xml_signature, locate_document,
    named_document,
};
pub use verdict::{SignatureReport, VerifyError, check_revocation, revocation_verified};
pub(super) use verdict::{blank_report, judge_certificate};

use super::armor::{self, Armor, Base64Lines};
use super::der::{Der, DerError, dotted};
use crate::certs::trust::TrustStore;
use crate::certs::{CertificateInfo, iso8601};
use crate::messages::{t, tf};
use openssl::hash::{Hasher, MessageDigest};
use openssl::x509::X509;
use std::io::{BufReader, Read};
use std::path::Path;
use time::OffsetDateTime;

/// A signature or token file is read whole (the documents never are) up to this size.
pub(super) const SIGNATURE_FILE_LIMIT: u64 = 64 * 1024 * 1024;

/// Where the signed bytes come from.
pub(super) enum Signed<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
    Ranges(&'a [u8], Vec<(usize, usize)>),
}

impl Signed<'_> {
    fn digest(&self, md: MessageDigest) -> Result<Vec<u8>, String> {
        let mut hasher = Hasher::new(md).map_err(|e| e.to_string())?;
        match self {
            Signed::File(path) => {
                let mut file = BufReader::with_capacity(
                    256 * 1024,
                    std::fs::File::open(path).map_err(|e| e.to_string())?,
                );
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = file.read(&mut buf).map_err(|e| e.to_string())?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]).map_err(|e| e.to_string())?;
                }
            }
            Signed::Bytes(bytes) => hasher.update(bytes).map_err(|e| e.to_string())?,
            Signed::Ranges(bytes, ranges) => {
                for (start, len) in ranges {
                    let part = bytes
                        .get(*start..start.saturating_add(*len))
                        .ok_or_else(|| t("marches.verif.plage_hors_fichier"))?;
                    hasher.update(part).map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(hasher.finish().map_err(|e| e.to_string())?.to_vec())
    }
}

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
const OID_SIGNATURE_TIMESTAMP: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_NIST_HASH: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];

fn digest_for(oid: &[u8]) -> Option<MessageDigest> {
    match oid {
        OID_SHA1 => Some(MessageDigest::sha1()),
        [prefix @ .., last] if prefix == OID_NIST_HASH => match last {
            1 => Some(MessageDigest::sha256()),
            2 => Some(MessageDigest::sha384()),
            3 => Some(MessageDigest::sha512()),
            4 => Some(MessageDigest::sha224()),
            _ => None,
        },
        _ => None,
    }
}

/// One SignerInfo, as read.
struct SignerInfo<'a> {
    sid: super::envelope::RecipientId,
    digest_oid: &'a [u8],
    /// The whole `[0] IMPLICIT` signed attributes element (re-tagged as a SET to verify).
    signed_attrs: Option<&'a [u8]>,
    signature_oid: &'a [u8],
    signature_params: &'a [u8],
    signature: &'a [u8],
    unsigned_attrs: Option<&'a [u8]>,
}

struct SignedData<'a> {
    content_type: &'a [u8],
    content: Option<&'a [u8]>,
    certificates: Vec<&'a [u8]>,
    signers: Vec<SignerInfo<'a>>,
}

/// Read a ContentInfo holding a SignedData (trailing zero padding, as in a PDF's /Contents, is
/// ignored).
fn parse_signed_data(bytes: &[u8]) -> Result<SignedData<'_>, DerError> {
    let mut outer = Der::new(bytes);
    let content_info = outer.expect(0x30)?;
    let mut ci = Der::new(content_info);
    if ci.expect(0x06)? != OID_SIGNED_DATA {
        return Err(DerError(t("marches.verif.pas_signed_data")));
    }
    let explicit = ci.expect(0xa0)?;
    let mut sd = Der::new(Der::new(explicit).expect(0x30)?);
    sd.expect(0x02)?;
    sd.expect(0x31)?;
    let mut encap = Der::new(sd.expect(0x30)?);
    let content_type = encap.expect(0x06)?;
    let content = if encap.peek_tag() == Some(0xa0) {
        let explicit = encap.expect(0xa0)?;
        Some(Der::new(explicit).expect(0x04)?)
    } else {
        None
    };
    let mut certificates = Vec::new();
    if sd.peek_tag() == Some(0xa0) {
        let mut set = Der::new(sd.expect(0xa0)?);
        while !set.is_empty() {
            let (tag, whole, _) = set.element()?;
            if tag == 0x30 {
                certificates.push(whole);
            }
        }
    }
    if sd.peek_tag() == Some(0xa1) {
        sd.expect(0xa1)?;
    }
    let mut signers = Vec::new();
    let mut set = Der::new(sd.expect(0x31)?);
    while !set.is_empty() {
        signers.push(parse_signer(set.expect(0x30)?)?);
    }
    Ok(SignedData {
        content_type,
        content,
        certificates,
        signers,
    })
}

fn parse_signer(value: &[u8]) -> Result<SignerInfo<'_>, DerError> {
    use super::envelope::RecipientId;
    let mut der = Der::new(value);
    der.expect(0x02)?;
    let sid = match der.peek_tag() {
        Some(0x30) => {
            let mut isn = Der::new(der.expect(0x30)?);
            let (_, issuer, _) = isn.element()?;
            let serial = isn.expect(0x02)?;
            RecipientId::IssuerSerial {
                issuer_der: issuer.to_vec(),
                serial: serial.to_vec(),
            }
        }
        Some(0x80) => RecipientId::KeyIdentifier(der.expect(0x80)?.to_vec()),
        _ => return Err(DerError("signataire illisible".to_owned())),
    };
    let digest_oid = Der::new(der.expect(0x30)?).expect(0x06)?;
    let signed_attrs = if der.peek_tag() == Some(0xa0) {
        let (_, whole, _) = der.element()?;
        Some(whole)
    } else {
        None
    };
    let mut alg = Der::new(der.expect(0x30)?);
    let signature_oid = alg.expect(0x06)?;
    let signature_params = if alg.is_empty() {
        &[][..]
    } else {
        alg.element()?.1
    };
    let signature = der.expect(0x04)?;
    let unsigned_attrs = if der.peek_tag() == Some(0xa1) {
        Some(der.expect(0xa1)?)
    } else {
        None
    };
    Ok(SignerInfo {
        sid,
        digest_oid,
        signed_attrs,
        signature_oid,
        signature_params,
        signature,
        unsigned_attrs,
    })
}

/// The values of attribute `oid` in a sequence of attributes (the content of a SET or of an
/// implicit [0]/[1]).
fn attribute<'a>(attrs: &'a [u8], oid: &[u8]) -> Result<Option<&'a [u8]>, DerError> {
    let mut der = Der::new(attrs);
    while !der.is_empty() {
        let mut attr = Der::new(der.expect(0x30)?);
        if attr.expect(0x06)? == oid {
            return Ok(Some(attr.expect(0x31)?));
        }
    }
    Ok(None)
}

/// UTCTime (0x17) or GeneralizedTime (0x18).
fn parse_time(tag: u8, value: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(value).ok()?;
    let text = text.strip_suffix('Z')?;
    let (main, _fraction) = text.split_once('.').unwrap_or((text, ""));
    let (year, rest) = match tag {
        0x17 => {
            let yy: i32 = main.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, main.get(2..)?)
        }
        0x18 => (main.get(..4)?.parse().ok()?, main.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<u8> { rest.get(i..i + 2)?.parse().ok() };
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(field(0)?).ok()?, field(2)?)
            .ok()?;
    let clock = time::Time::from_hms(field(4)?, field(6)?, field(8).unwrap_or(0)).ok()?;
    Some(date.with_time(clock).assume_utc())
}

fn find_certificate<'a>(
    sid: &super::envelope::RecipientId,
    certificates: &[&'a [u8]],
) -> Option<&'a [u8]> {
    certificates
        .iter()
        .copied()
        .find(|der| super::open::certificate_is(sid, der))
}

/// Check a signature value over `data` with the certificate's key.
fn signature_ok(
    cert: &X509,
    md: MessageDigest,
    signer: &SignerInfo,
    data: &[u8],
) -> Result<bool, String> {
    let key = cert.public_key().map_err(|e| e.to_string())?;
    let mut verifier = openssl::sign::Verifier::new(md, &key).map_err(|e| e.to_string())?;
    if signer.signature_oid == OID_RSA_PSS {
        verifier
            .set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS)
            .map_err(|e| e.to_string())?;
        verifier
            .set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
            .map_err(|e| e.to_string())?;
        let _ = signer.signature_params;
    }
    Ok(verifier
        .verify_oneshot(signer.signature, data)
        .unwrap_or(false))
}

/// What checking one SignerInfo found.
pub(super) struct SignerVerdict {
    pub(super) report: SignatureReport,
    /// The verified time of a timestamp token (its genTime), for the caller.
    pub(super) gen_time: Option<OffsetDateTime>,
}

/// Verify every signer of a SignedData over `signed`.
fn verify_signed_data(
    bytes: &[u8],
    signed: &Signed,
    file: &Path,
    document: &Path,
    format: &str,
    declared: Option<OffsetDateTime>,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignerVerdict>, VerifyError> {
    let malformed = |e: DerError| VerifyError::Malformed(file.to_owned(), e.0);
    let sd = parse_signed_data(bytes).map_err(malformed)?;
    if sd.signers.is_empty() {
        return Err(VerifyError::NothingToVerify(file.to_owned()));
    }
    let mut verdicts = Vec::new();
    for signer in &sd.signers {
        verdicts.push(verify_signer(
            &sd, signer, signed, file, document, format, declared, trust,
        ));
    }
    Ok(verdicts)
}

#[allow(clippy::too_many_arguments)]
fn verify_signer(
    sd: &SignedData,
    signer: &SignerInfo,
    signed: &Signed,
    file: &Path,
    document: &Path,
    format: &str,
    declared: Option<OffsetDateTime>,
    trust: Option<&TrustStore>,
) -> SignerVerdict {
    let mut report = blank_report(file, document, format);
    let mut gen_time = None;
    let Some(md) = digest_for(signer.digest_oid) else {
        report.raisons.push(tf(
            "marches.verif.algorithme_inconnu",
            &[("algorithme", &dotted(signer.digest_oid))],
        ));
        return SignerVerdict { report, gen_time };
    };
    let Some(cert_der) = find_certificate(&signer.sid, &sd.certificates) else {
        report.raisons.push(t("marches.verif.certificat_absent"));
        return SignerVerdict { report, gen_time };
    };
    let (Ok(cert), Ok(info)) = (
        X509::from_der(cert_der),
        CertificateInfo::from_der(cert_der),
    ) else {
        report.raisons.push(t("marches.verif.certificat_illisible"));
        return SignerVerdict { report, gen_time };
    };
    report.signataire = Some(info.display_name().to_owned());
    report.emetteur = Some(info.issuer.clone());
    report.qualifie = Some(info.is_qualified());

    // Integrity: the document's digest, then the signature value.
    let digest = match signed.digest(md) {
        Ok(d) => d,
        Err(e) => {
            report
                .raisons
                .push(tf("marches.verif.document_illisible", &[("detail", &e)]));
            return SignerVerdict { report, gen_time };
        }
    };
    let mut claimed_time = None;
    let signature_valid = match signer.signed_attrs {
        Some(attrs) => {
            let inner = Der::new(attrs).expect(0xa0).unwrap_or_default();
            let message_digest = attribute(inner, OID_MESSAGE_DIGEST)
                .ok()
                .flatten()
                .and_then(|set| Der::new(set).expect(0x04).ok());
            if let Some(set) = attribute(inner, OID_SIGNING_TIME).ok().flatten()
                && let Ok((tag, _, value)) = Der::new(set).element()
            {
                claimed_time = parse_time(tag, value);
            }
            if message_digest != Some(digest.as_slice()) {
                report.raisons.push(t("marches.verif.empreinte"));
                false
            } else {
                // Signed attributes are signed as a SET (RFC 5652 §5.4).
                let mut as_set = attrs.to_vec();
                as_set[0] = 0x31;
                signature_ok(&cert, md, signer, &as_set).unwrap_or(false)
            }
        }
        None => match signed {
            Signed::Bytes(b) => signature_ok(&cert, md, signer, b).unwrap_or(false),
            _ => {
                // Without signed attributes the whole document would be signed directly: not a
                // CAdES/PAdES form; refused rather than read whole.
                report.raisons.push(t("marches.verif.sans_attributs"));
                false
            }
        },
    };
    if !signature_valid && report.raisons.is_empty() {
        report.raisons.push(t("marches.verif.valeur_signature"));
    }
    let digest_matches = !report
        .raisons
        .iter()
        .any(|r| *r == t("marches.verif.empreinte"));
    report.integrite = signature_valid && digest_matches;
    report.date_signature = claimed_time.map(iso8601);

    // A signature timestamp (CAdES-T) over the signature value; one that does not verify makes
    // the signature doubtful.
    let mut timestamp_ok = true;
    if let Some(unsigned) = signer.unsigned_attrs
        && let Ok(Some(set)) = attribute(unsigned, OID_SIGNATURE_TIMESTAMP)
        && let Ok((_, token, _)) = Der::new(set).element()
    {
        match verify_token(
            token,
            &Signed::Bytes(signer.signature),
            file,
            document,
            trust,
        ) {
            Ok(ts) if ts.report.integrite => {
                // Only a timestamp of a trusted authority proves the signing time.
                if ts.report.chaine == Some(true) {
                    gen_time = ts.gen_time;
                }
                report.horodatage = ts.gen_time.map(iso8601);
                if ts.report.chaine == Some(false) {
                    report
                        .raisons
                        .push(t("marches.verif.horodatage_non_fiable"));
                }
            }
            Ok(ts) => {
                timestamp_ok = false;
                report.raisons.push(tf(
                    "marches.verif.horodatage_invalide",
                    &[("detail", &ts.report.raisons.join(" ; "))],
                ))
            }
            Err(e) => {
                timestamp_ok = false;
                report.raisons.push(tf(
                    "marches.verif.horodatage_invalide",
                    &[("detail", &e.to_string())],
                ))
            }
        }
    }

    // The certificate at the signing time: the timestamp's, else the signer's claim (signed
    // attribute, else the PDF's /M), never today's date presented as the signing date.
    let others: Vec<X509> = sd
        .certificates
        .iter()
        .filter(|c| **c != cert_der)
        .filter_map(|c| X509::from_der(c).ok())
        .collect();
    let (claimed, source) = match (claimed_time, declared) {
        (Some(at), _) => (Some(at), t("marches.verif.source_signing_time")),
        (None, Some(at)) => {
            report.date_signature = Some(iso8601(at));
            (Some(at), t("marches.verif.source_pdf_m"))
        }
        (None, None) => (None, String::new()),
    };
    judge_certificate(
        &mut report,
        &cert,
        &info,
        &others,
        gen_time,
        claimed,
        &source,
        trust,
    );
    report.valide =
        report.integrite && report.certificat_valide && report.chaine == Some(true) && timestamp_ok;
    SignerVerdict { report, gen_time }
}

/// Verify an RFC 3161 token (a SignedData over a TSTInfo) against `data`.
pub(super) fn verify_token(
    token: &[u8],
    data: &Signed,
    file: &Path,
    document: &Path,
    trust: Option<&TrustStore>,
) -> Result<SignerVerdict, VerifyError> {
    let malformed = |e: DerError| VerifyError::Malformed(file.to_owned(), e.0);
    let sd = parse_signed_data(token).map_err(malformed)?;
    if sd.content_type != OID_TST_INFO {
        return Err(VerifyError::Malformed(
            file.to_owned(),
            t("marches.verif.pas_jeton"),
        ));
    }
    let tst_info = sd
        .content
        .ok_or_else(|| VerifyError::Malformed(file.to_owned(), t("marches.verif.pas_jeton")))?;
    // TSTInfo: version, policy, messageImprint, serialNumber, genTime, …
    let mut info = Der::new(Der::new(tst_info).expect(0x30).map_err(malformed)?);
    info.expect(0x02).map_err(malformed)?;
    info.expect(0x06).map_err(malformed)?;
    let mut imprint = Der::new(info.expect(0x30).map_err(malformed)?);
    let hash_oid = Der::new(imprint.expect(0x30).map_err(malformed)?)
        .expect(0x06)
        .map_err(malformed)?;
    let hashed = imprint.expect(0x04).map_err(malformed)?;
    info.expect(0x02).map_err(malformed)?;
    let (tag, _, value) = info.element().map_err(malformed)?;
    let gen_time = parse_time(tag, value);
    let mut verdicts = verify_signed_data(
        token,
        &Signed::Bytes(tst_info),
        file,
        document,
        "Jeton d'horodatage",
        None,
        trust,
    )?;
    let mut verdict = verdicts.remove(0);
    // A token's time is its genTime, not a date declared by a signer.
    verdict.report.remarques.clear();
    verdict.report.date_declaree = None;
    // A timestamp counts only from an authority whose certificate is for timestamping.
    let tsa_purpose = sd
        .signers
        .first()
        .and_then(|s| find_certificate(&s.sid, &sd.certificates))
        .and_then(|der| CertificateInfo::from_der(der).ok())
        .and_then(|info| info.extended_key_usage)
        .is_some_and(|eku| eku.iter().any(|e| e == "timeStamping"));
    if !tsa_purpose {
        verdict.report.valide = false;
        verdict.report.raisons.push(t("marches.verif.pas_une_tsa"));
    }
    match digest_for(hash_oid).map(|md| data.digest(md)) {
        Some(Ok(d)) if d == hashed => {}
        Some(Ok(_)) => {
            verdict.report.integrite = false;
            verdict.report.valide = false;
            verdict
                .report
                .raisons
                .push(t("marches.verif.empreinte_horodatee"));
        }
        Some(Err(e)) => {
            verdict.report.integrite = false;
            verdict.report.valide = false;
            verdict
                .report
                .raisons
                .push(tf("marches.verif.document_illisible", &[("detail", &e)]));
        }
        None => {
            verdict.report.integrite = false;
            verdict.report.valide = false;
            verdict.report.raisons.push(tf(
                "marches.verif.algorithme_inconnu",
                &[("algorithme", &dotted(hash_oid))],
            ));
        }
    }
    verdict.gen_time = gen_time;
    verdict.report.horodatage = gen_time.map(iso8601);
    Ok(verdict)
}

/// Read a signature file whole, up to `limit` bytes.
pub(super) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    let read_error = |e: std::io::Error| VerifyError::Read(path.to_owned(), e.to_string());
    let file = crate::files::open_regular(path).map_err(read_error)?;
    if file.metadata().map_err(read_error)?.len() > limit {
        return Err(VerifyError::TooLarge(path.to_owned()));
    }
    let mut raw = Vec::new();
    file.take(limit).read_to_end(&mut raw).map_err(read_error)?;
    Ok(raw)
}

/// Read a signature or token file whole (bounded), decoding PEM or S/MIME, and giving a BER
/// (indefinite lengths, chunked content) SignedData its DER form.
fn read_signature_file(path: &Path) -> Result<Vec<u8>, VerifyError> {
    read_cms_file(path, SIGNATURE_FILE_LIMIT)
}

pub(super) fn read_cms_file(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    let read_error = |e: std::io::Error| VerifyError::Read(path.to_owned(), e.to_string());
    let raw = read_bounded(path, limit)?;
    let decoded = match armor::detect(&raw) {
        Some(Armor::Der) | None => raw,
        Some(text) => {
            let mut decoded = Vec::new();
            Base64Lines::new(raw.as_slice(), text)
                .read_to_end(&mut decoded)
                .map_err(read_error)?;
            decoded
        }
    };
    Ok(der_form(decoded))
}

/// The DER form of a CMS structure written in BER (indefinite lengths, constructed OCTET
/// STRINGs), as some tools write them; the bytes unchanged when they read as they are.
fn der_form(bytes: Vec<u8>) -> Vec<u8> {
    if parse_signed_data(&bytes).is_ok() {
        return bytes;
    }
    let mut out = Vec::new();
    match ber_to_der(&bytes, 0, &mut out) {
        Ok(_) if parse_signed_data(&out).is_ok() => out,
        _ => bytes,
    }
}

/// Deep enough for any CMS structure; bounds the recursion on hostile input.
const BER_MAX_DEPTH: usize = 48;

/// Re-encode the first BER element of `input` as DER into `out`; returns how many bytes of
/// `input` it took. Definite lengths become minimal, indefinite ones definite, a constructed
/// OCTET STRING one primitive; the contents of primitive elements are kept as they are.
fn ber_to_der(input: &[u8], depth: usize, out: &mut Vec<u8>) -> Result<usize, ()> {
    if depth > BER_MAX_DEPTH {
        return Err(());
    }
    let tag = *input.first().ok_or(())?;
    if tag & 0x1f == 0x1f {
        return Err(());
    }
    let first = *input.get(1).ok_or(())?;
    let constructed = tag & 0x20 != 0;
    let (header, length) = if first == 0x80 {
        (2, None)
    } else if first < 0x80 {
        (2, Some(usize::from(first)))
    } else {
        let count = usize::from(first & 0x7f);
        if count > 4 {
            return Err(());
        }
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | usize::from(*input.get(2 + i).ok_or(())?);
        }
        (2 + count, Some(len))
    };
    let mut content = Vec::new();
    let taken = match length {
        Some(len) if !constructed => {
            let end = header.checked_add(len).ok_or(())?;
            content.extend_from_slice(input.get(header..end).ok_or(())?);
            end
        }
        Some(len) => {
            let end = header.checked_add(len).ok_or(())?;
            let inner = input.get(header..end).ok_or(())?;
            let mut at = 0;
            while at < inner.len() {
                at += ber_to_der(&inner[at..], depth + 1, &mut content)?;
            }
            end
        }
        None => {
            if !constructed {
                return Err(());
            }
            let mut at = header;
            loop {
                let rest = input.get(at..).ok_or(())?;
                if rest.starts_with(&[0, 0]) {
                    break at + 2;
                }
                at += ber_to_der(rest, depth + 1, &mut content)?;
            }
        }
    };
    let tag = if tag == 0x24 {
        // Chunks of an OCTET STRING: their contents, joined.
        let mut joined = Vec::new();
        let mut chunks = Der::new(&content);
        while !chunks.is_empty() {
            let (chunk_tag, _, value) = chunks.element().map_err(|_| ())?;
            if chunk_tag != 0x04 {
                return Err(());
            }
            joined.extend_from_slice(value);
        }
        content = joined;
        0x04
    } else {
        tag
    };
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(&content);
    Ok(taken)
}

/// Is this DER a timestamp (TimeStampResp or a token) rather than a signature?
fn timestamp_token(bytes: &[u8]) -> Option<&[u8]> {
    let mut outer = Der::new(bytes);
    let (_, whole, value) = outer.element().ok()?;
    let mut inner = Der::new(value);
    match inner.peek_tag()? {
        // TimeStampResp: PKIStatusInfo, then the token.
        0x30 => {
            let status = inner.expect(0x30).ok()?;
            let granted = Der::new(status).expect(0x02).ok()?;
            if !matches!(granted, [0] | [1]) {
                return None;
            }
            let (_, token, _) = inner.element().ok()?;
            let sd = parse_signed_data(token).ok()?;
            (sd.content_type == OID_TST_INFO).then_some(token)
        }
        0x06 => {
            let sd = parse_signed_data(whole).ok()?;
            (sd.content_type == OID_TST_INFO).then_some(whole)
        }
        _ => None,
    }
}

/// The digests the detached CAdES of `bytes` gives its document (messageDigest of each signer).
pub(super) fn cms_document_digests(bytes: &[u8]) -> Vec<DocumentDigest> {
    let Ok(sd) = parse_signed_data(bytes) else {
        return Vec::new();
    };
    if sd.content.is_some() || sd.content_type == OID_TST_INFO {
        return Vec::new();
    }
    sd.signers
        .iter()
        .filter_map(|signer| {
            let md = digest_for(signer.digest_oid)?;
            let attrs = Der::new(signer.signed_attrs?).expect(0xa0).ok()?;
            let set = attribute(attrs, OID_MESSAGE_DIGEST).ok()??;
            let value = Der::new(set).expect(0x04).ok()?.to_vec();
            Some(DocumentDigest { md, value })
        })
        .collect()
}

pub(super) fn verify_signature_file(
    path: &Path,
    document: Option<&Path>,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    let bytes = read_signature_file(path)?;
    if let Some(token) = timestamp_token(&bytes) {
        let document = document
            .map(Path::to_owned)
            .unwrap_or_else(|| document_for(path));
        if !document.is_file() {
            return Err(VerifyError::MissingDocument(document));
        }
        let verdict = verify_token(token, &Signed::File(&document), path, &document, trust)?;
        return Ok(vec![verdict.report]);
    }
    let sd = parse_signed_data(&bytes).map_err(|e| VerifyError::Malformed(path.to_owned(), e.0))?;
    let verdicts = match sd.content {
        Some(content) => verify_signed_data(
            &bytes,
            &Signed::Bytes(content),
            path,
            path,
            "CAdES enveloppante",
            None,
            trust,
        )?,
        None => {
            let document = match document {
                Some(d) => d.to_owned(),
                None => locate_document(path, &cms_document_digests(&bytes))
                    .ok_or_else(|| VerifyError::DocumentNotFound(path.to_owned()))?,
            };
            verify_signed_data(
                &bytes,
                &Signed::File(&document),
                path,
                &document,
                "CAdES détachée",
                None,
                trust,
            )?
        }
    };
    Ok(verdicts.into_iter().map(|v| v.report).collect())
}

/// A detached CAdES signature `cms` over `content` held in memory (a lot's manifest, say):
/// every signer judged like a `.p7s` beside its document. An enveloping signature is refused
/// here: what it carries would not be `content`. `name` names the signature in reports.
pub fn verify_detached_bytes(
    cms: &[u8],
    content: &[u8],
    name: &Path,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    let sd = parse_signed_data(cms).map_err(|e| VerifyError::Malformed(name.to_owned(), e.0))?;
    if sd.content.is_some() {
        return Err(VerifyError::Malformed(
            name.to_owned(),
            t("marches.verif.pas_detachee"),
        ));
    }
    let verdicts = verify_signed_data(
        cms,
        &Signed::Bytes(content),
        name,
        name,
        "CAdES détachée",
        None,
        trust,
    )?;
    Ok(verdicts.into_iter().map(|v| v.report).collect())
}

/// The PAdES signatures of the PDF at `path`, whatever its name (a file being written, say).
pub fn verify_pdf_signatures(
    path: &Path,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    verify_pdf(path, trust)
}

/// The PAdES signatures of a PDF: each signature dictionary's /ByteRange and /Contents.
pub(super) fn verify_pdf(
    path: &Path,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    let read_error = |e: std::io::Error| VerifyError::Read(path.to_owned(), e.to_string());
    let bytes = std::fs::read(path).map_err(read_error)?;
    let document = lopdf::Document::load_mem(&bytes)
        .map_err(|e| VerifyError::UnreadablePdf(path.to_owned(), e.to_string()))?;
    let mut reports = Vec::new();
    for object in document.objects.values() {
        let Ok(dict) = object.as_dict() else { continue };
        let (Ok(range), Ok(contents)) = (dict.get(b"ByteRange"), dict.get(b"Contents")) else {
            continue;
        };
        let Ok(range) = range.as_array() else {
            continue;
        };
        let numbers: Vec<i64> = range.iter().filter_map(|o| o.as_i64().ok()).collect();
        let Ok(cms) = contents.as_str() else { continue };
        if numbers.len() != 4 || numbers.iter().any(|n| *n < 0) {
            continue;
        }
        let ranges = vec![
            (numbers[0] as usize, numbers[1] as usize),
            (numbers[2] as usize, numbers[3] as usize),
        ];
        let covers_all =
            numbers[0] == 0 && numbers[2].saturating_add(numbers[3]) as usize == bytes.len();
        let signed = Signed::Ranges(&bytes, ranges);
        let cms = der_form(cms.to_vec());
        // A document timestamp (PAdES B-LTA, /SubFilter /ETSI.RFC3161): a token over the ranges.
        let is_name = |key: &[u8], value: &[u8]| {
            dict.get(key)
                .ok()
                .and_then(|o| o.as_name().ok())
                .is_some_and(|n| n == value)
        };
        if is_name(b"Type", b"DocTimeStamp") || is_name(b"SubFilter", b"ETSI.RFC3161") {
            let mut report = verify_token(&cms, &signed, path, path, trust)?.report;
            report.format = t("marches.verif.horodatage_document");
            report.couvre_tout_le_fichier = Some(covers_all);
            reports.push(report);
            continue;
        }
        // The signing time the signer wrote in the signature dictionary (/M): used only when
        // the CMS has no signingTime, and said to be declared.
        let declared = dict
            .get(b"M")
            .ok()
            .and_then(|m| m.as_str().ok())
            .and_then(parse_pdf_date);
        for verdict in verify_signed_data(&cms, &signed, path, path, "PAdES", declared, trust)? {
            let mut report = verdict.report;
            report.couvre_tout_le_fichier = Some(covers_all);
            reports.push(report);
        }
    }
    Ok(reports)
}

/// A PDF date, `D:YYYYMMDDHHmmSSOHH'mm'` (every part after the year optional; no offset
/// means UTC here).
fn parse_pdf_date(text: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(text).ok()?;
    let text = text.strip_prefix("D:").unwrap_or(text);
    let digits = |from: usize, len: usize, default: u8| -> Option<u8> {
        match text.get(from..from + len) {
            Some(d) if d.bytes().all(|b| b.is_ascii_digit()) => d.parse().ok(),
            Some(_) => None,
            None => Some(default),
        }
    };
    let year: i32 = text.get(..4)?.parse().ok()?;
    let month = digits(4, 2, 1)?;
    let day = digits(6, 2, 1)?;
    let hour = digits(8, 2, 0)?;
    let minute = digits(10, 2, 0)?;
    let second = digits(12, 2, 0)?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let local = date.with_time(time::Time::from_hms(hour, minute, second).ok()?);
    let zone = text.get(14..).unwrap_or("");
    let offset = match zone.chars().next() {
        None | Some('Z') => time::UtcOffset::UTC,
        Some(sign @ ('+' | '-')) => {
            let rest: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i8 = rest.get(..2)?.parse().ok()?;
            let m: i8 = rest.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
            let (h, m) = if sign == '-' { (-h, -m) } else { (h, m) };
            time::UtcOffset::from_hms(h, m, 0).ok()?
        }
        Some(_) => return None,
    };
    Some(local.assume_offset(offset).to_offset(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates() {
        let d = parse_pdf_date(b"D:20220215094452+01'00'").expect("date");
        assert_eq!(iso8601(d), "2022-02-15T08:44:52Z");
        let d = parse_pdf_date(b"D:20220215084452Z").expect("date");
        assert_eq!(iso8601(d), "2022-02-15T08:44:52Z");
        let d = parse_pdf_date(b"D:2022").expect("year only");
        assert_eq!(iso8601(d), "2022-01-01T00:00:00Z");
        assert!(parse_pdf_date(b"D:20221315").is_none());
        assert!(parse_pdf_date(b"hier").is_none());
    }

    #[test]
    fn ber_becomes_der() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" }, NULL }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x05,
            0x00, 0x00, 0x00,
        ];
        let mut out = Vec::new();
        assert_eq!(ber_to_der(&ber, 0, &mut out), Ok(ber.len()));
        assert_eq!(out, [0x30, 0x07, 0x04, 0x03, b'a', b'b', b'c', 0x05, 0x00]);
        // Truncated, or nested too deep: refused.
        assert!(ber_to_der(&ber[..10], 0, &mut Vec::new()).is_err());
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100).flatten().collect();
        assert!(ber_to_der(&deep, 0, &mut Vec::new()).is_err());
    }

    #[test]
    fn asn1_times() {
        let t = parse_time(0x17, b"261127231500Z").expect("utc time");
        assert_eq!(iso8601(t), "2026-11-27T23:15:00Z");
        let t = parse_time(0x18, b"20261127231500.123Z").expect("generalized");
        assert_eq!(iso8601(t), "2026-11-27T23:15:00Z");
        assert!(parse_time(0x18, b"20261327231500Z").is_none());
    }
}
