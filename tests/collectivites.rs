//! Several collectivités on one workstation (issue 21): `[collectivite]` and `[[collectivites]]`
//! are listed by `paraphe collectivites lister`; a command that needs one takes
//! `--collectivite NOM|SIREN`, refuses to guess when several are set, and builds the act under
//! the SIREN, département and arrondissement of the one chosen; `envois lister --json` names
//! each item's collectivité. A workstation with one `[collectivite]` works as before.

mod actes_support;
mod common;

use actes_support::*;
use std::path::Path;
use std::process::{Command, Output};

const TWO: &str = "[collectivite]\nnom = \"Commune de Nice\"\nsiren = \"210600730\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nemails_retour = [\"actes@mairie-nice.fr\"]\n\n[[collectivites]]\nnom = \"Commune d'Arles\"\nsiren = \"213004005\"\ndepartement = \"13\"\narrondissement = \"1\"\nnature = \"31\"\nemails_retour = [\"actes@mairie-arles.fr\"]\n";

fn paraphe(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paraphe"))
        .env("PARAPHE_CONFIG", dir.join("paraphe.toml"))
        .env("PARAPHE_DONNEES", dir.join("donnees"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run paraphe")
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", said(o)))
}

/// A workstation with `settings`, an act, an annex and a classification.
fn workstation(settings: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("paraphe.toml"), settings).expect("settings");
    file(dir.path(), "acte.pdf", &pdf_bytes("Acte"));
    file(
        dir.path(),
        "classification.xml",
        &classification_xml("2019-03-01"),
    );
    dir
}

fn act<'a>(numero: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
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
        "--classification",
        "classification.xml",
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn each_collectivite_is_listed_and_chosen_by_name_or_siren() {
    let tmp = workstation(TWO);
    let dir = tmp.path();

    let listed = paraphe(dir, &["collectivites", "lister", "--json"]);
    assert_eq!(listed.status.code(), Some(0), "{}", said(&listed));
    let listed = json(&listed);
    let names: Vec<(&str, &str)> = listed["collectivites"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| {
            (
                c["nom"].as_str().expect("nom"),
                c["siren"].as_str().expect("siren"),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("Commune de Nice", "210600730"),
            ("Commune d'Arles", "213004005")
        ]
    );

    // Several set, none chosen: refused, both named, nothing guessed.
    let check = |extra: &[&str]| {
        let mut args = vec!["actes", "controler"];
        args.extend(act("DEL2020_001", extra));
        paraphe(dir, &args)
    };
    let o = check(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let text = said(&o);
    assert!(
        text.contains("Commune de Nice (210600730)")
            && text.contains("Commune d'Arles (213004005)"),
        "{text}"
    );
    assert!(text.contains("--collectivite"), "{text}");

    // Chosen by name (any case) or by SIREN: the act is that collectivité's.
    let doc = json(&check(&["--collectivite", "commune d'arles"]));
    assert_eq!(
        doc["id_acte"], "013-213004005-20200115-DEL2020_001-DE",
        "{doc}"
    );
    let doc = json(&check(&["--collectivite", "210600730"]));
    assert_eq!(
        doc["id_acte"], "006-210600730-20200115-DEL2020_001-DE",
        "{doc}"
    );

    // One not set: refused, naming what is.
    let o = check(&["--collectivite", "Tarascon"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(said(&o).contains("Tarascon") && said(&o).contains("Commune d'Arles"));

    // Queued for Arles: listed under its SIREN and its name.
    let mut args = vec!["envois", "ajouter", "acte"];
    args.extend(act("DEL2020_002", &["--collectivite", "Commune d'Arles"]));
    let o = paraphe(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let listed = json(&paraphe(dir, &["envois", "lister", "--json"]));
    let item = &listed["envois"][0];
    assert_eq!(item["siren"], "213004005", "{listed}");
    assert_eq!(item["collectivite"], "Commune d'Arles", "{listed}");
}

#[test]
fn one_collectivite_needs_no_choice() {
    let tmp = workstation(
        "[collectivite]\nsiren = \"210600730\"\ndepartement = \"6\"\narrondissement = \"2\"\nnature = \"31\"\nemails_retour = [\"actes@mairie-nice.fr\"]\n",
    );
    let dir = tmp.path();
    let mut args = vec!["actes", "controler"];
    args.extend(act("DEL2020_003", &[]));
    let doc = json(&paraphe(dir, &args));
    assert_eq!(
        doc["id_acte"], "006-210600730-20200115-DEL2020_003-DE",
        "{doc}"
    );
    let listed = json(&paraphe(dir, &["collectivites", "lister", "--json"]));
    assert_eq!(listed["collectivites"].as_array().map(Vec::len), Some(1));
}

/// A PES whose `IdColl` is another collectivité's, or none set here, is flagged by
/// `pes controler` (and so before signing and at the outbox's door) with the collectivité it
/// belongs to; the current collectivité's own PES is not.
#[test]
fn a_pes_of_another_collectivite_is_flagged() {
    let mut text = common::pes::HEAD.to_owned();
    text.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    text.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let codes = |settings: &str| {
        let tmp = workstation(settings);
        let pes = tmp.path().join("pes.xml");
        std::fs::write(&pes, common::pes::latin1(&text)).expect("write");
        let o = paraphe(
            tmp.path(),
            &["pes", "controler", pes.to_str().expect("p"), "--json"],
        );
        let doc = json(&o);
        doc["constats"]
            .as_array()
            .expect("constats")
            .iter()
            .filter(|f| {
                f["code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("pes.collectivite"))
            })
            .map(|f| {
                (
                    f["code"].as_str().unwrap_or("").to_owned(),
                    f["message"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    // The file's IdColl (tests/common/pes.rs) is 21340172200016.
    let own = TWO.replace(
        "nature = \"31\"\nemails_retour = [\"actes@mairie-nice.fr\"]",
        "nature = \"31\"\nemails_retour = [\"actes@mairie-nice.fr\"]\nid_coll = [\"21340172200016\"]",
    );
    assert_eq!(codes(&own), []);
    let arles = TWO.replace(
        "emails_retour = [\"actes@mairie-arles.fr\"]",
        "emails_retour = [\"actes@mairie-arles.fr\"]\nid_coll = [\"21340172200016\"]",
    );
    let found = codes(&arles);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "pes.collectivite_autre");
    assert!(
        found[0].1.contains("Commune d'Arles") && found[0].1.contains("Commune de Nice"),
        "{found:?}"
    );
    let neither = TWO.replace(
        "emails_retour = [\"actes@mairie-arles.fr\"]",
        "emails_retour = [\"actes@mairie-arles.fr\"]\nid_coll = [\"21130039700011\"]",
    );
    let found = codes(&neither);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "pes.collectivite_inconnue");
    assert!(found[0].1.contains("21340172200016"), "{found:?}");
    // Nothing declared: nothing to judge.
    assert_eq!(codes(TWO), []);

    // `pes signer` says it too, with the file signed all the same (a warning).
    let tmp = workstation(&arles);
    let pes = tmp.path().join("pes.xml");
    std::fs::write(&pes, common::pes::latin1(&text)).expect("write");
    let out = tmp.path().join("signe.xml");
    let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    command
        .env("PARAPHE_CONFIG", tmp.path().join("paraphe.toml"))
        .env("PARAPHE_DONNEES", tmp.path().join("donnees"))
        .args(["pes", "signer", pes.to_str().expect("p"), "-o"])
        .arg(&out)
        .args([
            "--role",
            "Maire",
            "--ville",
            "Nice",
            "--code-postal",
            "06000",
        ])
        .args(["--pin-stdin", "--p12"])
        .arg(&common::TestPki::shared().identity("signature").p12);
    let o = common::spawn_with_input(command, common::P12_PASSWORD)
        .wait_with_output()
        .expect("sign");
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(out.is_file());
    assert!(said(&o).contains("Commune d'Arles"), "{}", said(&o));
}

/// A council's batch for two communes (issue 21): the `collectivite` column names each act's,
/// so no `--collectivite` is needed; each act is queued under its own SIREN. A row naming a
/// collectivité not set here is refused under its line, and then nothing is queued.
#[test]
fn a_batch_names_each_act_s_collectivite() {
    let tmp = workstation(TWO);
    let dir = tmp.path();
    let lot = |rows: &str| {
        std::fs::write(
            dir.join("seance.csv"),
            format!("numero;date;nature;matiere;objet;acte;collectivite\n{rows}"),
        )
        .expect("csv");
        paraphe(
            dir,
            &[
                "actes",
                "lot",
                "seance.csv",
                "--classification",
                "classification.xml",
                "--json",
            ],
        )
    };
    let o = lot(
        "DEL2020_010;15/01/2020;1;1.1;Voirie;acte.pdf;Commune de Nice\n\
         DEL2020_011;15/01/2020;1;1.1;Voirie;acte.pdf;Tarascon\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let doc = json(&o);
    assert_eq!(doc["prepares"], 0, "{doc}");
    let refused = doc["lignes"][1].to_string();
    assert!(refused.contains("Tarascon"), "{doc}");
    assert_eq!(doc["lignes"][1]["ligne"], 3, "{doc}");

    let o = lot(
        "DEL2020_012;15/01/2020;1;1.1;Voirie;acte.pdf;Commune de Nice\n\
         DEL2020_013;15/01/2020;1;1.1;Voirie;acte.pdf;213004005\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let doc = json(&o);
    assert_eq!(
        doc["lignes"][0]["id_acte"], "006-210600730-20200115-DEL2020_012-DE",
        "{doc}"
    );
    assert_eq!(
        doc["lignes"][1]["id_acte"], "013-213004005-20200115-DEL2020_013-DE",
        "{doc}"
    );
    let listed = json(&paraphe(dir, &["envois", "lister", "--json"]));
    let names: Vec<&str> = listed["envois"]
        .as_array()
        .expect("envois")
        .iter()
        .filter_map(|i| i["collectivite"].as_str())
        .collect();
    assert!(
        names.contains(&"Commune de Nice") && names.contains(&"Commune d'Arles"),
        "{listed}"
    );
}

/// `envois lister --collectivite NOM|SIREN` keeps one collectivité's items (an unknown one is
/// refused, naming those set); `--tri` orders them, `--croissant` turns the order round.
#[test]
fn the_outbox_is_listed_for_one_collectivite_in_the_order_asked() {
    let tmp = workstation(TWO);
    let dir = tmp.path();
    for (numero, collectivite) in [
        ("DEL2020_010", "Commune d'Arles"),
        ("DEL2020_011", "Commune de Nice"),
        ("DEL2020_012", "213004005"),
    ] {
        let mut args = vec!["envois", "ajouter", "acte"];
        args.extend(act(numero, &["--collectivite", collectivite]));
        let o = paraphe(dir, &args);
        assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    }
    let numeros = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["envois", "lister", "--json"];
        all.extend_from_slice(args);
        let o = paraphe(dir, &all);
        assert_eq!(o.status.code(), Some(0), "{}", said(&o));
        json(&o)["envois"]
            .as_array()
            .expect("envois")
            .iter()
            .map(|i| i["numero_interne"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        numeros(&[
            "--collectivite",
            "commune d'arles",
            "--tri",
            "numero",
            "--croissant"
        ]),
        ["DEL2020_010", "DEL2020_012"]
    );
    assert_eq!(
        numeros(&["--collectivite", "commune d'arles", "--tri", "numéro"]),
        ["DEL2020_012", "DEL2020_010"]
    );
    assert_eq!(numeros(&["--collectivite", "210600730"]), ["DEL2020_011"]);
    assert_eq!(numeros(&[]).len(), 3, "all without --collectivite");
    let o = paraphe(dir, &["envois", "lister", "--collectivite", "Tarascon"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(said(&o).contains("Commune d'Arles"), "{}", said(&o));
    let o = paraphe(dir, &["envois", "lister", "--tri", "couleur"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        said(&o).contains("« couleur » n'est pas un ordre connu"),
        "{}",
        said(&o)
    );
}
