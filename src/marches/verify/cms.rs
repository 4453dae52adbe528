//! Reading CMS structures: a signature or token file (bounded, PEM or S/MIME armour removed,
//! BER given its DER form), the SignedData and its SignerInfos, their attributes and times, and
//! what a detached signature or a timestamp says before any check. Parsing only: the checks
//! are in `signers`.

use super::documents::DocumentDigest;
use super::verdict::VerifyError;
use crate::marches::armor::{self, Armor, Base64Lines};
use crate::marches::der::{Der, DerError};
use crate::messages::t;
use openssl::hash::MessageDigest;
use std::io::Read;
use std::path::Path;
use time::OffsetDateTime;

/// A signature or token file is read whole (the documents never are) up to this size.
pub(in crate::marches) const SIGNATURE_FILE_LIMIT: u64 = 64 * 1024 * 1024;

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
pub(super) const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
pub(super) const OID_MESSAGE_DIGEST: &[u8] =
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
pub(super) const OID_SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
pub(super) const OID_SIGNATURE_TIMESTAMP: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
];
pub(super) const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_NIST_HASH: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];

pub(super) fn digest_for(oid: &[u8]) -> Option<MessageDigest> {
    match oid {
        OID_SHA1 => Some(MessageDigest::sha1()),
        [prefix @ .., last] if prefix == OID_NIST_HASH => match last {
            1 => Some(MessageDigest::sha256()),
            2 => Some(MessageDigest::sha384()),
            3 => Some(MessageDigest::sha512()),
            4 => Some(MessageDigest::sha224()),
            _ => None,
        },
        _ => None,
    }
}

/// One SignerInfo, as read.
pub(super) struct SignerInfo<'a> {
    pub(super) sid: crate::marches::envelope::RecipientId,
    pub(super) digest_oid: &'a [u8],
    /// The whole `[0] IMPLICIT` signed attributes element (re-tagged as a SET to verify).
    pub(super) signed_attrs: Option<&'a [u8]>,
    pub(super) signature_oid: &'a [u8],
    pub(super) signature_params: &'a [u8],
    pub(super) signature: &'a [u8],
    pub(super) unsigned_attrs: Option<&'a [u8]>,
}

pub(super) struct SignedData<'a> {
    pub(super) content_type: &'a [u8],
    pub(super) content: Option<&'a [u8]>,
    pub(super) certificates: Vec<&'a [u8]>,
    pub(super) signers: Vec<SignerInfo<'a>>,
}

/// Read a ContentInfo holding a SignedData (trailing zero padding, as in a PDF's /Contents, is
/// ignored).
pub(super) fn parse_signed_data(bytes: &[u8]) -> Result<SignedData<'_>, DerError> {
    let mut outer = Der::new(bytes);
    let content_info = outer.expect(0x30)?;
    let mut ci = Der::new(content_info);
    if ci.expect(0x06)? != OID_SIGNED_DATA {
        return Err(DerError(t("marches.verif.pas_signed_data")));
    }
    let explicit = ci.expect(0xa0)?;
    let mut sd = Der::new(Der::new(explicit).expect(0x30)?);
    sd.expect(0x02)?;
    sd.expect(0x31)?;
    let mut encap = Der::new(sd.expect(0x30)?);
    let content_type = encap.expect(0x06)?;
    let content = if encap.peek_tag() == Some(0xa0) {
        let explicit = encap.expect(0xa0)?;
        Some(Der::new(explicit).expect(0x04)?)
    } else {
        None
    };
    let mut certificates = Vec::new();
    if sd.peek_tag() == Some(0xa0) {
        let mut set = Der::new(sd.expect(0xa0)?);
        while !set.is_empty() {
            let (tag, whole, _) = set.element()?;
            if tag == 0x30 {
                certificates.push(whole);
            }
        }
    }
    if sd.peek_tag() == Some(0xa1) {
        sd.expect(0xa1)?;
    }
    let mut signers = Vec::new();
    let mut set = Der::new(sd.expect(0x31)?);
    while !set.is_empty() {
        signers.push(parse_signer(set.expect(0x30)?)?);
    }
    Ok(SignedData {
        content_type,
        content,
        certificates,
        signers,
    })
}

