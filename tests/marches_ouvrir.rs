//! Opening bids: made by `openssl cms -encrypt` for the test PKI's encryption certificate, the key
//! on a SoftHSM token, opened by `paraphe marches ouvrir` through the card. DER, PEM, S/MIME,
//! BER streaming, AES-CBC and AES-GCM, PKCS#1 v1.5 and OAEP; a ZIP bid unpacked; a bid for
//! someone else, a truncated bid, a tampered bid and a hostile ZIP each refused in French with
//! nothing written.

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ready() -> bool {
    tools(&["openssl", "softhsm2-util", "pkcs11-tool"])
}

/// A token holding the encryption identity (and the authentication one, to which no bid is
/// addressed); made once per test process.
fn token() -> String {
    static LABEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LABEL
        .get_or_init(|| {
            let hsm = SoftHsm::shared();
            let pki = TestPki::shared();
            let label = unique_label("plis");
            hsm.create_token(&label, USER_PIN).expect("create token");
            for name in ["chiffrement", "authentification"] {
                hsm.import(&label, USER_PIN, pki.identity(name))
                    .expect("import");
            }
            label
        })
        .clone()
}

/// `openssl cms -encrypt` of `plain` for `recipient` with extra options.
fn encrypt(plain: &Path, recipient: &str, out: &Path, options: &[&str]) {
    let cert = &TestPki::shared().identity(recipient).cert_pem;
    let status = Command::new("openssl")
        .args(["cms", "-encrypt", "-binary", "-in"])
        .arg(plain)
        .arg("-out")
        .arg(out)
        .args(options)
        .arg("-recip")
        .arg(cert)
        .status()
        .expect("openssl cms");
    assert!(status.success(), "openssl cms -encrypt {options:?}");
}

fn ouvrir(input: &Path, out: &Path, extra: &[&str]) -> Output {
    ouvrir_with(&softhsm_module(), input, out, extra)
}

