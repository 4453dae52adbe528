//! Whether a signer's certificate was revoked: from a CRL given by the user, else from the
//! certificate's own CRL distribution points (HTTP) or OCSP responder (authority information
//! access) when the machine is online. What was fetched is kept in a cache folder with its date
//! and reused while the CRL (or OCSP answer) says it is current (its nextUpdate is ahead).
//!
//! Every structure is read by OpenSSL (X509Crl, OcspResponse); nothing here reads ASN.1 by hand.
//! Downloads are bounded in size and time, follow at most two redirects (HTTP only), and go only
//! to the addresses written in the certificate.

use crate::messages::{t, tf};
use openssl::asn1::{Asn1GeneralizedTimeRef, Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::ocsp::{
    OcspCertId, OcspCertStatus, OcspFlag, OcspRequest, OcspResponse, OcspResponseStatus,
};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{CrlStatus, ReasonCode, X509, X509Crl, X509Ref};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

/// The largest CRL downloaded or read (national authorities publish a few megabytes).
pub const CRL_LIMIT: u64 = 16 * 1024 * 1024;
/// The largest OCSP answer read.
const OCSP_LIMIT: u64 = 1024 * 1024;
/// How long one download may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed at most (HTTP only).
const MAX_REDIRECTS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error("{}", tf("verification.revocation_crl_illisible", &[("chemin", &.0.display().to_string()), ("detail", .1)]))]
    CrlFile(PathBuf, String),
}

/// What the revocation check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statut {
    Valide,
    Revoque,
    Inconnu,
    NonVerifiee,
}

/// Where the answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A CRL given with `--crl`, or downloaded now from the distribution point.
    Crl,
    /// An OCSP responder asked now.
    Ocsp,
    /// A CRL or OCSP answer downloaded earlier and still current.
    Cache,
}

/// The revocation status of one certificate, as scripts read it.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationReport {
    /// The status is known (valid or revoked) from a verified CRL or OCSP answer.
    pub verifiee: bool,
    pub source: Option<Source>,
    pub statut: Statut,
    /// ISO 8601, when revoked.
    pub date_revocation: Option<String>,
    #[serde(skip)]
    pub revoked_at: Option<OffsetDateTime>,
    /// The reason given by the authority, in French words.
    #[serde(skip)]
    pub reason: Option<String>,
    /// Why the status is not known, in French.
    #[serde(skip)]
    pub detail: Option<String>,
}

impl RevocationReport {
    fn not_checked(detail: String) -> RevocationReport {
        RevocationReport {
            verifiee: false,
            source: None,
            statut: Statut::NonVerifiee,
            date_revocation: None,
            revoked_at: None,
            reason: None,
            detail: Some(detail),
        }
    }

    fn known(source: Source, status: Known) -> RevocationReport {
        let (statut, revoked_at, reason) = match status {
            Known::Good => (Statut::Valide, None, None),
            Known::Revoked { at, reason } => (Statut::Revoque, Some(at), Some(reason)),
            Known::Unknown => (Statut::Inconnu, None, None),
        };
        RevocationReport {
            verifiee: statut != Statut::Inconnu,
            source: Some(source),
            statut,
            date_revocation: revoked_at.map(super::iso8601),
            revoked_at,
            reason,
            detail: (statut == Statut::Inconnu).then(|| t("verification.revocation_inconnue")),
        }
    }
}

/// What the report means for a signature made at `at` (None: date unknown, today is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Nothing to say: not revoked.
    Fine,
    /// The signature is invalid: revoked before it was made. The reason, in French.
    Invalid(String),
    /// Said, without changing the verdict (revoked after signing, status unknown, not checked).
    Note(String),
}

/// How a revocation report weighs on a signature made at `at`.
pub fn judge(report: &RevocationReport, at: Option<OffsetDateTime>) -> Judgement {
    match report.statut {
        Statut::Valide => Judgement::Fine,
        Statut::Revoque => {
            let date = report
                .revoked_at
                .map(super::date_fr)
                .unwrap_or_else(|| "?".into());
            let reason = report.reason.clone().unwrap_or_default();
            let vars = [("date", date.as_str()), ("raison", reason.as_str())];
            match (report.revoked_at, at) {
                (Some(revoked), Some(signed)) if revoked > signed => {
                    Judgement::Note(tf("verification.revoque_apres", &vars))
                }
                _ => Judgement::Invalid(tf("verification.revoque", &vars)),
            }
        }
        Statut::Inconnu | Statut::NonVerifiee => Judgement::Note(
            report
                .detail
                .clone()
                .unwrap_or_else(|| t("verification.revocation_inconnue")),
        ),
    }
}