fn parse_signer(value: &[u8]) -> Result<SignerInfo<'_>, DerError> {
    use crate::marches::envelope::RecipientId;
    let mut der = Der::new(value);
    der.expect(0x02)?;
    let sid = match der.peek_tag() {
        Some(0x30) => {
            let mut isn = Der::new(der.expect(0x30)?);
            let (_, issuer, _) = isn.element()?;
            let serial = isn.expect(0x02)?;
            RecipientId::IssuerSerial {
                issuer_der: issuer.to_vec(),
                serial: serial.to_vec(),
            }
        }
        Some(0x80) => RecipientId::KeyIdentifier(der.expect(0x80)?.to_vec()),
        _ => return Err(DerError("signataire illisible".to_owned())),
    };
    let digest_oid = Der::new(der.expect(0x30)?).expect(0x06)?;
    let signed_attrs = if der.peek_tag() == Some(0xa0) {
        let (_, whole, _) = der.element()?;
        Some(whole)
    } else {
        None
    };
    let mut alg = Der::new(der.expect(0x30)?);
    let signature_oid = alg.expect(0x06)?;
    let signature_params = if alg.is_empty() {
        &[][..]
    } else {
        alg.element()?.1
    };
    let signature = der.expect(0x04)?;
    let unsigned_attrs = if der.peek_tag() == Some(0xa1) {
        Some(der.expect(0xa1)?)
    } else {
        None
    };
    Ok(SignerInfo {
        sid,
        digest_oid,
        signed_attrs,
        signature_oid,
        signature_params,
        signature,
        unsigned_attrs,
    })
}

/// The values of attribute `oid` in a sequence of attributes (the content of a SET or of an
/// implicit [0]/[1]).
pub(super) fn attribute<'a>(attrs: &'a [u8], oid: &[u8]) -> Result<Option<&'a [u8]>, DerError> {
    let mut der = Der::new(attrs);
    while !der.is_empty() {
        let mut attr = Der::new(der.expect(0x30)?);
        if attr.expect(0x06)? == oid {
            return Ok(Some(attr.expect(0x31)?));
        }
    }
    Ok(None)
}

/// UTCTime (0x17) or GeneralizedTime (0x18).
pub(super) fn parse_time(tag: u8, value: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(value).ok()?;
    let text = text.strip_suffix('Z')?;
    let (main, _fraction) = text.split_once('.').unwrap_or((text, ""));
    let (year, rest) = match tag {
        0x17 => {
            let yy: i32 = main.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, main.get(2..)?)
        }
        0x18 => (main.get(..4)?.parse().ok()?, main.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<u8> { rest.get(i..i + 2)?.parse().ok() };
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(field(0)?).ok()?, field(2)?)
            .ok()?;
    let clock = time::Time::from_hms(field(4)?, field(6)?, field(8).unwrap_or(0)).ok()?;
    Some(date.with_time(clock).assume_utc())
}

pub(super) fn find_certificate<'a>(
    sid: &crate::marches::envelope::RecipientId,
    certificates: &[&'a [u8]],
) -> Option<&'a [u8]> {
    certificates
        .iter()
        .copied()
        .find(|der| crate::marches::open::certificate_is(sid, der))
}

/// Read a signature file whole, up to `limit` bytes.
pub(in crate::marches) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    let read_error = |e: std::io::Error| VerifyError::Read(path.to_owned(), e.to_string());
    let file = crate::files::open_regular(path).map_err(read_error)?;
    if file.metadata().map_err(read_error)?.len() > limit {
        return Err(VerifyError::TooLarge(path.to_owned()));
    }
    let mut raw = Vec::new();
    file.take(limit).read_to_end(&mut raw).map_err(read_error)?;
    Ok(raw)
}

/// Read a signature or token file whole (bounded), decoding PEM or S/MIME, and giving a BER
/// (indefinite lengths, chunked content) SignedData its DER form.
pub(super) fn read_signature_file(path: &Path) -> Result<Vec<u8>, VerifyError> {
    read_cms_file(path, SIGNATURE_FILE_LIMIT)
}

pub(in crate::marches) fn read_cms_file(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    let read_error = |e: std::io::Error| VerifyError::Read(path.to_owned(), e.to_string());
    let raw = read_bounded(path, limit)?;
    let decoded = match armor::detect(&raw) {
        Some(Armor::Der) | None => raw,
        Some(text) => {
            let mut decoded = Vec::new();
            Base64Lines::new(raw.as_slice(), text)
                .read_to_end(&mut decoded)
                .map_err(read_error)?;
            decoded
        }
    };
    Ok(der_form(decoded))
}

/// The DER form of a CMS structure written in BER (indefinite lengths, constructed OCTET
/// STRINGs), as some tools write them; the bytes unchanged when they read as they are.
pub(super) fn der_form(bytes: Vec<u8>) -> Vec<u8> {
    if parse_signed_data(&bytes).is_ok() {
        return bytes;
    }
    let mut out = Vec::new();
    match ber_to_der(&bytes, 0, &mut out) {
        Ok(_) if parse_signed_data(&out).is_ok() => out,
        _ => bytes,
    }
}

/// Deep enough for any CMS structure; bounds the recursion on hostile input.
const BER_MAX_DEPTH: usize = 48;

