//! X.509 reading for people: who the certificate is for, who issued it, until when, and which
//! **roles** its key may serve (signature, authentification, chiffrement), following the key usage
//! and extended key usage the certification authority wrote into it.

pub mod revocation;
pub mod trust;

use ::time::OffsetDateTime;
use serde::Serialize;
use x509_parser::der_parser::ber::BerObject;
use x509_parser::der_parser::der::parse_der;
use x509_parser::prelude::*;

/// How many days before expiry the user is warned (renewal needs a face-to-face meeting).
pub const EXPIRY_WARNING_DAYS: i64 = 60;

const OID_QC_STATEMENTS: &str = "1.3.6.1.5.5.7.1.3";
const OID_QC_COMPLIANCE: &str = "0.4.0.1862.1.1";
const OID_QC_SSCD: &str = "0.4.0.1862.1.4";
const OID_QC_TYPE: &str = "0.4.0.1862.1.6";

/// What a key can be used for, in the field's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Legal signature (nonRepudiation / contentCommitment).
    Signature,
    /// TLS client login to the platform (digitalSignature + clientAuth).
    Authentification,
    /// Opening encrypted bids (keyEncipherment / dataEncipherment / keyAgreement).
    Chiffrement,
}

impl Role {
    pub fn key(&self) -> &'static str {
        match self {
            Role::Signature => "signature",
            Role::Authentification => "authentification",
            Role::Chiffrement => "chiffrement",
        }
    }

    /// The French word shown to the user.
    pub fn label(&self) -> String {
        crate::messages::t(&format!("roles.{}", self.key()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KeyType {
    Rsa { bits: usize },
    Ec { curve: String, bits: usize },
    Autre { oid: String },
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyType::Rsa { bits } => write!(f, "RSA {bits} bits"),
            KeyType::Ec { curve, bits } => write!(f, "ECDSA {curve} ({bits} bits)"),
            KeyType::Autre { oid } => write!(f, "{oid}"),
        }
    }
}

/// eIDAS qualified-certificate statements (ETSI EN 319 412-5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QcStatements {
    pub conforme: bool,
    pub sscd: bool,
    /// QcType OIDs turned into words: "esign", "eseal", "web", or the OID.
    pub types: Vec<String>,
}

/// Where a certificate stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityState {
    Valide,
    ExpireBientot { jours: i64 },
    Expire,
    PasEncoreValide,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub common_name: Option<String>,
    pub issuer: String,
    /// Serial number in hexadecimal, colon-separated as certification authorities print it.
    pub serial: String,
    #[serde(with = "::time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "::time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key_type: KeyType,
    /// keyUsage bits by their RFC 5280 names; `None` when the extension is absent.
    pub key_usage: Option<Vec<String>>,
    /// extendedKeyUsage names or OIDs; `None` when absent.
    pub extended_key_usage: Option<Vec<String>>,
    pub qc_statements: Option<QcStatements>,
    pub is_ca: bool,
    pub roles: Vec<Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{}", crate::messages::tf("verification.certificat_illisible", &[("detail", .0)]))]
    Parse(String),
}