/// A certificate to check, with the certificates that may have issued it (those the signature
/// carries and the trust store's) and the date it signed at.
#[derive(Debug, Clone)]
pub struct RevocationSubject {
    pub certificate: X509,
    pub candidates: Vec<X509>,
    pub at: Option<OffsetDateTime>,
}

/// What a verified CRL or OCSP answer says of one certificate.
enum Known {
    Good,
    Revoked { at: OffsetDateTime, reason: String },
    Unknown,
}

/// Why one source gave no answer.
enum Failure {
    /// The server could not be reached (connection, time-out): offline.
    Offline(String),
    /// It answered, but not with something usable.
    Invalid(String),
}

/// The checker: CRLs given by the user, the cache folder, and whether to go online.
pub struct RevocationChecker {
    crls: Vec<X509Crl>,
    cache: Option<PathBuf>,
    online: bool,
    /// One answer per certificate (DER) within a run: several signatures by one signer ask once.
    seen: Mutex<HashMap<Vec<u8>, RevocationReport>>,
}

impl RevocationChecker {
    /// A checker that keeps what it fetches under `cache` (None: nothing kept).
    pub fn new(cache: Option<PathBuf>) -> RevocationChecker {
        RevocationChecker {
            crls: Vec::new(),
            cache,
            online: true,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Never download anything (only given CRLs and the cache are used).
    pub fn offline(mut self) -> RevocationChecker {
        self.online = false;
        self
    }

    /// A CRL given by the user (`--crl`), DER or PEM.
    pub fn add_crl_file(&mut self, path: &Path) -> Result<(), RevocationError> {
        let err = |d: String| RevocationError::CrlFile(path.to_owned(), d);
        let file = crate::files::open_regular(path).map_err(|e| err(e.to_string()))?;
        let mut bytes = Vec::new();
        file.take(CRL_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(e.to_string()))?;
        if bytes.len() as u64 > CRL_LIMIT {
            return Err(err(t("verification.revocation_trop_grosse")));
        }
        let crl = parse_crl(&bytes).ok_or_else(|| err(t("verification.revocation_pas_une_crl")))?;
        self.crls.push(crl);
        Ok(())
    }

    /// The revocation status of `subject.certificate`.
    pub fn check(&self, subject: &RevocationSubject) -> RevocationReport {
        let key = subject.certificate.to_der().unwrap_or_default();
        if let Ok(seen) = self.seen.lock()
            && let Some(report) = seen.get(&key)
        {
            return report.clone();
        }
        let report = self.check_uncached(&subject.certificate, &subject.candidates);
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(key, report.clone());
        }
        report
    }

    fn check_uncached(&self, cert: &X509, candidates: &[X509]) -> RevocationReport {
        let Some(issuer) = find_issuer(cert, candidates) else {
            return RevocationReport::not_checked(t("verification.revocation_sans_emetteur"));
        };
        // A CRL given by the user, of this issuer.
        for crl in &self.crls {
            if crl_is_of(crl, &issuer) {
                return RevocationReport::known(Source::Crl, crl_status(crl, cert));
            }
        }
        let mut failures = Vec::new();
        let crl_urls = crl_urls(cert);
        let ocsp_urls = ocsp_urls(cert);
        for url in &crl_urls {
            if let Some(crl) = self.cached_crl(url, &issuer) {
                return RevocationReport::known(Source::Cache, crl_status(&crl, cert));
            }
        }
        for url in &ocsp_urls {
            if let Some(status) = self.cached_ocsp(url, cert, &issuer, candidates) {
                return RevocationReport::known(Source::Cache, status);
            }
        }
        if self.online {
            for url in &crl_urls {
                match self.fetch_crl(url, &issuer) {
                    Ok(crl) => return RevocationReport::known(Source::Crl, crl_status(&crl, cert)),
                    Err(f) => failures.push(f),
                }
            }
            for url in &ocsp_urls {
                match self.ask_ocsp(url, cert, &issuer, candidates) {
                    Ok(status) => return RevocationReport::known(Source::Ocsp, status),
                    Err(f) => failures.push(f),
                }
            }
        }
        if crl_urls.is_empty() && ocsp_urls.is_empty() {
            return RevocationReport::not_checked(t("verification.revocation_sans_source"));
        }
        if !self.online {
            return RevocationReport::not_checked(t("verification.revocation_hors_ligne"));
        }
        // Invalid answers say more than an unreachable server.
        let invalid: Vec<String> = failures
            .iter()
            .filter_map(|f| match f {
                Failure::Invalid(d) => Some(d.clone()),
                Failure::Offline(_) => None,
            })
            .collect();
        if invalid.is_empty() {
            for f in &failures {
                if let Failure::Offline(d) = f {
                    tracing::info!("révocation : {d}");
                }
            }
            RevocationReport::not_checked(t("verification.revocation_hors_ligne"))
        } else {
            RevocationReport::not_checked(tf(
                "verification.revocation_reponse_invalide",
                &[("detail", &invalid.join(" ; "))],
            ))
        }
    }

    fn cache_path(&self, key: &str, ext: &str) -> Option<PathBuf> {
        let digest = openssl::sha::sha256(key.as_bytes());
        self.cache
            .as_ref()
            .map(|dir| dir.join(format!("{}.{ext}", hex::encode(&digest[..16]))))
    }

    /// Keep `bytes` fetched from `url` in the cache, with a small note of its date.
    fn store(&self, key: &str, ext: &str, url: &str, bytes: &[u8], next: Option<OffsetDateTime>) {
        let Some(path) = self.cache_path(key, ext) else {
            return;
        };
        if let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_err()
        {
            return;
        }
        let note = serde_json::json!({
            "url": url,
            "telecharge_le": super::iso8601(OffsetDateTime::now_utc()),
            "prochaine_mise_a_jour": next.map(super::iso8601),
        });
        let tmp = path.with_extension(format!("{ext}.tmp"));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
            let _ = std::fs::write(path.with_extension(format!("{ext}.json")), note.to_string());
        }
    }

