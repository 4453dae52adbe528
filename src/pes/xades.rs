//! The XAdES-EPES `ds:Signature` element the DGFiP Hélios policy asks for, in the shape LiberSign
//! produces (XAdES 1.2.2 namespace, exclusive C14N, enveloped-signature transform).
//!
//! We generate SignedInfo and SignedProperties ourselves, so we write them directly in their
//! exclusive canonical form (attributes sorted, empty elements expanded, no whitespace): the
//! in-document text is that canonical text without the namespace declarations its ancestors
//! already make. Exclusive C14N then gives back exactly the bytes we hashed; every signature is
//! checked by xmlsec1 in the tests.

use crate::keys::{CardError, HashAlg, KeyKind, SignatureScheme, Signer};
use ::time::OffsetDateTime;
use openssl::base64::encode_block;
use x509_parser::prelude::*;

pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const NS_XADES: &str = "http://uri.etsi.org/01903/v1.2.2#";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const POLICY_DESCRIPTION: &str = "Politique de signature Helios de la DGFiP";

/// The two profiles in use with Hélios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// SHA-256, policy OID …1.7 (current; default).
    Sha256,
    /// SHA-1, policy OID …1.4 (policy v1, 2011; kept for old set-ups).
    Sha1,
}

impl Profile {
    /// `sha256` or `sha1` as written in the settings or on the command line; none means the
    /// default (SHA-256).
    pub fn parse(text: Option<&str>) -> Option<Profile> {
        match text.map(str::trim) {
            None | Some("sha256") => Some(Profile::Sha256),
            Some("sha1") => Some(Profile::Sha1),
            Some(_) => None,
        }
    }

    pub fn hash(&self) -> HashAlg {
        match self {
            Profile::Sha256 => HashAlg::Sha256,
            Profile::Sha1 => HashAlg::Sha1,
        }
    }

    pub fn digest_uri(&self) -> &'static str {
        digest_uri(self.hash())
    }

    fn policy_oid(&self) -> &'static str {
        match self {
            Profile::Sha256 => "urn:oid:1.2.250.1.131.1.5.18.21.1.7",
            Profile::Sha1 => "urn:oid:1.2.250.1.131.1.5.18.21.1.4",
        }
    }

    /// The policy document's hash as the platforms publish it (see reference notes).
    fn policy_hash(&self) -> (HashAlg, &'static str) {
        match self {
            Profile::Sha256 => (
                HashAlg::Sha256,
                "roF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E=",
            ),
            Profile::Sha1 => (HashAlg::Sha1, "Jkdb+aba0Hz6+ZPKmKNhPByzQ+Q="),
        }
    }

    fn policy_uri(&self) -> &'static str {
        match self {
            Profile::Sha256 => {
                "https://www.collectivites-locales.gouv.fr/files/files/finances_locales/dematerialisation/ps_helios_dgfip.pdf"
            }
            Profile::Sha1 => "https://portail.dgfip.finances.gouv.fr/documents/PS_Helios_DGFiP.pdf",
        }
    }

    pub fn signature_uri(&self, kind: KeyKind) -> &'static str {
        match (kind, self) {
            (KeyKind::Rsa, Profile::Sha256) => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            (KeyKind::Rsa, Profile::Sha1) => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            (KeyKind::Ec, Profile::Sha256) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            (KeyKind::Ec, Profile::Sha1) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
        }
    }
}

pub fn digest_uri(hash: HashAlg) -> &'static str {
    match hash {
        HashAlg::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
        HashAlg::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
        HashAlg::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
        HashAlg::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
    }
}

