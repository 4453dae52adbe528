//! The archive a tiers de télétransmission sends to the ministry: a flat `.tar.gz` holding the
//! envelope (`EnveloppeCLMISILL`), the business message (`Acte`, type 1-1), the act and its
//! annexes renamed by [`names`](super::names).
//!
//! The XML is written in ISO-8859-1 as S²LOW does, accents as single bytes; a character outside
//! Latin-1 (« œ », « € », a typographic dash) becomes a character reference, so nothing is lost.
//! Detached signatures of the files (CMS, DER) go where the schema puts them:
//! `Document/Signature` and `Annexe/Signature`, in base64.
//!
//! The archive is written to a temporary file in the destination folder and renamed at the end:
//! a failure leaves nothing behind. Each file is copied in a stream and its SHA-256 compared with
//! the one computed when it was checked, so that the archive holds exactly what was checked.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::Date;

use super::answers::{Answer, AnswerError, OutputEncoding};
use super::model::{Acte, Collectivite, NS_ACTES, NS_INSEE, Piece, iso_date};
use super::names::{NameError, Nommage, Noms, archive_name, envelope_name, names};
use crate::messages::tf;

/// Detached signatures (CMS, DER) of the act file and of each annex, in the order of the act.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signatures {
    pub document: Option<Vec<u8>>,
    /// One entry per annex (missing entries mean "no signature").
    pub annexes: Vec<Option<Vec<u8>>>,
}

impl Signatures {
    fn annex(&self, i: usize) -> Option<&[u8]> {
        self.annexes.get(i).and_then(|s| s.as_deref())
    }
}

/// When the archive is sent and its serial number that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envoi {
    pub date: Date,
    pub serial: u32,
}

/// An archive written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveConstruite {
    pub chemin: PathBuf,
    pub noms: Noms,
    pub taille: u64,
    /// The envelope and the message were checked against the official ACTES schema.
    pub schema_verifie: bool,
}

/// Why the archive could not be written. Nothing is left behind in any case.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{}", match .0 {
        NameError::Serial(n) => tf("actes.archive.serie", &[("serie", &n.to_string())]),
        NameError::Part(p) => tf("actes.archive.nom", &[("valeur", p)]),
    })]
    Names(NameError),
    #[error("{}", tf("actes.archive.existe", &[("chemin", .0)]))]
    Exists(String),
    #[error("{}", tf("actes.archive.ecriture", &[("chemin", .chemin), ("detail", .detail)]))]
    Io { chemin: String, detail: String },
    #[error("{}", tf("actes.archive.modifie", &[("fichier", .0)]))]
    Changed(String),
    #[error("{}", tf("actes.archive.trop_grosse", &[("taille", &super::files::human_size(*.taille)), ("limite", &super::files::human_size(*.limite))]))]
    TooLarge { taille: u64, limite: u64 },
    #[error("{}", tf("actes.archive.hors_schema", &[("fichier", .fichier), ("detail", .detail)]))]
    Schema { fichier: String, detail: String },
}

/// Checks the XML Paraphe wrote (envelope, message) against the official ACTES schema shipped in
/// the program, before anything is written: the rules already checked what the user typed, this
/// proves the archive is what the préfecture's platform validates. Returns whether the check
/// could run (no libxml2 or no data folder: `false`, and the archive is built all the same).
pub fn check_against_schema(documents: &[(&str, &[u8])]) -> Result<bool, ArchiveError> {
    use crate::xml::schema::Builtin;
    let Ok(data_dir) = crate::settings::data_dir() else {
        return Ok(false);
    };
    let Ok(schema) = Builtin::Actes.load(&data_dir) else {
        return Ok(false);
    };
    for (name, bytes) in documents {
        let findings = schema
            .validate_bytes(name, bytes)
            .map_err(|e| ArchiveError::Schema {
                fichier: (*name).to_owned(),
                detail: e.to_string(),
            })?;
        if let Some(f) = findings.first() {
            let ligne = f
                .lieu
                .ligne
                .map(|l| tf("actes.archive.a_la_ligne", &[("ligne", &l.to_string())]))
                .unwrap_or_default();
            return Err(ArchiveError::Schema {
                fichier: (*name).to_owned(),
                detail: format!("{}{ligne}", f.message),
            });
        }
    }
    Ok(true)
}

