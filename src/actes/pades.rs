//! PAdES signatures of PDF act files (ETSI EN 319 142, baseline B-B): an incremental update
//! appended to the untouched original bytes, holding a signature dictionary
//! (`/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached`), a signature field merged with its
//! widget annotation on a page, and the new cross-reference section.
//!
//! The `/Contents` hex string is reserved first; the `/ByteRange` covering everything else is
//! patched in, the two ranges are hashed, the CMS (built by [`super::cms`], the card signing only
//! a digest) fills the reserved string. The result goes to a temporary file beside the
//! destination, renamed into place once complete.

use super::cms::{self, CmsError, CmsOptions};
use crate::certs::CertificateInfo;
use crate::keys::Signer;
use crate::messages::{t, tf};
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Bytes reserved for the CMS by default: a 2048- or 4096-bit RSA signature with its certificate
/// chain fits with room to spare.
pub const DEFAULT_RESERVED_SIZE: usize = 16 * 1024;

/// Width kept for the four `/ByteRange` numbers (patched in place, padded with spaces).
const BYTE_RANGE_WIDTH: usize = 48;

#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    #[error("{0}")]
    Cms(#[from] CmsError),
    #[error("{}", tf("actes_signature.lecture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Read { path: PathBuf, detail: String },
    #[error("{}", tf("actes_signature.ecriture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Write { path: PathBuf, detail: String },
    #[error("{}", tf("actes_signature.pas_un_pdf", &[("chemin", &.0.display().to_string())]))]
    NotPdf(PathBuf),
    #[error("{}", tf("actes_signature.pdf_chiffre", &[("chemin", &.0.display().to_string())]))]
    Encrypted(PathBuf),
    #[error("{}", tf("actes_signature.pdf_endommage", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Damaged { path: PathBuf, detail: String },
    #[error("{}", tf("actes_signature.page_inexistante", &[("page", &.page.to_string()), ("pages", &.count.to_string())]))]
    PageOutOfRange { page: u32, count: usize },
    #[error("{}", t("actes_signature.zone_invalide"))]
    InvalidRect,
    #[error("{}", tf("actes_signature.champ_existant", &[("nom", .0)]))]
    FieldExists(String),
    #[error("{}", tf("actes_signature.signature_trop_grande", &[("taille", &.needed.to_string()), ("reserve", &.reserved.to_string())]))]
    SignatureTooBig { needed: usize, reserved: usize },
}

/// Where the signature shows on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Appearance {
    /// A widget of zero size on the first page (the usual form for a préfecture).
    Invisible,
    /// A framed box with the signer's name and the date, in Helvetica.
    Visible {
        /// Page number, from 1.
        page: u32,
        /// `[x1, y1, x2, y2]` in PDF points from the bottom-left corner of the page.
        rect: [f32; 4],
    },
}

/// How to sign.
#[derive(Debug, Clone)]
pub struct PadesOptions {
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// Name of the signature field; `None` picks the first free `SignatureN`.
    pub field_name: Option<String>,
    pub appearance: Appearance,
    /// Bytes reserved for the CMS in `/Contents`.
    pub reserved_size: usize,
    /// Intermediate authorities to carry in the CMS, DER.
    pub extra_certificates: Vec<Vec<u8>>,
    /// The claimed signing time (`/M`); `None` means now.
    pub signing_time: Option<OffsetDateTime>,
}

impl Default for PadesOptions {
    fn default() -> Self {
        PadesOptions {
            reason: None,
            location: None,
            field_name: None,
            appearance: Appearance::Invisible,
            reserved_size: DEFAULT_RESERVED_SIZE,
            extra_certificates: Vec::new(),
            signing_time: None,
        }
    }
}

/// Sign the PDF `input` into `output` (which may be the same path) with one more revision.
pub fn sign_pdf(
    input: &Path,
    output: &Path,
    signer: &mut dyn Signer,
    options: &PadesOptions,
) -> Result<(), PadesError> {
    let original = std::fs::read(input).map_err(|e| PadesError::Read {
        path: input.to_owned(),
        detail: e.to_string(),
    })?;
    let signed = sign_pdf_bytes(&original, input, signer, options)?;
    write_atomically(output, &original, &signed)
}

