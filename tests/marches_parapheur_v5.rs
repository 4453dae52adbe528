//! Signatures made by i-Parapheur v5 (the DSS library), as `paraphe marches verifier` must judge
//! them: the real samples of `../shared/conformance/marches/samples/parapheur-v5` (a detached
//! XAdES whose reference has no URI and whose certificate digest is SHA-512 in
//! SigningCertificateV2, a detached CAdES in PEM armour not named after its document, a PAdES
//! without signingTime), forgeries of them, and samples of the same forms made here with test keys
//! (python3 lxml + openssl for the XAdES, pyHanko for the PAdES, `openssl cms -stream` for BER).

mod common;

use common::pdf::{make_pdf, pyhanko};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SAMPLES: &str = "marches/samples/parapheur-v5/PDF_avec_tags";
const SIGNER: &str = "Christian Noir - Recette i-parapheur";

/// `paraphe marches verifier --json FILE [--document DOC] [--confiance TRUST]`.
fn verifier(
    file: &Path,
    document: Option<&Path>,
    trust: Option<&Path>,
) -> (Output, serde_json::Value) {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    command
        .args(["marches", "verifier", "--json"])
        .arg(file)
        .env("PARAPHE_CONFIG", tmp.path().join("absent.toml"))
        .env("PARAPHE_DONNEES", tmp.path().join("donnees"));
    if let Some(document) = document {
        command.arg("--document").arg(document);
    }
    if let Some(trust) = trust {
        command.arg("--confiance").arg(trust);
    }
    let out = command.output().expect("paraphe");
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&out)));
    (out, json)
}

