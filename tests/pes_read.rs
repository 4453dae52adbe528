//! Reading PES_Aller files: the summary agrees with libxml2's own reading of each conformance
//! sample (xmllint --xpath), and bad input gets a clear French error with bounded memory.

mod common;

use common::pes::{HEAD, bordereau, latin1};
use common::{conformance, tools};
use paraphe::pes::checks::{Intent, check};
use paraphe::pes::{PesError, inspect_file, read_summary};
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> Option<PathBuf> {
    conformance("pes/samples")
}

fn xpath(file: &Path, expr: &str) -> String {
    let out = Command::new("xmllint")
        .args(["--xpath", expr])
        .arg(file)
        .output()
        .expect("xmllint");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn pes_aller_samples(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .filter(|p| xpath(p, "local-name(/*)") == "PES_Aller")
        .collect();
    files.sort();
    files
}

#[test]
fn summary_agrees_with_xmllint_on_every_sample() {
    let Some(dir) = samples() else { return };
    if !tools(&["xmllint"]) {
        return;
    }
    let files = pes_aller_samples(&dir);
    assert!(
        files.len() >= 10,
        "expected the PES_Aller samples, found {}",
        files.len()
    );
    for file in files {
        let name = file.display().to_string();
        let summary = inspect_file(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let count: usize = xpath(&file, "count(//*[local-name()='Bordereau'])")
            .parse::<f64>()
            .expect("count") as usize;
        assert_eq!(summary.bordereaux.len(), count, "{name}: bordereaux");
        for (i, b) in summary.bordereaux.iter().enumerate() {
            let at = format!("(//*[local-name()='Bordereau'])[{}]", i + 1);
            assert_eq!(
                b.id.clone().unwrap_or_default(),
                xpath(&file, &format!("string({at}/@Id)")),
                "{name}"
            );
            assert_eq!(
                b.numero.clone().unwrap_or_default(),
                xpath(&file, &format!("string({at}/BlocBordereau/IdBord/@V)")),
                "{name}"
            );
            assert_eq!(
                b.exercice.clone().unwrap_or_default(),
                xpath(&file, &format!("string({at}/BlocBordereau/Exer/@V)")),
                "{name}"
            );
            let pieces: f64 = xpath(&file, &format!("count({at}/Piece)"))
                .parse()
                .expect("n");
            assert_eq!(b.nb_pieces_calcule as f64, pieces, "{name}");
            // Sum of line amounts in cents, computed by libxml2 (round to avoid float noise).
            // xmllint prints sums with 6 significant digits: add its listed values here instead.
            let values = xpath(
                &file,
                &format!("{at}/Piece/LigneDePiece/BlocLignePiece/*/MtHT/@V"),
            );
            let cents: i128 = values
                .split('"')
                .skip(1)
                .step_by(2)
                .map(|v| {
                    let (units, frac) = v.split_once('.').unwrap_or((v, ""));
                    let frac = format!("{frac:0<2}");
                    units.parse::<i128>().expect("units") * 100
                        + frac.parse::<i128>().expect("cents")
                })
                .sum();
            assert_eq!(b.montant_ht_calcule.cents(), cents, "{name}");
            let signed = xpath(&file, &format!("count({at}/*[local-name()='Signature'])"));
            assert_eq!(b.signe, signed != "0", "{name}");
        }
        assert_eq!(
            summary.enveloppe.nom_fic.clone().unwrap_or_default(),
            xpath(&file, "string(//Enveloppe/Parametres/NomFic/@V)"),
            "{name}"
        );
        assert_eq!(
            summary.entete.cod_col.clone().unwrap_or_default(),
            xpath(&file, "string(//EnTetePES/CodCol/@V)"),
            "{name}"
        );
        let pj: f64 = xpath(&file, "count(//PES_PJ/PJ)").parse().expect("pj");
        assert_eq!(summary.pj.len() as f64, pj, "{name}");
        let sigs: f64 = xpath(&file, "count(//*[local-name()='Signature'])")
            .parse()
            .expect("sigs");
        assert_eq!(summary.signatures.len() as f64, sigs, "{name}");
    }
}

#[test]
fn s2low_header_rules_match_the_samples_made_to_break_them() {
    let Some(dir) = samples() else { return };
    let codes = |file: &str| -> Vec<&'static str> {
        let summary = inspect_file(&dir.join(file)).expect(file);
        check(&summary, Intent::Check)
            .iter()
            .filter(|f| f.is_blocking())
            .map(|f| f.code)
            .collect()
    };
    assert!(codes("pes_aller_CodColTropLong.xml").contains(&"s2low.codcol"));
    assert!(codes("pes_aller_IdColl_trop_long.xml").contains(&"s2low.idcoll"));
    assert!(codes("pes_aller_PasDeNomFic.xml").contains(&"s2low.nomfic"));
    assert!(codes("pes_aller_utf8.xml").contains(&"s2low.encodage"));
    assert!(
        !codes("pes_aller_ok.xml")
            .iter()
            .any(|c| c.starts_with("s2low."))
    );
    // Already-signed bordereaux cannot be signed again (no co-signature).
    let summary = inspect_file(&dir.join("signature_bordereau_double.xml")).expect("double");
    let f = check(&summary, Intent::SignBordereaux);
    assert!(
        f.iter()
            .any(|f| f.code == "pes.deja_signe" && f.is_blocking())
    );
}

/// The document, encoded in ISO-8859-1 as its declaration says.
fn doc(body: &str) -> Vec<u8> {
    latin1(&format!("{HEAD}{body}</PES_DepenseAller></n:PES_Aller>"))
}

#[test]
fn generated_file_is_read_and_checked() {
    let bytes = doc(&(bordereau("B1", 2, &["10.50", "0.05"]) + &bordereau("B2", 3, &["1"])));
    let summary = read_summary(bytes.as_slice()).expect("read");
    assert_eq!(summary.bordereaux.len(), 2);
    let b1 = &summary.bordereaux[0];
    assert_eq!(b1.montant_ht_calcule.cents(), 1055);
    assert_eq!(b1.montant_ht.map(|a| a.cents()), Some(1055));
    assert_eq!(b1.pieces[0].tiers, vec!["Papeterie & Cie".to_owned()]);
    assert_eq!(b1.pieces[0].objet.as_deref(), Some("Fournitures é"));
    let findings = check(&summary, Intent::SignBordereaux);
    let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        vec!["s2low.encodage", "pes.nombre_pieces"],
        "{findings:#?}"
    );
    assert!(
        findings[1]
            .message
            .contains("annonce 3 pièces mais en contient 1"),
        "{}",
        findings[1].message
    );
}

