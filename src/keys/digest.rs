//! Local hashing and PKCS#1 DigestInfo construction.
//!
//! Cards such as IDPrime refuse on-card hashing (CKM_SHA256_RSA_PKCS): the portable path is to hash
//! here, wrap the digest in a DER DigestInfo, and ask the card for a raw CKM_RSA_PKCS signature.

use openssl::hash::{MessageDigest, hash};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn output_len(&self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
        }
    }

    pub(crate) fn message_digest(&self) -> MessageDigest {
        match self {
            HashAlg::Sha1 => MessageDigest::sha1(),
            HashAlg::Sha256 => MessageDigest::sha256(),
            HashAlg::Sha384 => MessageDigest::sha384(),
            HashAlg::Sha512 => MessageDigest::sha512(),
        }
    }

    pub fn digest(&self, data: &[u8]) -> Vec<u8> {
        // Hashing in memory with a fixed, supported algorithm cannot fail in OpenSSL short of
        // memory exhaustion; an empty result would then make the signature step fail cleanly.
        hash(self.message_digest(), data)
            .map(|d| d.to_vec())
            .unwrap_or_default()
    }

    /// DER prefix of `DigestInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }` (RFC 8017 §9.2
    /// note 1), to which the digest is appended.
    fn digest_info_prefix(&self) -> &'static [u8] {
        match self {
            HashAlg::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
            HashAlg::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            HashAlg::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            HashAlg::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    /// The DigestInfo for `digest`, or `None` when the digest has the wrong length.
    pub fn digest_info(&self, digest: &[u8]) -> Option<Vec<u8>> {
        if digest.len() != self.output_len() {
            return None;
        }
        let mut out = self.digest_info_prefix().to_vec();
        out.extend_from_slice(digest);
        Some(out)
    }
}

/// Convert a raw ECDSA signature `r ‖ s` (what PKCS#11 CKM_ECDSA returns) into the DER
/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` used by X.509, CMS and TLS.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = der_integer(r);
    body.extend(der_integer(s));
    let mut out = vec![0x30];
    push_der_length(&mut out, body.len());
    out.extend(body);
    Some(out)
}

/// Convert a DER ECDSA signature back to `r ‖ s` with each half `half_len` bytes (XML-DSig form).
pub fn ecdsa_der_to_raw(der: &[u8], half_len: usize) -> Option<Vec<u8>> {
    let sig = openssl::ecdsa::EcdsaSig::from_der(der).ok()?;
    let r = sig.r().to_vec_padded(i32::try_from(half_len).ok()?).ok()?;
    let s = sig.s().to_vec_padded(i32::try_from(half_len).ok()?).ok()?;
    Some([r, s].concat())
}

fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let first_non_zero = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let mut value: Vec<u8> = bytes[first_non_zero..].to_vec();
    if value.is_empty() {
        value.push(0);
    }
    if value[0] & 0x80 != 0 {
        value.insert(0, 0);
    }
    let mut out = vec![0x02];
    push_der_length(&mut out, value.len());
    out.extend(value);
    out
}

fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::bn::BigNum;
    use openssl::ecdsa::EcdsaSig;

    #[test]
    fn digest_info_prefix_declares_the_right_lengths() {
        for alg in [
            HashAlg::Sha1,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let di = alg.digest_info(&alg.digest(b"abc")).expect("length ok");
            // Outer SEQUENCE length covers the rest; the OCTET STRING holds the digest.
            assert_eq!(di[1] as usize, di.len() - 2, "{alg:?}");
            assert_eq!(
                di[di.len() - alg.output_len() - 1] as usize,
                alg.output_len()
            );
            // Parse with OpenSSL's ASN.1 to be sure the structure is real DER.
            let parsed = openssl::asn1::Asn1Object::from_str(match alg {
                HashAlg::Sha1 => "1.3.14.3.2.26",
                HashAlg::Sha256 => "2.16.840.1.101.3.4.2.1",
                HashAlg::Sha384 => "2.16.840.1.101.3.4.2.2",
                HashAlg::Sha512 => "2.16.840.1.101.3.4.2.3",
            })
            .expect("oid");
            let oid_der = &di[6..6 + di[5] as usize];
            assert_eq!(oid_der, parsed.as_slice(), "{alg:?}");
        }
        assert!(HashAlg::Sha256.digest_info(&[0u8; 20]).is_none());
    }

    #[test]
    fn ecdsa_raw_der_round_trip_matches_openssl() {
        // High bit set in r (needs a leading zero) and leading zeros in s (must be stripped).
        let mut raw = vec![0xffu8; 32];
        raw.extend([0u8, 0, 1].iter().chain([7u8; 29].iter()));
        let der = ecdsa_raw_to_der(&raw).expect("der");
        let sig = EcdsaSig::from_der(&der).expect("openssl parses our DER");
        assert_eq!(
            sig.r().to_owned().expect("r"),
            BigNum::from_slice(&raw[..32]).expect("bn")
        );
        assert_eq!(
            sig.s().to_owned().expect("s"),
            BigNum::from_slice(&raw[32..]).expect("bn")
        );
        assert_eq!(sig.to_der().expect("der"), der);
        assert_eq!(ecdsa_der_to_raw(&der, 32).expect("raw"), raw);
    }
}