    fn read_cached(&self, key: &str, ext: &str, limit: u64) -> Option<Vec<u8>> {
        let path = self.cache_path(key, ext)?;
        let file = crate::files::open_regular(&path).ok()?;
        let mut bytes = Vec::new();
        file.take(limit + 1).read_to_end(&mut bytes).ok()?;
        (bytes.len() as u64 <= limit).then_some(bytes)
    }

    /// A CRL downloaded earlier from `url`, of this issuer, still current.
    fn cached_crl(&self, url: &str, issuer: &X509) -> Option<X509Crl> {
        let bytes = self.read_cached(url, "crl", CRL_LIMIT)?;
        let crl = X509Crl::from_der(&bytes).ok()?;
        let current = crl
            .next_update()
            .and_then(to_datetime)
            .is_some_and(|next| next > OffsetDateTime::now_utc());
        (current && crl_is_of(&crl, issuer)).then_some(crl)
    }

    fn fetch_crl(&self, url: &str, issuer: &X509) -> Result<X509Crl, Failure> {
        let bytes = http(url, None, CRL_LIMIT)?;
        let crl = parse_crl(&bytes)
            .ok_or_else(|| Failure::Invalid(t("verification.revocation_pas_une_crl")))?;
        if !crl_is_of(&crl, issuer) {
            return Err(Failure::Invalid(t("verification.revocation_crl_etrangere")));
        }
        let next = crl.next_update().and_then(to_datetime);
        if let Ok(der) = crl.to_der() {
            self.store(url, "crl", url, &der, next);
        }
        Ok(crl)
    }

    fn ocsp_key(url: &str, cert: &X509Ref) -> String {
        let serial = cert
            .serial_number()
            .to_bn()
            .ok()
            .and_then(|b| b.to_hex_str().ok().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("{url}\n{}\n{serial}", cert.issuer_name_hash())
    }

    fn cached_ocsp(
        &self,
        url: &str,
        cert: &X509,
        issuer: &X509,
        candidates: &[X509],
    ) -> Option<Known> {
        let bytes = self.read_cached(&Self::ocsp_key(url, cert), "ocsp", OCSP_LIMIT)?;
        let (status, next) = read_ocsp(&bytes, cert, issuer, candidates).ok()?;
        next.is_some_and(|n| n > OffsetDateTime::now_utc())
            .then_some(status)
    }

    fn ask_ocsp(
        &self,
        url: &str,
        cert: &X509,
        issuer: &X509,
        candidates: &[X509],
    ) -> Result<Known, Failure> {
        let invalid = |e: openssl::error::ErrorStack| Failure::Invalid(e.to_string());
        let id = OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer).map_err(invalid)?;
        let mut request = OcspRequest::new().map_err(invalid)?;
        request.add_id(id).map_err(invalid)?;
        let body = request.to_der().map_err(invalid)?;
        let answer = http(url, Some(body), OCSP_LIMIT)?;
        let (status, next) = read_ocsp(&answer, cert, issuer, candidates)?;
        if next.is_some() {
            self.store(&Self::ocsp_key(url, cert), "ocsp", url, &answer, next);
        }
        Ok(status)
    }
}

