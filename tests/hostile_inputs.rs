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

/// Where the fault of a spoilt document is, as an editor would show it: the NUL byte, else the
/// second XML declaration, else `tail` (where the content after the root starts). Counted here
/// from the bytes (one column per byte: the documents are Latin-1 or ASCII around the fault).
fn fault_said(bytes: &[u8], tail: usize) -> String {
    let fault = bytes
        .iter()
        .position(|&b| b == 0)
        .or_else(|| {
            bytes
                .windows(5)
                .skip(1)
                .position(|w| w == b"<?xml")
                .map(|i| i + 1)
        })
        .unwrap_or(tail);
    let line = bytes[..fault].iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = bytes[..fault]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    format!("ligne {line}, colonne {}", fault - line_start + 1)
}

/// The readers of what comes back — PES_Acquit, PES_Retour, ACTES messages — refuse a real
/// file of the field spoilt as above (another root after its own, a NUL byte after the root's
/// start tag, a second XML declaration there), each with the line and column of the fault.
#[test]
fn returned_documents_spoilt_are_refused_with_the_line_and_column() {
    let (Some(pes), Some(actes)) = (
        common::conformance("pes/samples"),
        common::conformance("actes/samples/s2low/test/PHPUnit/fixtures/ok"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let readers = [
        ("pes", "acquit", pes.join("pes_acquit.xml")),
        ("pes", "retour", pes.join("pes_retour.xml")),
        (
            "actes",
            "lire",
            actes.join("045-214502494-20170717-D201717-DE-1-1_0.xml"),
        ),
    ];
    for (command, sub, sample) in readers {
        let good = std::fs::read(&sample).expect("sample");
        let (code, stderr) = paraphe(dir, &[command, sub, sample.to_str().expect("p")], "");
        assert_eq!(code, Some(0), "{sample:?} as it is: {stderr}");
        // Just after the root's start tag (the first `>` after the first element's `<`).
        let after_declaration = good
            .windows(2)
            .position(|w| w == b"?>")
            .map_or(0, |i| i + 2);
        let root = after_declaration
            + good[after_declaration..]
                .iter()
                .position(|&b| b == b'<')
                .expect("root");
        let inside = root + good[root..].iter().position(|&b| b == b'>').expect(">") + 1;
        let insert = |what: &[u8]| [&good[..inside], what, &good[inside..]].concat();
        let mut trailing_root = good.clone();
        trailing_root.extend_from_slice(b"\n<Autre/>\n");
        let tail = good.len() + 1;
        for (name, bytes) in [
            ("racine-en-trop.xml", trailing_root),
            ("nul.xml", insert(b"\n\0")),
            (
                "deux-declarations.xml",
                insert(b"\n<?xml version=\"1.0\"?>"),
            ),
        ] {
            let said = fault_said(&bytes, tail);
            let path = dir.join(format!("{sub}-{name}"));
            std::fs::write(&path, bytes).expect("write");
            let (code, stderr) = paraphe(dir, &[command, sub, path.to_str().expect("p")], "");
            assert!(
                matches!(code, Some(1 | 2)),
                "{command} {sub} {name}: {code:?} {stderr}"
            );
            assert!(
                stderr.contains(&said),
                "{command} {sub} {name}: {said}? {stderr}"
            );
        }
    }
}

/// What quick readers let through and XML forbids — content after the root, text before it, a
/// NUL byte in a text or an attribute, a second XML declaration — is refused by every PES
/// command, with the line and column of the faulty byte (counted here from the bytes), and the
/// signer writes nothing.
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
        let said = fault_said(&bytes, good.len());
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
            assert!(stderr.contains(&said), "{name} {args:?}: {said}? {stderr}");
            assert!(!out.exists(), "{name}: nothing written");
        }
    }
    // The file they were made from passes.
    let path = variant("bon.xml", good);
    let (code, stderr) = paraphe(dir, &["pes", "inspecter", path.to_str().expect("p")], "");
    assert_eq!(code, Some(0), "{stderr}");
}

/// Runs paraphe under `/usr/bin/time`: (exit code, stderr, peak memory in MB, seconds).
fn paraphe_measured(dir: &Path, args: &[&str], input: &str) -> (Option<i32>, String, u64, f64) {
    let report = dir.join("time.txt");
    let mut child = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_paraphe"))
        .args(args)
        .env("PARAPHE_CONFIG", dir.join("absent.toml"))
        .env("PARAPHE_DONNEES", dir.join("donnees"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("time paraphe");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = writeln!(stdin, "{input}");
    }
    // The error output is read beside the wait, so that a long message never blocks the child.
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut text = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut text);
        text
    });
    let started = Instant::now();
    // Not a speed check (speed is measured by the benchmarks, against a baseline): a reader that
    // never ends on a bounded input is a defect, and the test must end too.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(900) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("paraphe {args:?} ne se termine pas (arrêté après 15 minutes)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seconds = started.elapsed().as_secs_f64();
    let stderr = reader.join().expect("stderr reader");
    let kb: u64 = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no peak memory for {args:?}"));
    (
        status.code(),
        String::from_utf8_lossy(&stderr).into_owned(),
        kb / 1024,
        seconds,
    )
}

