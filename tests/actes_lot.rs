//! `paraphe actes lot TABLEAU` (issue 21), run as the user runs it: a council's 30 acts in a CSV
//! exported by a French spreadsheet (Windows-1252, semicolons, accents) or an XLSX, all queued;
//! one bad row queues nothing (or, with --partiel, only that row is left out); a numéro given
//! twice is refused on both lines; the model written by --modele reads back as a table; bad
//! tables are refused with their fault named.

mod actes_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use actes_support::*;
use paraphe::outbox::{Filter, Item, Outbox, State};

const HEADERS: [&str; 9] = [
    "numero",
    "date",
    "nature",
    "matiere",
    "objet",
    "acte",
    "typologie",
    "annexes",
    "classification",
];

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    /// Settings, the classification, and for each of the 30 acts its PDF (in `pieces/`) and one
    /// plan shared as annex.
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("tmp"),
        };
        std::fs::write(
            env.path("paraphe.toml"),
            "[collectivite]\nsiren = \"210600730\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nemails_retour = [\"actes@mairie-exemple.fr\"]\n",
        )
        .expect("settings");
        std::fs::create_dir(env.path("pieces")).expect("mkdir");
        for i in 1..=30 {
            file(
                &env.path("pieces"),
                &format!("acte{i:02}.pdf"),
                &pdf_bytes(&format!("Deliberation {i}")),
            );
        }
        file(&env.path("pieces"), "plan.png", &png_bytes(10, 10));
        file(
            env.dir.path(),
            "classification.xml",
            &classification_xml("2019-03-01"),
        );
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn lot(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .env("PARAPHE_CONFIG", self.path("paraphe.toml"))
            .env("PARAPHE_DONNEES", self.path("donnees"))
            .current_dir(self.dir.path())
            .args(["actes", "lot"])
            .args(extra)
            .output()
            .expect("run paraphe")
    }

    /// Every act in the outbox (none when it was never created).
    fn queued(&self) -> Vec<Item> {
        let db = self.path("donnees/envois.sqlite");
        if !db.exists() {
            return Vec::new();
        }
        Outbox::open(&db)
            .expect("outbox")
            .list(&Filter::default())
            .expect("list")
    }
}

fn objet(i: usize) -> String {
    format!("Délibération n° {i} : façade de l'église Saint-Étienne, crédits à « reporter »")
}

/// The 30 rows, line 2 to 31: `classification` left empty (given on the command line) or not.
fn rows(classification: &str) -> Vec<Vec<String>> {
    (1..=30)
        .map(|i| {
            vec![
                format!("DEL2020_{i:03}"),
                format!("{:02}/01/2020", (i % 28) + 1),
                "1".to_owned(),
                "1.1".to_owned(),
                objet(i),
                format!("acte{i:02}.pdf"),
                String::new(),
                "plan.png:21_RP".to_owned(),
                classification.to_owned(),
            ]
        })
        .collect()
}