fn reasons(signature: &serde_json::Value) -> String {
    signature["raisons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

/// The samples and the Libriciel test authorities; None (skipped loudly, or a CI failure) when
/// the conformance folder is missing.
fn samples() -> Option<(PathBuf, PathBuf)> {
    let dir = conformance(SAMPLES)?;
    let trust = conformance("marches/trust")?.join("libriciel-test-ca.pem");
    Some((dir, trust))
}

/// The one signature of a report, checked to be the only one.
fn only(json: &serde_json::Value) -> &serde_json::Value {
    let list = json["signatures"].as_array().expect("signatures");
    assert_eq!(list.len(), 1, "{json}");
    &list[0]
}

#[test]
fn the_real_parapheur_signatures_are_valid() {
    let Some((dir, trust)) = samples() else {
        return;
    };
    let pdf = dir.join("PDF_avec_tags.pdf");

    // Detached XAdES, reference without URI: its document is found beside it by its digest.
    let (out, json) = verifier(&dir.join("signature_xades.xml"), None, Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "XAdES détachée");
    assert_eq!(s["signataire"], SIGNER);
    assert_eq!(s["document"], pdf.to_string_lossy().as_ref());
    assert_eq!(s["integrite"], true, "{}", reasons(s));
    assert_eq!(s["chaine"], true, "{}", reasons(s));
    assert_eq!(s["valide"], true, "{}", reasons(s));
    assert_eq!(s["date_signature"], "2022-02-15T08:44:52Z");

    // The same, its document given.
    let (out, json) = verifier(&dir.join("signature_xades.xml"), Some(&pdf), Some(&trust));
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(only(&json)["valide"], true);

    // Detached CAdES in PEM armour, not named after its document.
    let (out, json) = verifier(&dir.join("signature_cades.p7s"), None, Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "CAdES détachée");
    assert_eq!(s["signataire"], SIGNER);
    assert_eq!(s["document"], pdf.to_string_lossy().as_ref());
    assert_eq!(s["valide"], true, "{}", reasons(s));

    // PAdES without signingTime: the /M date, declared, and the certificate (expired on
    // 14/02/2025) judged at that date, not today.
    let (out, json) = verifier(
        &dir.join("PDF_avec_tags-signature_pades.pdf"),
        None,
        Some(&trust),
    );
    let s = only(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "PAdES");
    assert_eq!(s["signataire"], SIGNER);
    assert_eq!(s["date_signature"], "2022-02-15T08:56:24Z");
    assert_eq!(s["date_declaree"], true);
    assert_eq!(s["certificat_valide"], true, "{}", reasons(s));
    assert_eq!(s["chaine"], true, "{}", reasons(s));
    assert_eq!(s["valide"], true, "{}", reasons(s));
    assert!(!reasons(s).contains("expiré"), "{}", reasons(s));
    let remarks = s["remarques"].to_string();
    assert!(
        remarks.contains("déclarée par le signataire") && remarks.contains("/M"),
        "{remarks}"
    );

    // The document: both detached signatures beside it are found.
    let (out, json) = verifier(&pdf, None, Some(&trust));
    assert_eq!(out.status.code(), Some(0), "{json}");
    let formats: Vec<&str> = json["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .filter_map(|s| s["format"].as_str())
        .collect();
    assert_eq!(formats, ["CAdES détachée", "XAdES détachée"], "{json}");

    // Without the PAdES date fix, the text output would blame the signing date.
    let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["marches", "verifier"])
        .arg(dir.join("PDF_avec_tags-signature_pades.pdf"))
        .arg("--confiance")
        .arg(&trust)
        .env("PARAPHE_CONFIG", dir.join("absent.toml"))
        .output()
        .expect("paraphe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text.contains("déclarée par le signataire"), "{text}");
    assert!(!text.contains("expiré"), "{text}");
}

/// The samples copied as i-Parapheur names them beside a document `offre.pdf`.
fn named_as_parapheur(dir: &Path, samples: &Path) -> PathBuf {
    let pdf = dir.join("offre.pdf");
    std::fs::copy(samples.join("PDF_avec_tags.pdf"), &pdf).expect("copy");
    std::fs::copy(
        samples.join("signature_cades.p7s"),
        dir.join("offre.pdf-1-Christian_Noir.p7s"),
    )
    .expect("copy");
    std::fs::copy(
        samples.join("signature_xades.xml"),
        dir.join("offre.pdf-1-Christian_Noir.xml"),
    )
    .expect("copy");
    pdf
}

#[test]
fn forgeries_of_the_real_signatures_are_refused_with_their_reason() {
    let Some((samples, trust)) = samples() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let pdf = named_as_parapheur(dir.path(), &samples);
    let xades = dir.path().join("offre.pdf-1-Christian_Noir.xml");
    let cades = dir.path().join("offre.pdf-1-Christian_Noir.p7s");

    // Named as i-Parapheur names them: found from the document, and the document from them.
    let (out, json) = verifier(&pdf, None, Some(&trust));
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(
        json["signatures"].as_array().map(Vec::len),
        Some(2),
        "{json}"
    );
    for signature in [&xades, &cades] {
        let (out, json) = verifier(signature, None, Some(&trust));
        assert_eq!(out.status.code(), Some(0), "{json}");
        assert_eq!(only(&json)["document"], pdf.to_string_lossy().as_ref());
    }

    // One byte of the PDF changed: both detached signatures say the document was modified.
    let mut bytes = std::fs::read(&pdf).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&pdf, &bytes).expect("write");
    for signature in [&xades, &cades] {
        let (out, json) = verifier(signature, None, Some(&trust));
        let s = only(&json);
        assert_eq!(out.status.code(), Some(1), "{json}");
        assert_eq!(s["integrite"], false);
        assert_eq!(s["valide"], false);
        assert!(
            reasons(s).contains("modifié depuis sa signature"),
            "{}",
            reasons(s)
        );
    }
    // Given explicitly, the same.
    let (out, json) = verifier(
        &samples.join("signature_xades.xml"),
        Some(&pdf),
        Some(&trust),
    );
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(reasons(only(&json)).contains("modifié depuis sa signature"));
    bytes[middle] ^= 0x01;
    std::fs::write(&pdf, &bytes).expect("write");

    let original = std::fs::read_to_string(samples.join("signature_xades.xml")).expect("read");

    // The SHA-512 certificate digest of SigningCertificateV2 altered.
    let digest = "LSZ1SW0gUp6uyPqAFqa8gfu9RIYkUZkUd";
    assert!(original.contains(digest));
    let altered = original.replace(digest, "MSZ1SW0gUp6uyPqAFqa8gfu9RIYkUZkUd");
    let altered_path = dir.path().join("certificat-altere.xml");
    std::fs::write(&altered_path, altered).expect("write");
    let (out, json) = verifier(&altered_path, Some(&pdf), Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(s["valide"], false);
    assert!(
        reasons(s).contains("L'empreinte du certificat désigné"),
        "{}",
        reasons(s)
    );

    // An unsupported digest algorithm for the document: said as such, never as a mismatch.
    let unknown = original.replacen(
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2001/04/xmldsig-more#md5",
        1,
    );
    let unknown_path = dir.path().join("algorithme-inconnu.xml");
    std::fs::write(&unknown_path, unknown).expect("write");
    let (out, json) = verifier(&unknown_path, Some(&pdf), Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(s["integrite"], false);
    let r = reasons(s);
    assert!(
        r.contains(
            "Algorithme d'empreinte non pris en charge (http://www.w3.org/2001/04/xmldsig-more#md5)"
        ),
        "{r}"
    );
    assert!(!r.contains("modifié depuis sa signature"), "{r}");

    // The signature alone, its document nowhere: a French error naming --document, exit 2.
    let alone = tempfile::tempdir().expect("tmp");
    let lonely = alone.path().join("signature_xades.xml");
    std::fs::copy(samples.join("signature_xades.xml"), &lonely).expect("copy");
    // Only regular files are looked at: a symbolic link to the document is not followed.
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        samples.join("PDF_avec_tags.pdf"),
        alone.path().join("lien.pdf"),
    )
    .expect("symlink");
    let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["marches", "verifier"])
        .arg(&lonely)
        .env("PARAPHE_CONFIG", alone.path().join("absent.toml"))
        .output()
        .expect("paraphe");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("introuvable") && err.contains("--document"),
        "{err}"
    );
}

/// python3 with lxml, from the project's `.venv` (as pyHanko).
fn venv_python() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python3");
    tool_required(path.to_str().unwrap_or("python3")).then_some(path)
}

