//! Files judged by their content, never by their name. The size is read from the file system
//! first and a file larger than the limit is refused before a single byte is read (a 2 GB file is
//! refused instantly); then at most `limit` bytes are read, the type is detected from the magic
//! bytes, and the format is checked: a PDF must parse and not be encrypted, a JPEG must have a
//! frame header with its dimensions, a PNG its IHDR chunk with the right length and CRC.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::model::Format;
use crate::messages::{t, tf};

/// What the first bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detected {
    Pdf,
    Jpeg,
    Png,
    Xml,
    Html,
    Gif,
    Tiff,
    Bmp,
    Webp,
    /// `MZ`: Windows executable or DLL.
    ExecutableWindows,
    Elf,
    MachO,
    Script,
    Zip,
    /// ZIP holding an Office Open XML document (DOCX, XLSX…).
    OfficeOpenXml,
    /// ZIP holding an OpenDocument (ODT, ODS…).
    OpenDocument,
    /// OLE compound file (DOC, XLS, MSG… of Office 97-2003).
    OfficeAncien,
    Rtf,
    Gzip,
    Rar,
    SevenZip,
    Texte,
    Vide,
    Inconnu,
}

impl Detected {
    /// The type in French, as shown in messages: « exécutable Windows (MZ) », « archive ZIP »…
    pub fn description(self) -> String {
        let key = match self {
            Detected::Pdf => "actes.types.pdf",
            Detected::Jpeg => "actes.types.jpeg",
            Detected::Png => "actes.types.png",
            Detected::Xml => "actes.types.xml",
            Detected::Html => "actes.types.html",
            Detected::Gif => "actes.types.gif",
            Detected::Tiff => "actes.types.tiff",
            Detected::Bmp => "actes.types.bmp",
            Detected::Webp => "actes.types.webp",
            Detected::ExecutableWindows => "actes.types.mz",
            Detected::Elf => "actes.types.elf",
            Detected::MachO => "actes.types.macho",
            Detected::Script => "actes.types.script",
            Detected::Zip => "actes.types.zip",
            Detected::OfficeOpenXml => "actes.types.ooxml",
            Detected::OpenDocument => "actes.types.odf",
            Detected::OfficeAncien => "actes.types.ole",
            Detected::Rtf => "actes.types.rtf",
            Detected::Gzip => "actes.types.gzip",
            Detected::Rar => "actes.types.rar",
            Detected::SevenZip => "actes.types.sevenzip",
            Detected::Texte => "actes.types.texte",
            Detected::Vide => "actes.types.vide",
            Detected::Inconnu => "actes.types.inconnu",
        };
        t(key)
    }

    pub fn format(self) -> Option<Format> {
        match self {
            Detected::Pdf => Some(Format::Pdf),
            Detected::Jpeg => Some(Format::Jpeg),
            Detected::Png => Some(Format::Png),
            Detected::Xml => Some(Format::Xml),
            _ => None,
        }
    }
}

/// How many first bytes [`detect`] looks at.
pub const SNIFF_LEN: usize = 1024;