impl CertificateInfo {
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| CertError::Parse(e.to_string()))?;
        let key_usage = cert
            .key_usage()
            .map_err(|e| CertError::Parse(e.to_string()))?
            .map(|ext| key_usage_names(ext.value));
        let extended_key_usage = cert
            .extended_key_usage()
            .map_err(|e| CertError::Parse(e.to_string()))?
            .map(|ext| eku_names(ext.value));
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .map(|bc| bc.value.ca)
            .unwrap_or(false);
        let key_type = key_type(&cert);
        let roles = roles_for(
            key_usage.as_deref(),
            extended_key_usage.as_deref(),
            &key_type,
            is_ca,
        );
        let qc_statements = cert
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == OID_QC_STATEMENTS)
            .map(|e| parse_qc_statements(e.value));
        Ok(CertificateInfo {
            subject: cert.subject().to_string(),
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string(),
            not_before: to_datetime(cert.validity().not_before.timestamp()),
            not_after: to_datetime(cert.validity().not_after.timestamp()),
            key_type,
            key_usage,
            extended_key_usage,
            qc_statements,
            is_ca,
            roles,
        })
    }

    /// The name to show: the common name, else the whole subject.
    pub fn display_name(&self) -> &str {
        self.common_name.as_deref().unwrap_or(&self.subject)
    }

    pub fn validity_at(&self, now: OffsetDateTime) -> ValidityState {
        if now < self.not_before {
            ValidityState::PasEncoreValide
        } else if now > self.not_after {
            ValidityState::Expire
        } else {
            let days = (self.not_after - now).whole_days();
            if days < EXPIRY_WARNING_DAYS {
                ValidityState::ExpireBientot { jours: days }
            } else {
                ValidityState::Valide
            }
        }
    }

    pub fn validity_now(&self) -> ValidityState {
        self.validity_at(OffsetDateTime::now_utc())
    }

    pub fn is_qualified(&self) -> bool {
        self.qc_statements.as_ref().is_some_and(|q| q.conforme)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

fn to_datetime(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// ISO 8601 (RFC 3339) text of a date, as scripts expect it.
pub fn iso8601(dt: OffsetDateTime) -> String {
    dt.format(&::time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `27/11/2026`, as French users write dates.
pub fn date_fr(dt: OffsetDateTime) -> String {
    format!("{:02}/{:02}/{}", dt.day(), u8::from(dt.month()), dt.year())
}

fn key_usage_names(ku: &KeyUsage) -> Vec<String> {
    let bits = [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
        (ku.encipher_only(), "encipherOnly"),
        (ku.decipher_only(), "decipherOnly"),
    ];
    bits.iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| (*name).to_owned())
        .collect()
}

fn eku_names(eku: &ExtendedKeyUsage) -> Vec<String> {
    let mut names: Vec<String> = [
        (eku.any, "anyExtendedKeyUsage"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| (*name).to_owned())
    .collect();
    names.extend(eku.other.iter().map(|oid| oid.to_id_string()));
    names
}

fn key_type(cert: &X509Certificate) -> KeyType {
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => KeyType::Rsa {
            bits: rsa.key_size(),
        },
        Ok(x509_parser::public_key::PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "P-256".to_owned(),
                    "1.3.132.0.34" => "P-384".to_owned(),
                    "1.3.132.0.35" => "P-521".to_owned(),
                    other => other.to_owned(),
                })
                .unwrap_or_default();
            KeyType::Ec {
                curve,
                bits: point.key_size(),
            }
        }
        _ => KeyType::Autre {
            oid: spki.algorithm.algorithm.to_id_string(),
        },
    }
}

/// Roles from key usage and extended key usage.
///
/// - signature: nonRepudiation (a legal signature needs the commitment bit);
/// - authentification: digitalSignature, and clientAuth when an EKU list restricts the key;
/// - chiffrement: keyEncipherment or dataEncipherment (RSA key transport), keyAgreement (EC).
///
/// A certificate without keyUsage restricts nothing; a CA certificate serves no user role.
pub fn roles_for(
    key_usage: Option<&[String]>,
    eku: Option<&[String]>,
    key_type: &KeyType,
    is_ca: bool,
) -> Vec<Role> {
    if is_ca {
        return Vec::new();
    }
    let has = |name: &str| key_usage.is_none_or(|ku| ku.iter().any(|k| k == name));
    let eku_allows_client = eku.is_none_or(|list| {
        list.iter()
            .any(|e| e == "clientAuth" || e == "anyExtendedKeyUsage")
    });
    let mut roles = Vec::new();
    if has("nonRepudiation") {
        roles.push(Role::Signature);
    }
    if has("digitalSignature") && eku_allows_client {
        roles.push(Role::Authentification);
    }
    let can_encrypt = match key_type {
        KeyType::Rsa { .. } => has("keyEncipherment") || has("dataEncipherment"),
        KeyType::Ec { .. } => has("keyAgreement"),
        KeyType::Autre { .. } => false,
    };
    if can_encrypt {
        roles.push(Role::Chiffrement);
    }
    roles
}

fn parse_qc_statements(value: &[u8]) -> QcStatements {
    let mut qc = QcStatements::default();
    let Ok((_, seq)) = parse_der(value) else {
        return qc;
    };
    let Ok(statements) = seq.as_sequence() else {
        return qc;
    };
    for statement in statements {
        let Ok(parts) = statement.as_sequence() else {
            continue;
        };
        let Some(oid) = parts.first().and_then(|o| o.as_oid().ok()) else {
            continue;
        };
        match oid.to_id_string().as_str() {
            OID_QC_COMPLIANCE => qc.conforme = true,
            OID_QC_SSCD => qc.sscd = true,
            OID_QC_TYPE => qc.types = parts.get(1).map(qc_types).unwrap_or_default(),
            _ => {}
        }
    }
    qc
}

fn qc_types(value: &BerObject) -> Vec<String> {
    value
        .as_sequence()
        .map(|oids| {
            oids.iter()
                .filter_map(|o| o.as_oid().ok())
                .map(|oid| match oid.to_id_string().as_str() {
                    "0.4.0.1862.1.6.1" => "esign".to_owned(),
                    "0.4.0.1862.1.6.2" => "eseal".to_owned(),
                    "0.4.0.1862.1.6.3" => "web".to_owned(),
                    other => other.to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    const RSA: KeyType = KeyType::Rsa { bits: 2048 };

    #[test]
    fn signature_needs_non_repudiation() {
        let ku = names(&["nonRepudiation"]);
        assert_eq!(
            roles_for(Some(&ku), None, &RSA, false),
            vec![Role::Signature]
        );
        let ku = names(&["digitalSignature"]);
        assert!(!roles_for(Some(&ku), None, &RSA, false).contains(&Role::Signature));
    }

    #[test]
    fn eku_without_client_auth_forbids_authentication() {
        let ku = names(&["digitalSignature"]);
        let eku = names(&["emailProtection"]);
        assert!(roles_for(Some(&ku), Some(&eku), &RSA, false).is_empty());
        let eku = names(&["emailProtection", "clientAuth"]);
        assert_eq!(
            roles_for(Some(&ku), Some(&eku), &RSA, false),
            vec![Role::Authentification]
        );
    }

    #[test]
    fn ca_and_ec_encryption_rules() {
        assert!(roles_for(None, None, &RSA, true).is_empty());
        let ec = KeyType::Ec {
            curve: "P-256".into(),
            bits: 256,
        };
        let ku = names(&["keyEncipherment"]);
        assert!(roles_for(Some(&ku), None, &ec, false).is_empty());
        assert_eq!(roles_for(None, None, &RSA, false).len(), 3);
    }
}