/// XML text in ISO-8859-1: Latin-1 characters as one byte each, others as character references.
struct Latin1 {
    out: Vec<u8>,
}

impl Latin1 {
    fn new() -> Latin1 {
        let mut out = Vec::with_capacity(2048);
        out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n");
        Latin1 { out }
    }

    /// Markup we write ourselves (ASCII).
    fn raw(&mut self, s: &str) -> &mut Self {
        self.out.extend_from_slice(s.as_bytes());
        self
    }

    /// Character data or attribute value, escaped. In attributes, white space other than the
    /// space is written as a reference so that attribute normalisation keeps it.
    fn escaped(&mut self, s: &str, attribute: bool) -> &mut Self {
        for c in s.chars() {
            let code = u32::from(c);
            match c {
                '&' => self.out.extend_from_slice(b"&amp;"),
                '<' => self.out.extend_from_slice(b"&lt;"),
                '>' => self.out.extend_from_slice(b"&gt;"),
                '"' if attribute => self.out.extend_from_slice(b"&quot;"),
                '\r' => self.out.extend_from_slice(b"&#13;"),
                '\t' | '\n' if attribute => {
                    self.out.extend_from_slice(format!("&#{code};").as_bytes())
                }
                // Latin-1 is the first 256 code points: the byte is the code point.
                _ if code <= 0xFF => self.out.push(code as u8),
                _ => self.out.extend_from_slice(format!("&#{code};").as_bytes()),
            }
        }
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.escaped(s, false)
    }

    fn attr(&mut self, name: &str, value: &str) -> &mut Self {
        self.raw(" ")
            .raw(name)
            .raw("=\"")
            .escaped(value, true)
            .raw("\"")
    }

    /// `<name>text</name>` on its own line.
    fn element(&mut self, indent: &str, name: &str, text: &str) -> &mut Self {
        self.raw(indent)
            .raw("<")
            .raw(name)
            .raw(">")
            .text(text)
            .raw("</")
            .raw(name)
            .raw(">\n")
    }

    fn root_namespaces(&mut self) -> &mut Self {
        self.attr("xmlns:actes", NS_ACTES)
            .attr("xmlns:insee", NS_INSEE)
            .attr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
            .attr("xsi:schemaLocation", &format!("{NS_ACTES} actesv1_1.xsd"))
    }
}

fn signed_file(x: &mut Latin1, indent: &str, element: &str, name: &str, signature: Option<&[u8]>) {
    let inner = format!("{indent}  ");
    x.raw(indent).raw("<").raw(element).raw(">\n");
    x.element(&inner, "actes:NomFichier", name);
    if let Some(sig) = signature {
        x.element(
            &inner,
            "actes:Signature",
            &openssl::base64::encode_block(sig),
        );
    }
    x.raw(indent).raw("</").raw(element).raw(">\n");
}

/// The business message `Acte` (1-1).
pub fn message_xml(acte: &Acte, noms: &Noms, signatures: &Signatures) -> Vec<u8> {
    let mut x = Latin1::new();
    x.raw("<actes:Acte").root_namespaces();
    x.attr("actes:Date", &iso_date(acte.date_decision))
        .attr("actes:NumeroInterne", &acte.numero)
        .attr("actes:CodeNatureActe", &acte.nature.code().to_string())
        .raw(">\n");
    for (i, level) in acte.matiere.levels().iter().enumerate() {
        let name = format!("actes:CodeMatiere{}", i + 1);
        x.raw("  <")
            .raw(&name)
            .attr("actes:CodeMatiere", &level.to_string())
            .raw("/>\n");
    }
    x.element("  ", "actes:Objet", &acte.objet);
    x.element(
        "  ",
        "actes:ClassificationDateVersion",
        &iso_date(acte.classification_date),
    );
    signed_file(
        &mut x,
        "  ",
        "actes:Document",
        &noms.document,
        signatures.document.as_deref(),
    );
    x.raw("  <actes:Annexes")
        .attr("actes:Nombre", &acte.annexes.len().to_string());
    if noms.annexes.is_empty() {
        x.raw("/>\n");
    } else {
        x.raw(">\n");
        for (i, name) in noms.annexes.iter().enumerate() {
            signed_file(&mut x, "    ", "actes:Annexe", name, signatures.annex(i));
        }
        x.raw("  </actes:Annexes>\n");
    }
    x.element(
        "  ",
        "actes:DocumentPapier",
        if acte.document_papier { "O" } else { "N" },
    );
    x.raw("</actes:Acte>\n");
    x.out
}

