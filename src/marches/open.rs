//! Opening a bid: find our recipient entry, unwrap the content key on the card (the only card
//! operation), decrypt the content locally as a stream, then unpack a ZIP bid safely. Everything is
//! written in a private temporary folder beside the destination and renamed into place only when
//! the whole bid decrypted and checked: a failed or cancelled opening leaves nothing behind.

use super::armor::{self, Armor, Base64Lines};
use super::envelope::{
    ContentCipher, Counted, EnvelopeError, KeyWrap, Recipient, RecipientId, read_head, read_mac,
};
use crate::keys::{CardError, DecryptScheme, Decrypter};
use crate::messages::{t, tf};
use openssl::symm::{Cipher, Crypter, Mode};
use serde::Serialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Where the files of a ZIP bid go, inside the bid's folder (beside the decrypted ZIP itself).
pub const UNPACKED_FOLDER: &str = "fichiers";
/// A ZIP bid may not unpack to more than this many files…
pub const ZIP_MAX_ENTRIES: usize = 10_000;
/// …nor to more bytes than this (a zip bomb is refused, not written until the disk is full)…
pub const ZIP_MAX_TOTAL: u64 = 8 * 1024 * 1024 * 1024;
/// …nor any entry to more than this many times its compressed size.
pub const ZIP_MAX_RATIO: u64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum BidError {
    #[error("{0}")]
    Envelope(#[from] EnvelopeError),
    #[error("{}", tf("marches.pas_pour_cette_carte", &[("n", &.0.to_string())]))]
    NotForThisKey(usize),
    #[error("{}", tf("marches.destinataire_non_gere", &[("types", .0)]))]
    UnsupportedRecipients(String),
    #[error("{0}")]
    Card(#[from] CardError),
    #[error("{}", t("marches.cle_incorrecte"))]
    WrongContentKey,
    #[error("{}", t("marches.altere"))]
    Altered,
    #[error("{}", tf("marches.ecriture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Write { path: PathBuf, detail: String },
    #[error("{}", tf("marches.lecture", &[("detail", .0)]))]
    Read(String),
    #[error("{}", tf("marches.deja_ouvert", &[("chemin", &.0.display().to_string())]))]
    AlreadyOpened(PathBuf),
    #[error("{}", tf("marches.zip_illisible", &[("detail", .0)]))]
    Zip(String),
    #[error("{}", tf("marches.zip_dangereux", &[("detail", .0)]))]
    ZipUnsafe(String),
    #[error("{}", t("carte.operation_annulee"))]
    Cancelled,
}

/// One file written out of a bid.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractedFile {
    /// Relative to the bid's folder.
    pub chemin: PathBuf,
    pub taille: u64,
    pub sha256: String,
    /// Its name in the ZIP, when another entry had the same name (exactly, or once case and
    /// Unicode normalisation are set aside, as on Windows) and this one was given another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renomme_de: Option<String>,
}

/// The key under which two names collide on the systems the files will be opened on:
/// Unicode-normalised (NFC) and case-folded.
fn collision_key(path: &Path) -> String {
    use unicode_normalization::UnicodeNormalization;
    path.to_string_lossy()
        .nfc()
        .collect::<String>()
        .to_lowercase()
}

/// `relative` itself when its key is free, else `name (2).ext`, `name (3).ext`… in the same
/// folder, the first whose key is free; the key is taken.
fn distinct_name(relative: &Path, taken: &mut std::collections::HashSet<String>) -> PathBuf {
    if taken.insert(collision_key(relative)) {
        return relative.to_owned();
    }
    let stem = relative
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = relative
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| relative.with_file_name(format!("{stem} ({n}){extension}")))
        .find(|candidate| taken.insert(collision_key(candidate)))
        .unwrap_or_else(|| relative.to_owned())
}

/// Takes the keys of `folder` and of the folders it is in, so that no file is given their names.
fn take_folders(folder: &Path, taken: &mut std::collections::HashSet<String>) {
    for folder in folder.ancestors() {
        if folder.as_os_str().is_empty() {
            break;
        }
        taken.insert(collision_key(folder));
    }
}

/// What opening a bid produced, for the opening report.
#[derive(Debug, Clone, Serialize)]
pub struct OpenedBid {
    pub source: PathBuf,
    /// DER, PEM or S/MIME.
    pub format: String,
    pub chiffrement: String,
    /// Of the encrypted file as received.
    pub sha256_pli: String,
    /// The bid's folder.
    pub dossier: PathBuf,
    /// The decrypted content (the ZIP itself for a ZIP bid), then the files it held.
    pub contenu: ExtractedFile,
    pub fichiers: Vec<ExtractedFile>,
}

