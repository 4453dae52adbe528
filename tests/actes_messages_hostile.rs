//! Hostile input is refused with a French sentence: DOCTYPE, path traversal and absolute paths in
//! an archive, links and directories, duplicated names, a member or an archive too large (zip/tar
//! bomb), too many members, contradictory sizes. And `paraphe actes lire` end to end: exit code
//! 0 when read, 2 with a French message otherwise. Archives here are generated (TEST data).

mod common;

use common::conformance;
use flate2::Compression;
use flate2::write::GzEncoder;
use paraphe::actes::messages::{
    ActesReadError, ReadLimits, Reading, read_any, read_archive, read_message,
};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// A header whose name is written as is (the tar crate's own setters refuse `..`).
fn header(name: &[u8], size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

fn file(name: &str, data: &[u8]) -> (tar::Header, Vec<u8>) {
    (
        header(name.as_bytes(), data.len() as u64, tar::EntryType::Regular),
        data.to_vec(),
    )
}

/// A pax extended header carrying these records.
fn pax(records: &[(&str, &str)]) -> (tar::Header, Vec<u8>) {
    let mut data = Vec::new();
    for (k, v) in records {
        let body = format!(" {k}={v}\n");
        let mut len = body.len() + 1;
        while (len.to_string().len() + body.len()) != len {
            len += 1;
        }
        data.extend_from_slice(format!("{len}{body}").as_bytes());
    }
    (
        header(b"PaxHeaders/x", data.len() as u64, tar::EntryType::XHeader),
        data,
    )
}

fn tar_gz(entries: &[(tar::Header, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (h, data) in entries {
        builder.append(h, data.as_slice()).expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

const ENVELOPE: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<actes:EnveloppeMISILLCL xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216" xmlns:insee="http://xml.insee.fr/schema">
  <actes:Emetteur><actes:IDPref actes:Departement="034"/></actes:Emetteur>
  <actes:FormulairesEnvoyes><actes:Formulaire><actes:NomFichier>034-123456789-20260101-TEST1-DE-2-1_0.xml</actes:NomFichier></actes:Formulaire></actes:FormulairesEnvoyes>
  <actes:Destinataire insee:SIREN="123456789"/>
</actes:EnveloppeMISILLCL>
"#;

const COURRIER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<actes:CourrierSimple xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216" actes:IDActe="034-123456789-20260101-TEST1-DE" actes:DateCourrierPref="2026-01-15">
  <actes:Document><actes:NomFichier>034-123456789-20260101-TEST1-DE-2-1_1.pdf</actes:NomFichier></actes:Document>
</actes:CourrierSimple>
"#;

const PDF: &[u8] = b"%PDF-1.4\n%TEST\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

fn good_entries() -> Vec<(tar::Header, Vec<u8>)> {
    vec![
        file(
            "TACT--SPREF0341-123456789-20260115-1.xml",
            ENVELOPE.as_bytes(),
        ),
        file(
            "034-123456789-20260101-TEST1-DE-2-1_0.xml",
            COURRIER.as_bytes(),
        ),
        file("034-123456789-20260101-TEST1-DE-2-1_1.pdf", PDF),
    ]
}

fn refused(archive: &[u8]) -> String {
    match read_archive(archive, &ReadLimits::default()) {
        Ok(a) => panic!("accepted: {:?}", a.fichiers),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_generated_archive_is_read() {
    let bytes = tar_gz(&good_entries());
    let a = read_archive(bytes.as_slice(), &ReadLimits::default()).expect("read");
    assert_eq!(a.kind.code(), "2-1");
    assert_eq!(a.fichiers.len(), 3);
    assert!(a.avertissements.is_empty(), "{:?}", a.avertissements);
    let letter = &a.messages[0].documents[0];
    assert_eq!(letter.taille, Some(PDF.len() as u64));
    // A plain (uncompressed) tar, through the content sniffing entry point.
    let mut builder = tar::Builder::new(Vec::new());
    for (h, d) in good_entries() {
        builder.append(&h, d.as_slice()).expect("append");
    }
    let plain = builder.into_inner().expect("tar");
    assert!(matches!(
        read_any(plain.as_slice(), &ReadLimits::default()),
        Ok(Reading::Archive(_))
    ));
}

#[test]
fn archive_inconsistencies_are_reported() {
    let mut entries = good_entries();
    entries.pop(); // the letter is missing
    entries.push(file("extra.pdf", b"not a pdf"));
    let a = read_archive(tar_gz(&entries).as_slice(), &ReadLimits::default()).expect("read");
    let all = a.avertissements.join("\n");
    assert!(all.contains("2-1_1.pdf") && all.contains("absent"), "{all}");
    assert!(
        all.contains("extra.pdf") && all.contains("ni annoncé"),
        "{all}"
    );
    assert!(all.contains("non PDF"), "{all}");
}

#[test]
fn doctype_is_refused() {
    let doc = r#"<?xml version="1.0"?>
<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<actes:ARActe xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216">&lol2;</actes:ARActe>"#;
    let err = read_message(doc.as_bytes()).expect_err("DOCTYPE accepted");
    assert!(err.to_string().contains("DOCTYPE"), "{err}");

    // Inside an archive too.
    let mut entries = good_entries();
    entries[1] = file("034-123456789-20260101-TEST1-DE-2-1_0.xml", doc.as_bytes());
    let text = refused(&tar_gz(&entries));
    assert!(
        text.contains("DOCTYPE") && text.contains("2-1_0.xml"),
        "{text}"
    );
}

#[test]
fn foreign_xml_is_not_a_message() {
    let err = read_message(&b"<PES_Aller xmlns='http://example.org/'/>"[..]).expect_err("read");
    assert!(matches!(err, ActesReadError::UnknownRoot { .. }), "{err:?}");
    assert!(
        err.to_string().contains("n'est pas un message ACTES"),
        "{err}"
    );
}

#[test]
fn path_traversal_and_absolute_paths_are_refused() {
    let mut entries = good_entries();
    entries.push(file("../evil", b"x"));
    let text = refused(&tar_gz(&entries));
    assert!(
        text.contains("../evil") && text.contains("hors de l'archive"),
        "{text}"
    );

    let text = refused(&tar_gz(&[file("a/../../evil.xml", b"<x/>")]));
    assert!(text.contains("hors de l'archive"), "{text}");

    let text = refused(&tar_gz(&[file("/etc/cron.d/evil", b"x")]));
    assert!(text.contains("chemin absolu"), "{text}");

    // The name given by a pax header (what extraction tools use) is checked too.
    let mut entries = good_entries();
    entries.push(pax(&[("path", "../../evil")]));
    entries.push(file("innocent.pdf", PDF));
    let text = refused(&tar_gz(&entries));
    assert!(
        text.contains("../../evil") && text.contains("hors de l'archive"),
        "{text}"
    );

    // And by a GNU long name.
    let long = format!("{}/../../evil", "d".repeat(120));
    let mut name = long.clone().into_bytes();
    name.push(0);
    let mut entries = good_entries();
    entries.push((
        header(
            b"././@LongLink",
            name.len() as u64,
            tar::EntryType::GNULongName,
        ),
        name,
    ));
    entries.push(file("innocent.pdf", PDF));
    let text = refused(&tar_gz(&entries));
    assert!(text.contains("hors de l'archive"), "{text}");
}

#[test]
fn pax_names_are_followed() {
    let mut entries = good_entries();
    let letter = entries.pop().expect("letter");
    entries.push(pax(&[(
        "path",
        "034-123456789-20260101-TEST1-DE-2-1_1.pdf",
    )]));
    entries.push(file("truncated-name", &letter.1));
    let a = read_archive(tar_gz(&entries).as_slice(), &ReadLimits::default()).expect("read");
    assert!(a.avertissements.is_empty(), "{:?}", a.avertissements);
    assert!(
        a.file("034-123456789-20260101-TEST1-DE-2-1_1.pdf")
            .is_some()
    );
}

#[test]
fn links_directories_and_devices_are_refused() {
    let mut link = header(b"lettre.pdf", 0, tar::EntryType::Symlink);
    link.set_link_name("/etc/passwd").expect("link");
    link.set_cksum();
    let text = refused(&tar_gz(&[(link, Vec::new())]));
    assert!(
        text.contains("n'est pas un fichier ordinaire") && text.contains("lien"),
        "{text}"
    );

    let mut hard = header(b"lettre.pdf", 0, tar::EntryType::Link);
    hard.set_link_name("x").expect("link");
    hard.set_cksum();
    assert!(refused(&tar_gz(&[(hard, Vec::new())])).contains("lien"));

    let dir = header(b"dossier/", 0, tar::EntryType::Directory);
    let text = refused(&tar_gz(&[(dir, Vec::new())]));
    assert!(text.contains("répertoire"), "{text}");

    let dev = header(b"zero", 0, tar::EntryType::Char);
    assert!(refused(&tar_gz(&[(dev, Vec::new())])).contains("périphérique"));

    let fifo = header(b"tube", 0, tar::EntryType::Fifo);
    assert!(refused(&tar_gz(&[(fifo, Vec::new())])).contains("tube"));
}

#[test]
fn duplicated_names_and_contradictory_sizes_are_refused() {
    let mut entries = good_entries();
    entries.push(file(
        "034-123456789-20260101-TEST1-DE-2-1_1.pdf",
        b"%PDF-1.4 other",
    ));
    let text = refused(&tar_gz(&entries));
    assert!(text.contains("deux fois"), "{text}");

    let mut entries = good_entries();
    entries.push(pax(&[("size", "999")]));
    entries.push(file("innocent.pdf", PDF));
    let text = refused(&tar_gz(&entries));
    assert!(text.contains("contradictoires"), "{text}");
}

#[test]
fn a_huge_member_is_refused_without_being_held() {
    // 50 MB + 1 of zeros: 50 KB compressed. The default cap is 50 MB per member.
    let size: u64 = 50_000_001;
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(header(b"bombe.pdf", size, tar::EntryType::Regular).as_bytes())
        .expect("gz");
    let zeros = vec![0u8; 1 << 20];
    let mut left = size + (512 - size % 512) % 512 + 1024;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        gz.write_all(&zeros[..n]).expect("gz");
        left -= n as u64;
    }
    let bomb = gz.finish().expect("gz");
    assert!(bomb.len() < 1_000_000);
    let text = refused(&bomb);
    assert!(
        text.contains("bombe.pdf") && text.contains("dépasse la taille permise par fichier"),
        "{text}"
    );
    assert!(text.contains("50 Mo"), "{text}");
}

#[test]
fn total_size_and_member_count_are_bounded() {
    let limits = ReadLimits {
        member_bytes: 1_000_000,
        total_bytes: 1_500_000,
        members: 5,
        ..ReadLimits::default()
    };
    let big = vec![b'%'; 900_000];
    let entries = vec![file("a.pdf", &big), file("b.pdf", &big)];
    let text = read_archive(tar_gz(&entries).as_slice(), &limits)
        .expect_err("total")
        .to_string();
    assert!(text.contains("décompressé dépasse"), "{text}");

    let entries: Vec<_> = (0..6).map(|i| file(&format!("f{i}.pdf"), PDF)).collect();
    let text = read_archive(tar_gz(&entries).as_slice(), &limits)
        .expect_err("count")
        .to_string();
    assert!(text.contains("plus de 5 fichiers"), "{text}");
}

#[test]
fn an_xml_bomb_of_elements_is_refused() {
    let limits = ReadLimits {
        xml_elements: 1000,
        ..ReadLimits::default()
    };
    let mut doc = String::from(
        "<actes:RetourClassification xmlns:actes=\"http://www.interieur.gouv.fr/ACTES#v1.1-20040216\">",
    );
    for _ in 0..2000 {
        doc.push_str("<actes:X/>");
    }
    doc.push_str("</actes:RetourClassification>");
    let err = paraphe::actes::messages::read_message_with_limits(doc.as_bytes(), &limits)
        .expect_err("bomb");
    assert!(err.to_string().contains("trop volumineux"), "{err}");
}

#[test]
fn garbage_is_refused() {
    let text = refused(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4]);
    assert!(text.contains("endommagée"), "{text}");
    let err = read_any(&b""[..], &ReadLimits::default()).expect_err("empty");
    assert!(err.to_string().contains("vide"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

fn paraphe(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(args)
        .output()
        .expect("paraphe");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lire(path: &Path, json: bool) -> (i32, String, String) {
    let mut args = vec![
        std::ffi::OsStr::new("actes"),
        std::ffi::OsStr::new("lire"),
        path.as_os_str(),
    ];
    if json {
        args.push(std::ffi::OsStr::new("--json"));
    }
    paraphe(&args)
}

#[test]
fn cli_reads_samples_in_french_and_json() {
    let Some(dir) = conformance("actes/samples") else {
        return;
    };
    let ar = dir.join(
        "pastell-megalis/test/PHPUnit/module/actes-preversement-seda/fixtures/034-491011698-20171207-CL20171227_06-DE-1-2.xml",
    );
    let (code, out, err) = lire(&ar, true);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["type"], "1-2");
    assert_eq!(json["id_acte"], "034-491011698-20171207-CL20171227_06-DE");
    assert_eq!(json["libelle"], "Accusé de réception");

    let (code, out, _) = lire(&ar, false);
    assert_eq!(code, 0);
    assert!(out.starts_with("Accusé de réception (1-2)"), "{out}");
    assert!(
        out.contains("Reçu par la préfecture le : 27/12/2017"),
        "{out}"
    );

    let archive = dir.join("pastell-megalis/test/PHPUnit/fixtures/tar_ball/courrier_simple.tar.gz");
    let (code, out, err) = lire(&archive, true);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["type"], "2-1");
    assert_eq!(json["id_acte"], "001-862614864-20150805-20150805B-AI");
    let files = json["fichiers"].as_array().expect("fichiers");
    assert_eq!(files.len(), 3);
    let pdf = files
        .iter()
        .find(|f| f["nature"] == "pdf")
        .expect("the letter");
    assert_eq!(pdf["nom"], "001-862614864-20150805-20150805B-AI-2-1_1.pdf");
    assert_eq!(pdf["taille"], 21803);

    let (code, out, _) = lire(&archive, false);
    assert_eq!(code, 0);
    assert!(out.contains("Courrier simple de la préfecture"), "{out}");
    assert!(out.contains("Réponse à un courrier simple (2-2)"), "{out}");
}

#[test]
fn cli_refuses_with_exit_code_2_and_a_french_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let doctype = dir.path().join("doctype.xml");
    std::fs::write(
        &doctype,
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
    )
    .expect("write");
    let (code, out, err) = lire(&doctype, false);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.starts_with("Erreur : ") && err.contains("DOCTYPE"),
        "{err}"
    );

    let evil = dir.path().join("evil.tar.gz");
    let mut entries = good_entries();
    entries.push(file("../evil", b"x"));
    std::fs::write(&evil, tar_gz(&entries)).expect("write");
    let (code, _, err) = lire(&evil, true);
    assert_eq!(code, 2);
    assert!(err.contains("hors de l'archive"), "{err}");

    let (code, _, err) = lire(&dir.path().join("absent.xml"), false);
    assert_eq!(code, 2);
    assert!(err.contains("Impossible de lire"), "{err}");
}
