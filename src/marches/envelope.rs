//! Reading a CMS EnvelopedData (RFC 5652) or AuthEnvelopedData (RFC 5083) as a stream: the small
//! head (recipients, algorithm) is parsed, then the encrypted content is handed over piece by
//! piece, so that a 200 MB bid is never held in memory.
//!
//! Our own BER reader, not a DER crate: the crates parse a whole structure in memory, while a bid
//! made with `openssl cms -stream` (or by a platform) is indefinite-length BER whose content is
//! split into many OCTET STRINGs; only the bounded head is ever read whole here.

use super::der::{Der, DerError, dotted};
use crate::messages::{t, tf};
use std::io::Read;

/// The head (recipients, originator info, algorithm parameters) is refused beyond this size.
const HEAD_LIMIT: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("{}", t("marches.format_inconnu"))]
    UnknownFormat,
    #[error("{}", t("marches.pli_signe_non_chiffre"))]
    SignedNotEncrypted,
    #[error("{}", t("marches.tronque"))]
    Truncated,
    #[error("{}", tf("marches.mal_forme", &[("detail", .0)]))]
    Malformed(String),
    #[error("{}", tf("marches.algorithme_inconnu", &[("algorithme", .0)]))]
    UnsupportedAlgorithm(String),
    #[error("{}", tf("marches.lecture", &[("detail", .0)]))]
    Io(String),
}

impl From<DerError> for EnvelopeError {
    fn from(e: DerError) -> Self {
        EnvelopeError::Malformed(e.0)
    }
}

impl From<std::io::Error> for EnvelopeError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            EnvelopeError::Truncated
        } else {
            EnvelopeError::Io(e.to_string())
        }
    }
}

/// How the content-encryption key was wrapped for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyWrap {
    RsaPkcs1,
    /// OAEP with this digest (SHA-1 when the parameters are absent).
    RsaOaep(crate::keys::HashAlg),
    Other(String),
}

/// Who a recipient is: the certificate's issuer and serial number, or its key identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientId {
    IssuerSerial {
        issuer_der: Vec<u8>,
        serial: Vec<u8>,
    },
    KeyIdentifier(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: RecipientId,
    pub wrap: KeyWrap,
    pub encrypted_key: Vec<u8>,
}

/// The content cipher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentCipher {
    Cbc {
        key_len: usize,
        iv: Vec<u8>,
    },
    Gcm {
        key_len: usize,
        nonce: Vec<u8>,
        tag_len: usize,
    },
    TripleDesCbc {
        iv: Vec<u8>,
    },
}

impl ContentCipher {
    pub fn key_len(&self) -> usize {
        match self {
            ContentCipher::Cbc { key_len, .. } | ContentCipher::Gcm { key_len, .. } => *key_len,
            ContentCipher::TripleDesCbc { .. } => 24,
        }
    }

    /// The algorithm's usual name, for reports.
    pub fn name(&self) -> String {
        match self {
            ContentCipher::Cbc { key_len, .. } => format!("AES-{}-CBC", key_len * 8),
            ContentCipher::Gcm { key_len, .. } => format!("AES-{}-GCM", key_len * 8),
            ContentCipher::TripleDesCbc { .. } => "3DES-CBC".to_owned(),
        }
    }
}

/// The parsed head of an encrypted bid; the reader is left at the first byte of content.
#[derive(Debug, Clone)]
pub struct EnvelopeHead {
    pub authenticated: bool,
    pub recipients: Vec<Recipient>,
    /// RecipientInfo kinds this version does not open (key agreement, password…), by name.
    pub other_recipients: Vec<String>,
    pub cipher: ContentCipher,
    /// The EncryptedContentInfo has an indefinite length (ends with 00 00).
    content_info_indefinite: bool,
}

/// One TLV header.
#[derive(Debug, Clone, Copy)]
struct Header {
    tag: u8,
    /// None: indefinite length (BER), ended by 00 00.
    len: Option<u64>,
}

impl Header {
    fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }
}

/// A reader that counts the bytes it consumed (for definite lengths around indefinite content).
pub struct Counted<R> {
    inner: R,
    pub position: u64,
}

impl<R: Read> Counted<R> {
    pub fn new(inner: R) -> Self {
        Counted { inner, position: 0 }
    }

    fn byte(&mut self) -> Result<u8, EnvelopeError> {
        let mut b = [0u8; 1];
        self.inner.read_exact(&mut b)?;
        self.position += 1;
        Ok(b[0])
    }

