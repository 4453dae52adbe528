//! Checking each signature of the file: its references, its signed properties, its value
//! against its certificate, its timestamps; one report per signature.

use super::algorithms::{digest_algorithm, signature_algorithm};
use super::{MAX_REFERENCES, Properties, Signature, XadesFile, is_external};
use crate::certs::trust::TrustStore;
use crate::certs::{CertificateInfo, iso8601};
use crate::marches::verify::{SignatureReport, blank_report, judge_certificate};
use crate::messages::{t, tf};
use crate::xml::C14nMode;
use openssl::hash::MessageDigest;
use openssl::x509::X509;
use std::path::Path;
use time::OffsetDateTime;

impl XadesFile {
    /// Check every signature of the file. `document` is the detached document (references
    /// without URI, or to a file when given explicitly); `base` the folder where a reference
    /// to a file name is looked for.
    pub(in crate::marches) fn verify(
        &self,
        file: &Path,
        document: Option<&Path>,
        explicit: bool,
        trust: Option<&TrustStore>,
    ) -> Vec<SignatureReport> {
        let base = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        self.signatures
            .iter()
            .map(|sig| self.verify_one(sig, file, document, explicit, base, trust))
            .collect()
    }

    fn verify_one(
        &self,
        sig: &Signature,
        file: &Path,
        document: Option<&Path>,
        explicit: bool,
        base: &Path,
        trust: Option<&TrustStore>,
    ) -> SignatureReport {
        let detached = sig.references.iter().any(is_external);
        let format = if detached {
            t("marches.xades.detachee")
        } else {
            t("marches.xades.enveloppante")
        };
        let mut report = blank_report(file, document.filter(|_| detached).unwrap_or(file), &format);
        if sig.too_many_references {
            report.raisons.push(tf(
                "marches.xades.trop_de_references",
                &[("n", &MAX_REFERENCES.to_string())],
            ));
            return report;
        }
        let mut integrity = true;
        if sig.signed_infos != 1 {
            integrity = false;
            report.raisons.push(t("marches.xades.signed_info"));
        }
        // The signed properties: the one SignedProperties a reference names.
        let referenced: Vec<&Properties> = sig
            .properties
            .iter()
            .filter(|p| {
                p.id.as_deref().is_some_and(|id| {
                    sig.references
                        .iter()
                        .any(|r| r.uri.as_deref().and_then(|u| u.strip_prefix('#')) == Some(id))
                })
            })
            .collect();
        let props = match referenced.as_slice() {
            [one] => Some(*one),
            [] => {
                report.raisons.push(t("marches.xades.sans_proprietes"));
                None
            }
            _ => {
                report.raisons.push(t("marches.xades.proprietes_en_double"));
                None
            }
        };
        let mut covers_data = 0usize;
        for r in &sig.references {
            let uri_text = r.uri.clone().unwrap_or_default();
            let Some(md) = digest_algorithm(&r.digest_method) else {
                integrity = false;
                report.raisons.push(tf(
                    "marches.xades.algorithme_empreinte",
                    &[("algorithme", r.digest_method.trim()), ("uri", &uri_text)],
                ));
                continue;
            };
            let is_props = props.is_some_and(|p| {
                p.id.as_deref().is_some()
                    && r.uri.as_deref().and_then(|u| u.strip_prefix('#')) == p.id.as_deref()
            });
            if !is_props {
                covers_data += 1;
            }
            let computed = if is_external(r) {
                self.external_digest(r, md, document, explicit, base)
            } else {
                self.internal_digest(r, md)
            };
            let computed = match computed {
                Ok(c) => c,
                Err(reason) => {
                    integrity = false;
                    report.raisons.push(reason);
                    continue;
                }
            };
            match crate::pes::decode_base64(&r.digest_value) {
                Some(expected) if expected == computed => {}
                _ if is_external(r) => {
                    integrity = false;
                    report.raisons.push(t("marches.verif.empreinte"));
                }
                _ => {
                    integrity = false;
                    report.raisons.push(tf(
                        "marches.xades.empreinte_reference",
                        &[("uri", &uri_text)],
                    ));
                }
            }
        }
        if covers_data == 0 {
            integrity = false;
            report.raisons.push(t("marches.xades.sans_reference"));
        }
        // The signature value over the canonical SignedInfo, with the first certificate.
        let cert_der = sig
            .certificates
            .first()
            .and_then(|c| crate::pes::decode_base64(c));
        let cert = cert_der.as_deref().and_then(|d| X509::from_der(d).ok());
        let info = cert_der
            .as_deref()
            .and_then(|d| CertificateInfo::from_der(d).ok());
        if let Some(info) = &info {
            report.signataire = Some(info.display_name().to_owned());
            report.emetteur = Some(info.issuer.clone());
            report.qualifie = Some(info.is_qualified());
        }
        match (&cert, sig.signature_method.as_deref()) {
            (None, _) => {
                integrity = false;
                report.raisons.push(t("marches.xades.sans_certificat"));
            }
            (Some(cert), Some(method)) => match signature_algorithm(method) {
                None => {
                    integrity = false;
                    report.raisons.push(tf(
                        "marches.xades.algorithme_signature",
                        &[("algorithme", method.trim())],
                    ));
                }
                Some(alg) => match self.signature_value_ok(sig, cert, alg) {
                    Ok(true) => {}
                    Ok(false) => {
                        integrity = false;
                        report.raisons.push(t("marches.verif.valeur_signature"));
                    }
                    Err(reason) => {
                        integrity = false;
                        report.raisons.push(reason);
                    }
                },
            },
            (Some(_), None) => {
                integrity = false;
                report.raisons.push(tf(
                    "marches.xades.algorithme_signature",
                    &[("algorithme", "")],
                ));
            }
        }
        // The certificate named in the signed properties is the one that signed.
        let mut acceptable = integrity && props.is_some();
        if let (Some(props), Some(cert)) = (props, &cert) {
            if let (Some(target), Some(id)) = (&props.target, &sig.id)
                && target.strip_prefix('#') != Some(id.as_str())
            {
                acceptable = false;
                report.raisons.push(tf(
                    "marches.xades.proprietes_autre_signature",
                    &[("cible", target)],
                ));
            }
            if props.cert_digests.is_empty() {
                acceptable = false;
                report
                    .raisons
                    .push(t("marches.xades.sans_signing_certificate"));
            } else {
                let mut unknown = Vec::new();
                let mut matched = false;
                for (alg, value) in &props.cert_digests {
                    match digest_algorithm(alg) {
                        None => unknown.push(alg.trim().to_owned()),
                        Some(md) => {
                            matched |= cert
                                .digest(md)
                                .ok()
                                .zip(crate::pes::decode_base64(value))
                                .is_some_and(|(d, v)| d.as_ref() == v.as_slice());
                        }
                    }
                }
                if !matched {
                    acceptable = false;
                    if unknown.len() == props.cert_digests.len() {
                        report.raisons.push(tf(
                            "marches.xades.algorithme_certificat",
                            &[("algorithme", &unknown.join(", "))],
                        ));
                    } else {
                        report.raisons.push(t("marches.xades.cert_digest"));
                    }
                }
            }
        }
        report.integrite = integrity;
        // The time: the signer's claim in the signed properties.
        let claimed = props.and_then(|p| p.signing_time.as_deref()).and_then(|s| {
            OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
        });
        report.date_signature = claimed.map(iso8601);
        let (proven, timestamps_ok) = self.signature_timestamps(sig, file, &mut report, trust);
        if let (Some(cert), Some(info)) = (&cert, &info) {
            let extra: Vec<X509> = sig
                .certificates
                .iter()
                .skip(1)
                .filter_map(|c| crate::pes::decode_base64(c))
                .filter_map(|der| X509::from_der(&der).ok())
                .collect();
            judge_certificate(
                &mut report,
                cert,
                info,
                &extra,
                proven,
                claimed,
                &t("marches.xades.source_signing_time"),
                trust,
            );
        }
        report.valide =
            acceptable && timestamps_ok && report.certificat_valide && report.chaine == Some(true);
        report
    }