#[test]
fn bad_input_is_refused_with_french_errors() {
    type Case = (&'static str, Vec<u8>, fn(&PesError) -> bool);
    let cases: Vec<Case> = vec![
        (
            "doctype",
            b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>".to_vec(),
            |e| matches!(e, PesError::Doctype),
        ),
        (
            "truncated",
            doc(&bordereau("B1", 1, &["1"]))[..600].to_vec(),
            |e| matches!(e, PesError::Truncated | PesError::Malformed { .. }),
        ),
        (
            "wrong root",
            b"<?xml version=\"1.0\"?><PES_Aller><x/></PES_Aller>".to_vec(),
            |e| matches!(e, PesError::WrongRoot(_)),
        ),
        (
            "encoding",
            b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><x/>".to_vec(),
            |e| matches!(e, PesError::Encoding(_)),
        ),
        ("empty", Vec::new(), |e| matches!(e, PesError::WrongRoot(_))),
        ("garbage", b"\x00\x01MZ\x90binary".to_vec(), |e| {
            matches!(e, PesError::WrongRoot(_) | PesError::Malformed { .. })
        }),
    ];
    for (name, bytes, expected) in cases {
        let err = read_summary(bytes.as_slice())
            .err()
            .unwrap_or_else(|| panic!("{name} accepted"));
        assert!(expected(&err), "{name}: {err:?}");
        let text = err.to_string();
        assert!(text.ends_with('.') && !text.contains('⟦'), "{name}: {text}");
    }
    // Duplicate Ids and base64 garbage are findings, not crashes.
    let body = bordereau("B1", 1, &["1"]) + &bordereau("B1", 1, &["2"]);
    let mut bytes = doc(&body);
    let pj = b"<PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ><PJ><Contenu><Fichier MIMEType=\"application/pdf\">H4sI!!!%%</Fichier></Contenu><IdUnique V=\"u1\"/><NomPJ V=\"facture.pdf\"/></PJ></PES_PJ>";
    let end = bytes.len() - "</n:PES_Aller>".len();
    bytes.splice(end..end, pj.iter().copied());
    let summary = read_summary(bytes.as_slice()).expect("read");
    let codes: Vec<_> = check(&summary, Intent::Check)
        .iter()
        .map(|f| f.code)
        .collect();
    assert!(codes.contains(&"pes.id_duplique"), "{codes:?}");
    assert!(codes.contains(&"pes.pj_base64"), "{codes:?}");
}

/// Pièces justificatives made as the format says by independent tools (`gzip`, then `base64`,
/// which wraps its lines) come out byte for byte, from the library and from
/// `paraphe pes extraire`; a damaged one is a French error that names it.
#[test]
fn pj_made_by_gzip_and_base64_are_extracted_byte_for_byte() {
    if !common::tools(&["gzip", "base64"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    // A document that compresses (text) followed by bytes that do not.
    let mut original = b"%PDF-1.4\n% facture de test\n".repeat(500);
    original.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(dir.path().join("facture.pdf"), &original).expect("write");
    let gzip = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(dir.path().join("facture.pdf"))
        .output()
        .expect("gzip");
    assert!(gzip.status.success());
    std::fs::write(dir.path().join("facture.pdf.gz"), &gzip.stdout).expect("write");
    let encoded = std::process::Command::new("base64")
        .arg(dir.path().join("facture.pdf.gz"))
        .output()
        .expect("base64");
    assert!(encoded.status.success());
    let base64_text = String::from_utf8(encoded.stdout).expect("ascii");
    assert!(base64_text.trim().contains('\n'), "base64 wraps its lines");

    let mut bytes = doc(&bordereau("B1", 1, &["1"]));
    let pj = format!(
        "<PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ>\
         <PJ><Contenu><Fichier MIMEType=\"application/pdf\">{base64_text}</Fichier></Contenu><IdUnique V=\"u1\"/><NomPJ V=\"facture.pdf\"/></PJ>\
         <PJ><Contenu><Fichier MIMEType=\"application/pdf\">H4sI!!!%%</Fichier></Contenu><IdUnique V=\"u2\"/><NomPJ V=\"abimee.pdf\"/></PJ>\
         <PJ><IdUnique V=\"u3\"/><NomPJ V=\"vide.pdf\"/></PJ></PES_PJ>"
    );
    let end = bytes.len() - "</n:PES_Aller>".len();
    bytes.splice(end..end, pj.bytes());
    let pes = dir.path().join("pes.xml");
    std::fs::write(&pes, &bytes).expect("pes");
    let summary = paraphe::pes::inspect_file(&pes).expect("read");
    assert_eq!(summary.pj.len(), 3);
    assert_eq!(summary.pj[0].taille, gzip.stdout.len() as u64);

    let limit = paraphe::pes::pj::PJ_LIMIT;
    let out = paraphe::pes::pj::extract(&pes, &summary.pj[0], limit).expect("extract");
    assert!(out == original, "the original document, byte for byte");
    let damaged = paraphe::pes::pj::extract(&pes, &summary.pj[1], limit)
        .expect_err("damaged")
        .to_string();
    assert!(
        damaged.contains("« abimee.pdf »") && damaged.contains("base64"),
        "{damaged}"
    );
    let empty = paraphe::pes::pj::extract(&pes, &summary.pj[2], limit)
        .expect_err("no content")
        .to_string();
    assert!(empty.contains("« vide.pdf »"), "{empty}");
    // Bounded: a limit below the document refuses it without decompressing it all.
    let small = paraphe::pes::pj::extract(&pes, &summary.pj[0], 1000)
        .expect_err("limit")
        .to_string();
    assert!(small.contains("dépasse"), "{small}");

    // The command line: one PJ by its IdUnique, into a private file.
    let sortie = dir.path().join("pj");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["pes", "extraire", "--pj", "u1", "--json", "-o"])
        .arg(&sortie)
        .arg(&pes)
        .output()
        .expect("paraphe");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(json["pj"][0]["id_unique"], "u1");
    assert_eq!(json["pj"][0]["taille"], original.len());
    let written = std::fs::read(sortie.join("facture.pdf")).expect("written");
    assert!(written == original);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sortie.join("facture.pdf"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private: {mode:o}");
    }
    // All of them: the damaged one stops the extraction with exit 1 and a French message.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["pes", "extraire", "-o"])
        .arg(&sortie)
        .arg(&pes)
        .output()
        .expect("paraphe");
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("« abimee.pdf »"));
    assert!(
        sortie.join("2-facture.pdf").is_file(),
        "a second copy gets a new name"
    );
    // An unknown IdUnique is refused before anything is written.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["pes", "extraire", "--pj", "u9", "-o"])
        .arg(dir.path().join("rien"))
        .arg(&pes)
        .output()
        .expect("paraphe");
    assert_eq!(run.status.code(), Some(2));
    assert!(!dir.path().join("rien").exists());
}

/// The review's SHA-256 (which binds it to the signature) is computed beside the summary, from
/// the same read: it is the hash of the whole file, trailing bytes after the root included, for
/// a file of many read chunks; and the summary is the same as read directly.
#[test]
fn the_reviewed_hash_covers_the_whole_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut xml = HEAD.to_owned();
    for i in 0..40 {
        let amounts: Vec<String> = (0..200).map(|j| format!("{}.{:02}", i + j, j)).collect();
        let amounts: Vec<&str> = amounts.iter().map(String::as_str).collect();
        xml.push_str(&bordereau(&format!("B{i}"), amounts.len() as u32, &amounts));
    }
    xml.push_str("</PES_DepenseAller></n:PES_Aller>\n<!-- après la racine -->\n\n");
    let bytes = latin1(&xml);
    assert!(bytes.len() > 2 << 20, "several chunks: {}", bytes.len());
    let path = tmp.path().join("pes.xml");
    std::fs::write(&path, &bytes).expect("write");
    let summary = inspect_file(&path).expect("summary");
    assert_eq!(summary.sha256, openssl::sha::sha256(&bytes).to_vec());
    let direct = read_summary(bytes.as_slice()).expect("direct");
    assert_eq!(summary.bordereaux.len(), 40);
    assert_eq!(
        serde_json::to_string(&summary).expect("json"),
        serde_json::to_string(&direct).expect("json")
    );
    assert!(summary.iso_8859_1_declared_early);
    // For a report, the same summary without the hash.
    let report = paraphe::pes::summarise_file(&path).expect("report");
    assert!(report.sha256.is_empty());
    assert_eq!(
        serde_json::to_string(&report).expect("json"),
        serde_json::to_string(&direct).expect("json")
    );

    // A missing file is an input/output error, not a summary.
    assert!(matches!(
        inspect_file(&tmp.path().join("absent.xml")),
        Err(PesError::Io { .. })
    ));
}

