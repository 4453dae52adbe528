//! The algorithms of XML-DSig and its extensions, known by their URIs: digests and signature
//! methods (RSA, ECDSA, RSA-PSS).

use openssl::hash::MessageDigest;

/// A digest algorithm of XML-DSig by its URI.
pub(super) fn digest_algorithm(uri: &str) -> Option<MessageDigest> {
    match uri.trim() {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Some(MessageDigest::sha1()),
        "http://www.w3.org/2001/04/xmldsig-more#sha224" => Some(MessageDigest::sha224()),
        "http://www.w3.org/2001/04/xmlenc#sha256" => Some(MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Some(MessageDigest::sha384()),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

/// How a signature method signs: digest, ECDSA (raw r‖s value), RSA-PSS.
pub(super) fn signature_algorithm(uri: &str) -> Option<(MessageDigest, bool, bool)> {
    let more = "http://www.w3.org/2001/04/xmldsig-more#";
    let pss = "http://www.w3.org/2007/05/xmldsig-more#";
    let uri = uri.trim();
    if uri == "http://www.w3.org/2000/09/xmldsig#rsa-sha1" {
        return Some((MessageDigest::sha1(), false, false));
    }
    if let Some(name) = uri.strip_prefix(more) {
        let (ecdsa, hash) = match name.split_once('-') {
            Some(("rsa", hash)) => (false, hash),
            Some(("ecdsa", hash)) => (true, hash),
            _ => return None,
        };
        return hash_named(hash).map(|md| (md, ecdsa, false));
    }
    if let Some(name) = uri.strip_prefix(pss) {
        let hash = name.strip_suffix("-rsa-MGF1")?;
        return hash_named(hash).map(|md| (md, false, true));
    }
    None
}

fn hash_named(name: &str) -> Option<MessageDigest> {
    match name {
        "sha1" => Some(MessageDigest::sha1()),
        "sha224" => Some(MessageDigest::sha224()),
        "sha256" => Some(MessageDigest::sha256()),
        "sha384" => Some(MessageDigest::sha384()),
        "sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_are_known_by_their_uris() {
        assert!(digest_algorithm("http://www.w3.org/2001/04/xmlenc#sha512").is_some());
        assert!(digest_algorithm("http://www.w3.org/2001/04/xmldsig-more#sha224").is_some());
        assert!(digest_algorithm("http://www.w3.org/2001/04/xmldsig-more#md5").is_none());
        assert!(signature_algorithm("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384").is_some());
        assert!(
            signature_algorithm("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
                .is_some_and(|(_, ecdsa, _)| ecdsa)
        );
        assert!(
            signature_algorithm("http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1")
                .is_some_and(|(_, _, pss)| pss)
        );
        assert!(signature_algorithm("http://www.w3.org/2001/04/xmldsig-more#rsa-md5").is_none());
    }
}
