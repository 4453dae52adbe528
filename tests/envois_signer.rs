//! Prepare here, sign later (issue 20): an unsigned PES is queued `préparé` with `--a-signer`
//! (and refused without it), then `envois signer` signs the outbox's own copy with one PIN for
//! several items and puts them in the queue; the signed copy is judged by the verifier with the
//! test authorities. A wrong password or an item in another state changes nothing.

mod common;

use common::*;
use paraphe::outbox::{Outbox, State};
use paraphe::pes::verify::{TrustStore, verify_file};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn unsigned_pes(dir: &Path, name: &str, nom_fic: &str) -> PathBuf {
    let mut text = common::pes::HEAD.replace(
        "<NomFic V=\"essai\"/>",
        &format!("<NomFic V=\"{nom_fic}\"/>"),
    );
    text.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    text.push_str(&common::pes::bordereau("B2", 2, &["5.00", "7.50"]));
    text.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let path = dir.join(name);
    std::fs::write(&path, common::pes::latin1(&text)).expect("write");
    path
}

fn command(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    c.env("PARAPHE_CONFIG", dir.join("absent.toml"))
        .env("PARAPHE_DONNEES", dir.join("donnees"))
        .current_dir(dir);
    c
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("JSON: {}", show(out)))
}

fn sign(dir: &Path, ids: &[i64], password: &str) -> Output {
    let mut c = command(dir);
    c.args(["envois", "signer"])
        .args(ids.iter().map(i64::to_string))
        .args([
            "--role",
            "Ordonnateur",
            "--ville",
            "Arles",
            "--code-postal",
            "13200",
        ])
        .args(["--pin-stdin", "--json", "--p12"])
        .arg(&TestPki::shared().identity("signature").p12);
    spawn_with_input(c, password)
        .wait_with_output()
        .expect("sign")
}

#[test]
fn a_prepared_pes_is_signed_in_the_outbox_then_queued() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let first = unsigned_pes(dir, "pes-1.xml", "premier");
    let second = unsigned_pes(dir, "pes-2.xml", "second");
    let original = std::fs::read(&first).expect("read");

    // Unsigned, without --a-signer: refused as before.
    let out = command(dir)
        .args(["envois", "ajouter", "pes", "--json"])
        .arg(&first)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(json(&out)["etat"], "refuse");

    // With --a-signer: prepared, with a note saying it waits for its signature.
    let mut ids = Vec::new();
    for file in [&first, &second] {
        let out = command(dir)
            .args(["envois", "ajouter", "pes", "--a-signer", "--json"])
            .arg(file)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let doc = json(&out);
        assert_eq!(doc["etat"], "prepare", "{doc}");
        assert!(
            doc["constats"].to_string().contains("pes.porte.a_signer"),
            "{doc}"
        );
        ids.push(doc["id"].as_i64().expect("id"));
    }

    // A wrong password: nothing signed, nothing moved.
    let out = sign(dir, &ids, "mauvais mot de passe");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let outbox = Outbox::open(&dir.join("donnees/envois.sqlite")).expect("outbox");
    for &id in &ids {
        assert_eq!(outbox.get(id).expect("item").etat, State::Prepare);
    }
    drop(outbox);

    // Both signed with one password, each copy in place of the unsigned one, then queued.
    let out = sign(dir, &ids, P12_PASSWORD);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc = json(&out);
    let outbox = Outbox::open(&dir.join("donnees/envois.sqlite")).expect("outbox");
    let trust = TrustStore::load(&TestPki::shared().ca_bundle_pem()).expect("trust");
    for (i, &id) in ids.iter().enumerate() {
        assert_eq!(doc["envois"][i]["etat"], "en_attente", "{doc}");
        assert_eq!(outbox.get(id).expect("item").etat, State::EnAttente);
        let copy = outbox
            .files(id)
            .expect("files")
            .into_iter()
            .find(|f| f.role == "pes")
            .expect("copy");
        let verdict = verify_file(&copy.chemin, Some(&trust)).expect("verify");
        assert!(verdict.valide, "{verdict:?}");
        assert_eq!(verdict.signatures.len(), 2, "one per bordereau");
        // The row follows the file: what the sender checks before sending.
        let (sha, _) = paraphe::outbox::sha256_file(&copy.chemin).expect("hash");
        assert_eq!(sha, copy.sha256);
        let journal = outbox.journal(id).expect("journal");
        let states: Vec<_> = journal.iter().filter_map(|j| j.etat_apres).collect();
        assert!(
            states.ends_with(&[State::Signe, State::EnAttente]),
            "{journal:?}"
        );
        assert!(journal.iter().any(|j| j.evenement == "copie_signee"));
    }
    assert_eq!(
        std::fs::read(&first).expect("read"),
        original,
        "the person's file is untouched"
    );

    // Signed items are not prepared any more: refused, nothing changes.
    let out = sign(dir, &ids[..1], P12_PASSWORD);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("seuls les envois préparés"),
        "{}",
        show(&out)
    );
}