/// The DGFiP's example PES_Retour is a recette retour: IdPce, ObjPce, EtatPce… sit directly in
/// BlocPiece. Every piece is read, none comes out empty.
#[test]
fn the_dgfip_recette_retour_is_read_from_bloc_piece() {
    let Some(dir) = samples() else { return };
    let file = dir.join("s2low-more/PES_Exemple_Retour.xml");
    let retour = paraphe::pes::retour::read_retour(std::io::BufReader::new(
        std::fs::File::open(&file).expect("open"),
    ))
    .expect("retour");
    assert_eq!(retour.type_fichier.as_deref(), Some("PESRETOUR_REC"));
    let pieces: Vec<_> = retour.bordereaux.iter().flat_map(|b| &b.pieces).collect();
    assert!(!pieces.is_empty());
    let count = xpath(&file, "count(//Piece)");
    assert_eq!(pieces.len().to_string(), count);
    let ids = xpath(&file, "//Piece/BlocPiece/IdPce/@V");
    for p in &pieces {
        let id = p.id.as_deref().expect("IdPce read");
        assert!(ids.contains(&format!("V=\"{id}\"")), "{id} not in {ids}");
        assert!(p.etat.is_some() && p.objet.is_some(), "{p:?}");
    }
    assert_eq!(pieces[0].id.as_deref(), Some("1449"));
    assert_eq!(
        pieces[0].objet.as_deref(),
        Some("LOUIS XVI du 03/01/2005 au 28/02/2005")
    );
    assert_eq!(pieces[0].etat.as_deref(), Some("02"));
    assert_eq!(
        pieces[0].date_prise_en_charge.as_deref(),
        Some("2006-01-16")
    );
}