/// The file name extensions of an encrypted file, taken off to name what it holds.
const ARMOR_EXTENSIONS: &[&str] = &["p7m", "p7", "cms", "pem", "der", "enc", "smime", "eml"];

/// "offre.zip.p7m" → ("offre", "offre.zip"); "pli.p7m" → ("pli", "pli").
fn names_for(input: &Path) -> (String, String) {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pli".to_owned());
    let mut content = name.clone();
    while let Some((stem, ext)) = content.rsplit_once('.') {
        if ARMOR_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) && !stem.is_empty() {
            content = stem.to_owned();
        } else {
            break;
        }
    }
    let folder = match content.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => content.clone(),
    };
    (sanitize(&folder), sanitize(&content))
}

/// A name safe as one path component on every system.
fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    match cleaned.trim_matches(['.', ' ']) {
        "" => "pli".to_owned(),
        s => s.to_owned(),
    }
}

/// Whether our certificate is this recipient.
fn is_for(recipient: &Recipient, cert_der: &[u8]) -> bool {
    certificate_is(&recipient.id, cert_der)
}

/// Whether a certificate is the one named by issuer and serial number, or by key identifier (a
/// CMS recipient or signer).
pub fn certificate_is(id: &RecipientId, cert_der: &[u8]) -> bool {
    use x509_parser::prelude::*;
    let Ok((_, cert)) = X509Certificate::from_der(cert_der) else {
        return false;
    };
    match id {
        RecipientId::IssuerSerial { issuer_der, serial } => {
            cert.tbs_certificate.issuer.as_raw() == issuer_der.as_slice()
                && strip_sign_zero(cert.tbs_certificate.raw_serial()) == strip_sign_zero(serial)
        }
        RecipientId::KeyIdentifier(ski) => cert.extensions().iter().any(|e| {
            matches!(e.parsed_extension(), ParsedExtension::SubjectKeyIdentifier(id) if id.0 == ski.as_slice())
        }),
    }
}

fn strip_sign_zero(serial: &[u8]) -> &[u8] {
    match serial {
        [0, rest @ ..] if !rest.is_empty() => rest,
        s => s,
    }
}

fn openssl_cipher(cipher: &ContentCipher) -> Option<Cipher> {
    Some(match cipher {
        ContentCipher::Cbc { key_len: 16, .. } => Cipher::aes_128_cbc(),
        ContentCipher::Cbc { key_len: 24, .. } => Cipher::aes_192_cbc(),
        ContentCipher::Cbc { key_len: 32, .. } => Cipher::aes_256_cbc(),
        ContentCipher::Gcm { key_len: 16, .. } => Cipher::aes_128_gcm(),
        ContentCipher::Gcm { key_len: 24, .. } => Cipher::aes_192_gcm(),
        ContentCipher::Gcm { key_len: 32, .. } => Cipher::aes_256_gcm(),
        ContentCipher::TripleDesCbc { .. } => Cipher::des_ede3_cbc(),
        _ => return None,
    })
}

fn iv_of(cipher: &ContentCipher) -> &[u8] {
    match cipher {
        ContentCipher::Cbc { iv, .. } | ContentCipher::TripleDesCbc { iv } => iv,
        ContentCipher::Gcm { nonce, .. } => nonce,
    }
}

/// A `Write` that hashes and counts what goes through.
struct Measured<W> {
    inner: W,
    hasher: openssl::sha::Sha256,
    size: u64,
}

