//! Lots: a set of items prepared together, exported to one file and imported on another
//! workstation (the secretary prepares, the ordonnateur reviews, signs and sends).
//!
//! The file is a tar: `manifest.json` first (items, who prepared them and when, each file's
//! SHA-256 and size), `fichiers/…`, `manifest.sha256`, and `manifest.p7s`, a detached CMS
//! signature of the manifest's bytes made with the exporting person's card or `.p12`. The
//! manifest binds every file by its hash, so the signature binds the whole lot: a plain hash only
//! catches accidents (anyone can recompute it), the signature catches a change made on purpose.
//!
//! On import every file is hashed as it is extracted (never more than the manifest declares) and
//! compared with the manifest, the manifest with its hash and its signature, the signer's
//! certificate with the trusted authorities: any failure refuses the whole lot, nothing imported.
//! An unsigned lot is refused unless the person importing accepts the risk, which is journalled.

use super::{Kind, NewItem, Outbox, OutboxError};
use crate::certs::trust::TrustStore;
use crate::keys::Signer;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::messages::{t, tf};

const FORMAT: &str = "paraphe-lot-1";
/// A lot's manifest is small; a larger one is not ours.
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;
/// A CMS signature with its certificates is a few kilobytes.
const MAX_SIGNATURE: u64 = 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub nom: String,
    /// When the lot was exported (UTC, ISO 8601): the preparation the signer vouches for.
    pub cree_le: String,
    /// Who exported it (the session's user name); absent from lots of older versions.
    #[serde(default)]
    pub prepare_par: Option<String>,
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

/// Every item of `ids` exists and its files are still what was recorded (a lot never carries a
/// changed file): checked before a card is asked to sign.
pub fn check_exportable(outbox: &Outbox, ids: &[i64]) -> Result<(), OutboxError> {
    for id in ids {
        outbox.get(*id)?;
        for f in outbox.files(*id)? {
            unchanged_copy(&f)?;
        }
    }
    Ok(())
}

/// The item's file still has the hash recorded (a lot never carries a changed file): its hash
/// and size.
fn unchanged_copy(f: &super::ItemFile) -> Result<(String, u64), OutboxError> {
    let (digest, size) = crate::hashing::file_sha256_and_size(&f.chemin)
        .map_err(|e| OutboxError::File(f.chemin.clone(), e.to_string()))?;
    let sha = hex::encode(digest);
    if sha != f.sha256 {
        return Err(lot_error(
            "envois.lot_fichier_modifie",
            &[("fichier", &f.chemin.display().to_string())],
        ));
    }
    Ok((sha, size))
}

/// What to export: the items, the lot's name, where to write it, who prepares it.
pub struct ExportRequest<'a> {
    pub nom: &'a str,
    pub items: &'a [i64],
    pub dest: &'a Path,
    pub prepare_par: &'a str,
}

/// What an export did.
#[derive(Debug, Serialize)]
pub struct ExportedLot {
    pub chemin: PathBuf,
    /// The certificate's name that signed the manifest; None for an unsigned lot.
    pub signataire: Option<String>,
    pub envois: usize,
}