/// The envelope `EnveloppeCLMISILL`.
pub fn envelope_xml(collectivite: &Collectivite, noms: &Noms) -> Vec<u8> {
    envelope_for_message(collectivite, &noms.message)
}

/// The envelope `EnveloppeCLMISILL` sending the business message `message` (an act's or an
/// answer's).
pub fn envelope_for_message(collectivite: &Collectivite, message: &str) -> Vec<u8> {
    let c = collectivite;
    let mut x = Latin1::new();
    x.raw("<actes:EnveloppeCLMISILL")
        .root_namespaces()
        .raw(">\n  <actes:Emetteur>\n    <actes:IDCL")
        .attr("insee:SIREN", &c.siren)
        .attr("actes:Departement", &c.departement)
        .attr("actes:Arrondissement", &c.arrondissement)
        .attr("actes:Nature", &c.nature)
        .raw("/>\n");
    if c.has_referent() {
        x.raw("    <actes:Referent>\n");
        if let Some(v) = &c.referent_nom {
            x.element("      ", "actes:Nom", v);
        }
        if let Some(v) = &c.referent_telephone {
            x.element("      ", "actes:Telephone", v);
        }
        if let Some(v) = &c.referent_email {
            x.element("      ", "actes:Email", v);
        }
        x.raw("    </actes:Referent>\n");
    }
    x.raw("  </actes:Emetteur>\n  <actes:AdressesRetour>\n");
    for email in &c.emails_retour {
        x.element("    ", "actes:Email", email);
    }
    x.raw("  </actes:AdressesRetour>\n  <actes:FormulairesEnvoyes>\n    <actes:Formulaire>\n");
    x.element("      ", "actes:NomFichier", message);
    x.raw("    </actes:Formulaire>\n  </actes:FormulairesEnvoyes>\n</actes:EnveloppeCLMISILL>\n");
    x.out
}

/// Builds the archive of `acte` at `destination` (a folder: the archive gets its standard name
/// there; otherwise the file to write). Refuses to replace an existing file. `limite` bounds the
/// archive's size.
pub fn build(
    acte: &Acte,
    collectivite: &Collectivite,
    nommage: &Nommage,
    envoi: Envoi,
    signatures: &Signatures,
    destination: &Path,
    limite: u64,
) -> Result<ArchiveConstruite, ArchiveError> {
    let noms = names(acte, collectivite, nommage, envoi.date, envoi.serial)
        .map_err(ArchiveError::Names)?;
    let target = if destination.is_dir() {
        destination.join(&noms.archive)
    } else {
        destination.to_owned()
    };
    let envelope = envelope_xml(collectivite, &noms);
    let message = message_xml(acte, &noms, signatures);
    let schema_verifie = check_against_schema(&[
        (noms.enveloppe.as_str(), envelope.as_slice()),
        (noms.message.as_str(), message.as_slice()),
    ])?;
    let mut archive = TarGz::create(&target)?;
    for (name, bytes) in [(&noms.enveloppe, &envelope), (&noms.message, &message)] {
        archive
            .append(name, bytes.len() as u64, &mut bytes.as_slice())
            .map_err(|e| archive.io(e))?;
    }
    let files: Vec<(&Piece, &String)> = std::iter::once((&acte.document, &noms.document))
        .chain(acte.annexes.iter().zip(noms.annexes.iter()))
        .collect();
    for (piece, name) in files {
        let fichier = super::files::display_name(&piece.chemin);
        let file = File::open(&piece.chemin).map_err(|e| ArchiveError::Io {
            chemin: piece.chemin.display().to_string(),
            detail: e.to_string(),
        })?;
        let len = file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| ArchiveError::Io {
                chemin: piece.chemin.display().to_string(),
                detail: e.to_string(),
            })?;
        if len != piece.taille {
            return Err(ArchiveError::Changed(fichier));
        }
        let mut reader = crate::hashing::Sha256Reader::new(file.take(piece.taille));
        archive
            .append(name, piece.taille, &mut reader)
            .map_err(|e| {
                // A file that shrank makes tar fail for want of bytes: say it changed.
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    ArchiveError::Changed(fichier.clone())
                } else {
                    archive.io(e)
                }
            })?;
        if reader.finish() != piece.sha256 {
            return Err(ArchiveError::Changed(fichier));
        }
    }
    let taille = archive.finish(&target, limite)?;
    Ok(ArchiveConstruite {
        chemin: target,
        noms,
        taille,
        schema_verifie,
    })
}