/// A PES signed globally (the S²LOW-made sample) cannot be signed again, per bordereau
/// (`pes controler`'s intent) or globally.
#[test]
fn a_globally_signed_file_is_flagged_for_any_new_signature() {
    let Some(dir) = samples() else { return };
    let summary = inspect_file(&dir.join("s2low-more/HELIOS_SIMU_ALR2_1445334258_694103934.xml"))
        .expect("global");
    for intent in [Intent::SignBordereaux, Intent::SignFile] {
        let f = check(&summary, intent);
        assert!(
            f.iter().any(|f| f.code == "pes.deja_signe"
                && f.is_blocking()
                && f.message.contains("signature globale")),
            "{intent:?}: {f:#?}"
        );
    }
    assert!(
        !check(&summary, Intent::Check)
            .iter()
            .any(|f| f.code == "pes.deja_signe")
    );
}

/// A PES made of one piece carrying `refs` (PJRef elements), then `pes_pj` (PJ elements) in a
/// PES_PJ.
fn with_pj(refs: &str, pes_pj: &str) -> Vec<u8> {
    let mut xml = HEAD.to_owned();
    xml.push_str(&bordereau("B1", 1, &["1"]).replacen(
        "</LigneDePiece></Piece>",
        &format!("</LigneDePiece>{refs}</Piece>"),
        1,
    ));
    xml.push_str("</PES_DepenseAller>\n<PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ>");
    xml.push_str(pes_pj);
    xml.push_str("</PES_PJ>\n</n:PES_Aller>\n");
    latin1(&xml)
}