    /// Check the signature timestamps (XAdES-T) over the canonical `ds:SignatureValue`; the
    /// time of the first that verifies from a trusted authority, and whether all verify.
    fn signature_timestamps(
        &self,
        sig: &Signature,
        file: &Path,
        report: &mut SignatureReport,
        trust: Option<&TrustStore>,
    ) -> (Option<OffsetDateTime>, bool) {
        let mut proven = None;
        let mut all_ok = true;
        for (algorithm, token) in &sig.timestamps {
            let checked = (|| -> Result<crate::marches::verify::SignerVerdict, String> {
                let mode = match algorithm.as_deref() {
                    None => C14nMode::Inclusive {
                        with_comments: false,
                    },
                    Some(a) => C14nMode::from_algorithm(a.trim(), &[]).ok_or_else(|| {
                        tf(
                            "marches.xades.canonicalisation",
                            &[("algorithme", a.trim())],
                        )
                    })?,
                };
                let at = sig
                    .signature_value_at
                    .ok_or_else(|| t("marches.xades.sans_valeur"))?;
                let covered = self
                    .canonical(at, &mode, false, Vec::new())
                    .map_err(|e| e.to_string())?;
                let token = crate::pes::decode_base64(token)
                    .ok_or_else(|| t("marches.xades.jeton_illisible"))?;
                crate::marches::verify::verify_token(
                    &token,
                    &crate::marches::verify::Signed::Bytes(&covered),
                    file,
                    file,
                    trust,
                )
                .map_err(|e| e.to_string())
            })();
            match checked {
                Ok(ts) if ts.report.integrite => {
                    if report.horodatage.is_none() {
                        report.horodatage = ts.gen_time.map(iso8601);
                    }
                    // Only a timestamp of a trusted authority proves the time.
                    if proven.is_none() && ts.report.chaine == Some(true) {
                        proven = ts.gen_time;
                    }
                    if ts.report.chaine == Some(false) {
                        report
                            .raisons
                            .push(t("marches.verif.horodatage_non_fiable"));
                    }
                }
                Ok(ts) => {
                    all_ok = false;
                    report.raisons.push(tf(
                        "marches.verif.horodatage_invalide",
                        &[("detail", &ts.report.raisons.join(" ; "))],
                    ))
                }
                Err(e) => {
                    all_ok = false;
                    report
                        .raisons
                        .push(tf("marches.verif.horodatage_invalide", &[("detail", &e)]))
                }
            }
        }
        (proven, all_ok)
    }