/// A CRL in DER or PEM.
fn parse_crl(bytes: &[u8]) -> Option<X509Crl> {
    X509Crl::from_der(bytes)
        .or_else(|_| X509Crl::from_pem(bytes))
        .ok()
}

/// The CRL is issued by `issuer`: same name, and its signature verifies with its key.
fn crl_is_of(crl: &X509Crl, issuer: &X509) -> bool {
    let same_name = match (crl.issuer_name().to_der(), issuer.subject_name().to_der()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    same_name
        && issuer
            .public_key()
            .and_then(|key| crl.verify(&key))
            .unwrap_or(false)
}

fn crl_status(crl: &X509Crl, cert: &X509) -> Known {
    match crl.get_by_cert(cert) {
        CrlStatus::NotRevoked => Known::Good,
        CrlStatus::Revoked(entry) => {
            let code = entry
                .extension::<ReasonCode>()
                .ok()
                .flatten()
                .and_then(|(_, code)| code.get_i64().ok())
                .unwrap_or(0);
            Known::Revoked {
                at: to_datetime(entry.revocation_date()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                reason: reason_words(code),
            }
        }
        // removeFromCRL: a hold lifted, the certificate is in force again.
        CrlStatus::RemoveFromCrl(_) => Known::Good,
    }
}

/// An OCSP answer for `cert`, verified: its status and the answer's nextUpdate.
fn read_ocsp(
    bytes: &[u8],
    cert: &X509,
    issuer: &X509,
    candidates: &[X509],
) -> Result<(Known, Option<OffsetDateTime>), Failure> {
    let invalid = |e: openssl::error::ErrorStack| Failure::Invalid(e.to_string());
    let response = OcspResponse::from_der(bytes)
        .map_err(|_| Failure::Invalid(t("verification.revocation_pas_ocsp")))?;
    if response.status() != OcspResponseStatus::SUCCESSFUL {
        return Err(Failure::Invalid(tf(
            "verification.revocation_ocsp_refus",
            &[("code", &response.status().as_raw().to_string())],
        )));
    }
    let basic = response.basic().map_err(invalid)?;
    // The answer is signed by the issuer, or by a responder it certified for OCSP.
    let mut store = X509StoreBuilder::new().map_err(invalid)?;
    store.add_cert(issuer.clone()).map_err(invalid)?;
    store
        .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
        .map_err(invalid)?;
    let store = store.build();
    let mut certs = Stack::new().map_err(invalid)?;
    certs.push(issuer.clone()).map_err(invalid)?;
    for c in candidates {
        certs.push(c.clone()).map_err(invalid)?;
    }
    basic
        .verify(&certs, &store, OcspFlag::empty())
        .map_err(|e| {
            Failure::Invalid(tf(
                "verification.revocation_ocsp_signature",
                &[("detail", &e.to_string())],
            ))
        })?;
    let id = OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer).map_err(invalid)?;
    let status = basic
        .find_status(&id)
        .ok_or_else(|| Failure::Invalid(t("verification.revocation_ocsp_absent")))?;
    // Five minutes of clock skew; an answer without nextUpdate is only as good as now.
    status
        .check_validity(300, None)
        .map_err(|_| Failure::Invalid(t("verification.revocation_ocsp_perimee")))?;
    let next = status.next_update().and_then(generalized_to_datetime);
    let known = if status.status == OcspCertStatus::GOOD {
        Known::Good
    } else if status.status == OcspCertStatus::REVOKED {
        Known::Revoked {
            at: status
                .revocation_time
                .and_then(generalized_to_datetime)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            reason: reason_words(i64::from(status.reason.as_raw())),
        }
    } else {
        Known::Unknown
    };
    Ok((known, next))
}

/// The certificate among `candidates` that issued `cert` (its name and its signature).
pub fn find_issuer(cert: &X509Ref, candidates: &[X509]) -> Option<X509> {
    let wanted = cert.issuer_name().to_der().ok()?;
    candidates
        .iter()
        .find(|c| {
            c.subject_name().to_der().ok().as_ref() == Some(&wanted)
                && c.public_key()
                    .and_then(|key| cert.verify(&key))
                    .unwrap_or(false)
        })
        .cloned()
}

/// The HTTP addresses of the certificate's CRL distribution points.
fn crl_urls(cert: &X509Ref) -> Vec<String> {
    let Some(points) = cert.crl_distribution_points() else {
        return Vec::new();
    };
    points
        .iter()
        .filter_map(|p| p.distpoint())
        .filter_map(|name| name.fullname())
        .flat_map(|names| names.iter().filter_map(|n| n.uri().map(str::to_owned)))
        .filter(|u| is_http(u))
        .take(4)
        .collect()
}

/// The HTTP addresses of the certificate's OCSP responders.
fn ocsp_urls(cert: &X509Ref) -> Vec<String> {
    cert.ocsp_responders()
        .map(|list| {
            list.iter()
                .map(|s| s.to_string())
                .filter(|u| is_http(u))
                .take(4)
                .collect()
        })
        .unwrap_or_default()
}

fn is_http(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.scheme() == "http" && u.host().is_some())
}