    fn exact(&mut self, len: u64) -> Result<Vec<u8>, EnvelopeError> {
        if len > HEAD_LIMIT {
            return Err(EnvelopeError::Malformed(t("marches.entete_trop_grande")));
        }
        let mut out = vec![0u8; len as usize];
        self.inner.read_exact(&mut out)?;
        self.position += len;
        Ok(out)
    }

    fn header(&mut self) -> Result<Header, EnvelopeError> {
        let tag = self.byte()?;
        if tag & 0x1f == 0x1f {
            return Err(EnvelopeError::Malformed("étiquette longue".to_owned()));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            Some(u64::from(first))
        } else if first == 0x80 {
            if tag & 0x20 == 0 {
                return Err(EnvelopeError::Malformed(
                    "longueur indéfinie sur une valeur simple".to_owned(),
                ));
            }
            None
        } else {
            let count = first & 0x7f;
            if count > 8 {
                return Err(EnvelopeError::Malformed("longueur démesurée".to_owned()));
            }
            let mut len = 0u64;
            for _ in 0..count {
                len = (len << 8) | u64::from(self.byte()?);
            }
            Some(len)
        };
        Ok(Header { tag, len })
    }

    /// A header that must be `tag`.
    fn expect(&mut self, tag: u8, what: &str) -> Result<Header, EnvelopeError> {
        let h = self.header()?;
        if h.tag != tag {
            return Err(EnvelopeError::Malformed(format!(
                "{what} attendu (étiquette {:#04x} trouvée)",
                h.tag
            )));
        }
        Ok(h)
    }

    /// The value of a definite-length element.
    fn value(&mut self, h: Header) -> Result<Vec<u8>, EnvelopeError> {
        match h.len {
            Some(len) => self.exact(len),
            None => Err(EnvelopeError::Malformed(
                "longueur indéfinie inattendue".to_owned(),
            )),
        }
    }

    /// The end-of-contents marker of an indefinite-length element.
    fn end_of_contents(&mut self) -> Result<(), EnvelopeError> {
        if self.byte()? != 0 || self.byte()? != 0 {
            return Err(EnvelopeError::Malformed(
                "fin de contenu attendue".to_owned(),
            ));
        }
        Ok(())
    }
}

const OID_ENVELOPED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03];
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_AUTH_ENVELOPED_DATA: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17,
];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSAES_OAEP: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_NIST_HASH: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
const OID_NIST_AES: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];
const OID_DES_EDE3_CBC: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07];

/// Read the head of an encrypted bid, up to the first byte of its encrypted content.
pub fn read_head<R: Read>(
    input: &mut Counted<R>,
) -> Result<(EnvelopeHead, ContentReader), EnvelopeError> {
    let outer = input.header().map_err(|e| match e {
        EnvelopeError::Truncated => EnvelopeError::UnknownFormat,
        other => other,
    })?;
    if outer.tag != 0x30 {
        return Err(EnvelopeError::UnknownFormat);
    }
    let oid_header = input.header()?;
    if oid_header.tag != 0x06 {
        return Err(EnvelopeError::UnknownFormat);
    }
    let oid = input.value(oid_header)?;
    let authenticated = match oid.as_slice() {
        OID_ENVELOPED_DATA => false,
        OID_AUTH_ENVELOPED_DATA => true,
        OID_SIGNED_DATA => return Err(EnvelopeError::SignedNotEncrypted),
        _ => return Err(EnvelopeError::UnknownFormat),
    };
    input.expect(0xa0, "contenu [0]")?;
    input.expect(0x30, "EnvelopedData")?;
    let version = input.expect(0x02, "version")?;
    input.value(version)?;
    let mut next = input.header()?;
    if next.tag == 0xa0 {
        // originatorInfo: certificates and CRLs of the sender, not needed to open.
        input.value(next)?;
        next = input.header()?;
    }
    if next.tag != 0x31 {
        return Err(EnvelopeError::Malformed(
            "destinataires attendus".to_owned(),
        ));
    }
    let recipient_set = input.value(next)?;
    let (recipients, other_recipients) = parse_recipients(&recipient_set)?;
    let content_info = input.expect(0x30, "EncryptedContentInfo")?;
    let content_type = input.expect(0x06, "type de contenu")?;
    input.value(content_type)?;
    let algorithm = input.expect(0x30, "algorithme de chiffrement")?;
    let algorithm = input.value(algorithm)?;
    let cipher = parse_content_cipher(&algorithm, authenticated)?;
    let content = input.header()?;
    let reader = match (content.tag, content.len) {
        (0x80, Some(len)) => ContentReader::Primitive { left: len },
        (0xa0, len) => ContentReader::Segmented {
            end: len.map(|l| input.position + l),
            left_in_segment: 0,
            done: false,
        },
        _ => return Err(EnvelopeError::Malformed(t("marches.sans_contenu"))),
    };
    Ok((
        EnvelopeHead {
            authenticated,
            recipients,
            other_recipients,
            cipher,
            content_info_indefinite: content_info.len.is_none(),
        },
        reader,
    ))
}

