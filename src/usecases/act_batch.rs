//! A council's acts in one batch (`paraphe actes lot`): one row per act in a table — CSV (comma
//! or semicolon, UTF-8 or Windows-1252, as a spreadsheet exports it in France), ODS or XLSX —
//! with French column headers. Every row is checked with every rule of a single act
//! (`prepare_act::check_act`), and the numbers for uniqueness within the batch, before anything
//! is queued; then either all rows are queued, or none (one blocking finding is enough), or with
//! `partiel` only the valid ones.

use crate::actes::model::{Acte, Collectivite, PieceSaisie, Saisie};
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};
use crate::settings::Settings;
use crate::usecases::prepare_act::{Demande, check_act, queue_act};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A table larger than this is refused before being read (a council's batch is a few hundred
/// rows: a few tens of kilobytes).
pub const TAILLE_MAX_TABLEAU: u64 = 10 * 1024 * 1024;

/// A spreadsheet (ZIP) whose parts would unpack to more than this is refused before being read.
pub const TAILLE_MAX_DECOMPRESSEE: u128 = 100 * 1024 * 1024;

/// The column headers, as written in the table (accents and case do not matter).
pub const COLONNES: &[&str] = &[
    "numero",
    "date",
    "nature",
    "matiere",
    "objet",
    "acte",
    "typologie",
    "annexes",
    "classification",
    "collectivite",
];

/// The columns a table must have; the others may be left out.
pub const COLONNES_OBLIGATOIRES: &[&str] =
    &["numero", "date", "nature", "matiere", "objet", "acte"];

/// Why a table cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{}", tf("actes_lot.lecture", &[("chemin", &.chemin.display().to_string()), ("detail", .detail)]))]
    Lecture { chemin: PathBuf, detail: String },
    #[error("{}", tf("actes_lot.trop_gros", &[("chemin", &.chemin.display().to_string()), ("taille", &crate::actes::files::human_size(*.taille)), ("limite", &crate::actes::files::human_size(TAILLE_MAX_TABLEAU))]))]
    TropGros { chemin: PathBuf, taille: u64 },
    #[error("{}", tf("actes_lot.trop_gros_decompresse", &[("chemin", &.0.display().to_string())]))]
    TropGrosDecompresse(PathBuf),
    #[error("{}", tf("actes_lot.format_inconnu", &[("chemin", &.0.display().to_string())]))]
    FormatInconnu(PathBuf),
    #[error("{}", tf("actes_lot.tableur", &[("chemin", &.chemin.display().to_string()), ("detail", .detail)]))]
    Tableur { chemin: PathBuf, detail: String },
    #[error("{}", tf("actes_lot.csv", &[("ligne", &.ligne.to_string()), ("detail", .detail)]))]
    Csv { ligne: u64, detail: String },
    #[error("{}", t("actes_lot.vide"))]
    Vide,
    #[error("{}", tf("actes_lot.colonnes_inconnues", &[("colonnes", &.0.join(", ")), ("attendues", &COLONNES.join(", "))]))]
    ColonnesInconnues(Vec<String>),
    #[error("{}", tf("actes_lot.colonnes_manquantes", &[("colonnes", &.0.join(", "))]))]
    ColonnesManquantes(Vec<String>),
    #[error("{}", tf("actes_lot.colonne_double", &[("colonne", .0)]))]
    ColonneDouble(String),
    #[error("{}", t("actes_lot.aucun_acte"))]
    AucunActe,
    #[error("{}", tf("actes_lot.modele_format", &[("chemin", &.0.display().to_string())]))]
    ModeleFormat(PathBuf),
    #[error("{}", tf("actes_lot.modele_existe", &[("chemin", &.0.display().to_string())]))]
    ModeleExiste(PathBuf),
}

/// One act as read from the table, its files relative to the batch's folder made whole.
#[derive(Debug, Clone)]
pub struct Ligne {
    /// The table's line (the header is line 1).
    pub ligne: u64,
    pub saisie: Saisie,
    /// A classification file for this row (column `classification`), else the batch's.
    pub classification: Option<PathBuf>,
    /// The collectivité this act is for (column `collectivite`: a name or a SIREN set on this
    /// workstation), else the batch's.
    pub collectivite: Option<String>,
}

