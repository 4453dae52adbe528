//! Canonicalisation of generated nasty documents and of hand-written documents exercising the
//! cases of the Canonical XML recommendation (§3.1–3.8, those without a DTD), compared byte for
//! byte with libxml2 (xmllint, libxml2's C14N API through ctypes, lxml). Plus the documents that
//! must be refused.

#[path = "c14n_support.rs"]
mod support;

use std::path::Path;

use paraphe::xml::{C14nError, C14nMode, canonicalize, canonicalize_element_by_id};
use support::*;

const GENERATED: u64 = 200;

/// Writes the documents to files (the reference tools read files).
fn write_docs(dir: &Path, docs: &[(String, Vec<u8>)]) {
    for (name, bytes) in docs {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn generator_is_deterministic_and_its_documents_are_read() {
    for seed in 0..GENERATED {
        let a = generate(seed);
        assert_eq!(a.bytes, generate(seed).bytes);
        let mode = C14nMode::Inclusive {
            with_comments: true,
        };
        canonicalize(&a.bytes, &mode).unwrap_or_else(|e| {
            panic!("graine {seed} : {e}\n{}", String::from_utf8_lossy(&a.bytes))
        });
    }
}

fn compare_with_xmllint(label: &str, docs: &[(String, Vec<u8>)]) {
    if !require(xmllint_available(), "xmllint (libxml2-utils)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_docs(dir.path(), docs);
    let mut report = Report::default();
    for (name, bytes) in docs {
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
            let reference = xmllint(&dir.path().join(name), exclusive);
            report.check(
                &format!(
                    "{name} ({})\n{}",
                    describe(&mode),
                    String::from_utf8_lossy(bytes)
                ),
                &canonicalize(bytes, &mode),
                &reference,
            );
        }
    }
    report.assert_ok(label);
}

/// Whole documents without comments and with prefix lists, and every subtree with an Id, in
/// every mode, with and without its ds:Signature children.
fn compare_with_libxml2_and_lxml(
    label: &str,
    docs: &[(String, Vec<u8>)],
    ids: &[Vec<String>],
    prefix_lists: &[Vec<&str>],
) {
    if !require(
        lxml_available(),
        "le venv Python avec lxml (.venv/bin/python) et libxml2",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_docs(dir.path(), docs);
    let mut jobs = Vec::new();
    let mut doc_of_job = Vec::new();
    for (i, (name, _)) in docs.iter().enumerate() {
        let file = dir.path().join(name);
        let prefixes: Vec<&str> = prefix_lists[i % prefix_lists.len()].clone();
        let whole_doc_modes = [
            C14nMode::Inclusive {
                with_comments: false,
            },
            C14nMode::Exclusive {
                with_comments: false,
                inclusive_prefixes: vec![],
            },
            C14nMode::Exclusive {
                with_comments: false,
                inclusive_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            },
            C14nMode::Exclusive {
                with_comments: true,
                inclusive_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            },
        ];
        for mode in &whole_doc_modes {
            for kind in [RefKind::Libxml2Doc, RefKind::LxmlDoc] {
                jobs.push(RefJob::new(kind, &file, mode, None, false));
                doc_of_job.push(i);
            }
        }
        for id in &ids[i] {
            for mode in modes(&[&[], &prefixes]) {
                for exclude in [false, true] {
                    for kind in [RefKind::Libxml2Id, RefKind::LxmlId] {
                        jobs.push(RefJob::new(kind, &file, &mode, Some(id), exclude));
                        doc_of_job.push(i);
                    }
                }
            }
        }
    }
    let refs = run_reference_jobs(&jobs);
    let mut report = Report::default();
    let skipped = report.check_jobs(&jobs, &refs, |index, _| docs[doc_of_job[index]].clone());
    eprintln!("{label}: {skipped} comparaisons lxml sans objet (xml:* hérités)");
    report.assert_ok(label);
}

/// Named documents, and for each the ids of the subtrees to compare.
type Docs = (Vec<(String, Vec<u8>)>, Vec<Vec<String>>);

fn generated_docs() -> Docs {
    let mut docs = Vec::new();
    let mut ids = Vec::new();
    for seed in 0..GENERATED {
        let doc = generate(seed);
        docs.push((format!("gen_{seed}.xml"), doc.bytes));
        // A few subtrees per document, the signed ones first.
        let mut chosen: Vec<String> = doc.signed_ids.iter().take(2).cloned().collect();
        for id in &doc.ids {
            if chosen.len() >= 3 {
                break;
            }
            if !chosen.contains(id) {
                chosen.push(id.clone());
            }
        }
        ids.push(chosen);
    }
    (docs, ids)
}

const PREFIX_LISTS: &[&[&str]] = &[
    &["a"],
    &["#default"],
    &["c", "#default", "zz"],
    &["b", "ns1", "xml"],
    &["z", "a", "b", "c"],
];

fn prefix_lists() -> Vec<Vec<&'static str>> {
    PREFIX_LISTS.iter().map(|l| l.to_vec()).collect()
}

#[test]
fn generated_documents_match_xmllint() {
    let (docs, _) = generated_docs();
    let latin1 = (0..GENERATED).filter(|&s| generate(s).latin1).count();
    eprintln!(
        "{} documents générés, dont {latin1} en ISO-8859-1",
        docs.len()
    );
    compare_with_xmllint("documents générés / xmllint", &docs);
}

#[test]
fn generated_documents_and_subtrees_match_libxml2_and_lxml() {
    let (docs, ids) = generated_docs();
    let subtrees: usize = ids.iter().map(Vec::len).sum();
    eprintln!("{} documents générés, {subtrees} sous-arbres", docs.len());
    compare_with_libxml2_and_lxml(
        "documents générés / libxml2 + lxml",
        &docs,
        &ids,
        &prefix_lists(),
    );
}

/// Our own documents, one per case of the Canonical XML recommendation that needs no DTD.
fn hand_written() -> Vec<(&'static str, Vec<u8>, Vec<&'static str>)> {
    vec![
        // §3.1: PIs, comments, white space outside the document element.
        (
            "pi_commentaires.xml",
            b"<?xml version=\"1.0\"?>\r\n\r\n<?xml-stylesheet   href=\"mandat.xsl\"   type=\"text/xsl\"  ?>\n\n<!-- Avant le bordereau -->\n<bordereau Id=\"b\">Bonjour<!-- dedans --><?traitement  interne?></bordereau>\n\n<!-- Apr\xc3\xa8s le bordereau -->\n<?fin?>\n\n".to_vec(),
            vec!["b"],
        ),
        // §3.2: white space in content.
        (
            "blancs.xml",
            b"<facture>\n   <ligne>   </ligne>\n   <ligne>   A   B   </ligne>\n   <ligne>\r\n      A\r\n      B\r\n   </ligne>\n   <ligne xml:space=\"preserve\" Id=\"p\"> A\tB \r </ligne>\n   <ligne xml:space=\"default\"> </ligne>\n</facture>\n".to_vec(),
            vec!["p"],
        ),
        // §3.3: start and end tags: empty elements, attribute order, namespace declarations
        // (superfluous ones, xmlns="").
        (
            "balises.xml",
            br#"<racine xmlns:pes="urn:exemple:pes">
   <vide   />
   <e2 xmlns:b="http://www.exemple.fr/b" xmlns:a="http://www.exemple.fr/a" b:attr="trie" a:attr="hors" attr2="tout" attr="C'est" Id="e2"/>
   <e3 xmlns="http://www.exemple.fr/d" xmlns:a="http://www.exemple.fr/a" Id="e3">
      <e4 xmlns="" xmlns:a="http://www.exemple.fr/a" Id="e4">
         <e5 xmlns="http://www.exemple.fr/d"/>
         <e6 xmlns:a="http://www.exemple.fr/autre" a:x="1" Id="e6"/>
         <pes:e7 xmlns:pes="urn:exemple:pes"/>
      </e4>
   </e3>
   <e8 xmlns=""><e9 xmlns="" Id="e9"/></e8>
</racine>"#
                .to_vec(),
            vec!["e2", "e3", "e4", "e6", "e9"],
        ),
        // §3.4: character modifications and character references.
        (
            "caracteres.xml",
            b"<texte>\n   <t1 attr=\" &#x20;&#10;&#13;&#9; \" Id=\"t1\"/>\n   <t2>&#xD;&#x9;&#xA; texte &#x41;&#233;&#65;</t2>\n   <t3><![CDATA[  <balise> & \"guillemets\" ]]></t3>\n   <t4 attr='\"guillemets\" &amp; &apos;apostrophes&apos; &lt;&gt;'>5 &gt; 3 &amp;&amp; 2 &lt; 4</t4>\n   <t5 normalise=\"  A   B  \" sauts=\"a\r\nb\nc\rd\te\" Id=\"t5\"/>\n   <t6>\xe2\x82\xac &#x20AC; &#x1D11E; \xf0\x9d\x84\x9e</t6>\n</texte>".to_vec(),
            vec!["t1", "t5"],
        ),
        // §3.6: encoding: ISO-8859-1 input, UTF-8 output.
        (
            "latin1.xml",
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<doc Id=\"d\" attr=\"\xe9t\xe9\">\xc9t\xe9 &#169; \xa9 \xe0 \xe7a \xff \x80</doc>".to_vec(),
            vec!["d"],
        ),
        // §3.7: document subsets: namespaces and xml:* attributes inherited by the apex.
        (
            "sous_ensembles.xml",
            br#"<doc xmlns="http://www.exemple.fr/" xmlns:w3c="http://www.w3.org/" xml:lang="fr" xml:space="preserve">
   <e1 xmlns:a="http://www.exemple.fr/a" Id="e1">
      <e2 Id="e2" xml:lang="en">
         <e3 Id="e3" xmlns="" a:attr="x"/>
      </e2>
   </e1>
   <w3c:e4 Id="e4" xml:base="http://www.exemple.fr/base/"><e5 Id="e5" xml:space="default"/></w3c:e4>
</doc>"#
                .to_vec(),
            vec!["e1", "e2", "e3", "e4", "e5"],
        ),
        // Exclusive canonicalisation: namespaces pushed down to where they are used.
        (
            "exclusive.xml",
            br#"<n0:local xmlns:n0="urn:exemple:local" xmlns:n3="ftp://exemple.org" xmlns:inutile="urn:inutile">
   <n1:elem2 xmlns:n1="http://exemple.net" xml:lang="en" Id="x2">
      <n3:stuff xmlns:n3="ftp://exemple.org"/>
      <n4:autre xmlns:n4="urn:n4" n3:attr="v"/>
   </n1:elem2>
</n0:local>"#
                .to_vec(),
            vec!["x2"],
        ),
        // A PES-like file: bordereau signed in place (enveloped signature).
        (
            "pes.xml",
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<n:PES_Aller xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\" Id=\"PES1\">\n <PES_DepenseAller>\n  <Bordereau Id=\"BORD1\">\n   <BlocBordereau><Exer V=\"2024\"/><Objet V=\"Fournitures scolaires \xe9t\xe9\"/></BlocBordereau>\n   <Piece><Ligne V=\"1&amp;2\"/></Piece>\n  <ds:Signature Id=\"BORD1_SIG\"><ds:SignedInfo><ds:Reference URI=\"#BORD1\"/></ds:SignedInfo></ds:Signature></Bordereau>\n </PES_DepenseAller>\n</n:PES_Aller>\n".to_vec(),
            vec!["BORD1", "PES1"],
        ),
    ]
}

#[test]
fn hand_written_documents_match_libxml2() {
    let cases = hand_written();
    let docs: Vec<(String, Vec<u8>)> = cases
        .iter()
        .map(|(n, b, _)| (n.to_string(), b.clone()))
        .collect();
    let ids: Vec<Vec<String>> = cases
        .iter()
        .map(|(_, _, ids)| ids.iter().map(|s| s.to_string()).collect())
        .collect();
    compare_with_xmllint("documents écrits à la main / xmllint", &docs);
    compare_with_libxml2_and_lxml(
        "documents écrits à la main / libxml2 + lxml",
        &docs,
        &ids,
        &[vec!["a", "n3"], vec!["#default", "pes"], vec!["ds"]],
    );
}

/// DOCTYPEs are refused whatever they contain; entities other than the predefined ones are
/// errors since no DTD is read.
#[test]
fn doctype_and_entities_are_refused() {
    let mode = C14nMode::Inclusive {
        with_comments: false,
    };
    for doc in [
        &b"<!DOCTYPE r><r/>"[..],
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r>&xxe;</r>",
        b"<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><r>&b;</r>",
        b"<!DOCTYPE r [<!ATTLIST r a CDATA \"defaut\">]><r/>",
        b"<!-- avant --><!DOCTYPE r PUBLIC \"-//X//Y\" \"http://exemple.fr/y.dtd\"><r/>",
    ] {
        let err = canonicalize(doc, &mode).unwrap_err();
        assert!(matches!(err, C14nError::DocType { .. }), "{err}");
        assert!(err.to_string().contains("DOCTYPE"), "{err}");
        let err = canonicalize_element_by_id(doc, "Id", "x", &mode, true).unwrap_err();
        assert!(matches!(err, C14nError::DocType { .. }), "{err}");
    }
    for doc in [
        &b"<r>&nbsp;</r>"[..],
        b"<r a='&eacute;'/>",
        b"<r>&#x0;</r>",
        b"<r>&#xFFFE;</r>",
    ] {
        let err = canonicalize(doc, &mode).unwrap_err();
        assert!(matches!(err, C14nError::Malformed { .. }), "{err}");
    }
}

/// Malformed documents: we refuse them, and so does libxml2.
#[test]
fn malformed_documents_are_refused_like_libxml2() {
    let cases: &[&[u8]] = &[
        b"",
        b"   ",
        b"<r>",
        b"<r></s>",
        b"<r/><s/>",
        b"<r/>texte",
        b"texte<r/>",
        b"<r a='1' a='2'/>",
        b"<r a='1'b='2'/>",
        b"<r a=1/>",
        b"<r a='<'/>",
        b"<r>a & b</r>",
        b"<r>]]></r>",
        b"<r><!-- a -- b --></r>",
        b"<r><!-- a ---></r>",
        b"<r>\x01</r>",
        b"<r a='\x02'/>",
        b"<1r/>",
        b"<r><?xml version='1.0'?></r>",
        b" <?xml version='1.0'?><r/>",
        b"<?xml version='1.0' encoding='UTF-8'?><r>\xe9</r>",
        b"<?xml version='1.0' encoding='ISO-8859-1' version='1.0'?><r/>",
        b"<?xml encoding='UTF-8'?><r/>",
        b"<r><![CDATA[x]]></r><![CDATA[y]]>",
        b"<r>&#X41;</r>",
        b"<r xmlns:p='rel/ative'><p:e/></r>",
        b"<r xmlns='rel'/>",
        b"<r xmlns:p='http://exemple.fr/a b'/>",
        b"<r xmlns:xml='urn:faux'/>",
        b"<r xmlns:xmlns='urn:x'/>",
        b"<a:b:c/>",
        b"<?xml version='1.0' encoding='US-ASCII'?><r>\xc3\xa9</r>",
        b"<?xml version='1.0' encoding='windows-1252'?><r>\x81</r>",
    ];
    let lint = xmllint_available();
    require(lint, "xmllint (libxml2-utils)");
    let dir = tempfile::tempdir().unwrap();
    for (i, doc) in cases.iter().enumerate() {
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
            let ours = canonicalize(doc, &mode);
            assert!(
                ours.is_err(),
                "{:?} devrait être refusé",
                String::from_utf8_lossy(doc)
            );
            let message = ours.unwrap_err().to_string();
            assert!(!message.is_empty());
            if lint {
                let path = dir.path().join(format!("m{i}.xml"));
                std::fs::write(&path, doc).unwrap();
                assert!(
                    xmllint(&path, exclusive).is_err(),
                    "xmllint accepte {:?}",
                    String::from_utf8_lossy(doc)
                );
            }
        }
    }
}

/// Documents libxml2 reads with a mere namespace warning; we refuse them (a signature over a
/// document that is not namespace-well-formed would be meaningless). Also refused: a UTF-8 byte
/// order mark contradicted by the declared encoding (libxml2 2.9 follows the declaration).
#[test]
fn namespace_errors_are_refused() {
    let mode = C14nMode::Exclusive {
        with_comments: false,
        inclusive_prefixes: vec![],
    };
    for doc in [
        &b"<p:r/>"[..],
        b"<r p:a='1'/>",
        b"<r xmlns:a='urn:x' xmlns:b='urn:x' a:v='1' b:v='2'/>",
        b"<r xmlns:p=''/>",
        b"<r xmlns='http://www.w3.org/XML/1998/namespace'/>",
        b"\xef\xbb\xbf<?xml version='1.0' encoding='ISO-8859-1'?><r/>",
    ] {
        let err = canonicalize(doc, &mode).unwrap_err();
        assert!(err.to_string().starts_with("XML mal formé"), "{err}");
    }
}

#[test]
fn error_messages_are_french_and_located() {
    let mode = C14nMode::Inclusive {
        with_comments: false,
    };
    let err = canonicalize(b"<r>\n  <a>\n  </b>\n</r>", &mode).unwrap_err();
    assert_eq!(
        err.to_string(),
        "XML mal formé ligne 3, colonne 3 : balise de fin « b » alors que l'élément « a » est ouvert"
    );
    let err = canonicalize(
        b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<r>\n\xe9&foo;</r>",
        &mode,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("XML mal formé ligne 3, colonne "),
        "{err}"
    );
    let err = canonicalize(b"<r>\n\n\xff</r>", &mode).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Le document n'est pas correctement encodé en UTF-8 ligne 3, colonne 1 : séquence d'octets invalide."
    );
    let err = canonicalize(b"<?xml version='1.0' encoding='EBCDIC'?><r/>", &mode).unwrap_err();
    assert!(err.to_string().contains("« EBCDIC »"), "{err}");
    let err = canonicalize(b"<r xmlns:p='relatif'/>", &mode).unwrap_err();
    assert!(matches!(err, C14nError::RelativeNamespace { .. }), "{err}");
}

