//! Reading a signature file's structure in one pass: each `ds:Signature` with its references,
//! certificates, signed properties and timestamps, and the elements carrying an `Id`.

use super::{
    MAX_ELEMENTS, MAX_REFERENCES, MAX_SIGNATURES, MAX_TIMESTAMPS, Name, Properties, Reference,
    Signature, XADES_111, XADES_132, XADES_141, XadesFile, in_unsigned, is, is_x,
};
use crate::messages::t;
use crate::xml::{C14nError, DSIG_NAMESPACE, XmlReader};
use quick_xml::events::Event;
use std::collections::HashMap;

impl XadesFile {
    /// Read the structure of the signatures of `bytes` (strict XML, no DOCTYPE).
    pub(in crate::marches) fn parse(bytes: Vec<u8>) -> Result<XadesFile, C14nError> {
        let mut signatures: Vec<Signature> = Vec::new();
        let mut ids: HashMap<String, Vec<usize>> = HashMap::new();
        {
            let mut reader = XmlReader::new(bytes.as_slice())?;
            // Names of the open elements; the depth of the signature being read.
            let mut path: Vec<Name> = Vec::new();
            let mut in_signature: Option<usize> = None;
            let mut in_properties = false;
            let mut target: Option<String> = None;
            let mut text = String::new();
            let mut rank = 0usize;
            loop {
                let (event, info) = reader.read_event_with_info()?;
                match &event {
                    Event::Eof => break,
                    Event::Start(_) | Event::Empty(_) => {
                        text.clear();
                        let here = rank;
                        rank += 1;
                        if rank > MAX_ELEMENTS {
                            return Err(C14nError::malformed(t("marches.xades.trop_d_elements")));
                        }
                        let (ns, local) = info.element_name().unwrap_or((None, ""));
                        let name = match ns {
                            Some(DSIG_NAMESPACE) => Name::Ds(local.to_owned()),
                            Some(XADES_132 | XADES_141 | XADES_111) => {
                                Name::Xades(local.to_owned())
                            }
                            _ => Name::Other,
                        };
                        for key in ["Id", "ID", "id"] {
                            if let Some(v) = info.attribute(key) {
                                ids.entry(v.to_owned()).or_default().push(here);
                            }
                        }
                        let attribute = |k: &str| info.attribute(k).map(str::to_owned);
                        let algorithm = attribute("Algorithm");
                        match in_signature {
                            None if is(&name, "Signature") => {
                                if signatures.len() >= MAX_SIGNATURES {
                                    return Err(C14nError::malformed(t(
                                        "marches.xades.trop_de_signatures",
                                    )));
                                }
                                in_signature = Some(path.len());
                                signatures.push(Signature {
                                    id: attribute("Id"),
                                    ..Default::default()
                                });
                            }
                            Some(base) => {
                                let rel = &path[base..];
                                if let Some(sig) = signatures.last_mut() {
                                    read_start(
                                        sig,
                                        rel,
                                        &name,
                                        here,
                                        algorithm,
                                        &attribute,
                                        &mut in_properties,
                                        &mut target,
                                        info.start_tag()
                                            .and_then(|t| t.attribute("PrefixList"))
                                            .map(str::to_owned),
                                    );
                                }
                            }
                            None => {}
                        }
                        if matches!(event, Event::Start(_)) {
                            path.push(name);
                        } else if in_signature == Some(path.len()) {
                            in_signature = None;
                        }
                    }
                    Event::Text(t) => text.push_str(&String::from_utf8_lossy(t)),
                    Event::CData(t) => text.push_str(&String::from_utf8_lossy(t)),
                    Event::GeneralRef(r) => {
                        if let Ok(c) = crate::xml::resolve_reference(&String::from_utf8_lossy(r)) {
                            text.push(c);
                        }
                    }
                    Event::End(_) => {
                        let value = std::mem::take(&mut text);
                        if let (Some(base), Some(sig)) = (in_signature, signatures.last_mut()) {
                            let rel = &path[base..];
                            read_end(sig, rel, value, &mut in_properties);
                        }
                        path.pop();
                        if in_signature == Some(path.len()) {
                            in_signature = None;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(XadesFile {
            bytes,
            signatures,
            ids,
            work: std::cell::Cell::new(0),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn read_start(
    sig: &mut Signature,
    rel: &[Name],
    name: &Name,
    rank: usize,
    algorithm: Option<String>,
    attribute: &dyn Fn(&str) -> Option<String>,
    in_properties: &mut bool,
    target: &mut Option<String>,
    prefix_list: Option<String>,
) {
    let at = |path: &[&str]| {
        rel.len() == path.len() + 1 && rel[1..].iter().zip(path).all(|(n, p)| is(n, p))
    };
    if rel.len() == 1 && is(name, "SignatureValue") && sig.signature_value_at.is_none() {
        sig.signature_value_at = Some(rank);
        return;
    }
    if in_unsigned(rel, &[]) && is_x(name, "SignatureTimeStamp") {
        if sig.timestamps.len() < MAX_TIMESTAMPS {
            sig.timestamps.push((None, String::new()));
        }
        return;
    }
    if in_unsigned(rel, &["SignatureTimeStamp"]) && is(name, "CanonicalizationMethod") {
        if let Some(ts) = sig.timestamps.last_mut() {
            ts.0 = algorithm;
        }
        return;
    }
    if rel.len() == 1 && is(name, "SignedInfo") {
        sig.signed_infos += 1;
        if sig.signed_infos == 1 {
            sig.signed_info_at = Some(rank);
        }
        return;
    }
    let first = sig.signed_infos == 1;
    if first && at(&["SignedInfo"]) {
        if is(name, "CanonicalizationMethod") {
            sig.c14n = Some((algorithm.unwrap_or_default(), Vec::new()));
        } else if is(name, "SignatureMethod") {
            sig.signature_method = algorithm;
        } else if is(name, "Reference") && sig.references.len() >= MAX_REFERENCES {
            sig.too_many_references = true;
        } else if is(name, "Reference") {
            sig.references.push(Reference {
                uri: attribute("URI"),
                ..Default::default()
            });
        }
    } else if first && at(&["SignedInfo", "CanonicalizationMethod"]) {
        if let (Some(c), Some(list)) = (sig.c14n.as_mut(), prefix_list) {
            c.1 = list.split_whitespace().map(str::to_owned).collect();
        }
    } else if first && at(&["SignedInfo", "Reference", "Transforms"]) {
        if is(name, "Transform")
            && let Some(r) = sig.references.last_mut()
        {
            r.transforms
                .push((algorithm.unwrap_or_default(), Vec::new()));
        }
    } else if first && at(&["SignedInfo", "Reference", "Transforms", "Transform"]) {
        if let (Some(r), Some(list)) = (sig.references.last_mut(), prefix_list)
            && let Some(t) = r.transforms.last_mut()
        {
            t.1 = list.split_whitespace().map(str::to_owned).collect();
        }
    } else if first && at(&["SignedInfo", "Reference"]) {
        if is(name, "DigestMethod")
            && let Some(r) = sig.references.last_mut()
        {
            r.digest_method = algorithm.unwrap_or_default();
        }
    } else if at(&["KeyInfo", "X509Data"]) && is(name, "X509Certificate") {
        sig.certificates.push(String::new());
    } else if at(&["Object"]) && is_x(name, "QualifyingProperties") {
        *target = attribute("Target");
    } else if rel.len() == 3
        && is(&rel[1], "Object")
        && is_x(&rel[2], "QualifyingProperties")
        && is_x(name, "SignedProperties")
    {
        *in_properties = true;
        sig.properties.push(Properties {
            id: attribute("Id"),
            target: target.clone(),
            ..Default::default()
        });
    } else if *in_properties
        && is(name, "DigestMethod")
        && rel.len() >= 2
        && is_x(&rel[rel.len() - 1], "CertDigest")
        && is_x(&rel[rel.len() - 2], "Cert")
        && let Some(p) = sig.properties.last_mut()
    {
        p.cert_digests
            .push((algorithm.unwrap_or_default(), String::new()));
    }
}

fn read_end(sig: &mut Signature, rel: &[Name], value: String, in_properties: &mut bool) {
    let Some(last) = rel.last() else { return };
    let parent = rel.len().checked_sub(2).and_then(|i| rel.get(i));
    let at = |path: &[&str]| {
        rel.len() == path.len() + 1 && rel[1..].iter().zip(path).all(|(n, p)| is(n, p))
    };
    if sig.signed_infos == 1 && at(&["SignedInfo", "Reference", "DigestValue"]) {
        if let Some(r) = sig.references.last_mut() {
            r.digest_value.push_str(&value);
        }
    } else if at(&["SignatureValue"]) {
        sig.signature_value.push_str(&value);
    } else if in_unsigned(rel, &["SignatureTimeStamp", "EncapsulatedTimeStamp"]) {
        if let Some(ts) = sig.timestamps.last_mut() {
            ts.1.push_str(&value);
        }
    } else if at(&["KeyInfo", "X509Data", "X509Certificate"]) {
        if let Some(c) = sig.certificates.last_mut() {
            c.push_str(&value);
        }
    } else if *in_properties {
        if is_x(last, "SignedProperties") && rel.len() == 4 {
            *in_properties = false;
        } else if let Some(p) = sig.properties.last_mut() {
            if is_x(last, "SigningTime")
                && parent.is_some_and(|n| is_x(n, "SignedSignatureProperties"))
            {
                p.signing_time = Some(value);
            } else if is(last, "DigestValue")
                && parent.is_some_and(|n| is_x(n, "CertDigest"))
                && let Some(d) = p.cert_digests.last_mut()
            {
                d.1.push_str(&value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::C14nMode;

    #[test]
    fn a_dss_signature_is_read() {
        let xml = br##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="S"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference Id="r"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference><ds:Reference URI="#P"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>BBBB</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>CC&#13;
CC</ds:SignatureValue><ds:Object><x:QualifyingProperties xmlns:x="http://uri.etsi.org/01903/v1.3.2#" Target="#S"><x:SignedProperties Id="P"><x:SignedSignatureProperties><x:SigningTime>2022-02-15T08:44:52Z</x:SigningTime><x:SigningCertificateV2><x:Cert><x:CertDigest><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"/><ds:DigestValue>DDDD</ds:DigestValue></x:CertDigest></x:Cert></x:SigningCertificateV2></x:SignedSignatureProperties></x:SignedProperties></x:QualifyingProperties></ds:Object></ds:Signature>"##;
        let file = XadesFile::parse(xml.to_vec()).expect("lu");
        let sig = &file.signatures[0];
        assert_eq!(sig.references.len(), 2);
        assert_eq!(sig.references[0].uri, None);
        assert_eq!(sig.references[0].digest_value, "AAAA");
        assert_eq!(sig.signature_value, "CC\r\nCC");
        assert_eq!(sig.properties[0].id.as_deref(), Some("P"));
        assert_eq!(
            sig.properties[0].signing_time.as_deref(),
            Some("2022-02-15T08:44:52Z")
        );
        assert_eq!(sig.properties[0].cert_digests[0].1, "DDDD");
        assert!(file.is_detached());
        assert_eq!(file.element_with_id("P"), Ok(file.ids["P"][0]));
        let si = file
            .canonical(
                sig.signed_info_at.expect("rang"),
                &C14nMode::from_algorithm(crate::xml::EXC_C14N_10, &[]).expect("mode"),
                false,
                Vec::new(),
            )
            .expect("c14n");
        assert!(si.starts_with(b"<ds:SignedInfo xmlns:ds="));
        assert!(si.ends_with(b"</ds:SignedInfo>"));
    }
}