/// The type of a content from its first bytes (magic numbers).
pub fn detect(head: &[u8]) -> Detected {
    let starts = |m: &[u8]| head.starts_with(m);
    if head.is_empty() {
        return Detected::Vide;
    }
    if starts(b"%PDF-") {
        return Detected::Pdf;
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Detected::Jpeg;
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Detected::Png;
    }
    if starts(b"MZ") {
        return Detected::ExecutableWindows;
    }
    if starts(b"\x7fELF") {
        return Detected::Elf;
    }
    if starts(&[0xCF, 0xFA, 0xED, 0xFE])
        || starts(&[0xCE, 0xFA, 0xED, 0xFE])
        || starts(&[0xFE, 0xED, 0xFA, 0xCF])
        || starts(&[0xFE, 0xED, 0xFA, 0xCE])
        || starts(&[0xCA, 0xFE, 0xBA, 0xBE])
    {
        return Detected::MachO;
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        if head.len() > 38 && &head[30..38] == b"mimetype" {
            return Detected::OpenDocument;
        }
        if memchr::memmem::find(head, b"[Content_Types].xml").is_some()
            || memchr::memmem::find(head, b"word/").is_some()
            || memchr::memmem::find(head, b"xl/").is_some()
        {
            return Detected::OfficeOpenXml;
        }
        return Detected::Zip;
    }
    if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Detected::OfficeAncien;
    }
    if starts(&[0x1F, 0x8B]) {
        return Detected::Gzip;
    }
    if starts(b"Rar!\x1a\x07") {
        return Detected::Rar;
    }
    if starts(&[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) {
        return Detected::SevenZip;
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Detected::Gif;
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Detected::Tiff;
    }
    if head.len() >= 12 && starts(b"RIFF") && &head[8..12] == b"WEBP" {
        return Detected::Webp;
    }
    // "BM" alone is too weak (a text may start with it): also require the reserved zeros.
    if head.len() >= 14 && starts(b"BM") && head[6..10] == [0, 0, 0, 0] {
        return Detected::Bmp;
    }
    // A PDF reader accepts a header anywhere in the first kilobyte (some producers put junk
    // before it). Looked for only after the binary formats, so that an executable or an archive
    // carrying the string early is still called what it is; the parser checks the rest.
    if memchr::memmem::find(&head[..head.len().min(SNIFF_LEN)], b"%PDF-").is_some() {
        return Detected::Pdf;
    }
    if starts(b"{\\rtf") {
        return Detected::Rtf;
    }
    if starts(b"#!") {
        return Detected::Script;
    }
    let text = head
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(head);
    let first = text.iter().position(|b| !b.is_ascii_whitespace());
    if let Some(i) = first
        && text[i] == b'<'
    {
        let rest = text[i..].to_ascii_lowercase();
        if rest.starts_with(b"<!doctype html") || rest.starts_with(b"<html") {
            return Detected::Html;
        }
        if rest.starts_with(b"<?xml")
            || rest
                .get(1)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        {
            return Detected::Xml;
        }
    }
    if looks_like_text(head) {
        return Detected::Texte;
    }
    Detected::Inconnu
}

/// No NUL, few control characters: text in some 8-bit encoding or UTF-8.
fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    controls * 100 <= head.len()
}

/// What was learned about a file whose content is acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub format: Format,
    pub taille: u64,
    /// Pages of a PDF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<usize>,
    /// Dimensions of an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub largeur: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hauteur: Option<u32>,
    #[serde(skip)]
    pub sha256: [u8; 32],
}

/// Why a file is refused. Each variant reads as a French sentence naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error("{}", tf("actes.fichiers.introuvable", &[("fichier", .nom), ("detail", .detail)]))]
    Unreadable { nom: String, detail: String },
    #[error("{}", tf("actes.fichiers.pas_un_fichier", &[("fichier", .nom)]))]
    NotAFile { nom: String },
    #[error("{}", tf("actes.fichiers.vide", &[("fichier", .nom)]))]
    Empty { nom: String },
    #[error("{}", tf("actes.fichiers.trop_gros", &[("fichier", .nom), ("taille", &human_size(*.taille)), ("limite", &human_size(*.limite))]))]
    TooLarge {
        nom: String,
        taille: u64,
        limite: u64,
    },
    /// Changed while being read (grew beyond the size read at first).
    #[error("{}", tf("actes.fichiers.modifie", &[("fichier", .nom)]))]
    Changed { nom: String },
    /// Content of a type that is not accepted here.
    #[error("{}", tf("actes.fichiers.type_refuse", &[("fichier", .nom), ("type", &.detecte.description()), ("attendu", .attendu)]))]
    WrongType {
        nom: String,
        detecte: Detected,
        attendu: String,
    },
    #[error("{}", tf("actes.fichiers.pdf_illisible", &[("fichier", .nom), ("detail", .detail)]))]
    BadPdf { nom: String, detail: String },
    #[error("{}", tf("actes.fichiers.pdf_chiffre", &[("fichier", .nom)]))]
    EncryptedPdf { nom: String },
    #[error("{}", tf("actes.fichiers.pdf_sans_page", &[("fichier", .nom)]))]
    EmptyPdf { nom: String },
    #[error("{}", tf("actes.fichiers.jpeg_invalide", &[("fichier", .nom), ("detail", .detail)]))]
    BadJpeg { nom: String, detail: String },
    #[error("{}", tf("actes.fichiers.png_invalide", &[("fichier", .nom), ("detail", .detail)]))]
    BadPng { nom: String, detail: String },
    #[error("{}", tf("actes.fichiers.xml_invalide", &[("fichier", .nom), ("detail", .detail)]))]
    BadXml { nom: String, detail: String },
}