    /// Check the signature value over the canonical SignedInfo, streamed into the verifier.
    fn signature_value_ok(
        &self,
        sig: &Signature,
        cert: &X509,
        (md, ecdsa, pss): (MessageDigest, bool, bool),
    ) -> Result<bool, String> {
        let (algorithm, prefixes) = sig.c14n.clone().unwrap_or_default();
        let Some(mode) = C14nMode::from_algorithm(algorithm.trim(), &prefixes) else {
            return Err(tf(
                "marches.xades.canonicalisation",
                &[("algorithme", algorithm.trim())],
            ));
        };
        let at = sig
            .signed_info_at
            .ok_or_else(|| t("marches.xades.signed_info"))?;
        let Some(mut value) = crate::pes::decode_base64(&sig.signature_value) else {
            return Ok(false);
        };
        if ecdsa {
            match crate::keys::digest::ecdsa_raw_to_der(&value) {
                Some(der) => value = der,
                None => return Ok(false),
            }
        }
        let key = cert.public_key().map_err(|e| e.to_string())?;
        let mut verifier = openssl::sign::Verifier::new(md, &key).map_err(|e| e.to_string())?;
        if pss {
            verifier
                .set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS)
                .map_err(|e| e.to_string())?;
            verifier
                .set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
                .map_err(|e| e.to_string())?;
        }
        let verifier = self
            .canonical(at, &mode, false, verifier)
            .map_err(|e| tf("marches.xades.illisible", &[("detail", &e.to_string())]))?;
        Ok(verifier.verify(&value).unwrap_or(false))
    }
}
