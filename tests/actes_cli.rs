//! `paraphe actes controler` and `paraphe actes preparer`, run as the user runs them: exit codes,
//! JSON findings, nothing written when refused, the number reserved, the classification kept.

mod actes_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use actes_support::*;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("tmp"),
        };
        std::fs::write(
            env.path("paraphe.toml"),
            "[collectivite]\nsiren = \"210600730\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nreferent_nom = \"Hélène Müller\"\nemails_retour = [\"actes@mairie-exemple.fr\"]\n",
        )
        .expect("settings");
        std::fs::create_dir(env.path("sortie")).expect("mkdir");
        file(env.dir.path(), "acte.pdf", &pdf_bytes("Acte"));
        file(env.dir.path(), "plan.png", &png_bytes(10, 10));
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

    fn run(&self, command: &str, extra: &[&str]) -> Output {
        self.paraphe(&[&["actes", command], extra].concat())
    }

    fn paraphe(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .env("PARAPHE_CONFIG", self.path("paraphe.toml"))
            .env("PARAPHE_DONNEES", self.path("donnees"))
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .expect("run paraphe")
    }

    fn sortie(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("sortie"))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn act_args<'a>(numero: &'a str, objet: &'a str) -> Vec<&'a str> {
    vec![
        "--nature",
        "1",
        "--matiere",
        "1.1",
        "--numero",
        numero,
        "--date",
        "2020-01-15",
        "--objet",
        objet,
        "--acte",
        "acte.pdf",
        "--annexe",
        "plan.png:21_RP",
    ]
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

#[test]
fn controler_then_preparer_then_number_used() {
    let env = Env::new();
    let mut args = act_args("DEL2020_001", "Travaux de l'église");
    args.extend(["--classification", "classification.xml"]);
    let o = env.run("controler", &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("006-210600730-20200115-DEL2020_001-DE"));
    let mut with_json = args.clone();
    with_json.push("--json");
    let doc = json(&env.run("controler", &with_json));
    assert_eq!(doc["valide"], true);
    assert_eq!(doc["id_acte"], "006-210600730-20200115-DEL2020_001-DE");
    // controler writes nothing.
    assert!(env.sortie().is_empty());

    let mut prep = args.clone();
    prep.extend(["-o", "sortie", "--json"]);
    let o = env.run("preparer", &prep);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    let archive = doc["archive"]["noms"]["archive"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(
        archive.starts_with("PAR-TACT--210600730--") && archive.ends_with("-1.tar.gz"),
        "{archive}"
    );
    assert_eq!(env.sortie(), std::slice::from_ref(&archive));
    assert_eq!(
        doc["archive"]["noms"]["message"],
        "006-210600730-20200115-DEL2020_001-DE-1-1_0.xml"
    );

    // The same number again: refused, nothing more written.
    let o = env.run("preparer", &prep);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["valide"], false);
    let constats = doc["constats"].as_array().expect("array");
    assert!(constats.iter().any(|c| c["code"] == "actes.numero_utilise"
        && c["message"].as_str().unwrap_or("").contains(&archive)));
    assert_eq!(env.sortie(), std::slice::from_ref(&archive));

    // Another number: the classification was kept, so it is not needed any more; serial 2.
    let o = env.run(
        "preparer",
        &[act_args("DEL2020_002", "Autre objet"), vec!["-o", "sortie"]].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("-2.tar.gz"), "{}", text(&o));
    assert_eq!(env.sortie().len(), 2);

    // An older classification given explicitly is now outdated.
    file(
        env.dir.path(),
        "ancienne.xml",
        &classification_xml("2017-08-28"),
    );
    let mut old = act_args("DEL2020_003", "Objet");
    old.extend(["--classification", "ancienne.xml", "--json"]);
    let doc = json(&env.run("controler", &old));
    assert!(
        doc["constats"]
            .as_array()
            .expect("array")
            .iter()
            .any(|c| c["code"] == "actes.classification_perimee")
    );

    // The database is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("donnees/actes.sqlite"))
            .expect("db")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// One numéro per collectivité across the workstation: a number queued in the outbox is refused
/// by `actes controler` and `actes preparer` (nothing written), and a number reserved by
/// `actes preparer` is refused by `envois ajouter acte` (nothing queued).
#[test]
fn numbers_are_unique_across_prepared_archives_and_the_outbox() {
    let env = Env::new();
    let queued = [
        &["envois", "ajouter", "acte"][..],
        &act_args("ENV2020_001", "Mis en file")[..],
        &["--classification", "classification.xml", "--json"][..],
    ]
    .concat();
    let o = env.paraphe(&queued);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let id = json(&o)["id"].as_i64().expect("id");

    let mut again = act_args("ENV2020_001", "Même numéro");
    again.extend(["--classification", "classification.xml"]);
    let o = env.run("controler", &again);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "« ENV2020_001 » est déjà celui de l'envoi n° {id}"
        )),
        "{}",
        text(&o)
    );
    let mut prep = again.clone();
    prep.extend(["-o", "sortie"]);
    let o = env.run("preparer", &prep);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Rien n'a été écrit."), "{}", text(&o));
    assert!(env.sortie().is_empty(), "{:?}", env.sortie());

    let mut prepared = act_args("PRE2020_001", "Préparé");
    prepared.extend(["--classification", "classification.xml", "-o", "sortie"]);
    let o = env.run("preparer", &prepared);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let queued = [
        &["envois", "ajouter", "acte"][..],
        &act_args("PRE2020_001", "Même numéro")[..],
        &["--json"][..],
    ]
    .concat();
    let o = env.paraphe(&queued);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc = json(&o);
    assert!(
        doc["constats"]
            .as_array()
            .expect("array")
            .iter()
            .any(|c| c["code"] == "actes.numero_utilise"),
        "{doc:#}"
    );
    let o = env.paraphe(&["envois", "lister", "--json"]);
    assert_eq!(
        json(&o)["envois"].as_array().map(Vec::len),
        Some(1),
        "only the first one queued"
    );
}

