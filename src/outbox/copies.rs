//! The outbox's own copies of the items' files: staged (copied and hashed, after checking the
//! disk has room), given to an item, replaced by a signed copy, added to, measured and purged.

use rusqlite::params;
use std::path::{Path, PathBuf};

use super::{NewItem, Outbox, OutboxError, now};
use crate::messages::{t, tf};

/// Files copied into the outbox's folder and hashed, waiting to be given to an item
/// ([`Outbox::add_staged`]); dropped unused, they are removed.
pub struct Staged {
    dir: tempfile::TempDir,
    files: Vec<StagedFile>,
}

struct StagedFile {
    role: String,
    /// Path inside the staging folder (and, once added, inside the item's folder).
    relative: PathBuf,
    original: PathBuf,
    sha256: String,
    size: u64,
}

impl Staged {
    /// The copy of the first file with `role` (to check it before it is added).
    pub fn path_of(&self, role: &str) -> Option<PathBuf> {
        self.files
            .iter()
            .find(|f| f.role == role)
            .map(|f| self.dir.path().join(&f.relative))
    }
}

/// Space left free on the disk beyond the copies (the database and the journal grow too).
const SPACE_MARGIN: u64 = 16 << 20;

/// Bytes free for the user on the file system holding `dir`, when the system says.
fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: statvfs fills the struct we own from a NUL-terminated path.
        let done = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
        if done != 0 {
            return None;
        }
        // SAFETY: initialised by the successful call above.
        let stats = unsafe { stats.assume_init() };
        // Their types differ between systems (u32 on some 32-bit ones).
        #[allow(clippy::unnecessary_cast)]
        Some((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Copies `from` to `to` (a new private file), hashing what is copied, and syncs it; the copy's
/// SHA-256 (hexadecimal) and size. Only a regular file is copied (not a FIFO, a device…).
fn copy_hashed(from: &Path, to: &Path) -> std::io::Result<(String, u64)> {
    let mut input = crate::files::open_regular(from)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut output = options.open(to)?;
    let (digest, size) = crate::hashing::copy_hashed(&mut input, &mut output)?;
    output.sync_all()?;
    Ok((hex::encode(digest), size))
}

impl Outbox {
    /// Record a new item (state `prepare`) with its own copies of its files ([`Self::stage`]);
    /// one transaction.
    pub fn add(&mut self, item: NewItem) -> Result<i64, OutboxError> {
        let staged = self.stage(&item.fichiers)?;
        self.add_staged(item, staged)
    }

    /// Copies `files` into the outbox's folder, hashing them as they are copied, after checking
    /// that the disk has room for them. The originals may then move, change or go: the item is
    /// sent from its copies, whose hash the sender checks first.
    pub fn stage(&self, files: &[(String, PathBuf)]) -> Result<Staged, OutboxError> {
        let dir_error =
            |e: std::io::Error| OutboxError::File(self.files_dir.clone(), e.to_string());
        crate::logging::create_private_dir(&self.files_dir).map_err(dir_error)?;
        let mut needed = SPACE_MARGIN;
        for (_, path) in files {
            let meta = std::fs::metadata(path).map_err(|e| {
                OutboxError::File(path.clone(), crate::files::in_french(&e).to_string())
            })?;
            if !meta.is_file() {
                return Err(OutboxError::File(path.clone(), t("fichiers.pas_ordinaire")));
            }
            needed = needed.saturating_add(meta.len());
        }
        if let Some(free) = free_space(&self.files_dir)
            && free < needed
        {
            return Err(OutboxError::NoSpace {
                dir: self.files_dir.clone(),
                needed_mb: needed.div_ceil(1 << 20),
                free_mb: free >> 20,
            });
        }
        let dir = tempfile::Builder::new()
            .prefix(".en-cours-")
            .tempdir_in(&self.files_dir)
            .map_err(dir_error)?;
        let mut staged = Staged {
            dir,
            files: Vec::new(),
        };
        for (i, (role, path)) in files.iter().enumerate() {
            // Absolute: for information, whatever folder the window or the command ran from.
            let original = std::path::absolute(path)
                .map_err(|e| OutboxError::File(path.clone(), e.to_string()))?;
            let name = original.file_name().unwrap_or_default();
            // One folder per file keeps each name as the user gave it (the platform may show it).
            let relative = Path::new(&i.to_string()).join(name);
            let copy = staged.dir.path().join(&relative);
            let made = std::fs::create_dir(staged.dir.path().join(i.to_string()))
                .and_then(|()| copy_hashed(&original, &copy));
            let (sha256, size) = made.map_err(|e| {
                OutboxError::File(original.clone(), crate::files::in_french(&e).to_string())
            })?;
            staged.files.push(StagedFile {
                role: role.clone(),
                relative,
                original,
                sha256,
                size,
            });
        }
        Ok(staged)
    }

    /// Record a new item (state `prepare`) with files already staged (`item.fichiers` is not
    /// read): they become the item's own, in `fichiers/<id>/`; one transaction.
    pub fn add_staged(&mut self, item: NewItem, staged: Staged) -> Result<i64, OutboxError> {
        let tx = self.conn.transaction()?;
        let at = now();
        let inserted = tx.execute(
            "INSERT INTO items (genre, libelle, etat, cree_le, modifie_le, siren, numero_interne, donnees)
             VALUES (?1, ?2, 'prepare', ?3, ?3, ?4, ?5, ?6)",
            params![
                item.genre.key(),
                item.libelle,
                at,
                item.siren,
                item.numero_interne,
                item.donnees.to_string()
            ],
        );
        if let Err(rusqlite::Error::SqliteFailure(e, _)) = &inserted
            && e.code == rusqlite::ErrorCode::ConstraintViolation
        {
            return Err(OutboxError::NumberUsed(
                item.numero_interne.unwrap_or_default().to_owned(),
            ));
        }
        inserted?;
        let id = tx.last_insert_rowid();
        let folder = self.files_dir.join(id.to_string());
        let io = |e: std::io::Error| OutboxError::File(folder.clone(), e.to_string());
        // A folder left by an item whose transaction never committed (the id is then reused).
        if folder.exists() {
            std::fs::remove_dir_all(&folder).map_err(io)?;
        }
        let Staged { dir, files } = staged;
        std::fs::rename(dir.path(), &folder).map_err(io)?;
        // From here the folder is the item's; it goes if the item is not recorded.
        let _ = dir.keep();
        let recorded = (|| -> Result<(), OutboxError> {
            let mut hashes = Vec::new();
            for f in &files {
                tx.execute(
                    "INSERT INTO fichiers (item_id, role, chemin, sha256, taille, origine)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        f.role,
                        folder.join(&f.relative).to_string_lossy(),
                        f.sha256,
                        f.size as i64,
                        f.original.to_string_lossy()
                    ],
                )?;
                hashes.push(format!("{}:{}", f.role, f.sha256));
            }
            tx.execute(
                "INSERT INTO journal (item_id, le, evenement, etat_apres, qui, empreintes)
                 VALUES (?1, ?2, 'creation', 'prepare', ?3, ?4)",
                params![id, at, item.qui, hashes.join(" ")],
            )?;
            tx.commit()?;
            Ok(())
        })();
        if let Err(e) = recorded {
            let _ = std::fs::remove_dir_all(&folder);
            return Err(e);
        }
        Ok(id)
    }

    /// Put `signed` in place of the item's own copy of role `role` (a prepared PES just signed):
    /// the file row takes the new hash and size, the rename is atomic (same folder), and the
    /// journal keeps both hashes. Nothing changes if any step fails.
    pub fn replace_copy(
        &mut self,
        id: i64,
        role: &str,
        signed: &Path,
        qui: &str,
    ) -> Result<(), OutboxError> {
        let file = self
            .files(id)?
            .into_iter()
            .find(|f| f.role == role)
            .ok_or_else(|| OutboxError::File(PathBuf::from(role), "absent".into()))?;
        let io = |e: std::io::Error| OutboxError::File(file.chemin.clone(), e.to_string());
        let (digest, size) = crate::hashing::file_sha256_and_size(signed).map_err(io)?;
        let sha = hex::encode(digest);
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE fichiers SET sha256 = ?1, taille = ?2 WHERE item_id = ?3 AND role = ?4",
            params![sha, size as i64, id, role],
        )?;
        tx.execute(
            "INSERT INTO journal (item_id, le, evenement, qui, detail, empreintes) VALUES (?1, ?2, 'copie_signee', ?3, ?4, ?5)",
            params![id, now(), qui, role, format!("{} -> {sha}", file.sha256)],
        )?;
        std::fs::rename(signed, &file.chemin).map_err(io)?;
        // The rename is done: the row must follow, or the copy would look changed.
        tx.commit()?;
        Ok(())
    }

    /// Add files to an item (the detached signatures of an act just signed): copied into the
    /// item's folder with their hash, recorded with `role`, journalled; nothing is added if any
    /// step fails.
    pub fn add_copies(
        &mut self,
        id: i64,
        files: &[(String, PathBuf)],
        qui: &str,
    ) -> Result<(), OutboxError> {
        let folder = self.files_dir.join(id.to_string());
        let staged = self.stage(files)?;
        let Staged { dir, files: staged } = staged;
        let tx = self.conn.transaction()?;
        let mut hashes = Vec::new();
        let mut moved = Vec::new();
        let recorded = (|| -> Result<(), OutboxError> {
            for f in &staged {
                // A folder name no copy of this item uses yet.
                let sub = (0..)
                    .map(|n| format!("ajout-{n}"))
                    .find(|n| !folder.join(n).exists())
                    .unwrap_or_default();
                let target = folder.join(&sub);
                let io = |e: std::io::Error| OutboxError::File(target.clone(), e.to_string());
                let from = dir
                    .path()
                    .join(f.relative.parent().unwrap_or(Path::new("")));
                std::fs::rename(&from, &target).map_err(io)?;
                moved.push(target.clone());
                let name = f.relative.file_name().unwrap_or_default();
                tx.execute(
                    "INSERT INTO fichiers (item_id, role, chemin, sha256, taille, origine)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        f.role,
                        target.join(name).to_string_lossy(),
                        f.sha256,
                        f.size as i64,
                        f.original.to_string_lossy()
                    ],
                )?;
                hashes.push(format!("{}:{}", f.role, f.sha256));
            }
            tx.execute(
                "INSERT INTO journal (item_id, le, evenement, qui, empreintes) VALUES (?1, ?2, 'fichiers_ajoutes', ?3, ?4)",
                params![id, now(), qui, hashes.join(" ")],
            )?;
            Ok(())
        })();
        match recorded.and_then(|()| tx.commit().map_err(OutboxError::from)) {
            Ok(()) => Ok(()),
            Err(e) => {
                for target in moved {
                    let _ = std::fs::remove_dir_all(target);
                }
                Err(e)
            }
        }
    }

    /// Bytes taken by the items' copies of their files (what « Envois » shows).
    pub fn copies_size(&self) -> u64 {
        fn size_of(dir: &Path) -> u64 {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(t) if t.is_dir() => size_of(&entry.path()),
                    Ok(t) if t.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
                    _ => 0,
                })
                .sum()
        }
        size_of(&self.files_dir)
    }

    /// Removes the copies of the files of items acknowledged before `cutoff` (ISO 8601, UTC):
    /// what came back (accusé de réception, acquit, courriers) and the journal stay, and each
    /// removal is journalled. Returns how many items lost their copies, and the bytes freed.
    pub fn purge_copies(&mut self, cutoff: &str, qui: &str) -> Result<(usize, u64), OutboxError> {
        let acknowledged: Vec<i64> = {
            let mut stmt = self.conn.prepare(
                "SELECT id FROM items WHERE etat = 'acquitte' AND modifie_le < ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([cutoff], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let (mut items, mut freed) = (0, 0u64);
        for id in acknowledged {
            let folder = self.files_dir.join(id.to_string());
            if !folder.is_dir() {
                continue;
            }
            let size: u64 = self
                .files(id)?
                .iter()
                .filter(|f| f.chemin.starts_with(&folder))
                .map(|f| f.taille)
                .sum();
            std::fs::remove_dir_all(&folder)
                .map_err(|e| OutboxError::File(folder.clone(), e.to_string()))?;
            self.conn.execute(
                "INSERT INTO journal (item_id, le, evenement, qui, detail)
                 VALUES (?1, ?2, 'copies_supprimees', ?3, ?4)",
                params![
                    id,
                    now(),
                    qui,
                    tf("envois.copies_supprimees", &[("octets", &size.to_string())])
                ],
            )?;
            items += 1;
            freed += size;
        }
        Ok((items, freed))
    }
}
