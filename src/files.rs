//! Opening the files a person names. Only regular files are read: a FIFO would block a reader
//! for ever, a device or a socket never ends, a folder is not a document. Errors are said in
//! French (the system's own words are English), without the path, which callers put in their
//! sentence.

use crate::messages::t;
use std::fs::File;
use std::io::{Error, ErrorKind};
use std::path::Path;

/// Temporary files older than this, named by Paraphe, were left by a run that was killed
/// (SIGKILL, power cut) before it could remove them: no writing lasts this long.
pub const STALE_TEMP_AFTER: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// A private temporary file in `dir`, named `.paraphe-<what>-…`: in the folder of the file it
/// will become (the final rename cannot cross file systems), removed on drop. Those an earlier
/// run left there more than [`STALE_TEMP_AFTER`] ago are removed first: a signature killed in
/// the middle leaves no hidden file for ever.
pub fn temp_in(dir: &Path, what: &str) -> std::io::Result<tempfile::NamedTempFile> {
    remove_stale_temps(dir);
    tempfile::Builder::new()
        .prefix(&format!(".paraphe-{what}-"))
        .tempfile_in(dir)
}

/// Removes Paraphe's stale temporary files from `dir` (best effort: what cannot be read or
/// removed stays, and nothing else is touched).
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(".paraphe-") {
            continue;
        }
        let stale = entry
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AFTER);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Opens `path` for reading when it is a regular file; anything else is refused at once.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Without blocking: opening a FIFO for reading waits for a writer otherwise. The check is
    // made on the handle, so what is read is what was checked. (O_NONBLOCK does nothing to the
    // reads of a regular file.)
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| in_french(&e))?;
    let meta = file.metadata().map_err(|e| in_french(&e))?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            t("fichiers.pas_ordinaire"),
        ));
    }
    Ok(file)
}

/// The same error, said in French for the kinds a person meets (missing file, no rights);
/// others keep the system's description after a French lead.
pub fn in_french(error: &Error) -> Error {
    // Not the system's: already ours (or a library's own words), kept as it is.
    if error.raw_os_error().is_none() {
        return Error::new(error.kind(), error.to_string());
    }
    let said = match error.kind() {
        ErrorKind::NotFound => t("fichiers.introuvable"),
        ErrorKind::PermissionDenied => t("fichiers.acces_refuse"),
        ErrorKind::IsADirectory => t("fichiers.pas_ordinaire"),
        ErrorKind::StorageFull => t("fichiers.disque_plein"),
        _ => crate::messages::tf("fichiers.illisible", &[("detail", &error.to_string())]),
    };
    Error::new(error.kind(), said)
}

/// A file name as S²LOW keeps it (and safe on every system): `[a-zA-Z0-9._ -]` stay, the rest
/// becomes `_`.
pub fn sanitise_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ' ' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_open_and_errors_are_french() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("f.xml");
        std::fs::write(&file, b"<a/>").expect("write");
        assert!(open_regular(&file).is_ok());
        let folder = open_regular(dir.path()).expect_err("a folder");
        assert_eq!(folder.to_string(), t("fichiers.pas_ordinaire"));
        let missing = open_regular(&dir.path().join("absent.xml")).expect_err("missing");
        assert_eq!(missing.to_string(), t("fichiers.introuvable"));
        #[cfg(unix)]
        {
            let fifo = dir.path().join("tube.xml");
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .expect("mkfifo");
            assert!(made.success());
            // Refused at once, not blocked waiting for a writer.
            let err = open_regular(&fifo).expect_err("a FIFO");
            assert_eq!(err.to_string(), t("fichiers.pas_ordinaire"));
            let null = open_regular(Path::new("/dev/null")).expect_err("a device");
            assert_eq!(null.to_string(), t("fichiers.pas_ordinaire"));
        }
    }
}
