//! Lots: a set of items prepared together, exported to one file and imported on another
//! workstation (the secretary prepares, the ordonnateur reviews, signs and sends).
//!
//! The file is a tar: `manifest.json` (items, and each file's SHA-256 and size), `fichiers/…`, and
//! `manifest.sha256`. On import every file is hashed as it is extracted and compared with the
//! manifest, and the manifest with its hash: any alteration refuses the whole lot, nothing
//! imported.

use super::{Kind, NewItem, Outbox, OutboxError};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::messages::tf;

const FORMAT: &str = "paraphe-lot-1";
/// A lot's manifest is small; a larger one is not ours.
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub nom: String,
    pub cree_le: String,
    pub items: Vec<ManifestItem>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestItem {
    pub genre: Kind,
    pub libelle: String,
    pub siren: Option<String>,
    pub numero_interne: Option<String>,
    pub donnees: serde_json::Value,
    pub fichiers: Vec<ManifestFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestFile {
    pub role: String,
    /// Name inside the lot (`fichiers/…`).
    pub nom: String,
    pub sha256: String,
    pub taille: u64,
}

fn lot_error(key: &str, vars: &[(&str, &str)]) -> OutboxError {
    OutboxError::Lot(tf(key, vars))
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Export `items` as one lot file at `dest` (written to a temporary file, then renamed).
pub fn export(
    outbox: &mut Outbox,
    nom: &str,
    items: &[i64],
    dest: &Path,
) -> Result<(), OutboxError> {
    let io = |e: std::io::Error| OutboxError::File(dest.to_owned(), e.to_string());
    let mut manifest = Manifest {
        format: FORMAT.to_owned(),
        nom: nom.to_owned(),
        cree_le: super::now(),
        items: Vec::new(),
    };
    let mut sources: Vec<(String, PathBuf, String)> = Vec::new();
    for (i, id) in items.iter().enumerate() {
        let item = outbox.get(*id)?;
        let donnees: String = outbox.connection().query_row(
            "SELECT donnees FROM items WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let mut fichiers = Vec::new();
        for (j, f) in outbox.files(*id)?.into_iter().enumerate() {
            // The file must still be what was recorded: a lot never carries a changed file.
            let (sha, size) = super::sha256_file(&f.chemin)?;
            if sha != f.sha256 {
                return Err(lot_error(
                    "envois.lot_fichier_modifie",
                    &[("fichier", &f.chemin.display().to_string())],
                ));
            }
            let base = f
                .chemin
                .file_name()
                .map(|n| safe_name(&n.to_string_lossy()))
                .unwrap_or_default();
            let name = format!("fichiers/{i}-{j}-{base}");
            sources.push((name.clone(), f.chemin.clone(), sha.clone()));
            fichiers.push(ManifestFile {
                role: f.role,
                nom: name,
                sha256: sha,
                taille: size,
            });
        }
        manifest.items.push(ManifestItem {
            genre: item.genre,
            libelle: item.libelle,
            siren: item.siren,
            numero_interne: item.numero_interne,
            donnees: serde_json::from_str(&donnees).unwrap_or_default(),
            fichiers,
        });
    }
    let manifest_json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| OutboxError::Lot(e.to_string()))?;
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = crate::files::temp_in(dir, "lot").map_err(io)?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(temp));
    let append = |b: &mut tar::Builder<_>, name: &str, data: &[u8]| -> Result<(), OutboxError> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        b.append_data(&mut header, name, data).map_err(io)
    };
    append(&mut builder, "manifest.json", &manifest_json)?;
    for (name, path, _) in &sources {
        let mut file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_cksum();
        builder
            .append_data(&mut header, name, &mut file)
            .map_err(io)?;
    }
    let manifest_hash = hex::encode(openssl::sha::sha256(&manifest_json));
    append(&mut builder, "manifest.sha256", manifest_hash.as_bytes())?;
    let writer = builder.into_inner().map_err(io)?;
    let temp = writer.into_inner().map_err(|e| io(e.into_error()))?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(dest).map_err(|e| io(e.error))?;
    Ok(())
}