/// Makes a XAdES signature as DSS does, signed with openssl: `mode` is `detached` (reference
/// without URI), `uri` (reference to the file name) or `enveloping` (the document in a
/// `ds:Object`, base64 transform).
const XADES_MAKER: &str = r##"
import base64, datetime, hashlib, os, subprocess, sys
from lxml import etree
doc, cert, key, out, mode, doc_alg, cert_alg, digested_cert = sys.argv[1:9]
H = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmldsig-more#sha224": "sha224",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
    "http://www.w3.org/2007/05/xmldsig-more#sha3-256": "sha3_256",
}
def b64(data): return base64.b64encode(data).decode()
def dg(alg, data): return b64(hashlib.new(H[alg], data).digest())
DS = "http://www.w3.org/2000/09/xmldsig#"
XA = "http://uri.etsi.org/01903/v1.3.2#"
data = open(doc, "rb").read()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
if mode == "detached":
    ref = f'<ds:Reference Id="r-1"><ds:DigestMethod Algorithm="{doc_alg}"/><ds:DigestValue>{dg(doc_alg, data)}</ds:DigestValue></ds:Reference>'
    obj = ""
elif mode == "uri":
    ref = f'<ds:Reference Id="r-1" URI="{os.path.basename(doc)}"><ds:DigestMethod Algorithm="{doc_alg}"/><ds:DigestValue>{dg(doc_alg, data)}</ds:DigestValue></ds:Reference>'
    obj = ""
else:
    ref = f'<ds:Reference Id="r-1" URI="#o-1" Type="http://www.w3.org/2000/09/xmldsig#Object"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/></ds:Transforms><ds:DigestMethod Algorithm="{doc_alg}"/><ds:DigestValue>{dg(doc_alg, data)}</ds:DigestValue></ds:Reference>'
    obj = f'<ds:Object Id="o-1">{b64(data)}</ds:Object>'
template = f'''<ds:Signature xmlns:ds="{DS}" Id="id-1"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>{ref}<ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#xades-1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64(open(cert, "rb").read())}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{obj}<ds:Object><xades:QualifyingProperties xmlns:xades="{XA}" Target="#id-1"><xades:SignedProperties Id="xades-1"><xades:SignedSignatureProperties><xades:SigningTime>{now}</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="{cert_alg}"/><ds:DigestValue>{dg(cert_alg, open(digested_cert, "rb").read())}</ds:DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature>'''
root = etree.fromstring(template)
ns = {"ds": DS, "xades": XA}
props = root.find(".//xades:SignedProperties", ns)
canonical = etree.tostring(props, method="c14n", exclusive=True)
root.findall("ds:SignedInfo/ds:Reference", ns)[-1].find("ds:DigestValue", ns).text = b64(hashlib.sha256(canonical).digest())
signed_info = etree.tostring(root.find("ds:SignedInfo", ns), method="c14n", exclusive=True)
value = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signed_info, capture_output=True, check=True).stdout
root.find("ds:SignatureValue", ns).text = b64(value)
open(out, "wb").write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
# What a signature timestamp (XAdES-T) covers: the canonical SignatureValue.
open(out + ".sv", "wb").write(etree.tostring(root.find("ds:SignatureValue", ns), method="c14n", exclusive=True))
"##;