fn assert_refused(env: &Env, args: &[&str], code: &str, phrase: &str) {
    let mut prep = args.to_vec();
    prep.extend(["--classification", "classification.xml", "-o", "sortie"]);
    let o = env.run("preparer", &prep);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(phrase), "{out}");
    assert!(out.contains("Rien n'a été écrit."), "{out}");
    assert!(
        env.sortie().is_empty(),
        "nothing written: {:?}",
        env.sortie()
    );
    prep.push("--json");
    let doc = json(&env.run("preparer", &prep));
    assert!(
        doc["constats"]
            .as_array()
            .expect("array")
            .iter()
            .any(|c| c["code"] == code && c["gravite"] == "bloquant"),
        "{doc:#}"
    );
    assert!(env.sortie().is_empty());
}

#[test]
fn refused_inputs_write_nothing() {
    let env = Env::new();
    assert_refused(
        &env,
        &act_args("del2020_001", "Objet"),
        "actes.numero",
        "lettre minuscule",
    );
    let long = "x".repeat(501);
    assert_refused(
        &env,
        &act_args("DEL1", &long),
        "actes.objet",
        "501 caractères",
    );
    // An executable renamed .pdf.
    file(
        env.dir.path(),
        "virus.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00 this program",
    );
    let mut args = act_args("DEL1", "Objet");
    args[11] = "virus.pdf";
    assert_refused(&env, &args, "actes.fichier_type", "exécutable Windows (MZ)");
    // An encrypted PDF.
    file(env.dir.path(), "chiffre.pdf", &encrypted_pdf_lopdf());
    args[11] = "chiffre.pdf";
    assert_refused(&env, &args, "actes.pdf_chiffre", "PDF chiffré");
    // A PNG with a broken header.
    let mut png = png_bytes(10, 10);
    png[29] ^= 0xFF;
    file(env.dir.path(), "casse.png", &png);
    let mut args = act_args("DEL1", "Objet");
    args[13] = "casse.png:21_RP";
    assert_refused(&env, &args, "actes.png", "n'est pas une image PNG valide");
    // A 2 GB sparse file.
    std::fs::File::create(env.path("enorme.pdf"))
        .expect("create")
        .set_len(2_000_000_000)
        .expect("sparse");
    let mut args = act_args("DEL1", "Objet");
    args[11] = "enorme.pdf";
    assert_refused(&env, &args, "actes.fichier_taille", "sans être lu");
    // No number was reserved by any of these.
    let o = env.run(
        "preparer",
        &[
            act_args("DEL1", "Objet"),
            vec!["--classification", "classification.xml", "-o", "sortie"],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn classification_with_doctype_is_refused() {
    let env = Env::new();
    let xml = String::from_utf8_lossy(&classification_xml("2019-03-01")).into_owned();
    let bad = xml.replacen(
        "<actes:RetourClassification",
        "<!DOCTYPE r [<!ENTITY e \"x\">]><actes:RetourClassification",
        1,
    );
    file(env.dir.path(), "piege.xml", bad.as_bytes());
    let mut args = act_args("DEL1", "Objet");
    args.extend(["--classification", "piege.xml", "-o", "sortie", "--json"]);
    let o = env.run("preparer", &args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc = json(&o);
    let constats = doc["constats"].as_array().expect("array");
    assert!(constats.iter().any(|c| c["code"] == "actes.classification"
        && c["message"].as_str().unwrap_or("").contains("DOCTYPE")));
    assert!(
        !constats
            .iter()
            .any(|c| c["code"] == "actes.classification_absente")
    );
    assert!(env.sortie().is_empty());
    // In words, and through the import command: refused, nothing kept.
    args.retain(|a| *a != "--json");
    let o = env.run("preparer", &args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("DOCTYPE") && text(&o).contains("Rien n'a été écrit."),
        "{}",
        text(&o)
    );
    let o = env.paraphe(&["actes", "classification", "importer", "piege.xml"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("DOCTYPE"), "{}", text(&o));
    let o = env.paraphe(&["actes", "classification", "chercher", "1.1"]);
    assert_ne!(o.status.code(), Some(0), "nothing imported: {}", text(&o));
}

#[test]
fn preparer_needs_an_output_and_stela_style_is_an_option() {
    let env = Env::new();
    let mut args = act_args("DEL9", "Objet");
    args.extend(["--classification", "classification.xml"]);
    let o = env.run("preparer", &args);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("-o ARCHIVE.tar.gz"));
    let target = env.path("sortie/envoi.tar.gz");
    let target_s = target.display().to_string();
    args.extend(["--style", "stela", "-o", &target_s, "--json"]);
    let o = env.run("preparer", &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    let today = paraphe::actes::model::compact_date(paraphe::actes::model::today());
    assert_eq!(
        doc["archive"]["noms"]["message"],
        format!("006-210600730-{today}-DEL9-DE-1-1_0.xml")
    );
    assert!(Path::new(&target).is_file());
}

/// The base64 content of each `<actes:Signature>` of a message, in order.
fn signatures_in(message: &str) -> Vec<Vec<u8>> {
    message
        .split("<actes:Signature>")
        .skip(1)
        .filter_map(|s| s.split("</actes:Signature>").next())
        .map(|b64| openssl::base64::decode_block(b64).expect("base64"))
        .collect()
}

#[test]
fn preparer_signer_attaches_verifiable_detached_signatures() {
    if !common::tools(&["openssl"]) {
        return;
    }
    let env = Env::new();
    let pki = common::TestPki::shared();
    let id = pki.identity("signature");
    let mut args = act_args("DEL_SIGNE", "Acte signé");
    args.extend([
        "--classification",
        "classification.xml",
        "-o",
        "sortie",
        "--json",
    ]);
    args.extend(["--signer", "--pin-stdin", "--p12"]);
    let p12 = id.p12.display().to_string();
    args.push(&p12);
    let mut child = Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .env("PARAPHE_CONFIG", env.path("paraphe.toml"))
        .env("PARAPHE_DONNEES", env.path("donnees"))
        .current_dir(env.dir.path())
        .args(["actes", "preparer"])
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}", common::P12_PASSWORD).expect("password");
    }
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(doc["signe"], true);
    let archive = env
        .path("sortie")
        .join(doc["archive"]["noms"]["archive"].as_str().expect("name"));
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&archive).expect("open"));
    let mut members = std::collections::BTreeMap::new();
    for entry in tar::Archive::new(gz).entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
        members.insert(name, bytes);
    }
    let message_name = doc["archive"]["noms"]["message"].as_str().expect("message");
    let message = String::from_utf8_lossy(&members[message_name]).into_owned();
    let sigs = signatures_in(&message);
    assert_eq!(sigs.len(), 2, "{message}");
    let files = [
        doc["archive"]["noms"]["document"].as_str().expect("doc"),
        doc["archive"]["noms"]["annexes"][0]
            .as_str()
            .expect("annex"),
    ];
    // openssl checks each detached signature against the file in the archive.
    for (sig, name) in sigs.iter().zip(files) {
        let sig_path = env.path("sig.der");
        let content = env.path("contenu.bin");
        std::fs::write(&sig_path, sig).expect("write");
        std::fs::write(&content, &members[name]).expect("write");
        let out = Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-noverify",
                "-in",
            ])
            .arg(&sig_path)
            .arg("-content")
            .arg(&content)
            .arg("-out")
            .arg(env.path("verifie.bin"))
            .output()
            .expect("openssl cms");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The collectivité given on the command line overrides the settings; an explicit typology on
