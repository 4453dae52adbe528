//! The outbox: a real SQLite file, state machine with a journal row per change, everything
//! received kept, lots exported and imported with alteration detected.

mod common;

use paraphe::outbox::lot::{ExportRequest, ImportPolicy, export, import};
use paraphe::outbox::{Filter, Kind, NewItem, Outbox, OutboxError, State};
use std::path::Path;

fn item<'a>(
    libelle: &'a str,
    numero: Option<&'a str>,
    files: Vec<(String, std::path::PathBuf)>,
) -> NewItem<'a> {
    NewItem {
        genre: Kind::Acte,
        libelle,
        siren: Some("210600730"),
        numero_interne: numero,
        donnees: serde_json::json!({ "nature": 1, "objet": "Budget primitif é" }),
        fichiers: files,
        qui: "secretaire",
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p
}

#[test]
fn life_of_an_item_is_journalled_and_survives_reopening() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("donnees/envois.sqlite");
    let acte = write(dir.path(), "acte.pdf", b"%PDF-1.4 test");
    let id = {
        let mut outbox = Outbox::open(&db).expect("open");
        let id = outbox
            .add(item(
                "Délibération 42",
                Some("DEL2026_42"),
                vec![("acte".into(), acte.clone())],
            ))
            .expect("add");
        outbox
            .transition(id, State::Signe, "maire", "signature")
            .expect("sign");
        outbox
            .transition(id, State::EnAttente, "maire", "")
            .expect("queue");
        outbox
            .transition(id, State::EnCours, "envoi", "")
            .expect("sending");
        outbox
            .set_platform_id(id, "4242", "envoi")
            .expect("platform id");
        outbox
            .transition(id, State::Envoye, "envoi", "")
            .expect("sent");
        outbox
            .receive(id, "ar", "034-…-1-2.xml", b"<ARActe/>", "envoi")
            .expect("ar");
        outbox
            .transition(id, State::Acquitte, "envoi", "AR reçu")
            .expect("ack");
        // Not allowed: back to a draft after acknowledgement.
        let err = outbox
            .transition(id, State::Brouillon, "x", "")
            .expect_err("invalid");
        assert!(matches!(
            err,
            OutboxError::Transition(State::Acquitte, State::Brouillon)
        ));
        assert!(
            err.to_string().contains("accusé de réception reçu"),
            "{err}"
        );
        id
    };
    // Everything is in the file: reopen and read it back.
    let outbox = Outbox::open(&db).expect("reopen");
    let item = outbox.get(id).expect("get");
    assert_eq!(item.etat, State::Acquitte);
    assert_eq!(item.id_plateforme.as_deref(), Some("4242"));
    let journal = outbox.journal(id).expect("journal");
    let states: Vec<_> = journal.iter().filter_map(|j| j.etat_apres).collect();
    assert_eq!(
        states,
        vec![
            State::Prepare,
            State::Signe,
            State::EnAttente,
            State::EnCours,
            State::Envoye,
            State::Acquitte
        ]
    );
    assert!(
        journal[0]
            .empreintes
            .contains(&hex_sha256(b"%PDF-1.4 test"))
    );
    assert_eq!(outbox.received(id).expect("received")[0].2, b"<ARActe/>");
    assert_eq!(outbox.files(id).expect("files")[0].taille, 13);
    // The file holds user data: private to the user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&db).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }
}

/// A sender killed right after it found an item `en_cours` and marked it `erreur` (before it could
/// say whether the outcome is unknown) must not leave the item out of the pending work: it was
/// last seen on its way to the platform, so it is to be reconciled, from that one write.
#[test]
fn an_item_interrupted_while_sending_stays_pending_for_reconciliation() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("donnees/envois.sqlite");
    let acte = write(dir.path(), "acte.pdf", b"%PDF-1.4 test");
    let mut outbox = Outbox::open(&db).expect("open");
    let id = outbox
        .add(item(
            "Délibération 7",
            Some("DEL2026_7"),
            vec![("acte".into(), acte)],
        ))
        .expect("add");
    outbox
        .transition(id, State::EnAttente, "secretaire", "")
        .expect("queue");
    outbox
        .transition(id, State::EnCours, "envoi", "")
        .expect("sending");
    assert_eq!(outbox.pending_count().expect("pending"), 1);
    outbox
        .transition(id, State::Erreur, "envoi", "interrompu")
        .expect("interrupted");
    drop(outbox);
    let outbox = Outbox::open(&db).expect("reopen");
    assert_eq!(outbox.get(id).expect("get").etat, State::Erreur);
    assert_eq!(
        outbox.pending_count().expect("pending"),
        1,
        "an interrupted item is still to reconcile"
    );
}