fn parse_recipients(set: &[u8]) -> Result<(Vec<Recipient>, Vec<String>), EnvelopeError> {
    let mut der = Der::new(set);
    let mut recipients = Vec::new();
    let mut others = Vec::new();
    while !der.is_empty() {
        let (tag, _, value) = der.element()?;
        match tag {
            0x30 => recipients.push(parse_key_transport(value)?),
            0xa1 => others.push("accord de clé (kari)".to_owned()),
            0xa2 => others.push("clé symétrique (kekri)".to_owned()),
            0xa3 => others.push("mot de passe (pwri)".to_owned()),
            _ => others.push(format!("type {tag:#04x}")),
        }
    }
    Ok((recipients, others))
}

fn parse_key_transport(value: &[u8]) -> Result<Recipient, EnvelopeError> {
    let mut der = Der::new(value);
    der.expect(0x02)?;
    let id = match der.peek_tag() {
        Some(0x30) => {
            let isn = der.expect(0x30)?;
            let mut isn = Der::new(isn);
            let (tag, issuer_der, _) = isn.element()?;
            if tag != 0x30 {
                return Err(EnvelopeError::Malformed("émetteur attendu".to_owned()));
            }
            let serial = isn.expect(0x02)?;
            RecipientId::IssuerSerial {
                issuer_der: issuer_der.to_vec(),
                serial: serial.to_vec(),
            }
        }
        Some(0x80) => RecipientId::KeyIdentifier(der.expect(0x80)?.to_vec()),
        _ => {
            return Err(EnvelopeError::Malformed(
                "destinataire illisible".to_owned(),
            ));
        }
    };
    let algorithm = der.expect(0x30)?;
    let mut alg = Der::new(algorithm);
    let oid = alg.expect(0x06)?;
    let wrap = match oid {
        OID_RSA_ENCRYPTION => KeyWrap::RsaPkcs1,
        OID_RSAES_OAEP => KeyWrap::RsaOaep(oaep_hash(&mut alg)?),
        other => KeyWrap::Other(dotted(other)),
    };
    let encrypted_key = der.expect(0x04)?.to_vec();
    Ok(Recipient {
        id,
        wrap,
        encrypted_key,
    })
}

/// The digest of RSAES-OAEP-params ([0] hashAlgorithm, SHA-1 by default).
fn oaep_hash(alg: &mut Der) -> Result<crate::keys::HashAlg, EnvelopeError> {
    use crate::keys::HashAlg;
    if alg.is_empty() || alg.peek_tag() == Some(0x05) {
        return Ok(HashAlg::Sha1);
    }
    let params = alg.expect(0x30)?;
    let mut params = Der::new(params);
    if params.peek_tag() != Some(0xa0) {
        return Ok(HashAlg::Sha1);
    }
    let hash_alg = params.expect(0xa0)?;
    let mut hash_alg = Der::new(hash_alg);
    let hash_alg = hash_alg.expect(0x30)?;
    let oid = Der::new(hash_alg).expect(0x06)?;
    match oid {
        OID_SHA1 => Ok(HashAlg::Sha1),
        [prefix @ .., last] if prefix == OID_NIST_HASH => match last {
            1 => Ok(HashAlg::Sha256),
            2 => Ok(HashAlg::Sha384),
            3 => Ok(HashAlg::Sha512),
            _ => Err(EnvelopeError::UnsupportedAlgorithm(dotted(oid))),
        },
        _ => Err(EnvelopeError::UnsupportedAlgorithm(dotted(oid))),
    }
}