/// A CSV as a French spreadsheet saves it: semicolons, Windows-1252, CRLF.
fn write_csv_1252(path: &Path, rows: &[Vec<String>]) {
    let mut text = HEADERS.join(";");
    text.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| {
                if c.contains(';') || c.contains('"') {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        text.push_str(&cells.join(";"));
        text.push_str("\r\n");
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test table must really be Windows-1252"
    );
    std::fs::write(path, &bytes).expect("csv");
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// The row reported for table line `ligne`.
fn line(doc: &serde_json::Value, ligne: u64) -> &serde_json::Value {
    doc["lignes"]
        .as_array()
        .expect("lignes")
        .iter()
        .find(|l| l["ligne"] == ligne)
        .unwrap_or_else(|| panic!("no line {ligne}: {doc}"))
}

fn blocking_messages(row: &serde_json::Value) -> Vec<String> {
    row["constats"]
        .as_array()
        .expect("constats")
        .iter()
        .filter(|f| f["gravite"] == "bloquant")
        .map(|f| f["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn sorted_objets(items: &[Item]) -> Vec<String> {
    let mut objets: Vec<String> = items.iter().map(|i| i.libelle.clone()).collect();
    objets.sort();
    objets
}

fn expected_objets() -> Vec<String> {
    let mut objets: Vec<String> = (1..=30).map(objet).collect();
    objets.sort();
    objets
}

#[test]
fn a_windows_1252_csv_of_30_acts_is_queued_with_its_accents() {
    let env = Env::new();
    write_csv_1252(&env.path("seance.csv"), &rows(""));
    let o = env.lot(&[
        "seance.csv",
        "--dossier",
        "pieces",
        "--classification",
        "classification.xml",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["prepares"], 30, "{doc}");
    assert_eq!(doc["refuses"], 0, "{doc}");
    // Each row under its table line, with its outbox item.
    let first = line(&doc, 2);
    assert_eq!(first["numero"], "DEL2020_001");
    assert!(first["id"].as_i64().is_some(), "{first}");
    assert_eq!(line(&doc, 31)["numero"], "DEL2020_030");

    let items = env.queued();
    assert_eq!(items.len(), 30);
    assert!(items.iter().all(|i| i.etat == State::EnAttente));
    assert_eq!(sorted_objets(&items), expected_objets());
    let mut numeros: Vec<String> = items
        .iter()
        .filter_map(|i| i.numero_interne.clone())
        .collect();
    numeros.sort();
    assert_eq!(numeros.first().map(String::as_str), Some("DEL2020_001"));
    assert_eq!(numeros.last().map(String::as_str), Some("DEL2020_030"));

    // The same table again: every number is already used in the outbox, nothing more queued.
    let o = env.lot(&[
        "seance.csv",
        "--dossier",
        "pieces",
        "--classification",
        "classification.xml",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(env.queued().len(), 30);
}

#[test]
fn the_same_table_as_xlsx_is_read_the_same() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let env = Env::new();
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    for (r, row) in rows("../classification.xml").iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            if c == 1 {
                // A real spreadsheet date, as a town hall types it.
                let (d, rest) = cell.split_once('/').expect("day");
                let day: u8 = d.parse().expect("day");
                assert!(rest.starts_with("01/2020"));
                let date = ExcelDateTime::from_ymd(2020, 1, day).expect("date");
                sheet
                    .write_datetime_with_format(r, 1, &date, &date_format)
                    .expect("date");
            } else if !cell.is_empty() {
                sheet.write_string(r, c as u16, cell).expect("cell");
            }
        }
    }
    book.save(env.path("seance.xlsx")).expect("xlsx");

    let o = env.lot(&["seance.xlsx", "--dossier", "pieces", "--a-signer", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["prepares"], 30, "{doc}");
    let items = env.queued();
    assert_eq!(items.len(), 30);
    // --a-signer: prepared, waiting for `envois signer`.
    assert!(items.iter().all(|i| i.etat == State::Prepare));
    assert_eq!(sorted_objets(&items), expected_objets());
    // The date cell was read as the decision date (the IDActe carries it).
    assert_eq!(
        line(&doc, 2)["id_acte"],
        "006-210600730-20200102-DEL2020_001-DE",
        "{doc}"
    );
}

#[test]
fn one_bad_row_queues_nothing_unless_partial() {
    let env = Env::new();
    let mut table = rows("");
    // Line 18 of the table (row 17): a typology that does not exist.
    table[16][6] = "ZZ_ZZ".to_owned();
    write_csv_1252(&env.path("seance.csv"), &table);
    let args = [
        "seance.csv",
        "--dossier",
        "pieces",
        "--classification",
        "classification.xml",
    ];
    let o = env.lot(&args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Ligne 18 (DEL2020_017)"), "{out}");
    assert!(out.contains("ZZ_ZZ"), "{out}");
    assert!(env.queued().is_empty(), "nothing is queued");

    let o = env.lot(&[&args[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(1));
    let doc = json(&o);
    assert_eq!(doc["prepares"], 0);
    assert!(!blocking_messages(line(&doc, 18)).is_empty());
    assert!(blocking_messages(line(&doc, 17)).is_empty());

    let o = env.lot(&[&args[..], &["--partiel", "--json"]].concat());
    // Exit 0 only when every row was queued.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["prepares"], 29, "{doc}");
    assert_eq!(doc["refuses"], 1, "{doc}");
    assert!(line(&doc, 18).get("id").is_none());
    let items = env.queued();
    assert_eq!(items.len(), 29);
    assert!(
        items
            .iter()
            .all(|i| i.numero_interne.as_deref() != Some("DEL2020_017"))
    );
}

#[test]
fn a_number_twice_in_the_batch_is_refused_on_both_lines() {
    let env = Env::new();
    let mut table = rows("");
    // Lines 5 and 12 carry the same number.
    table[10][0] = table[3][0].clone();
    write_csv_1252(&env.path("seance.csv"), &table);
    let o = env.lot(&[
        "seance.csv",
        "--dossier",
        "pieces",
        "--classification",
        "classification.xml",
        "--partiel",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["prepares"], 28, "{doc}");
    let on_5 = blocking_messages(line(&doc, 5)).join(" ");
    let on_12 = blocking_messages(line(&doc, 12)).join(" ");
    assert!(
        on_5.contains("DEL2020_004") && on_5.contains("12"),
        "{on_5}"
    );
    assert!(
        on_12.contains("DEL2020_004") && on_12.contains('5'),
        "{on_12}"
    );
    assert!(
        env.queued()
            .iter()
            .all(|i| i.numero_interne.as_deref() != Some("DEL2020_004"))
    );
}

#[test]
fn a_missing_file_is_named_with_its_line() {
    let env = Env::new();
    let mut table = rows("");
    table[2][5] = "introuvable.pdf".to_owned();
    write_csv_1252(&env.path("seance.csv"), &table);
    let o = env.lot(&[
        "seance.csv",
        "--dossier",
        "pieces",
        "--classification",
        "classification.xml",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    let at = out.find("Ligne 4 (DEL2020_003)").expect("line 4 reported");
    let next = out[at..].find("Ligne 5").map_or(out.len(), |n| at + n);
    assert!(out[at..next].contains("introuvable.pdf"), "{out}");
    assert!(env.queued().is_empty());
}

#[test]
fn the_model_reads_back_as_a_table() {
    let env = Env::new();
    let o = env.lot(&["--modele", "modele.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Not replaced when it exists.
    let o = env.lot(&["--modele", "modele.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Its one example row is read (line 2) and checked: its files do not exist here.
    let o = env.lot(&["modele.csv", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc = json(&o);
    let lignes = doc["lignes"].as_array().expect("lignes");
    assert_eq!(lignes.len(), 1, "{doc}");
    assert_eq!(lignes[0]["ligne"], 2);
    assert_eq!(lignes[0]["numero"], "DEL2026_001");
    let messages = blocking_messages(&lignes[0]).join(" ");
    assert!(messages.contains("deliberation.pdf"), "{messages}");
    assert!(messages.contains("plan.pdf"), "{messages}");
    assert!(messages.contains("note.pdf"), "{messages}");
    assert!(env.queued().is_empty());
}

#[test]
fn bad_tables_are_refused_with_their_fault_named() {
    let env = Env::new();
    std::fs::write(
        env.path("colonnes.csv"),
        "numéro;date;nature;objet;acte;fichier\nDEL1;2020-01-15;1;Objet;a.pdf;x\n",
    )
    .expect("csv");
    let o = env.lot(&["colonnes.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("« fichier »"), "{}", text(&o));

    std::fs::write(
        env.path("manque.csv"),
        "Numéro,Date,Nature,Objet,Acte\nDEL1,2020-01-15,1,Objet,a.pdf\n",
    )
    .expect("csv");
    let o = env.lot(&["manque.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("matiere"), "{}", text(&o));

    // Too large: refused before being read (a sparse file, nothing written).
    let big = std::fs::File::create(env.path("gros.xlsx")).expect("create");
    big.set_len(11 * 1024 * 1024).expect("set_len");
    let o = env.lot(&["gros.xlsx"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("plus que la limite"), "{}", text(&o));

    // Not a spreadsheet at all.
    std::fs::write(env.path("faux.xlsx"), b"pas un tableur").expect("xlsx");
    let o = env.lot(&["faux.xlsx"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(env.queued().is_empty());
}