/// A PJ referenced but not in the file may have been sent in an earlier flow: a warning that
/// says so (its Support says electronic, paper or CD, never « in this file »).
#[test]
fn a_pj_referenced_but_not_in_the_file_is_a_warning_that_says_why() {
    let refs = "<PJRef><Support V=\"01\"/><IdUnique V=\"AVANT\"/></PJRef>\
<PJRef><Support V=\"02\"/><IdUnique V=\"PAPIER\"/><NomPJ V=\"contrat papier\"/></PJRef>\
<PJRef><Support V=\"01\"/><IdUnique V=\"ICI\"/></PJRef>";
    let pj = "<PJ><Contenu><Fichier MIMEType=\"application/pdf\">QUJD</Fichier></Contenu>\
<IdUnique V=\"ICI\"/><NomPJ V=\"ici.pdf\"/><TypePJ V=\"006\"/></PJ>";
    let summary = read_summary(with_pj(refs, pj).as_slice()).expect("read");
    let findings = check(&summary, Intent::SignBordereaux);
    let missing: Vec<_> = findings
        .iter()
        .filter(|f| f.code == "pes.pj_introuvable")
        .collect();
    assert_eq!(missing.len(), 2, "{findings:#?}");
    assert!(missing.iter().all(|f| !f.is_blocking()), "{missing:#?}");
    assert!(
        missing[0].message.contains("« AVANT »") && missing[0].message.contains("flux précédent"),
        "{}",
        missing[0].message
    );
    assert!(
        missing[1].message.contains("« PAPIER »") && missing[1].message.contains("papier"),
        "{}",
        missing[1].message
    );
}