/// Import a lot into `outbox`, extracting its files into `dest_dir`. All or nothing.
pub fn import(
    outbox: &mut Outbox,
    lot: &Path,
    dest_dir: &Path,
    qui: &str,
) -> Result<Vec<i64>, OutboxError> {
    let io = |e: std::io::Error| OutboxError::File(lot.to_owned(), e.to_string());
    crate::logging::create_private_dir(dest_dir).map_err(io)?;
    let staging = tempfile::Builder::new()
        .prefix(".paraphe-import-")
        .tempdir_in(dest_dir)
        .map_err(io)?;
    let mut archive = tar::Archive::new(crate::files::open_regular(lot).map_err(io)?);
    let mut manifest_bytes: Option<Vec<u8>> = None;
    let mut manifest_hash: Option<String> = None;
    let mut extracted: Vec<(String, String, u64)> = Vec::new();
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        if !entry.header().entry_type().is_file() {
            return Err(lot_error(
                "envois.lot_altere",
                &[("detail", "élément non ordinaire")],
            ));
        }
        let name = entry.path().map_err(io)?.to_string_lossy().into_owned();
        match name.as_str() {
            "manifest.json" => {
                let mut buf = Vec::new();
                entry
                    .by_ref()
                    .take(MAX_MANIFEST)
                    .read_to_end(&mut buf)
                    .map_err(io)?;
                manifest_bytes = Some(buf);
            }
            "manifest.sha256" => {
                let mut buf = String::new();
                entry
                    .by_ref()
                    .take(128)
                    .read_to_string(&mut buf)
                    .map_err(io)?;
                manifest_hash = Some(buf.trim().to_owned());
            }
            other => {
                let Some(file) = other.strip_prefix("fichiers/") else {
                    return Err(lot_error("envois.lot_altere", &[("detail", other)]));
                };
                if file.is_empty() || file != safe_name(file) || file.starts_with('.') {
                    return Err(lot_error("envois.lot_altere", &[("detail", other)]));
                }
                let target = staging.path().join(file);
                let mut out = std::fs::File::create(&target).map_err(io)?;
                let mut hasher = openssl::sha::Sha256::new();
                let mut block = vec![0u8; 256 * 1024];
                let mut size = 0u64;
                loop {
                    let n = entry.read(&mut block).map_err(io)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&block[..n]);
                    out.write_all(&block[..n]).map_err(io)?;
                    size += n as u64;
                }
                extracted.push((other.to_owned(), hex::encode(hasher.finish()), size));
            }
        }
    }
    let manifest_bytes = manifest_bytes
        .ok_or_else(|| lot_error("envois.lot_altere", &[("detail", "manifest.json")]))?;
    let expected = hex::encode(openssl::sha::sha256(&manifest_bytes));
    if manifest_hash.as_deref() != Some(expected.as_str()) {
        return Err(lot_error(
            "envois.lot_altere",
            &[("detail", "manifest.json")],
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| lot_error("envois.lot_altere", &[("detail", &e.to_string())]))?;
    if manifest.format != FORMAT {
        return Err(lot_error(
            "envois.lot_format",
            &[("format", &manifest.format)],
        ));
    }
    // Every declared file present with its hash and size, and nothing undeclared.
    let declared: usize = manifest.items.iter().map(|i| i.fichiers.len()).sum();
    if declared != extracted.len() {
        return Err(lot_error(
            "envois.lot_altere",
            &[("detail", "nombre de fichiers")],
        ));
    }
    for item in &manifest.items {
        for f in &item.fichiers {
            let ok = extracted
                .iter()
                .any(|(name, sha, size)| *name == f.nom && *sha == f.sha256 && *size == f.taille);
            if !ok {
                return Err(lot_error("envois.lot_altere", &[("detail", &f.nom)]));
            }
        }
    }
    // A numéro interne already used here would stop the import half-way: check them all first.
    for item in &manifest.items {
        if let (Some(siren), Some(numero)) = (&item.siren, &item.numero_interne)
            && outbox.number_used(siren, numero)?
        {
            return Err(OutboxError::NumberUsed(numero.clone()));
        }
    }
    // Verified: move the files into place and record the items.
    let mut ids = Vec::new();
    for item in manifest.items {
        let mut files = Vec::new();
        for f in &item.fichiers {
            let file = f.nom.trim_start_matches("fichiers/");
            let final_path = dest_dir.join(file);
            std::fs::rename(staging.path().join(file), &final_path).map_err(io)?;
            files.push((f.role.clone(), final_path));
        }
        ids.push(outbox.add(NewItem {
            genre: item.genre,
            libelle: &item.libelle,
            siren: item.siren.as_deref(),
            numero_interne: item.numero_interne.as_deref(),
            donnees: item.donnees,
            fichiers: files,
            qui,
        })?);
    }
    Ok(ids)
}