/// The incremental update to append to `original` (which the caller writes unchanged first).
/// `path` only names the file in errors.
fn sign_pdf_bytes(
    original: &[u8],
    path: &Path,
    signer: &mut dyn Signer,
    options: &PadesOptions,
) -> Result<Vec<u8>, PadesError> {
    let damaged = |detail: String| PadesError::Damaged {
        path: path.to_owned(),
        detail,
    };
    let header_zone = &original[..original.len().min(1024)];
    if memchr::memmem::find(header_zone, b"%PDF-").is_none() {
        return Err(PadesError::NotPdf(path.to_owned()));
    }
    let prev_xref = find_startxref(original)
        .ok_or_else(|| damaged(t("actes_signature.detail_sans_startxref")))?;
    let doc = match Document::load_mem(original) {
        Ok(doc) => doc,
        Err(_) if memchr::memmem::find(original, b"/Encrypt").is_some() => {
            return Err(PadesError::Encrypted(path.to_owned()));
        }
        Err(e) => return Err(damaged(e.to_string())),
    };
    if doc.trailer.has(b"Encrypt") || doc.encryption_state.is_some() {
        return Err(PadesError::Encrypted(path.to_owned()));
    }
    if doc.xref_recovery.is_some() {
        // Appending to a file whose cross-references had to be repaired would chain the new
        // revision to a broken one: validators would reject the signature.
        return Err(damaged(t("actes_signature.detail_xref_reparee")));
    }
    let xref_is_stream = !original
        .get(prev_xref..)
        .map(|rest| skip_whitespace(rest).starts_with(b"xref"))
        .ok_or_else(|| damaged(t("actes_signature.detail_sans_startxref")))?;
    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| damaged(t("actes_signature.detail_sans_catalogue")))?;
    let mut catalog = doc
        .get_dictionary(root_id)
        .map_err(|_| damaged(t("actes_signature.detail_sans_catalogue")))?
        .clone();
    let pages = doc.get_pages();
    let (page_number, rect) = match options.appearance {
        Appearance::Invisible => (1, [0.0; 4]),
        Appearance::Visible { page, rect } => {
            let [x1, y1, x2, y2] = rect;
            if !rect.iter().all(|v| v.is_finite()) || x2 <= x1 || y2 <= y1 {
                return Err(PadesError::InvalidRect);
            }
            (page, rect)
        }
    };
    let page_id = *pages.get(&page_number).ok_or(PadesError::PageOutOfRange {
        page: page_number,
        count: pages.len(),
    })?;
    let mut page = doc
        .get_dictionary(page_id)
        .map_err(|e| damaged(e.to_string()))?
        .clone();

    // Refuse before the card is asked for anything when the CMS obviously cannot fit: the
    // certificates, the issuer name twice (bounded by the certificate), the signature and the
    // attributes.
    let estimate = 2 * signer.certificate_der().len()
        + options
            .extra_certificates
            .iter()
            .map(Vec::len)
            .sum::<usize>()
        + 1024;
    if estimate > options.reserved_size {
        return Err(PadesError::SignatureTooBig {
            needed: estimate,
            reserved: options.reserved_size,
        });
    }
    let certificate = CertificateInfo::from_der(signer.certificate_der())
        .map_err(|e| CmsError::Certificate(e.to_string()))?;
    let signer_name = certificate.display_name().to_owned();
    let signing_time = options
        .signing_time
        .unwrap_or_else(OffsetDateTime::now_utc)
        .to_offset(time::UtcOffset::UTC);

    // New object numbers start above every number in use.
    let previous_size = doc
        .trailer
        .get(b"Size")
        .and_then(Object::as_i64)
        .ok()
        .and_then(|s| u32::try_from(s).ok())
        .unwrap_or(0);
    let mut next_id = previous_size.max(doc.max_id.saturating_add(1));
    let mut allocate = || {
        let id = (next_id, 0u16);
        next_id += 1;
        id
    };

    // The AcroForm and its fields, to name the new field and register it.
    let (acroform_location, mut acroform) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => (
            AcroFormLocation::Indirect(*id),
            doc.get_dictionary(*id)
                .map_err(|e| damaged(e.to_string()))?
                .clone(),
        ),
        Ok(Object::Dictionary(d)) => (AcroFormLocation::InCatalog, d.clone()),
        _ => (AcroFormLocation::Missing, Dictionary::new()),
    };
    let (fields_array_id, mut fields) = match acroform.get(b"Fields") {
        Ok(Object::Reference(id)) => (
            Some(*id),
            doc.get_object(*id)
                .and_then(Object::as_array)
                .map_err(|e| damaged(e.to_string()))?
                .clone(),
        ),
        Ok(Object::Array(a)) => (None, a.clone()),
        _ => (None, Vec::new()),
    };
    let taken: BTreeSet<Vec<u8>> = fields
        .iter()
        .filter_map(|f| doc.dereference(f).ok())
        .filter_map(|(_, f)| f.as_dict().ok())
        .filter_map(|f| f.get(b"T").and_then(Object::as_str).ok())
        .map(<[u8]>::to_vec)
        .collect();
    let field_name = match &options.field_name {
        Some(name) => {
            if taken.contains(&pdf_text_bytes(name)) || taken.contains(name.as_bytes()) {
                return Err(PadesError::FieldExists(name.clone()));
            }
            name.clone()
        }
        None => (1..)
            .map(|n| format!("Signature{n}"))
            .find(|n| !taken.contains(n.as_bytes()))
            .unwrap_or_else(|| "Signature".to_owned()),
    };

    let sig_id = allocate();
    let field_id = allocate();
    let ap_id = allocate();
    let mut updates: BTreeMap<ObjectId, Vec<u8>> = BTreeMap::new();

    // The field, merged with its widget.
    let [x1, y1, x2, y2] = rect;
    let mut field = Dictionary::new();
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set("T", pdf_text(&field_name));
    field.set("V", Object::Reference(sig_id));
    // Print + Locked.
    field.set("F", Object::Integer(132));
    field.set(
        "Rect",
        Object::Array(rect.iter().map(|v| number(*v)).collect()),
    );
    field.set("P", Object::Reference(page_id));
    let mut ap = Dictionary::new();
    ap.set("N", Object::Reference(ap_id));
    field.set("AP", Object::Dictionary(ap));
    updates.insert(field_id, serialize(&Object::Dictionary(field)));

    let appearance_text = match options.appearance {
        Appearance::Invisible => Vec::new(),
        Appearance::Visible { .. } => {
            let mut lines = vec![
                tf(
                    "actes_signature.apparence_signataire",
                    &[("nom", &signer_name)],
                ),
                tf(
                    "actes_signature.apparence_date",
                    &[("date", &display_date(signing_time))],
                ),
            ];
            if let Some(reason) = &options.reason {
                lines.push(tf("actes_signature.apparence_motif", &[("motif", reason)]));
            }
            lines
        }
    };
    updates.insert(ap_id, appearance_stream(x2 - x1, y2 - y1, &appearance_text));

    // The page lists the widget among its annotations.
    match page.get(b"Annots") {
        Ok(Object::Reference(annots_id)) => {
            let annots_id = *annots_id;
            let mut annots = doc
                .get_object(annots_id)
                .and_then(Object::as_array)
                .map_err(|e| damaged(e.to_string()))?
                .clone();
            annots.push(Object::Reference(field_id));
            updates.insert(annots_id, serialize(&Object::Array(annots)));
        }
        Ok(Object::Array(annots)) => {
            let mut annots = annots.clone();
            annots.push(Object::Reference(field_id));
            page.set("Annots", Object::Array(annots));
            updates.insert(page_id, serialize(&Object::Dictionary(page)));
        }
        _ => {
            page.set("Annots", Object::Array(vec![Object::Reference(field_id)]));
            updates.insert(page_id, serialize(&Object::Dictionary(page)));
        }
    }

    // The AcroForm lists the field; SignaturesExist + AppendOnly.
    fields.push(Object::Reference(field_id));
    match fields_array_id {
        Some(id) => {
            updates.insert(id, serialize(&Object::Array(fields)));
        }
        None => acroform.set("Fields", Object::Array(fields)),
    }
    let sig_flags = acroform
        .get(b"SigFlags")
        .and_then(Object::as_i64)
        .unwrap_or(0);
    acroform.set("SigFlags", Object::Integer(sig_flags | 3));
    match acroform_location {
        AcroFormLocation::Indirect(id) => {
            updates.insert(id, serialize(&Object::Dictionary(acroform)));
        }
        AcroFormLocation::InCatalog => {
            catalog.set("AcroForm", Object::Dictionary(acroform));
            updates.insert(root_id, serialize(&Object::Dictionary(catalog)));
        }
        AcroFormLocation::Missing => {
            let acroform_id = allocate();
            updates.insert(acroform_id, serialize(&Object::Dictionary(acroform)));
            catalog.set("AcroForm", Object::Reference(acroform_id));
            updates.insert(root_id, serialize(&Object::Dictionary(catalog)));
        }
    }

    // Write the increment: the signature dictionary first, then the rest, then the xref.
    let separator: &[u8] = match original.last() {
        Some(b'\n') | Some(b'\r') => b"",
        _ => b"\n",
    };
    let base = original.len();
    let mut out = separator.to_vec();
    let mut offsets: BTreeMap<ObjectId, usize> = BTreeMap::new();

    offsets.insert(sig_id, base + out.len());
    out.extend(format!("{} {} obj\n", sig_id.0, sig_id.1).bytes());
    out.extend_from_slice(
        b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [",
    );
    let byte_range_at = out.len();
    out.extend(format!("{:<width$}", "0 0 0 0", width = BYTE_RANGE_WIDTH).bytes());
    out.extend_from_slice(b"] /Contents ");
    let contents_start = out.len();
    out.push(b'<');
    out.resize(out.len() + 2 * options.reserved_size, b'0');
    out.push(b'>');
    let contents_end = out.len();
    out.extend_from_slice(b" /M ");
    out.extend(serialize(&Object::string_literal(pdf_date(signing_time))));
    out.extend_from_slice(b" /Name ");
    out.extend(serialize(&pdf_text(&signer_name)));
    if let Some(reason) = &options.reason {
        out.extend_from_slice(b" /Reason ");
        out.extend(serialize(&pdf_text(reason)));
    }
    if let Some(location) = &options.location {
        out.extend_from_slice(b" /Location ");
        out.extend(serialize(&pdf_text(location)));
    }
    out.extend_from_slice(b" >>\nendobj\n");
    for (id, body) in &updates {
        offsets.insert(*id, base + out.len());
        out.extend(format!("{} {} obj\n", id.0, id.1).bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }

    let mut trailer = Dictionary::new();
    for key in [b"Root".as_slice(), b"Info", b"ID"] {
        if let Ok(value) = doc.trailer.get(key) {
            trailer.set(key, value.clone());
        }
    }
    trailer.set("Prev", Object::Integer(prev_xref as i64));
    if xref_is_stream {
        let xref_id = allocate();
        offsets.insert(xref_id, base + out.len());
        trailer.set(
            "Size",
            Object::Integer(i64::from(next_id.max(previous_size))),
        );
        write_xref_stream(&mut out, xref_id, &offsets, trailer);
    } else {
        trailer.set(
            "Size",
            Object::Integer(i64::from(next_id.max(previous_size))),
        );
        write_xref_table(&mut out, base, &offsets, trailer);
    }

    // ByteRange: everything but the /Contents string, angle brackets included.
    let total = base + out.len();
    let gap_start = base + contents_start;
    let gap_end = base + contents_end;
    let byte_range = format!("0 {gap_start} {gap_end} {}", total - gap_end);
    if byte_range.len() > BYTE_RANGE_WIDTH {
        return Err(damaged(t("actes_signature.detail_trop_gros")));
    }
    out[byte_range_at..byte_range_at + byte_range.len()].copy_from_slice(byte_range.as_bytes());

    let mut hasher = openssl::sha::Sha256::new();
    hasher.update(original);
    hasher.update(&out[..contents_start]);
    hasher.update(&out[contents_end..]);
    let digest = hasher.finish();
    let cms = cms::sign_digest(
        signer,
        &digest,
        &CmsOptions {
            signing_time: None,
            extra_certificates: options.extra_certificates.clone(),
        },
    )?;
    if cms.len() > options.reserved_size {
        return Err(PadesError::SignatureTooBig {
            needed: cms.len(),
            reserved: options.reserved_size,
        });
    }
    let hex = hex::encode_upper(&cms);
    out[contents_start + 1..contents_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}

enum AcroFormLocation {
    Indirect(ObjectId),
    InCatalog,
    Missing,
}

/// The offset after the last `startxref` keyword.
fn find_startxref(bytes: &[u8]) -> Option<usize> {
    let tail_start = bytes.len().saturating_sub(4096);
    let pos = memchr::memmem::rfind(&bytes[tail_start..], b"startxref")? + tail_start;
    let rest = skip_whitespace(&bytes[pos + b"startxref".len()..]);
    let digits: Vec<u8> = rest
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn skip_whitespace(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0'))
        .count();
    &bytes[n..]
}

/// Consecutive object numbers grouped as xref subsections: `(first, entries)`.
fn subsections(offsets: &BTreeMap<ObjectId, usize>) -> Vec<(u32, Vec<(u16, usize)>)> {
    let mut sections: Vec<(u32, Vec<(u16, usize)>)> = Vec::new();
    for (&(number, generation), &offset) in offsets {
        match sections.last_mut() {
            Some((first, entries)) if *first + entries.len() as u32 == number => {
                entries.push((generation, offset));
            }
            _ => sections.push((number, vec![(generation, offset)])),
        }
    }
    sections
}

fn write_xref_table(
    out: &mut Vec<u8>,
    base: usize,
    offsets: &BTreeMap<ObjectId, usize>,
    trailer: Dictionary,
) {
    let xref_at = base + out.len();
    out.extend_from_slice(b"xref\n");
    for (first, entries) in subsections(offsets) {
        out.extend(format!("{first} {}\n", entries.len()).bytes());
        for (generation, offset) in entries {
            out.extend(format!("{offset:010} {generation:05} n\r\n").bytes());
        }
    }
    out.extend_from_slice(b"trailer\n");
    out.extend(serialize(&Object::Dictionary(trailer)));
    out.extend(format!("\nstartxref\n{xref_at}\n%%EOF\n").bytes());
}

/// A cross-reference stream (PDF 1.5) for files whose last section is one, uncompressed.
fn write_xref_stream(
    out: &mut Vec<u8>,
    xref_id: ObjectId,
    offsets: &BTreeMap<ObjectId, usize>,
    mut dict: Dictionary,
) {
    let xref_at = offsets.get(&xref_id).copied().unwrap_or_default();
    let max_offset = offsets.values().copied().max().unwrap_or_default();
    let width = (usize::BITS - max_offset.leading_zeros())
        .div_ceil(8)
        .max(1) as usize;
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (first, entries) in subsections(offsets) {
        index.push(Object::Integer(i64::from(first)));
        index.push(Object::Integer(entries.len() as i64));
        for (generation, offset) in entries {
            data.push(1u8);
            data.extend_from_slice(&offset.to_be_bytes()[size_of::<usize>() - width..]);
            data.extend_from_slice(&generation.to_be_bytes());
        }
    }
    dict.set("Type", Object::Name(b"XRef".to_vec()));
    dict.set(
        "W",
        Object::Array(vec![
            Object::Integer(1),
            Object::Integer(width as i64),
            Object::Integer(2),
        ]),
    );
    dict.set("Index", Object::Array(index));
    dict.set("Length", Object::Integer(data.len() as i64));
    out.extend(format!("{} {} obj\n", xref_id.0, xref_id.1).bytes());
    out.extend(serialize(&Object::Dictionary(dict)));
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(&data);
    out.extend(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").bytes());
}

/// The appearance of the widget: empty when invisible, else a frame and the lines of text.
fn appearance_stream(width: f32, height: f32, lines: &[String]) -> Vec<u8> {
    let mut content = String::new();
    if !lines.is_empty() {
        let padding = (height.min(width) * 0.06).clamp(1.0, 4.0);
        let longest = lines
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1)
            .max(1) as f32;
        // Helvetica averages a little over half an em per character.
        let size = (((height - 2.0 * padding) / (lines.len() as f32 * 1.2)).min(10.0))
            .min((width - 2.0 * padding) / (0.55 * longest))
            .max(2.0);
        let leading = size * 1.2;
        let block = leading * lines.len() as f32;
        let first_baseline = (height + block) / 2.0 - size;
        content.push_str(&format!(
            "q\n0.2 0.2 0.2 RG 0.5 w 0.25 0.25 {} {} re S\n0 0 {} {} re W n\nBT\n/Helv {} Tf 0 g\n{} {} Td\n{} TL\n",
            num(width - 0.5),
            num(height - 0.5),
            num(width),
            num(height),
            num(size),
            num(padding),
            num(first_baseline),
            num(leading),
        ));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                content.push_str("T* ");
            }
            content.push_str(&literal_ascii(&win_ansi(line)));
            content.push_str(" Tj\n");
        }
        content.push_str("ET\nQ\n");
    }
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Subtype", Object::Name(b"Type1".to_vec()));
    font.set("BaseFont", Object::Name(b"Helvetica".to_vec()));
    font.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
    let mut fonts = Dictionary::new();
    fonts.set("Helv", Object::Dictionary(font));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Form".to_vec()));
    dict.set(
        "BBox",
        Object::Array(vec![
            Object::Integer(0),
            Object::Integer(0),
            number(width),
            number(height),
        ]),
    );
    dict.set("Resources", Object::Dictionary(resources));
    dict.set("Length", Object::Integer(content.len() as i64));
    let mut out = serialize(&Object::Dictionary(dict));
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(content.as_bytes());
    out.extend_from_slice(b"\nendstream");
    out
}

fn serialize(object: &Object) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = lopdf::Writer::write_object(&mut out, object);
    out
}

