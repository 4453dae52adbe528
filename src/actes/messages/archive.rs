//! The `.tar.gz` (or `.tar`) archives that carry the messages, read from their stream and never
//! extracted to disk: each member goes to memory, with a cap per member and on the total
//! ([`ReadLimits`]); members with an absolute path or a `..` component, links, directories,
//! devices, duplicated names, contradictory sizes are refused. The XML members are read as
//! messages ([`read_message_with_limits`]); the others (the letter's PDF…) are kept with their
//! size, the kind found from their content, and their bytes. Then the envelope, the messages and
//! the files are checked against each other.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};

use serde::Serialize;

use super::error::{ActesReadError, ReadLimits};
use super::model::{ActesMessage, FileKind, MessageKind, detect_kind};
use super::read::read_message_with_limits;
use crate::actes::files::{group_digits, precise_size};
use crate::messages::{t, tf};

/// What a member of an archive is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    Enveloppe,
    Message,
    Document,
    /// Neither listed by the envelope nor named by a message.
    NonReference,
}

/// A member of an archive, read into memory.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveFile {
    pub nom: String,
    pub taille: u64,
    /// Kind found from the content.
    pub nature: FileKind,
    pub role: FileRole,
    /// The message read from it (XML members).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_message: Option<MessageKind>,
    #[serde(skip)]
    pub contenu: Vec<u8>,
}

/// An archive read: its files, its envelope, its messages.
#[derive(Debug, Clone, Serialize)]
pub struct ActesArchive {
    /// Type of the main message (the first business message; the envelope when there is none).
    #[serde(rename = "type")]
    pub kind: MessageKind,
    pub libelle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_acte: Option<String>,
    pub fichiers: Vec<ArchiveFile>,
    pub enveloppe: Option<ActesMessage>,
    /// The business messages, in the order of the envelope.
    pub messages: Vec<ActesMessage>,
    /// Inconsistencies between the envelope, the messages and the files, in French.
    pub avertissements: Vec<String>,
}

impl ActesArchive {
    /// The main message (see [`ActesArchive::kind`]).
    pub fn main_message(&self) -> Option<&ActesMessage> {
        self.messages.first().or(self.enveloppe.as_ref())
    }

    /// The member with this name.
    pub fn file(&self, name: &str) -> Option<&ArchiveFile> {
        self.fichiers.iter().find(|f| f.nom == name)
    }

    /// The bytes of the member with this name.
    pub fn content(&self, name: &str) -> Option<&[u8]> {
        self.file(name).map(|f| f.contenu.as_slice())
    }

    /// The documents of the messages (the letter's PDF…), as members of the archive.
    pub fn documents(&self) -> Vec<&ArchiveFile> {
        self.fichiers
            .iter()
            .filter(|f| f.role == FileRole::Document)
            .collect()
    }
}

