//! Checking the signers of a CMS SignedData — CAdES detached or enveloping, a PDF's PAdES
//! signatures, RFC 3161 timestamp tokens and the signature timestamps inside CAdES-T — each one
//! for the integrity of what it signs, its signature value, its timestamp and its certificate.
//! Tokens and signers are checked together: a signer's timestamp is a token, and a token is a
//! SignedData whose signer is checked like any other.

use super::cms::{
    OID_MESSAGE_DIGEST, OID_RSA_PSS, OID_SIGNATURE_TIMESTAMP, OID_SIGNING_TIME, OID_TST_INFO,
    SignedData, SignerInfo, attribute, cms_document_digests, digest_for, find_certificate,
    parse_signed_data, parse_time, read_signature_file, timestamp_token,
};
use super::documents::{document_for, locate_document};
use super::verdict::{SignatureReport, VerifyError, blank_report, judge_certificate};
use crate::certs::trust::TrustStore;
use crate::certs::{CertificateInfo, iso8601};
use crate::marches::der::{Der, DerError, dotted};
use crate::messages::{t, tf};
use openssl::hash::{Hasher, MessageDigest};
use openssl::x509::X509;
use std::io::{BufReader, Read};
use std::path::Path;
use time::OffsetDateTime;

/// Where the signed bytes come from.
pub(in crate::marches) enum Signed<'a> {
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
pub(in crate::marches) struct SignerVerdict {
    pub(in crate::marches) report: SignatureReport,
    /// The verified time of a timestamp token (its genTime), for the caller.
    pub(in crate::marches) gen_time: Option<OffsetDateTime>,
}

/// Verify every signer of a SignedData over `signed`.
pub(super) fn verify_signed_data(
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
pub(in crate::marches) fn verify_token(
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

pub(in crate::marches) fn verify_signature_file(
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
