//! The files of an act in the sandbox, as S²LOW hands them back after the AR: the bordereau of
//! the transmission (`actes_create_pdf.php`), the list of files
//! (`actes_transac_get_files_list.php`) and each file, stamped "reçu en préfecture" on request
//! (`actes_download_file.php?tampon=true`).

use super::replies::letter_pdf;
use super::{Ctx, json, sniff, text, today};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// File ids are `act id × 1000 + position` (0 = the message, 1 = the act, then the annexes).
const PER_ACT: i64 = 1000;

/// Where the files of a received act are kept, under their S²LOW names.
pub(crate) fn act_dir(ctx: &Ctx, acte: i64) -> PathBuf {
    ctx.depots.join("actes").join(acte.to_string())
}

/// Keep the uploaded files of a newly created act under its folder (`saved` in the order of
/// `names`: the act then the annexes).
pub(crate) fn keep(ctx: &Ctx, acte: i64, saved: &[&Path], names: &[String]) -> std::io::Result<()> {
    let dir = act_dir(ctx, acte);
    crate::logging::create_private_dir(&dir)?;
    for (from, name) in saved.iter().zip(names) {
        std::fs::rename(from, dir.join(name))?;
    }
    Ok(())
}

fn found_acte(ctx: &Ctx, account: i64, id: Option<i64>) -> Option<super::store::StoredActe> {
    let id = id?;
    ctx.store
        .lock()
        .ok()
        .and_then(|s| s.find_acte(account, Some(id), None).ok().flatten())
}

fn pdf(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    if let Ok(v) = "application/pdf".parse() {
        r.headers_mut().insert("content-type", v);
    }
    r
}

/// The bordereau of the transmission: what was sent, when, and its IDActe.
pub(crate) fn bordereau(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query.get("trans_id").and_then(|s| s.parse().ok());
    let Some(acte) = found_acte(ctx, account, id) else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    let mut lines = vec![
        "Bordereau d'acquittement de transmission".to_owned(),
        String::new(),
        format!("Identifiant unique : {}", acte.unique_id),
        format!(
            "Nature : {}  -  Numéro interne : {}",
            acte.nature, acte.numero
        ),
        format!("Date de la décision : {}", acte.date_decision),
        format!("Classification : {}", acte.matieres.join(".")),
        format!("Objet : {}", acte.objet),
        format!("Bordereau établi le {}", today()),
        String::new(),
        "Fichiers transmis :".to_owned(),
    ];
    lines.extend(acte.fichiers.iter().map(|f| format!("  {f}")));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    pdf(letter_pdf(&refs))
}

/// The JSON list of the act's files; refused before the AR as S²LOW does.
pub(crate) fn list(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query.get("transaction").and_then(|s| s.parse().ok());
    let Some(acte) = found_acte(ctx, account, id) else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    if matches!(acte.statut, 1 | 2 | 3 | 17) {
        return text("KO\nPas d'acquittement recu\n");
    }
    let dir = act_dir(ctx, acte.id);
    let mut files = vec![serde_json::json!({
        "id": (acte.id * PER_ACT).to_string(),
        "name": format!("{}-1-1_0.xml", acte.unique_id),
        "posted_filename": format!("{}-1-1_0.xml", acte.unique_id),
        "mimetype": "application/xml",
        "size": "0",
        "sign": "",
        "code_pj": "",
    })];
    for (i, name) in acte.fichiers.iter().enumerate() {
        let path = dir.join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        files.push(serde_json::json!({
            "id": (acte.id * PER_ACT + i as i64 + 1).to_string(),
            "name": name,
            "posted_filename": name,
            "mimetype": sniff(&path),
            "size": size.to_string(),
            "sign": "",
            "code_pj": name.split('-').next().unwrap_or(""),
        }));
    }
    json(&serde_json::Value::Array(files))
}