const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";
const SHA3: &str = "http://www.w3.org/2007/05/xmldsig-more#sha3-256";

struct XadesOptions<'a> {
    mode: &'a str,
    doc_alg: &'a str,
    cert_alg: &'a str,
    /// The certificate whose digest SigningCertificateV2 gives (the signer's, unless forged).
    digested: Option<&'a Path>,
}

fn make_xades(python: &Path, document: &Path, who: &str, out: &Path, o: &XadesOptions) {
    let id = TestPki::shared().identity(who);
    let script = out.with_extension("py");
    std::fs::write(&script, XADES_MAKER).expect("script");
    let status = Command::new(python)
        .arg(&script)
        .arg(document)
        .arg(&id.cert_der)
        .arg(&id.key_pem)
        .arg(out)
        .args([o.mode, o.doc_alg, o.cert_alg])
        .arg(o.digested.unwrap_or(&id.cert_der))
        .status()
        .expect("python3");
    assert!(status.success(), "XAdES maker");
    std::fs::remove_file(&script).expect("rm");
}

fn document(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        "Acte d'engagement — lot 3 : éclairage public.\n".repeat(3000),
    )
    .expect("write");
    path
}

#[test]
fn generated_xades_of_the_dss_forms_are_checked() {
    if !tools(&["openssl"]) {
        return;
    }
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let trust = pki.ca_bundle_pem();
    let who = "signature";
    let cn = pki.identity(who).cn.clone();
    let doc = document(dir.path(), "acte.pdf");
    // Kept out of the folder until needed: another file of the same content would be found.
    let others = tempfile::tempdir().expect("tmp");

    // Detached, no URI, SHA-512 certificate digest, i-Parapheur's name; and a document digest of
    // each supported algorithm.
    for (alg, name) in [
        (SHA256, "acte.pdf-1-Signataire.xml"),
        ("http://www.w3.org/2000/09/xmldsig#sha1", "sha1.xml"),
        (
            "http://www.w3.org/2001/04/xmldsig-more#sha224",
            "sha224.xml",
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#sha384",
            "sha384.xml",
        ),
        (SHA512, "sha512.xml"),
    ] {
        let out = dir.path().join(name);
        let options = XadesOptions {
            mode: "detached",
            doc_alg: alg,
            cert_alg: SHA512,
            digested: None,
        };
        make_xades(&python, &doc, who, &out, &options);
        let (code, json) = verifier(&out, None, Some(&trust));
        let s = only(&json);
        assert_eq!(code.status.code(), Some(0), "{alg}: {json}");
        assert_eq!(s["signataire"], cn.as_str());
        assert_eq!(s["format"], "XAdES détachée");
        assert_eq!(s["document"], doc.to_string_lossy().as_ref(), "{alg}");
        assert_eq!(s["valide"], true, "{alg}: {}", reasons(s));
        if name != "acte.pdf-1-Signataire.xml" {
            std::fs::rename(&out, others.path().join(name)).expect("move");
        }
    }

    // Found from the document, by i-Parapheur's name.
    let (out, json) = verifier(&doc, None, Some(&trust));
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(only(&json)["format"], "XAdES détachée");

    // The document changed by one byte.
    let original = std::fs::read(&doc).expect("read");
    let mut changed = original.clone();
    changed[10] ^= 0x01;
    std::fs::write(&doc, &changed).expect("write");
    let signature = dir.path().join("acte.pdf-1-Signataire.xml");
    let (out, json) = verifier(&signature, None, Some(&trust));
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(reasons(only(&json)).contains("modifié depuis sa signature"));
    std::fs::write(&doc, &original).expect("write");

    // SigningCertificateV2 naming another certificate, the whole properly signed.
    let forged = others.path().join("autre-certificat.xml");
    let other_cert = pki.identity("qualifie").cert_der.clone();
    make_xades(
        &python,
        &doc,
        who,
        &forged,
        &XadesOptions {
            mode: "detached",
            doc_alg: SHA256,
            cert_alg: SHA512,
            digested: Some(&other_cert),
        },
    );
    let (out, json) = verifier(&forged, Some(&doc), Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(s["integrite"], true, "{}", reasons(s));
    assert!(
        reasons(s).contains("L'empreinte du certificat désigné"),
        "{}",
        reasons(s)
    );

    // Algorithms not supported (SHA3), properly signed: said unsupported, not a mismatch.
    let sha3_doc = others.path().join("sha3-document.xml");
    make_xades(
        &python,
        &doc,
        who,
        &sha3_doc,
        &XadesOptions {
            mode: "detached",
            doc_alg: SHA3,
            cert_alg: SHA512,
            digested: None,
        },
    );
    let (out, json) = verifier(&sha3_doc, Some(&doc), Some(&trust));
    let r = reasons(only(&json));
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(r.contains("non pris en charge") && r.contains(SHA3), "{r}");
    assert!(
        !r.contains("modifié") && !r.contains("ne correspond"),
        "{r}"
    );
    let sha3_cert = others.path().join("sha3-certificat.xml");
    make_xades(
        &python,
        &doc,
        who,
        &sha3_cert,
        &XadesOptions {
            mode: "detached",
            doc_alg: SHA256,
            cert_alg: SHA3,
            digested: None,
        },
    );
    let (out, json) = verifier(&sha3_cert, Some(&doc), Some(&trust));
    let s = only(&json);
    let r = reasons(s);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(s["integrite"], true, "{r}");
    assert!(
        r.contains("non pris en charge") && r.contains("SigningCertificate"),
        "{r}"
    );
    assert!(!r.contains("ne correspond"), "{r}");

    // Enveloping: the document inside the signature.
    let enveloping = others.path().join("enveloppante.xml");
    make_xades(
        &python,
        &doc,
        who,
        &enveloping,
        &XadesOptions {
            mode: "enveloping",
            doc_alg: SHA256,
            cert_alg: SHA256,
            digested: None,
        },
    );
    let (out, json) = verifier(&enveloping, None, Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["format"], "XAdES enveloppante");
    assert_eq!(s["valide"], true, "{}", reasons(s));
    // Its content changed (a character of the base64 of the document).
    let text = std::fs::read_to_string(&enveloping).expect("read");
    let at = text.find("<ds:Object Id=\"o-1\">").expect("object") + 30;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&enveloping, &bytes).expect("write");
    let (out, json) = verifier(&enveloping, None, Some(&trust));
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(only(&json)["integrite"], false);
}

