//! End to end over mTLS: `paraphe bac-a-sable` (a real HTTPS server requiring client
//! certificates) and `paraphe envois ajouter|envoyer` authenticating with a SoftHSM key. An act and
//! a signed PES go from queued to acknowledged; the AR and the PES_Acquit are kept and checked by
//! independent means (xmllint against the ACTES schema, the acquit reader). Then the crash test:
//! the sender is killed with SIGKILL at random moments while the sandbox injects faults, and every
//! item, act or PES, still arrives exactly once.

mod actes_support;
mod common;

use actes_support::{classification_xml, pdf_bytes, png_bytes};
use common::{show, spawn_with_input};
use paraphe::outbox::{Filter, Kind, Outbox, State};
use pkcs11_mocks::{P12_PASSWORD, SoftHsm, TestPki, USER_PIN, softhsm_module, unique_label};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SIREN: &str = "210600730";

/// The SoftHSM token holding the authentication identity, made before the module is loaded.
fn token() -> String {
    static LABEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LABEL
        .get_or_init(|| {
            let hsm = SoftHsm::shared();
            let label = unique_label("tls");
            hsm.create_token(&label, USER_PIN).expect("create token");
            hsm.import(
                &label,
                USER_PIN,
                TestPki::shared().identity("authentification"),
            )
            .expect("import");
            label
        })
        .clone()
}

struct Sandbox {
    child: Child,
    address: String,
    data: PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    fn start(dir: &Path, faults: &str) -> Sandbox {
        Sandbox::start_with(dir, "", faults)
    }

    fn start_with(dir: &Path, top: &str, faults: &str) -> Sandbox {
        let data = dir.join("bac");
        std::fs::create_dir_all(&data).expect("mkdir");
        // A delay given in `top` replaces the default one.
        let ar_delay = if top.contains("delai_ar_secondes") {
            ""
        } else {
            "delai_ar_secondes = 0.3\n"
        };
        std::fs::write(
            data.join("bac-a-sable.toml"),
            format!(
                "siren = \"{SIREN}\"\ndepartement = \"006\"\n{ar_delay}delai_acquit_secondes = 0.3\n{top}\n[pannes]\n{faults}\n"
            ),
        )
        .expect("sandbox settings");
        let mut child = Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(["bac-a-sable", "--ecoute", "127.0.0.1:0", "--donnees"])
            .arg(&data)
            .arg("--ca-clients")
            .arg(TestPki::shared().ca_bundle_pem())
            .env("PARAPHE_DONNEES", dir.join("donnees-bac"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("bac-a-sable.err")).expect("stderr file"))
            .spawn()
            .expect("start sandbox");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("ready line");
        // Keep reading what it prints, so that it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let address = line
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Sandbox {
            child,
            address,
            data,
        }
    }

    /// Whether the sandbox still runs, and what it wrote on its error output.
    fn health(&mut self) -> String {
        let status = self.child.try_wait().expect("try_wait");
        let stderr = std::fs::read_to_string(self.data.with_file_name("bac-a-sable.err"))
            .unwrap_or_default();
        format!("sandbox status {status:?}, stderr: {stderr}")
    }

    fn counts(&self) -> (i64, i64) {
        let conn = rusqlite_count(&self.data.join("bac-a-sable.sqlite"));
        (conn.0, conn.1)
    }
}

/// A temporary folder, a sandbox in it (with `faults`) and a workstation that talks to it.
fn setup(faults: &str) -> (tempfile::TempDir, Sandbox, Workstation) {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start(tmp.path(), faults);
    let ws = Workstation::new(tmp.path(), &sandbox);
    (tmp, sandbox, ws)
}

fn rusqlite_count(path: &Path) -> (i64, i64) {
    let store = paraphe::platform::sandbox::store::Store::open(path).expect("sandbox db");
    store.counts().expect("counts")
}

struct Workstation {
    dir: PathBuf,
}

impl Workstation {
    fn new(dir: &Path, sandbox: &Sandbox) -> Workstation {
        Workstation::new_with(dir, sandbox, "s2low")
    }

    fn new_with(dir: &Path, sandbox: &Sandbox, genre: &str) -> Workstation {
        let ws = Workstation {
            dir: dir.to_owned(),
        };
        std::fs::write(
            dir.join("paraphe.toml"),
            format!(
                "[collectivite]\nsiren = \"{SIREN}\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nreferent_nom = \"Hélène Müller\"\nemails_retour = [\"actes@mairie-exemple.fr\"]\n\
                 [carte]\nmodule = \"{}\"\njeton = \"{}\"\n\
                 [plateforme]\ngenre = \"{genre}\"\nadresse = \"{}\"\nca = \"{}\"\ndelai_secondes = 10\n\
                 premier_nouvel_essai_secondes = 0.05\ndernier_nouvel_essai_secondes = 0.5\n",
                softhsm_module().display(),
                token(),
                sandbox.address,
                sandbox.data.join("pki/ca.pem").display()
            ),
        )
        .expect("settings");
        std::fs::write(dir.join("acte.pdf"), pdf_bytes("Deliberation")).expect("pdf");
        std::fs::write(dir.join("plan.png"), png_bytes(8, 8)).expect("png");
        std::fs::write(
            dir.join("classification.xml"),
            classification_xml("2019-03-01"),
        )
        .expect("classification");
        ws
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_paraphe"));
        c.env("PARAPHE_CONFIG", self.dir.join("paraphe.toml"))
            .env("PARAPHE_DONNEES", self.dir.join("donnees"))
            .envs(SoftHsm::shared().env())
            .current_dir(&self.dir);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run paraphe")
    }