/// A PDF number: an integer when whole.
fn number(value: f32) -> Object {
    if value.fract() == 0.0 && value.abs() < 1e9 {
        Object::Integer(value as i64)
    } else {
        Object::Real(value)
    }
}

/// A number for a content stream: two decimals at most, never an exponent.
fn num(value: f32) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A PDF text string: PDFDocEncoding-compatible ASCII as a literal, anything else UTF-16BE.
fn pdf_text(text: &str) -> Object {
    if text.chars().all(|c| (' '..='~').contains(&c)) {
        Object::String(text.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        Object::String(pdf_text_bytes(text), StringFormat::Hexadecimal)
    }
}

fn pdf_text_bytes(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xfe, 0xff];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    bytes
}

/// `D:YYYYMMDDHHmmSS+00'00'`.
fn pdf_date(time: OffsetDateTime) -> String {
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// `27/11/2026 14:05 UTC`.
fn display_date(time: OffsetDateTime) -> String {
    format!(
        "{} {:02}:{:02} UTC",
        crate::certs::date_fr(time),
        time.hour(),
        time.minute()
    )
}

/// Text in WinAnsiEncoding (Helvetica's standard encoding here); what it lacks becomes `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            'Œ' => 0x8c,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9c,
            'Ÿ' => 0x9f,
            _ => b'?',
        })
        .collect()
}