/// An answer's archive written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReponseConstruite {
    pub chemin: PathBuf,
    pub archive: String,
    pub enveloppe: String,
    pub message: String,
    pub documents: Vec<String>,
    pub taille: u64,
}

/// Why an answer's archive could not be written. Nothing is left behind in any case.
#[derive(Debug, thiserror::Error)]
pub enum AnswerArchiveError {
    #[error("{0}")]
    Answer(#[from] AnswerError),
    #[error("{0}")]
    File(#[from] super::files::FileProblem),
    #[error("{0}")]
    Archive(#[from] ArchiveError),
}

/// Builds the archive of an answer (2-2, 3-x, 4-x, 6-1) as a tiers de télétransmission sends
/// it: the collectivité's envelope listing the answer's message, the message, and the
/// documents (PDF, JPEG or PNG, judged by content) named `{IDActe}-{code}_{n}.{ext}`.
/// `answer.documents` is ignored: the names come from `fichiers`. `destination` is a folder
/// (the archive gets its standard name there) or the file to write; an existing file is never
/// replaced. Each document is read once, checked, and those very bytes go in the archive.
#[allow(clippy::too_many_arguments)]
pub fn build_answer(
    answer: &Answer,
    fichiers: &[PathBuf],
    collectivite: &Collectivite,
    nommage: &Nommage,
    envoi: Envoi,
    destination: &Path,
    limite: u64,
) -> Result<ReponseConstruite, AnswerArchiveError> {
    use super::files::{inspect_bytes, read_limited};
    use super::model::Format;
    let accepted = [Format::Pdf, Format::Jpeg, Format::Png];
    let attendu = crate::messages::t("actes.regles.attendu_annexe");
    // The count first: no need to read files for an answer that cannot carry them.
    let mut answer = Answer {
        documents: fichiers
            .iter()
            .enumerate()
            .map(|(i, _)| answer.document_file_name(i + 1, "pdf"))
            .collect(),
        ..answer.clone()
    };
    answer.check()?;
    let mut contents = Vec::with_capacity(fichiers.len());
    let mut names = Vec::with_capacity(fichiers.len());
    let mut total: u64 = 0;
    for (i, path) in fichiers.iter().enumerate() {
        let nom = super::files::display_name(path);
        let bytes = read_limited(path, limite.saturating_sub(total))?;
        let info = inspect_bytes(&nom, &bytes, limite, &accepted, &attendu)?;
        total = total.saturating_add(info.taille);
        names.push(answer.document_file_name(i + 1, info.format.extension()));
        contents.push(bytes);
    }
    answer.documents = names;
    let message = answer.to_xml(OutputEncoding::Latin1)?;
    let enveloppe = envelope_name(
        &nommage.application,
        &collectivite.siren,
        envoi.date,
        envoi.serial,
    )
    .map_err(ArchiveError::Names)?;
    let archive = archive_name(&nommage.trigramme, &enveloppe).map_err(ArchiveError::Names)?;
    let target = if destination.is_dir() {
        destination.join(&archive)
    } else {
        destination.to_owned()
    };
    let envelope = envelope_for_message(collectivite, &answer.file_name());
    let message_name = answer.file_name();
    let mut entries: Vec<(&str, &[u8])> = vec![
        (enveloppe.as_str(), envelope.as_slice()),
        (message_name.as_str(), message.as_slice()),
    ];
    check_against_schema(&entries)?;
    for (name, bytes) in answer.documents.iter().zip(contents.iter()) {
        entries.push((name.as_str(), bytes.as_slice()));
    }
    let taille = write_tar_gz(&target, &entries, limite)?;
    Ok(ReponseConstruite {
        chemin: target,
        archive,
        enveloppe,
        message: message_name,
        documents: answer.documents,
        taille,
    })
}

/// Writes a flat `.tar.gz` of `entries` (see [`TarGz`]). Returns the archive's size.
fn write_tar_gz(
    target: &Path,
    entries: &[(&str, &[u8])],
    limite: u64,
) -> Result<u64, ArchiveError> {
    let mut archive = TarGz::create(target)?;
    for (name, bytes) in entries {
        archive
            .append(name, bytes.len() as u64, &mut &bytes[..])
            .map_err(|e| archive.io(e))?;
    }
    archive.finish(target, limite)
}

/// A flat `.tar.gz` written to a temporary file beside its target and renamed into place only
/// when complete and within the size limit, never replacing an existing file: an interrupted or
/// refused archive leaves nothing behind (the temporary file is removed on drop).
struct TarGz {
    shown: String,
    mtime: u64,
    tar: tar::Builder<flate2::write::GzEncoder<BufWriter<File>>>,
    temp: tempfile::NamedTempFile,
}

impl TarGz {
    fn io(&self, e: std::io::Error) -> ArchiveError {
        ArchiveError::Io {
            chemin: self.shown.clone(),
            detail: e.to_string(),
        }
    }

    fn create(target: &Path) -> Result<TarGz, ArchiveError> {
        let shown = target.display().to_string();
        let io = |e: std::io::Error| ArchiveError::Io {
            chemin: shown.clone(),
            detail: e.to_string(),
        };
        if target.exists() {
            return Err(ArchiveError::Exists(shown));
        }
        let folder = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        // Same folder as the target: the final rename cannot cross file systems.
        let temp = crate::files::temp_in(&folder, "archive").map_err(io)?;
        let file = temp.as_file().try_clone().map_err(io)?;
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let gz =
            flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
        Ok(TarGz {
            shown,
            mtime,
            tar: tar::Builder::new(gz),
            temp,
        })
    }

    /// One regular member of `size` bytes read from `data`.
    fn append(&mut self, name: &str, size: u64, data: &mut dyn Read) -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut h, name, data)
    }

    /// Complete, sync, check the size against `limite`, and rename into place.
    fn finish(self, target: &Path, limite: u64) -> Result<u64, ArchiveError> {
        let TarGz {
            shown, tar, temp, ..
        } = self;
        let io = |e: std::io::Error| ArchiveError::Io {
            chemin: shown.clone(),
            detail: e.to_string(),
        };
        let gz = tar.into_inner().map_err(io)?;
        let mut writer = gz.finish().map_err(io)?;
        writer.flush().map_err(io)?;
        drop(writer);
        temp.as_file().sync_all().map_err(io)?;
        let taille = temp.as_file().metadata().map_err(io)?.len();
        if taille > limite {
            return Err(ArchiveError::TooLarge { taille, limite });
        }
        temp.persist_noclobber(target).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                ArchiveError::Exists(shown.clone())
            } else {
                io(e.error)
            }
        })?;
        Ok(taille)
    }
}
