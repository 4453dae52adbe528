//! Listing the outbox: `Outbox::list` of 10,000 items (the query and the building of the rows,
//! without the program's start), against Python's sqlite3 running the same query on the same file
//! in the same run. Target: under 20 ms. Figures printed, not asserted. Run with
//! `scripts/bench-outbox.sh`.

use paraphe::outbox::{Filter, Outbox};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    // `cargo test --all-targets` runs this binary too, without `--bench`: nothing to measure then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("ENVOIS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("envois.sqlite");
    drop(Outbox::open(&path).expect("outbox"));
    {
        let mut db = rusqlite::Connection::open(&path).expect("db");
        let tx = db.transaction().expect("tx");
        let states = [
            "prepare",
            "signe",
            "en_attente",
            "envoye",
            "acquitte",
            "refuse",
        ];
        for i in 0..n {
            let at = format!(
                "2026-{:02}-{:02}T10:{:02}:00Z",
                1 + i % 12,
                1 + i % 28,
                i % 60
            );
            tx.execute(
                "INSERT INTO items (genre, libelle, etat, cree_le, modifie_le, siren, numero_interne)
                 VALUES (?1, ?2, ?3, ?4, ?4, '210600730', ?5)",
                rusqlite::params![
                    if i % 3 == 0 { "pes" } else { "acte" },
                    format!("Acte n°{i} — objet de démonstration"),
                    states[i % 6],
                    at,
                    format!("N{i}")
                ],
            )
            .expect("insert");
        }
        tx.commit().expect("commit");
    }
    let outbox = Outbox::open(&path).expect("outbox");
    let filter = Filter {
        limite: Some(n),
        ..Default::default()
    };
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let start = Instant::now();
        let items = outbox.list(&filter).expect("list");
        best = best.min(start.elapsed());
        assert_eq!(items.len(), n);
    }
    let python = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3, timeit\n\
             db = sqlite3.connect('{}')\n\
             q = 'SELECT id, genre, libelle, etat, cree_le, modifie_le, lot_id, siren, numero_interne, id_plateforme FROM items ORDER BY modifie_le DESC, id DESC LIMIT {n}'\n\
             print(min(timeit.repeat(lambda: db.execute(q).fetchall(), number=1, repeat=7)) * 1000)",
            path.display()
        ))
        .output()
        .expect("python3");
    let python_ms: f64 = String::from_utf8_lossy(&python.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN);
    let ms = best.as_secs_f64() * 1000.0;
    println!("Lister {n} envois (requête et construction des lignes, meilleur de 7) :");
    println!("  Outbox::list (Paraphe)        : {ms:.1} ms (cible < 20 ms)");
    println!("  python3 sqlite3 fetchall      : {python_ms:.1} ms");
    println!("  rapport Paraphe / python      : {:.2}", ms / python_ms);
}
