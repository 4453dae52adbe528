//! Verifying PES signatures: Paraphe's integrity verdict agrees with xmlsec1 on the real
//! LiberSign-made samples and on tampered files; certificates and policy are judged too.

mod common;

use common::pes::xmlsec_integrity;
use common::*;
use paraphe::certs::trust::TrustStore;
use paraphe::pes::sign::Scope;
use paraphe::pes::verify::verify_file;
use std::path::{Path, PathBuf};

fn samples() -> Option<PathBuf> {
    conformance("pes/samples")
}

fn trust() -> TrustStore {
    TrustStore::load(&TestPki::shared().ca_bundle_pem()).expect("trust store")
}

fn sign(input: &Path, output: &Path, identity: &str) {
    common::forgeries::sign_with_p12(input, output, identity, Scope::Bordereaux);
}

#[test]
fn integrity_verdicts_agree_with_xmlsec1_on_the_signed_samples() {
    let Some(dir) = samples() else { return };
    if !tools(&["xmlsec1"]) {
        return;
    }
    let mut compared = 0;
    for name in [
        "signature_bordereau2.xml",
        "signature_bordereau_double.xml",
        "signature_bordereau.xml",
        "plusieurs_signatures.xml",
    ] {
        let file = dir.join(name);
        let verdict = verify_file(&file, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!verdict.signatures.is_empty(), "{name}");
        for s in &verdict.signatures {
            let id = s.id.clone().expect("signature id");
            assert_eq!(
                s.integrite,
                xmlsec_integrity(&file, &id),
                "{name} {id}: {:?}",
                s.raison
            );
            // Without a trust store, nothing is declared valid.
            assert!(!s.valide);
            compared += 1;
        }
    }
    assert!(compared >= 7, "{compared}");
    // The LiberSign-made ones are intact.
    let verdict = verify_file(&dir.join("signature_bordereau2.xml"), None).expect("verify");
    assert!(verdict.signatures.iter().all(|s| s.integrite));
    assert_eq!(
        verdict.signatures[0].politique.as_deref(),
        Some("urn:oid:1.2.250.1.131.1.5.18.21.1.7")
    );
}

#[test]
fn own_signatures_are_valid_and_tampering_is_caught_like_xmlsec1() {
    let Some(dir) = samples() else { return };
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let signed = tmp.path().join("signed.xml");
    sign(&dir.join("pes_aller_ok.xml"), &signed, "signature");
    let verdict = verify_file(&signed, Some(&trust())).expect("verify");
    assert!(verdict.valide, "{:?}", verdict.signatures);
    assert_eq!(
        verdict.signatures[0].cible.as_deref(),
        Some("BORD1093357910")
    );
    assert_eq!(verdict.signatures[0].role.as_deref(), Some("Maire"));

    let original = std::fs::read(&signed).expect("read");
    let tamper = |from: &[u8], to: &[u8]| -> PathBuf {
        let pos = original
            .windows(from.len())
            .position(|w| w == from)
            .expect("pattern");
        let mut bytes = original.clone();
        bytes.splice(pos..pos + from.len(), to.iter().copied());
        let path = tmp.path().join(format!(
            "tampered-{}.xml",
            String::from_utf8_lossy(to).replace(['<', '>', '/', ' ', '"', '='], "")
        ));
        std::fs::write(&path, bytes).expect("write");
        path
    };
    for (from, to) in [
        (b"V=\"39724.75\"".as_slice(), b"V=\"99724.75\"".as_slice()), // an amount in the bordereau
        (b"<xad:City>Arles</xad:City>", b"<xad:City>Nimes</xad:City>"), // a signed property
    ] {
        let path = tamper(from, to);
        let verdict = verify_file(&path, Some(&trust())).expect("verify");
        let s = &verdict.signatures[0];
        assert!(
            !s.integrite && !s.valide && !verdict.valide,
            "{}",
            String::from_utf8_lossy(to)
        );
        assert!(
            !xmlsec_integrity(&path, "BORD1093357910_SIG_1"),
            "xmlsec1 must reject it too"
        );
        assert!(!s.raison.is_empty());
    }
    // One bit of the signature value flipped.
    let marker = b"_SIG_1_SV\">";
    let pos = original
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("value")
        + marker.len();
    let mut bytes = original.clone();
    bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
    let path = tmp.path().join("tampered-value.xml");
    std::fs::write(&path, bytes).expect("write");
    let verdict = verify_file(&path, Some(&trust())).expect("verify");
    assert!(!verdict.signatures[0].integrite);
    assert!(!xmlsec_integrity(&path, "BORD1093357910_SIG_1"));
    // Whitespace outside the signed bordereau does not matter to anyone.
    let path = tamper(b"</n:PES_Aller>", b"</n:PES_Aller>\n\n");
    assert!(verify_file(&path, Some(&trust())).expect("verify").valide);
}

