//! The Hélios screen on a workstation of its own (iced_test simulator, no display): a
//! bordereau's pieces shown on demand, and a pièce justificative taken out of the PES and handed
//! to the system's viewer (here a script standing for it, named by `PARAPHE_OUVRIR`).
#![cfg(feature = "gui")]

mod common;
mod gui_support;

use common::pes::{HEAD, bordereau};
use gui_support::{click, helios_with, shows};
use paraphe::messages::{t, tf};
use std::time::{Duration, Instant};

#[test]
fn a_bordereau_shows_its_pieces_and_a_pj_opens_in_the_viewer() {
    if !common::tools(&["gzip", "base64"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let viewed = dir.path().join("vu-par-la-visionneuse.pdf");
    let viewer = dir.path().join("visionneuse.sh");
    std::fs::write(
        &viewer,
        format!("#!/bin/sh\ncp \"$1\" \"{}\"\n", viewed.display()),
    )
    .expect("viewer");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&viewer, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // This test binary holds this one test: the process's environment is its own.
    unsafe {
        std::env::set_var("PARAPHE_CONFIG", dir.path().join("absent.toml"));
        std::env::set_var("PARAPHE_DONNEES", dir.path().join("donnees"));
        std::env::set_var("PARAPHE_OUVRIR", &viewer);
    }
    // The PJ as the format wants it, made by gzip and base64 (not by Paraphe).
    let original = b"%PDF-1.4\n% facture 2026-118 de la Papeterie\n".repeat(300);
    std::fs::write(dir.path().join("facture.pdf"), &original).expect("write");
    let gzip = std::process::Command::new("gzip")
        .args(["-c"])
        .arg(dir.path().join("facture.pdf"))
        .output()
        .expect("gzip");
    std::fs::write(dir.path().join("facture.pdf.gz"), &gzip.stdout).expect("write");
    let encoded = std::process::Command::new("base64")
        .arg(dir.path().join("facture.pdf.gz"))
        .output()
        .expect("base64");
    let mut xml = HEAD.to_owned();
    xml.push_str(&bordereau("B1", 2, &["12.50", "30.00"]));
    xml.push_str(&format!(
        "</PES_DepenseAller><PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ><PJ><Contenu><Fichier MIMEType=\"application/pdf\">{}</Fichier></Contenu><IdUnique V=\"u1\"/><NomPJ V=\"facture.pdf\"/></PJ></PES_PJ></n:PES_Aller>\n",
        String::from_utf8_lossy(&encoded.stdout)
    ));
    let pes = dir.path().join("mandats.xml");
    std::fs::write(&pes, common::pes::latin1(&xml)).expect("pes");

    let mut state = helios_with(&pes);
    let summary = paraphe::pes::inspect_file(&pes).expect("summary");
    let label = paraphe::pes::checks::bordereau_label(&summary.bordereaux[0]);
    let piece = tf(
        "gui.helios_piece",
        &[
            ("numero", "2"),
            ("objet", "Fournitures é"),
            ("tiers", "Papeterie & Cie"),
            ("montant", "30,00 €"),
        ],
    );
    assert!(!shows(&state, &piece), "pieces hidden until asked for");
    click(&mut state, &label);
    assert!(shows(&state, &piece), "the bordereau's second piece");
    click(&mut state, &label);
    assert!(!shows(&state, &piece), "hidden again");

    assert!(shows(&state, &tf("gui.helios_pj_titre", &[("n", "1")])));
    assert!(
        !shows(&state, &t("gui.helios_pj_afficher")),
        "the list is folded at first"
    );
    click(&mut state, &t("gui.deplier"));
    click(&mut state, &t("gui.helios_pj_afficher"));
    // The viewer runs on its own; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !viewed.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = std::fs::read(&viewed).expect("the viewer got the PJ");
    assert!(seen == original, "the document itself, decompressed");
    let kept = dir.path().join("donnees/pj/mandats/facture.pdf");
    assert!(
        shows(
            &state,
            &tf(
                "gui.envoi_document_ouvert",
                &[("chemin", &kept.display().to_string())]
            )
        ),
        "the window says where the PJ is"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kept).expect("kept").permissions().mode();
        assert_eq!(mode & 0o077, 0, "private: {mode:o}");
    }
}
