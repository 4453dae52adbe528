//! What checking a signature hands back — its report and the errors that stop the check — and
//! the judgement every format shares once its signer's certificate is read: the certificate at
//! the signing time, its chain, and afterwards its revocation (a step of its own: it needs the
//! network).

use super::documents::document_for;
use crate::certs::revocation::{
    Judgement, RevocationChecker, RevocationReport, RevocationSubject, judge,
};
use crate::certs::trust::TrustStore;
use crate::certs::{CertificateInfo, ValidityState, iso8601};
use crate::messages::{t, tf};
use openssl::x509::X509;
use serde::Serialize;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}", tf("marches.verif.lecture", &[("chemin", &.0.display().to_string()), ("detail", .1)]))]
    Read(PathBuf, String),
    #[error("{}", tf("marches.verif.mal_forme", &[("chemin", &.0.display().to_string()), ("detail", .1)]))]
    Malformed(PathBuf, String),
    #[error("{}", tf("marches.verif.pdf_illisible", &[("chemin", &.0.display().to_string()), ("detail", .1)]))]
    UnreadablePdf(PathBuf, String),
    #[error("{}", tf("marches.verif.document_absent", &[("chemin", &.0.display().to_string())]))]
    MissingDocument(PathBuf),
    #[error("{}", tf("marches.verif.aucune_signature", &[("chemin", &.0.display().to_string())]))]
    NothingToVerify(PathBuf),
    #[error("{}", tf("marches.verif.trop_gros", &[("chemin", &.0.display().to_string())]))]
    TooLarge(PathBuf),
    #[error("{}", tf("marches.verif.document_non_trouve", &[("signature", &.0.display().to_string()), ("nom", &document_for(.0).display().to_string())]))]
    DocumentNotFound(PathBuf),
}

/// The verdict on one signature or timestamp.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// Where the signature is (the `.p7s`, the PDF, the `.tsr`).
    pub fichier: PathBuf,
    /// What it signs.
    pub document: PathBuf,
    /// "CAdES détachée", "CAdES enveloppante", "PAdES", "jeton d'horodatage".
    pub format: String,
    pub signataire: Option<String>,
    pub emetteur: Option<String>,
    /// Qualified certificate (QCStatements, eIDAS).
    pub qualifie: Option<bool>,
    /// The signing time the signer claims (signingTime), ISO 8601.
    pub date_signature: Option<String>,
    /// The time of a verified timestamp, ISO 8601.
    pub horodatage: Option<String>,
    /// Document digest and signature value correct.
    pub integrite: bool,
    /// Certificate valid at the signing time (timestamp if any, else the claimed time, else now).
    pub certificat_valide: bool,
    /// Chains to a trusted authority; None when no trust store was given.
    pub chaine: Option<bool>,
    /// PAdES: the signature covers the whole file (nothing added after it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub couvre_tout_le_fichier: Option<bool>,
    /// The date used to judge the certificate is only declared by the signer (signingTime, the
    /// PDF's /M, XAdES SigningTime), not proven by a timestamp; None without any date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_declaree: Option<bool>,
    /// Integrity, certificate and chain all acceptable.
    pub valide: bool,
    pub raisons: Vec<String>,
    /// What the buyer should know without it making the signature invalid (a declared date).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remarques: Vec<String>,
    /// Revocation of the signer's certificate, once [`check_revocation`] has looked (null
    /// before, or when there is no readable certificate).
    pub revocation: Option<RevocationReport>,
    /// The certificate to check for revocation, its possible issuers and the signing date.
    #[serde(skip)]
    pub revocation_subject: Option<RevocationSubject>,
}