/// A PJ without NomPJ is said to have no name, not to lack an extension.
#[test]
fn a_pj_without_a_name_is_said_to_have_none() {
    let refs = "<PJRef><Support V=\"01\"/><IdUnique V=\"ICI\"/></PJRef>";
    let pj = "<PJ><Contenu><Fichier MIMEType=\"application/pdf\">QUJD</Fichier></Contenu>\
<IdUnique V=\"ICI\"/><TypePJ V=\"006\"/></PJ>";
    let summary = read_summary(with_pj(refs, pj).as_slice()).expect("read");
    let findings = check(&summary, Intent::SignBordereaux);
    let unnamed: Vec<_> = findings
        .iter()
        .filter(|f| f.code == "pes.pj_sans_nom")
        .collect();
    assert_eq!(unnamed.len(), 1, "{findings:#?}");
    assert!(unnamed[0].is_blocking());
    assert!(unnamed[0].message.contains("« ICI »") && unnamed[0].message.contains("pas de nom"));
    assert!(
        !findings.iter().any(|f| f.message.contains("« ? »")),
        "{findings:#?}"
    );
    assert!(
        !findings.iter().any(|f| f.code == "pes.pj_extension"),
        "{findings:#?}"
    );
    assert!(
        !findings.iter().any(|f| f.code == "pes.pj_introuvable"),
        "{findings:#?}"
    );
}

/// A malformed file is placed by line and column, as an editor shows them, not only by byte: a
/// NUL byte in the middle of a Latin-1 line with accents before it (one character per byte),
/// and content after the root element. The expected places are counted here from the text the
/// test wrote.
#[test]
fn a_malformed_file_is_placed_by_line_and_column() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = format!(
        "{HEAD}{}</PES_DepenseAller></n:PES_Aller>\n",
        bordereau("B1", 1, &["10.00"])
    );
    // Where a fault is put: its line (counted from 1) and column (characters, from 1).
    let place = |text: &str, at: usize| {
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count()
            + 1;
        (line, column)
    };
    let nul_at = text.find("Fournitures").expect("objet") + "Four".len();
    let with_nul = format!("{}\u{0}{}", &text[..nul_at], &text[nul_at..]);
    let tail_at = text.len();
    let with_tail = format!("{text}<Autre/>\n");
    for (name, faulty, at) in [
        ("nul", with_nul, nul_at),
        ("apres-racine", with_tail, tail_at),
    ] {
        let path = tmp.path().join(format!("{name}.xml"));
        std::fs::write(&path, latin1(&faulty)).expect("write");
        let err = inspect_file(&path).expect_err(name);
        assert!(matches!(err, PesError::Malformed { .. }), "{name}: {err:?}");
        let (line, column) = place(&faulty, at);
        let message = err.to_string();
        assert!(line > 1, "{name}: the fault is not on the first line");
        // The fault is reported where the reader stands when it sees it: at the fault, or at the
        // start of the tag or text that holds it, on the same line.
        assert!(
            message.contains(&format!("ligne {line}, colonne ")),
            "{name}: {message} (attendu ligne {line}, colonne {column})"
        );
        let reported: usize = message
            .split("colonne ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no column in {message}"));
        assert!(
            reported <= column,
            "{name}: {message} (faute en colonne {column})"
        );
    }
}
