//! The sandbox's own small PKI, made on first use in `<données>/pki/`: an authority, the server's
//! certificate (localhost, 127.0.0.1, ::1), a demonstration client identity (PKCS#12, password
//! `bac-a-sable`) whose certificate the sandbox accepts, and a demonstration signature identity
//! (RSA, non-repudiation, same password) for signing PES in the demo. Nothing here is meant for production: the
//! keys are written to disk, readable by the user only.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509NameBuilder};
use std::path::{Path, PathBuf};

/// Password of the demonstration identity (demo only, written in the README).
pub const DEMO_P12_PASSWORD: &str = "bac-a-sable";

pub struct SandboxPki {
    pub ca_pem: PathBuf,
    pub server_pem: PathBuf,
    pub server_key: PathBuf,
    pub demo_p12: PathBuf,
    /// The demonstration signature identity (non-repudiation), for the Hélios demo.
    pub demo_signature_p12: PathBuf,
}

impl SandboxPki {
    pub fn paths(dir: &Path) -> SandboxPki {
        SandboxPki {
            ca_pem: dir.join("ca.pem"),
            server_pem: dir.join("serveur.pem"),
            server_key: dir.join("serveur.key"),
            demo_p12: dir.join("demo-client.p12"),
            demo_signature_p12: dir.join("demo-signature.p12"),
        }
    }

    /// The PKI in `dir`, made if absent.
    pub fn ensure(dir: &Path) -> Result<SandboxPki, String> {
        let pki = SandboxPki::paths(dir);
        if !(pki.ca_pem.exists() && pki.server_pem.exists() && pki.server_key.exists()) {
            crate::logging::create_private_dir(dir).map_err(|e| e.to_string())?;
            make(&pki).map_err(|e| e.to_string())?;
        }
        // Added after the first PKIs were made: an older sandbox gets it on its next start.
        if !pki.demo_signature_p12.exists() {
            make_signature_identity(&pki).map_err(|e| e.to_string())?;
        }
        Ok(pki)
    }
}

fn key() -> Result<PKey<Private>, openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn certificate(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    customise: impl FnOnce(&mut openssl::x509::X509Builder) -> Result<(), openssl::error::ErrorStack>,
) -> Result<X509, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "FR")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Paraphe bac à sable")?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(96, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name))?;
    b.set_pubkey(key)?;
    b.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    b.set_not_after(Asn1Time::days_from_now(825)?.as_ref())?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))?;
    b.append_extension(ski)?;
    customise(&mut b)?;
    b.sign(
        issuer.map(|(_, k)| k).unwrap_or(key),
        MessageDigest::sha256(),
    )?;
    Ok(b.build())
}

fn make(pki: &SandboxPki) -> Result<(), Box<dyn std::error::Error>> {
    let ca_key = key()?;
    let ca = certificate("Autorité du bac à sable Paraphe", &ca_key, None, |b| {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )
    })?;
    let server_key = key()?;
    let server = certificate("localhost", &server_key, Some((&ca, &ca_key)), |b| {
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .ip("127.0.0.1")
            .ip("::1")
            .build(&b.x509v3_context(Some(&ca), None))?;
        b.append_extension(san)?;
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
        b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)
    })?;
    let client_key = key()?;
    let client = certificate(
        "Démonstration Paraphe",
        &client_key,
        Some((&ca, &ca_key)),
        |b| {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)
        },
    )?;
    let mut chain = openssl::stack::Stack::new()?;
    chain.push(ca.clone())?;
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("Démonstration Paraphe")
        .pkey(&client_key)
        .cert(&client)
        .ca(chain)
        .build2(DEMO_P12_PASSWORD)?;
    let dir = pki.ca_pem.parent().unwrap_or(Path::new("."));
    crate::logging::write_private(&dir.join("ca.key"), &ca_key.private_key_to_pem_pkcs8()?)?;
    crate::logging::write_private(&pki.server_key, &server_key.private_key_to_pem_pkcs8()?)?;
    crate::logging::write_private(&pki.demo_p12, &p12.to_der()?)?;
    let mut server_chain = server.to_pem()?;
    server_chain.extend(ca.to_pem()?);
    crate::logging::write_private(&pki.server_pem, &server_chain)?;
    crate::logging::write_private(&pki.ca_pem, &ca.to_pem()?)?;
    Ok(())
}

/// The demonstration signer: an RSA key (the Hélios policy's algorithm) with a certificate for
/// non-repudiation only, issued by the sandbox's authority (which the sandbox trusts for PES
/// signatures), as a PKCS#12 with the demo password.
fn make_signature_identity(pki: &SandboxPki) -> Result<(), Box<dyn std::error::Error>> {
    let dir = pki.ca_pem.parent().unwrap_or(Path::new("."));
    let ca = X509::from_pem(&std::fs::read(&pki.ca_pem)?)?;
    let ca_key = PKey::private_key_from_pem(&std::fs::read(dir.join("ca.key"))?)?;
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?)?;
    let cert = certificate(
        "Camille Démo (démonstration)",
        &key,
        Some((&ca, &ca_key)),
        |b| {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().non_repudiation().build()?)
        },
    )?;
    let mut chain = openssl::stack::Stack::new()?;
    chain.push(ca)?;
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("Camille Démo (démonstration)")
        .pkey(&key)
        .cert(&cert)
        .ca(chain)
        .build2(DEMO_P12_PASSWORD)?;
    crate::logging::write_private(&pki.demo_signature_p12, &p12.to_der()?)?;
    Ok(())
}

/// The client verifier of a strict server (Apache or nginx with OpenSSL's SSL client purpose):
/// on top of the chain, the certificate must allow TLS client authentication —
/// digitalSignature when it has a key usage, clientAuth when an extended key usage restricts it.
/// A signature-only certificate (nonRepudiation) is refused at the handshake, as a real platform
/// would; webpki alone checks neither bit when the extended key usage is absent.
#[derive(Debug)]
pub(crate) struct AuthenticationOnly(
    pub std::sync::Arc<dyn rustls::server::danger::ClientCertVerifier>,
);

impl rustls::server::danger::ClientCertVerifier for AuthenticationOnly {
    fn offer_client_auth(&self) -> bool {
        self.0.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.0.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &rustls_pki_types::CertificateDer<'_>,
        intermediates: &[rustls_pki_types::CertificateDer<'_>],
        now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        let verified = self.0.verify_client_cert(end_entity, intermediates, now)?;
        let allowed = crate::certs::CertificateInfo::from_der(end_entity.as_ref())
            .is_ok_and(|info| info.roles.contains(&crate::certs::Role::Authentification));
        if allowed {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::InvalidPurpose,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