/// Who signs, where and as what (SignerRole / SignatureProductionPlace).
#[derive(Debug, Clone)]
pub struct SignerDetails {
    pub role: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

/// Escape text for canonical XML (C14N §2.3: `&`, `<`, `>`, CR).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape an attribute value for canonical XML.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// The issuer DN in RFC 4514 order (most specific first), as XML-DSig's X509IssuerName wants.
fn issuer_rfc4514(cert: &X509Certificate) -> String {
    let mut rdns: Vec<String> = Vec::new();
    for rdn in cert.issuer().iter() {
        let parts: Vec<String> = rdn
            .iter()
            .map(|atv| {
                let oid = atv.attr_type().to_id_string();
                let name = match oid.as_str() {
                    "2.5.4.3" => "CN".to_owned(),
                    "2.5.4.6" => "C".to_owned(),
                    "2.5.4.7" => "L".to_owned(),
                    "2.5.4.8" => "ST".to_owned(),
                    "2.5.4.10" => "O".to_owned(),
                    "2.5.4.11" => "OU".to_owned(),
                    "2.5.4.9" => "STREET".to_owned(),
                    "0.9.2342.19200300.100.1.25" => "DC".to_owned(),
                    "0.9.2342.19200300.100.1.1" => "UID".to_owned(),
                    other => other.to_owned(),
                };
                let value = match atv.as_str() {
                    Ok(s) => escape_dn_value(s),
                    Err(_) => format!("#{}", hex::encode(atv.attr_value().data)),
                };
                format!("{name}={value}")
            })
            .collect();
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    rdns.join(",")
}

fn escape_dn_value(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == s.chars().count() && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A signature element ready to insert, in both its document and canonical forms.
pub struct BuiltSignature {
    /// The `ds:Signature` element as written into the file (UTF-8 text; the writer re-encodes).
    pub element: String,
}

/// Build the complete `ds:Signature` for the element whose `Id` is `target_id` and whose
/// canonical form (enveloped signature removed) hashes to `target_digest`; the card is asked for
/// exactly one signature.
pub fn build(
    signer: &mut dyn Signer,
    profile: Profile,
    details: &SignerDetails,
    target_id: &str,
    signature_id: &str,
    target_digest: &[u8],
    signing_time: OffsetDateTime,
) -> Result<BuiltSignature, CardError> {
    let hash = profile.hash();
    let cert_der = signer.certificate_der().to_vec();
    let (_, cert) =
        X509Certificate::from_der(&cert_der).map_err(|e| CardError::InvalidInput(e.to_string()))?;
    let kind = signer.key_kind();
    let sp_id = format!("{signature_id}_SP");
    let (policy_alg, policy_hash) = profile.policy_hash();
    let time = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        signing_time.year(),
        u8::from(signing_time.month()),
        signing_time.day(),
        signing_time.hour(),
        signing_time.minute(),
        signing_time.second()
    );
    let cert_digest = encode_block(&hash.digest(&cert_der));
    let ds_decl = format!(" xmlns:ds=\"{NS_DS}\"");
    // SignedProperties, canonical form; `{ds}` marks where exclusive C14N declares ds.
    let signed_properties = |ds: &str, xad: &str| {
        format!(
            "<xad:SignedProperties{xad} Id=\"{sp}\"><xad:SignedSignatureProperties>\
<xad:SigningTime>{time}</xad:SigningTime><xad:SigningCertificate><xad:Cert><xad:CertDigest>\
<xad:DigestMethod Algorithm=\"{cd_alg}\"></xad:DigestMethod><xad:DigestValue>{cert_digest}</xad:DigestValue>\
</xad:CertDigest><xad:IssuerSerial><ds:X509IssuerName{ds}>{issuer}</ds:X509IssuerName>\
<ds:X509SerialNumber{ds}>{serial}</ds:X509SerialNumber></xad:IssuerSerial></xad:Cert></xad:SigningCertificate>\
<xad:SignaturePolicyIdentifier><xad:SignaturePolicyId><xad:SigPolicyId><xad:Identifier>{oid}</xad:Identifier>\
<xad:Description>{desc}</xad:Description></xad:SigPolicyId><xad:SigPolicyHash>\
<xad:DigestMethod Algorithm=\"{ph_alg}\"></xad:DigestMethod><xad:DigestValue>{ph}</xad:DigestValue></xad:SigPolicyHash>\
<xad:SigPolicyQualifiers><xad:SigPolicyQualifier><xad:SPURI>{spuri}</xad:SPURI></xad:SigPolicyQualifier>\
</xad:SigPolicyQualifiers></xad:SignaturePolicyId></xad:SignaturePolicyIdentifier>\
<xad:SignatureProductionPlace><xad:City>{city}</xad:City><xad:PostalCode>{cp}</xad:PostalCode>\
<xad:CountryName>{country}</xad:CountryName></xad:SignatureProductionPlace><xad:SignerRole><xad:ClaimedRoles>\
<xad:ClaimedRole>{role}</xad:ClaimedRole></xad:ClaimedRoles></xad:SignerRole></xad:SignedSignatureProperties>\
</xad:SignedProperties>",
            sp = attr(&sp_id),
            cd_alg = digest_uri(hash),
            issuer = text(&issuer_rfc4514(&cert)),
            serial = cert.serial,
            oid = policy_oid_text(profile),
            desc = POLICY_DESCRIPTION,
            ph_alg = digest_uri(policy_alg),
            ph = policy_hash,
            spuri = text(profile.policy_uri()),
            city = text(&details.city),
            cp = text(&details.postal_code),
            country = text(&details.country),
            role = text(&details.role),
        )
    };
    let xad_decl = format!(" xmlns:xad=\"{NS_XADES}\"");
    let sp_canonical = signed_properties(&ds_decl, &xad_decl);
    let sp_digest = encode_block(&hash.digest(sp_canonical.as_bytes()));
    let signed_info = |ds: &str| {
        format!(
            "<ds:SignedInfo{ds}><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>\
<ds:SignatureMethod Algorithm=\"{sm}\"></ds:SignatureMethod><ds:Reference URI=\"#{target}\"><ds:Transforms>\
<ds:Transform Algorithm=\"{ENVELOPED}\"></ds:Transform><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform>\
</ds:Transforms><ds:DigestMethod Algorithm=\"{dm}\"></ds:DigestMethod><ds:DigestValue>{td}</ds:DigestValue>\
</ds:Reference><ds:Reference Type=\"http://uri.etsi.org/01903/v1.2.2#SignedProperties\" URI=\"#{sp}\">\
<ds:Transforms><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{dm}\"></ds:DigestMethod><ds:DigestValue>{spd}</ds:DigestValue></ds:Reference>\
</ds:SignedInfo>",
            sm = profile.signature_uri(kind),
            target = attr(target_id),
            dm = profile.digest_uri(),
            td = encode_block(target_digest),
            sp = attr(&sp_id),
            spd = sp_digest,
        )
    };
    let si_canonical = signed_info(&ds_decl);
    let si_digest = hash.digest(si_canonical.as_bytes());
    let scheme = match kind {
        KeyKind::Rsa => SignatureScheme::RsaPkcs1(hash),
        KeyKind::Ec => SignatureScheme::Ecdsa(hash),
    };
    let mut value = signer.sign_digest(scheme, &si_digest)?;
    if kind == KeyKind::Ec {
        // XML-DSig wants r ‖ s, each the size of the curve order.
        let half = match cert.public_key().parsed() {
            Ok(x509_parser::public_key::PublicKey::EC(p)) => p.key_size().div_ceil(8),
            _ => 32,
        };
        value = crate::keys::digest::ecdsa_der_to_raw(&value, half)
            .ok_or_else(|| CardError::InvalidInput("signature ECDSA illisible".to_owned()))?;
    }
    let element = format!(
        "<ds:Signature{ds_decl} Id=\"{sig}\">{si}<ds:SignatureValue Id=\"{sig}_SV\">{sv}</ds:SignatureValue>\
<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
<ds:Object><xad:QualifyingProperties{xad_decl} Target=\"#{sig}\">{sp}</xad:QualifyingProperties></ds:Object>\
</ds:Signature>",
        sig = attr(signature_id),
        si = signed_info(""),
        sv = encode_block(&value),
        cert = encode_block(&cert_der),
        sp = signed_properties("", ""),
    );
    Ok(BuiltSignature { element })
}

fn policy_oid_text(profile: Profile) -> &'static str {
    profile.policy_oid()
}