/// A file whose one value is longer than any platform takes (a 300 MB attribute, a 300 MB text
/// node, a 300 MB objet in an ACTES message) or a 2 GB sparse file of NUL bytes: every reader
/// refuses it in French, writes nothing, and stays within a bound of memory — where they took 1
/// to 6 GB (and `pes controler` over two minutes) before the token limit. Its time is shown, not
/// judged: the benchmarks measure speed.
#[test]
fn a_huge_value_or_a_file_of_zeros_is_refused_with_bounded_memory() {
    if !tools(&["/usr/bin/time"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    const MB: usize = 1024 * 1024;
    let write_with = |name: &str, head: &[u8], fill: &[u8], tail: &[u8]| {
        use std::io::Write;
        let path = dir.join(name);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        f.write_all(head).expect("write");
        let block = fill.repeat(MB / fill.len());
        for _ in 0..300 {
            f.write_all(&block).expect("write");
        }
        f.write_all(tail).expect("write");
        f.flush().expect("flush");
        path
    };
    let mut head = common::pes::HEAD.to_owned();
    head.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    let (before, after) = head.split_once("Fournitures é").expect("an Obj value");
    let pes_end = format!("{after}</PES_DepenseAller></n:PES_Aller>\n");
    let attribute = write_with(
        "attribut.xml",
        &common::pes::latin1(before),
        b"A",
        &common::pes::latin1(&pes_end),
    );
    let text = write_with(
        "texte.xml",
        &common::pes::latin1(&format!(
            "{before}x{}",
            pes_end.replace(
                "</n:PES_Aller>",
                "<PES_PJ><PJ><Contenu><Fichier MIMEType=\"application/pdf\">"
            )
        )),
        b"QUFB",
        b"</Fichier></Contenu></PJ></PES_PJ></n:PES_Aller>\n",
    );
    let actes = write_with(
        "acte.xml",
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<actes:Acte xmlns:actes=\"http://www.interieur.gouv.fr/ACTES#v1.1-20040216\" actes:Date=\"2026-01-15\" actes:NumeroInterne=\"D1\" actes:CodeNatureActe=\"1\"><actes:Objet>",
        b"Objet ",
        b"</actes:Objet></actes:Acte>\n",
    );
    let zeros = dir.join("zeros.xml");
    std::fs::File::create(&zeros)
        .and_then(|f| f.set_len(2048 * MB as u64))
        .expect("sparse file");
    let p12 = TestPki::shared().identity("signature").p12.clone();
    let out = dir.join("sortie.xml");
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut runs: Vec<Vec<String>> = Vec::new();
    for file in [&attribute, &text, &zeros] {
        let f = file.to_str().expect("path");
        runs.push(s(&["pes", "inspecter", f]));
        runs.push(s(&["pes", "controler", f]));
        runs.push(s(&["pes", "verifier", f]));
        runs.push(s(&["pes", "acquit", f]));
        runs.push(s(&["pes", "retour", f]));
        runs.push(signer_args(f, &out, &p12));
    }
    for file in [&actes, &zeros] {
        runs.push(s(&["actes", "lire", file.to_str().expect("path")]));
    }
    let mut table = Vec::new();
    for args in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr, peak_mb, seconds) = paraphe_measured(dir, &args, P12_PASSWORD);
        table.push(format!(
            "{:<60} sortie {code:?}, {peak_mb} Mo, {seconds:.1} s",
            args[..3.min(args.len())].join(" ")
        ));
        assert!(matches!(code, Some(1 | 2)), "{args:?}: {code:?} {stderr}");
        assert!(
            stderr.starts_with("Erreur") || stderr.contains("invalide") || stderr.contains("pas"),
            "{args:?}: a French reason: {stderr}"
        );
        for english in ["I/O error", "invalid", "expected", "unexpected"] {
            assert!(!stderr.contains(english), "{args:?}: {stderr}");
        }
        // A value over the limit is said as such, not as a failing disk.
        assert!(!stderr.contains("entrée-sortie"), "{args:?}: {stderr}");
        assert!(peak_mb < 400, "{args:?}: {peak_mb} MB");
        assert!(!out.exists(), "{args:?}: nothing written");
    }
    eprintln!("{}", table.join("\n"));
}

/// A signature killed in the middle (SIGKILL: no destructor runs) leaves its hidden temporary
/// file; the next signature into the same folder removes it once it is older than any writing
/// could last — and leaves a recent one (another signature may be writing it) and the person's
/// own files alone.
#[test]
fn a_killed_signature_leaves_no_hidden_file_for_ever() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mut text = common::pes::HEAD.to_owned();
    text.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    text.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let input = dir.join("pes.xml");
    std::fs::write(&input, common::pes::latin1(&text)).expect("write");
    let out_dir = dir.join("signes");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let stale = out_dir.join(".paraphe-signature-tue");
    let recent = out_dir.join(".paraphe-signature-en-cours");
    let mine = out_dir.join(".paraphe-notes-a-moi.txt.bak");
    for f in [&stale, &recent] {
        std::fs::write(f, b"<n:PES_Aller").expect("write");
    }
    std::fs::create_dir(&mine).expect("a folder of the person's, with our prefix");
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|f| f.set_modified(two_days_ago))
        .expect("age the stale file");
    let p12 = TestPki::shared().identity("signature").p12.clone();
    let out = out_dir.join("pes-signe.xml");
    let args = signer_args(input.to_str().expect("path"), &out, &p12);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stderr) = paraphe(dir, &args, P12_PASSWORD);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(out.exists());
    assert!(!stale.exists(), "the stale temporary file is removed");
    assert!(
        recent.exists(),
        "a recent one may be another signature's: kept"
    );
    assert!(mine.exists(), "only files are removed");
    let left: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
}