impl FileProblem {
    /// Stable code of the finding this problem becomes.
    pub fn code(&self) -> &'static str {
        match self {
            FileProblem::Unreadable { .. } | FileProblem::NotAFile { .. } => "actes.fichier",
            FileProblem::Empty { .. } => "actes.fichier_vide",
            FileProblem::TooLarge { .. } => "actes.fichier_taille",
            FileProblem::Changed { .. } => "actes.fichier_modifie",
            FileProblem::WrongType { .. } => "actes.fichier_type",
            FileProblem::BadPdf { .. } | FileProblem::EmptyPdf { .. } => "actes.pdf",
            FileProblem::EncryptedPdf { .. } => "actes.pdf_chiffre",
            FileProblem::BadJpeg { .. } => "actes.jpeg",
            FileProblem::BadPng { .. } => "actes.png",
            FileProblem::BadXml { .. } => "actes.xml",
        }
    }
}

/// `12,3 Mo`, `850 ko`, `12 octets`: sizes as people read them (decimal units, as the 20 Mo of
/// the service description).
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} Mo", bytes as f64 / 1_000_000.0).replace('.', ",")
    } else if bytes >= 1_000 {
        format!("{} ko", bytes / 1_000)
    } else {
        format!("{bytes} octets")
    }
}

/// Bytes in French, to the byte below a megabyte: "21 803 octets", "1,5 Mo", "50 Mo" (tenths
/// truncated, none for a round count). A second format beside [`human_size`], not a duplicate:
/// where the exact count matters (the members of an archive read, the bounds of a reading, the
/// space of the copies), "21 ko" would hide what [`human_size`]'s rounding is made to hide.
/// `actes::messages::human_size` is this function, under its former name.
pub fn precise_size(bytes: u64) -> String {
    if bytes >= 1_000_000 && bytes.is_multiple_of(1_000_000) {
        return format!("{} Mo", group_digits(bytes / 1_000_000));
    }
    if bytes >= 1_000_000 {
        let tenths = bytes / 100_000;
        return format!("{},{} Mo", group_digits(tenths / 10), tenths % 10);
    }
    if bytes == 1 {
        return "1 octet".to_owned();
    }
    format!("{} octets", group_digits(bytes))
}

/// `21 803`: digits grouped by three with a non-breaking space, as French writes numbers.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

/// The file's name, for messages.
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Size of a regular file, from the file system only (nothing read).
pub fn regular_file_size(path: &Path) -> Result<u64, FileProblem> {
    let nom = display_name(path);
    let meta = std::fs::metadata(path).map_err(|e| FileProblem::Unreadable {
        nom: nom.clone(),
        detail: io_detail(&e),
    })?;
    // A FIFO or a device would block or never end: only regular files.
    if !meta.is_file() {
        return Err(FileProblem::NotAFile { nom });
    }
    Ok(meta.len())
}

/// The file's bytes, at most `limit`; the size is checked before reading.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, FileProblem> {
    let nom = display_name(path);
    let size = regular_file_size(path)?;
    if size > limit {
        return Err(FileProblem::TooLarge {
            nom,
            taille: size,
            limite: limit,
        });
    }
    let file = File::open(path).map_err(|e| FileProblem::Unreadable {
        nom: nom.clone(),
        detail: io_detail(&e),
    })?;
    // Read one byte more than allowed, to see a file that grew since it was measured.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| FileProblem::Unreadable {
            nom: nom.clone(),
            detail: io_detail(&e),
        })?;
    if bytes.len() as u64 > limit {
        return Err(FileProblem::Changed { nom });
    }
    Ok(bytes)
}

fn io_detail(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => t("actes.fichiers.absent"),
        std::io::ErrorKind::PermissionDenied => t("actes.fichiers.acces_refuse"),
        _ => e.to_string(),
    }
}

/// Reads and checks a file: size first, then type by content, then its format. `accepted` lists
/// the formats allowed here; `attendu` says them in French for the message.
pub fn inspect(
    path: &Path,
    limit: u64,
    accepted: &[Format],
    attendu: &str,
) -> Result<FileInfo, FileProblem> {
    let nom = display_name(path);
    let bytes = read_limited(path, limit)?;
    inspect_bytes(&nom, &bytes, limit, accepted, attendu)
}