/// `paraphe marches ouvrir` through the PKCS#11 module `module` (SoftHSM, or the proxy before it).
/// One at a time: SoftHSM's file store rewrites the token's state at each login, and another
/// process reading the token folder at that moment may not see the token at all (seen once in
/// CI as « La carte … n'est pas détectée »); the product is not at stake, the test harness is.
fn ouvrir_with(module: &Path, input: &Path, out: &Path, extra: &[&str]) -> Output {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = out.parent().unwrap_or(out).to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(["marches", "ouvrir"])
        .arg(input)
        .arg("-o")
        .arg(out)
        .args(["--module"])
        .arg(module)
        .args(["--jeton", &token(), "--pin-stdin"])
        .args(extra)
        .envs(SoftHsm::shared().env())
        .env("PARAPHE_CONFIG", tmp.join("absent.toml"))
        .env("PARAPHE_DONNEES", tmp.join("donnees"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{USER_PIN}").expect("pin");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Pseudo-random bytes (not compressible), deterministic.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn zip_of(entries: &[(&str, &[u8])], path: &Path) {
    let file = std::fs::File::create(path).expect("zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, options).expect("entry");
        zip.write_all(data).expect("write");
    }
    zip.finish().expect("finish");
}

#[test]
fn every_form_and_cipher_opens_to_the_same_bytes() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(noise(3 * 1024 * 1024 + 17, 1));
    let plain = dir.path().join("memoire.pdf");
    std::fs::write(&plain, &pdf).expect("write");
    let variants: &[(&str, &[&str])] = &[
        ("der-cbc.pdf.p7m", &["-outform", "DER", "-aes-256-cbc"]),
        ("pem-cbc128.pdf.pem", &["-outform", "PEM", "-aes-128-cbc"]),
        ("smime-cbc.pdf.p7m", &["-aes-256-cbc"]),
        (
            "ber-stream.pdf.p7m",
            &["-outform", "DER", "-stream", "-aes-192-cbc"],
        ),
        ("gcm.pdf.p7m", &["-outform", "DER", "-aes-256-gcm"]),
        (
            "gcm-stream.pdf.pem",
            &["-outform", "PEM", "-stream", "-aes-128-gcm"],
        ),
    ];
    let plis = dir.path().join("plis");
    std::fs::create_dir(&plis).expect("dir");
    for (name, options) in variants {
        encrypt(&plain, "chiffrement", &plis.join(name), options);
    }
    // OAEP (SHA-1: what SoftHSM implements) on its own.
    let cert = &TestPki::shared().identity("chiffrement").cert_pem;
    let status = Command::new("openssl")
        .args([
            "cms",
            "-encrypt",
            "-binary",
            "-outform",
            "DER",
            "-aes-256-cbc",
            "-in",
        ])
        .arg(&plain)
        .arg("-out")
        .arg(plis.join("oaep.pdf.p7m"))
        .arg("-recip")
        .arg(cert)
        .args(["-keyopt", "rsa_padding_mode:oaep"])
        .status()
        .expect("openssl");
    assert!(status.success());

    let out = dir.path().join("ouverts");
    let result = ouvrir(&plis, &out, &["--json"]);
    let report = json(&result);
    assert_eq!(result.status.code(), Some(0), "{report}");
    assert_eq!(report["ouverts"], variants.len() + 1, "{report}");
    for pli in report["plis"].as_array().expect("plis") {
        assert_eq!(pli["ouvert"], true, "{pli}");
        let folder = PathBuf::from(pli["dossier"].as_str().expect("dossier"));
        let content = folder.join(pli["contenu"]["chemin"].as_str().expect("chemin"));
        assert_eq!(content.extension().and_then(|e| e.to_str()), Some("pdf"));
        let opened = std::fs::read(&content).expect("opened file");
        assert!(
            opened == pdf,
            "{} differs from the original",
            content.display()
        );
        // The digest reported is the file's.
        let sha = openssl_sha256(&content);
        assert_eq!(pli["contenu"]["sha256"], sha);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&content)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "decrypted files are private");
            let mode = std::fs::metadata(&folder)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the bid's folder is private");
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(out.join("rapport-ouverture.csv")).expect("report");
        assert_eq!(
            meta.permissions().mode() & 0o077,
            0,
            "the report is private"
        );
    }
    let csv = std::fs::read_to_string(out.join("rapport-ouverture.csv")).expect("csv");
    assert!(csv.starts_with("Pli;État;Fichier"), "{csv}");
    assert_eq!(csv.matches(";ouvert;").count(), variants.len() + 1);
    let html = std::fs::read_to_string(out.join("rapport-ouverture.html")).expect("html");
    assert!(html.contains("Rapport d'ouverture des plis"));
    // Opening again into the same folder is refused: nothing is overwritten.
    let again = ouvrir(&plis.join("gcm.pdf.p7m"), &out, &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stdout).contains("existe déjà"));
}

fn openssl_sha256(path: &Path) -> String {
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(path)
        .output()
        .expect("openssl dgst");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_zip_bid_is_unpacked() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let dc1 = b"DC1 - lettre de candidature".repeat(100);
    let memo = noise(200_000, 2);
    let zip = dir.path().join("offre.zip");
    zip_of(&[("DC1.pdf", &dc1), ("technique/memoire.pdf", &memo)], &zip);
    let pli = dir.path().join("offre.zip.p7m");
    encrypt(
        &zip,
        "chiffrement",
        &pli,
        &["-outform", "DER", "-aes-256-cbc"],
    );
    let out = dir.path().join("ouverts");
    let result = ouvrir(&pli, &out, &["--json"]);
    let report = json(&result);
    assert_eq!(result.status.code(), Some(0), "{report}");
    let folder = out.join("offre");
    assert_eq!(
        std::fs::read(folder.join("offre.zip")).expect("zip kept"),
        std::fs::read(&zip).expect("zip")
    );
    assert_eq!(
        std::fs::read(folder.join("fichiers/DC1.pdf")).expect("DC1"),
        dc1
    );
    assert_eq!(
        std::fs::read(folder.join("fichiers/technique/memoire.pdf")).expect("memoire"),
        memo
    );
    assert_eq!(
        report["plis"][0]["fichiers"].as_array().map(Vec::len),
        Some(2)
    );
}

