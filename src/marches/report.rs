//! The opening report a buyer keeps with the consultation: for each bid, its files with their
//! sizes and SHA-256, or why it could not be opened — as CSV (for a spreadsheet) and HTML (to
//! print or archive), in French.

use super::BidOutcome;
use crate::messages::{t, tf};
use std::fmt::Write as _;
use std::path::Path;

/// One CSV field, quoted when needed (separator `;`, as French spreadsheets expect).
fn csv_field(value: &str) -> String {
    if value.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn html_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Rows: pli, état, fichier, taille, sha256, détail.
fn rows(outcomes: &[BidOutcome]) -> Vec<[String; 6]> {
    let mut rows = Vec::new();
    for outcome in outcomes {
        let pli = name_of(&outcome.source);
        match &outcome.result {
            Ok(bid) => {
                rows.push([
                    pli.clone(),
                    t("marches.rapport.ouvert"),
                    bid.source.display().to_string(),
                    std::fs::metadata(&bid.source)
                        .map(|m| m.len().to_string())
                        .unwrap_or_default(),
                    bid.sha256_pli.clone(),
                    format!("{} · {}", bid.format, bid.chiffrement),
                ]);
                for file in std::iter::once(&bid.contenu).chain(&bid.fichiers) {
                    let path = bid.dossier.join(&file.chemin);
                    let unsigned = outcome.non_signes.contains(&path);
                    rows.push([
                        pli.clone(),
                        t("marches.rapport.fichier"),
                        path.display().to_string(),
                        file.taille.to_string(),
                        file.sha256.clone(),
                        [
                            unsigned.then(|| t("marches.rapport.non_signe")),
                            file.renomme_de
                                .as_ref()
                                .map(|name| tf("marches.rapport.renomme", &[("nom", name)])),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ; "),
                    ]);
                }
                for s in &outcome.signatures {
                    rows.push([
                        pli.clone(),
                        t("marches.rapport.signature"),
                        s.document.display().to_string(),
                        String::new(),
                        String::new(),
                        signature_summary(s),
                    ]);
                }
            }
            Err(e) => rows.push([
                pli.clone(),
                t("marches.rapport.anomalie"),
                outcome.source.display().to_string(),
                String::new(),
                String::new(),
                e.to_string(),
            ]),
        }
        if let Some(d) = &outcome.depot {
            rows.push([
                pli.clone(),
                t("marches.rapport.depot"),
                outcome.source.display().to_string(),
                String::new(),
                String::new(),
                d.horodatage.clone().unwrap_or_default(),
            ]);
        }
        for a in &outcome.anomalies {
            rows.push([
                pli.clone(),
                t("marches.rapport.anomalie"),
                outcome.source.display().to_string(),
                String::new(),
                String::new(),
                a.clone(),
            ]);
        }
    }
    rows
}

/// « CAdES détachée de Camille (certificat qualifié) : valide — raisons ».
fn signature_summary(s: &super::verify::SignatureReport) -> String {
    let category = match s.qualifie {
        Some(true) => t("marches.verif.qualifie"),
        _ => t("marches.verif.non_qualifie"),
    };
    let verdict = if s.valide {
        t("marches.verif.valide")
    } else {
        t("marches.verif.non_valide")
    };
    let mut text = format!(
        "{} — {} ({category}) : {verdict}",
        s.format,
        s.signataire.as_deref().unwrap_or("?")
    );
    if let Some(at) = &s.horodatage {
        text.push_str(&format!(" · {at}"));
    }
    if !s.raisons.is_empty() {
        text.push_str(" — ");
        text.push_str(&s.raisons.join(" ; "));
    }
    text
}

fn headers() -> [String; 6] {
    [
        t("marches.rapport.col_pli"),
        t("marches.rapport.col_etat"),
        t("marches.rapport.col_fichier"),
        t("marches.rapport.col_taille"),
        "SHA-256".to_owned(),
        t("marches.rapport.col_detail"),
    ]
}

pub fn csv(outcomes: &[BidOutcome]) -> String {
    let mut out = String::new();
    for row in std::iter::once(headers()).chain(rows(outcomes)) {
        let line: Vec<String> = row.iter().map(|v| csv_field(v)).collect();
        out.push_str(&line.join(";"));
        out.push_str("\r\n");
    }
    out
}

pub fn html(outcomes: &[BidOutcome], opened_at: &str) -> String {
    let opened = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 8px;text-align:left}}\
         .anomalie{{color:#a00}}code{{font-size:85%}}</style></head><body>\n<h1>{title}</h1>\n<p>{when}</p>\n<p>{summary}</p>\n<table>\n<tr>",
        title = html_escape(&t("marches.rapport.titre")),
        when = html_escape(&crate::messages::tf(
            "marches.rapport.date",
            &[("date", opened_at)]
        )),
        summary = html_escape(&crate::messages::tf(
            "marches.rapport.resume",
            &[
                ("ouverts", &opened.to_string()),
                ("total", &outcomes.len().to_string())
            ]
        )),
    );
    for h in headers() {
        let _ = write!(out, "<th>{}</th>", html_escape(&h));
    }
    out.push_str("</tr>\n");
    for row in rows(outcomes) {
        let class = if row[1] == t("marches.rapport.anomalie") {
            " class=\"anomalie\""
        } else {
            ""
        };
        let _ = write!(out, "<tr{class}>");
        for (i, value) in row.iter().enumerate() {
            if i == 4 {
                let _ = write!(out, "<td><code>{}</code></td>", html_escape(value));
            } else {
                let _ = write!(out, "<td>{}</td>", html_escape(value));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

/// Write `rapport-ouverture.csv` and `.html` in `out_dir` (private files), stamped now (UTC: the
/// local offset cannot be read safely in a multi-threaded process). Returns (csv, html).
pub fn write_reports(
    outcomes: &[BidOutcome],
    out_dir: &Path,
) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[day]/[month]/[year] à [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default();
    std::fs::create_dir_all(out_dir)?;
    let csv_path = out_dir.join("rapport-ouverture.csv");
    let html_path = out_dir.join("rapport-ouverture.html");
    crate::logging::write_private(&csv_path, csv(outcomes).as_bytes())?;
    crate::logging::write_private(&html_path, html(outcomes, &stamp).as_bytes())?;
    Ok((csv_path, html_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(csv_field("dit \"oui\""), "\"dit \"\"oui\"\"\"");
        assert_eq!(csv_field("simple"), "simple");
        assert_eq!(html_escape("<a&b>"), "&lt;a&amp;b&gt;");
    }
}