/// [`inspect`] on bytes already read (`nom` names them in messages).
pub fn inspect_bytes(
    nom: &str,
    bytes: &[u8],
    limit: u64,
    accepted: &[Format],
    attendu: &str,
) -> Result<FileInfo, FileProblem> {
    let nom = nom.to_owned();
    if bytes.is_empty() {
        return Err(FileProblem::Empty { nom });
    }
    let detected = detect(&bytes[..bytes.len().min(SNIFF_LEN)]);
    let format = detected
        .format()
        .filter(|f| accepted.contains(f))
        .ok_or_else(|| FileProblem::WrongType {
            nom: nom.clone(),
            detecte: detected,
            attendu: attendu.to_owned(),
        })?;
    let mut info = FileInfo {
        format,
        taille: bytes.len() as u64,
        pages: None,
        largeur: None,
        hauteur: None,
        sha256: openssl::sha::sha256(bytes),
    };
    match format {
        Format::Pdf => info.pages = Some(check_pdf(&nom, bytes, limit)?),
        Format::Jpeg => {
            let (w, h) = jpeg_dimensions(bytes).map_err(|detail| FileProblem::BadJpeg {
                nom: nom.clone(),
                detail,
            })?;
            (info.largeur, info.hauteur) = (Some(w), Some(h));
        }
        Format::Png => {
            let (w, h) = png_dimensions(bytes).map_err(|detail| FileProblem::BadPng {
                nom: nom.clone(),
                detail,
            })?;
            (info.largeur, info.hauteur) = (Some(w), Some(h));
        }
        Format::Xml => check_xml(&nom, bytes)?,
    }
    Ok(info)
}

/// Parses the PDF; refuses an encrypted one (an `/Encrypt` entry in the trailer) and one without
/// pages. Returns the number of pages.
fn check_pdf(nom: &str, bytes: &[u8], limit: u64) -> Result<usize, FileProblem> {
    // Object and cross-reference streams are inflated while loading: bound each one so that a
    // small file cannot expand into gigabytes.
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(usize::try_from(limit.saturating_mul(4)).unwrap_or(usize::MAX)),
        ..Default::default()
    };
    // The trailer is read before any decryption: a PDF with an /Encrypt entry is refused
    // whether or not lopdf could open it with an empty password.
    let doc = match lopdf::Document::load_mem_with_options(bytes, options) {
        Ok(doc) => doc,
        Err(
            lopdf::Error::Decryption(_)
            | lopdf::Error::InvalidPassword
            | lopdf::Error::AlreadyEncrypted,
        ) => {
            return Err(FileProblem::EncryptedPdf {
                nom: nom.to_owned(),
            });
        }
        Err(e) => {
            tracing::debug!("PDF {nom} illisible : {e}");
            return Err(FileProblem::BadPdf {
                nom: nom.to_owned(),
                detail: pdf_error_detail(&e),
            });
        }
    };
    if doc.trailer.has(b"Encrypt") || doc.was_encrypted() {
        return Err(FileProblem::EncryptedPdf {
            nom: nom.to_owned(),
        });
    }
    let pages = doc.get_pages().len();
    if pages == 0 {
        return Err(FileProblem::EmptyPdf {
            nom: nom.to_owned(),
        });
    }
    Ok(pages)
}

/// lopdf's errors are English and technical: say in French which part of the file is damaged.
fn pdf_error_detail(e: &lopdf::Error) -> String {
    match e {
        lopdf::Error::Parse(_) | lopdf::Error::IndirectObject { .. } => {
            t("actes.fichiers.pdf_err_syntaxe")
        }
        lopdf::Error::Xref(_)
        | lopdf::Error::MissingXrefEntry
        | lopdf::Error::InvalidOffset(_)
        | lopdf::Error::ObjectNotFound(_) => t("actes.fichiers.pdf_err_xref"),
        lopdf::Error::Decompress(_)
        | lopdf::Error::InvalidStream(_)
        | lopdf::Error::InvalidObjectStream(_) => t("actes.fichiers.pdf_err_flux"),
        _ => t("actes.fichiers.pdf_err_structure"),
    }
}

