//! Test data for the ACTES tests, generated at test time (TEST data, no third-party file copied):
//! PDFs made with lopdf, PNG and JPEG headers, a small classification, a collectivité.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use paraphe::actes::classification::Classification;
use paraphe::actes::model::{Collectivite, PieceSaisie, Saisie};
use paraphe::actes::names::StyleNoms;
use paraphe::actes::register::Registre;
use paraphe::actes::rules::{self, Contexte, Controle};
use time::Date;
use time::macros::date;

pub const TODAY: Date = date!(2026 - 03 - 10);

/// A one-page PDF saying `text`.
pub fn pdf_doc(text: &str) -> Document {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let content = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 14.into()]),
            Operation::new("Td", vec![72.into(), 720.into()]),
            Operation::new("Tj", vec![Object::string_literal(text)]),
            Operation::new("ET", vec![]),
        ],
    };
    let content_id = doc.add_object(Stream::new(
        dictionary! {},
        content.encode().expect("content"),
    ));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::string_literal(b"0123456789abcdef".to_vec()),
            Object::string_literal(b"0123456789abcdef".to_vec()),
        ]),
    );
    doc
}

pub fn pdf_bytes(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    pdf_doc(text).save_to(&mut out).expect("save pdf");
    out
}

/// A PDF encrypted by lopdf (RC4 128 bits, empty user password: it opens without a password,
/// yet it is encrypted).
pub fn encrypted_pdf_lopdf() -> Vec<u8> {
    let mut doc = pdf_doc("secret");
    let state = lopdf::EncryptionState::try_from(lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "proprietaire",
        user_password: "",
        key_length: 128,
        permissions: lopdf::Permissions::all(),
    })
    .expect("encryption state");
    doc.encrypt(&state).expect("encrypt");
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

/// A PDF encrypted by qpdf (AES-256), when qpdf is installed.
pub fn encrypted_pdf_qpdf(dir: &Path) -> Option<Vec<u8>> {
    let plain = dir.join("clair.pdf");
    let out = dir.join("chiffre-qpdf.pdf");
    std::fs::write(&plain, pdf_bytes("qpdf")).expect("write");
    let status = std::process::Command::new("qpdf")
        .args(["--encrypt", "utilisateur", "proprietaire", "256", "--"])
        .arg(&plain)
        .arg(&out)
        .status()
        .ok()?;
    status.success().then(|| std::fs::read(&out).expect("read"))
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A real w×h grey PNG.
pub fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    use std::io::Write;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let mut raw = Vec::new();
    for _ in 0..h {
        raw.push(0);
        raw.extend(std::iter::repeat_n(0x80, w as usize));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("zlib");
    png_chunk(&mut out, b"IDAT", &z.finish().expect("zlib"));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// JPEG markers up to a baseline frame header w×h (what the check reads), then EOI.
pub fn jpeg_bytes(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[
        0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    ]);
    out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// A classification written for the tests (dated `date`), ISO-8859-1.
/// The sandbox's classification (the library's, so tests and the sandbox agree).
pub fn classification_xml(date: &str) -> Vec<u8> {
    paraphe::platform::sandbox::replies::classification_xml(date)
}

pub fn classification(date: &str) -> Classification {
    Classification::parse(&classification_xml(date), "test.xml").expect("classification")
}

pub fn collectivite() -> Collectivite {
    Collectivite {
        siren: "210600730".to_owned(),
        departement: "006".to_owned(),
        arrondissement: "2".to_owned(),
        nature: "31".to_owned(),
        referent_nom: Some("Hélène Müller".to_owned()),
        referent_telephone: Some("04 93 00 00 00".to_owned()),
        referent_email: Some("helene.muller@mairie-exemple.fr".to_owned()),
        emails_retour: vec!["actes@mairie-exemple.fr".to_owned()],
    }
}

/// Writes `bytes` to `dir/name`.
pub fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

pub fn piece(path: &Path, typologie: Option<&str>) -> PieceSaisie {
    PieceSaisie {
        chemin: path.to_owned(),
        typologie: typologie.map(str::to_owned),
    }
}

/// A correct délibération, its act file written in `dir`.
pub fn saisie(dir: &Path) -> Saisie {
    let acte = file(dir, "deliberation.pdf", &pdf_bytes("Deliberation"));
    Saisie {
        nature: Some("1".to_owned()),
        matiere: Some("1.1".to_owned()),
        numero: Some("DEL2026_015".to_owned()),
        date: Some("2026-03-02".to_owned()),
        objet: Some("Attribution du marché de travaux de l'école".to_owned()),
        acte: Some(piece(&acte, None)),
        annexes: Vec::new(),
    }
}

pub fn contexte<'a>(
    classification: Option<&'a Classification>,
    registre: Option<&'a Registre>,
) -> Contexte<'a> {
    Contexte {
        aujourdhui: TODAY,
        limite_octets: 20_000_000,
        classification,
        classification_plus_recente: None,
        registre,
        style: StyleNoms::S2low,
    }
}

pub fn check(saisie: &Saisie, ctx: &Contexte<'_>) -> Controle {
    rules::check(saisie, &collectivite(), ctx)
}