/// A ZIP written by Python's zipfile (the zip crate refuses duplicate names) and encrypted for
/// the test PKI's encryption certificate, at `dir/NAME.zip.p7m`.
fn zip_bid_by_python(dir: &Path, name: &str, entries: &[(&str, &str)]) -> std::path::PathBuf {
    let zip = dir.join(format!("{name}.zip"));
    let script = format!(
        "import zipfile, warnings\nwarnings.simplefilter('ignore')\nz = zipfile.ZipFile({:?}, 'w')\n{}z.close()\n",
        zip.to_str().expect("path"),
        entries
            .iter()
            .map(|(name, data)| format!("z.writestr('{name}', b'{data}')\n"))
            .collect::<String>()
    );
    let made = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3");
    assert!(made.success());
    let pli = dir.join(format!("{name}.zip.p7m"));
    encrypt(
        &zip,
        "chiffrement",
        &pli,
        &["-outform", "DER", "-aes-256-cbc"],
    );
    pli
}

/// Entries whose names collide once case and Unicode normalisation are set aside (as they would
/// on Windows or macOS) are all kept under distinct names, and the report says which was renamed;
/// entries with exactly the same name (which the ZIP reader would merge) refuse the bid. Nothing
/// is ever overwritten.
#[test]
fn colliding_names_in_a_zip_bid_are_all_kept_or_the_bid_refused() {
    if !ready() || !tools(&["python3"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let entries = [
        ("offre/AE.pdf", "premier"),
        ("offre/ae.PDF", "casse"),
        ("offre/M\\u00e9moire.pdf", "compose"),
        ("offre/Me\\u0301moire.pdf", "decompose"),
    ];
    let pli = zip_bid_by_python(dir.path(), "offre", &entries);
    let out = dir.path().join("ouverts");
    let result = ouvrir(&pli, &out, &["--json"]);
    let report = json(&result);
    assert_eq!(result.status.code(), Some(0), "{report}");
    let files = report["plis"][0]["fichiers"].as_array().expect("fichiers");
    assert_eq!(files.len(), entries.len(), "{report}");
    // Every content is there, each in its own file.
    let folder = out.join("offre");
    let mut contents: Vec<String> = files
        .iter()
        .map(|f| {
            let path = folder.join(f["chemin"].as_str().expect("chemin"));
            String::from_utf8(std::fs::read(&path).expect("kept")).expect("text")
        })
        .collect();
    contents.sort();
    let mut expected: Vec<String> = entries.iter().map(|(_, d)| d.to_string()).collect();
    expected.sort();
    assert_eq!(contents, expected);
    let renamed: Vec<&str> = files
        .iter()
        .filter_map(|f| f["renomme_de"].as_str())
        .collect();
    assert_eq!(renamed.len(), 2, "{report}");

    // Two entries of exactly the same name: refused, said why, nothing extracted.
    let twice = zip_bid_by_python(
        dir.path(),
        "double",
        &[("offre/AE.pdf", "premier"), ("offre/AE.pdf", "second")],
    );
    let out = dir.path().join("ouverts-double");
    let result = ouvrir(&twice, &out, &["--json"]);
    let report = json(&result);
    assert_ne!(result.status.code(), Some(0), "{report}");
    assert!(
        report.to_string().contains("exactement le même nom"),
        "{report}"
    );
    assert!(!out.join("double/fichiers").exists(), "{report}");
}

#[test]
fn bad_bids_are_refused_in_french_and_leave_nothing() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("offre.pdf");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(noise(100_000, 3));
    std::fs::write(&plain, &pdf).expect("write");
    let out = dir.path().join("ouverts");
    let refused = |input: &Path, expected: &str| {
        let result = ouvrir(input, &out, &[]);
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert_eq!(result.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains(expected), "{}: {stdout}", input.display());
        // Only the reports: no bid folder, no leftover temporary folder.
        let names: Vec<String> = std::fs::read_dir(&out)
            .expect("out")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("rapport-ouverture"))
            .collect();
        assert!(names.is_empty(), "{}: left {names:?}", input.display());
    };

    // For someone else.
    let other = dir.path().join("autre.pdf.p7m");
    encrypt(&plain, "authentification", &other, &["-outform", "DER"]);
    refused(
        &other,
        "n'est pas chiffré pour le certificat de cette carte",
    );

    // Truncated.
    let good = dir.path().join("bon.pdf.p7m");
    encrypt(
        &plain,
        "chiffrement",
        &good,
        &["-outform", "DER", "-aes-256-cbc"],
    );
    let bytes = std::fs::read(&good).expect("read");
    let truncated = dir.path().join("tronque.pdf.p7m");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    refused(&truncated, "tronqué");

    // Tampered, CBC: the padding byte of the last block is flipped through the previous block.
    let mut tampered = bytes.clone();
    let at = tampered.len() - 17;
    tampered[at] ^= 0xff;
    let tampered_path = dir.path().join("altere-cbc.pdf.p7m");
    std::fs::write(&tampered_path, &tampered).expect("write");
    refused(&tampered_path, "altéré");

    // Tampered, GCM: any byte of the content.
    let gcm = dir.path().join("gcm.pdf.p7m");
    encrypt(
        &plain,
        "chiffrement",
        &gcm,
        &["-outform", "DER", "-aes-256-gcm"],
    );
    let mut bytes = std::fs::read(&gcm).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let gcm_tampered = dir.path().join("altere-gcm.pdf.p7m");
    std::fs::write(&gcm_tampered, &bytes).expect("write");
    refused(&gcm_tampered, "altéré");

    // Not a bid at all.
    refused(&plain, "pas un pli chiffré reconnu");

    // A ZIP that writes outside the bid's folder.
    let evil_zip = dir.path().join("evil.zip");
    zip_of(
        &[("ok.txt", b"ok"), ("../../evasion.txt", b"dehors")],
        &evil_zip,
    );
    let evil = dir.path().join("evil.zip.p7m");
    encrypt(&evil_zip, "chiffrement", &evil, &["-outform", "DER"]);
    refused(&evil, "hors du dossier du pli");
    assert!(!dir.path().join("evasion.txt").exists());

    // A zip bomb: 200 MB of zeros in a few hundred kilobytes.
    let bomb_zip = dir.path().join("bombe.zip");
    zip_of(&[("zeros.bin", &vec![0u8; 200 * 1024 * 1024])], &bomb_zip);
    let bomb = dir.path().join("bombe.zip.p7m");
    encrypt(&bomb_zip, "chiffrement", &bomb, &["-outform", "DER"]);
    refused(&bomb, "bombe de décompression");
}