/// GET (or POST `body` as an OCSP request) `url`, reading at most `limit` bytes.
fn http(url: &str, body: Option<Vec<u8>>, limit: u64) -> Result<Vec<u8>, Failure> {
    let offline = |e: reqwest::Error| Failure::Offline(e.to_string());
    let invalid = |d: String| Failure::Invalid(d);
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("trop de redirections")
        } else if attempt.url().scheme() != "http" {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid(e.to_string()))?
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(policy)
        .user_agent(concat!("Paraphe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    runtime.block_on(async {
        let request = match body {
            Some(b) => client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
                .body(b),
            None => client.get(url),
        };
        let mut response = request.send().await.map_err(offline)?;
        if !response.status().is_success() {
            return Err(invalid(tf(
                "verification.revocation_http",
                &[("statut", &response.status().as_u16().to_string())],
            )));
        }
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(invalid(t("verification.revocation_trop_grosse")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(offline)? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(invalid(t("verification.revocation_trop_grosse")));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    })
}

/// An ASN.1 time as a date.
fn to_datetime(time: &Asn1TimeRef) -> Option<OffsetDateTime> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(time).ok()?;
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

/// A GeneralizedTime as OpenSSL prints it (`Dec  7 06:55:59 2026 GMT`, seconds maybe with a
/// fraction), as a date: the crate gives no other way to read it.
fn generalized_to_datetime(time: &Asn1GeneralizedTimeRef) -> Option<OffsetDateTime> {
    let text = time.to_string();
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [month, day, clock, year, ..] = parts.as_slice() else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)?;
    let month = time::Month::try_from(u8::try_from(month + 1).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()?;
    let mut hms = clock.split('.').next()?.split(':');
    let (h, m, s) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    let clock = time::Time::from_hms(h, m, s).ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc())
}

/// RFC 5280 CRLReason, in French words.
fn reason_words(code: i64) -> String {
    let key = match code {
        1 => "cle_compromise",
        2 => "autorite_compromise",
        3 => "changement_affiliation",
        4 => "remplace",
        5 => "cessation",
        6 => "suspendu",
        9 => "privilege_retire",
        10 => "attributs_compromis",
        _ => "non_precisee",
    };
    t(&format!("verification.revocation_raison_{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_addresses_are_used() {
        assert!(is_http("http://crl.example.invalid/ca.crl"));
        assert!(!is_http("https://crl.example.invalid/ca.crl"));
        assert!(!is_http("ldap://ldap.example.invalid/cn=ca"));
        assert!(!is_http("file:///etc/passwd"));
    }

    #[test]
    fn asn1_times_become_dates() {
        let t = Asn1Time::from_unix(1_800_000_000).expect("time");
        assert_eq!(
            to_datetime(&t).map(|d| d.unix_timestamp()),
            Some(1_800_000_000)
        );
    }
}
