//! Unpacking a bid's ZIP (what `open_bid` does once the bid is decrypted) never panics, never
//! writes outside the bid's folder, never writes more than `ZIP_MAX_TOTAL` bytes, and never
//! writes two entries to the same file (colliding names are kept under distinct names).
//! The bytes go through a file because a decrypted bid is unpacked from one.
#![no_main]
use libfuzzer_sys::fuzz_target;
use paraphe::marches::open::{UNPACKED_FOLDER, ZIP_MAX_ENTRIES, ZIP_MAX_TOTAL, unpack_zip};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Every file and folder under `dir`, without following links (a link is itself a finding).
fn walk(dir: &Path, found: &mut Vec<(PathBuf, std::fs::Metadata)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let is_dir = meta.is_dir();
        found.push((path.clone(), meta));
        if is_dir {
            walk(&path, found);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let base = std::env::temp_dir().join(format!("paraphe-fuzz-zip-{}", std::process::id()));
    // Each run starts from an empty base: what an earlier input left would hide this one's writes.
    let _ = std::fs::remove_dir_all(&base);
    let input_dir = base.join("entree");
    // The work folder sits a few levels down, so that `../` escapes land inside `base`, where
    // they are seen.
    let work = base.join("a").join("b").join("travail");
    if std::fs::create_dir_all(&input_dir).is_err() || std::fs::create_dir_all(&work).is_err() {
        return;
    }
    let zip = input_dir.join("pli.zip");
    if std::fs::write(&zip, data).is_err() {
        return;
    }
    let result = unpack_zip(&zip, &work, &|| false);

    let root = work.join(UNPACKED_FOLDER);
    let expected: HashSet<PathBuf> = [
        input_dir.clone(),
        zip.clone(),
        base.join("a"),
        base.join("a").join("b"),
        work.clone(),
    ]
    .into_iter()
    .collect();
    let mut found = Vec::new();
    walk(&base, &mut found);
    let mut on_disk = HashSet::new();
    let mut total = 0u64;
    for (path, meta) in &found {
        assert!(
            !meta.file_type().is_symlink(),
            "lien écrit : {}",
            path.display()
        );
        if expected.contains(path) {
            continue;
        }
        assert!(
            path.starts_with(&root),
            "écrit hors du dossier du pli : {}",
            path.display()
        );
        if meta.is_file() {
            total += meta.len();
            if let Ok(relative) = path.strip_prefix(&work) {
                on_disk.insert(relative.to_owned());
            }
        }
    }
    assert!(total <= ZIP_MAX_TOTAL, "{total} octets écrits");
    assert_eq!(
        std::fs::metadata(&zip).map(|m| m.len()).ok(),
        Some(data.len() as u64),
        "l'archive a été modifiée"
    );

    let Ok(files) = result else {
        return;
    };
    assert!(files.len() <= ZIP_MAX_ENTRIES);
    let mut listed = HashSet::new();
    for file in &files {
        assert!(
            listed.insert(file.chemin.clone()),
            "deux entrées écrites dans {}",
            file.chemin.display()
        );
        assert_eq!(
            std::fs::symlink_metadata(work.join(&file.chemin))
                .map(|m| m.len())
                .ok(),
            Some(file.taille),
            "taille annoncée fausse pour {}",
            file.chemin.display()
        );
        if let Some(original) = &file.renomme_de {
            assert_ne!(file.chemin, Path::new(UNPACKED_FOLDER).join(original));
        }
    }
    // Every file written is one entry's, and every entry's file is there: none was overwritten.
    assert_eq!(
        listed, on_disk,
        "fichiers écrits et entrées ne correspondent pas"
    );
});
