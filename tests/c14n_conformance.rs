//! Canonicalisation of the conformance corpus (`../shared/conformance`: real PES and ACTES files,
//! schemas), compared byte for byte with libxml2: `xmllint --c14n` / `--exc-c14n`, libxml2's C14N
//! API through ctypes (whole documents and XPath node-sets, as xmlsec1 uses it), and lxml. Plus the
//! digests recorded in the signed PES samples, and robustness on truncated or corrupted files.

#[path = "c14n_support.rs"]
mod support;

use std::path::{Path, PathBuf};

use paraphe::xml::{C14nError, C14nMode, XmlReader, canonicalize, canonicalize_element_by_id};
use quick_xml::events::Event;
use support::*;

fn conformance_available() -> bool {
    require(
        conformance_dir().is_dir(),
        "le dossier de conformité ../shared/conformance",
    )
}

/// Every XML file of the corpus (`.xml` and `.xsd`), sorted.
fn xml_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml") || e.eq_ignore_ascii_case("xsd"))
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&conformance_dir(), &mut out);
    out.sort();
    out
}

fn has_doctype(bytes: &[u8]) -> bool {
    bytes
        .windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"<!DOCTYPE"))
}

fn short(path: &Path) -> String {
    path.strip_prefix(conformance_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn conformance_documents_match_xmllint() {
    if !conformance_available() || !require(xmllint_available(), "xmllint (libxml2-utils)") {
        return;
    }
    let files = xml_files();
    assert!(
        !files.is_empty(),
        "aucun fichier XML dans le dossier de conformité"
    );
    let mut report = Report::default();
    let mut compared_files = 0;
    let mut latin1 = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if has_doctype(&bytes) {
            for exclusive in [false, true] {
                let mode = if exclusive {
                    C14nMode::Exclusive {
                        with_comments: true,
                        inclusive_prefixes: vec![],
                    }
                } else {
                    C14nMode::Inclusive {
                        with_comments: true,
                    }
                };
                assert!(
                    matches!(canonicalize(&bytes, &mode), Err(C14nError::DocType { .. })),
                    "{}: un DOCTYPE doit être refusé",
                    short(file)
                );
            }
            continue;
        }
        compared_files += 1;
        if XmlReader::new(&bytes[..])
            .is_ok_and(|r| r.encoding() != paraphe::xml::SourceEncoding::Utf8)
        {
            latin1 += 1;
        }
        for exclusive in [false, true] {
            // xmllint keeps comments.
            let mode = if exclusive {
                C14nMode::Exclusive {
                    with_comments: true,
                    inclusive_prefixes: vec![],
                }
            } else {
                C14nMode::Inclusive {
                    with_comments: true,
                }
            };
            let ours = canonicalize(&bytes, &mode);
            let reference = xmllint(file, exclusive);
            report.check(
                &format!("{} ({})", short(file), describe(&mode)),
                &ours,
                &reference,
            );
        }
    }
    eprintln!(
        "{compared_files} fichiers du corpus comparés avec xmllint ({latin1} non UTF-8), {} avec DOCTYPE refusés",
        files.len() - compared_files
    );
    report.assert_ok("corpus / xmllint");
}

/// The values of the `Id` attributes of a document, each with its number of occurrences.
fn ids_of(bytes: &[u8]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let Ok(mut reader) = XmlReader::new(bytes) else {
        return out;
    };
    loop {
        let Ok((event, info)) = reader.read_event_with_info() else {
            return out;
        };
        if let Some(id) = info.attribute("Id") {
            match out.iter_mut().find(|(v, _)| v == id) {
                Some((_, n)) => *n += 1,
                None => out.push((id.to_owned(), 1)),
            }
        }
        if matches!(event, Event::Eof) {
            return out;
        }
    }
}

#[test]
fn conformance_documents_and_subtrees_match_libxml2_and_lxml() {
    if !conformance_available()
        || !require(
            lxml_available(),
            "le venv Python avec lxml (.venv/bin/python) et libxml2",
        )
    {
        return;
    }
    let files: Vec<PathBuf> = xml_files()
        .into_iter()
        .filter(|f| !has_doctype(&std::fs::read(f).unwrap()))
        .collect();
    let mut jobs = Vec::new();
    let mut subtrees = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        // Whole documents, without comments (xmllint cannot), and with prefix lists.
        let doc_modes = [
            C14nMode::Inclusive {
                with_comments: false,
            },
            C14nMode::Exclusive {
                with_comments: false,
                inclusive_prefixes: vec![],
            },
            C14nMode::Exclusive {
                with_comments: false,
                inclusive_prefixes: vec!["#default".into(), "xsi".into(), "n".into()],
            },
            C14nMode::Exclusive {
                with_comments: true,
                inclusive_prefixes: vec!["ds".into(), "xad".into()],
            },
        ];
        for mode in &doc_modes {
            for kind in [RefKind::Libxml2Doc, RefKind::LxmlDoc] {
                jobs.push(RefJob::new(kind, file, mode, None, false));
            }
        }
        // Every element with an Id, as a reference URI="#Id" designates it.
        for (id, _count) in ids_of(&bytes) {
            subtrees += 1;
            for mode in modes(&[&[], &["#default", "ds"], &["xad", "n", "xsi"]]) {
                for exclude in [false, true] {
                    if exclude && mode.with_comments() {
                        continue;
                    }
                    for kind in [RefKind::Libxml2Id, RefKind::LxmlId] {
                        jobs.push(RefJob::new(kind, file, &mode, Some(&id), exclude));
                    }
                }
            }
        }
    }
    let refs = run_reference_jobs(&jobs);
    let mut report = Report::default();
    let mut cache: Option<(PathBuf, Vec<u8>)> = None;
    let skipped = report.check_jobs(&jobs, &refs, |_, job| {
        if cache.as_ref().is_none_or(|(p, _)| *p != job.file) {
            cache = Some((job.file.clone(), std::fs::read(&job.file).unwrap()));
        }
        let bytes = cache.as_ref().map(|(_, b)| b.clone()).unwrap_or_default();
        (short(&job.file), bytes)
    });
    eprintln!("{skipped} comparaisons lxml sans objet (xml:* hérités)");
    eprintln!(
        "{} fichiers, {subtrees} sous-arbres (éléments avec Id)",
        files.len()
    );
    report.assert_ok("corpus / libxml2 + lxml");
}