#[test]
fn one_pin_for_a_folder_and_a_card_pulled_out_stops_cleanly() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("offre.pdf");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(noise(50_000, 4));
    std::fs::write(&plain, &pdf).expect("write");
    let plis = dir.path().join("plis");
    std::fs::create_dir(&plis).expect("dir");
    for name in ["a.pdf.p7m", "b.pdf.p7m", "c.pdf.p7m"] {
        encrypt(
            &plain,
            "chiffrement",
            &plis.join(name),
            &["-outform", "DER"],
        );
    }

    // Three bids, one login, three card decryptions.
    let stats = dir.path().join("stats.json");
    let counting = proxy_copy(
        dir.path(),
        "compte",
        &format!(
            "module = \"{}\"\nstats_file = \"{}\"\n",
            softhsm_module().display(),
            stats.display()
        ),
    );
    let out = dir.path().join("ouverts");
    let result = ouvrir_with(&counting, &plis, &out, &["--json"]);
    let report = json(&result);
    assert_eq!(result.status.code(), Some(0), "{report}");
    let s = proxy_stats(&stats);
    assert_eq!(stat(&s, "C_Login"), 1, "one PIN for the folder");
    // One decryption per bid (C_Decrypt is called twice each: length, then result).
    assert_eq!(
        stat(&s, "C_DecryptInit"),
        3,
        "only the content keys go through the card"
    );

    // The card is pulled out after the first bid: the second fails in French, the third is not
    // tried, nothing half-written is left.
    let pulled = proxy_copy(
        dir.path(),
        "retrait",
        &format!(
            "module = \"{}\"\nremove_after_ops = 1\n",
            softhsm_module().display()
        ),
    );
    let out = dir.path().join("retrait");
    let result = ouvrir_with(&pulled, &plis, &out, &["--json"]);
    let report = json(&result);
    assert_eq!(result.status.code(), Some(1), "{report}");
    let plis_report = report["plis"].as_array().expect("plis");
    assert_eq!(
        plis_report.len(),
        2,
        "stopped after the card left: {report}"
    );
    assert_eq!(plis_report[0]["ouvert"], true);
    assert_eq!(plis_report[1]["ouvert"], false);
    assert!(
        plis_report[1]["raison"]
            .as_str()
            .is_some_and(|r| r.contains("retirée")),
        "{report}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["a", "rapport-ouverture.csv", "rapport-ouverture.html"],
        "only the opened bid and the reports"
    );
}