/// Re-encode the first BER element of `input` as DER into `out`; returns how many bytes of
/// `input` it took. Definite lengths become minimal, indefinite ones definite, a constructed
/// OCTET STRING one primitive; the contents of primitive elements are kept as they are.
fn ber_to_der(input: &[u8], depth: usize, out: &mut Vec<u8>) -> Result<usize, ()> {
    if depth > BER_MAX_DEPTH {
        return Err(());
    }
    let tag = *input.first().ok_or(())?;
    if tag & 0x1f == 0x1f {
        return Err(());
    }
    let first = *input.get(1).ok_or(())?;
    let constructed = tag & 0x20 != 0;
    let (header, length) = if first == 0x80 {
        (2, None)
    } else if first < 0x80 {
        (2, Some(usize::from(first)))
    } else {
        let count = usize::from(first & 0x7f);
        if count > 4 {
            return Err(());
        }
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | usize::from(*input.get(2 + i).ok_or(())?);
        }
        (2 + count, Some(len))
    };
    let mut content = Vec::new();
    let taken = match length {
        Some(len) if !constructed => {
            let end = header.checked_add(len).ok_or(())?;
            content.extend_from_slice(input.get(header..end).ok_or(())?);
            end
        }
        Some(len) => {
            let end = header.checked_add(len).ok_or(())?;
            let inner = input.get(header..end).ok_or(())?;
            let mut at = 0;
            while at < inner.len() {
                at += ber_to_der(&inner[at..], depth + 1, &mut content)?;
            }
            end
        }
        None => {
            if !constructed {
                return Err(());
            }
            let mut at = header;
            loop {
                let rest = input.get(at..).ok_or(())?;
                if rest.starts_with(&[0, 0]) {
                    break at + 2;
                }
                at += ber_to_der(rest, depth + 1, &mut content)?;
            }
        }
    };
    let tag = if tag == 0x24 {
        // Chunks of an OCTET STRING: their contents, joined.
        let mut joined = Vec::new();
        let mut chunks = Der::new(&content);
        while !chunks.is_empty() {
            let (chunk_tag, _, value) = chunks.element().map_err(|_| ())?;
            if chunk_tag != 0x04 {
                return Err(());
            }
            joined.extend_from_slice(value);
        }
        content = joined;
        0x04
    } else {
        tag
    };
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(&content);
    Ok(taken)
}

/// Is this DER a timestamp (TimeStampResp or a token) rather than a signature?
pub(super) fn timestamp_token(bytes: &[u8]) -> Option<&[u8]> {
    let mut outer = Der::new(bytes);
    let (_, whole, value) = outer.element().ok()?;
    let mut inner = Der::new(value);
    match inner.peek_tag()? {
        // TimeStampResp: PKIStatusInfo, then the token.
        0x30 => {
            let status = inner.expect(0x30).ok()?;
            let granted = Der::new(status).expect(0x02).ok()?;
            if !matches!(granted, [0] | [1]) {
                return None;
            }
            let (_, token, _) = inner.element().ok()?;
            let sd = parse_signed_data(token).ok()?;
            (sd.content_type == OID_TST_INFO).then_some(token)
        }
        0x06 => {
            let sd = parse_signed_data(whole).ok()?;
            (sd.content_type == OID_TST_INFO).then_some(whole)
        }
        _ => None,
    }
}

/// The digests the detached CAdES of `bytes` gives its document (messageDigest of each signer).
pub(in crate::marches) fn cms_document_digests(bytes: &[u8]) -> Vec<DocumentDigest> {
    let Ok(sd) = parse_signed_data(bytes) else {
        return Vec::new();
    };
    if sd.content.is_some() || sd.content_type == OID_TST_INFO {
        return Vec::new();
    }
    sd.signers
        .iter()
        .filter_map(|signer| {
            let md = digest_for(signer.digest_oid)?;
            let attrs = Der::new(signer.signed_attrs?).expect(0xa0).ok()?;
            let set = attribute(attrs, OID_MESSAGE_DIGEST).ok()??;
            let value = Der::new(set).expect(0x04).ok()?.to_vec();
            Some(DocumentDigest { md, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::iso8601;

    #[test]
    fn ber_becomes_der() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" }, NULL }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x05,
            0x00, 0x00, 0x00,
        ];
        let mut out = Vec::new();
        assert_eq!(ber_to_der(&ber, 0, &mut out), Ok(ber.len()));
        assert_eq!(out, [0x30, 0x07, 0x04, 0x03, b'a', b'b', b'c', 0x05, 0x00]);
        // Truncated, or nested too deep: refused.
        assert!(ber_to_der(&ber[..10], 0, &mut Vec::new()).is_err());
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100).flatten().collect();
        assert!(ber_to_der(&deep, 0, &mut Vec::new()).is_err());
    }

    #[test]
    fn asn1_times() {
        let t = parse_time(0x17, b"261127231500Z").expect("utc time");
        assert_eq!(iso8601(t), "2026-11-27T23:15:00Z");
        let t = parse_time(0x18, b"20261127231500.123Z").expect("generalized");
        assert_eq!(iso8601(t), "2026-11-27T23:15:00Z");
        assert!(parse_time(0x18, b"20261327231500Z").is_none());
    }
}