/// Counts what is decompressed; beyond the bound, fails (and says so in `exceeded`).
struct Bounded<R> {
    inner: R,
    remaining: u64,
    exceeded: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            // One byte more means the bound is passed (the exact end is fine).
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded.set(true);
            return Err(std::io::Error::other("limite de taille dépassée"));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Largest pax or GNU long-name header accepted.
const EXTENSION_MAX: u64 = 64 * 1024;

/// Reads an archive (`.tar.gz`, or `.tar`) from its stream: members in memory under the
/// bounds of `limits`, XML members read as messages, cross-checks with the envelope.
pub fn read_archive<R: Read>(
    input: R,
    limits: &ReadLimits,
) -> Result<ActesArchive, ActesReadError> {
    let members = read_members(input, limits)?;
    if members.is_empty() {
        return Err(ActesReadError::EmptyArchive);
    }
    let mut fichiers = Vec::new();
    let mut read = Vec::new();
    for (nom, contenu) in members {
        let nature = detect_kind(&contenu);
        let mut type_message = None;
        if nature == FileKind::Xml {
            let mut message =
                read_message_with_limits(contenu.as_slice(), limits).map_err(|e| {
                    ActesReadError::Member {
                        nom: nom.clone(),
                        source: Box::new(e),
                    }
                })?;
            message.fichier = Some(nom.clone());
            type_message = Some(message.kind);
            read.push(message);
        }
        fichiers.push(ArchiveFile {
            taille: contenu.len() as u64,
            nom,
            nature,
            role: FileRole::NonReference,
            type_message,
            contenu,
        });
    }
    assemble(fichiers, read)
}

fn assemble(
    mut fichiers: Vec<ArchiveFile>,
    read: Vec<ActesMessage>,
) -> Result<ActesArchive, ActesReadError> {
    let mut warnings = Vec::new();
    let (envelopes, mut messages): (Vec<_>, Vec<_>) =
        read.into_iter().partition(|m| m.kind.is_envelope());
    let mut envelopes = envelopes.into_iter();
    let enveloppe = envelopes.next();
    for extra in envelopes {
        warnings.push(tf(
            "actes_messages.archive_plusieurs_enveloppes",
            &[("nom", extra.fichier.as_deref().unwrap_or("?"))],
        ));
    }
    if enveloppe.is_none() && messages.is_empty() {
        return Err(ActesReadError::NoMessage);
    }
    let set_role = |fichiers: &mut Vec<ArchiveFile>, name: &str, role: FileRole| {
        if let Some(f) = fichiers.iter_mut().find(|f| f.nom == name) {
            f.role = role;
        }
    };
    match &enveloppe {
        None => warnings.push(t("actes_messages.archive_sans_enveloppe")),
        Some(env) => {
            if let Some(name) = &env.fichier {
                set_role(&mut fichiers, name, FileRole::Enveloppe);
            }
            let listed = env.formulaires();
            for name in listed {
                if !fichiers.iter().any(|f| &f.nom == name) {
                    warnings.push(tf(
                        "actes_messages.archive_formulaire_absent",
                        &[("nom", name)],
                    ));
                }
            }
            if env.kind != MessageKind::AnomalieEnveloppe {
                for m in &messages {
                    let name = m.fichier.as_deref().unwrap_or("?");
                    if !listed.iter().any(|l| l == name) {
                        warnings.push(tf(
                            "actes_messages.archive_message_non_liste",
                            &[("nom", name)],
                        ));
                    }
                }
            }
            // The envelope's order first.
            messages.sort_by_key(|m| {
                listed
                    .iter()
                    .position(|l| Some(l.as_str()) == m.fichier.as_deref())
                    .unwrap_or(usize::MAX)
            });
        }
    }
    for m in &mut messages {
        if let Some(name) = &m.fichier {
            set_role(&mut fichiers, name, FileRole::Message);
        }
        for d in &mut m.documents {
            match fichiers.iter_mut().find(|f| f.nom == d.nom) {
                Some(f) => {
                    f.role = FileRole::Document;
                    d.taille = Some(f.taille);
                    d.nature = Some(f.nature);
                }
                None => warnings.push(tf(
                    "actes_messages.archive_document_absent",
                    &[
                        ("nom", &d.nom),
                        ("message", m.fichier.as_deref().unwrap_or("?")),
                    ],
                )),
            }
        }
    }
    for f in &fichiers {
        if f.role == FileRole::NonReference {
            warnings.push(tf(
                "actes_messages.archive_fichier_non_reference",
                &[("nom", &f.nom)],
            ));
        }
        if let Some(expected) = kind_from_extension(&f.nom)
            && expected != f.nature
        {
            warnings.push(tf(
                "actes_messages.archive_contenu_extension",
                &[
                    ("nom", &f.nom),
                    ("nature", f.nature.label()),
                    ("attendu", expected.label()),
                ],
            ));
        }
    }
    let main = messages.first().or(enveloppe.as_ref());
    let (kind, id_acte) = match main {
        Some(m) => (m.kind, m.id_acte.clone()),
        None => return Err(ActesReadError::NoMessage),
    };
    Ok(ActesArchive {
        kind,
        libelle: kind.label(),
        id_acte,
        fichiers,
        enveloppe,
        messages,
        avertissements: warnings,
    })
}

fn kind_from_extension(name: &str) -> Option<FileKind> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "xml" => FileKind::Xml,
        "pdf" => FileKind::Pdf,
        "png" => FileKind::Png,
        "jpg" | "jpeg" => FileKind::Jpeg,
        _ => return None,
    })
}