/// Export the items of `request` as one lot file (written to a temporary file, then renamed),
/// its manifest signed with `signer` when one is given.
pub fn export(
    outbox: &mut Outbox,
    request: &ExportRequest,
    signer: Option<&mut dyn Signer>,
) -> Result<ExportedLot, OutboxError> {
    let ExportRequest {
        nom,
        items,
        dest,
        prepare_par,
    } = *request;
    let io = |e: std::io::Error| OutboxError::File(dest.to_owned(), e.to_string());
    let mut manifest = Manifest {
        format: FORMAT.to_owned(),
        nom: nom.to_owned(),
        cree_le: super::now(),
        prepare_par: Some(prepare_par.to_owned()).filter(|p| !p.is_empty()),
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
            let (sha, size) = unchanged_copy(&f)?;
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
    // Signed before anything is written: a card refused or pulled out leaves no half lot.
    let (signature, signataire) = match signer {
        Some(signer) => {
            let (cms, name) = sign_manifest(signer, &manifest_json)?;
            (Some(cms), Some(name))
        }
        None => (None, None),
    };
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
    if let Some(cms) = &signature {
        append(&mut builder, "manifest.p7s", cms)?;
    }
    let writer = builder.into_inner().map_err(io)?;
    let temp = writer.into_inner().map_err(|e| io(e.into_error()))?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(dest).map_err(|e| io(e.error))?;
    Ok(ExportedLot {
        chemin: dest.to_owned(),
        signataire,
        envois: items.len(),
    })
}

/// A detached CMS signature of the manifest's bytes, checked against them at once (a card that
/// signed with another key than its certificate's is caught here, not on the other workstation),
/// and the signer's name.
fn sign_manifest(
    signer: &mut dyn Signer,
    manifest: &[u8],
) -> Result<(Vec<u8>, String), OutboxError> {
    let name = crate::certs::CertificateInfo::from_der(signer.certificate_der())
        .map(|info| info.display_name().to_owned())
        .map_err(|e| OutboxError::Lot(e.to_string()))?;
    let cms = crate::actes::cms::sign_detached(signer, manifest)
        .map_err(|e| OutboxError::Lot(e.to_string()))?;
    crate::actes::cms::verify_detached(&cms, manifest)
        .map_err(|detail| lot_error("envois.lot_signature_invalide", &[("detail", &detail)]))?;
    Ok((cms, name))
}

/// How an import judges a lot's origin.
pub struct ImportPolicy<'a> {
    /// The trusted authorities the manifest's signer must chain to; a signed lot cannot be
    /// judged without them, and is then refused.
    pub trust: Option<&'a TrustStore>,
    /// Import an unsigned lot all the same (the person importing says they know where it comes
    /// from); the risk is said and journalled on every item.
    pub accept_unsigned: bool,
}

/// What a verified lot says of itself: shown before importing, and after.
#[derive(Debug, Clone, Serialize)]
pub struct LotOrigin {
    pub nom: String,
    pub prepare_le: String,
    pub prepare_par: Option<String>,
    /// The manifest's signer, verified; None for an unsigned lot accepted as such.
    pub signataire: Option<String>,
    pub signe: bool,
    pub envois: usize,
}

impl LotOrigin {
    /// « Lot « … » préparé par … le … » and, when signed, who signed it.
    pub fn describe(&self) -> String {
        let mut text = tf(
            "envois.lot_prepare_par",
            &[
                ("nom", &self.nom),
                ("par", &self.preparer()),
                ("le", &self.prepared_on()),
            ],
        );
        match &self.signataire {
            Some(s) => {
                text.push(' ');
                text.push_str(&tf("envois.lot_signe_par", &[("signataire", s)]));
            }
            None => {
                text.push(' ');
                text.push_str(&t("envois.lot_risque_non_signe"));
            }
        }
        text
    }

    fn preparer(&self) -> String {
        self.prepare_par
            .clone()
            .unwrap_or_else(|| t("envois.lot_auteur_inconnu"))
    }

    fn prepared_on(&self) -> String {
        crate::clock::local_datetime_fr(&self.prepare_le).unwrap_or_else(|| self.prepare_le.clone())
    }

    /// The journal line of each imported item.
    fn journal_line(&self, qui: &str) -> String {
        let (par, le) = (self.preparer(), self.prepared_on());
        match &self.signataire {
            Some(s) => tf(
                "envois.journal_lot_signe",
                &[
                    ("nom", &self.nom),
                    ("par", &par),
                    ("le", &le),
                    ("signataire", s),
                ],
            ),
            None => tf(
                "envois.journal_lot_non_signe",
                &[("nom", &self.nom), ("par", &par), ("le", &le), ("qui", qui)],
            ),
        }
    }
}

/// What an import did.
#[derive(Debug, Serialize)]
pub struct ImportedLot {
    pub origine: LotOrigin,
    pub ids: Vec<i64>,
}

/// A lot read and verified, its files extracted in a staging folder that goes with it.
struct VerifiedLot {
    manifest: Manifest,
    origin: LotOrigin,
    staging: tempfile::TempDir,
}

/// Read and verify `lot` without importing anything: for the window, which shows who prepared
/// and signed it before asking to import. `work_dir` holds the extracted files meanwhile.
pub fn inspect(
    lot: &Path,
    work_dir: &Path,
    policy: &ImportPolicy,
) -> Result<LotOrigin, OutboxError> {
    Ok(read_verified(lot, work_dir, policy)?.origin)
}