#[test]
fn pades_without_signing_time_uses_the_declared_date() {
    if !tools(&["openssl"]) {
        return;
    }
    let Some(pyhanko) = pyhanko() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let id = pki.identity("signature");
    let input = dir.path().join("acte.pdf");
    make_pdf(&input, 1, false);
    let signed = dir.path().join("acte-pades.pdf");
    // PAdES style: no signingTime in the CMS, the time only in the dictionary's /M.
    let status = Command::new(&pyhanko)
        .args(["sign", "addsig", "--use-pades", "--field", "Sig1"])
        .args(["pemder", "--no-pass", "--key"])
        .arg(&id.key_pem)
        .arg("--cert")
        .arg(&id.cert_pem)
        .arg("--chain")
        .arg(&id.chain_pem)
        .arg(&input)
        .arg(&signed)
        .status()
        .expect("pyhanko");
    assert!(status.success(), "pyhanko sign addsig --use-pades");
    let before = time::OffsetDateTime::now_utc();
    let (out, json) = verifier(&signed, None, Some(&pki.ca_bundle_pem()));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["valide"], true, "{}", reasons(s));
    assert_eq!(s["date_declaree"], true, "{json}");
    assert!(s["remarques"].to_string().contains("/M"), "{json}");
    let date = s["date_signature"].as_str().expect("the /M date");
    let date = time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
        .expect("date");
    assert!((before - date).whole_minutes().abs() < 10, "{date}");

    // The /M date is inside the signed range: changed, the signature no longer holds.
    let mut bytes = std::fs::read(&signed).expect("read");
    let at = bytes
        .windows(4)
        .position(|w| w == b"/M (")
        .or_else(|| bytes.windows(3).position(|w| w == b"/M("))
        .expect("/M");
    let digit = at + bytes[at..].iter().position(|b| *b == b'D').expect("D:") + 4;
    bytes[digit] = if bytes[digit] == b'1' { b'0' } else { b'1' };
    let changed = dir.path().join("date-changee.pdf");
    std::fs::write(&changed, &bytes).expect("write");
    let (out, json) = verifier(&changed, None, Some(&pki.ca_bundle_pem()));
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(only(&json)["integrite"], false, "{json}");
}