/// One file of an act; a PDF asked with `tampon=true` comes back stamped.
pub(crate) fn download(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let Some(file) = query.get("file").and_then(|s| s.parse::<i64>().ok()) else {
        return text("KO\nFichier inconnu\n");
    };
    let Some(acte) = found_acte(ctx, account, Some(file / PER_ACT)) else {
        return text("KO\nFichier inconnu\n");
    };
    let position = (file % PER_ACT) as usize;
    let Some(name) = position.checked_sub(1).and_then(|i| acte.fichiers.get(i)) else {
        return text("KO\nFichier inconnu\n");
    };
    let path = act_dir(ctx, acte.id).join(name);
    let Ok(bytes) = std::fs::read(&path) else {
        return text("KO\nFichier absent\n");
    };
    let stamped = query.get("tampon").map(String::as_str) == Some("true")
        && sniff(&path) == "application/pdf"
        && acte.statut == 4;
    if !stamped {
        return pdf(bytes);
    }
    let received = acte_reception_date(acte.recu_ms);
    match stamp(&bytes, &acte.unique_id, &received) {
        Ok(out) => pdf(out),
        Err(_) => text("KO\nLe fichier ne peut pas être tamponné\n"),
    }
}

/// `JJ/MM/AAAA` of a reception time in milliseconds.
fn acte_reception_date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| format!("{:02}/{:02}/{:04}", t.day(), t.month() as u8, t.year()))
        .unwrap_or_default()
}

/// Stamp the first page at its top right, as the préfecture's platform does: a framed box
/// "Reçu en préfecture le …" with the IDActe. The box is a form XObject with its own font, so
/// the page's resources and graphics state do not matter.
pub fn stamp(original: &[u8], id_acte: &str, date: &str) -> Result<Vec<u8>, lopdf::Error> {
    use lopdf::{Object, Stream, dictionary};
    let mut doc = lopdf::Document::load_mem(original)?;
    let page = *doc
        .get_pages()
        .values()
        .next()
        .ok_or(lopdf::Error::PageNumberNotFound(1))?;
    let (width, height) = media_box(&doc, page);
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let (w, h) = (230.0_f32, 42.0_f32);
    let mut content = format!(
        "0.2 0.2 0.6 RG 1 w 0.5 0.5 {} {} re S\nBT 0.2 0.2 0.6 rg /F1 9 Tf 6 28 Td (",
        w - 1.0,
        h - 1.0
    )
    .into_bytes();
    content.extend(pdf_text(&format!("Reçu en préfecture le {date}")));
    content.extend(b") Tj 0 -14 Td (");
    content.extend(pdf_text(id_acte));
    content.extend(b") Tj ET\n");
    let form = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), w.into(), h.into()],
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        },
        content,
    ));
    doc.add_xobject(page, "ParapheTampon", form)?;
    // The page's own content may leave the graphics state changed: it is wrapped in q … Q and
    // the stamp drawn after it.
    let original: Vec<Object> = match doc.get_dictionary(page)?.get(b"Contents") {
        Ok(Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Array(list)) => list.clone(),
            _ => vec![Object::Reference(*id)],
        },
        Ok(Object::Array(list)) => list.clone(),
        _ => Vec::new(),
    };
    let opening = doc.add_object(Stream::new(dictionary! {}, b"q\n".to_vec()));
    let placement = format!(
        "Q\nq 1 0 0 1 {} {} cm /ParapheTampon Do Q\n",
        width - w - 20.0,
        height - h - 20.0
    );
    let closing = doc.add_object(Stream::new(dictionary! {}, placement.into_bytes()));
    let mut contents = vec![Object::Reference(opening)];
    contents.extend(original);
    contents.push(Object::Reference(closing));
    doc.get_object_mut(page)
        .and_then(Object::as_dict_mut)?
        .set("Contents", contents);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

/// Width and height of a page (its MediaBox, inherited or A4).
fn media_box(doc: &lopdf::Document, page: lopdf::ObjectId) -> (f32, f32) {
    let mut current = Some(page);
    while let Some(id) = current {
        let Ok(dict) = doc.get_dictionary(id) else {
            break;
        };
        if let Ok(lopdf::Object::Array(b)) = dict
            .get(b"MediaBox")
            .and_then(|o| doc.dereference(o).map(|(_, o)| o))
        {
            let n: Vec<f32> = b.iter().filter_map(|o| o.as_float().ok()).collect();
            if n.len() == 4 {
                return (n[2] - n[0], n[3] - n[1]);
            }
        }
        current = dict
            .get(b"Parent")
            .and_then(lopdf::Object::as_reference)
            .ok();
    }
    (595.0, 842.0)
}

/// Text for a PDF literal string in WinAnsi, with its special characters escaped.
fn pdf_text(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for b in crate::latin1::encode_lossy(text) {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}