fn parse_content_cipher(
    algorithm: &[u8],
    authenticated: bool,
) -> Result<ContentCipher, EnvelopeError> {
    let mut der = Der::new(algorithm);
    let oid = der.expect(0x06)?;
    let unsupported = || EnvelopeError::UnsupportedAlgorithm(dotted(oid));
    let cipher = match oid {
        [prefix @ .., last] if prefix == OID_NIST_AES => {
            let key_len = match last / 20 {
                0 => 16,
                1 => 24,
                2 => 32,
                _ => return Err(unsupported()),
            };
            match last % 20 {
                2 => ContentCipher::Cbc {
                    key_len,
                    iv: der.expect(0x04)?.to_vec(),
                },
                6 => {
                    let params = der.expect(0x30)?;
                    let mut params = Der::new(params);
                    let nonce = params.expect(0x04)?.to_vec();
                    let tag_len = if params.is_empty() {
                        12
                    } else {
                        let v = params.expect(0x02)?;
                        match v {
                            [n] if (12..=16).contains(n) => usize::from(*n),
                            _ => return Err(unsupported()),
                        }
                    };
                    ContentCipher::Gcm {
                        key_len,
                        nonce,
                        tag_len,
                    }
                }
                _ => return Err(unsupported()),
            }
        }
        OID_DES_EDE3_CBC => ContentCipher::TripleDesCbc {
            iv: der.expect(0x04)?.to_vec(),
        },
        _ => return Err(unsupported()),
    };
    // GCM only makes sense in AuthEnvelopedData, and AuthEnvelopedData only with GCM here.
    if authenticated != matches!(cipher, ContentCipher::Gcm { .. }) {
        return Err(unsupported());
    }
    Ok(cipher)
}

/// Hands over the encrypted content piece by piece, whatever its BER form.
pub enum ContentReader {
    /// `[0] IMPLICIT OCTET STRING`, definite length.
    Primitive { left: u64 },
    /// Constructed `[0]`: OCTET STRING segments, up to `end` (definite) or 00 00 (indefinite).
    Segmented {
        end: Option<u64>,
        left_in_segment: u64,
        done: bool,
    },
}

impl ContentReader {
    /// The next piece of encrypted content into `buf`; 0 at the end.
    pub fn read<R: Read>(
        &mut self,
        input: &mut Counted<R>,
        buf: &mut [u8],
    ) -> Result<usize, EnvelopeError> {
        loop {
            let left = match self {
                ContentReader::Primitive { left } => left,
                ContentReader::Segmented {
                    end,
                    left_in_segment,
                    done,
                } => {
                    if *done {
                        return Ok(0);
                    }
                    if *left_in_segment == 0 {
                        if end.is_some_and(|e| input.position >= e) {
                            *done = true;
                            continue;
                        }
                        let h = input.header()?;
                        match (h.tag, h.len) {
                            (0x00, Some(0)) if end.is_none() => {
                                *done = true;
                                continue;
                            }
                            (0x04, Some(len)) => {
                                *left_in_segment = len;
                                continue;
                            }
                            _ if h.constructed() => {
                                return Err(EnvelopeError::Malformed(
                                    "segments imbriqués".to_owned(),
                                ));
                            }
                            _ => {
                                return Err(EnvelopeError::Malformed(
                                    "segment de contenu attendu".to_owned(),
                                ));
                            }
                        }
                    }
                    left_in_segment
                }
            };
            if *left == 0 {
                return Ok(0);
            }
            let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
            let n = input.inner.read(&mut buf[..want])?;
            if n == 0 {
                return Err(EnvelopeError::Truncated);
            }
            input.position += n as u64;
            *left -= n as u64;
            return Ok(n);
        }
    }
}

/// After the content of an AuthEnvelopedData: the authentication tag (mac). Authenticated
/// attributes are refused: they would be part of the tag's input, which this reader does not
/// rebuild.
pub fn read_mac<R: Read>(
    input: &mut Counted<R>,
    head: &EnvelopeHead,
) -> Result<Vec<u8>, EnvelopeError> {
    if head.content_info_indefinite {
        input.end_of_contents()?;
    }
    let h = input.header()?;
    match h.tag {
        0x04 => input.value(h),
        0xa1 => Err(EnvelopeError::UnsupportedAlgorithm(
            "attributs authentifiés".to_owned(),
        )),
        _ => Err(EnvelopeError::Malformed(t("marches.sans_mac"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_oids() {
        assert_eq!(dotted(OID_ENVELOPED_DATA), "1.2.840.113549.1.7.3");
        assert_eq!(dotted(OID_SHA1), "1.3.14.3.2.26");
    }
}