#[test]
fn ber_cades_is_read() {
    if !tools(&["openssl"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let id = pki.identity("signature");
    let doc = document(dir.path(), "offre.odt");
    let p7s = dir.path().join("offre.odt.p7s");
    // `-stream`: indefinite lengths (BER), as some signing tools write them.
    let status = Command::new("openssl")
        .args([
            "cms", "-sign", "-binary", "-stream", "-outform", "DER", "-in",
        ])
        .arg(&doc)
        .arg("-signer")
        .arg(&id.cert_pem)
        .arg("-inkey")
        .arg(&id.key_pem)
        .arg("-certfile")
        .arg(&id.chain_pem)
        .arg("-out")
        .arg(&p7s)
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl cms -sign -stream");
    let bytes = std::fs::read(&p7s).expect("read");
    assert_eq!(bytes[1], 0x80, "not BER: the test would prove nothing");
    let (out, json) = verifier(&p7s, None, Some(&pki.ca_bundle_pem()));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");
    // `openssl cms -stream -outform DER` keeps the content in (chunked OCTET STRING).
    assert_eq!(s["format"], "CAdES enveloppante");
    assert_eq!(s["valide"], true, "{}", reasons(s));
    // And it still tells a changed content (a letter of the text inside the signature).
    let mut bytes = bytes;
    let at = bytes
        .windows(b"engagement".len())
        .position(|w| w == b"engagement")
        .expect("content");
    bytes[at] = b'E';
    std::fs::write(&p7s, &bytes).expect("write");
    let (out, json) = verifier(&p7s, None, Some(&pki.ca_bundle_pem()));
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(reasons(only(&json)).contains("modifié depuis sa signature"));
}

#[test]
fn a_document_timestamp_is_checked_as_a_timestamp() {
    if !tools(&["openssl", "python3"]) {
        return;
    }
    let Some(pyhanko) = pyhanko() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let id = pki.identity("signature");
    let authority = common::tsa::tsa(dir.path());
    let server = common::tsa::serve(&authority);
    let input = dir.path().join("acte.pdf");
    make_pdf(&input, 1, false);
    let signed = dir.path().join("acte-pades.pdf");
    let status = Command::new(&pyhanko)
        .args(["sign", "addsig", "--use-pades", "--field", "Sig1"])
        .args(["pemder", "--no-pass", "--key"])
        .arg(&id.key_pem)
        .arg("--cert")
        .arg(&id.cert_pem)
        .arg("--chain")
        .arg(&id.chain_pem)
        .arg(&input)
        .arg(&signed)
        .status()
        .expect("pyhanko");
    assert!(status.success(), "pyhanko sign addsig");
    // A document timestamp after the signature (/Type /DocTimeStamp, /SubFilter /ETSI.RFC3161).
    let stamped = dir.path().join("acte-horodate.pdf");
    let status = Command::new(&pyhanko)
        .args(["sign", "timestamp", "--timestamp-url", &server.url])
        .arg("--trust")
        .arg(&authority.cert)
        .arg("--trust-replace")
        .arg(&signed)
        .arg(&stamped)
        .status()
        .expect("pyhanko");
    assert!(status.success(), "pyhanko sign timestamp");
    let trust = dir.path().join("confiance.pem");
    let mut bundle = std::fs::read(pki.ca_bundle_pem()).expect("bundle");
    bundle.extend(std::fs::read(&authority.cert).expect("tsa"));
    std::fs::write(&trust, bundle).expect("trust");
    let (out, json) = verifier(&stamped, None, Some(&trust));
    assert_eq!(out.status.code(), Some(0), "{json}");
    let list = json["signatures"].as_array().expect("signatures");
    assert_eq!(list.len(), 2, "{json}");
    let stamp = list
        .iter()
        .find(|s| s["format"] == "Horodatage de document PAdES")
        .expect("the document timestamp");
    assert_eq!(stamp["valide"], true, "{}", reasons(stamp));
    // (pyHanko adds a revision after it: validation data of the authority.)
    assert!(stamp["horodatage"].as_str().is_some(), "{json}");
    let signature = list
        .iter()
        .find(|s| s["format"] == "PAdES")
        .expect("the signature");
    assert_eq!(signature["valide"], true, "{}", reasons(signature));
    assert_eq!(signature["couvre_tout_le_fichier"], false);
}

/// The token of an `openssl ts` reply, base64.
fn token_base64(reply: &Path) -> String {
    let token = reply.with_extension("tok");
    let status = Command::new("openssl")
        .args(["ts", "-reply", "-in"])
        .arg(reply)
        .args(["-token_out", "-out"])
        .arg(&token)
        .status()
        .expect("openssl ts");
    assert!(status.success(), "openssl ts -token_out");
    let out = Command::new("openssl")
        .args(["base64", "-A", "-in"])
        .arg(&token)
        .output()
        .expect("openssl base64");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The signature `xades` with a SignatureTimeStamp (exclusive canonicalisation) holding `token`.
fn with_signature_timestamp(xades: &Path, token: &str, out: &Path) {
    let text = std::fs::read_to_string(xades).expect("read");
    let end = "</xades:SignedProperties></xades:QualifyingProperties>";
    assert!(text.contains(end), "{text}");
    let unsigned = format!(
        "</xades:SignedProperties><xades:UnsignedProperties><xades:UnsignedSignatureProperties>\
         <xades:SignatureTimeStamp><ds:CanonicalizationMethod \
         Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><xades:EncapsulatedTimeStamp>{token}\
         </xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp></xades:UnsignedSignatureProperties>\
         </xades:UnsignedProperties></xades:QualifyingProperties>"
    );
    std::fs::write(out, text.replace(end, &unsigned)).expect("write");
}

#[test]
fn a_xades_signature_timestamp_proves_the_signing_time() {
    if !tools(&["openssl"]) {
        return;
    }
    let Some(python) = venv_python() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    let authority = common::tsa::tsa(dir.path());
    let doc = document(dir.path(), "offre.pdf");
    let plain = dir.path().join("sans-horodatage.xml");
    make_xades(
        &python,
        &doc,
        "signature",
        &plain,
        &XadesOptions {
            mode: "detached",
            doc_alg: SHA256,
            cert_alg: SHA512,
            digested: None,
        },
    );
    let covered = PathBuf::from(format!("{}.sv", plain.display()));
    let reply = dir.path().join("valeur.tsr");
    common::tsa::timestamp(&authority, &covered, &reply);
    let stamped = dir.path().join("offre.pdf.xml");
    with_signature_timestamp(&plain, &token_base64(&reply), &stamped);
    let trust = dir.path().join("confiance.pem");
    let mut bundle = std::fs::read(pki.ca_bundle_pem()).expect("bundle");
    bundle.extend(std::fs::read(&authority.cert).expect("tsa"));
    std::fs::write(&trust, bundle).expect("trust");

    let (out, json) = verifier(&stamped, None, Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(s["valide"], true, "{}", reasons(s));
    assert!(s["horodatage"].as_str().is_some(), "{json}");
    assert_eq!(s["date_declaree"], false, "{json}");

    // An authority that is not trusted: said, and its time proves nothing.
    let (_, json) = verifier(&stamped, None, Some(&pki.ca_bundle_pem()));
    let s = only(&json);
    assert!(reasons(s).contains("autorité d'horodatage"), "{json}");
    assert_eq!(s["date_declaree"], true, "{json}");

    // A token over something else than the signature value.
    let other = dir.path().join("autre.tsr");
    common::tsa::timestamp(&authority, &doc, &other);
    let wrong = dir.path().join("mauvais-jeton.xml");
    with_signature_timestamp(&plain, &token_base64(&other), &wrong);
    let (out, json) = verifier(&wrong, Some(&doc), Some(&trust));
    let s = only(&json);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(
        reasons(s).contains("L'horodatage de la signature n'est pas valable"),
        "{json}"
    );
    assert_eq!(s["date_declaree"], true, "{json}");
}
