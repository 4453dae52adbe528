//! Which signatures a path holds or has beside it — in a PDF, in a signature file, beside a
//! document under the names i-Parapheur gives them or found by the digest they give their
//! document — and each verified by the verifier of its kind (CMS in `verify`, XAdES in `xades`).
//! Kept apart from both so that neither needs the other.

use super::verify::{
    DISCOVERY_FILE_LIMIT, SEARCH_MAX_FILES, SEARCH_MAX_SIZE, SIGNATURE_FILE_LIMIT, SignatureReport,
    VerifyError, cms_document_digests, digest_file, document_for, extension, file_name,
    files_beside, has_signature_extension, is_xml_signature, locate_document, named_document,
    read_bounded, read_cms_file, verify_pdf, verify_signature_file,
};
use crate::certs::trust::TrustStore;
use crate::messages::t;
use openssl::hash::MessageDigest;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Whether the detached signature or token `path` has its document beside it (found as
/// [`locate_document`] finds it): then it is checked with that document.
pub fn has_document(path: &Path) -> bool {
    if document_for(path).is_file() {
        return true;
    }
    let digests = if extension(path) == "xml" {
        read_bounded(path, DISCOVERY_FILE_LIMIT)
            .ok()
            .and_then(|b| super::xades::XadesFile::parse(b).ok())
            .filter(|x| x.is_detached())
            .map(|x| x.document_digests())
    } else {
        read_cms_file(path, DISCOVERY_FILE_LIMIT)
            .ok()
            .map(|b| cms_document_digests(&b))
    };
    locate_document(path, &digests.unwrap_or_default()).is_some()
}

/// The detached signatures of `document` beside it: `offre.pdf.p7s` (and `.sig`, `.tsr`, `.tst`,
/// `.xml`), those named as i-Parapheur names them (`offre.pdf-1-Camille.p7s`, `.xml`), and the
/// other signature files of the folder whose document digest is this document's
/// (`signature_cades.p7s`) — bounded like [`locate_document`].
fn companions(document: &Path) -> Vec<PathBuf> {
    let name = file_name(document);
    let beside = files_beside(document);
    let mut found = Vec::new();
    for companion in ["p7s", "sig", "tsr", "tst", "xml"] {
        let path = document.with_file_name(format!("{name}.{companion}"));
        if beside.contains(&path) {
            found.push(path);
        }
    }
    let is_signature = |f: &PathBuf| {
        matches!(extension(f).as_str(), "p7s" | "sig")
            || (extension(f) == "xml" && is_xml_signature(f))
    };
    for f in &beside {
        if file_name(f).starts_with(&format!("{name}-")) && !found.contains(f) && is_signature(f) {
            found.push(f.clone());
        }
    }
    // Other signatures, recognised by the digest they give their document; those whose name
    // already says which document they sign are left to it.
    let mut digests: Vec<(MessageDigest, Vec<u8>)> = Vec::new();
    let mut digest_of = |md: MessageDigest| -> Option<Vec<u8>> {
        if let Some((_, d)) = digests.iter().find(|(m, _)| *m == md) {
            return Some(d.clone());
        }
        let d = digest_file(document, md).ok()?;
        digests.push((md, d.clone()));
        Some(d)
    };
    let small = std::fs::metadata(document).is_ok_and(|m| m.len() <= SEARCH_MAX_SIZE);
    let unclaimed: Vec<&PathBuf> = beside
        .iter()
        .filter(|f| *f != document && !found.contains(f))
        .filter(|f| matches!(extension(f).as_str(), "p7s" | "sig" | "xml"))
        .filter(|f| !document_for(f).is_file())
        .filter(|f| named_document(f, &beside).is_none())
        .take(SEARCH_MAX_FILES)
        .collect();
    for f in unclaimed {
        if !small || !is_signature(f) {
            continue;
        }
        let wanted = if extension(f) == "xml" {
            read_bounded(f, DISCOVERY_FILE_LIMIT)
                .ok()
                .and_then(|b| super::xades::XadesFile::parse(b).ok())
                .map(|x| x.document_digests())
                .unwrap_or_default()
        } else {
            read_cms_file(f, DISCOVERY_FILE_LIMIT)
                .map(|b| cms_document_digests(&b))
                .unwrap_or_default()
        };
        if wanted
            .iter()
            .any(|w| digest_of(w.md).is_some_and(|d| d == w.value))
        {
            found.push(f.clone());
        }
    }
    found
}

/// Verify what `path` is or carries: a signature file (`.p7s`, `.p7m`, `.sig`), a timestamp
/// (`.tsr`, `.tst`), a PDF (its PAdES signatures), or a document with such files beside it.
pub fn verify_path(
    path: &Path,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    verify_path_with(path, None, trust)
}

/// [`verify_path`], with the document of a detached signature given (`--document`) rather than
/// looked for beside it.
pub fn verify_path_with(
    path: &Path,
    document: Option<&Path>,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    if let Some(doc) = document
        && !doc.is_file()
    {
        return Err(VerifyError::Read(
            doc.to_owned(),
            t("marches.verif.introuvable"),
        ));
    }
    let ext = extension(path);
    let mut reports = Vec::new();
    if has_signature_extension(path) {
        reports.extend(verify_signature_file(path, document, trust)?);
        return Ok(reports);
    }
    if ext == "xml" && is_xml_signature(path) {
        reports.extend(verify_xades(path, document, document.is_some(), trust)?);
        if reports.is_empty() {
            return Err(VerifyError::NothingToVerify(path.to_owned()));
        }
        return Ok(reports);
    }
    if !path.is_file() {
        return Err(VerifyError::Read(
            path.to_owned(),
            t("marches.verif.introuvable"),
        ));
    }
    // A PDF that cannot be parsed has no readable PAdES signature; its companions may still be
    // checked, and the reason is given if there is nothing else.
    let mut pdf_error = None;
    if is_pdf(path) {
        match verify_pdf(path, trust) {
            Ok(found) => reports.extend(found),
            Err(e) => pdf_error = Some(e),
        }
    }
    for beside in companions(path) {
        if extension(&beside) == "xml" {
            reports.extend(verify_xades(&beside, Some(path), false, trust)?);
        } else {
            reports.extend(verify_signature_file(&beside, Some(path), trust)?);
        }
    }
    if reports.is_empty() {
        return Err(pdf_error.unwrap_or_else(|| VerifyError::NothingToVerify(path.to_owned())));
    }
    Ok(reports)
}

/// Is this file a signature or a timestamp of another file (rather than a document)?
pub fn is_signature_file(path: &Path) -> bool {
    match extension(path).as_str() {
        "p7s" | "sig" | "tsr" | "tst" => true,
        "xml" => is_xml_signature(path),
        _ => false,
    }
}

/// The XAdES signatures of an XML file: detached (the document given, named by a reference, or
/// found beside the file) or enveloping.
fn verify_xades(
    path: &Path,
    document: Option<&Path>,
    explicit: bool,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    let bytes = read_bounded(path, SIGNATURE_FILE_LIMIT)?;
    let file = super::xades::XadesFile::parse(bytes)
        .map_err(|e| VerifyError::Malformed(path.to_owned(), e.to_string()))?;
    if file.is_empty() {
        return Ok(Vec::new());
    }
    let located;
    let document = match document {
        Some(d) => Some(d),
        None if file.is_detached() => {
            located = locate_document(path, &file.document_digests())
                .or_else(|| file.referenced_file(path));
            match located.as_deref() {
                Some(d) => Some(d),
                None if file.needs_document() => {
                    return Err(VerifyError::DocumentNotFound(path.to_owned()));
                }
                None => None,
            }
        }
        None => None,
    };
    Ok(file.verify(path, document, explicit, trust))
}

fn is_pdf(path: &Path) -> bool {
    let mut head = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"%PDF-"
}