/// A report with nothing checked yet.
pub(in crate::marches) fn blank_report(
    file: &Path,
    document: &Path,
    format: &str,
) -> SignatureReport {
    SignatureReport {
        fichier: file.to_owned(),
        document: document.to_owned(),
        format: format.to_owned(),
        signataire: None,
        emetteur: None,
        qualifie: None,
        date_signature: None,
        horodatage: None,
        integrite: false,
        certificat_valide: false,
        chaine: None,
        couvre_tout_le_fichier: None,
        date_declaree: None,
        valide: false,
        raisons: Vec::new(),
        remarques: Vec::new(),
        revocation: None,
        revocation_subject: None,
    }
}

/// Judge the signer's certificate at the signing time — `proven` (a verified timestamp), else
/// `claimed` (declared by the signer, said so, `source` naming where it comes from) — and its
/// chain to the trust store at that same time. Without any date, today is used and the reasons
/// say that the signing date is unknown rather than blaming the signing date.
#[allow(clippy::too_many_arguments)]
pub(in crate::marches) fn judge_certificate(
    report: &mut SignatureReport,
    cert: &X509,
    info: &CertificateInfo,
    extra: &[X509],
    proven: Option<OffsetDateTime>,
    claimed: Option<OffsetDateTime>,
    source: &str,
    trust: Option<&TrustStore>,
) {
    let at = proven.or(claimed);
    report.revocation_subject = Some(RevocationSubject {
        certificate: cert.clone(),
        candidates: extra
            .iter()
            .chain(trust.map(TrustStore::certificates).unwrap_or_default())
            .cloned()
            .collect(),
        at,
    });
    if proven.is_some() {
        report.date_declaree = Some(false);
    } else if let Some(date) = claimed {
        report.date_declaree = Some(true);
        report.remarques.push(tf(
            "marches.verif.date_declaree",
            &[("date", &iso8601(date)), ("source", source)],
        ));
    } else {
        report.remarques.push(t("marches.verif.sans_date"));
    }
    match (
        info.validity_at(at.unwrap_or_else(OffsetDateTime::now_utc)),
        at,
    ) {
        (ValidityState::Valide | ValidityState::ExpireBientot { .. }, _) => {
            report.certificat_valide = true
        }
        (ValidityState::Expire, Some(_)) => report.raisons.push(tf(
            "marches.verif.certificat_expire",
            &[("date", &crate::certs::date_fr(info.not_after))],
        )),
        (ValidityState::Expire, None) => report.raisons.push(tf(
            "marches.verif.certificat_expire_sans_date",
            &[("date", &crate::certs::date_fr(info.not_after))],
        )),
        (ValidityState::PasEncoreValide, _) => report.raisons.push(tf(
            "marches.verif.certificat_pas_encore",
            &[("date", &crate::certs::date_fr(info.not_before))],
        )),
    }
    if let Some(store) = trust {
        match store.check_chain(cert, extra, at) {
            Ok(()) => report.chaine = Some(true),
            Err(reason) => {
                report.chaine = Some(false);
                report
                    .raisons
                    .push(tf("marches.verif.chaine", &[("detail", &reason)]));
            }
        }
    } else {
        report.raisons.push(t("marches.verif.sans_confiance"));
    }
}

/// Check the revocation of each report's signer certificate: revoked before the signing date
/// makes the signature invalid (the date and the reason said); revoked after it, an unknown
/// status, or a status that could not be checked (offline) are said in the remarks.
pub fn check_revocation(reports: &mut [SignatureReport], checker: &RevocationChecker) {
    for report in reports {
        let Some(subject) = report.revocation_subject.as_ref() else {
            continue;
        };
        let found = checker.check(subject);
        match judge(&found, subject.at) {
            Judgement::Fine => {}
            Judgement::Invalid(reason) => {
                report.valide = false;
                report.raisons.push(reason);
            }
            Judgement::Note(note) => report.remarques.push(note),
        }
        report.revocation = Some(found);
    }
}

/// Every report's signer certificate was checked for revocation (valid or revoked, known).
pub fn revocation_verified(reports: &[SignatureReport]) -> bool {
    !reports.is_empty()
        && reports
            .iter()
            .all(|r| r.revocation.as_ref().is_some_and(|v| v.verifiee))
}
