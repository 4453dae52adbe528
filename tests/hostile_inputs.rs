//! What a person may hand to Paraphe by mistake or by malice, through every reading command:
//! a FIFO (which would block a reader for ever), a folder, a device, a missing file. Each is
//! refused at once (a time bound), with a French message, and nothing is written.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs paraphe with `args` (and `input` on standard input); (exit code, stderr). Fails if it
/// takes more than 20 s: a reader must answer, not wait.
fn paraphe(dir: &Path, args: &[&str], input: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .args(args)
        .env("PARAPHE_CONFIG", dir.join("absent.toml"))
        .env("PARAPHE_DONNEES", dir.join("donnees"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("paraphe");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = writeln!(stdin, "{input}");
    }
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
            return (status.code(), stderr);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("paraphe {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `pes signer FILE -o OUT` with the test identity's PKCS#12 (password on standard input).
fn signer_args(file: &str, out: &Path, p12: &Path) -> Vec<String> {
    [
        "pes",
        "signer",
        file,
        "-o",
        out.to_str().expect("path"),
        "--role",
        "Maire",
        "--ville",
        "Arles",
        "--code-postal",
        "13200",
        "--pin-stdin",
        "--p12",
        p12.to_str().expect("p12"),
    ]
    .iter()
    .map(|x| x.to_string())
    .collect()
}

#[test]
fn special_and_missing_files_are_refused_at_once_in_french() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mut specials: Vec<(&str, PathBuf)> = vec![("dossier", dir.join("un-dossier.xml"))];
    std::fs::create_dir(&specials[0].1).expect("mkdir");
    #[cfg(unix)]
    {
        let fifo = dir.join("tube.xml");
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        specials.push(("tube", fifo));
        specials.push(("périphérique", PathBuf::from("/dev/zero")));
    }
    let p12 = TestPki::shared().identity("signature").p12.clone();
    let out = dir.join("sortie.xml");
    let commands = |f: &str| -> Vec<Vec<String>> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        vec![
            s(&["pes", "inspecter", f]),
            s(&["pes", "controler", f]),
            s(&["pes", "verifier", f]),
            s(&["pes", "acquit", f]),
            s(&["pes", "retour", f]),
            s(&["actes", "lire", f]),
            s(&["envois", "ajouter", "pes", f]),
            signer_args(f, &out, &p12),
        ]
    };
    let not_regular = paraphe::messages::t("fichiers.pas_ordinaire");
    for (what, path) in &specials {
        for args in commands(path.to_str().expect("path")) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, stderr) = paraphe(dir, &args, P12_PASSWORD);
            assert!(
                matches!(code, Some(1 | 2)),
                "{what} {args:?}: {code:?} {stderr}"
            );
            assert!(stderr.contains(&not_regular), "{what} {args:?}: {stderr}");
        }
    }
    // A missing file: the message names it, in French.
    let missing = dir.join("absent.xml");
    let missing_str = missing.to_str().expect("path");
    for args in commands(missing_str) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr) = paraphe(dir, &args, P12_PASSWORD);
        assert!(matches!(code, Some(1 | 2)), "{args:?}: {code:?} {stderr}");
        assert!(stderr.contains(missing_str), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&paraphe::messages::t("fichiers.introuvable")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("No such file"), "{args:?}: {stderr}");
    }
    assert!(!out.exists(), "nothing written");
}

/// What quick readers let through and XML forbids — content after the root, text before it, a
/// NUL byte in a text or an attribute, a second XML declaration — is refused by every PES
/// command, with the offset, and the signer writes nothing.
#[test]
fn malformed_tails_and_nul_bytes_are_refused_by_every_pes_reader() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mut text = common::pes::HEAD.to_owned();
    text.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    text.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let good = common::pes::latin1(&text);
    let variant = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let mut trailing_root = good.clone();
    trailing_root.extend_from_slice(b"<Autre/>\n");
    let mut trailing_text = good.clone();
    trailing_text.extend_from_slice(b"texte\n");
    let replace = |from: &str, to: &str| common::pes::latin1(&text.replacen(from, to, 1));
    let cases = [
        ("racine-en-trop.xml", trailing_root),
        ("texte-apres.xml", trailing_text),
        ("nul-texte.xml", replace("Fournitures", "Four\u{0}nitures")),
        ("nul-attribut.xml", replace("V=\"2026\"", "V=\"20\u{0}26\"")),
        (
            "deux-declarations.xml",
            replace("<n:PES_Aller", "<?xml version=\"1.0\"?><n:PES_Aller"),
        ),
    ];
    let p12 = TestPki::shared().identity("signature").p12.clone();
    for (name, bytes) in cases {
        let path = variant(name, bytes);
        let f = path.to_str().expect("path");
        let out = dir.join(format!("signe-{name}"));
        let owned = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        for args in [
            owned(&["pes", "inspecter", f]),
            owned(&["pes", "controler", f]),
            owned(&["pes", "verifier", f]),
            signer_args(f, &out, &p12),
        ] {
            let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
            let (code, stderr) = paraphe(dir, &args, P12_PASSWORD);
            assert!(
                matches!(code, Some(1 | 2)),
                "{name} {args:?}: {code:?} {stderr}"
            );
            assert!(!stderr.is_empty(), "{name} {args:?}: a reason");
            assert!(!out.exists(), "{name}: nothing written");
        }
    }
    // The file they were made from passes.
    let path = variant("bon.xml", good);
    let (code, stderr) = paraphe(dir, &["pes", "inspecter", path.to_str().expect("p")], "");
    assert_eq!(code, Some(0), "{stderr}");
}
