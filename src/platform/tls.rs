//! TLS client configuration for the platform. The authentication key never leaves the card:
//! rustls hands the handshake transcript to [`CardClientKey`], which signs it through
//! [`crate::card::Signer`] (RSA PKCS#1 v1.5 for TLS 1.2 — every card does it —, RSA-PSS where TLS
//! 1.3 demands it, ECDSA). Server certificates are always verified: against the platform's CA
//! when the settings name one, otherwise against the system's trust store.

use super::PlatformError;
use crate::card::{CardError, HashAlg, KeyKind, SignatureScheme, Signer};
use crate::messages::tf;
use rustls::client::ResolvesClientCert;
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::{ClientConfig, RootCertStore, SignatureAlgorithm};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The card key shared by every TLS connection of a session, and the last card error (rustls
/// only carries strings; the sender shows the card's own French sentence).
#[derive(Clone)]
pub struct SharedCardKey {
    signer: Arc<Mutex<Box<dyn Signer>>>,
    last_error: Arc<Mutex<Option<String>>>,
    certificate: Vec<u8>,
    kind: KeyKind,
    /// Curve size in bits for an EC key (256, 384, 521).
    ec_bits: u32,
}

impl std::fmt::Debug for SharedCardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCardKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl SharedCardKey {
    pub fn new(signer: Box<dyn Signer>) -> Result<SharedCardKey, PlatformError> {
        let certificate = signer.certificate_der().to_vec();
        let kind = signer.key_kind();
        let ec_bits = match kind {
            KeyKind::Ec => openssl::x509::X509::from_der(&certificate)
                .and_then(|c| c.public_key())
                .and_then(|k| k.ec_key())
                .map(|k| k.group().degree())
                .map_err(|e| PlatformError::Config(e.to_string()))?,
            KeyKind::Rsa => 0,
        };
        Ok(SharedCardKey {
            signer: Arc::new(Mutex::new(signer)),
            last_error: Arc::new(Mutex::new(None)),
            certificate,
            kind,
            ec_bits,
        })
    }

    /// The card's last error during a handshake, taken (so it is reported once).
    pub fn take_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|mut e| e.take())
    }

    /// TLS schemes this key can produce, in our order of preference. PKCS#1 first: in TLS 1.2 it
    /// is what every card can do; TLS 1.3 offers only PSS for RSA, so PSS is chosen there.
    fn schemes(&self) -> Vec<(rustls::SignatureScheme, SignatureScheme)> {
        use rustls::SignatureScheme as T;
        match self.kind {
            KeyKind::Rsa => vec![
                (
                    T::RSA_PKCS1_SHA256,
                    SignatureScheme::RsaPkcs1(HashAlg::Sha256),
                ),
                (
                    T::RSA_PKCS1_SHA384,
                    SignatureScheme::RsaPkcs1(HashAlg::Sha384),
                ),
                (
                    T::RSA_PKCS1_SHA512,
                    SignatureScheme::RsaPkcs1(HashAlg::Sha512),
                ),
                (T::RSA_PSS_SHA256, SignatureScheme::RsaPss(HashAlg::Sha256)),
                (T::RSA_PSS_SHA384, SignatureScheme::RsaPss(HashAlg::Sha384)),
                (T::RSA_PSS_SHA512, SignatureScheme::RsaPss(HashAlg::Sha512)),
            ],
            KeyKind::Ec => match self.ec_bits {
                256 => vec![(
                    T::ECDSA_NISTP256_SHA256,
                    SignatureScheme::Ecdsa(HashAlg::Sha256),
                )],
                384 => vec![(
                    T::ECDSA_NISTP384_SHA384,
                    SignatureScheme::Ecdsa(HashAlg::Sha384),
                )],
                521 => vec![(
                    T::ECDSA_NISTP521_SHA512,
                    SignatureScheme::Ecdsa(HashAlg::Sha512),
                )],
                _ => Vec::new(),
            },
        }
    }
}

impl SigningKey for SharedCardKey {
    fn choose_scheme(
        &self,
        offered: &[rustls::SignatureScheme],
    ) -> Option<Box<dyn rustls::sign::Signer>> {
        self.schemes()
            .into_iter()
            .find(|(tls, _)| offered.contains(tls))
            .map(|(tls, card)| {
                Box::new(CardTlsSigner {
                    key: self.clone(),
                    tls,
                    card,
                }) as Box<dyn rustls::sign::Signer>
            })
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self.kind {
            KeyKind::Rsa => SignatureAlgorithm::RSA,
            KeyKind::Ec => SignatureAlgorithm::ECDSA,
        }
    }
}

#[derive(Debug)]
struct CardTlsSigner {
    key: SharedCardKey,
    tls: rustls::SignatureScheme,
    card: SignatureScheme,
}

impl rustls::sign::Signer for CardTlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let result = match self.key.signer.lock() {
            Ok(mut signer) => signer.sign(self.card, message),
            Err(_) => Err(CardError::InvalidInput("verrou".into())),
        };
        result.map_err(|e| {
            let text = e.to_string();
            if let Ok(mut slot) = self.key.last_error.lock() {
                *slot = Some(text.clone());
            }
            rustls::Error::General(text)
        })
    }

    fn scheme(&self) -> rustls::SignatureScheme {
        self.tls
    }
}

/// Always offers the card's certificate (the platform accepts one certificate per account).
#[derive(Debug)]
struct CardCertResolver {
    certified: Arc<CertifiedKey>,
}

impl ResolvesClientCert for CardCertResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // Offer the certificate only if the key can answer one of the server's schemes; otherwise
        // the server sees no certificate and says so, which is clearer than a failed signature.
        self.certified
            .key
            .choose_scheme(sigschemes)
            .map(|_| self.certified.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Certificates of a PEM file (one or more).
pub fn read_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PlatformError> {
    let bad = |detail: String| {
        PlatformError::Config(tf(
            "plateforme.ca_illisible",
            &[("chemin", &path.display().to_string()), ("detail", &detail)],
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("aucun certificat".into()));
    }
    Ok(certs)
}

/// The crypto provider used everywhere (client and sandbox server).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// rustls client configuration: server verified against `ca` (or the system store), client
/// certificate from the card when `key` is given.
pub fn client_config(
    ca: Option<&Path>,
    key: Option<&SharedCardKey>,
) -> Result<ClientConfig, PlatformError> {
    let tls = |e: rustls::Error| PlatformError::Config(e.to_string());
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls)?;
    let builder = match ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in read_pem_certificates(path)? {
                roots.add(cert).map_err(tls)?;
            }
            builder.with_root_certificates(roots)
        }
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder.with_platform_verifier().map_err(tls)?
        }
    };
    Ok(match key {
        Some(key) => {
            let certified = CertifiedKey::new(
                vec![CertificateDer::from(key.certificate.clone())],
                Arc::new(key.clone()),
            );
            builder.with_client_cert_resolver(Arc::new(CardCertResolver {
                certified: Arc::new(certified),
            }))
        }
        None => builder.with_no_client_auth(),
    })
}