fn hex_sha256(data: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(data)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn numero_interne_is_unique_per_collectivite_unless_cancelled() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut outbox = Outbox::open(&dir.path().join("e.sqlite")).expect("open");
    let first = outbox.add(item("a", Some("N1"), vec![])).expect("first");
    let err = outbox
        .add(item("b", Some("N1"), vec![]))
        .expect_err("duplicate");
    assert!(matches!(err, OutboxError::NumberUsed(_)), "{err:?}");
    assert!(err.to_string().contains("« N1 »"));
    assert!(outbox.number_used("210600730", "N1").expect("used"));
    outbox
        .transition(first, State::Annule, "x", "erreur de saisie")
        .expect("cancel");
    outbox
        .add(item("c", Some("N1"), vec![]))
        .expect("reusable after cancellation");
}

#[test]
fn listing_filters_and_pages() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut outbox = Outbox::open(&dir.path().join("e.sqlite")).expect("open");
    for i in 0..30 {
        let id = outbox
            .add(item(&format!("acte {i}"), None, vec![]))
            .expect("add");
        if i % 3 == 0 {
            outbox
                .transition(id, State::EnAttente, "x", "")
                .expect("queue");
        }
    }
    let waiting = outbox
        .list(&Filter {
            etats: vec![State::EnAttente],
            ..Default::default()
        })
        .expect("list");
    assert_eq!(waiting.len(), 10);
    let page = outbox
        .list(&Filter {
            limite: Some(7),
            decalage: 28,
            ..Default::default()
        })
        .expect("page");
    assert_eq!(page.len(), 2);
    let counts = outbox.counts().expect("counts");
    assert!(counts.contains(&(State::EnAttente, 10)) && counts.contains(&(State::Prepare, 20)));
    assert!(
        outbox
            .list(&Filter {
                genre: Some(Kind::Pes),
                ..Default::default()
            })
            .expect("pes")
            .is_empty()
    );
}

#[test]
fn lots_travel_between_workstations_and_alteration_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let files = dir.path().join("secretaire");
    std::fs::create_dir_all(&files).expect("mkdir");
    let acte = write(&files, "délibération 12.pdf", b"%PDF-1.7 contenu de l'acte");
    let annexe = write(&files, "annexe.png", b"\x89PNG\r\n\x1a\n...");
    let mut secretaire = Outbox::open(&dir.path().join("a.sqlite")).expect("open");
    let a = secretaire
        .add(item(
            "Délibération 12",
            Some("DEL12"),
            vec![("acte".into(), acte.clone()), ("annexe".into(), annexe)],
        ))
        .expect("add");
    let b = secretaire
        .add(item("Arrêté 3", Some("ARR3"), vec![]))
        .expect("add");
    let lot = dir.path().join("lot-novembre.paraphe");
    export(
        &mut secretaire,
        &ExportRequest {
            nom: "Lot de novembre",
            items: &[a, b],
            dest: &lot,
            prepare_par: "secretaire",
        },
        None,
    )
    .expect("export");
    // Unsigned lots (the signed ones are tested in lots_signes.rs): accepted as such here.
    let accept = ImportPolicy {
        trust: None,
        accept_unsigned: true,
    };

    let mut ordonnateur = Outbox::open(&dir.path().join("b.sqlite")).expect("open");
    let ids = import(
        &mut ordonnateur,
        &lot,
        &dir.path().join("recus"),
        "ordonnateur",
        &accept,
    )
    .expect("import")
    .ids;
    assert_eq!(ids.len(), 2);
    let imported = ordonnateur.files(ids[0]).expect("files");
    assert_eq!(imported.len(), 2);
    assert_eq!(
        std::fs::read(&imported[0].chemin).expect("read"),
        b"%PDF-1.7 contenu de l'acte"
    );
    assert_eq!(
        ordonnateur
            .get(ids[0])
            .expect("get")
            .numero_interne
            .as_deref(),
        Some("DEL12")
    );

    // One byte changed inside the lot: refused, nothing imported.
    let mut bytes = std::fs::read(&lot).expect("read");
    let pos = bytes
        .windows(7)
        .position(|w| w == b"contenu")
        .expect("content");
    bytes[pos] = b'C';
    let altered = dir.path().join("altere.paraphe");
    std::fs::write(&altered, &bytes).expect("write");
    let mut third = Outbox::open(&dir.path().join("c.sqlite")).expect("open");
    let err = import(
        &mut third,
        &altered,
        &dir.path().join("recus3"),
        "x",
        &accept,
    )
    .expect_err("altered");
    assert!(err.to_string().contains("modifié ou abîmé"), "{err}");
    assert!(third.list(&Filter::default()).expect("list").is_empty());
    // A manifest edited (libellé changed) is refused too.
    let mut bytes = std::fs::read(&lot).expect("read");
    let pos = bytes
        .windows(6)
        .position(|w| w == b"Arr\xc3\xaat")
        .expect("libelle");
    bytes[pos] = b'B';
    std::fs::write(&altered, &bytes).expect("write");
    assert!(
        import(
            &mut third,
            &altered,
            &dir.path().join("recus4"),
            "x",
            &accept
        )
        .is_err()
    );
    // Importing twice the same acts is refused by the numéro interne rule.
    let err = import(
        &mut ordonnateur,
        &lot,
        &dir.path().join("recus5"),
        "x",
        &accept,
    )
    .expect_err("twice");
    assert!(matches!(err, OutboxError::NumberUsed(_)));
    // A file changed after preparation is not exported.
    std::fs::write(&acte, b"autre contenu").expect("write");
    let again = dir.path().join("x.paraphe");
    let request = ExportRequest {
        nom: "x",
        items: &[a],
        dest: &again,
        prepare_par: "",
    };
    assert!(export(&mut secretaire, &request, None).is_err());
}

