//! Opening the files a person names. Only regular files are read: a FIFO would block a reader
//! for ever, a device or a socket never ends, a folder is not a document. Errors are said in
//! French (the system's own words are English), without the path, which callers put in their
//! sentence.

use crate::messages::t;
use std::fs::File;
use std::io::{Error, ErrorKind};
use std::path::Path;

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
