//! Unpacking a bid's ZIP (`marches::unpack_zip`, what `open_bid` calls once the bid is decrypted),
//! on ZIPs written by Python's zipfile, which writes what the zip crate refuses to.

use paraphe::marches::open::UNPACKED_FOLDER;
use paraphe::marches::unpack_zip;
use std::path::Path;

/// A ZIP of `entries` (name, content; a name ending in `/` is a folder) at `path`.
fn zip_by_python(path: &Path, entries: &[(&str, &str)]) -> bool {
    let script = format!(
        "import zipfile\nz = zipfile.ZipFile({:?}, 'w')\n{}z.close()\n",
        path.to_str().expect("path"),
        entries
            .iter()
            .map(|(name, data)| format!("z.writestr('{name}', b'{data}')\n"))
            .collect::<String>()
    );
    match std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
    {
        Ok(status) => {
            assert!(status.success());
            true
        }
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("!!! TEST SAUTÉ : python3 est introuvable");
            false
        }
        Err(e) => panic!("python3 : {e}"),
    }
}

/// A folder and a file of the same name (up to case, as a Linux-made ZIP may hold): the file is
/// kept under another name, where it used to fail to be written over the folder and refuse the
/// whole bid with a disk error.
#[test]
fn a_file_named_as_a_folder_is_kept_under_another_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = dir.path().join("offre.zip");
    let entries = [
        ("dossier/", ""),
        ("dossier/piece.pdf", "piece"),
        ("dossier", "fichier"),
        ("Annexes/plan.pdf", "plan"),
        ("annexes", "autre"),
    ];
    if !zip_by_python(&zip, &entries) {
        return;
    }
    let work = dir.path().join("travail");
    std::fs::create_dir(&work).expect("mkdir");
    let files = match unpack_zip(&zip, &work, &|| false) {
        Ok(files) => files,
        Err(e) => panic!("{e}"),
    };
    let mut written: Vec<(String, Option<String>, String)> = files
        .iter()
        .map(|f| {
            let content = std::fs::read_to_string(work.join(&f.chemin)).expect("written");
            (
                f.chemin.display().to_string(),
                f.renomme_de.clone(),
                content,
            )
        })
        .collect();
    written.sort();
    let kept = |name: &str, renamed: Option<&str>, content: &str| {
        (
            format!("{UNPACKED_FOLDER}/{name}"),
            renamed.map(str::to_owned),
            content.to_owned(),
        )
    };
    assert_eq!(
        written,
        vec![
            kept("Annexes/plan.pdf", None, "plan"),
            kept("annexes (2)", Some("annexes"), "autre"),
            kept("dossier (2)", Some("dossier"), "fichier"),
            kept("dossier/piece.pdf", None, "piece"),
        ]
    );
}