#[test]
fn command_line_lists_exports_and_imports() {
    let dir = tempfile::tempdir().expect("tmp");
    let poste_a = dir.path().join("a");
    let poste_b = dir.path().join("b");
    let acte = write(dir.path(), "acte.pdf", b"%PDF-1.4 acte");
    {
        let mut outbox = Outbox::open(&poste_a.join("envois.sqlite")).expect("open");
        outbox
            .add(item(
                "Délibération 1",
                Some("D1"),
                vec![("acte".into(), acte)],
            ))
            .expect("add");
    }
    let run = |data: &Path, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(args)
            .env("PARAPHE_DONNEES", data)
            .env("PARAPHE_CONFIG", data.join("absent.toml"))
            .output()
            .expect("run paraphe")
    };
    let out = run(&poste_a, &["envois", "lister", "--json"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["envois"][0]["etat"], "prepare");
    assert_eq!(doc["envois"][0]["numero_interne"], "D1");
    let lot = dir.path().join("lot.paraphe");
    let id = doc["envois"][0]["id"].to_string();
    assert!(
        run(
            &poste_a,
            &[
                "envois",
                "exporter",
                &id,
                "-o",
                &lot.to_string_lossy(),
                "--sans-signature"
            ]
        )
        .status
        .success()
    );
    let out = run(
        &poste_b,
        &[
            "envois",
            "importer",
            &lot.to_string_lossy(),
            "--accepter-non-signe",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &poste_b,
        &["envois", "lister", "--etat", "prepare", "--json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["envois"].as_array().map(Vec::len), Some(1));
    // Imported twice: refused with the numéro interne rule, exit 1.
    let out = run(
        &poste_b,
        &[
            "envois",
            "importer",
            &lot.to_string_lossy(),
            "--accepter-non-signe",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("« D1 »"));
}

/// « Retirer de la file » and « Réessayer maintenant », from the library and the command line:
/// only what has not left can be withdrawn; a retry makes a backed-off item due now, puts an
/// error with a known outcome back in the queue, and leaves one with an unknown outcome to be
/// reconciled first.
#[test]
fn withdraw_and_retry_follow_the_state_rules() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("poste");
    let acte = write(dir.path(), "acte.pdf", b"%PDF-1.4 acte");
    let mut outbox = Outbox::open(&data.join("envois.sqlite")).expect("open");
    let mut add = |n: &str| {
        outbox
            .add(item(n, Some(n), vec![("acte".into(), acte.clone())]))
            .expect("add")
    };
    let (waiting, known_error, unknown_error, sent, draft) =
        (add("A1"), add("A2"), add("A3"), add("A4"), add("A5"));
    for id in [waiting, known_error, unknown_error, sent] {
        outbox
            .transition(id, State::EnAttente, "t", "")
            .expect("queue");
    }
    for id in [known_error, unknown_error, sent] {
        outbox.transition(id, State::EnCours, "t", "").expect("go");
    }
    outbox
        .transition(known_error, State::Erreur, "t", "")
        .expect("err");
    outbox
        .transition(unknown_error, State::Erreur, "t", "")
        .expect("err");
    outbox
        .transition(sent, State::Envoye, "t", "")
        .expect("sent");
    let tomorrow = "2999-01-01T00:00:00Z";
    outbox.schedule(waiting, tomorrow, false).expect("backoff");
    outbox
        .schedule(known_error, tomorrow, false)
        .expect("backoff");
    outbox
        .schedule(unknown_error, tomorrow, true)
        .expect("backoff");
    let now = "2026-11-28T12:00:00Z";
    let due = |o: &Outbox| -> Vec<i64> {
        o.due_for_sending(now)
            .expect("due")
            .iter()
            .map(|i| i.id)
            .collect()
    };
    assert!(due(&outbox).is_empty(), "everything backed off");
    drop(outbox);

    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(args)
            .env("PARAPHE_DONNEES", &data)
            .env("PARAPHE_CONFIG", data.join("absent.toml"))
            .output()
            .expect("run paraphe")
    };
    let json = |out: &std::process::Output| -> serde_json::Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    for id in [waiting, known_error, unknown_error] {
        json(&run(&["envois", "relancer", &id.to_string(), "--json"]));
    }
    let outbox = Outbox::open(&data.join("envois.sqlite")).expect("reopen");
    assert_eq!(due(&outbox), vec![waiting, known_error]);
    assert_eq!(
        outbox.get(known_error).expect("item").etat,
        State::EnAttente
    );
    assert_eq!(outbox.get(unknown_error).expect("item").etat, State::Erreur);
    let to_reconcile: Vec<i64> = outbox
        .to_reconcile()
        .expect("reconcile")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(to_reconcile, vec![unknown_error]);
    assert!(
        outbox
            .journal(unknown_error)
            .expect("journal")
            .iter()
            .any(|j| j.evenement == "relance"),
        "the retry is journalled"
    );
    drop(outbox);

    // A sent item is neither retried nor withdrawn: French refusals, exit 1, nothing changes.
    for verb in ["relancer", "retirer"] {
        let out = run(&["envois", verb, &sent.to_string()]);
        assert_eq!(out.status.code(), Some(1), "{verb}");
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("Impossible de passer de l'état « transmis »"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for id in [draft, waiting] {
        let doc = json(&run(&["envois", "retirer", &id.to_string(), "--json"]));
        assert_eq!(doc["etat"], "annule");
    }
    let outbox = Outbox::open(&data.join("envois.sqlite")).expect("reopen");
    assert_eq!(outbox.get(sent).expect("item").etat, State::Envoye);
    assert_eq!(due(&outbox), vec![known_error]);
    // Cancelling with the préfecture is for an acknowledged act only, refused before any card.
    let out = run(&["envois", "annuler", &sent.to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seul un acte acquitté"));
}

/// The outbox keeps its own copies (private, under `fichiers/`), refuses what is not a regular
/// file, and removes the copies of acknowledged items only when asked, keeping what came back and
/// the journal.
#[test]
fn copies_are_owned_and_purged_only_for_acknowledged_items() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("donnees/envois.sqlite");
    let mut outbox = Outbox::open(&db).expect("open");
    let first = write(dir.path(), "un.pdf", &[b'1'; 3000]);
    let second = write(dir.path(), "deux.pdf", &[b'2'; 5000]);
    let done = outbox
        .add(item(
            "Acquitté",
            Some("A1"),
            vec![("acte".into(), first.clone())],
        ))
        .expect("add");
    let waiting = outbox
        .add(item(
            "En attente",
            Some("A2"),
            vec![("acte".into(), second)],
        ))
        .expect("add");
    assert_eq!(outbox.copies_size(), 8000);
    // The copy is the item's: the original may go.
    std::fs::remove_file(&first).expect("remove");
    let copy = outbox.files(done).expect("files").remove(0);
    assert!(copy.chemin.starts_with(dir.path().join("donnees/fichiers")));
    assert_eq!(std::fs::read(&copy.chemin).expect("copy"), vec![b'1'; 3000]);
    for (to, who) in [
        (State::EnAttente, "secretaire"),
        (State::EnCours, "envoi"),
        (State::Envoye, "envoi"),
        (State::Acquitte, "envoi"),
    ] {
        outbox.transition(done, to, who, "").expect("transition");
    }
    outbox
        .receive(done, "ar", "ar.xml", b"<ARActe/>", "envoi")
        .expect("receive");
    // Acknowledged after the cutoff: kept.
    assert_eq!(
        outbox
            .purge_copies("2000-01-01T00:00:00Z", "envoi")
            .expect("purge"),
        (0, 0)
    );
    // Before it: the acknowledged item's copies go, not the waiting one's.
    assert_eq!(
        outbox
            .purge_copies("2999-01-01T00:00:00Z", "envoi")
            .expect("purge"),
        (1, 3000)
    );
    assert!(!copy.chemin.exists());
    assert_eq!(outbox.copies_size(), 5000);
    let waiting_copy = outbox.files(waiting).expect("files").remove(0);
    assert!(waiting_copy.chemin.exists());
    assert_eq!(
        outbox.received(done).expect("received").len(),
        1,
        "the AR stays"
    );
    let journal = outbox.journal(done).expect("journal");
    assert_eq!(journal.last().expect("row").evenement, "copies_supprimees");
    // Only regular files are taken (a FIFO would block the copy for ever).
    #[cfg(unix)]
    {
        let fifo = dir.path().join("tube.pdf");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let err = outbox
            .add(item("Tube", Some("A3"), vec![("acte".into(), fifo)]))
            .expect_err("a FIFO is refused");
        assert!(err.to_string().contains("fichier ordinaire"), "{err}");
        assert_eq!(outbox.list(&Filter::default()).expect("list").len(), 2);
    }
}

/// An outbox whose items hold the searched text in different places: libellé, numéro, file
/// name, IDActe and platform id (with a decoy that `%` and `_` as wildcards would match).
/// Returns the ids in the order of the letters: A (libellé), B (numéro), C (file), D (IDActe
/// and platform id), E (decoy).
fn searchable(dir: &Path, db: &Path) -> [i64; 5] {
    let folder = dir.join("dossier_secret");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let a_file = write(&folder, "a.pdf", b"%PDF-1.4 a");
    let c_file = write(&folder, "Délibération ÉCOLE.pdf", b"%PDF-1.4 c");
    let mut outbox = Outbox::open(db).expect("open");
    let a = outbox
        .add(item(
            "Travaux de l'Église Saint-Étienne",
            Some("A1"),
            vec![("acte".into(), a_file)],
        ))
        .expect("add a");
    let b = outbox
        .add(item("Budget", Some("BUDGÉT_2026%"), vec![]))
        .expect("add b");
    let c = outbox
        .add(item(
            "Procès-verbal",
            Some("C3"),
            vec![("acte".into(), c_file)],
        ))
        .expect("add c");
    let d = outbox
        .add(NewItem {
            donnees: serde_json::json!({ "id_acte": "034-210600730-20260115-DÉL42-DE" }),
            ..item("Subvention", Some("D4"), vec![])
        })
        .expect("add d");
    outbox
        .set_platform_id(d, "PLAT-77", "envoi")
        .expect("platform id");
    let e = outbox
        .add(item("BUDGETX2026A", Some("E5"), vec![]))
        .expect("add e");
    [a, b, c, d, e]
}

fn searched(outbox: &Outbox, text: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = outbox
        .list(&Filter {
            chercher: Some(text.to_owned()),
            ..Default::default()
        })
        .expect("search")
        .iter()
        .map(|i| i.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn search_finds_items_by_any_of_their_texts_ignoring_case_and_accents() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("envois.sqlite");
    let [a, b, c, d, e] = searchable(dir.path(), &db);
    let mut outbox = Outbox::open(&db).expect("open");
    // Libellé, trimmed, without accents or case, or with an accent typed decomposed.
    assert_eq!(searched(&outbox, "eglise"), [a]);
    assert_eq!(searched(&outbox, "  SAINT-ETIENNE "), [a]);
    assert_eq!(searched(&outbox, "e\u{301}glise"), [a]);
    // Numéro interne, with its accent or without.
    assert_eq!(searched(&outbox, "budgét_"), [b]);
    assert_eq!(searched(&outbox, "budget"), [b, e]);
    // The name of a file, not the folder it came from.
    assert_eq!(searched(&outbox, "ecole.PDF"), [c]);
    assert_eq!(searched(&outbox, "délibération"), [c]);
    assert!(searched(&outbox, "dossier_secret").is_empty());
    // The IDActe of `donnees` and the platform's id.
    assert_eq!(searched(&outbox, "del42-de"), [d]);
    assert_eq!(searched(&outbox, "plat-77"), [d]);
    // `%` and `_` are the characters typed, not wildcards (E is « BUDGETX2026A »).
    assert_eq!(searched(&outbox, "budget_2026%"), [b]);
    assert_eq!(searched(&outbox, "%"), [b]);
    assert_eq!(searched(&outbox, "t_2"), [b]);
    assert!(searched(&outbox, "zzz").is_empty());
    // Blank text searches nothing: everything is listed.
    assert_eq!(searched(&outbox, "   ").len(), 5);

    // With a state: of the two items with a PDF, only the one waiting.
    outbox
        .transition(a, State::EnAttente, "x", "")
        .expect("queue");
    assert_eq!(searched(&outbox, ".pdf"), [a, c]);
    let waiting = outbox
        .list(&Filter {
            etats: vec![State::EnAttente],
            chercher: Some(".pdf".into()),
            ..Default::default()
        })
        .expect("waiting");
    assert_eq!(waiting.iter().map(|i| i.id).collect::<Vec<_>>(), [a]);

    // With paging: « 2026 » is in B's numéro, D's IDActe and E's libellé; pages of one.
    let all: Vec<i64> = outbox
        .list(&Filter {
            chercher: Some("2026".into()),
            ..Default::default()
        })
        .expect("all")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(all, [e, d, b], "most recently changed first");
    let page = |decalage| {
        outbox
            .list(&Filter {
                chercher: Some("2026".into()),
                limite: Some(1),
                decalage,
                ..Default::default()
            })
            .expect("page")
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(page(0), [e]);
    assert_eq!(page(1), [d]);
    assert_eq!(page(2), [b]);
    assert!(page(3).is_empty());
    // Kind and dates still apply.
    assert!(
        outbox
            .list(&Filter {
                genre: Some(Kind::Pes),
                chercher: Some("2026".into()),
                ..Default::default()
            })
            .expect("pes")
            .is_empty()
    );
    assert!(
        outbox
            .list(&Filter {
                depuis: Some("2999-01-01T00:00:00Z".into()),
                chercher: Some("2026".into()),
                ..Default::default()
            })
            .expect("future")
            .is_empty()
    );
}

#[test]
fn command_line_searches_the_outbox() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("donnees");
    let [a, _, c, ..] = searchable(dir.path(), &data.join("envois.sqlite"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(args)
            .env("PARAPHE_DONNEES", &data)
            .env("PARAPHE_CONFIG", data.join("absent.toml"))
            .output()
            .expect("run paraphe");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        doc["envois"]
            .as_array()
            .expect("envois")
            .iter()
            .map(|i| i["id"].as_i64().expect("id"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run(&["envois", "lister", "--chercher", "EGLISE", "--json"]),
        [a]
    );
    assert_eq!(
        run(&["envois", "lister", "--chercher", "école", "--json"]),
        [c]
    );
    assert!(run(&["envois", "lister", "--chercher", "budget_", "--json"]).len() == 1);
    assert!(
        run(&[
            "envois",
            "lister",
            "--chercher",
            "eglise",
            "--etat",
            "acquitte",
            "--json"
        ])
        .is_empty()
    );
    assert_eq!(run(&["envois", "lister", "--json"]).len(), 5);
}

/// A PES item kept without its bordereaux in its data (queued by an older version, or added
/// whole from elsewhere) is still found by the PES_Retour that answers it (issue 20): its
/// bordereaux are read once from its own copy and kept; a retour for another bordereau, another
/// domain or another collectivité finds nothing.
#[test]
fn a_pes_item_without_its_bordereaux_is_still_found_by_its_retour() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut outbox = Outbox::open(&dir.path().join("envois.sqlite")).expect("open");
    let mut text = common::pes::HEAD.to_owned();
    text.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    text.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let pes = dir.path().join("pes.xml");
    std::fs::write(&pes, common::pes::latin1(&text)).expect("write");
    let id = outbox
        .add(NewItem {
            genre: Kind::Pes,
            libelle: "Mandats de novembre",
            siren: None,
            numero_interne: None,
            donnees: serde_json::json!({}),
            fichiers: vec![("pes".into(), pes)],
            qui: "test",
        })
        .expect("add");
    for to in [State::EnAttente, State::EnCours, State::Envoye] {
        outbox.transition(id, to, "test", "").expect("transition");
    }
    let bordereau = [("2026".to_owned(), "7".to_owned())];
    let coll = Some("21340172200016");
    assert_eq!(
        outbox
            .pes_items_answered_by(coll, Some(false), &bordereau)
            .expect("answered"),
        [id]
    );
    let data = outbox.data(id).expect("data");
    assert_eq!(data["bordereaux_ids"][0]["numero"], "7", "{data}");
    assert_eq!(data["id_coll"], "21340172200016", "{data}");
    for (coll, recette, bordereau) in [
        (coll, Some(false), ("2026", "8")),
        (coll, Some(false), ("2025", "7")),
        (coll, Some(true), ("2026", "7")),
        (Some("21130039700011"), Some(false), ("2026", "7")),
    ] {
        let keys = [(bordereau.0.to_owned(), bordereau.1.to_owned())];
        assert!(
            outbox
                .pes_items_answered_by(coll, recette, &keys)
                .expect("answered")
                .is_empty(),
            "{coll:?} {recette:?} {bordereau:?}"
        );
    }
}

/// The list in the order a person asks for (issue 22) and one collectivité's items only
/// (issue 21), searched or not: the order and the filter are SQLite's, on a real file.
#[test]
fn listing_sorts_by_each_column_and_keeps_one_collectivite() {
    use paraphe::outbox::Tri;
    let dir = tempfile::tempdir().expect("tmp");
    let mut outbox = Outbox::open(&dir.path().join("e.sqlite")).expect("open");
    let mut add = |libelle: &'static str, numero: &'static str, siren: &'static str| {
        let mut new = item(libelle, Some(numero), vec![]);
        new.siren = Some(siren);
        outbox.add(new).expect("add")
    };
    let voirie = add("voirie", "N2", "211300397");
    let budget = add("Budget", "N3", "211300686");
    let cantine = add("cantine", "N1", "211300397");
    outbox
        .transition(voirie, State::Signe, "x", "")
        .and_then(|_| outbox.transition(voirie, State::EnAttente, "x", ""))
        .expect("queue");
    let listed = |outbox: &Outbox, filter: Filter| -> Vec<String> {
        outbox
            .list(&filter)
            .expect("list")
            .into_iter()
            .map(|i| i.libelle)
            .collect()
    };
    let by = |tri, croissant| Filter {
        tri,
        croissant,
        ..Default::default()
    };
    // The newest change first by default: voirie was changed last.
    assert_eq!(
        listed(&outbox, Filter::default()),
        ["voirie", "cantine", "Budget"]
    );
    assert_eq!(
        listed(&outbox, by(Tri::Objet, true)),
        ["Budget", "cantine", "voirie"],
        "A to Z, capitals or not"
    );
    assert_eq!(
        listed(&outbox, by(Tri::Objet, false)),
        ["voirie", "cantine", "Budget"]
    );
    assert_eq!(
        listed(&outbox, by(Tri::Numero, true)),
        ["cantine", "voirie", "Budget"]
    );
    // The life cycle: préparé before en attente.
    assert_eq!(
        listed(&outbox, by(Tri::Etat, true))[2],
        "voirie",
        "en attente after the two préparés"
    );
    assert_eq!(listed(&outbox, by(Tri::Etat, false))[0], "voirie");
    let fontvieille = |chercher: Option<&str>| Filter {
        siren: Some("211300397".into()),
        chercher: chercher.map(str::to_owned),
        tri: Tri::Objet,
        croissant: true,
        ..Default::default()
    };
    assert_eq!(listed(&outbox, fontvieille(None)), ["cantine", "voirie"]);
    assert_eq!(
        listed(&outbox, fontvieille(Some("CANT"))),
        ["cantine"],
        "searched within the collectivité"
    );
    assert_eq!(
        listed(&outbox, fontvieille(Some("budget"))),
        Vec::<String>::new()
    );
    assert_eq!(
        listed(&outbox, by(Tri::Collectivite, true))[0],
        "voirie",
        "211300397 first, its newest item first"
    );
    let _ = (budget, cantine);
}