/// One `ds:Reference` of a signed sample.
#[derive(Debug, Default)]
struct Reference {
    uri: String,
    transforms: Vec<String>,
    prefix_list: Vec<String>,
    digest_method: String,
    digest_value: String,
}

fn references(bytes: &[u8]) -> Vec<Reference> {
    const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
    let mut out: Vec<Reference> = Vec::new();
    let mut reader = XmlReader::new(bytes).unwrap();
    let mut in_digest_value = false;
    let mut in_reference = false;
    loop {
        let (event, info) = reader.read_event_with_info().unwrap();
        match &event {
            Event::Start(_) | Event::Empty(_) => {
                let (ns, local) = info.element_name().unwrap();
                let tag = info.start_tag().unwrap();
                if ns == Some(DS) && local == "Reference" {
                    in_reference = true;
                    out.push(Reference {
                        uri: tag.attribute("URI").unwrap_or("").to_owned(),
                        ..Reference::default()
                    });
                } else if in_reference && let Some(r) = out.last_mut() {
                    match local {
                        "Transform" => r
                            .transforms
                            .push(tag.attribute("Algorithm").unwrap_or("").into()),
                        "InclusiveNamespaces" => {
                            r.prefix_list = tag
                                .attribute("PrefixList")
                                .unwrap_or("")
                                .split_whitespace()
                                .map(String::from)
                                .collect()
                        }
                        "DigestMethod" => {
                            r.digest_method = tag.attribute("Algorithm").unwrap_or("").into()
                        }
                        "DigestValue" => in_digest_value = matches!(event, Event::Start(_)),
                        _ => {}
                    }
                }
            }
            Event::Text(t) if in_digest_value => {
                if let Some(r) = out.last_mut() {
                    r.digest_value.push_str(&String::from_utf8_lossy(t));
                }
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if name.ends_with("DigestValue") {
                    in_digest_value = false;
                }
                if name.ends_with(":Reference") || name == "Reference" {
                    in_reference = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    for r in &mut out {
        r.digest_value.retain(|c| !c.is_whitespace());
    }
    out
}

/// Our digest of a same-document reference, following its transforms.
fn digest_of(bytes: &[u8], r: &Reference) -> String {
    let id = r.uri.strip_prefix('#').expect("référence interne");
    let enveloped = r
        .transforms
        .iter()
        .any(|t| t == "http://www.w3.org/2000/09/xmldsig#enveloped-signature");
    let mode = r
        .transforms
        .iter()
        .find_map(|t| C14nMode::from_algorithm(t, &r.prefix_list))
        // Without a canonicalisation transform, the node-set becomes octets by C14N 1.0.
        .unwrap_or(C14nMode::Inclusive {
            with_comments: false,
        });
    let canonical = canonicalize_element_by_id(bytes, "Id", id, &mode, enveloped).unwrap();
    let digest = match r.digest_method.as_str() {
        "http://www.w3.org/2000/09/xmldsig#sha1" => openssl::sha::sha1(&canonical).to_vec(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => openssl::sha::sha256(&canonical).to_vec(),
        other => panic!("algorithme de condensat inattendu {other}"),
    };
    openssl::base64::encode_block(&digest)
}

/// The signed samples that xmlsec1 verifies (see conformance/pes/samples/RESULTS.txt): our
/// canonical forms must give the recorded digests; for the samples re-indented after signing,
/// the Bordereau digests must not match.
#[test]
fn signed_samples_digests_match() {
    if !conformance_available() {
        return;
    }
    let samples = conformance_dir().join("pes/samples");
    let mut checked = 0;
    for (name, valid) in [
        ("signature_bordereau2.xml", true),
        ("signature_bordereau_double.xml", true),
        ("signature_bordereau.xml", false),
        ("plusieurs_signatures.xml", false),
    ] {
        let path = samples.join(name);
        if !require(path.is_file(), &format!("l'échantillon {name}")) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let refs = references(&bytes);
        assert!(!refs.is_empty(), "{name}: aucune ds:Reference");
        for r in &refs {
            let ours = digest_of(&bytes, r);
            checked += 1;
            if valid {
                assert_eq!(
                    ours, r.digest_value,
                    "{name} {}: condensat différent",
                    r.uri
                );
            } else if r
                .transforms
                .iter()
                .any(|t| t.ends_with("#enveloped-signature"))
            {
                assert_ne!(
                    ours, r.digest_value,
                    "{name} {}: ce fichier a été réindenté après signature",
                    r.uri
                );
            }
        }
    }
    eprintln!("{checked} références vérifiées");
}

/// Truncated or corrupted files: an error (or a result), never a panic; a file cut before the
/// end of its last markup is always an error.
#[test]
fn truncated_and_corrupted_files_never_panic() {
    if !conformance_available() {
        return;
    }
    let samples = conformance_dir().join("pes/samples");
    let modes = modes(&[&[]]);
    for name in [
        "signature_bordereau2.xml",
        "pes_aller_utf8.xml",
        "pes_acquit.xml",
    ] {
        let path = samples.join(name);
        if !require(path.is_file(), &format!("l'échantillon {name}")) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let ids: Vec<String> = ids_of(&bytes).into_iter().map(|(v, _)| v).collect();
        let last_markup_end = bytes.iter().rposition(|&b| b == b'>').unwrap() + 1;
        let mut rng = Rng::new(0xC14E);
        for round in 0..300 {
            let cut = rng.below(last_markup_end);
            let truncated = &bytes[..cut];
            let mode = &modes[round % modes.len()];
            assert!(
                canonicalize(truncated, mode).is_err(),
                "{name} coupé à {cut} : une erreur est attendue"
            );
            if let Some(id) = ids.first() {
                // Never a panic; an error unless the cut is after the whole element — which,
                // the document being incomplete, is an error too.
                assert!(canonicalize_element_by_id(truncated, "Id", id, mode, true).is_err());
            }
            // Corruption: change, insert or delete a few bytes.
            let mut corrupted = bytes.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(corrupted.len());
                match rng.below(4) {
                    0 => corrupted[at] = rng.next_u64() as u8,
                    1 => {
                        const JUNK: &[&[u8]] = &[
                            b"<",
                            b"&",
                            b"]]>",
                            b"<!DOCTYPE x>",
                            b"\xff",
                            b"&#0;",
                            b"\"",
                            b"<a:b>",
                        ];
                        let junk = *rng.pick(JUNK);
                        corrupted.splice(at..at, junk.iter().copied());
                    }
                    2 => {
                        corrupted.remove(at);
                    }
                    _ => corrupted.truncate(at),
                }
            }
            let _ = canonicalize(&corrupted, mode);
            if let Some(id) = ids.first() {
                let _ = canonicalize_element_by_id(&corrupted, "Id", id, mode, true);
            }
        }
    }
}

/// The PES signer's way: its own quick-xml reader over [`Utf8Input`], a [`NamespaceScopes`]
/// tracker, and a [`Canonicalizer`] started at each `Bordereau` start tag, fed until it is done;
/// must give what `canonicalize_element_by_id` gives.
#[test]
fn streaming_with_scopes_matches_the_convenience_api() {
    use paraphe::xml::{Canonicalizer, NamespaceScopes, Progress, Utf8Input};
    if !conformance_available() {
        return;
    }
    let mut bordereaux = 0;
    for file in xml_files() {
        if !file.to_string_lossy().contains("/pes/samples/") {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap();
        for mode in modes(&[&[], &["n"]]) {
            let mut reader = quick_xml::Reader::from_reader(Utf8Input::new(&bytes[..]).unwrap());
            let mut scopes = NamespaceScopes::new();
            let mut buf = Vec::new();
            let mut canon: Option<(String, Canonicalizer<Vec<u8>>)> = None;
            let mut results: Vec<(String, Vec<u8>)> = Vec::new();
            loop {
                buf.clear();
                let event = reader.read_event_into(&mut buf).unwrap();
                if let Some((_, c)) = canon.as_mut() {
                    if c.feed(&event).unwrap() == Progress::Done {
                        let (id, c) = canon.take().unwrap();
                        results.push((id, c.finish().unwrap()));
                    }
                } else if let Event::Start(start) | Event::Empty(start) = &event
                    && start.local_name().as_ref() == b"Bordereau"
                {
                    // The context is taken before the element's own tag is pushed.
                    let context = scopes.context();
                    let mut c = Canonicalizer::subtree(&mode, &context, Vec::new())
                        .exclude_signature_children(true);
                    let tag = scopes.push(start).unwrap();
                    scopes.pop();
                    let id = tag.attribute("Id").unwrap_or_default().to_owned();
                    if c.feed(&event).unwrap() == Progress::Done {
                        results.push((id, c.finish().unwrap()));
                    } else {
                        canon = Some((id, c));
                    }
                }
                scopes.apply(&event).unwrap();
                if matches!(event, Event::Eof) {
                    break;
                }
            }
            for (id, ours) in &results {
                if id.is_empty() {
                    continue; // no way to designate it with the convenience API
                }
                bordereaux += 1;
                let expected = canonicalize_element_by_id(&bytes, "Id", id, &mode, true).unwrap();
                assert_eq!(
                    ours,
                    &expected,
                    "{} #{id} {}",
                    short(&file),
                    describe(&mode)
                );
            }
        }
    }
    assert!(bordereaux > 0);
    eprintln!("{bordereaux} bordereaux canonisés à la manière du signataire");
}
