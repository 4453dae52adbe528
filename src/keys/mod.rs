//! What a private key can do, whatever holds it (smart card, USB key, PKCS#12 file): the
//! [`Signer`] and [`Decrypter`] views, the digests and schemes they use, and the errors a key can
//! raise. Formats (PES, ACTES, bids) sign and decrypt through these traits only, so they sit below
//! the card layer that implements them (`card`), and know nothing of PKCS#11.

pub mod digest;
pub mod error;

pub use digest::HashAlg;
pub use error::{CardError, PinState};

use crate::certs::CertificateInfo;
use zeroize::Zeroizing;

/// How a signature is computed from a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RSA PKCS#1 v1.5: a DigestInfo built here, signed with CKM_RSA_PKCS (works on every card,
    /// including those that refuse on-card hashing).
    RsaPkcs1(HashAlg),
    /// RSA-PSS, salt length = digest length, MGF1 with the same hash.
    RsaPss(HashAlg),
    /// ECDSA over the digest; the signature is returned DER-encoded (X.509/CMS/TLS form).
    Ecdsa(HashAlg),
}

impl SignatureScheme {
    pub fn hash(&self) -> HashAlg {
        match self {
            SignatureScheme::RsaPkcs1(h)
            | SignatureScheme::RsaPss(h)
            | SignatureScheme::Ecdsa(h) => *h,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptScheme {
    RsaPkcs1,
    /// OAEP with this hash for both the label digest and MGF1, empty label.
    RsaOaep(HashAlg),
}

/// The kind of key behind a signer, to choose a scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    Ec,
}

/// A private key able to sign, with its certificate.
pub trait Signer: Send {
    /// The certificate (DER) that goes with the key.
    fn certificate_der(&self) -> &[u8];
    fn key_kind(&self) -> KeyKind;
    /// Sign a digest already computed by the caller (the usual path: documents are hashed while
    /// streamed, the card only sees the digest).
    fn sign_digest(&mut self, scheme: SignatureScheme, digest: &[u8])
    -> Result<Vec<u8>, CardError>;

    /// Hash `data` locally, then sign the digest.
    fn sign(&mut self, scheme: SignatureScheme, data: &[u8]) -> Result<Vec<u8>, CardError> {
        let digest = scheme.hash().digest(data);
        self.sign_digest(scheme, &digest)
    }

    /// The certificate, read for people.
    fn certificate_info(&self) -> Result<CertificateInfo, CardError> {
        CertificateInfo::from_der(self.certificate_der())
            .map_err(|e| CardError::InvalidInput(e.to_string()))
    }

    /// The natural scheme for this key with the given hash.
    fn default_scheme(&self, hash: HashAlg) -> SignatureScheme {
        match self.key_kind() {
            KeyKind::Rsa => SignatureScheme::RsaPkcs1(hash),
            KeyKind::Ec => SignatureScheme::Ecdsa(hash),
        }
    }
}

/// A private key able to decrypt (RSA key transport: opening a CMS-encrypted bid).
pub trait Decrypter: Send {
    fn certificate_der(&self) -> &[u8];
    fn decrypt(
        &mut self,
        scheme: DecryptScheme,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CardError>;
}

/// Progress of a batch, for the window and the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProgress {
    pub done: usize,
    pub total: usize,
}

/// Sign many digests in one go with one key (one login for the batch, unless the key requires a
/// PIN per signature). All or nothing: on any error — card pulled out, wrong PIN, cancellation —
/// no signature is returned, so the caller writes nothing.
pub fn sign_batch(
    signer: &mut dyn Signer,
    scheme: SignatureScheme,
    digests: &[Vec<u8>],
    progress: &mut dyn FnMut(BatchProgress),
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<Vec<u8>>, CardError> {
    let total = digests.len();
    let mut signatures = Vec::with_capacity(total);
    for (i, digest) in digests.iter().enumerate() {
        if cancelled() {
            return Err(CardError::Cancelled);
        }
        signatures.push(signer.sign_digest(scheme, digest)?);
        progress(BatchProgress { done: i + 1, total });
    }
    Ok(signatures)
}
