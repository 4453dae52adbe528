//! Prepare here, sign later (issue 20): an unsigned PES is queued `préparé` with `--a-signer`
//! (and refused without it), then `envois signer` signs the outbox's own copy with one PIN for
//! several items and puts them in the queue; the signed copy is judged by the verifier with the
//! test authorities. A wrong password or an item in another state changes nothing.

mod common;

use common::*;
use paraphe::certs::trust::TrustStore;
use paraphe::outbox::{Outbox, State};
use paraphe::pes::verify::verify_file;
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
        let (sha, _) = paraphe::hashing::file_sha256_and_size(&copy.chemin).expect("hash");
        assert_eq!(hex::encode(sha), copy.sha256);
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

mod actes_support;

/// An act prepared here and signed later (issue 20): `envois ajouter acte --a-signer` keeps it
/// `préparé`; the originals may then go; `envois signer` signs the outbox's copies as
/// `[actes] signature` says — detached CMS signatures added beside the act and its annex
/// (checked here by `openssl cms -verify` against the test authorities), or the act's PDF signed
/// inside (checked by `pdfsig`) — and queues it. A copy changed since its preparation is not
/// signed: the item stays `préparé`.
#[test]
fn a_prepared_act_is_signed_in_the_outbox_as_the_settings_say() {
    if !tools(&["openssl", "pdfsig"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let settings = |signature: &str| {
        std::fs::write(
            dir.join("paraphe.toml"),
            format!(
                "[collectivite]\nsiren = \"210600730\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nemails_retour = [\"actes@mairie-exemple.fr\"]\n\n[actes]\nsignature = \"{signature}\"\n"
            ),
        )
        .expect("settings");
    };
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_paraphe"));
        c.env("PARAPHE_CONFIG", dir.join("paraphe.toml"))
            .env("PARAPHE_DONNEES", dir.join("donnees"))
            .current_dir(dir)
            .args(args);
        c
    };
    std::fs::write(
        dir.join("classification.xml"),
        actes_support::classification_xml("2019-03-01"),
    )
    .expect("classification");
    let prepare = |numero: &str| -> i64 {
        std::fs::write(dir.join("acte.pdf"), actes_support::pdf_bytes(numero)).expect("pdf");
        std::fs::write(dir.join("plan.png"), actes_support::png_bytes(10, 10)).expect("png");
        let out = run(&[
            "envois",
            "ajouter",
            "acte",
            "--a-signer",
            "--json",
            "--nature",
            "1",
            "--matiere",
            "1.1",
            "--numero",
            numero,
            "--date",
            "2020-01-15",
            "--objet",
            "Travaux de voirie",
            "--acte",
            "acte.pdf",
            "--annexe",
            "plan.png:21_RP",
            "--classification",
            "classification.xml",
        ])
        .output()
        .expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let doc = json(&out);
        assert_eq!(doc["etat"], "prepare", "{doc}");
        // The originals may go: the outbox has its own copies.
        std::fs::remove_file(dir.join("acte.pdf")).expect("rm");
        std::fs::remove_file(dir.join("plan.png")).expect("rm");
        doc["id"].as_i64().expect("id")
    };
    let sign = |id: i64| {
        let mut c = run(&[
            "envois",
            "signer",
            &id.to_string(),
            "--pin-stdin",
            "--json",
            "--p12",
        ]);
        c.arg(&TestPki::shared().identity("signature").p12);
        spawn_with_input(c, P12_PASSWORD)
            .wait_with_output()
            .expect("sign")
    };
    let outbox = || Outbox::open(&dir.join("donnees/envois.sqlite")).expect("outbox");
    let ca = TestPki::shared().ca_bundle_pem();

    // CMS: one detached signature per file, each verified by openssl against its copy.
    settings("cms");
    let cms_id = prepare("DEL2020_101");
    let out = sign(cms_id);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        json(&out)["envois"][0]["etat"],
        "en_attente",
        "{}",
        show(&out)
    );
    let files = outbox().files(cms_id).expect("files");
    for (signed, signature) in [("acte", "signature_acte"), ("annexe", "signature_annexe")] {
        let content = files.iter().find(|f| f.role == signed).expect("copy");
        let sig = files
            .iter()
            .find(|f| f.role == signature)
            .expect("signature");
        let verified = Command::new("openssl")
            .args([
                "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-out",
            ])
            .arg(dir.join("contenu"))
            .arg("-in")
            .arg(&sig.chemin)
            .arg("-content")
            .arg(&content.chemin)
            .arg("-CAfile")
            .arg(&ca)
            .output()
            .expect("openssl");
        assert!(
            verified.status.success(),
            "{signature}: {}",
            show(&verified)
        );
        let (sha, _) = paraphe::hashing::file_sha256_and_size(&sig.chemin).expect("hash");
        assert_eq!(hex::encode(sha), sig.sha256, "the row follows the file");
    }
    let states: Vec<_> = outbox()
        .journal(cms_id)
        .expect("journal")
        .iter()
        .filter_map(|j| j.etat_apres)
        .collect();
    assert!(
        states.ends_with(&[State::Signe, State::EnAttente]),
        "{states:?}"
    );

    // PAdES: the act's copy is replaced by the signed PDF, which pdfsig finds valid.
    settings("pades");
    let pades_id = prepare("DEL2020_102");
    let before = outbox().files(pades_id).expect("files");
    let out = sign(pades_id);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let files = outbox().files(pades_id).expect("files");
    let acte = files.iter().find(|f| f.role == "acte").expect("acte");
    let was = before.iter().find(|f| f.role == "acte").expect("acte");
    assert_ne!(acte.sha256, was.sha256, "the copy is now the signed PDF");
    assert!(!files.iter().any(|f| f.role.starts_with("signature_")));
    let pdfsig = Command::new("pdfsig")
        .arg(&acte.chemin)
        .output()
        .expect("pdfsig");
    assert!(
        String::from_utf8_lossy(&pdfsig.stdout)
            .contains("Signature Validation: Signature is Valid."),
        "{}",
        show(&pdfsig)
    );

    // A copy changed after its preparation is not signed; the item stays prepared.
    settings("cms");
    let changed_id = prepare("DEL2020_103");
    let copy = outbox()
        .files(changed_id)
        .expect("files")
        .into_iter()
        .find(|f| f.role == "annexe")
        .expect("annexe");
    std::fs::write(&copy.chemin, actes_support::png_bytes(11, 11)).expect("tamper");
    let out = sign(changed_id);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let doc = json(&out);
    assert_eq!(doc["envois"][0]["etat"], "prepare", "{doc}");
    assert!(
        doc["envois"][0]["erreur"].to_string().contains("a changé"),
        "{doc}"
    );
    assert_eq!(outbox().get(changed_id).expect("item").etat, State::Prepare);
    assert!(
        !outbox()
            .files(changed_id)
            .expect("files")
            .iter()
            .any(|f| f.role.starts_with("signature_")),
        "nothing added"
    );
}