    /// `paraphe envois ajouter acte` for a délibération under `matiere`, with `extra` options.
    fn queue_acte(&self, numero: &str, matiere: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "envois",
            "ajouter",
            "acte",
            "--nature",
            "1",
            "--matiere",
            matiere,
            "--numero",
            numero,
            "--date",
            "2020-01-15",
            "--objet",
            "Délibération budgétaire",
            "--acte",
            "acte.pdf:99_DE",
            "--json",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn add_acte(&self, numero: &str) {
        let out = self.queue_acte(
            numero,
            "1.1",
            &[
                "--annexe",
                "plan.png:21_RP",
                "--classification",
                "classification.xml",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(doc["etat"], "en_attente");
    }

    /// `paraphe envois envoyer --pin-stdin --json --attendre WAIT`, not started.
    fn sender_command(&self, wait: u64) -> Command {
        let mut command = self.command();
        command
            .args(["envois", "envoyer", "--pin-stdin", "--json", "--attendre"])
            .arg(wait.to_string());
        command
    }

    fn spawn_sender(&self, wait: u64) -> Child {
        spawn_with_input(self.sender_command(wait), USER_PIN)
    }

    fn outbox(&self) -> Outbox {
        Outbox::open(&self.dir.join("donnees/envois.sqlite")).expect("outbox")
    }
}

fn signed_pes(dir: &Path, name: &str, nom_fic: &str) -> PathBuf {
    let mut text = common::pes::HEAD.replace("essai", nom_fic);
    text.push_str(&common::pes::bordereau("B1", 1, &["120.50"]));
    text.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let plain = dir.join(format!("{name}-non-signe.xml"));
    std::fs::write(&plain, common::pes::latin1(&text)).expect("pes");
    let signed = dir.join(format!("{name}.xml"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    command
        .args(["pes", "signer"])
        .arg(&plain)
        .arg("-o")
        .arg(&signed)
        .args([
            "--role",
            "Ordonnateur",
            "--ville",
            "Nice",
            "--code-postal",
            "06000",
        ])
        .args(["--pin-stdin", "--p12"])
        .arg(&TestPki::shared().identity("signature").p12);
    let out = spawn_with_input(command, P12_PASSWORD)
        .wait_with_output()
        .expect("sign");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    signed
}

#[test]
fn act_and_pes_go_from_queued_to_acknowledged_over_mtls_with_a_card_key() {
    let (tmp, sandbox, ws) = setup("");
    ws.add_acte("DEL2026_001");
    let pes = signed_pes(tmp.path(), "pes-signe", "mandats-novembre");
    let out = ws.run(&[
        "envois",
        "ajouter",
        "pes",
        pes.to_str().expect("path"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // An unsigned PES is refused at the outbox's door, with the reason…
    let mut unsigned = common::pes::HEAD.replace("essai", "non-signe");
    unsigned.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    unsigned.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    std::fs::write(tmp.path().join("brut.xml"), common::pes::latin1(&unsigned)).expect("pes");
    let out = ws.run(&["envois", "ajouter", "pes", "brut.xml", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let refused: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(refused["etat"], "refuse", "{refused}");
    assert!(refused.get("id").is_none(), "{refused}");
    let codes: Vec<&str> = refused["constats"]
        .as_array()
        .expect("constats")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(codes, ["pes.porte.non_signe"], "{refused}");
    // …and accepted with a warning where bordereaux are still signed on paper; Hélios (the
    // sandbox) then refuses it.
    let mut settings = std::fs::read_to_string(ws.dir.join("paraphe.toml")).expect("settings");
    settings.push_str("[pes]\nbordereaux_signes_sur_papier = true\n");
    std::fs::write(ws.dir.join("paraphe.toml"), settings).expect("settings");
    let out = ws.run(&["envois", "ajouter", "pes", "brut.xml", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let accepted: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(accepted["etat"], "en_attente", "{accepted}");
    assert!(accepted["id"].is_i64(), "{accepted}");
    assert_eq!(
        accepted["constats"][0]["code"], "pes.porte.non_signe_papier",
        "{accepted}"
    );

    let out = ws.spawn_sender(60).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["en_suspens"], 0, "{report}");
    assert_eq!(report["rapport"]["envoyes"], 3, "{report}");
    assert_eq!(report["rapport"]["acquittes"], 2, "{report}");
    assert_eq!(report["rapport"]["refuses"], 1, "{report}");

    let outbox = ws.outbox();
    let items = outbox.list(&Filter::default()).expect("list");
    assert_eq!(items.len(), 3);
    for item in &items {
        assert!(item.id_plateforme.is_some(), "{item:?}");
        let received = outbox.received(item.id).expect("received");
        match (item.genre, item.libelle.as_str()) {
            (Kind::Acte, _) => {
                assert_eq!(item.etat, State::Acquitte, "{item:?}");
                let (_, _, ar) = received
                    .iter()
                    .find(|r| r.0 == "accuse_reception")
                    .expect("AR kept");
                let message =
                    paraphe::actes::messages::read_message(ar.as_slice()).expect("AR reads");
                assert_eq!(
                    message.kind,
                    paraphe::actes::messages::MessageKind::ARActe,
                    "{message:?}"
                );
                let ar_path = tmp.path().join("ar.xml");
                std::fs::write(&ar_path, ar).expect("write AR");
                validate_actes_schema(&ar_path);
                let text = String::from_utf8_lossy(ar);
                assert!(
                    text.contains("actes:IDActe=\"006-210600730-20200115-DEL2026_001-DE\""),
                    "{text}"
                );
                // The platform's bordereau and the stamped act (PDF only: the PNG annexe has
                // no stamped copy), read by poppler, not by our code.
                let kinds: Vec<&str> = received.iter().map(|r| r.0.as_str()).collect();
                let (_, _, bordereau) = received
                    .iter()
                    .find(|r| r.0 == "bordereau")
                    .unwrap_or_else(|| panic!("bordereau kept: {kinds:?}"));
                let words = pdf_text(tmp.path(), "bordereau.pdf", bordereau);
                assert!(
                    words.contains("006-210600730-20200115-DEL2026_001-DE"),
                    "{words}"
                );
                let stamped: Vec<_> = received.iter().filter(|r| r.0 == "acte_tamponne").collect();
                assert_eq!(stamped.len(), 1, "{kinds:?}");
                assert!(stamped[0].1.ends_with(".pdf"), "{:?}", stamped[0].1);
                let words = pdf_text(tmp.path(), "tamponne.pdf", &stamped[0].2);
                assert!(
                    words.contains("Reçu en préfecture le") && words.contains("Deliberation"),
                    "stamp and original text: {words}"
                );
            }
            (Kind::Pes, "mandats-novembre") => {
                assert_eq!(item.etat, State::Acquitte, "{item:?}");
                let (_, _, acquit) = received
                    .iter()
                    .find(|r| r.0 == "pes_acquit")
                    .expect("acquit");
                let acquit = paraphe::pes::acquit::read_acquit(acquit.as_slice()).expect("acquit");
                assert!(acquit.accepted(), "{acquit:?}");
                assert_eq!(acquit.elements[0].bordereau.as_deref(), Some("7"));
            }
            (Kind::Pes, _) => {
                assert_eq!(item.etat, State::Refuse, "{item:?}");
                let (_, _, acquit) = received
                    .iter()
                    .find(|r| r.0 == "pes_acquit")
                    .expect("acquit");
                let acquit = paraphe::pes::acquit::read_acquit(acquit.as_slice()).expect("acquit");
                assert!(!acquit.accepted());
                assert_eq!(
                    acquit.elements[0].erreurs[0].code,
                    "ERREUR_SIGNATURE_INVALIDE"
                );
            }
        }
    }
    assert_eq!(sandbox.counts(), (1, 2));

    // The comptable's PES_Retour for the accepted PES came back, kept privately, and the
    // platform was told it was read.
    assert_eq!(report["rapport"]["retours_pes"], 1, "{report}");
    let retours: Vec<PathBuf> = std::fs::read_dir(ws.dir.join("donnees/pes-retours"))
        .expect("retours folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(retours.len(), 1, "{retours:?}");
    assert!(retours[0].to_string_lossy().ends_with(".xml"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&retours[0])
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private file: {mode:o}");
    }
    let out = ws.run(&[
        "pes",
        "retour",
        retours[0].to_str().expect("path"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let retour: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(retour["bordereaux"][0]["numero"], "7", "{retour}");
    assert_eq!(
        retour["bordereaux"][0]["pieces"][0]["etat"], "01",
        "{retour}"
    );
    let store =
        paraphe::platform::sandbox::store::Store::open(&sandbox.data.join("bac-a-sable.sqlite"))
            .expect("sandbox db");
    assert_eq!(store.retours().expect("retours"), vec![(1, true)]);
    // …and kept with the PES item it answers (same collectivité, exercice and bordereau), for
    // its detail; the refused PES has none.
    let outbox = ws.outbox();
    let with_retour: Vec<i64> = outbox
        .list(&Filter::default())
        .expect("list")
        .iter()
        .filter(|i| {
            outbox
                .received(i.id)
                .expect("received")
                .iter()
                .any(|r| r.0 == "pes_retour")
        })
        .map(|i| i.id)
        .collect();
    assert_eq!(with_retour.len(), 1, "{with_retour:?}");
    assert_eq!(
        outbox.get(with_retour[0]).expect("item").etat,
        State::Acquitte
    );
}

/// The text of a PDF as poppler's `pdftotext` reads it.
fn pdf_text(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pdf).expect("write pdf");
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    assert!(out.status.success(), "pdftotext: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn validate_actes_schema(path: &Path) {
    let Some(xsd_dir) = common::conformance("actes/xsd") else {
        return;
    };
    if !common::tools(&["xmllint"]) {
        return;
    }
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(xsd_dir.join("actesv1_1.xsd"))
        .arg(path)
        .output()
        .expect("xmllint");
    assert!(out.status.success(), "{}", show(&out));
}

#[test]
fn a_client_without_an_accepted_certificate_is_turned_away() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start(tmp.path(), "");
    let ca = sandbox.data.join("pki/ca.pem");
    let url = format!("{}/api/test-connexion.php", sandbox.address);
    if !common::tools(&["curl"]) {
        return;
    }
    // No certificate: the TLS handshake fails.
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(&ca)
        .arg(&url)
        .output()
        .expect("curl");
    assert!(!out.status.success(), "{}", show(&out));
    // A certificate from an authority the sandbox does not know: refused too.
    let dir = tmp.path();
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-subj", "/CN=Inconnu", "-days", "2", "-keyout"])
        .arg(dir.join("k.pem"))
        .arg("-out")
        .arg(dir.join("c.pem"))
        .output()
        .expect("openssl");
    assert!(status.status.success());
    let out = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(&ca)
        .arg("--cert")
        .arg(dir.join("c.pem"))
        .arg("--key")
        .arg(dir.join("k.pem"))
        .arg(&url)
        .output()
        .expect("curl");
    assert!(!out.status.success(), "{}", show(&out));
    // From a trusted authority, but a signature-only certificate (nonRepudiation): a strict
    // server refuses it for TLS client authentication; the authentication certificate passes.
    let with_identity = |name: &str| {
        let identity = TestPki::shared().identity(name);
        Command::new("curl")
            .args(["-s", "--cacert"])
            .arg(&ca)
            .arg("--cert")
            .arg(&identity.cert_pem)
            .arg("--key")
            .arg(&identity.key_pem)
            .arg(&url)
            .output()
            .expect("curl")
    };
    let refused = with_identity("signature");
    assert!(!refused.status.success(), "{}", show(&refused));
    let accepted = with_identity("authentification");
    assert!(accepted.status.success(), "{}", show(&accepted));
    assert!(
        String::from_utf8_lossy(&accepted.stdout).starts_with("OK"),
        "{}",
        show(&accepted)
    );
}

/// The sender killed at random moments, the sandbox cutting connections, losing answers after
/// doing the work and answering 500: every act still arrives exactly once, and the outbox shows each
/// as acknowledged with its platform reference. PARAPHE_CRASH_ITEMS sets the count (100 for the
/// long run; CI runs a modest count).
#[test]
fn killed_sender_and_injected_faults_still_deliver_each_item_exactly_once() {
    let count: usize = std::env::var("PARAPHE_CRASH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut sandbox = Sandbox::start(
        tmp.path(),
        "erreur_500 = 0.1\ncoupure = 0.1\nperte_reponse = 0.1\n",
    );
    let ws = Workstation::new(tmp.path(), &sandbox);
    for i in 0..count {
        ws.add_acte(&format!("CR{i:04}"));
    }
    // PES too, each its own file, queued through the door.
    let pes_count = (count / 4).max(2);
    for i in 0..pes_count {
        let pes = signed_pes(tmp.path(), &format!("pes-crash-{i}"), &format!("crash-{i}"));
        let out = ws.run(&["envois", "ajouter", "pes", pes.to_str().expect("path")]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    let started = Instant::now();
    let mut kills = 0;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15 ^ std::process::id() as u64;
    while ws.outbox().pending_count().expect("pending") > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "still pending after 5 minutes; {}",
            sandbox.health()
        );
        let mut sender = ws.spawn_sender(20);
        if kills < (count / 3).max(8) {
            // xorshift: a kill between 50 and 550 ms into the run.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(Duration::from_millis(50 + seed % 500));
            let _ = sender.kill();
            let _ = sender.wait();
            kills += 1;
        } else {
            let out = sender.wait_with_output().expect("sender");
            assert!(matches!(out.status.code(), Some(0)), "{}", show(&out));
        }
    }
    // A PES whose upload outcome was lost is sent again: S²LOW answers « doublon détecté »
    // without naming the transaction, so it waits « à rattacher »; the person finds it in the
    // platform (here: by the file's SHA-1) and attaches it, then it is followed to its acquit.
    let attached = attach_duplicates(&ws, &sandbox);
    if attached > 0 {
        let out = ws.spawn_sender(60).wait_with_output().expect("sender");
        assert!(matches!(out.status.code(), Some(0)), "{}", show(&out));
    }
    let outbox = ws.outbox();
    let items = outbox.list(&Filter::default()).expect("list");
    assert_eq!(items.len(), count + pes_count);
    for item in &items {
        assert_eq!(
            item.etat,
            State::Acquitte,
            "{item:?} {:?}",
            outbox.journal(item.id)
        );
        assert!(item.id_plateforme.is_some(), "{item:?}");
    }
    let (actes, pes) = sandbox.counts();
    assert_eq!(actes as usize, count, "the sandbox must hold each act once");
    assert_eq!(
        pes as usize, pes_count,
        "the sandbox must hold each PES once"
    );
    // The faults and kills did exercise the unknown-outcome path.
    let reconciled = items
        .iter()
        .flat_map(|i| outbox.journal(i.id).expect("journal"))
        .filter(|j| j.etat_avant == Some(State::Erreur))
        .count();
    eprintln!(
        "{count} envois, {kills} arrêts brutaux, {reconciled} passages par le rapprochement, \
         {attached} PES rattachés, {:?}",
        started.elapsed()
    );
    assert!(reconciled > 0, "no item went through reconciliation");
}

/// A platform that answers KO: the act is refused with the platform's own words, and is not sent
/// again. A platform that answers an HTML error page: nothing is lost, the outcome is unknown, the
/// item waits for reconciliation with a clear French message.
#[test]
fn ko_answers_and_html_error_pages_become_clear_states() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start(tmp.path(), "ko = 1.0\n");
    let ws = Workstation::new(tmp.path(), &sandbox);
    ws.add_acte("KO2026_1");
    let out = ws.spawn_sender(5).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let item = &outbox.list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Refuse);
    let journal = outbox.journal(item.id).expect("journal");
    let last = journal.last().expect("journal row");
    assert!(
        last.detail.contains("Panne simulée par le bac à sable"),
        "{journal:?}"
    );
    assert_eq!(sandbox.counts(), (0, 0));
    drop(sandbox);

    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start(tmp.path(), "erreur_500 = 1.0\n");
    let ws = Workstation::new(tmp.path(), &sandbox);
    ws.add_acte("E500_1");
    let out = ws.spawn_sender(0).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let errors = report["rapport"]["erreurs"].to_string();
    assert!(
        errors.contains("On ne sait pas si la plateforme a reçu l'envoi")
            && errors.contains("erreur 500"),
        "{report}"
    );
    let outbox = ws.outbox();
    let item = &outbox.list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Erreur);
    assert_eq!(
        outbox.pending_count().expect("pending"),
        1,
        "still to reconcile"
    );
    let files = outbox.files(item.id).expect("files");
    assert!(files.iter().all(|f| f.chemin.exists()), "nothing lost");
}

/// A file changed after it was queued is not sent: what was checked is what goes.
#[test]
fn the_outbox_sends_its_own_copies_and_never_a_changed_one() {
    let (tmp, sandbox, ws) = setup("");
    ws.add_acte("MOD2026_1");
    let pes = signed_pes(tmp.path(), "pes-copie", "copie");
    let out = ws.run(&["envois", "ajouter", "pes", pes.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // The originals change or go once queued: the items keep their own copies, private files
    // in the outbox's folder, and are delivered from them.
    std::fs::write(tmp.path().join("acte.pdf"), pdf_bytes("Autre texte")).expect("rewrite");
    std::fs::remove_file(tmp.path().join("plan.png")).expect("remove");
    std::fs::remove_file(&pes).expect("remove");
    let outbox = ws.outbox();
    for item in outbox.list(&Filter::default()).expect("list") {
        for file in outbox.files(item.id).expect("files") {
            assert!(
                file.chemin.starts_with(ws.dir.join("donnees/fichiers")),
                "{file:?}"
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&file.chemin)
                    .expect("copy")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o077, 0, "private copy: {mode:o}");
            }
        }
    }
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["rapport"]["acquittes"], 2, "{report}");
    assert_eq!(sandbox.counts(), (1, 1));

    // A copy changed behind the outbox's back is never sent: back to preparation, said why.
    std::fs::write(tmp.path().join("acte.pdf"), pdf_bytes("Deliberation")).expect("pdf");
    std::fs::write(tmp.path().join("plan.png"), png_bytes(8, 8)).expect("png");
    ws.add_acte("MOD2026_2");
    let outbox = ws.outbox();
    let item = outbox
        .list(&Filter::default())
        .expect("list")
        .into_iter()
        .find(|i| i.numero_interne.as_deref() == Some("MOD2026_2"))
        .expect("second act");
    let copy = outbox
        .files(item.id)
        .expect("files")
        .into_iter()
        .find(|f| f.role == "acte")
        .expect("act copy");
    std::fs::write(&copy.chemin, pdf_bytes("Texte falsifié")).expect("tamper");
    let out = ws.spawn_sender(5).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let item = outbox.get(item.id).expect("item");
    assert_eq!(item.etat, State::Prepare, "back to preparation");
    let journal = outbox.journal(item.id).expect("journal");
    assert!(
        journal
            .last()
            .expect("row")
            .detail
            .contains("a changé depuis sa mise en file"),
        "{journal:?}"
    );
    assert_eq!(
        sandbox.counts(),
        (1, 1),
        "nothing more reached the platform"
    );
}

/// The préfecture writes after the AR (a demande de pièces complémentaires): the sender brings the
/// document back, attaches it to its act and marks it read; the message inside is a valid ACTES
/// 3-1. Then the act is cancelled through the platform, once.
#[test]
fn prefecture_letters_come_back_and_an_acknowledged_act_can_be_cancelled() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(tmp.path(), "courrier_apres_ar = \"demande_pieces\"", "");
    let ws = Workstation::new(tmp.path(), &sandbox);
    ws.add_acte("LET2026_1");
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // A second run: the letter is read already, nothing comes twice.
    let out = ws.spawn_sender(0).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let item = outbox.list(&Filter::default()).expect("list")[0].clone();
    assert_eq!(item.etat, State::Acquitte);
    let letters: Vec<_> = outbox
        .received(item.id)
        .expect("received")
        .into_iter()
        .filter(|r| r.0 == "courrier_prefecture_3")
        .collect();
    assert_eq!(letters.len(), 1, "one letter, once");
    let archive = tmp.path().join("courrier.tar.gz");
    std::fs::write(&archive, &letters[0].2).expect("write");
    let reading = paraphe::actes::messages::read_file(&archive).expect("readable archive");
    let text = format!("{reading:?}");
    assert!(text.contains("DemandePieceComplementaire"), "{text}");
    // The message validates against the ACTES schema (extracted with tar, an independent reader).
    let x = tmp.path().join("x");
    std::fs::create_dir(&x).expect("mkdir");
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&x)
        .output()
        .expect("tar");
    assert!(out.status.success(), "{}", show(&out));
    let message = std::fs::read_dir(&x)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "xml"))
        .expect("message file");
    validate_actes_schema(&message);

    // Answer the demande de pièces: a letter and a piece, through the platform.
    let courrier = letters[0]
        .1
        .trim_end_matches(".tar.gz")
        .rsplit('-')
        .next()
        .expect("document number")
        .to_owned();
    let reply = |courrier: &str| {
        let mut command = ws.command();
        command.args([
            "envois",
            "repondre",
            &item.id.to_string(),
            "--courrier",
            courrier,
            "--lettre",
            "acte.pdf:99_AU",
            "--piece",
            "plan.png:21_RP",
            "--pin-stdin",
            "--json",
        ]);
        spawn_with_input(command, USER_PIN)
            .wait_with_output()
            .expect("repondre")
    };
    let out = reply(&courrier);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let store =
        paraphe::platform::sandbox::store::Store::open(&sandbox.data.join("bac-a-sable.sqlite"))
            .expect("sandbox db");
    // S²LOW names the reply's message after the letter's type and `type_envoie`: 3-4,
    // PieceComplementaire.
    assert_eq!(
        store.replies().expect("replies"),
        vec![(courrier.parse::<i64>().expect("number"), "3-4".to_owned())]
    );
    assert!(
        ws.outbox()
            .journal(item.id)
            .expect("journal")
            .iter()
            .any(|j| j.evenement == "reponse_prefecture"),
        "reply journalled"
    );
    // A letter the platform does not know: its KO, in its words (actes_transac_reponse_create.php
    // loads the letter unchecked and fails on its empty type), nothing recorded.
    let out = reply("999999");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Mauvais type de transaction"),
        "{}",
        show(&out)
    );

    let cancel = |extra: &[&str]| {
        let mut command = ws.command();
        command
            .args([
                "envois",
                "annuler",
                &item.id.to_string(),
                "--pin-stdin",
                "--json",
            ])
            .args(extra);
        spawn_with_input(command, USER_PIN)
            .wait_with_output()
            .expect("annuler")
    };
    let out = cancel(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["etat"], "annule");
    assert!(
        doc["transaction_annulation"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(ws.outbox().get(item.id).expect("item").etat, State::Annule);
    // Cancelled already: refused locally, in French, without asking the platform.
    let out = cancel(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("seul un acte acquitté"),
        "{}",
        show(&out)
    );
}

/// The act `uuid` as STELA's editor API gives it (`GET /editeur/api/acte/{uuid}`), read with
/// curl and the test certificate; `None` without curl.
fn stela_act(sandbox: &Sandbox, uuid: &str) -> Option<serde_json::Value> {
    if !common::tools(&["curl"]) {
        return None;
    }
    let id = TestPki::shared().identity("authentification");
    let out = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(sandbox.data.join("pki/ca.pem"))
        .arg("--cert")
        .arg(&id.cert_pem)
        .arg("--key")
        .arg(&id.key_pem)
        .arg(format!("{}/editeur/api/acte/{uuid}", sandbox.address))
        .output()
        .expect("curl");
    Some(serde_json::from_slice(&out.stdout).expect("json"))
}

/// `paraphe envois repondre ITEM --courrier N --lettre acte.pdf:99_AU [extra…]` on `ws`.
fn reply_with(ws: &Workstation, item: i64, courrier: &str, extra: &[&str]) -> std::process::Output {
    let mut command = ws.command();
    command
        .args([
            "envois",
            "repondre",
            &item.to_string(),
            "--courrier",
            courrier,
            "--lettre",
            "acte.pdf:99_AU",
            "--pin-stdin",
            "--json",
        ])
        .args(extra);
    spawn_with_input(command, USER_PIN)
        .wait_with_output()
        .expect("repondre")
}

/// The first act of `ws`, acknowledged with the préfecture's letter `courrier_apres_ar` after it.
fn acknowledged_with_letter(ws: &Workstation, numero: &str) -> paraphe::outbox::Item {
    ws.add_acte(numero);
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let item = ws.outbox().list(&Filter::default()).expect("list")[0].clone();
    assert_eq!(item.etat, State::Acquitte);
    item
}

/// A lettre d'observations (4-1) on S²LOW is answered (4-4, `type_envoie` 4) or rejected (4-3,
/// `type_envoie` 3), a letter alone: actes_transac_reponse_create.php lists pieces only in a
/// PieceComplementaire, so pieces sent with a lettre d'observations would travel unnamed in the
/// archive — the client used to send them; it now refuses before anything leaves.
#[test]
fn a_lettre_d_observations_is_answered_or_rejected_on_s2low_by_a_letter_alone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(
        tmp.path(),
        "courrier_apres_ar = \"lettre_observations\"",
        "",
    );
    let ws = Workstation::new(tmp.path(), &sandbox);
    let item = acknowledged_with_letter(&ws, "OBS2026_1");
    let received = ws.outbox().received(item.id).expect("received");
    let letter = received
        .iter()
        .find(|r| r.0 == "courrier_prefecture_4")
        .unwrap_or_else(|| panic!("lettre d'observations brought back: {received:?}"));
    let courrier = paraphe::platform::courrier_number(&letter.1)
        .expect("document number")
        .to_owned();
    let store = || {
        paraphe::platform::sandbox::store::Store::open(&sandbox.data.join("bac-a-sable.sqlite"))
            .expect("sandbox db")
    };
    let out = reply_with(&ws, item.id, &courrier, &["--piece", "plan.png:21_RP"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lettre seule"),
        "{}",
        show(&out)
    );
    assert_eq!(store().replies().expect("replies"), vec![], "nothing sent");
    // The answer's typology is a 5-character code (ActesTransaction::addFile): S²LOW's words.
    let mut command = ws.command();
    command.args([
        "envois",
        "repondre",
        &item.id.to_string(),
        "--courrier",
        &courrier,
        "--lettre",
        "acte.pdf:AU",
        "--pin-stdin",
    ]);
    let out = spawn_with_input(command, USER_PIN)
        .wait_with_output()
        .expect("repondre");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Le code de la PJ doit faire 5 caractères"),
        "{}",
        show(&out)
    );
    let out = reply_with(&ws, item.id, &courrier, &["--refus"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = reply_with(&ws, item.id, &courrier, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let n: i64 = courrier.parse().expect("number");
    assert_eq!(
        store().replies().expect("replies"),
        vec![(n, "4-3".to_owned()), (n, "4-4".to_owned())]
    );
}

/// STELA answers the préfecture under the act (EditeurRestController): pièces complémentaires
/// go to `/{uuid}/pieces-complementaires` as `files` (the letter and the pieces), their refusal
/// to `/{uuid}/pieces-complementaires/reject` as one `file`; a lettre d'observations to
/// `/{uuid}/lettre-observation[/reject]`. The letter's type comes from the act's history (STELA
/// lists no letters). The client used to refuse every reply on STELA.
#[test]
fn stela_replies_go_under_the_act_to_the_editor_api_s_paths() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = |sandbox: &Sandbox| {
        paraphe::platform::sandbox::store::Store::open(&sandbox.data.join("bac-a-sable.sqlite"))
            .expect("sandbox db")
    };
    {
        let sandbox = Sandbox::start_with(tmp.path(), "courrier_apres_ar = \"demande_pieces\"", "");
        let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
        let item = acknowledged_with_letter(&ws, "REP2026_1");
        let out = reply_with(&ws, item.id, "1", &["--piece", "plan.png:21_RP"]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(doc["transaction"].as_str(), item.id_plateforme.as_deref());
        // A refusal is a letter alone: refused here, nothing sent.
        let out = reply_with(&ws, item.id, "1", &["--refus", "--piece", "plan.png:21_RP"]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let out = reply_with(&ws, item.id, "1", &["--refus"]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert_eq!(
            store(&sandbox).stela_replies().expect("replies"),
            vec![
                (
                    1,
                    "pieces-complementaires".to_owned(),
                    vec!["acte.pdf".to_owned(), "plan.png".to_owned()]
                ),
                (
                    1,
                    "pieces-complementaires/reject".to_owned(),
                    vec!["acte.pdf".to_owned()]
                ),
            ]
        );
        assert!(
            ws.outbox()
                .journal(item.id)
                .expect("journal")
                .iter()
                .any(|j| j.evenement == "reponse_prefecture"),
            "reply journalled"
        );
        // The act's history now holds the replies and their archives, in their own flux: the
        // act stays acknowledged.
        std::thread::sleep(Duration::from_millis(50));
        let uuid = item.id_plateforme.as_deref().expect("uuid");
        if let Some(act) = stela_act(&sandbox, uuid) {
            let events = act["acteHistories"].as_array().expect("history");
            let find = |status: &str| {
                events
                    .iter()
                    .find(|e| e["status"] == status)
                    .unwrap_or_else(|| panic!("{status} in {act}"))
            };
            let sent = find("PIECE_COMPLEMENTAIRE_ASKED");
            assert_eq!(sent["flux"], "TRANSMISSION_PIECES_COMPLEMENTAIRES");
            assert!(sent["fileName"].is_null(), "two files, no name: {sent}");
            let refused = find("REFUS_PIECES_COMPLEMENTAIRE_ASKED");
            assert_eq!(refused["fileName"], "acte.pdf");
            assert_eq!(
                paraphe::platform::stela::status_from_history(&act),
                Some((4, String::new()))
            );
        }
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(
        tmp.path(),
        "courrier_apres_ar = \"lettre_observations\"",
        "",
    );
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    let item = acknowledged_with_letter(&ws, "REP2026_2");
    let out = reply_with(&ws, item.id, "1", &["--refus"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = reply_with(&ws, item.id, "1", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let paths: Vec<String> = store(&sandbox)
        .stela_replies()
        .expect("replies")
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(paths, ["lettre-observation/reject", "lettre-observation"]);
}

/// STELA announces the préfecture's letters in the act's history only
/// (RetourPrefectureService records them; ActeHistory's file is `@JsonIgnore`, and the REST
/// route to it wants a user's session): after a sending pass, the lettre d'observations is kept
/// with the act as a note — its kind, the préfecture's words, where to read it — once, however
/// many passes read the history again, under the history entry's uuid, by which it is answered.
/// The client used to ignore them: nothing came back, and the window had nothing to answer.
#[test]
fn stela_a_lettre_d_observations_in_the_history_comes_back_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(
        tmp.path(),
        "courrier_apres_ar = \"lettre_observations\"",
        "",
    );
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    ws.add_acte("LOB2026_1");
    // The sandbox records the letter 10 ms after the AR: the pass that acknowledges the act may
    // see it or not, the passes after it do — and must not keep it again.
    let mut brought_back = Vec::new();
    for wait in [30, 0, 0] {
        let out = ws.spawn_sender(wait).wait_with_output().expect("sender");
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        brought_back.push(doc["rapport"]["courriers"].as_u64().expect("courriers"));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(brought_back.iter().sum::<u64>(), 1, "{brought_back:?}");
    let item = ws.outbox().list(&Filter::default()).expect("list")[0].clone();
    assert_eq!(item.etat, State::Acquitte);
    let letters: Vec<(String, String, Vec<u8>)> = ws
        .outbox()
        .received(item.id)
        .expect("received")
        .into_iter()
        .filter(|r| r.0.starts_with("courrier_prefecture_"))
        .collect();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let (genre, name, note) = &letters[0];
    assert_eq!(genre, "courrier_prefecture_4");
    let note = String::from_utf8_lossy(note);
    assert!(
        note.contains("Lettre d'observations")
            && note.contains("La délibération ne vise pas l'avis de la commission.")
            && note.contains("Lisez-le sur la plateforme STELA"),
        "{note}"
    );
    let key = paraphe::platform::courrier_number(name)
        .unwrap_or_else(|| panic!("no key in {name}"))
        .to_owned();
    let uuid = item.id_plateforme.as_deref().expect("uuid");
    if let Some(act) = stela_act(&sandbox, uuid) {
        let events = act["acteHistories"].as_array().expect("history");
        assert!(
            events
                .iter()
                .any(|e| e["status"] == "LETTRE_OBSERVATION_RECEIVED" && e["uuid"] == *key),
            "{key} in {act}"
        );
    }
    // Answered by that key, as the window does: the letter's type comes from what was kept.
    let out = reply_with(&ws, item.id, &key, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let paths: Vec<String> =
        paraphe::platform::sandbox::store::Store::open(&sandbox.data.join("bac-a-sable.sqlite"))
            .expect("sandbox db")
            .stela_replies()
            .expect("replies")
            .into_iter()
            .map(|r| r.1)
            .collect();
    assert_eq!(paths, ["lettre-observation"]);
}

/// STELA's editor API: the act goes to acknowledged; an upload whose answer was lost is found
/// again in the platform's list instead of being sent twice. That list mixes every
/// collectivité's acts and the drafts, 25 a page: here a neighbouring commune deposits 30 acts
/// with ours — the first under the same number, date and nature — and a draft of that number,
/// all newer, so ours is on the second page. The client used to take the first act of that
/// number on the first page: the neighbour's draft.
#[test]
fn stela_act_is_acknowledged_and_a_lost_answer_is_reconciled_by_number() {
    let tmp = tempfile::tempdir().expect("tmp");
    let neighbours = "stela_voisins_par_acte = 30";
    {
        let sandbox = Sandbox::start_with(tmp.path(), neighbours, "perte_reponse = 1.0\n");
        let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
        ws.add_acte("ST2026_1");
        let out = ws.spawn_sender(0).wait_with_output().expect("sender");
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let item = ws.outbox().list(&Filter::default()).expect("list")[0].clone();
        assert_eq!(item.etat, State::Erreur, "answer lost: outcome unknown");
        assert_eq!(sandbox.counts(), (1, 0), "but the platform has it");
    }
    // The platform again, answering this time (same data, new port).
    let sandbox = Sandbox::start_with(tmp.path(), neighbours, "");
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["rapport"]["rapproches"], 1, "{report}");
    assert_eq!(report["rapport"]["envoyes"], 0, "{report}");
    let outbox = ws.outbox();
    let item = outbox.list(&Filter::default()).expect("list")[0].clone();
    assert_eq!(item.etat, State::Acquitte);
    assert_eq!(
        item.id_plateforme.as_deref(),
        Some("00000000-0000-4000-8000-000000000001")
    );
    assert_eq!(sandbox.counts(), (1, 0), "sent once");
    // A PES cannot go to STELA: said in French, kept in the outbox.
    let pes = signed_pes(tmp.path(), "pes-stela", "stela");
    let out = ws.run(&["envois", "ajouter", "pes", pes.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = ws.spawn_sender(0).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let pes_item = ws
        .outbox()
        .list(&Filter::default())
        .expect("list")
        .into_iter()
        .find(|i| i.genre == Kind::Pes)
        .expect("pes item");
    assert_eq!(pes_item.etat, State::Refuse);
    let journal = ws.outbox().journal(pes_item.id).expect("journal");
    assert!(
        journal
            .last()
            .expect("row")
            .detail
            .contains("STELA ne reçoit pas les flux Hélios"),
        "{journal:?}"
    );
}

/// Queue on `ws` an act of `nature` under `matiere` (act file `acte.pdf` typed `typologie`),
/// with the test classification.
fn queue_nature(ws: &Workstation, numero: &str, nature: &str, matiere: &str, typologie: &str) {
    let acte = format!("acte.pdf:{typologie}");
    let out = ws.run(&[
        "envois",
        "ajouter",
        "acte",
        "--nature",
        nature,
        "--matiere",
        matiere,
        "--numero",
        numero,
        "--date",
        "2020-01-15",
        "--objet",
        "Acte d'une autre nature",
        "--acte",
        &acte,
        "--classification",
        "classification.xml",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// STELA binds `nature` to its enum `ActeNature` by constant name (`ARRETES_REGLEMENTAIRES`,
/// `ARRETES_INDIVIDUELS`, `CONTRATS_ET_CONVENTIONS`…; any other name is a 400): acts of each
/// nature reach it and are acknowledged. Under the names the client used to send, every nature
/// but 1 and 6 came back refused.
#[test]
fn stela_receives_each_nature_under_its_enum_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start(tmp.path(), "");
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    for (numero, nature, matiere, typologie) in [
        ("NAT2", "2", "2.1", "99_AR"),
        ("NAT3", "3", "4.1", "99_AI"),
        ("NAT4", "4", "1.1", "99_DC"),
        ("NAT6", "6", "1.1", "99_AU"),
    ] {
        queue_nature(&ws, numero, nature, matiere, typologie);
    }
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let items = ws.outbox().list(&Filter::default()).expect("list");
    assert_eq!(items.len(), 4);
    for item in &items {
        let journal = ws.outbox().journal(item.id).expect("journal");
        assert_eq!(item.etat, State::Acquitte, "{journal:?}");
    }
    assert_eq!(sandbox.counts(), (4, 0));
}

/// STELA keeps writing an act's history after the AR (the notification of the AR, the
/// préfecture's letters and the archives STELA sends in answer, in their own flux): the act is
/// acknowledged because ACK_RECEIVED is there, whatever came after — the client used to read
/// the newest event only and never saw the AR. An anomaly (the préfecture's NACK) refuses the
/// act with the préfecture's words.
#[test]
fn stela_status_comes_from_the_events_present_not_the_newest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(tmp.path(), "courrier_apres_ar = \"demande_pieces\"", "");
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    ws.add_acte("EVT2026_1");
    let local = String::from_utf8_lossy(&classification_xml("2026-01-01")).replace(
        "</actes:Matieres>",
        "<actes:Matiere1 actes:CodeMatiere=\"8\" actes:Libelle=\"Enseignement\">\
         <actes:Matiere2 actes:CodeMatiere=\"8\" actes:Libelle=\"Essai\"/></actes:Matiere1>\
         </actes:Matieres>",
    );
    let bytes: Vec<u8> = local.chars().map(|c| c as u32 as u8).collect();
    std::fs::write(tmp.path().join("locale.xml"), bytes).expect("classification");
    let out = ws.queue_acte("EVT2026_2", "8.8", &["--classification", "locale.xml"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let items = outbox.list(&Filter::default()).expect("list");
    let by_number = |numero: &str| {
        items
            .iter()
            .find(|i| i.numero_interne.as_deref() == Some(numero))
            .cloned()
            .unwrap_or_else(|| panic!("{numero} not in {items:?}"))
    };
    let acknowledged = by_number("EVT2026_1");
    let journal = outbox.journal(acknowledged.id).expect("journal");
    assert_eq!(acknowledged.etat, State::Acquitte, "{journal:?}");
    let refused = by_number("EVT2026_2");
    let journal = outbox.journal(refused.id).expect("journal");
    assert_eq!(refused.etat, State::Refuse, "{journal:?}");
    let detail = &journal.last().expect("row").detail;
    assert!(
        detail.contains("La préfecture a répondu une anomalie")
            && detail.contains("la matière 8.8 n'existe pas"),
        "{journal:?}"
    );

    // What made the old reading fail: the newest event of the acknowledged act is not its AR.
    if !common::tools(&["curl"]) {
        return;
    }
    std::thread::sleep(Duration::from_millis(100));
    let id = TestPki::shared().identity("authentification");
    let uuid = acknowledged.id_plateforme.expect("uuid");
    let out = Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(sandbox.data.join("pki/ca.pem"))
        .arg("--cert")
        .arg(&id.cert_pem)
        .arg("--key")
        .arg(&id.key_pem)
        .arg(format!("{}/editeur/api/acte/{uuid}", sandbox.address))
        .output()
        .expect("curl");
    let act: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let events = act["acteHistories"].as_array().expect("history");
    let newest = events.first().expect("events");
    assert_ne!(newest["status"], "ACK_RECEIVED", "{act}");
    assert!(
        events
            .iter()
            .any(|e| e["status"] == "SENT" && e["flux"] == "AR_PIECE_COMPLEMENTAIRE"),
        "{act}"
    );
}

/// STELA answers 401 to every editor call whose certificate it pairs with no collectivité: a
/// setting to correct, said in French, and the act stays in the queue — the client used to
/// read the 401 as the platform refusing the act.
#[test]
fn stela_401_is_an_unregistered_certificate_not_a_refusal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(
        tmp.path(),
        "stela_certificats_enregistres = [\"Mairie voisine\"]",
        "",
    );
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    ws.add_acte("CERT2026_1");
    let out = ws.spawn_sender(0).wait_with_output().expect("sender");
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    let said = "n'est rattaché à aucune collectivité";
    assert!(show(&out).contains(said), "{}", show(&out));
    let item = ws.outbox().list(&Filter::default()).expect("list")[0].clone();
    let journal = ws.outbox().journal(item.id).expect("journal");
    assert_eq!(item.etat, State::EnAttente, "{journal:?}");
    assert_eq!(sandbox.counts(), (0, 0));
    let mut command = ws.command();
    command.args(["envois", "tester", "--pin-stdin"]);
    let out = spawn_with_input(command, USER_PIN)
        .wait_with_output()
        .expect("paraphe");
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert!(show(&out).contains(said), "{}", show(&out));
}

/// STELA types each annex by the `annexeTypes` entry that names the part's original file name,
/// exactly, and checks extensions case-sensitively: annexes whose names the HTTP layer
/// sanitises (accent, apostrophe), with an upper-case extension, and two of the same name reach
/// it typed. The client used to name the entry after the file on disk while the part carried
/// the sanitised name: STELA answered 400 « Missing file type » and the act was refused.
#[test]
fn stela_annexes_are_typed_by_the_very_names_they_are_sent_under() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start(tmp.path(), "");
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    std::fs::create_dir(tmp.path().join("autre")).expect("mkdir");
    std::fs::write(tmp.path().join("plan d'état.PNG"), png_bytes(8, 8)).expect("png");
    std::fs::write(tmp.path().join("autre/plan d'état.PNG"), png_bytes(9, 9)).expect("png");
    std::fs::write(tmp.path().join("Note.PDF"), pdf_bytes("Note")).expect("pdf");
    let out = ws.queue_acte(
        "ANX2026_1",
        "1.1",
        &[
            "--annexe",
            "plan d'état.PNG:21_RP",
            "--annexe",
            "autre/plan d'état.PNG:21_RP",
            "--annexe",
            "Note.PDF:21_RP",
            "--classification",
            "classification.xml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let item = ws.outbox().list(&Filter::default()).expect("list")[0].clone();
    let journal = ws.outbox().journal(item.id).expect("journal");
    assert_eq!(item.etat, State::Acquitte, "{journal:?}");
    let store =
        paraphe::platform::sandbox::store::Store::open(&sandbox.data.join("bac-a-sable.sqlite"))
            .expect("sandbox db");
    let actes = store.list_actes(1).expect("acts");
    assert_eq!(
        actes[0].fichiers,
        [
            "acte.pdf",
            "plan d__tat.png",
            "2_plan d__tat.png",
            "Note.pdf"
        ]
    );
}

/// STELA refuses (409) a number its collectivité already holds in any act or draft, whatever
/// the year or nature. Here a draft kept in STELA holds it: the act is refused with « numéro
/// déjà utilisé », once, not sent again and again. The client used to adopt the draft as the
/// act sent (and then wait for ever for its AR).
#[test]
fn stela_a_number_held_by_a_draft_is_refused_not_sent_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(
        tmp.path(),
        "stela_brouillons = [\"BR2026_1\"]\nstela_voisins_par_acte = 3",
        "",
    );
    let ws = Workstation::new_with(tmp.path(), &sandbox, "stela");
    ws.add_acte("BR2026_1");
    ws.add_acte("BR2026_2");
    let out = ws.spawn_sender(10).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["rapport"]["refuses"], 1, "{report}");
    let outbox = ws.outbox();
    let items = outbox.list(&Filter::default()).expect("list");
    let held = items
        .iter()
        .find(|i| i.numero_interne.as_deref() == Some("BR2026_1"))
        .expect("item");
    let journal = outbox.journal(held.id).expect("journal");
    assert_eq!(held.etat, State::Refuse, "{journal:?}");
    assert!(
        journal
            .last()
            .expect("row")
            .detail
            .contains("numéro déjà utilisé"),
        "{journal:?}"
    );
    let attempts = journal
        .iter()
        .filter(|e| e.etat_apres == Some(State::EnCours))
        .count();
    assert_eq!(attempts, 1, "sent once: {journal:?}");
    let free = items
        .iter()
        .find(|i| i.numero_interne.as_deref() == Some("BR2026_2"))
        .expect("item");
    assert_eq!(free.etat, State::Acquitte);
    assert_eq!(sandbox.counts(), (1, 0));
}

/// The classification in force comes from the platform and is kept on the workstation: the next
/// act is checked against it without a file given.
#[test]
fn classification_is_downloaded_from_the_platform_and_used() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(tmp.path(), "date_classification = \"2025-06-30\"", "");
    let ws = Workstation::new(tmp.path(), &sandbox);
    let mut command = ws.command();
    command.args([
        "actes",
        "classification",
        "telecharger",
        "--pin-stdin",
        "--json",
    ]);
    let out = spawn_with_input(command, USER_PIN)
        .wait_with_output()
        .expect("telecharger");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["date"], "2025-06-30", "{doc}");
    assert_eq!(doc["siren"], SIREN);
    assert_eq!(doc["natures"], 6);
    let out = ws.run(&["actes", "classification", "chercher", "1.1", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Marchés publics"),
        "{}",
        show(&out)
    );
    // An act queued with no classification file: checked against the one downloaded.
    let out = ws.queue_acte("CL2026_1", "1.1", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = ws.queue_acte("CL2026_2", "8.8", &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "matière unknown to the classification: {}",
        show(&out)
    );
}

/// The préfecture knows an older classification than the workstation: an act under a matière it
/// does not know gets an anomaly, recorded as a refusal with the préfecture's words.
#[test]
fn an_unknown_matiere_gets_the_prefecture_s_anomaly() {
    let (tmp, _sandbox, ws) = setup("");
    let local = String::from_utf8_lossy(&classification_xml("2026-01-01")).replace(
        "</actes:Matieres>",
        "<actes:Matiere1 actes:CodeMatiere=\"8\" actes:Libelle=\"Enseignement\">\
         <actes:Matiere2 actes:CodeMatiere=\"8\" actes:Libelle=\"Essai\"/></actes:Matiere1>\
         </actes:Matieres>",
    );
    let bytes: Vec<u8> = local.chars().map(|c| c as u32 as u8).collect();
    std::fs::write(tmp.path().join("locale.xml"), bytes).expect("classification");
    let out = ws.queue_acte("AN2026_1", "8.8", &["--classification", "locale.xml"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let item = outbox.list(&Filter::default()).expect("list")[0].clone();
    assert_eq!(item.etat, State::Refuse);
    let journal = outbox.journal(item.id).expect("journal");
    assert!(
        journal
            .last()
            .expect("row")
            .detail
            .contains("la matière 8.8 n'existe pas"),
        "{journal:?}"
    );
}

/// An account with a login: the password is asked (first line of standard input, before the
/// PIN), every request carries it, and each act created waiting is confirmed with a nonce login
/// before the préfecture sees it. A wrong password stops before anything moves.
#[test]
fn a_login_account_confirms_each_transmission_with_a_nonce() {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(
        tmp.path(),
        "identifiant = \"mairie\"\nmot_de_passe = \"s3cret:é\"",
        "",
    );
    let ws = Workstation::new(tmp.path(), &sandbox);
    let settings = ws.dir.join("paraphe.toml");
    let text = std::fs::read_to_string(&settings).expect("settings");
    std::fs::write(
        &settings,
        text.replace(
            "[plateforme]\n",
            "[plateforme]\nidentifiant = \"mairie\"\nconfirmation = true\n",
        ),
    )
    .expect("settings");
    ws.add_acte("CONF2026_1");

    let out = spawn_with_input(ws.sender_command(5), &format!("mauvais\n{USER_PIN}"))
        .wait_with_output()
        .expect("sender");
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Échec de l'authentification"),
        "{}",
        show(&out)
    );
    let outbox = ws.outbox();
    let item = &outbox.list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::EnAttente, "nothing moved: {item:?}");
    assert_eq!(sandbox.counts(), (0, 0));

    let out = spawn_with_input(ws.sender_command(30), &format!("s3cret:é\n{USER_PIN}"))
        .wait_with_output()
        .expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let item = &outbox.list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Acquitte, "{item:?}");
    let journal = outbox.journal(item.id).expect("journal");
    let confirmations = journal.iter().filter(|j| j.evenement == "confirme").count();
    assert_eq!(confirmations, 1, "{journal:?}");
    assert_eq!(sandbox.counts(), (1, 0));
}

/// `HTTPS_PROXY` from the environment is used: the whole exchange goes through a CONNECT tunnel
/// (a minimal proxy in this test, which sees only the encrypted bytes).
#[test]
fn an_https_proxy_from_the_environment_carries_the_exchange() {
    let (_tmp, sandbox, ws) = setup("");
    ws.add_acte("PROXY2026_1");
    let (proxy, tunnels) = connect_proxy();
    let mut command = ws.sender_command(30);
    command
        .env("HTTPS_PROXY", format!("http://{proxy}"))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("https_proxy");
    let out = spawn_with_input(command, USER_PIN)
        .wait_with_output()
        .expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let item = &outbox.list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Acquitte, "{item:?}");
    let target = sandbox
        .address
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let seen = tunnels.lock().expect("tunnels").clone();
    assert!(!seen.is_empty(), "no CONNECT reached the proxy");
    assert!(seen.iter().all(|t| t == target), "{seen:?} vs {target}");
}

/// A CONNECT-only proxy on a free port; returns its address and the targets it tunnelled to.
fn connect_proxy() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let address = listener.local_addr().expect("addr");
    let tunnels = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = tunnels.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let mut words = head.split_whitespace();
                if words.next() != Some("CONNECT") {
                    let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n");
                    return;
                }
                let target = words.next().unwrap_or_default().to_owned();
                let Ok(upstream) = TcpStream::connect(&target) else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    return;
                };
                seen.lock().expect("tunnels").push(target);
                let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                let (mut c2, mut u2) = (
                    client.try_clone().expect("clone"),
                    upstream.try_clone().expect("clone"),
                );
                let mut upstream = upstream;
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut client, &mut upstream);
                let _ = upstream.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (address, tunnels)
}

/// `envois ajouter acte --signer`: detached CMS signatures of the act and its annexe are made at
/// queueing (signature certificate), travel as `acte_pdf_file_sign` / `acte_attachments_sign[]`,
/// and what the platform holds verifies with `openssl cms -verify` against the test PKI.
#[test]
fn a_signed_act_reaches_the_platform_with_its_detached_signatures() {
    let (tmp, sandbox, ws) = setup("");
    let mut command = ws.command();
    command
        .args([
            "envois",
            "ajouter",
            "acte",
            "--nature",
            "1",
            "--matiere",
            "1.1",
        ])
        .args(["--numero", "SIG2026_1", "--date", "2020-01-15"])
        .args(["--objet", "Délibération signée", "--acte", "acte.pdf:99_DE"])
        .args([
            "--annexe",
            "plan.png:21_RP",
            "--classification",
            "classification.xml",
        ])
        .args(["--signer", "--pin-stdin", "--json", "--p12"])
        .arg(&TestPki::shared().identity("signature").p12);
    let out = spawn_with_input(command, P12_PASSWORD)
        .wait_with_output()
        .expect("queue");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let item = &outbox.list(&Filter::default()).expect("list")[0];
    let roles: Vec<String> = outbox
        .files(item.id)
        .expect("files")
        .into_iter()
        .map(|f| f.role)
        .collect();
    assert_eq!(
        roles,
        ["acte", "annexe", "signature_acte", "signature_annexe"],
        "{roles:?}"
    );

    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let item = &ws.outbox().list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Acquitte, "{item:?}");
    let held = sandbox.data.join("depots/actes/1");
    let mut names: Vec<String> = std::fs::read_dir(&held)
        .expect("act folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    for signature in names.iter().filter(|n| n.ends_with(".p7s")) {
        let content = held.join(signature.trim_end_matches(".p7s"));
        let out = Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(held.join(signature))
            .arg("-content")
            .arg(&content)
            .args(["-out", "/dev/null", "-purpose", "any", "-CAfile"])
            .arg(TestPki::shared().ca_bundle_pem())
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{signature}: {}", show(&out));
    }
    drop(tmp);
}

/// A platform slower than the workstation's timeout: the outcome is unknown, the act is kept
/// to reconcile (never sent twice); once the platform answers in time again, the act is found
/// or sent, and the platform holds it exactly once.
#[test]
fn a_timeout_leaves_the_act_to_reconcile_and_it_arrives_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let slow = Sandbox::start(tmp.path(), "lenteur_ms = 2500\n");
    let ws = Workstation::new(tmp.path(), &slow);
    let settings = ws.dir.join("paraphe.toml");
    let text = std::fs::read_to_string(&settings).expect("settings");
    std::fs::write(
        &settings,
        text.replace("delai_secondes = 10", "delai_secondes = 1"),
    )
    .expect("settings");
    ws.add_acte("LENT2026_1");
    let out = ws.spawn_sender(0).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        report["rapport"]["erreurs"]
            .to_string()
            .contains("On ne sait pas si la plateforme a reçu l'envoi"),
        "{report}"
    );
    let item = &ws.outbox().list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Erreur, "{item:?}");
    let old_address = slow.address.clone();
    drop(slow);

    let fast = Sandbox::start(tmp.path(), "");
    let text = std::fs::read_to_string(&settings).expect("settings");
    std::fs::write(&settings, text.replace(&old_address, &fast.address)).expect("settings");
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let item = &ws.outbox().list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Acquitte, "{item:?}");
    assert_eq!(fast.counts(), (1, 0), "exactly once on the platform");
}

/// `envois tester` (S²LOW and STELA) and `actes classification demander` over mTLS; a platform
/// whose certificate is not signed by the configured authority is refused in French.
#[test]
fn connection_test_and_classification_request() {
    let (tmp, sandbox, ws) = setup("");
    let run_with_pin = |args: &[&str]| {
        let mut command = ws.command();
        command.args(args).arg("--pin-stdin");
        spawn_with_input(command, USER_PIN)
            .wait_with_output()
            .expect("paraphe")
    };
    let out = run_with_pin(&["envois", "tester", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["connexion"], true);
    assert!(
        doc["message"]
            .as_str()
            .unwrap_or("")
            .contains("Bac à sable"),
        "{doc}"
    );
    let out = run_with_pin(&["actes", "classification", "demander"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Demande de classification transmise"));

    // The wrong authority: the server is not trusted.
    let other_ca = TestPki::shared()
        .root
        .cert_pem
        .to_str()
        .expect("path")
        .to_owned();
    let out = run_with_pin(&["envois", "tester", "--ca", &other_ca]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("La plateforme n'a pas été jointe"),
        "{}",
        show(&out)
    );

    let stela = Workstation::new_with(tmp.path(), &sandbox, "stela");
    let mut command = stela.command();
    command.args(["envois", "tester", "--pin-stdin"]);
    let out = spawn_with_input(command, USER_PIN)
        .wait_with_output()
        .expect("paraphe");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("STELA répond : le certificat est rattaché"),
        "{}",
        show(&out)
    );
}

/// The sandbox's préfecture checks what reaches it against the ACTES schema — the one shipped
/// with Paraphe by default, or the one its settings name: an act whose objet is longer than the
/// schema allows — sent straight to the API with curl, since Paraphe itself refuses it before
/// sending — gets an anomaly naming the schema, not an AR.
#[test]
fn an_act_that_fails_the_actes_schema_gets_an_anomaly() {
    let Some(xsd) = common::conformance("actes/xsd") else {
        return;
    };
    if !common::tools(&["curl"]) {
        return;
    }
    let configured = format!("schema_actes = \"{}\"", xsd.join("actesv1_1.xsd").display());
    for setting in ["", configured.as_str()] {
        an_act_out_of_schema_gets_an_anomaly(setting);
    }
}

fn an_act_out_of_schema_gets_an_anomaly(setting: &str) {
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start_with(tmp.path(), setting, "");
    std::fs::write(tmp.path().join("acte.pdf"), pdf_bytes("Deliberation")).expect("pdf");
    let id = TestPki::shared().identity("authentification");
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "--cacert"])
            .arg(sandbox.data.join("pki/ca.pem"))
            .arg("--cert")
            .arg(&id.cert_pem)
            .arg("--key")
            .arg(&id.key_pem)
            .args(args)
            .current_dir(tmp.path())
            .output()
            .expect("curl");
        assert!(out.status.success(), "{}", show(&out));
        // S²LOW answers in ISO-8859-1.
        out.stdout
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
    };
    let create = |numero: &str, objet: &str| {
        let answer = curl(&[
            "-F",
            "api=1",
            "-F",
            "nature_code=1",
            "-F",
            &format!("number={numero}"),
            "-F",
            &format!("subject={objet}"),
            "-F",
            "decision_date=2020-01-15",
            "-F",
            "classif1=1",
            "-F",
            "classif2=1",
            "-F",
            "type_acte=99_DE",
            "-F",
            "acte_pdf_file=@acte.pdf",
            &format!("{}/modules/actes/actes_transac_create.php", sandbox.address),
        ]);
        let mut lines = answer.lines();
        assert_eq!(lines.next(), Some("OK"), "{answer}");
        lines.next().expect("transaction id").trim().to_owned()
    };
    let status = |transaction: &str| {
        curl(&[&format!(
            "{}/modules/actes/actes_transac_get_status.php?transaction={transaction}",
            sandbox.address
        )])
    };
    let too_long = create("LONG2026_1", &"x".repeat(600));
    let fine = create("COURT2026_1", "Objet ordinaire");
    std::thread::sleep(Duration::from_millis(600));
    let answer = status(&too_long);
    assert!(
        answer.starts_with("OK\n-1\n")
            && answer.contains("schéma ACTES")
            && answer.contains("Objet")
            && !answer.contains("PES"),
        "{answer}"
    );
    let answer = status(&fine);
    assert!(
        answer.starts_with("OK\n4\n"),
        "an ordinary act still gets its AR: {answer}"
    );
}

/// The text of the first `<tag>…</tag>` of an answer.
fn element_text(xml: &[u8], tag: &str) -> Option<String> {
    let text = String::from_utf8_lossy(xml);
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + text[start..].find(&format!("</{tag}>"))?;
    Some(text[start..end].to_owned())
}

/// The sandbox plays the DGFiP with Paraphe's verifier: every forgery of the forgery suite
/// (built in the test from files Paraphe signed with the test card) comes back refused in its PES_Acquit, while the
/// genuine file and the two that only add unsigned claims are accepted. The files are posted
/// with curl and a client certificate, as any S²LOW client would, so that no check of Paraphe's
/// client stands in the way.
#[test]
fn forged_pes_files_come_back_refused_in_the_pes_acquit() {
    use common::forgeries;
    use paraphe::pes::sign::Scope;
    if !common::tools(&["curl"]) || !forgeries::card_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let sandbox = Sandbox::start(tmp.path(), "");
    let signed = forgeries::signed_pes(tmp.path(), "signature", Scope::Bordereaux);
    let global = forgeries::signed_pes(tmp.path(), "signature", Scope::File);
    let expired = forgeries::signed_pes(tmp.path(), "expire", Scope::Bordereaux);
    let read = |p: &Path| std::fs::read(p).expect("read");
    let mut cases: Vec<(String, Vec<u8>, bool)> =
        forgeries::all(&read(&signed), &read(&global), &read(&expired))
            .into_iter()
            .map(|f| (f.name.to_owned(), f.bytes, f.still_valid))
            .collect();
    cases.push(("authentique".to_owned(), read(&signed), true));
    cases.push(("authentique-global".to_owned(), read(&global), true));
    let auth = TestPki::shared().identity("authentification");
    let curl = |args: &[&str]| -> Vec<u8> {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "--cacert"])
            .arg(sandbox.data.join("pki/ca.pem"))
            .arg("--cert")
            .arg(&auth.cert_pem)
            .arg("--key")
            .arg(&auth.key_pem)
            .args(args)
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for (name, bytes, accepted) in &cases {
        let file = tmp.path().join(format!("{name}.xml"));
        std::fs::write(&file, bytes).expect("write");
        let answer = curl(&[
            "-F",
            &format!("enveloppe=@{};filename={name}.xml", file.display()),
            &format!(
                "{}/modules/helios/api/helios_importer_fichier.php",
                sandbox.address
            ),
        ]);
        assert_eq!(
            element_text(&answer, "resultat").as_deref(),
            Some("OK"),
            "{name}"
        );
        let id = element_text(&answer, "id").expect("transaction id");
        // The acquit is made once the sandbox's delay has passed and the status is asked.
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            let answer = curl(&[&format!(
                "{}/modules/helios/api/helios_transac_get_status.php?transaction={id}",
                sandbox.address
            )]);
            let status = element_text(&answer, "status").unwrap_or_default();
            if status == "4" || status == "6" || Instant::now() > deadline {
                break status;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(status, if *accepted { "4" } else { "6" }, "{name}");
        let acquit = curl(&[&format!(
            "{}/modules/helios/helios_download_acquit.php?id={id}",
            sandbox.address
        )]);
        let acquit = paraphe::pes::acquit::read_acquit(acquit.as_slice())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(acquit.accepted(), *accepted, "{name}: {acquit:?}");
    }
}

/// S²LOW reads the objet in ISO-8859-1 (issue 23, « would fail »): an objet typed in a word
/// processor (’ œ € –) is shown transliterated when queued and reaches the platform so; an act
/// whose objet has no Latin-1 form (queued by an earlier version) goes back to preparation with
/// the reason — and never stops the pass: the act queued after it is still sent. The client before
/// this fix stopped the whole pass on the first such act, on every retry.
#[test]
fn an_objet_outside_latin1_is_transliterated_and_never_blocks_the_queue() {
    let (tmp, sandbox, ws) = setup("");
    let typed = "Vœu : l’école « Jean‑Moulin » – 12 000 €";
    let mut args = vec![
        "envois",
        "ajouter",
        "acte",
        "--nature",
        "1",
        "--matiere",
        "1.1",
    ];
    args.extend([
        "--numero",
        "LAT_1",
        "--date",
        "2020-01-15",
        "--objet",
        typed,
    ]);
    args.extend([
        "--acte",
        "acte.pdf:99_DE",
        "--classification",
        "classification.xml",
    ]);
    args.push("--json");
    let out = ws.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        doc.to_string()
            .contains("Voeu : l'école « Jean-Moulin » - 12 000 EUR"),
        "the person sees what will be sent: {doc}"
    );
    // The same act, as an earlier version queued it, with an objet Latin-1 cannot carry.
    ws.add_acte("LAT_2");
    ws.add_acte("LAT_3");
    let outbox = ws.outbox();
    let items = outbox.list(&Filter::default()).expect("list");
    let greek = items
        .iter()
        .find(|i| i.numero_interne.as_deref() == Some("LAT_2"))
        .expect("LAT_2");
    let conn = rusqlite::Connection::open(ws.dir.join("donnees/envois.sqlite")).expect("db");
    conn.execute(
        "UPDATE items SET donnees = json_set(donnees, '$.acte.objet', 'Subvention ΑΒΓ') WHERE id = ?1",
        [greek.id],
    )
    .expect("update");
    drop(conn);

    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let state = |numero: &str| {
        outbox
            .list(&Filter::default())
            .expect("list")
            .into_iter()
            .find(|i| i.numero_interne.as_deref() == Some(numero))
            .expect("item")
    };
    assert_eq!(state("LAT_1").etat, State::Acquitte);
    assert_eq!(state("LAT_3").etat, State::Acquitte, "the pass went on");
    let held = state("LAT_2");
    assert_eq!(held.etat, State::Prepare, "{held:?}");
    let journal = outbox.journal(held.id).expect("journal");
    let last = &journal.last().expect("row").detail;
    assert!(
        last.contains("« Α »") && last.contains("ISO-8859-1"),
        "{last}"
    );
    // What the platform holds, read from its own database.
    let platform =
        rusqlite::Connection::open(sandbox.data.join("bac-a-sable.sqlite")).expect("sandbox db");
    let objet: String = platform
        .query_row("SELECT objet FROM actes WHERE numero = 'LAT_1'", [], |r| {
            r.get(0)
        })
        .expect("objet");
    assert_eq!(objet, "Voeu : l'école « Jean-Moulin » - 12 000 EUR");
    drop(tmp);
}

/// S²LOW stores an act's IDActe only when its AR is processed (issue 23, « would misread »): an
/// act whose upload answer was lost, and that has no AR yet, is found by its message file name
/// `<IDActe>-1-1` — not sent a second time (the client before this fix did not find it, sent it
/// again, met « numéro déjà utilisé », and never settled).
#[test]
fn an_act_without_its_ar_yet_is_found_by_its_message_name_not_sent_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let no_ar = "delai_ar_secondes = 3600";
    // The act is received, its answer lost.
    let slow = Sandbox::start_with(tmp.path(), no_ar, "perte_reponse = 1.0\n");
    let ws = Workstation::new(tmp.path(), &slow);
    let settings = ws.dir.join("paraphe.toml");
    ws.add_acte("SANSAR_1");
    let out = ws.spawn_sender(0).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let item = &ws.outbox().list(&Filter::default()).expect("list")[0];
    assert_eq!(item.etat, State::Erreur, "outcome unknown: {item:?}");
    let old_address = slow.address.clone();
    drop(slow);

    let fast = Sandbox::start_with(tmp.path(), no_ar, "");
    let text = std::fs::read_to_string(&settings).expect("settings");
    std::fs::write(&settings, text.replace(&old_address, &fast.address)).expect("settings");
    let out = ws.spawn_sender(0).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let outbox = ws.outbox();
    let item = &outbox.list(&Filter::default()).expect("list")[0];
    assert_eq!(
        item.etat,
        State::Envoye,
        "found, waiting for its AR: {item:?}"
    );
    assert_eq!(
        item.id_plateforme.as_deref(),
        Some(format!("unique_id:{}-1-1", id_acte_of(&outbox, item.id)).as_str()),
        "{item:?}"
    );
    assert_eq!(fast.counts(), (1, 0), "exactly once on the platform");
}

/// The IDActe the outbox recorded for an act.
fn id_acte_of(outbox: &Outbox, id: i64) -> String {
    outbox.data(id).expect("data")["id_acte"]
        .as_str()
        .expect("id_acte")
        .to_owned()
}

/// Prepare here, sign there (issue 20), end to end: on workstation A an act and an unsigned PES
/// are prepared (`--a-signer`) and exported to a lot signed with A's `.p12`; workstation B (its
/// own data folder) imports the lot after checking its signature against the test authorities,
/// signs both items with the SoftHSM card through `envois signer` — one C_Login for both, counted
/// by the PKCS#11 proxy — and sends them to the sandbox, which acknowledges both. The signed PES
/// that reached the sandbox verifies with xmlsec1, the act's detached signature with openssl.
#[test]
fn prepared_on_one_workstation_signed_and_sent_from_another() {
    if !common::tools(&["xmlsec1", "openssl", "softhsm2-util", "pkcs11-tool"]) {
        return;
    }
    let (tmp, sandbox, ws) = setup("");
    let dir = tmp.path();
    let pki = TestPki::shared();
    // Workstation A: same settings, its own data folder.
    let poste_a = |args: &[&str]| -> Command {
        let mut c = ws.command();
        c.env("PARAPHE_DONNEES", dir.join("donnees-a")).args(args);
        c
    };
    let out = poste_a(&[])
        .args([
            "envois",
            "ajouter",
            "acte",
            "--nature",
            "1",
            "--matiere",
            "1.1",
        ])
        .args(["--numero", "LOT2026_1", "--date", "2020-01-15"])
        .args([
            "--objet",
            "Délibération préparée",
            "--acte",
            "acte.pdf:99_DE",
        ])
        .args([
            "--classification",
            "classification.xml",
            "--a-signer",
            "--json",
        ])
        .output()
        .expect("act");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let act: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(act["etat"], "prepare", "{act}");
    let mut unsigned = common::pes::HEAD.replace("essai", "mandats-lot");
    unsigned.push_str(&common::pes::bordereau("B1", 1, &["120.50"]));
    unsigned.push_str(&common::pes::bordereau("B2", 2, &["10.00", "7.25"]));
    unsigned.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    std::fs::write(dir.join("mandats.xml"), common::pes::latin1(&unsigned)).expect("pes");
    let out = poste_a(&[
        "envois",
        "ajouter",
        "pes",
        "mandats.xml",
        "--a-signer",
        "--json",
    ])
    .output()
    .expect("pes");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let pes: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(pes["etat"], "prepare", "{pes}");
    let lot = dir.join("seance.paraphe");
    let mut export = poste_a(&["envois", "exporter"]);
    export
        .arg(act["id"].to_string())
        .arg(pes["id"].to_string())
        .arg("-o")
        .arg(&lot)
        .args([
            "--nom",
            "Séance de décembre",
            "--pin-stdin",
            "--json",
            "--p12",
        ])
        .arg(&pki.identity("signature").p12);
    let out = spawn_with_input(export, P12_PASSWORD)
        .wait_with_output()
        .expect("export");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // Workstation B: the lot checked, then imported as `prepare`.
    let out = ws.run(&[
        "envois",
        "importer",
        lot.to_str().expect("path"),
        "--confiance",
        pki.ca_bundle_pem().to_str().expect("path"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let imported: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        imported["signataire"],
        pki.identity("signature").cn.as_str()
    );
    let ids: Vec<String> = imported["importes"]
        .as_array()
        .expect("importes")
        .iter()
        .map(|i| {
            assert_eq!(i["etat"], "prepare", "{imported}");
            i["id"].to_string()
        })
        .collect();
    assert_eq!(ids.len(), 2);

    // Signed on B with the card, through the counting proxy: one PIN for both.
    let label = unique_label("signer");
    let hsm = SoftHsm::shared();
    hsm.create_token(&label, USER_PIN).expect("token");
    hsm.import(&label, USER_PIN, pki.identity("signature"))
        .expect("import");
    let stats = dir.join("stats.json");
    let proxy = common::proxy_copy(
        dir,
        "compteur",
        &format!(
            "module = \"{}\"\nstats_file = \"{}\"\n",
            softhsm_module().display(),
            stats.display()
        ),
    );
    let mut sign = ws.command();
    sign.args(["envois", "signer"])
        .args(&ids)
        .args([
            "--role",
            "Ordonnateur",
            "--ville",
            "Nice",
            "--code-postal",
            "06000",
        ])
        .arg("--module")
        .arg(&proxy)
        .args(["--jeton", &label, "--pin-stdin", "--json"]);
    let out = spawn_with_input(sign, USER_PIN)
        .wait_with_output()
        .expect("sign");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let signed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for line in signed["envois"].as_array().expect("envois") {
        assert_eq!(line["etat"], "en_attente", "{signed}");
    }
    let counts = common::proxy_stats(&stats);
    assert_eq!(common::stat(&counts, "C_Login"), 1, "one PIN: {counts}");

    // Sent and acknowledged.
    let out = ws.spawn_sender(60).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["rapport"]["acquittes"], 2, "{report}");
    let outbox = ws.outbox();
    for item in outbox.list(&Filter::default()).expect("list") {
        assert_eq!(item.etat, State::Acquitte, "{item:?}");
    }
    // What the sandbox holds, judged by independent tools.
    let held_pes: Vec<PathBuf> = walk(&sandbox.data.join("depots"))
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.windows(12).any(|w| w == b"mandats-lot\""))
                .unwrap_or(false)
        })
        .collect();
    assert_eq!(held_pes.len(), 1, "{held_pes:?}");
    for bordereau in ["B1", "B2"] {
        assert!(
            common::pes::xmlsec_integrity(&held_pes[0], &format!("{bordereau}_SIG_1")),
            "xmlsec1 verifies the signature of bordereau {bordereau}"
        );
    }
    let p7s: Vec<PathBuf> = walk(&sandbox.data.join("depots/actes"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "p7s"))
        .collect();
    assert!(!p7s.is_empty(), "the act travels with its signature");
    for signature in &p7s {
        let out = Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(signature)
            .arg("-content")
            .arg(signature.with_extension(""))
            .args(["-out", "/dev/null", "-purpose", "any", "-CAfile"])
            .arg(pki.ca_bundle_pem())
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}: {}",
            signature.display(),
            show(&out)
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// What a person does for each PES « à rattacher »: find its transaction in the platform (the
/// sandbox's store, by the SHA-1 of the file sent) and run `envois rattacher ID TRANSACTION`.
fn attach_duplicates(ws: &Workstation, sandbox: &Sandbox) -> usize {
    let outbox = ws.outbox();
    let store =
        paraphe::platform::sandbox::store::Store::open(&sandbox.data.join("bac-a-sable.sqlite"))
            .expect("sandbox db");
    let waiting = outbox.to_attach().expect("to attach");
    for item in &waiting {
        let files = outbox.files(item.id).expect("files");
        let pes = files.iter().find(|f| f.role == "pes").expect("pes");
        let sha1 = hex_sha1(&std::fs::read(&pes.chemin).expect("copy"));
        let transaction = store
            .pes_by_sha1(&sha1)
            .expect("lookup")
            .unwrap_or_else(|| panic!("the platform holds PES {} ({sha1})", item.id));
        let out = ws.run(&[
            "envois",
            "rattacher",
            &item.id.to_string(),
            &transaction.to_string(),
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    waiting.len()
}

fn hex_sha1(data: &[u8]) -> String {
    let mut child = Command::new("sha1sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha1sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("write");
    let out = child.wait_with_output().expect("sha1sum");
    String::from_utf8_lossy(&out.stdout)[..40].to_owned()
}

/// The same PES queued twice (a person who sent it already, say): the platform holds it once and
/// answers the second upload « doublon détecté » with an empty id, as S²LOW does. The second item
/// is not sent again and does not end in error: it waits « transmis, à rattacher », out of the
/// pending count; `envois rattacher` with a wrong item or a non-number is refused; attached to
/// the transaction the person found, it is followed to its acquit.
#[test]
fn a_pes_the_platform_already_holds_waits_to_be_attached_then_is_followed() {
    let (tmp, sandbox, ws) = setup("");
    let pes = signed_pes(tmp.path(), "pes-double", "mandats-doublon");
    for _ in 0..2 {
        let out = ws.run(&[
            "envois",
            "ajouter",
            "pes",
            pes.to_str().expect("path"),
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["rapport"]["a_rattacher"], 1, "{report}");
    assert_eq!(report["en_suspens"], 0, "{report}");
    assert_eq!(sandbox.counts().1, 1, "the platform holds the file once");
    let outbox = ws.outbox();
    let waiting = outbox.to_attach().expect("to attach");
    assert_eq!(waiting.len(), 1);
    let item = &waiting[0];
    assert_eq!(item.etat, State::Envoye);
    assert_eq!(item.id_plateforme, None);
    let journal = outbox.journal(item.id).expect("journal");
    assert!(
        journal.iter().any(|j| j.detail.contains("rattacher")),
        "{journal:?}"
    );
    // Refused: a non-number, and an item that is not waiting to be attached.
    let out = ws.run(&["envois", "rattacher", &item.id.to_string(), "12a"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("numéro de transaction"));
    let other = outbox
        .list(&Filter::default())
        .expect("list")
        .into_iter()
        .find(|i| i.id != item.id)
        .expect("the first");
    let out = ws.run(&["envois", "rattacher", &other.id.to_string(), "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // The person finds the transaction and attaches it.
    let transaction = other.id_plateforme.clone().expect("the first was sent");
    let out = ws.run(&[
        "envois",
        "rattacher",
        &item.id.to_string(),
        &transaction,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = ws.spawn_sender(30).wait_with_output().expect("sender");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    for i in ws.outbox().list(&Filter::default()).expect("list") {
        assert_eq!(i.etat, State::Acquitte, "{i:?}");
    }
    assert_eq!(sandbox.counts().1, 1, "never sent again");
}
