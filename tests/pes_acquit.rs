//! PES_Acquit reading: every acknowledgement sample is read, and what Paraphe reports agrees with
//! libxml2's reading of the same file (xmllint --xpath).

mod common;

use common::{conformance, tools};
use paraphe::pes::acquit::read_acquit;
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> Option<PathBuf> {
    conformance("pes/samples")
}

fn xpath(file: &Path, expr: &str) -> String {
    let out = Command::new("xmllint")
        .args(["--xpath", expr])
        .arg(file)
        .output()
        .expect("xmllint");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The samples whose root element (as libxml2 reads it) `accept`s.
fn rooted(dir: &Path, accept: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|entry| entry.path())
        .filter(|file| accept(&xpath(file, "local-name(/*)")))
        .collect()
}

#[test]
fn acknowledgements_agree_with_xmllint() {
    let Some(dir) = samples() else { return };
    if !tools(&["xmllint"]) {
        return;
    }
    let mut read = 0;
    for file in rooted(&dir, |root| root.starts_with("PES_ACQUIT")) {
        let acquit = read_acquit(std::fs::File::open(&file).expect("open"))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.display().to_string();
        let elements: usize = xpath(
            &file,
            "count(/*/*/*[starts-with(local-name(), 'ElementACQUIT')])",
        )
        .parse::<f64>()
        .expect("n") as usize;
        assert_eq!(acquit.elements.len(), elements, "{name}");
        for (i, el) in acquit.elements.iter().enumerate() {
            let at = format!(
                "(/*/*/*[starts-with(local-name(), 'ElementACQUIT')])[{}]",
                i + 1
            );
            let state = xpath(&file, &format!("string({at}/EtatAck/@V)"));
            if !state.is_empty() {
                assert_eq!(el.etat, state == "1", "{name} #{i}");
            }
            let errors: usize = xpath(&file, &format!("count({at}/Erreur)"))
                .parse::<f64>()
                .expect("n") as usize;
            assert_eq!(el.erreurs.len(), errors, "{name} #{i}");
            for (j, e) in el.erreurs.iter().enumerate() {
                assert_eq!(
                    e.code,
                    xpath(
                        &file,
                        &format!("string({at}/Erreur[{}]/NumAnoAck/@V)", j + 1)
                    ),
                    "{name}"
                );
                assert!(!e.explication.contains('⟦'));
            }
            assert!(
                !el.domaine_libelle.is_empty() && !el.domaine_libelle.contains('⟦'),
                "{name}"
            );
        }
        assert_eq!(
            acquit.nom_fic.clone().unwrap_or_default(),
            xpath(&file, "string(//Parametres/NomFic/@V)"),
            "{name}"
        );
        read += 1;
    }
    assert!(read >= 5, "{read} acknowledgements read");
}

#[test]
fn refusals_are_explained_and_other_files_refused() {
    let Some(dir) = samples() else { return };
    let acquit =
        read_acquit(std::fs::File::open(dir.join("pes_acquit_not_valid.xml")).expect("open"))
            .expect("read");
    assert!(!acquit.accepted());
    assert_eq!(acquit.elements[0].erreurs[0].code, "ERREUR_AUTRE");
    assert!(
        acquit.elements[0].erreurs[0]
            .libelle
            .contains("Erreur de validation XSD")
    );
    let ok =
        read_acquit(std::fs::File::open(dir.join("pes_acquit.xml")).expect("open")).expect("read");
    assert!(ok.accepted());
    assert_eq!(ok.elements[0].bordereau.as_deref(), Some("1847"));
    assert_eq!(ok.elements[0].domaine_libelle, "dépense");
    let err = read_acquit(std::fs::File::open(dir.join("pes_aller_ok.xml")).expect("open"))
        .expect_err("not an acquit");
    assert!(err.to_string().contains("PES_Acquit"), "{err}");
    let err = read_acquit(&b"<?xml version=\"1.0\"?><!DOCTYPE x><x/>"[..]).expect_err("doctype");
    assert!(err.to_string().contains("DOCTYPE"));
}

/// Every PES_Retour sample is read; its bordereaux and pieces agree with libxml2's count.
#[test]
fn returns_agree_with_xmllint() {
    let Some(dir) = samples() else { return };
    if !tools(&["xmllint"]) {
        return;
    }
    let mut read = 0;
    for file in rooted(&dir, |root| root == "PES_Retour") {
        let retour = paraphe::pes::retour::read_retour(std::fs::File::open(&file).expect("open"))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.display().to_string();
        let bordereaux: usize = xpath(&file, "count(//*[local-name()='Bordereau'])")
            .parse()
            .expect("count");
        let pieces: usize = xpath(&file, "count(//*[local-name()='Piece'])")
            .parse()
            .expect("count");
        assert_eq!(retour.bordereaux.len(), bordereaux, "{name}");
        assert_eq!(
            retour
                .bordereaux
                .iter()
                .map(|b| b.pieces.len())
                .sum::<usize>(),
            pieces,
            "{name}"
        );
        assert_eq!(
            retour.id_coll.as_deref().unwrap_or(""),
            xpath(
                &file,
                "string(//*[local-name()='EnTetePES']/*[local-name()='IdColl']/@V)"
            ),
            "{name}"
        );
        assert_eq!(
            retour.bordereaux[0].numero.as_deref().unwrap_or(""),
            xpath(&file, "string((//*[local-name()='IdBord'])[1]/@V)"),
            "{name}"
        );
        read += 1;
    }
    assert!(read >= 2, "the conformance set has two PES_Retour samples");
}