/// `[envois] liberation_manuelle` (issue 20): signing and sending are two decisions. A PES
/// signed with `envois signer` stays `signé`, out of the sender's reach, until `envois liberer`
/// queues it; releasing anything but a signed item is refused in French and changes nothing.
#[test]
fn with_manual_release_a_signed_item_waits_until_released() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let config = dir.join("paraphe.toml");
    std::fs::write(&config, "[envois]\nliberation_manuelle = true\n").expect("settings");
    let with_settings = |dir: &Path| {
        let mut c = command(dir);
        c.env("PARAPHE_CONFIG", &config);
        c
    };
    let file = unsigned_pes(dir, "pes.xml", "liberation");
    let out = with_settings(dir)
        .args(["envois", "ajouter", "pes", "--a-signer", "--json"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let id = json(&out)["id"].as_i64().expect("id");
    let release = |dir: &Path| {
        with_settings(dir)
            .args(["envois", "liberer", &id.to_string(), "--json"])
            .output()
            .expect("run")
    };

    // Not signed yet: nothing to release.
    let out = release(dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("seuls les envois signés"),
        "{}",
        show(&out)
    );

    // Signed: kept `signé`, with the signature in its journal, and not due for sending.
    let mut c = with_settings(dir);
    c.args(["envois", "signer", &id.to_string()])
        .args(["--role", "Ordonnateur", "--ville", "Arles"])
        .args(["--code-postal", "13200", "--pin-stdin", "--json", "--p12"])
        .arg(&TestPki::shared().identity("signature").p12);
    let out = spawn_with_input(c, P12_PASSWORD)
        .wait_with_output()
        .expect("sign");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(json(&out)["envois"][0]["etat"], "signe", "{}", show(&out));
    let base = dir.join("donnees/envois.sqlite");
    {
        let outbox = Outbox::open(&base).expect("outbox");
        assert_eq!(outbox.get(id).expect("item").etat, State::Signe);
        let journal = outbox.journal(id).expect("journal");
        let last = journal.iter().filter_map(|j| j.etat_apres).next_back();
        assert_eq!(last, Some(State::Signe), "{journal:?}");
        let due = outbox.due_for_sending("9999-12-31T00:00:00Z").expect("due");
        assert!(due.iter().all(|i| i.id != id), "{due:?}");
    }

    // Released: queued, due at the next sending, the release journalled.
    let out = release(dir);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(json(&out)["etat"], "en_attente", "{}", show(&out));
    let outbox = Outbox::open(&base).expect("outbox");
    assert_eq!(outbox.get(id).expect("item").etat, State::EnAttente);
    let due = outbox.due_for_sending("9999-12-31T00:00:00Z").expect("due");
    assert!(due.iter().any(|i| i.id == id), "{due:?}");
    let journal = outbox.journal(id).expect("journal");
    assert!(
        journal
            .iter()
            .any(|j| j.etat_apres == Some(State::EnAttente) && j.detail.contains("mis en file")),
        "{journal:?}"
    );

    // Released twice: refused, the item stays queued.
    drop(outbox);
    let out = release(dir);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}