/// Import a lot into `outbox` (files extracted in `work_dir` meanwhile, then copied into the
/// outbox's own folder). All or nothing: a lot refused leaves the outbox as it was.
pub fn import(
    outbox: &mut Outbox,
    lot: &Path,
    work_dir: &Path,
    qui: &str,
    policy: &ImportPolicy,
) -> Result<ImportedLot, OutboxError> {
    let verified = read_verified(lot, work_dir, policy)?;
    // A numéro interne already used here would stop the import half-way: check them all first.
    for item in &verified.manifest.items {
        if let (Some(siren), Some(numero)) = (&item.siren, &item.numero_interne)
            && outbox.number_used(siren, numero)?
        {
            return Err(OutboxError::NumberUsed(numero.clone()));
        }
    }
    let journal = verified.origin.journal_line(qui);
    let mut ids = Vec::new();
    for item in verified.manifest.items {
        let files = item
            .fichiers
            .iter()
            .map(|f| {
                let file = f.nom.trim_start_matches("fichiers/");
                (f.role.clone(), verified.staging.path().join(file))
            })
            .collect();
        let id = outbox.add(NewItem {
            genre: item.genre,
            libelle: &item.libelle,
            siren: item.siren.as_deref(),
            numero_interne: item.numero_interne.as_deref(),
            donnees: item.donnees,
            fichiers: files,
            qui,
        })?;
        outbox.record(id, "lot_importe", &journal, qui)?;
        ids.push(id);
    }
    Ok(ImportedLot {
        origine: verified.origin,
        ids,
    })
}

/// Extract `lot` into a staging folder under `work_dir` and verify it whole: files against the
/// manifest, the manifest against its hash and its signature, the signer against `policy`.
fn read_verified(
    lot: &Path,
    work_dir: &Path,
    policy: &ImportPolicy,
) -> Result<VerifiedLot, OutboxError> {
    let io = |e: std::io::Error| OutboxError::File(lot.to_owned(), e.to_string());
    let altered = |detail: &str| lot_error("envois.lot_altere", &[("detail", detail)]);
    crate::logging::create_private_dir(work_dir).map_err(io)?;
    let staging = tempfile::Builder::new()
        .prefix(".paraphe-import-")
        .tempdir_in(work_dir)
        .map_err(io)?;
    let mut archive = tar::Archive::new(crate::files::open_regular(lot).map_err(io)?);
    let mut manifest: Option<(Vec<u8>, Manifest)> = None;
    let mut manifest_hash: Option<String> = None;
    let mut signature: Option<Vec<u8>> = None;
    let mut extracted: Vec<(String, String, u64)> = Vec::new();
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        if !entry.header().entry_type().is_file() {
            return Err(altered("élément non ordinaire"));
        }
        let name = entry.path().map_err(io)?.to_string_lossy().into_owned();
        match name.as_str() {
            "manifest.json" if manifest.is_none() => {
                let mut buf = Vec::new();
                entry
                    .by_ref()
                    .take(MAX_MANIFEST + 1)
                    .read_to_end(&mut buf)
                    .map_err(io)?;
                if buf.len() as u64 > MAX_MANIFEST {
                    return Err(altered("manifest.json"));
                }
                let parsed: Manifest =
                    serde_json::from_slice(&buf).map_err(|e| altered(&e.to_string()))?;
                if parsed.format != FORMAT {
                    return Err(lot_error(
                        "envois.lot_format",
                        &[("format", &parsed.format)],
                    ));
                }
                manifest = Some((buf, parsed));
            }
            "manifest.sha256" if manifest_hash.is_none() => {
                let mut buf = String::new();
                entry
                    .by_ref()
                    .take(128)
                    .read_to_string(&mut buf)
                    .map_err(|_| altered("manifest.sha256"))?;
                manifest_hash = Some(buf.trim().to_owned());
            }
            "manifest.p7s" if signature.is_none() => {
                let mut buf = Vec::new();
                entry
                    .by_ref()
                    .take(MAX_SIGNATURE + 1)
                    .read_to_end(&mut buf)
                    .map_err(io)?;
                if buf.len() as u64 > MAX_SIGNATURE {
                    return Err(altered("manifest.p7s"));
                }
                signature = Some(buf);
            }
            other => {
                // The manifest comes first: a file it does not declare, or longer than declared,
                // is refused before it is written, so a lot cannot fill the disk.
                let Some((_, declared)) = &manifest else {
                    return Err(altered(other));
                };
                let Some(file) = other.strip_prefix("fichiers/") else {
                    return Err(altered(other));
                };
                if file.is_empty() || file != safe_name(file) || file.starts_with('.') {
                    return Err(altered(other));
                }
                let Some(expected) = declared
                    .items
                    .iter()
                    .flat_map(|i| &i.fichiers)
                    .find(|f| f.nom == other)
                else {
                    return Err(altered(other));
                };
                if extracted.iter().any(|(n, _, _)| n == other) {
                    return Err(altered(other));
                }
                let target = staging.path().join(file);
                let mut out = std::fs::File::create(&target).map_err(io)?;
                // One byte more than declared is read (and written) at most: enough to know the
                // file is longer than the manifest says.
                let mut limited = entry.by_ref().take(expected.taille.saturating_add(1));
                let (digest, size) =
                    crate::hashing::copy_hashed(&mut limited, &mut out).map_err(io)?;
                if size > expected.taille {
                    return Err(altered(other));
                }
                extracted.push((other.to_owned(), hex::encode(digest), size));
            }
        }
    }
    let (manifest_bytes, manifest) = manifest.ok_or_else(|| altered("manifest.json"))?;
    let expected = hex::encode(openssl::sha::sha256(&manifest_bytes));
    if manifest_hash.as_deref() != Some(expected.as_str()) {
        return Err(altered("manifest.json"));
    }
    // Every declared file present with its hash and size, and nothing undeclared.
    let declared: usize = manifest.items.iter().map(|i| i.fichiers.len()).sum();
    if declared != extracted.len() {
        return Err(altered("nombre de fichiers"));
    }
    for f in manifest.items.iter().flat_map(|i| &i.fichiers) {
        let ok = extracted
            .iter()
            .any(|(name, sha, size)| *name == f.nom && *sha == f.sha256 && *size == f.taille);
        if !ok {
            return Err(altered(&f.nom));
        }
    }
    let signataire = match &signature {
        Some(cms) => Some(check_signer(cms, &manifest_bytes, lot, policy)?),
        None if policy.accept_unsigned => None,
        None => return Err(OutboxError::UnsignedLot),
    };
    let origin = LotOrigin {
        nom: manifest.nom.clone(),
        prepare_le: manifest.cree_le.clone(),
        prepare_par: manifest.prepare_par.clone(),
        signe: signataire.is_some(),
        signataire,
        envois: manifest.items.len(),
    };
    Ok(VerifiedLot {
        manifest,
        origin,
        staging,
    })
}