/// Random soups of XML fragments (and random bytes): an error or a result, never a panic,
/// through every entry point.
#[test]
fn random_token_soup_never_panics() {
    const TOKENS: &[&[u8]] = &[
        b"<",
        b">",
        b"/>",
        b"</",
        b"<a",
        b"<p:b",
        b"</a>",
        b"</p:b>",
        b" ",
        b"\n",
        b"\r",
        b"\t",
        b"=",
        b"'",
        b"\"",
        b"x",
        b"xmlns",
        b"xmlns:p",
        b":",
        b"&",
        b";",
        b"&amp;",
        b"&#",
        b"x41",
        b"&#xD;",
        b"&lt;",
        b"&bogus;",
        b"<!--",
        b"-->",
        b"--",
        b"<?",
        b"?>",
        b"<?xml version='1.0'?>",
        b"<?xml version='1.0' encoding='ISO-8859-1'?>",
        b"<![CDATA[",
        b"]]>",
        b"<!DOCTYPE",
        b"Id='i'",
        b"xml:lang='fr'",
        b"<ds:Signature xmlns:ds='http://www.w3.org/2000/09/xmldsig#'>",
        b"</ds:Signature>",
        b"\xc3\xa9",
        b"\xe9",
        b"\xff",
        b"\xef\xbb\xbf",
        b"\0",
        b"\xef\xbf\xbe",
    ];
    let modes = modes(&[&[], &["#default", "p"]]);
    let mut rng = Rng::new(0x50_0b);
    for round in 0..3000 {
        let mut doc = Vec::new();
        for _ in 0..rng.below(60) {
            if rng.chance(5) {
                doc.push(rng.next_u64() as u8);
            } else {
                let token = *rng.pick(TOKENS);
                doc.extend_from_slice(token);
            }
        }
        let mode = &modes[round % modes.len()];
        let _ = canonicalize(&doc, mode);
        let _ = canonicalize_element_by_id(&doc, "Id", "i", mode, round % 2 == 0);
    }
}