impl<W: Write> Write for Measured<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A `Read` that hashes the bytes of the file as received.
struct HashingRead<R> {
    inner: R,
    hasher: openssl::sha::Sha256,
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Open one encrypted bid into `out_dir/<its name>/`. `progress` gets the encrypted bytes read
/// so far and the file's size.
pub fn open_bid(
    input: &Path,
    out_dir: &Path,
    key: &mut dyn Decrypter,
    progress: &mut dyn FnMut(u64, u64),
    cancelled: &dyn Fn() -> bool,
) -> Result<OpenedBid, BidError> {
    let read_error = |e: std::io::Error| BidError::Read(format!("{} : {e}", input.display()));
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |e: std::io::Error| BidError::Write {
            path: path.clone(),
            detail: e.to_string(),
        }
    };
    let file = crate::files::open_regular(input).map_err(read_error)?;
    let total = file.metadata().map_err(read_error)?.len();
    let mut buffered = BufReader::with_capacity(
        256 * 1024,
        HashingRead {
            inner: file,
            hasher: openssl::sha::Sha256::new(),
        },
    );
    let head = buffered.fill_buf().map_err(read_error)?;
    let form = armor::detect(head).ok_or(EnvelopeError::UnknownFormat)?;
    let source: Box<dyn Read> = match form {
        Armor::Der => Box::new(&mut buffered),
        text => Box::new(BufReader::with_capacity(
            256 * 1024,
            Base64Lines::new(&mut buffered, text),
        )),
    };
    let mut envelope = Counted::new(source);
    let (head, mut content) = read_head(&mut envelope)?;
    let ours = head
        .recipients
        .iter()
        .find(|r| is_for(r, key.certificate_der()));
    let Some(recipient) = ours else {
        if head.recipients.is_empty() && !head.other_recipients.is_empty() {
            return Err(BidError::UnsupportedRecipients(
                head.other_recipients.join(", "),
            ));
        }
        return Err(BidError::NotForThisKey(
            head.recipients.len() + head.other_recipients.len(),
        ));
    };
    let scheme = match &recipient.wrap {
        KeyWrap::RsaPkcs1 => DecryptScheme::RsaPkcs1,
        KeyWrap::RsaOaep(hash) => DecryptScheme::RsaOaep(*hash),
        KeyWrap::Other(name) => {
            return Err(EnvelopeError::UnsupportedAlgorithm(name.clone()).into());
        }
    };
    let cipher = openssl_cipher(&head.cipher)
        .ok_or_else(|| EnvelopeError::UnsupportedAlgorithm(head.cipher.name()))?;
    // The only card operation: unwrapping the content key.
    let content_key = key.decrypt(scheme, &recipient.encrypted_key)?;
    if content_key.len() != head.cipher.key_len() {
        return Err(BidError::WrongContentKey);
    }
    let mut crypter = Crypter::new(
        cipher,
        Mode::Decrypt,
        &content_key,
        Some(iv_of(&head.cipher)),
    )
    .map_err(|_| BidError::WrongContentKey)?;
    drop(content_key);

    std::fs::create_dir_all(out_dir).map_err(write_error(out_dir))?;
    let (folder_name, content_name) = names_for(input);
    let destination = out_dir.join(&folder_name);
    if destination.exists() {
        return Err(BidError::AlreadyOpened(destination));
    }
    let work = tempfile::Builder::new()
        .prefix(".ouverture-")
        .tempdir_in(out_dir)
        .map_err(write_error(out_dir))?;
    // The decrypted bid is private (0700) until the user shares it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(write_error(work.path()))?;
    }
    let content_path = work.path().join(&content_name);
    let content_file = private_file(&content_path).map_err(write_error(&content_path))?;
    let mut plain = Measured {
        inner: std::io::BufWriter::with_capacity(256 * 1024, content_file),
        hasher: openssl::sha::Sha256::new(),
        size: 0,
    };
    let mut encrypted = vec![0u8; 256 * 1024];
    let mut decrypted = vec![0u8; 256 * 1024 + 32];
    loop {
        if cancelled() {
            return Err(BidError::Cancelled);
        }
        let n = content.read(&mut envelope, &mut encrypted)?;
        if n == 0 {
            break;
        }
        let m = crypter
            .update(&encrypted[..n], &mut decrypted)
            .map_err(|_| BidError::Altered)?;
        plain
            .write_all(&decrypted[..m])
            .map_err(write_error(&content_path))?;
        progress(envelope.position.min(total), total);
    }
    if let ContentCipher::Gcm { tag_len, .. } = head.cipher {
        let mac = read_mac(&mut envelope, &head)?;
        if mac.len() != tag_len {
            return Err(BidError::Altered);
        }
        crypter.set_tag(&mac).map_err(|_| BidError::Altered)?;
    }
    let m = crypter
        .finalize(&mut decrypted)
        .map_err(|_| BidError::Altered)?;
    plain
        .write_all(&decrypted[..m])
        .map_err(write_error(&content_path))?;
    let Measured {
        inner,
        hasher,
        size,
    } = plain;
    let content_file = inner
        .into_inner()
        .map_err(|e| write_error(&content_path)(e.into_error()))?;
    content_file
        .sync_all()
        .map_err(write_error(&content_path))?;
    drop(envelope);
    // Hash what is left of the file (trailing bytes) so the digest covers it all.
    std::io::copy(&mut buffered, &mut std::io::sink()).map_err(read_error)?;
    let sha256_pli = hex::encode(buffered.into_inner().hasher.finish());
    let mut content_entry = ExtractedFile {
        chemin: PathBuf::from(&content_name),
        taille: size,
        sha256: hex::encode(hasher.finish()),
        renomme_de: None,
    };
    let is_zip = {
        let mut magic = [0u8; 4];
        File::open(&content_path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && &magic == b"PK\x03\x04"
    };
    let mut files = Vec::new();
    if is_zip {
        if !content_name.to_ascii_lowercase().ends_with(".zip") {
            let renamed = format!("{content_name}.zip");
            std::fs::rename(&content_path, work.path().join(&renamed))
                .map_err(write_error(&content_path))?;
            content_entry.chemin = PathBuf::from(renamed);
        }
        files = unpack_zip(
            &work.path().join(&content_entry.chemin),
            work.path(),
            cancelled,
        )?;
    } else if !content_name.contains('.') {
        let extension = sniff_extension(&content_path);
        let renamed = format!("{content_name}.{extension}");
        std::fs::rename(&content_path, work.path().join(&renamed))
            .map_err(write_error(&content_path))?;
        content_entry.chemin = PathBuf::from(renamed);
    }
    let work_path = work.keep();
    if let Err(e) = std::fs::rename(&work_path, &destination) {
        let _ = std::fs::remove_dir_all(&work_path);
        return Err(write_error(&destination)(e));
    }
    Ok(OpenedBid {
        source: input.to_owned(),
        format: match form {
            Armor::Der => "DER",
            Armor::Pem => "PEM",
            Armor::Smime => "S/MIME",
        }
        .to_owned(),
        chiffrement: head.cipher.name(),
        sha256_pli,
        dossier: destination,
        contenu: content_entry,
        fichiers: files,
    })
}