/// Lower case, without accents or surrounding spaces: `Numéro ` → `numero`.
fn normalise_header(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.trim_start_matches('\u{feff}')
        .trim()
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn file_size(path: &Path) -> Result<u64, TableError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| TableError::Lecture {
            chemin: path.to_owned(),
            detail: e.to_string(),
        })
}

/// Reads the table at `path`; files are relative to `dossier` (default: the table's folder).
pub fn read_table(path: &Path, dossier: Option<&Path>) -> Result<Vec<Ligne>, TableError> {
    let taille = file_size(path)?;
    if taille > TAILLE_MAX_TABLEAU {
        return Err(TableError::TropGros {
            chemin: path.to_owned(),
            taille,
        });
    }
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let rows = match extension.as_str() {
        "csv" | "txt" => read_csv(path)?,
        "xlsx" | "xlsm" | "ods" => {
            check_unpacked_size(path)?;
            read_spreadsheet(path)?
        }
        "xls" => read_spreadsheet(path)?,
        _ => return Err(TableError::FormatInconnu(path.to_owned())),
    };
    let base = match dossier {
        Some(d) => d.to_owned(),
        None => path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    to_lines(rows, &base)
}

/// The raw cells: the header row, then each row with its line.
struct Raw {
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

/// CSV: UTF-8 (with or without BOM) when it is valid UTF-8, else Windows-1252; `;` or `,`,
/// whichever the header line has most of.
fn read_csv(path: &Path) -> Result<Raw, TableError> {
    let lecture = |e: std::io::Error| TableError::Lecture {
        chemin: path.to_owned(),
        detail: e.to_string(),
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(lecture)?
        .take(TAILLE_MAX_TABLEAU + 1)
        .read_to_end(&mut bytes)
        .map_err(lecture)?;
    if bytes.len() as u64 > TAILLE_MAX_TABLEAU {
        return Err(TableError::TropGros {
            chemin: path.to_owned(),
            taille: bytes.len() as u64,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    };
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() >= first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // A record's line, counted here from its position: the parser gives the end of the previous
    // record (before its line break, and blank lines are skipped), and a quoted cell may span
    // lines.
    let data = text.as_bytes();
    let (mut counted_to, mut newlines) = (0usize, 0u64);
    let mut line_at = |byte: u64| {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(data.len());
        while data.get(byte).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            byte += 1;
        }
        if byte > counted_to {
            newlines += data[counted_to..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            counted_to = byte;
        }
        newlines + 1
    };
    let mut header = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| TableError::Csv {
            ligne: e.position().map(|p| p.line()).unwrap_or(0),
            detail: e.to_string(),
        })?;
        let ligne = record.position().map(|p| line_at(p.byte())).unwrap_or(0);
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if header.is_none() {
            header = Some(cells);
        } else {
            rows.push((ligne, cells));
        }
    }
    Ok(Raw {
        header: header.ok_or(TableError::Vide)?,
        rows,
    })
}

/// An XLSX or ODS is a ZIP: its parts, once unpacked, stay bounded (a small hostile file may
/// unpack to gigabytes).
fn check_unpacked_size(path: &Path) -> Result<(), TableError> {
    let tableur = |detail: String| TableError::Tableur {
        chemin: path.to_owned(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| tableur(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| tableur(e.to_string()))?;
    // The sizes the central directory declares (`decompressed_size` gives up on entries with a
    // data descriptor, which spreadsheet writers use).
    let mut total: u128 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| tableur(e.to_string()))?;
        total = total.saturating_add(u128::from(entry.size()));
        if total > TAILLE_MAX_DECOMPRESSEE {
            return Err(TableError::TropGrosDecompresse(path.to_owned()));
        }
    }
    Ok(())
}

/// XLSX, XLS or ODS (calamine): the first sheet.
fn read_spreadsheet(path: &Path) -> Result<Raw, TableError> {
    use calamine::Reader;
    let tableur = |detail: String| TableError::Tableur {
        chemin: path.to_owned(),
        detail,
    };
    let mut book = calamine::open_workbook_auto(path).map_err(|e| tableur(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(TableError::Vide)?
        .map_err(|e| tableur(e.to_string()))?;
    // The range starts at its first used cell: line numbers count from the sheet's first row.
    let first_row = u64::from(range.start().map(|(r, _)| r).unwrap_or(0));
    let mut rows = range.rows().enumerate().map(|(i, row)| {
        (
            first_row + i as u64 + 1,
            row.iter().map(cell_text).collect::<Vec<_>>(),
        )
    });
    let (_, header) = rows.next().ok_or(TableError::Vide)?;
    Ok(Raw {
        header,
        rows: rows.collect(),
    })
}

/// A cell as the user reads it: whole numbers without decimals (a numéro typed as a number),
/// dates as AAAA-MM-JJ.
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            let (y, m, d, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_owned(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

/// Checks the headers, then turns each non-empty row into an act's input.
fn to_lines(raw: Raw, base: &Path) -> Result<Vec<Ligne>, TableError> {
    let mut columns: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown = Vec::new();
    for (i, h) in raw.header.iter().enumerate() {
        let name = normalise_header(h);
        if name.is_empty() {
            continue;
        }
        if !COLONNES.contains(&name.as_str()) {
            unknown.push(format!("« {} »", h.trim()));
        } else if columns.insert(name.clone(), i).is_some() {
            return Err(TableError::ColonneDouble(name));
        }
    }
    if !unknown.is_empty() {
        return Err(TableError::ColonnesInconnues(unknown));
    }
    let missing: Vec<String> = COLONNES_OBLIGATOIRES
        .iter()
        .filter(|c| !columns.contains_key(**c))
        .map(|c| (*c).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(TableError::ColonnesManquantes(missing));
    }
    let mut lines = Vec::new();
    for (ligne, cells) in raw.rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| {
            columns
                .get(name)
                .and_then(|i| cells.get(*i))
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
        };
        let file = |name: &str| base.join(name);
        let acte = cell("acte").map(|a| PieceSaisie {
            chemin: file(&a),
            typologie: cell("typologie"),
        });
        let annexes = cell("annexes")
            .map(|a| {
                a.split('|')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let p = PieceSaisie::parse(s);
                        PieceSaisie {
                            chemin: file(&p.chemin.to_string_lossy()),
                            typologie: p.typologie,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        lines.push(Ligne {
            ligne,
            saisie: Saisie {
                nature: cell("nature"),
                matiere: cell("matiere"),
                numero: cell("numero"),
                date: cell("date"),
                objet: cell("objet"),
                acte,
                annexes,
            },
            classification: cell("classification").map(|c| file(&c)),
            collectivite: cell("collectivite"),
        });
    }
    if lines.is_empty() {
        return Err(TableError::AucunActe);
    }
    Ok(lines)
}

/// One row's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RowReport {
    /// The table's line (the header is line 1).
    pub ligne: u64,
    pub numero: String,
    /// The outbox item, when queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_acte: Option<String>,
    pub constats: Vec<Finding>,
}

/// The batch's outcome: each row, how many were queued and how many refused.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    pub lignes: Vec<RowReport>,
    pub prepares: usize,
    pub refuses: usize,
}

/// How the batch is queued.
pub struct BatchOptions<'a> {
    /// The settings, the collectivité, the style, the batch's classification (rows may name
    /// their own); `for_sending` is not used (the outbox checks numbers too).
    pub demande: Demande<'a>,
    /// Queue the valid rows even when others are refused.
    pub partiel: bool,
    /// Queue them `préparé`, to be signed with `envois signer`.
    pub a_signer: bool,
    pub qui: &'a str,
}

/// Checks every row (every rule, numbers unique within the batch), then queues: all of them,
/// none when one blocks, or with `partiel` the valid ones.
pub fn run_batch(lines: &[Ligne], options: &BatchOptions) -> BatchReport {
    // Each row's collectivité when it names its own (column `collectivite`): its settings and
    // envelope identity; otherwise the batch's.
    let owns: Vec<Result<Option<(Settings, Collectivite)>, String>> = lines
        .iter()
        .map(|l| {
            l.collectivite
                .as_deref()
                .map(|choice| {
                    let settings = options
                        .demande
                        .settings
                        .clone()
                        .for_collectivite(Some(choice))?;
                    let collectivite = Collectivite::from_settings(&settings.collectivite);
                    Ok((settings, collectivite))
                })
                .transpose()
                .map_err(|e: crate::settings::SettingsError| e.to_string())
        })
        .collect();
    let mut checked: Vec<(RowReport, Option<Acte>)> = lines
        .iter()
        .zip(&owns)
        .map(|(l, own)| {
            let mut report = RowReport {
                ligne: l.ligne,
                numero: l.saisie.numero.clone().unwrap_or_default(),
                id: None,
                id_acte: None,
                constats: Vec::new(),
            };
            let own = match own {
                Ok(own) => own.as_ref(),
                Err(e) => {
                    report.constats.push(Finding::blocking(
                        "actes_lot.collectivite",
                        e.clone(),
                        Location::default(),
                    ));
                    return (report, None);
                }
            };
            let demande = Demande {
                classification: l
                    .classification
                    .as_deref()
                    .or(options.demande.classification),
                settings: own.map_or(options.demande.settings, |(s, _)| s),
                collectivite: own.map_or(options.demande.collectivite, |(_, c)| c),
                ..options.demande
            };
            let prepared = check_act(&l.saisie, &demande);
            report.constats = prepared.controle.constats;
            (report, prepared.controle.acte)
        })
        .collect();
    flag_duplicate_numbers(&mut checked);
    let all_valid = checked.iter().all(|(_, acte)| acte.is_some());
    if all_valid || options.partiel {
        for ((report, acte), own) in checked.iter_mut().zip(&owns) {
            let Some(a) = acte else { continue };
            let collectivite = match own {
                Ok(Some((_, own))) => own,
                _ => options.demande.collectivite,
            };
            match queue_act(a, collectivite, None, options.a_signer, options.qui) {
                Ok((id, id_acte)) => {
                    report.id = Some(id);
                    report.id_acte = Some(id_acte);
                }
                Err(e) => report.constats.push(Finding::blocking(
                    "actes_lot.file",
                    tf("actes_lot.mise_en_file", &[("detail", &e)]),
                    Location::default(),
                )),
            }
        }
    }
    let lignes: Vec<RowReport> = checked.into_iter().map(|(r, _)| r).collect();
    let prepares = lignes.iter().filter(|r| r.id.is_some()).count();
    BatchReport {
        refuses: lignes.len() - prepares,
        prepares,
        lignes,
    }
}

/// A numéro given on two rows or more: each is refused, naming the others' lines.
fn flag_duplicate_numbers(checked: &mut [(RowReport, Option<Acte>)]) {
    let mut by_number: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (report, _) in checked.iter() {
        let numero = report.numero.trim();
        if !numero.is_empty() {
            by_number
                .entry(numero.to_owned())
                .or_default()
                .push(report.ligne);
        }
    }
    for (report, acte) in checked.iter_mut() {
        let Some(lines) = by_number.get(report.numero.trim()) else {
            continue;
        };
        if lines.len() < 2 {
            continue;
        }
        let autres: Vec<String> = lines
            .iter()
            .filter(|l| **l != report.ligne)
            .map(u64::to_string)
            .collect();
        report.constats.insert(
            0,
            Finding::blocking(
                "actes_lot.numero_double",
                tf(
                    "actes_lot.numero_double",
                    &[
                        ("numero", report.numero.trim()),
                        ("lignes", &autres.join(", ")),
                    ],
                ),
                Location {
                    ligne: Some(report.ligne),
                    element: Some(t("actes.champs.numero")),
                    ..Default::default()
                },
            ),
        );
        *acte = None;
    }
}

/// Writes an empty model at `path` (CSV, semicolons, UTF-8 with BOM so that a spreadsheet shows
/// the accents): the headers and one example row. An existing file is not replaced.
pub fn write_model(path: &Path) -> Result<(), TableError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if extension != "csv" {
        return Err(TableError::ModeleFormat(path.to_owned()));
    }
    let lecture = |e: std::io::Error| TableError::Lecture {
        chemin: path.to_owned(),
        detail: e.to_string(),
    };
    let mut text = String::from("\u{feff}");
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    let example = [
        "DEL2026_001",
        "15/01/2026",
        "1",
        "1.1",
        &t("actes_lot.modele_objet"),
        "deliberation.pdf",
        "99_DE",
        "plan.pdf:22_PL | note.pdf:99_AU",
        "",
        "",
    ];
    let csv_error = |e: csv::Error| TableError::Lecture {
        chemin: path.to_owned(),
        detail: e.to_string(),
    };
    writer.write_record(COLONNES).map_err(csv_error)?;
    writer.write_record(example).map_err(csv_error)?;
    let bytes = writer.into_inner().map_err(|e| lecture(e.into_error()))?;
    text.push_str(&String::from_utf8_lossy(&bytes));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                TableError::ModeleExiste(path.to_owned())
            } else {
                lecture(e)
            }
        })?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(lecture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_ignore_accents_case_and_bom() {
        assert_eq!(normalise_header("\u{feff} Numéro "), "numero");
        assert_eq!(normalise_header("MATIÈRE"), "matiere");
    }

    #[test]
    fn unknown_and_missing_columns_are_named() {
        let raw = |header: &[&str]| Raw {
            header: header.iter().map(|s| (*s).to_owned()).collect(),
            rows: vec![(2, vec!["x".into(); header.len()])],
        };
        let base = Path::new(".");
        let e = to_lines(
            raw(&["numero", "date", "nature", "matiere", "objet", "fichier"]),
            base,
        )
        .expect_err("unknown");
        assert!(e.to_string().contains("« fichier »"), "{e}");
        let e = to_lines(raw(&["numero", "date", "nature", "objet"]), base).expect_err("missing");
        assert!(e.to_string().contains("matiere, acte"), "{e}");
    }

    /// Each row is reported at the line it starts on: after a blank line, after a cell over two
    /// lines, with CRLF or LF.
    #[test]
    fn csv_rows_keep_their_lines() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "numero,objet\r\n\r\nA1,\"sur\r\ndeux lignes\"\r\nA2,x\nA3,y",
        )
        .expect("write");
        let raw = read_csv(&path).expect("csv");
        let lines: Vec<u64> = raw.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [3, 5, 6]);
        assert_eq!(raw.rows[0].1[1], "sur\r\ndeux lignes");
    }

    #[test]
    fn a_windows_1252_csv_with_semicolons_keeps_its_accents() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, b"numero;objet\nA1;\xc9glise, fa\xe7ade\n").expect("write");
        let raw = read_csv(&path).expect("csv");
        assert_eq!(raw.rows[0].1, ["A1", "Église, façade"]);
    }

    #[test]
    fn annexes_are_split_and_made_whole() {
        let raw = Raw {
            header: COLONNES.iter().map(|s| (*s).to_owned()).collect(),
            rows: vec![(
                3,
                vec![
                    "N1".into(),
                    "2026-01-15".into(),
                    "1".into(),
                    "1.1".into(),
                    "Objet".into(),
                    "a.pdf".into(),
                    "".into(),
                    "plan.pdf:22_PL | note.pdf:99_AU".into(),
                    "".into(),
                ],
            )],
        };
        let lines = to_lines(raw, Path::new("/d")).expect("lines");
        let s = &lines[0].saisie;
        assert_eq!(lines[0].ligne, 3);
        assert_eq!(s.annexes.len(), 2);
        assert_eq!(s.annexes[1].chemin, Path::new("/d/note.pdf"));
        assert_eq!(s.annexes[1].typologie.as_deref(), Some("99_AU"));
        assert_eq!(s.acte.as_ref().map(|a| a.typologie.clone()), Some(None));
    }
}