/// A literal string for a content stream, ASCII only (octal escapes for the rest).
fn literal_ascii(bytes: &[u8]) -> String {
    let mut out = String::from("(");
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push(')');
    out
}

/// Write `original` then `increment` to a private temporary file beside `output`, synced, then
/// renamed over `output`.
fn write_atomically(output: &Path, original: &[u8], increment: &[u8]) -> Result<(), PadesError> {
    let write_error = |e: std::io::Error| PadesError::Write {
        path: output.to_owned(),
        detail: e.to_string(),
    };
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = crate::files::temp_in(dir, "pades").map_err(write_error)?;
    temp.write_all(original).map_err(write_error)?;
    temp.write_all(increment).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(output).map_err(|e| write_error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startxref_is_the_last_one() {
        let pdf = b"%PDF-1.4\n...startxref\n12\n%%EOF\n...startxref\r\n345\r\n%%EOF\r\n";
        assert_eq!(find_startxref(pdf), Some(345));
        assert_eq!(find_startxref(b"%PDF-1.4 nothing"), None);
    }

    #[test]
    fn subsections_group_consecutive_numbers() {
        let offsets: BTreeMap<ObjectId, usize> =
            [((3, 0), 10), ((4, 0), 20), ((9, 1), 30), ((10, 0), 40)]
                .into_iter()
                .collect();
        let s = subsections(&offsets);
        assert_eq!(
            s,
            vec![(3, vec![(0, 10), (0, 20)]), (9, vec![(1, 30), (0, 40)])]
        );
    }

    #[test]
    fn text_helpers() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(-0.001), "0");
        assert_eq!(win_ansi("é – €"), vec![0xe9, b' ', 0x96, b' ', 0x80]);
        assert_eq!(literal_ascii(b"a(b)\\\xe9"), "(a\\(b\\)\\\\\\351)");
        assert_eq!(
            pdf_text("é"),
            Object::String(vec![0xfe, 0xff, 0x00, 0xe9], StringFormat::Hexadecimal)
        );
        assert_eq!(
            pdf_date(time::macros::datetime!(2026-11-27 09:05:03 UTC)),
            "D:20261127090503+00'00'"
        );
    }
}