/// the act (`FICHIER:TYPE`) is kept, and one the nature does not allow is refused.
#[test]
fn command_line_collectivite_and_explicit_typology() {
    let env = Env::new();
    let mut args = act_args("DEL2020_010", "Objet");
    args.retain(|a| *a != "acte.pdf");
    let position = args.iter().position(|a| *a == "--acte").expect("--acte") + 1;
    args.insert(position, "acte.pdf:99_DE");
    args.extend([
        "--classification",
        "classification.xml",
        "--siren",
        "213401722",
        "--departement",
        "34",
        "--arrondissement",
        "3",
        "--nature-collectivite",
        "25",
        "--json",
    ]);
    let o = env.run("controler", &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc = json(&o);
    assert_eq!(
        doc["id_acte"], "034-213401722-20200115-DEL2020_010-DE",
        "{doc:#}"
    );
    assert_eq!(doc["acte"]["document"]["typologie"], "99_DE", "{doc:#}");

    let refused: Vec<&str> = args
        .iter()
        .map(|a| {
            if *a == "acte.pdf:99_DE" {
                "acte.pdf:99_BU"
            } else {
                a
            }
        })
        .collect();
    let o = env.run("controler", &refused);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

/// STELA takes one digit per level of matière (`ActeParams`' pattern): with STELA as the
/// platform, an act under matière 1.10 is refused when checked — before it reaches the queue —
/// while S²LOW, which takes it, lets it through.
#[test]
fn a_matiere_beyond_9_is_refused_when_the_platform_is_stela() {
    let env = Env::new();
    // The classification is ISO-8859-1: rebuilt byte for byte around the added matière.
    let bytes = classification_xml("2019-03-01");
    let at = bytes
        .windows(b"actes:Libelle=\"March".len())
        .position(|w| w == b"actes:Libelle=\"March")
        .expect("matière 1.1");
    let at = at + bytes[at..].iter().position(|b| *b == b'>').expect(">") + 1;
    let mut with_ten = bytes[..at].to_vec();
    with_ten
        .extend_from_slice(b"<actes:Matiere2 actes:CodeMatiere=\"10\" actes:Libelle=\"Dixieme\"/>");
    with_ten.extend_from_slice(&bytes[at..]);
    std::fs::write(env.path("classification.xml"), &with_ten).expect("classification");
    let args = |numero: &'static str| -> Vec<&'static str> {
        let mut a = act_args(numero, "Objet ordinaire");
        let i = a.iter().position(|x| *x == "1.1").expect("matière");
        a[i] = "1.10";
        a.extend(["--classification", "classification.xml", "--json"]);
        a
    };
    let s2low = env.run("controler", &args("DEL2020_010"));
    assert_eq!(s2low.status.code(), Some(0), "{}", text(&s2low));
    let settings = std::fs::read_to_string(env.path("paraphe.toml")).expect("settings");
    std::fs::write(
        env.path("paraphe.toml"),
        format!("{settings}\n[plateforme]\ngenre = \"stela\"\n"),
    )
    .expect("settings");
    let stela = env.run("controler", &args("DEL2020_010"));
    assert_eq!(stela.status.code(), Some(1), "{}", text(&stela));
    let doc = json(&stela);
    let finding = doc["constats"]
        .as_array()
        .and_then(|c| c.iter().find(|f| f["code"] == "actes.matiere_stela"))
        .unwrap_or_else(|| panic!("{doc}"));
    assert!(
        finding["message"]
            .as_str()
            .is_some_and(|m| m.contains("1.10") && m.contains("STELA")),
        "{finding}"
    );
}