/// A new file readable by its owner only.
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// An extension for a decrypted file that came without one, from its first bytes.
fn sniff_extension(path: &Path) -> &'static str {
    let mut head = [0u8; 8];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    if head.starts_with(b"%PDF") {
        "pdf"
    } else if head.starts_with(b"<?xml") {
        "xml"
    } else if head.starts_with(b"\xd0\xcf\x11\xe0") {
        "doc"
    } else {
        "bin"
    }
}

/// How many entries the ZIP's central directory declares (its end record, or the ZIP64 one),
/// read from the file's last bytes. The zip crate keeps one entry per name: comparing the two
/// counts is how entries with exactly the same name are seen at all.
fn declared_entries(path: &Path) -> std::io::Result<Option<u64>> {
    use std::io::{Seek, SeekFrom};
    let mut file = crate::files::open_regular(path)?;
    let len = file.metadata()?.len();
    // The end record (22 bytes) follows the central directory, with a comment of up to 64 KiB.
    let tail_len = len.min(22 + 65_535 + 20);
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)?;
    let Some(end) = tail
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .filter(|at| at + 22 <= tail.len())
    else {
        return Ok(None);
    };
    let u16_at = |at: usize| u16::from_le_bytes([tail[at], tail[at + 1]]);
    let total = u16_at(end + 10);
    if total != u16::MAX {
        return Ok(Some(u64::from(total)));
    }
    // ZIP64: a locator just before the end record gives where the ZIP64 end record is.
    let Some(locator) = end
        .checked_sub(20)
        .filter(|at| &tail[*at..*at + 4] == b"PK\x06\x07")
    else {
        return Ok(None);
    };
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&tail[locator + 8..locator + 16]);
    file.seek(SeekFrom::Start(u64::from_le_bytes(offset)))?;
    let mut record = [0u8; 40];
    file.read_exact(&mut record)?;
    if &record[..4] != b"PK\x06\x06" {
        return Ok(None);
    }
    let mut total = [0u8; 8];
    total.copy_from_slice(&record[32..40]);
    Ok(Some(u64::from_le_bytes(total)))
}