/// The members of a tar (possibly gzip-compressed) stream, in memory, checked.
fn read_members<R: Read>(
    input: R,
    limits: &ReadLimits,
) -> Result<Vec<(String, Vec<u8>)>, ActesReadError> {
    let mut input = BufReader::new(input);
    let gzip = input.fill_buf()?.starts_with(&[0x1F, 0x8B]);
    let stream: Box<dyn Read> = if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    };
    let exceeded = std::rc::Rc::new(std::cell::Cell::new(false));
    // Headers and padding come on top of the members' bytes.
    let overhead = (limits.members as u64 + 8).saturating_mul(2 * 512 + EXTENSION_MAX);
    let bounded = Bounded {
        inner: stream,
        remaining: limits.total_bytes.saturating_add(overhead),
        exceeded: exceeded.clone(),
    };
    let total_limit = precise_size(limits.total_bytes);
    let io_error = |e: std::io::Error| {
        if exceeded.get() {
            ActesReadError::TotalTooLarge(total_limit.clone())
        } else {
            ActesReadError::Corrupt(e.to_string())
        }
    };
    let mut archive = tar::Archive::new(bounded);
    let entries = archive.entries().map_err(io_error)?.raw(true);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut pending_name: Option<Vec<u8>> = None;
    let mut pending_size: Option<u64> = None;
    let mut total = 0u64;
    let mut headers = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(io_error)?;
        headers += 1;
        if headers > limits.members.saturating_mul(4).saturating_add(16) {
            return Err(ActesReadError::TooManyMembers(group_digits(
                limits.members as u64,
            )));
        }
        let entry_type = entry.header().entry_type();
        let declared = entry.size();
        let header_name = entry.path_bytes().into_owned();
        match entry_type {
            tar::EntryType::GNULongName
            | tar::EntryType::XHeader
            | tar::EntryType::XGlobalHeader => {
                if declared > EXTENSION_MAX {
                    return Err(ActesReadError::ExtensionTooLarge(precise_size(
                        EXTENSION_MAX,
                    )));
                }
                let mut data = Vec::new();
                (&mut entry)
                    .take(EXTENSION_MAX)
                    .read_to_end(&mut data)
                    .map_err(io_error)?;
                match entry_type {
                    tar::EntryType::GNULongName => {
                        while data.last() == Some(&0) {
                            data.pop();
                        }
                        pending_name = Some(data);
                    }
                    tar::EntryType::XHeader => {
                        for (key, value) in pax_records(&data) {
                            match key {
                                b"path" => pending_name = Some(value.to_vec()),
                                b"size" => {
                                    pending_size = std::str::from_utf8(value)
                                        .ok()
                                        .and_then(|v| v.parse().ok())
                                        .or(Some(u64::MAX));
                                }
                                b"linkpath" => {
                                    let nom = String::from_utf8_lossy(&header_name).into_owned();
                                    return Err(ActesReadError::NotRegular {
                                        nom,
                                        genre: t("actes_messages.genre_lien"),
                                    });
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            _ => {}
        }
        let raw_name = pending_name.take().unwrap_or(header_name);
        let size_override = pending_size.take();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let name = check_member_name(&raw_name, &shown)?;
        let genre = match entry_type {
            tar::EntryType::Regular | tar::EntryType::Continuous if !name.ends_with('/') => None,
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {
                Some(t("actes_messages.genre_repertoire"))
            }
            tar::EntryType::Symlink | tar::EntryType::Link | tar::EntryType::GNULongLink => {
                Some(t("actes_messages.genre_lien"))
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                Some(t("actes_messages.genre_peripherique"))
            }
            tar::EntryType::Fifo => Some(t("actes_messages.genre_fifo")),
            _ => Some(t("actes_messages.genre_autre")),
        };
        if let Some(genre) = genre {
            return Err(ActesReadError::NotRegular { nom: shown, genre });
        }
        if size_override.is_some_and(|s| s != declared) {
            return Err(ActesReadError::InconsistentSize(shown));
        }
        if declared > limits.member_bytes {
            return Err(ActesReadError::MemberTooLarge {
                nom: shown,
                taille: precise_size(declared),
                limite: precise_size(limits.member_bytes),
            });
        }
        total = total.saturating_add(declared);
        if total > limits.total_bytes {
            return Err(ActesReadError::TotalTooLarge(total_limit.clone()));
        }
        if out.len() >= limits.members {
            return Err(ActesReadError::TooManyMembers(group_digits(
                limits.members as u64,
            )));
        }
        if !names.insert(name.clone()) {
            return Err(ActesReadError::Duplicate(shown));
        }
        let mut data = Vec::with_capacity(usize::try_from(declared.min(1 << 20)).unwrap_or(0));
        (&mut entry)
            .take(limits.member_bytes.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(io_error)?;
        if data.len() as u64 != declared {
            return Err(ActesReadError::Corrupt(tf(
                "actes_messages.membre_tronque",
                &[("nom", &shown)],
            )));
        }
        out.push((name, data));
    }
    if exceeded.get() {
        return Err(ActesReadError::TotalTooLarge(total_limit));
    }
    Ok(out)
}

/// The `length key=value\n` records of a pax extended header.
fn pax_records(data: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(space) = rest.iter().position(|&b| b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            break;
        };
        if len <= space + 1 || len > rest.len() {
            break;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|&b| b == b'=') {
            out.push((&record[..eq], &record[eq + 1..]));
        }
        rest = &rest[len..];
    }
    out
}

/// Refuses absolute paths and `..`; returns the name without a leading `./`.
fn check_member_name(raw: &[u8], shown: &str) -> Result<String, ActesReadError> {
    let Ok(name) = std::str::from_utf8(raw) else {
        return Err(ActesReadError::BadName(shown.to_owned()));
    };
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(ActesReadError::BadName(shown.to_owned()));
    }
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if name.starts_with(['/', '\\']) || drive {
        return Err(ActesReadError::AbsolutePath(shown.to_owned()));
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Err(ActesReadError::PathTraversal(shown.to_owned()));
    }
    let mut clean = name;
    while let Some(rest) = clean.strip_prefix("./") {
        clean = rest;
    }
    if clean.is_empty() || clean == "." {
        return Ok("./".to_owned());
    }
    Ok(clean.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names() {
        assert!(matches!(
            check_member_name(b"../evil", "../evil"),
            Err(ActesReadError::PathTraversal(_))
        ));
        assert!(matches!(
            check_member_name(b"a/../../evil", "a/../../evil"),
            Err(ActesReadError::PathTraversal(_))
        ));
        assert!(matches!(
            check_member_name(b"/etc/passwd", "/etc/passwd"),
            Err(ActesReadError::AbsolutePath(_))
        ));
        assert!(matches!(
            check_member_name(b"C:\\x", "C:\\x"),
            Err(ActesReadError::AbsolutePath(_))
        ));
        assert_eq!(
            check_member_name(b"./a.xml", "./a.xml").ok().as_deref(),
            Some("a.xml")
        );
    }
}