/// Width and height from the first frame header (SOFn) of a JPEG.
pub fn jpeg_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(t("actes.fichiers.jpeg_soi"));
    }
    let mut i = 2;
    loop {
        if i >= bytes.len() {
            return Err(t("actes.fichiers.jpeg_sans_sof"));
        }
        // Markers may be preceded by any number of 0xFF fill bytes.
        if bytes.get(i) != Some(&0xFF) {
            return Err(t("actes.fichiers.jpeg_segment"));
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Err(t("actes.fichiers.jpeg_sans_sof"));
        };
        i += 1;
        match marker {
            // Standalone markers: no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => return Err(t("actes.fichiers.jpeg_sans_sof")),
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (bytes.get(i), bytes.get(i + 1)) else {
            return Err(t("actes.fichiers.jpeg_sans_sof"));
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length < 2 || i + length > bytes.len() {
            return Err(t("actes.fichiers.jpeg_segment"));
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            if length < 8 {
                return Err(t("actes.fichiers.jpeg_sof"));
            }
            let seg = &bytes[i + 2..i + length];
            let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            let components = usize::from(seg[5]);
            if width == 0
                || height == 0
                || !(1..=4).contains(&components)
                || length < 8 + 3 * components
            {
                return Err(t("actes.fichiers.jpeg_sof"));
            }
            return Ok((width, height));
        }
        i += length;
    }
}

/// Width and height from the IHDR chunk of a PNG, whose length and CRC are checked.
pub fn png_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(t("actes.fichiers.png_signature"));
    }
    let Some(chunk) = bytes.get(8..8 + 4 + 4 + 13 + 4) else {
        return Err(t("actes.fichiers.png_ihdr"));
    };
    let length = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    if &chunk[4..8] != b"IHDR" || length != 13 {
        return Err(t("actes.fichiers.png_ihdr"));
    }
    let data = &chunk[8..21];
    let stored = u32::from_be_bytes([chunk[21], chunk[22], chunk[23], chunk[24]]);
    let mut crc = flate2::Crc::new();
    crc.update(&chunk[4..21]);
    if crc.sum() != stored {
        return Err(t("actes.fichiers.png_crc"));
    }
    let width = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let height = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    let (depth, colour) = (data[8], data[9]);
    let depth_ok = match colour {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 || !depth_ok
    {
        return Err(t("actes.fichiers.png_ihdr_valeurs"));
    }
    Ok((width, height))
}

/// An XML act (budget document) must at least be well-formed; a DOCTYPE is refused.
fn check_xml(nom: &str, bytes: &[u8]) -> Result<(), FileProblem> {
    let mut reader = crate::xml::XmlReader::new(bytes).map_err(|e| FileProblem::BadXml {
        nom: nom.to_owned(),
        detail: e.to_string(),
    })?;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                return Err(FileProblem::BadXml {
                    nom: nom.to_owned(),
                    detail: e.to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(b"%PDF-1.4\n"), Detected::Pdf);
        assert_eq!(detect(b"MZ\x90\0"), Detected::ExecutableWindows);
        assert_eq!(detect(b"MZ\x90\0 %PDF-1.4"), Detected::ExecutableWindows);
        assert_eq!(detect(b"\r\n%PDF-1.4"), Detected::Pdf);
        assert_eq!(detect(b"\x7fELF\x02"), Detected::Elf);
        assert_eq!(detect(b"PK\x03\x04rest"), Detected::Zip);
        assert_eq!(detect(b"Bonjour,\nvoici le texte."), Detected::Texte);
        assert_eq!(detect(b"<?xml version='1.0'?><a/>"), Detected::Xml);
        assert_eq!(detect(b"<!DOCTYPE html><html>"), Detected::Html);
        assert_eq!(detect(b""), Detected::Vide);
        assert_eq!(detect(b"\x00\x01\x02\x03"), Detected::Inconnu);
        assert_eq!(human_size(20_000_000), "20,0 Mo");
    }

    #[test]
    fn sizes_in_french() {
        assert_eq!(precise_size(50_000_000), "50 Mo");
        assert_eq!(precise_size(21_803), "21\u{a0}803 octets");
        assert_eq!(precise_size(1_500_000), "1,5 Mo");
    }

    #[test]
    fn jpeg_and_png_headers() {
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 20, 0, 30, 1, 1, 0x11, 0,
            0xFF, 0xD9,
        ];
        assert_eq!(jpeg_dimensions(&jpeg), Ok((30, 20)));
        assert!(jpeg_dimensions(&jpeg[..8]).is_err());
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 3, 8, 2, 0, 0, 0]);
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png.extend_from_slice(&crc.sum().to_be_bytes());
        assert_eq!(png_dimensions(&png), Ok((2, 3)));
        png[30] ^= 1;
        assert!(png_dimensions(&png).is_err());
    }
}
