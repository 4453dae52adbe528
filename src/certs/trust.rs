//! The trust store: the certification authorities trusted for signers' certificates, read from a
//! PEM file (or a folder of them), and the check that a certificate chains to one of them at a
//! given time.
//!
//! It lives here, among the certificate tools at the bottom of the layers, because every format
//! that verifies signatures uses it — PES (`pes::verify`), marchés (`marches`), lots (`outbox`),
//! the use cases, the command line and the window — and none of them should reach into
//! another's verifier for it.

use crate::messages::{t, tf};
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509, X509StoreContext};
use std::path::Path;

/// The trust store cannot be read: its path and why, in French.
#[derive(Debug, thiserror::Error)]
#[error("{}", tf("verification.confiance", &[("chemin", .0), ("detail", .1)]))]
pub struct TrustError(String, String);

/// Certification authorities trusted for signers' certificates.
pub struct TrustStore {
    /// The trusted certificates; a store is built per check so that the verification time can be
    /// the signing time.
    certificates: Vec<X509>,
}

impl TrustStore {
    /// From a PEM file (one or more certificates) or a folder of `.pem` / `.crt` / `.cer` files.
    pub fn load(path: &Path) -> Result<TrustStore, TrustError> {
        let err = |d: String| TrustError(path.display().to_string(), d);
        let mut certificates = Vec::new();
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(path)
                .map_err(|e| err(e.to_string()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| matches!(e.to_str(), Some("pem" | "crt" | "cer")))
                })
                .collect()
        } else {
            vec![path.to_owned()]
        };
        for file in files {
            let bytes = std::fs::read(&file).map_err(|e| err(e.to_string()))?;
            let certs = X509::stack_from_pem(&bytes)
                .or_else(|_| X509::from_der(&bytes).map(|c| vec![c]))
                .map_err(|e| err(e.to_string()))?;
            certificates.extend(certs);
        }
        if certificates.is_empty() {
            return Err(err(t("verification.confiance_vide")));
        }
        Ok(TrustStore { certificates })
    }

    /// The trusted certificates.
    pub fn certificates(&self) -> &[X509] {
        &self.certificates
    }

    /// The trust store named on the command line, else in the settings (`[verification]
    /// confiance`); None when neither names one.
    pub fn chosen(
        explicit: Option<&Path>,
        settings: &crate::settings::Settings,
    ) -> Result<Option<TrustStore>, TrustError> {
        explicit
            .or(settings.verification.confiance.as_deref())
            .map(TrustStore::load)
            .transpose()
    }

    /// Check that `cert` chains to a trusted authority (with `extra` as intermediates), at time
    /// `at` (the signing time) or now.
    pub fn check_chain(
        &self,
        cert: &X509,
        extra: &[X509],
        at: Option<time::OffsetDateTime>,
    ) -> Result<(), String> {
        let mut chain = openssl::stack::Stack::new().map_err(|e| e.to_string())?;
        for c in extra {
            chain.push(c.clone()).map_err(|e| e.to_string())?;
        }
        let mut builder = X509StoreBuilder::new().map_err(|e| e.to_string())?;
        for trusted in &self.certificates {
            builder
                .add_cert(trusted.clone())
                .map_err(|e| e.to_string())?;
        }
        if let Some(t) = at {
            let mut param =
                openssl::x509::verify::X509VerifyParam::new().map_err(|e| e.to_string())?;
            param.set_time(t.unix_timestamp() as _);
            builder.set_param(&param).map_err(|e| e.to_string())?;
        }
        let trusted: X509Store = builder.build();
        let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
        ctx.init(&trusted, cert, &chain, |c| {
            let ok = c.verify_cert()?;
            Ok(if ok {
                Ok(())
            } else {
                Err(c.error().error_string().to_owned())
            })
        })
        .map_err(|e| e.to_string())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_missing_store_is_a_clear_error() {
        let tmp = tempfile::tempdir().expect("tmp");
        let empty = tmp.path().join("vide.pem");
        std::fs::write(&empty, b"").expect("write");
        let err = TrustStore::load(&empty).err().expect("empty");
        assert!(err.to_string().contains("magasin de confiance"), "{err}");
        let missing = tmp.path().join("absent.pem");
        let err = TrustStore::load(&missing).err().expect("missing");
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn no_store_named_is_none() {
        let settings = crate::settings::Settings::default();
        assert!(
            TrustStore::chosen(None, &settings)
                .expect("nothing to read")
                .is_none()
        );
    }
}
