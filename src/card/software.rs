//! Software certificates (PKCS#12 `.p12` / `.pfx`, password-protected) behind the same
//! [`Signer`] / [`Decrypter`] interface as cards: for RGS* users and the demo mode.

use super::error::CardError;
use super::pin::{PinPrompt, PinPurpose, PinRequest};
use super::{DecryptScheme, Decrypter, KeyKind, SignatureScheme, Signer};
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;
use secrecy::ExposeSecret;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// A PKCS#12 file is a few kilobytes; anything much larger is not one.
const MAX_P12_SIZE: u64 = 1024 * 1024;

pub struct SoftwareKey {
    key: PKey<Private>,
    cert_der: Vec<u8>,
    chain_der: Vec<Vec<u8>>,
    kind: KeyKind,
}

impl SoftwareKey {
    /// Open a PKCS#12 file, asking its password once through `prompt`.
    pub fn open(path: &Path, prompt: &mut dyn PinPrompt) -> Result<SoftwareKey, CardError> {
        let bytes = read_bounded(path)?;
        let password = prompt.ask(&PinRequest {
            label: path.display().to_string(),
            purpose: PinPurpose::Password,
            state: Default::default(),
        })?;
        Self::from_pkcs12(&bytes, password.expose_secret(), path)
    }

    pub fn from_pkcs12(
        bytes: &[u8],
        password: &str,
        path: &Path,
    ) -> Result<SoftwareKey, CardError> {
        let p12 =
            openssl::pkcs12::Pkcs12::from_der(bytes).map_err(|e| CardError::SoftwareFile {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        // Files exported by older tools (RC2-40, 3DES) need OpenSSL's legacy provider; it is only
        // loaded when the modern algorithms fail, and a wrong password fails both ways.
        let parsed = match p12.parse2(password) {
            Ok(parsed) => parsed,
            Err(_) if load_legacy_provider() => {
                p12.parse2(password).map_err(|_| CardError::WrongPassword)?
            }
            Err(_) => return Err(CardError::WrongPassword),
        };
        let key = parsed
            .pkey
            .ok_or_else(|| CardError::NoPrivateKey(path.to_owned()))?;
        let cert = parsed
            .cert
            .ok_or_else(|| CardError::NoPrivateKey(path.to_owned()))?;
        let kind = match key.id() {
            Id::RSA | Id::RSA_PSS => KeyKind::Rsa,
            Id::EC => KeyKind::Ec,
            other => {
                return Err(CardError::SoftwareFile {
                    path: path.to_owned(),
                    detail: format!("type de clé non pris en charge ({other:?})"),
                });
            }
        };
        let to_der = |c: &openssl::x509::X509Ref| {
            c.to_der().map_err(|e| CardError::SoftwareFile {
                path: path.to_owned(),
                detail: e.to_string(),
            })
        };
        let cert_der = to_der(&cert)?;
        let chain_der = parsed
            .ca
            .map(|stack| stack.iter().map(to_der).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
        Ok(SoftwareKey {
            key,
            cert_der,
            chain_der,
            kind,
        })
    }

    /// Intermediate and root certificates carried in the file.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }
}

/// Load OpenSSL's legacy provider (with the default one kept), once per process. Returns true when
/// it is available.
fn load_legacy_provider() -> bool {
    static LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LOADED.get_or_init(|| {
        let legacy = openssl::provider::Provider::try_load(None, "legacy", true);
        match legacy {
            Ok(provider) => {
                // Kept for the life of the process: unloading would break later parses.
                std::mem::forget(provider);
                true
            }
            Err(e) => {
                tracing::warn!("fournisseur OpenSSL « legacy » indisponible : {e}");
                false
            }
        }
    })
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, CardError> {
    let file_error = |e: std::io::Error| CardError::SoftwareFile {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    let file = crate::files::open_regular(path).map_err(file_error)?;
    let size = file.metadata().map_err(file_error)?.len();
    if size > MAX_P12_SIZE {
        return Err(CardError::SoftwareFileTooBig {
            path: path.to_owned(),
            size,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_P12_SIZE)
        .read_to_end(&mut bytes)
        .map_err(file_error)?;
    Ok(bytes)
}

fn crypto_error(e: openssl::error::ErrorStack) -> CardError {
    CardError::InvalidInput(e.to_string())
}

impl Signer for SoftwareKey {
    fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    fn key_kind(&self) -> KeyKind {
        self.kind
    }

    fn sign_digest(
        &mut self,
        scheme: SignatureScheme,
        digest: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        let hash = scheme.hash();
        if digest.len() != hash.output_len() {
            return Err(CardError::InvalidInput(format!(
                "empreinte de {} octets pour {}",
                digest.len(),
                hash.name()
            )));
        }
        let mut ctx = PkeyCtx::new(&self.key).map_err(crypto_error)?;
        ctx.sign_init().map_err(crypto_error)?;
        match (scheme, self.kind) {
            (SignatureScheme::RsaPkcs1(_), KeyKind::Rsa) => {
                ctx.set_rsa_padding(Padding::PKCS1).map_err(crypto_error)?;
            }
            (SignatureScheme::RsaPss(_), KeyKind::Rsa) => {
                ctx.set_rsa_padding(Padding::PKCS1_PSS)
                    .map_err(crypto_error)?;
                ctx.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                    .map_err(crypto_error)?;
                ctx.set_rsa_mgf1_md(md_of(hash)).map_err(crypto_error)?;
            }
            (SignatureScheme::Ecdsa(_), KeyKind::Ec) => {}
            (scheme, kind) => {
                return Err(CardError::InvalidInput(format!(
                    "{scheme:?} avec une clé {kind:?}"
                )));
            }
        }
        ctx.set_signature_md(md_of(hash)).map_err(crypto_error)?;
        let mut out = Vec::new();
        ctx.sign_to_vec(digest, &mut out).map_err(crypto_error)?;
        Ok(out)
    }
}

impl Decrypter for SoftwareKey {
    fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    fn decrypt(
        &mut self,
        scheme: DecryptScheme,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let mut ctx = PkeyCtx::new(&self.key).map_err(crypto_error)?;
        ctx.decrypt_init().map_err(crypto_error)?;
        match scheme {
            DecryptScheme::RsaPkcs1 => ctx.set_rsa_padding(Padding::PKCS1).map_err(crypto_error)?,
            DecryptScheme::RsaOaep(hash) => {
                ctx.set_rsa_padding(Padding::PKCS1_OAEP)
                    .map_err(crypto_error)?;
                ctx.set_rsa_oaep_md(md_of(hash)).map_err(crypto_error)?;
                ctx.set_rsa_mgf1_md(md_of(hash)).map_err(crypto_error)?;
            }
        }
        let mut out = Zeroizing::new(Vec::new());
        ctx.decrypt_to_vec(ciphertext, &mut out)
            .map_err(crypto_error)?;
        Ok(out)
    }
}

fn md_of(hash: super::HashAlg) -> &'static openssl::md::MdRef {
    match hash {
        super::HashAlg::Sha1 => openssl::md::Md::sha1(),
        super::HashAlg::Sha256 => openssl::md::Md::sha256(),
        super::HashAlg::Sha384 => openssl::md::Md::sha384(),
        super::HashAlg::Sha512 => openssl::md::Md::sha512(),
    }
}