#[test]
fn certificates_are_judged_at_signing_time_against_the_trust_store() {
    let Some(dir) = samples() else { return };
    if !tools(&["openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    // An expired certificate: integrity fine, signature not acceptable.
    let signed = tmp.path().join("expired.xml");
    sign(&dir.join("pes_aller_ok.xml"), &signed, "expire");
    let verdict = verify_file(&signed, Some(&trust())).expect("verify");
    let s = &verdict.signatures[0];
    assert!(s.integrite && !s.valide, "{s:?}");
    assert!(
        s.raison.iter().any(|r| r.contains("date de signature")),
        "{:?}",
        s.raison
    );
    // A trust store of another PKI does not vouch for ours.
    let other = TestPki::generate(&tmp.path().join("autre-pki")).expect("other pki");
    let foreign = TrustStore::load(&other.ca_bundle_pem()).expect("store");
    let good = tmp.path().join("good.xml");
    sign(&dir.join("pes_aller_ok.xml"), &good, "signature");
    let verdict = verify_file(&good, Some(&foreign)).expect("verify");
    assert!(verdict.signatures[0].integrite && !verdict.valide);
    // An empty or missing trust store is a clear error.
    let empty = tmp.path().join("vide.pem");
    std::fs::write(&empty, b"").expect("write");
    let err = TrustStore::load(&empty).err().expect("empty");
    assert!(err.to_string().contains("magasin de confiance"), "{err}");
}

#[test]
fn unsigned_and_hostile_files() {
    let Some(dir) = samples() else { return };
    let verdict = verify_file(&dir.join("pes_aller_ok.xml"), None).expect("unsigned");
    assert!(verdict.signatures.is_empty() && !verdict.valide);
    let tmp = tempfile::tempdir().expect("tmp");
    let hostile = tmp.path().join("doctype.xml");
    std::fs::write(
        &hostile,
        b"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY b \"c\">]><a>&b;</a>",
    )
    .expect("write");
    let err = verify_file(&hostile, None).expect_err("doctype");
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
    let truncated = tmp.path().join("tronque.xml");
    let bytes = std::fs::read(dir.join("signature_bordereau2.xml")).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    assert!(verify_file(&truncated, None).is_err());
}

/// The verifier stops reading once every signature is verified and no digest is under way (the
/// PES_PJ after the bordereaux is covered by none): the verdict is the same as reading it all, a
/// signature hidden further on is still found, and a file cut short is still refused.
#[test]
fn the_rest_of_the_file_is_skipped_only_when_nothing_in_it_matters() {
    use common::pes::{HEAD, bordereau, latin1};
    let tmp = tempfile::tempdir().expect("tmp");
    let mut xml = HEAD.to_owned();
    xml.push_str(&bordereau("B1", 1, &["10.00"]));
    xml.push_str(&bordereau("B2", 2, &["1.50", "2.50"]));
    xml.push_str("</PES_DepenseAller><PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ>");
    for i in 0..50 {
        xml.push_str(&format!(
            "<PJ><Contenu><Fichier MIMEType=\"application/pdf\">{}</Fichier></Contenu><IdUnique V=\"PJ{i}\"/><NomPJ V=\"pj{i}.pdf\"/></PJ>",
            "QUJD".repeat(2000)
        ));
    }
    xml.push_str("</PES_PJ></n:PES_Aller>\n");
    let plain = tmp.path().join("pes.xml");
    std::fs::write(&plain, latin1(&xml)).expect("write");
    let signed = tmp.path().join("pes-signe.xml");
    sign(&plain, &signed, "signature");
    let trust = trust();
    let verdict = verify_file(&signed, Some(&trust)).expect("verify");
    assert!(verdict.valide, "{verdict:?}");
    assert_eq!(verdict.signatures.len(), 2);
    // Read without the prescan (no early stop): the same verdicts.
    let whole = paraphe::pes::verify::verify_reader(
        std::io::BufReader::new(std::fs::File::open(&signed).expect("open")),
        Some(&trust),
        None,
    )
    .expect("verify whole");
    let summary = |v: &paraphe::pes::verify::FileVerdict| -> Vec<(Option<String>, bool)> {
        v.signatures
            .iter()
            .map(|s| (s.cible.clone(), s.valide))
            .collect()
    };
    assert_eq!(summary(&verdict), summary(&whole));

    let bytes = std::fs::read(&signed).expect("read");
    // A signature inside a PJ, after the bordereaux: found and judged (its PJ is no target).
    let start = bytes
        .windows(13)
        .position(|w| w == b"<ds:Signature")
        .expect("a signature");
    let end = bytes
        .windows(15)
        .position(|w| w == b"</ds:Signature>")
        .expect("its end")
        + 15;
    let at = bytes
        .windows(10)
        .rposition(|w| w == b"</Contenu>")
        .expect("last PJ content")
        + 10;
    let mut hidden = bytes[..at].to_vec();
    hidden.extend_from_slice(&bytes[start..end]);
    hidden.extend_from_slice(&bytes[at..]);
    let hidden_path = tmp.path().join("signature-cachee.xml");
    std::fs::write(&hidden_path, &hidden).expect("write");
    let verdict = verify_file(&hidden_path, Some(&trust)).expect("verify");
    assert_eq!(verdict.signatures.len(), 3, "{verdict:?}");
    assert!(
        !verdict.valide,
        "a signature in a PJ is not a valid Hélios signature"
    );
    // An element with a bordereau's Id inside the last PJ, after every signature: the verifier
    // cannot stop early, finds the Id used twice and refuses the file.
    let mut twice = bytes[..at].to_vec();
    twice.extend_from_slice(b"<Note Id=\"B1\"/>");
    twice.extend_from_slice(&bytes[at..]);
    let twice_path = tmp.path().join("id-double-dans-une-pj.xml");
    std::fs::write(&twice_path, &twice).expect("write");
    let verdict = verify_file(&twice_path, Some(&trust)).expect("verify");
    assert!(!verdict.valide, "{verdict:?}");
    assert_eq!(verdict.identifiants_en_double, ["B1"]);
    assert!(verdict.signatures.iter().all(|s| s.valide));
    // Cut inside the PJ: refused, not declared valid.
    let cut = tmp.path().join("coupe.xml");
    std::fs::write(&cut, &bytes[..bytes.len() - 5000]).expect("write");
    assert!(verify_file(&cut, Some(&trust)).is_err());
}

/// The signed elements are hashed on a thread of their own: an error it finds (here a namespace
/// whose URI is relative, which canonicalisation refuses) still ends the verification with the
/// line where it is, and no verdict.
#[test]
fn an_error_found_while_hashing_a_bordereau_is_reported_where_it_is() {
    use common::pes::{HEAD, bordereau, latin1};
    let tmp = tempfile::tempdir().expect("tmp");
    let mut xml = HEAD.to_owned();
    for i in 1..=3 {
        xml.push_str(&bordereau(&format!("B{i}"), 1, &["10.00"]));
        xml.push('\n');
    }
    xml.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let plain = tmp.path().join("pes.xml");
    std::fs::write(&plain, latin1(&xml)).expect("write");
    let signed = tmp.path().join("pes-signe.xml");
    sign(&plain, &signed, "signature");
    let trust = trust();
    assert!(verify_file(&signed, Some(&trust)).expect("verify").valide);

    let bytes = std::fs::read(&signed).expect("read");
    let anchor = b"<Bordereau Id=\"B2\">";
    let at = bytes
        .windows(anchor.len())
        .position(|w| w == anchor)
        .expect("B2")
        + anchor.len();
    let mut broken = bytes[..at].to_vec();
    broken.extend_from_slice(b"\n<Note xmlns:r=\"pas/absolue\"/>");
    broken.extend_from_slice(&bytes[at..]);
    let line = broken[..at].iter().filter(|&&b| b == b'\n').count() + 2;
    let path = tmp.path().join("relatif.xml");
    std::fs::write(&path, &broken).expect("write");
    let err = verify_file(&path, Some(&trust)).expect_err("relative namespace");
    let message = err.to_string();
    assert!(message.contains("pas/absolue"), "{message}");
    assert!(message.contains(&format!("ligne {line},")), "{message}");
}

/// The policy hash is compared as bytes with the known policy document's hash in the algorithm
/// the signature names, and each fault is named: unknown policy, digest algorithm, value,
/// encoding; a hash without its base64 padding is accepted with a warning.
#[test]
fn the_policy_hash_is_checked_as_bytes_in_the_algorithm_named() {
    use paraphe::pes::verify::{PolicyProblem, check_policy};
    const P14: &str = "urn:oid:1.2.250.1.131.1.5.18.21.1.4";
    const P17: &str = "urn:oid:1.2.250.1.131.1.5.18.21.1.7";
    const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";
    // The policy v1 document (…1.4) shipped in the conformance folder: its SHA-1 is the
    // published one, its SHA-256 is accepted too (S²LOW's server template names SHA-256).
    if let Some(policy) = conformance("pes/policy") {
        let pdf = std::fs::read(policy.join("1.2.250.1.131.1.5.18.21.1.4.pdf")).expect("pdf");
        let b64 = |md| openssl::base64::encode_block(&openssl::hash::hash(md, &pdf).expect("h"));
        let sha1 = b64(openssl::hash::MessageDigest::sha1());
        assert_eq!(sha1, "Jkdb+aba0Hz6+ZPKmKNhPByzQ+Q=");
        assert_eq!(check_policy(P14, SHA1, &sha1), Ok(false));
        let sha256 = b64(openssl::hash::MessageDigest::sha256());
        assert_eq!(check_policy(P14, SHA256, &sha256), Ok(false));
        assert_eq!(
            check_policy(P14, SHA256, &format!(" {sha256}\n")),
            Ok(false)
        );
        // The SHA-1 value under the SHA-256 name, and the other way round: wrong value.
        assert_eq!(check_policy(P14, SHA256, &sha1), Err(PolicyProblem::Value));
        assert_eq!(check_policy(P14, SHA1, &sha256), Err(PolicyProblem::Value));
    }
    let p17 = "roF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E=";
    assert_eq!(check_policy(P17, SHA256, p17), Ok(false));
    // LiberSign's padding-less base64: accepted, with a warning.
    assert_eq!(
        check_policy(P17, SHA256, p17.trim_end_matches('=')),
        Ok(true)
    );
    assert_eq!(
        check_policy("urn:oid:1.2.3", SHA256, p17),
        Err(PolicyProblem::Unknown("urn:oid:1.2.3".into()))
    );
    assert_eq!(
        check_policy(P17, SHA512, p17),
        Err(PolicyProblem::Algorithm(SHA512.into()))
    );
    assert_eq!(
        check_policy(P17, SHA256, "soF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E="),
        Err(PolicyProblem::Value)
    );
    assert_eq!(
        check_policy(P17, SHA256, "pas du base64 !"),
        Err(PolicyProblem::Encoding)
    );
    let said = |p: PolicyProblem| p.message();
    assert!(said(PolicyProblem::Unknown("x".into())).contains("inconnue"));
    assert!(said(PolicyProblem::Algorithm(SHA512.into())).contains("algorithme d'empreinte"));
    assert!(said(PolicyProblem::Value).contains("valeur de l'empreinte"));
    assert!(said(PolicyProblem::Encoding).contains("encodage"));
}

/// On the real files: the S²LOW-made global signature (…1.4, SHA-1) and the LiberSign one
/// (…1.7, SHA-256) pass the policy check; the LiberSign policy hash without its padding is a
/// warning, not a reason; under SHA-256 with the policy document's SHA-256, the S²LOW one still
/// passes, and every other change is named.
#[test]
fn the_policy_verdicts_on_the_real_signed_samples() {
    let Some(dir) = samples() else { return };
    let policy_reason = |s: &paraphe::pes::verify::SignatureVerdict| {
        s.raison
            .iter()
            .filter(|r| r.contains("olitique"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let s2low = dir.join("s2low-more/HELIOS_SIMU_ALR2_1445334258_694103934.xml");
    let verdict = verify_file(&s2low, None).expect("s2low");
    assert_eq!(verdict.signatures.len(), 1);
    assert!(
        verdict.signatures[0].integrite,
        "{:?}",
        verdict.signatures[0].raison
    );
    assert!(policy_reason(&verdict.signatures[0]).is_empty());
    let libersign = dir.join("signature_bordereau2.xml");
    let verdict = verify_file(&libersign, None).expect("libersign");
    assert!(
        verdict
            .signatures
            .iter()
            .all(|s| policy_reason(s).is_empty())
    );
    assert!(
        verdict
            .signatures
            .iter()
            .all(|s| s.avertissements.is_empty())
    );

    // Edited copies: the SignedProperties no longer match (integrity is lost), but the policy
    // verdict is the one of the value written.
    let tmp = tempfile::tempdir().expect("tmp");
    let n = std::cell::Cell::new(0);
    let edit = |from: &Path, what: &str, by: &str| {
        n.set(n.get() + 1);
        let bytes = std::fs::read(from).expect("read");
        let text = common::forgeries::as_text(&bytes);
        assert!(text.contains(what), "{what}");
        let out = tmp.path().join(format!("modifie-{}.xml", n.get()));
        std::fs::write(&out, common::pes::latin1(&text.replacen(what, by, 1))).expect("write");
        verify_file(&out, None).expect("verify")
    };
    let padded = "roF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E=<";
    let v = edit(
        &libersign,
        padded,
        "roF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E<",
    );
    assert!(
        policy_reason(&v.signatures[0]).is_empty(),
        "{:?}",
        v.signatures[0].raison
    );
    assert!(
        v.signatures[0]
            .avertissements
            .iter()
            .any(|w| w.contains("remplissage")),
        "{:?}",
        v.signatures[0].avertissements
    );
    let sha1 = "<xad:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>\n                                <xad:DigestValue>Jkdb+aba0Hz6+ZPKmKNhPByzQ+Q=<";
    let sha256 = "<xad:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\n                                <xad:DigestValue>pYtFgzn09kQWZywqdIGVd1fFI07tjKmEAyQHr0l/YAk=<";
    let v = edit(&s2low, sha1, sha256);
    assert!(
        policy_reason(&v.signatures[0]).is_empty(),
        "{:?}",
        v.signatures[0].raison
    );
    let v = edit(&s2low, sha1, &sha256.replace("pYtF", "pYtG"));
    let r = policy_reason(&v.signatures[0]);
    assert!(
        r.len() == 1 && r[0].contains("valeur de l'empreinte"),
        "{r:?}"
    );
    let v = edit(
        &s2low,
        sha1,
        &sha1.replace("xmldsig#sha1", "xmldsig-more#md5"),
    );
    let r = policy_reason(&v.signatures[0]);
    assert!(
        r.len() == 1 && r[0].contains("algorithme d'empreinte"),
        "{r:?}"
    );
    let v = edit(&s2low, "5.18.21.1.4<", "5.18.21.1.9<");
    let r = policy_reason(&v.signatures[0]);
    assert!(r.len() == 1 && r[0].contains("inconnue"), "{r:?}");
    let v = edit(
        &s2low,
        "Jkdb+aba0Hz6+ZPKmKNhPByzQ+Q=<",
        "Jkdb+aba0Hz6*ZPKmKNhPByzQ+Q=<",
    );
    let r = policy_reason(&v.signatures[0]);
    assert!(r.len() == 1 && r[0].contains("encodage"), "{r:?}");
}

/// An unsigned file is not valid, and the JSON says why as the text does.
#[test]
fn an_unsigned_file_says_why_it_is_not_valid() {
    let Some(dir) = samples() else { return };
    let file = dir.join("pes_aller_ok.xml");
    let verdict = verify_file(&file, None).expect("unsigned");
    assert!(!verdict.valide);
    assert!(
        verdict
            .erreurs
            .iter()
            .any(|e| e.contains("aucune signature")),
        "{:?}",
        verdict.erreurs
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["pes", "verifier", "--json"])
        .arg(&file)
        .env("PARAPHE_CONFIG", tmp.path().join("absent.toml"))
        .env("PARAPHE_DONNEES", tmp.path())
        .output()
        .expect("paraphe");
    assert_eq!(run.status.code(), Some(1), "{}", show(&run));
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(json["valide"], false);
    assert!(
        json["erreurs"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.contains("aucune signature")))),
        "{json}"
    );
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["pes", "verifier"])
        .arg(&file)
        .env("PARAPHE_CONFIG", tmp.path().join("absent.toml"))
        .env("PARAPHE_DONNEES", tmp.path())
        .output()
        .expect("paraphe");
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(text.matches("aucune signature").count(), 1, "{text}");
}

/// A PDF, an ACTES message, a PES_Retour or a PES_Acquit is said not to be a PES_Aller, by the
/// verifier and by the reader behind `pes inspecter`.
#[test]
fn other_documents_are_said_not_to_be_a_pes_aller() {
    let Some(pes) = samples() else { return };
    let Some(actes) = conformance("actes/samples") else {
        return;
    };
    let Some(marches) = conformance("marches/samples") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let pdf = tmp.path().join("sans-octet-nul.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj << /Length 5 >> stream\n</Length\nendstream\n",
    )
    .expect("w");
    let cases = [
        (
            marches.join("parapheur-v5/PDF_avec_tags/PDF_avec_tags.pdf"),
            "PDF",
        ),
        (pdf, "PDF"),
        (
            actes.join("pastell-megalis/test/PHPUnit/module/actes-generique/fixtures/aractes.xml"),
            "message ACTES",
        ),
        (pes.join("s2low-more/PES_Exemple_Retour.xml"), "PES_Retour"),
        (pes.join("pes_acquit.xml"), "PES_Acquit"),
    ];
    for (file, nature) in cases {
        let err = verify_file(&file, None)
            .expect_err("not a PES_Aller")
            .to_string();
        assert!(
            err.contains("n'est pas un PES_Aller") && err.contains(nature),
            "{}: {err}",
            file.display()
        );
        let err = paraphe::pes::inspect_file(&file)
            .expect_err("not a PES_Aller")
            .to_string();
        assert!(
            err.contains("n'est pas un PES_Aller") && err.contains(nature),
            "{}: {err}",
            file.display()
        );
    }
    // A PES_Aller is still one, whatever comes before its root.
    let ok = pes.join("pes_aller_ok.xml");
    assert!(paraphe::pes::inspect_file(&ok).is_ok());
}