#[test]
fn opened_documents_have_their_signatures_checked_and_late_deposits_are_flagged() {
    if !ready() || !tools(&["xmlsec1"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let pki = TestPki::shared();
    // The bid: an acte d'engagement signed (CAdES, detached) and a memo not signed, in a ZIP.
    let ae = b"%PDF-1.7\nActe d'engagement de l'entreprise TEST\n".to_vec();
    let memo = noise(10_000, 5);
    let ae_path = dir.path().join("AE.pdf");
    std::fs::write(&ae_path, &ae).expect("write");
    let signer = pki.identity("qualifie");
    let status = Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-outform", "DER", "-in"])
        .arg(&ae_path)
        .arg("-signer")
        .arg(&signer.cert_pem)
        .arg("-inkey")
        .arg(&signer.key_pem)
        .arg("-certfile")
        .arg(&signer.chain_pem)
        .arg("-out")
        .arg(dir.path().join("AE.pdf.p7s"))
        .status()
        .expect("openssl cms -sign");
    assert!(status.success());
    let p7s = std::fs::read(dir.path().join("AE.pdf.p7s")).expect("p7s");
    let zip = dir.path().join("offre.zip");
    zip_of(
        &[
            ("AE.pdf", &ae),
            ("AE.pdf.p7s", &p7s),
            ("memoire.bin", &memo),
        ],
        &zip,
    );
    let plis = dir.path().join("plis");
    std::fs::create_dir(&plis).expect("dir");
    let pli = plis.join("offre.zip.p7m");
    encrypt(&zip, "chiffrement", &pli, &["-outform", "DER"]);
    // The platform's deposit timestamp over the encrypted file, beside it.
    let authority = common::tsa::tsa(dir.path());
    common::tsa::timestamp(&authority, &pli, &plis.join("offre.zip.p7m.tsr"));
    // Trust: the test PKI and the TSA.
    let trust = dir.path().join("confiance.pem");
    let mut bundle = std::fs::read(pki.ca_bundle_pem()).expect("bundle");
    bundle.extend(std::fs::read(&authority.cert).expect("tsa"));
    std::fs::write(&trust, bundle).expect("trust");

    let out = dir.path().join("ouverts");
    let result = ouvrir(
        &plis,
        &out,
        &[
            "--json",
            "--confiance",
            trust.to_str().expect("path"),
            "--date-limite",
            "2020-01-01T12:00:00+01:00",
        ],
    );
    let report = json(&result);
    // One bid (the .tsr is its deposit timestamp, not another bid), opened.
    assert_eq!(report["total"], 1, "{report}");
    assert_eq!(report["ouverts"], 1, "{report}");
    let bid = &report["plis"][0];
    let signatures = bid["signatures"].as_array().expect("signatures");
    assert_eq!(signatures.len(), 1, "{bid}");
    assert_eq!(signatures[0]["format"], "CAdES détachée");
    assert_eq!(signatures[0]["qualifie"], true);
    assert_eq!(signatures[0]["valide"], true, "{bid}");
    let unsigned = bid["non_signes"].as_array().expect("non_signes");
    assert_eq!(unsigned.len(), 1, "{bid}");
    assert!(
        unsigned[0]
            .as_str()
            .is_some_and(|p| p.ends_with("memoire.bin"))
    );
    // Deposited (now) after a deadline in 2020: flagged late.
    assert_eq!(bid["depot"]["valide"], true, "{bid}");
    assert_eq!(bid["depot"]["hors_delai"], true, "{bid}");
    assert!(
        bid["anomalies"]
            .to_string()
            .contains("après la date limite"),
        "{bid}"
    );
    let csv = std::fs::read_to_string(out.join("rapport-ouverture.csv")).expect("csv");
    assert!(csv.contains(";signature;"), "{csv}");
    assert!(csv.contains("non signé"), "{csv}");
    assert!(csv.contains("après la date limite"), "{csv}");
}