/// Unpack the decrypted ZIP of a bid, `zip_path`, into `dir/fichiers/` ([`UNPACKED_FOLDER`], which
/// must not exist yet), as [`open_bid`] does. Refused: paths that leave the folder, links, entries
/// with exactly the same name, more than [`ZIP_MAX_ENTRIES`] files, an entry over
/// [`ZIP_MAX_RATIO`] times its compressed size or that outgrows its declared size, more than
/// [`ZIP_MAX_TOTAL`] bytes in all. Names that collide once case and Unicode normalisation are set
/// aside are all kept, under distinct names (`renomme_de` gives the original). The returned paths
/// are relative to `dir`.
///
/// A refusal can leave part of the files written: `dir` is meant to be a work folder that the
/// caller throws away on error (as `open_bid` does), so that a refused bid leaves nothing behind.
pub fn unpack_zip(
    zip_path: &Path,
    dir: &Path,
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<ExtractedFile>, BidError> {
    let folder = UNPACKED_FOLDER;
    let file = File::open(zip_path).map_err(|e| BidError::Zip(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| BidError::Zip(e.to_string()))?;
    // Entries with exactly the same name: the reader would keep one and lose the others
    // silently. They cannot be told apart safely: the bid is refused, nothing is written.
    let declared = declared_entries(zip_path).map_err(|e| BidError::Zip(e.to_string()))?;
    if declared.is_some_and(|n| n != archive.len() as u64) {
        return Err(BidError::ZipUnsafe(t("marches.zip_noms_identiques")));
    }
    if archive.len() > ZIP_MAX_ENTRIES {
        return Err(BidError::ZipUnsafe(tf(
            "marches.zip_trop_de_fichiers",
            &[("n", &archive.len().to_string())],
        )));
    }
    let root = dir.join(folder);
    std::fs::create_dir(&root).map_err(|e| BidError::Write {
        path: root.clone(),
        detail: e.to_string(),
    })?;
    let mut written_total = 0u64;
    let mut files = Vec::new();
    // Names already used, by files and by folders: two entries never share a file, and a file
    // never takes the place of a folder (it would fail to be written, and refuse the whole bid).
    let mut taken = std::collections::HashSet::new();
    for index in 0..archive.len() {
        if cancelled() {
            return Err(BidError::Cancelled);
        }
        let mut entry = archive
            .by_index(index)
            .map_err(|e| BidError::Zip(e.to_string()))?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let Some(relative) = entry.enclosed_name() else {
            return Err(BidError::ZipUnsafe(tf(
                "marches.zip_chemin",
                &[("nom", &raw_name)],
            )));
        };
        if entry.is_symlink() {
            return Err(BidError::ZipUnsafe(tf(
                "marches.zip_lien",
                &[("nom", &raw_name)],
            )));
        }
        if entry.is_dir() {
            take_folders(&relative, &mut taken);
            let target = root.join(&relative);
            std::fs::create_dir_all(&target).map_err(|e| BidError::Write {
                path: target.clone(),
                detail: e.to_string(),
            })?;
            continue;
        }
        let kept_as = distinct_name(&relative, &mut taken);
        let renamed = (kept_as != relative).then(|| relative.display().to_string());
        let relative = kept_as;
        if let Some(parent) = relative.parent() {
            take_folders(parent, &mut taken);
        }
        let target = root.join(&relative);
        let declared = entry.size();
        let compressed = entry.compressed_size().max(1);
        if declared / compressed > ZIP_MAX_RATIO
            || written_total.saturating_add(declared) > ZIP_MAX_TOTAL
        {
            return Err(BidError::ZipUnsafe(tf(
                "marches.zip_bombe",
                &[("nom", &raw_name)],
            )));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BidError::Write {
                path: parent.to_owned(),
                detail: e.to_string(),
            })?;
        }
        let out = private_file(&target).map_err(|e| BidError::Write {
            path: target.clone(),
            detail: e.to_string(),
        })?;
        let mut measured = Measured {
            inner: std::io::BufWriter::new(out),
            hasher: openssl::sha::Sha256::new(),
            size: 0,
        };
        // Never more than the declared size: a lying header cannot fill the disk.
        let copied = std::io::copy(&mut (&mut entry).take(declared + 1), &mut measured)
            .map_err(|e| BidError::Zip(e.to_string()))?;
        if copied > declared {
            return Err(BidError::ZipUnsafe(tf(
                "marches.zip_bombe",
                &[("nom", &raw_name)],
            )));
        }
        measured.flush().map_err(|e| BidError::Write {
            path: target.clone(),
            detail: e.to_string(),
        })?;
        written_total += copied;
        files.push(ExtractedFile {
            chemin: Path::new(folder).join(&relative),
            taille: measured.size,
            sha256: hex::encode(measured.hasher.finish()),
            renomme_de: renamed,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_the_armor_extensions_only() {
        assert_eq!(
            names_for(Path::new("/x/offre.zip.p7m")),
            ("offre".to_owned(), "offre.zip".to_owned())
        );
        assert_eq!(
            names_for(Path::new("pli.p7m")),
            ("pli".to_owned(), "pli".to_owned())
        );
        assert_eq!(
            names_for(Path::new("..")),
            ("pli".to_owned(), "pli".to_owned())
        );
        assert_eq!(
            names_for(Path::new("candidature.pdf.cms.pem")),
            ("candidature".to_owned(), "candidature.pdf".to_owned())
        );
    }
}