/// The manifest's signature checked over its bytes, its signer's certificate valid at the
/// signing time and chained to a trusted authority; the signer's name.
fn check_signer(
    cms: &[u8],
    manifest: &[u8],
    lot: &Path,
    policy: &ImportPolicy,
) -> Result<String, OutboxError> {
    let Some(trust) = policy.trust else {
        return Err(lot_error("envois.lot_sans_confiance", &[]));
    };
    let name = lot.join("manifest.p7s");
    let reports = crate::marches::verify::verify_detached_bytes(cms, manifest, &name, Some(trust))
        .map_err(|e| {
            lot_error(
                "envois.lot_signature_illisible",
                &[("detail", &e.to_string())],
            )
        })?;
    // One signer, the exporting person: a second one (added by someone else) is not expected.
    let [report] = reports.as_slice() else {
        return Err(lot_error(
            "envois.lot_signature_illisible",
            &[("detail", &format!("{} signataires", reports.len()))],
        ));
    };
    let signataire = report
        .signataire
        .clone()
        .unwrap_or_else(|| t("envois.lot_auteur_inconnu"));
    let reasons = report.raisons.join(" ; ");
    if !report.integrite {
        return Err(lot_error(
            "envois.lot_signature_invalide",
            &[("detail", &reasons)],
        ));
    }
    if report.chaine != Some(true) {
        return Err(lot_error(
            "envois.lot_signataire_non_reconnu",
            &[("signataire", &signataire), ("detail", &reasons)],
        ));
    }
    if !report.valide {
        return Err(lot_error(
            "envois.lot_certificat_signataire",
            &[("signataire", &signataire), ("detail", &reasons)],
        ));
    }
    Ok(signataire)
}
