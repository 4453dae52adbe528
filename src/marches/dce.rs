//! The *dossier de consultation des entreprises* (DCE): a description of the consultation (what
//! the four tabs of the window hold: consultation, pièces, réponse électronique, publication) is
//! checked, then the DCE is built as one ZIP with a manifest (every file with its SHA-256),
//! optionally signed (CAdES detached signature of the manifest: signing the ZIP would not sign the
//! files inside it, signing the manifest that lists their digests does).

use crate::actes::files::{Detected, SNIFF_LEN, detect};
use crate::certs::{CertificateInfo, Role, iso8601};
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// A piece of the DCE above this size is refused (platforms limit uploads; bidders download it).
const PIECE_LIMIT: u64 = 200 * 1024 * 1024;
/// Names longer than this are hard to handle on some workstations (path limits once unpacked).
const NAME_WARNING_LENGTH: usize = 100;

/// The description of a consultation (`consultation.toml`); paths are relative to its folder.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DceDescription {
    pub consultation: Consultation,
    #[serde(default)]
    pub lots: Vec<Lot>,
    #[serde(default)]
    pub pieces: Vec<Piece>,
    #[serde(default)]
    pub reponse: Reponse,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Consultation {
    pub objet: String,
    pub reference: String,
    /// adaptee, ouverte, restreinte, negociee, dialogue_competitif, concours.
    pub procedure: String,
    #[serde(default)]
    pub acheteur: Option<String>,
    /// `AAAA-MM-JJ`; today when absent.
    #[serde(default)]
    pub date_publication: Option<String>,
    /// Deadline for bids, RFC 3339 (`2027-01-15T12:00:00+01:00`).
    pub date_limite: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Lot {
    pub numero: u32,
    pub intitule: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Piece {
    /// RC, CCAP, CCTP, CCAG, AE, ATTRI1, BPU, DPGF, DQE, DC1, DC2, DC4, DUME, PLAN, ANNEXE, AUTRE.
    #[serde(rename = "type")]
    pub kind: String,
    pub fichier: PathBuf,
    /// The lot the piece belongs to; none for the whole consultation.
    #[serde(default)]
    pub lot: Option<u32>,
    /// Its name in the DCE; the file's name when absent.
    #[serde(default)]
    pub nom: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Reponse {
    /// Piece types the bidders must sign (e.g. AE, ATTRI1).
    #[serde(default)]
    pub signature_exigee: Vec<String>,
    /// Formats accepted in bids (pdf, odt, docx, xlsx, ods, zip…).
    #[serde(default)]
    pub formats: Vec<String>,
    /// The buyer's encryption certificates (PEM or DER), which bidders' tools encrypt for.
    #[serde(default)]
    pub certificats_chiffrement: Vec<PathBuf>,
}

const PROCEDURES: &[&str] = &[
    "adaptee",
    "ouverte",
    "restreinte",
    "negociee",
    "dialogue_competitif",
    "concours",
];
const PIECE_TYPES: &[&str] = &[
    "RC", "CCAP", "CCTP", "CCAG", "AE", "ATTRI1", "BPU", "DPGF", "DQE", "DC1", "DC2", "DC4",
    "DUME", "PLAN", "ANNEXE", "AUTRE",
];
const BID_FORMATS: &[&str] = &[
    "pdf", "odt", "ods", "odp", "docx", "xlsx", "pptx", "doc", "xls", "rtf", "txt", "jpg", "png",
    "zip", "dwg", "xml",
];

/// The file types a DCE may hold, from their content.
fn acceptable(detected: Detected) -> bool {
    matches!(
        detected,
        Detected::Pdf
            | Detected::OfficeOpenXml
            | Detected::OpenDocument
            | Detected::OfficeAncien
            | Detected::Rtf
            | Detected::Zip
            | Detected::Jpeg
            | Detected::Png
            | Detected::Texte
            | Detected::Xml
    )
}

/// Does the name's extension agree with the content?
fn extension_agrees(name: &str, detected: Detected) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match detected {
        Detected::Pdf => ext == "pdf",
        Detected::OfficeOpenXml => {
            matches!(ext.as_str(), "docx" | "xlsx" | "pptx" | "docm" | "xlsm")
        }
        Detected::OpenDocument => matches!(ext.as_str(), "odt" | "ods" | "odp" | "odg"),
        Detected::OfficeAncien => matches!(ext.as_str(), "doc" | "xls" | "ppt"),
        Detected::Rtf => ext == "rtf",
        Detected::Zip => ext == "zip",
        Detected::Jpeg => matches!(ext.as_str(), "jpg" | "jpeg"),
        Detected::Png => ext == "png",
        Detected::Texte => matches!(ext.as_str(), "txt" | "csv"),
        Detected::Xml => ext == "xml",
        _ => false,
    }
}

fn at(element: String) -> Location {
    Location {
        element: Some(element),
        ..Location::default()
    }
}

fn unsafe_name(name: &str) -> bool {
    name.is_empty()
        || name.chars().any(|c| {
            matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control()
        })
        || name.starts_with('.')
}

/// A piece as checked: where it comes from and where it goes in the ZIP.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedPiece {
    #[serde(rename = "type")]
    pub kind: String,
    pub lot: Option<u32>,
    /// Path inside the ZIP.
    pub chemin: String,
    #[serde(skip)]
    pub source: PathBuf,
    pub taille: u64,
}

/// An encryption certificate as checked.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedCertificate {
    pub chemin: String,
    pub sujet: String,
    pub emetteur: String,
    pub fin_validite: String,
    pub sha256: String,
    #[serde(skip)]
    pub pem: String,
}

/// The outcome of checking a description.
#[derive(Debug, Clone, Serialize)]
pub struct DceCheck {
    pub constats: Vec<Finding>,
    pub pieces: Vec<CheckedPiece>,
    pub certificats: Vec<CheckedCertificate>,
}

impl DceCheck {
    pub fn is_blocking(&self) -> bool {
        self.constats.iter().any(Finding::is_blocking)
    }
}

/// A deadline typed as French users write it (`15/01/2027`, `12:00`), as RFC 3339 in Paris time
/// (the offset in force that day, from the bundled tz database: `crate::clock`).
pub fn paris_deadline(date: &str, hour: &str) -> Result<String, String> {
    let bad = || t("marches.dce.date_limite_illisible_fr");
    let date = time::Date::parse(
        date.trim(),
        time::macros::format_description!("[day]/[month]/[year]"),
    )
    .map_err(|_| bad())?;
    let clock = time::Time::parse(
        hour.trim(),
        time::macros::format_description!("[hour]:[minute]"),
    )
    .map_err(|_| bad())?;
    let small = |v: u8| i8::try_from(v).map_err(|_| bad());
    crate::clock::paris_rfc3339(
        i16::try_from(date.year()).map_err(|_| bad())?,
        small(u8::from(date.month()))?,
        small(date.day())?,
        small(clock.hour())?,
        small(clock.minute())?,
    )
    .ok_or_else(bad)
}

/// Read `consultation.toml`.
pub fn load(path: &Path) -> Result<DceDescription, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        tf(
            "marches.dce.lecture",
            &[
                ("chemin", &path.display().to_string()),
                ("detail", &e.to_string()),
            ],
        )
    })?;
    toml::from_str(&text).map_err(|e| {
        tf(
            "marches.dce.description_invalide",
            &[
                ("chemin", &path.display().to_string()),
                ("detail", &e.to_string()),
            ],
        )
    })
}

/// Every rule, each broken one a French finding naming the field or the piece.
pub fn check(description: &DceDescription, base: &Path, now: OffsetDateTime) -> DceCheck {
    let mut findings = Vec::new();
    let c = &description.consultation;
    let blocking = |code, message: String, element: &str| {
        Finding::blocking(code, message, at(element.to_owned()))
    };
    let warning = |code, message: String, element: &str| {
        Finding::warning(code, message, at(element.to_owned()))
    };

    // Consultation.
    if c.objet.trim().is_empty() {
        findings.push(blocking(
            "dce.objet",
            t("marches.dce.objet_vide"),
            "consultation.objet",
        ));
    }
    if c.reference.trim().is_empty() || unsafe_name(c.reference.trim()) {
        findings.push(blocking(
            "dce.reference",
            t("marches.dce.reference"),
            "consultation.reference",
        ));
    }
    if !PROCEDURES.contains(&c.procedure.as_str()) {
        findings.push(blocking(
            "dce.procedure",
            tf(
                "marches.dce.procedure",
                &[
                    ("procedure", &c.procedure),
                    ("connues", &PROCEDURES.join(", ")),
                ],
            ),
            "consultation.procedure",
        ));
    }
    let deadline = OffsetDateTime::parse(
        &c.date_limite,
        &time::format_description::well_known::Rfc3339,
    )
    .ok();
    let publication = match &c.date_publication {
        Some(d) => time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
            .ok()
            .map(|d| d.midnight().assume_utc()),
        None => Some(now),
    };
    match deadline {
        None => findings.push(blocking(
            "dce.date_limite",
            t("marches.dce.date_limite_illisible"),
            "consultation.date_limite",
        )),
        Some(d) if d <= now => findings.push(blocking(
            "dce.date_limite",
            t("marches.dce.date_limite_passee"),
            "consultation.date_limite",
        )),
        Some(d) => {
            if let Some(p) = publication
                && c.procedure == "ouverte"
                && (d - p).whole_days() < 30
            {
                findings.push(warning(
                    "dce.delai",
                    tf(
                        "marches.dce.delai_court",
                        &[("jours", &(d - p).whole_days().to_string())],
                    ),
                    "consultation.date_limite",
                ));
            }
        }
    }
    if c.date_publication.is_some() && publication.is_none() {
        findings.push(blocking(
            "dce.date_publication",
            t("marches.dce.date_publication"),
            "consultation.date_publication",
        ));
    }

    // Lots.
    let mut numbers = std::collections::BTreeSet::new();
    for lot in &description.lots {
        if !numbers.insert(lot.numero) {
            findings.push(blocking(
                "dce.lot",
                tf("marches.dce.lot_double", &[("n", &lot.numero.to_string())]),
                "lots",
            ));
        }
        if lot.intitule.trim().is_empty() {
            findings.push(blocking(
                "dce.lot",
                tf(
                    "marches.dce.lot_sans_intitule",
                    &[("n", &lot.numero.to_string())],
                ),
                "lots",
            ));
        }
    }

    // Pieces.
    let mut pieces = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (index, piece) in description.pieces.iter().enumerate() {
        let element = format!("pieces[{}]", index + 1);
        let kind = piece.kind.to_ascii_uppercase();
        if !PIECE_TYPES.contains(&kind.as_str()) {
            findings.push(warning(
                "dce.type_piece",
                tf("marches.dce.type_inconnu", &[("type", &piece.kind)]),
                &element,
            ));
        }
        if let Some(lot) = piece.lot
            && !numbers.contains(&lot)
        {
            findings.push(blocking(
                "dce.lot_inconnu",
                tf("marches.dce.lot_inconnu", &[("n", &lot.to_string())]),
                &element,
            ));
        }
        let source = base.join(&piece.fichier);
        let name = piece.nom.clone().unwrap_or_else(|| {
            piece
                .fichier
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        if unsafe_name(&name) {
            findings.push(blocking(
                "dce.nom",
                tf("marches.dce.nom_interdit", &[("nom", &name)]),
                &element,
            ));
            continue;
        }
        if name.chars().count() > NAME_WARNING_LENGTH {
            findings.push(warning(
                "dce.nom",
                tf("marches.dce.nom_long", &[("nom", &name)]),
                &element,
            ));
        }
        let chemin = match piece.lot {
            Some(lot) => format!("pieces/lot-{lot}/{name}"),
            None => format!("pieces/{name}"),
        };
        if !names.insert(chemin.to_lowercase()) {
            findings.push(blocking(
                "dce.nom",
                tf("marches.dce.nom_double", &[("nom", &chemin)]),
                &element,
            ));
            continue;
        }
        let size = match std::fs::metadata(&source) {
            Ok(m) if m.is_file() => m.len(),
            _ => {
                findings.push(blocking(
                    "dce.fichier",
                    tf(
                        "marches.dce.fichier_absent",
                        &[("chemin", &source.display().to_string())],
                    ),
                    &element,
                ));
                continue;
            }
        };
        if size > PIECE_LIMIT {
            findings.push(blocking(
                "dce.taille",
                tf("marches.dce.trop_gros", &[("nom", &name)]),
                &element,
            ));
            continue;
        }
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let read = std::fs::File::open(&source)
            .and_then(|f| f.take(SNIFF_LEN as u64).read_to_end(&mut head));
        if read.is_err() {
            findings.push(blocking(
                "dce.fichier",
                tf(
                    "marches.dce.fichier_absent",
                    &[("chemin", &source.display().to_string())],
                ),
                &element,
            ));
            continue;
        }
        let detected = detect(&head);
        if !acceptable(detected) {
            findings.push(blocking(
                "dce.format",
                tf(
                    "marches.dce.format_refuse",
                    &[("nom", &name), ("type", &detected.description())],
                ),
                &element,
            ));
            continue;
        }
        if !extension_agrees(&name, detected) {
            findings.push(blocking(
                "dce.extension",
                tf(
                    "marches.dce.extension_menteuse",
                    &[("nom", &name), ("type", &detected.description())],
                ),
                &element,
            ));
            continue;
        }
        pieces.push(CheckedPiece {
            kind,
            lot: piece.lot,
            chemin,
            source,
            taille: size,
        });
    }
    if !pieces.iter().any(|p| p.kind == "RC") {
        findings.push(blocking("dce.rc", t("marches.dce.sans_rc"), "pieces"));
    }
    if c.procedure != "adaptee" && !pieces.iter().any(|p| p.kind == "AE" || p.kind == "ATTRI1") {
        findings.push(warning("dce.ae", t("marches.dce.sans_ae"), "pieces"));
    }
    for expected in ["CCAP", "CCTP"] {
        if !pieces.iter().any(|p| p.kind == expected) {
            findings.push(warning(
                "dce.piece_usuelle",
                tf("marches.dce.piece_usuelle", &[("type", expected)]),
                "pieces",
            ));
        }
    }

    // Réponse électronique.
    let r = &description.reponse;
    for kind in &r.signature_exigee {
        if !PIECE_TYPES.contains(&kind.to_ascii_uppercase().as_str()) {
            findings.push(warning(
                "dce.signature_exigee",
                tf("marches.dce.type_inconnu", &[("type", kind)]),
                "reponse.signature_exigee",
            ));
        }
    }
    for format in &r.formats {
        if !BID_FORMATS.contains(&format.to_ascii_lowercase().as_str()) {
            findings.push(warning(
                "dce.formats",
                tf("marches.dce.format_inconnu", &[("format", format)]),
                "reponse.formats",
            ));
        }
    }
    if r.formats.is_empty() {
        findings.push(warning(
            "dce.formats",
            t("marches.dce.sans_formats"),
            "reponse.formats",
        ));
    }
    let mut certificats = Vec::new();
    for (index, path) in r.certificats_chiffrement.iter().enumerate() {
        let element = format!("reponse.certificats_chiffrement[{}]", index + 1);
        match read_certificate(&base.join(path)) {
            Err(detail) => findings.push(blocking(
                "dce.certificat",
                tf(
                    "marches.dce.certificat_illisible",
                    &[("chemin", &path.display().to_string()), ("detail", &detail)],
                ),
                &element,
            )),
            Ok((info, der, pem)) => {
                let name = info.display_name().to_owned();
                if !info.has_role(Role::Chiffrement) {
                    findings.push(blocking(
                        "dce.certificat",
                        tf("marches.dce.certificat_pas_chiffrement", &[("nom", &name)]),
                        &element,
                    ));
                }
                if let Some(d) = deadline {
                    if info.not_after < d {
                        findings.push(blocking(
                            "dce.certificat",
                            tf(
                                "marches.dce.certificat_expire_avant",
                                &[
                                    ("nom", &name),
                                    ("date", &crate::certs::date_fr(info.not_after)),
                                ],
                            ),
                            &element,
                        ));
                    } else if (info.not_after - d).whole_days() < 90 {
                        findings.push(warning(
                            "dce.certificat",
                            tf(
                                "marches.dce.certificat_expire_bientot",
                                &[
                                    ("nom", &name),
                                    ("date", &crate::certs::date_fr(info.not_after)),
                                ],
                            ),
                            &element,
                        ));
                    }
                }
                let file_name = format!(
                    "chiffrement/{}.pem",
                    crate::actes::files::display_name(path)
                        .trim_end_matches(".pem")
                        .trim_end_matches(".crt")
                        .trim_end_matches(".cer")
                        .trim_end_matches(".der")
                );
                certificats.push(CheckedCertificate {
                    chemin: file_name,
                    sujet: info.subject.clone(),
                    emetteur: info.issuer.clone(),
                    fin_validite: iso8601(info.not_after),
                    sha256: hex::encode(openssl::sha::sha256(&der)),
                    pem,
                });
            }
        }
    }
    if r.certificats_chiffrement.is_empty() {
        findings.push(warning(
            "dce.certificat",
            t("marches.dce.sans_certificat"),
            "reponse.certificats_chiffrement",
        ));
    }
    DceCheck {
        constats: findings,
        pieces,
        certificats,
    }
}

/// A certificate file, PEM or DER: its description, DER and PEM.
fn read_certificate(path: &Path) -> Result<(CertificateInfo, Vec<u8>, String), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let x509 = openssl::x509::X509::from_pem(&bytes)
        .or_else(|_| openssl::x509::X509::from_der(&bytes))
        .map_err(|_| t("marches.dce.pas_un_certificat"))?;
    let der = x509.to_der().map_err(|e| e.to_string())?;
    let pem =
        String::from_utf8(x509.to_pem().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let info = CertificateInfo::from_der(&der).map_err(|e| e.to_string())?;
    Ok((info, der, pem))
}

/// What goes into `manifeste.json`.
#[derive(Debug, Clone, Serialize)]
struct Manifest<'a> {
    format: &'static str,
    cree_le: String,
    outil: String,
    consultation: &'a Consultation,
    lots: &'a [Lot],
    pieces: Vec<ManifestEntry>,
    reponse: ManifestResponse<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestEntry {
    pub chemin: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub lot: Option<u32>,
    pub taille: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
struct ManifestResponse<'a> {
    signature_exigee: &'a [String],
    formats: &'a [String],
    certificats_chiffrement: &'a [CheckedCertificate],
}

/// What was built.
#[derive(Debug, Clone, Serialize)]
pub struct BuiltDce {
    pub fichier: PathBuf,
    pub pieces: Vec<ManifestEntry>,
    pub manifeste_sha256: String,
    pub signe: bool,
}

pub const MANIFEST_NAME: &str = "manifeste.json";

/// Given the manifest's SHA-256, a detached CMS signature of it (or a French error).
pub type ManifestSigner<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, String> + 'a;

/// Build the DCE ZIP at `output` from a checked description. `sign`: given the manifest's
/// SHA-256, returns a detached CMS signature to store beside it (`manifeste.json.p7s`).
pub fn build(
    description: &DceDescription,
    checked: &DceCheck,
    output: &Path,
    now: OffsetDateTime,
    sign: Option<&mut ManifestSigner<'_>>,
) -> Result<BuiltDce, String> {
    let write_error = |e: &dyn std::fmt::Display| {
        tf(
            "marches.dce.ecriture",
            &[
                ("chemin", &output.display().to_string()),
                ("detail", &e.to_string()),
            ],
        )
    };
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = crate::files::temp_in(dir, "dce").map_err(|e| write_error(&e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(temp));
    // The entries carry the build time (UTC), not the 1980 default.
    let stamp = zip::DateTime::from_date_and_time(
        u16::try_from(now.year()).unwrap_or(1980),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
    )
    .unwrap_or_default();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp)
        .unix_permissions(0o644);
    let mut entries = Vec::new();
    for piece in &checked.pieces {
        zip.start_file(piece.chemin.as_str(), options)
            .map_err(|e| write_error(&e))?;
        let mut source = std::fs::File::open(&piece.source).map_err(|e| write_error(&e))?;
        let (digest, size) =
            crate::hashing::copy_hashed(&mut source, &mut zip).map_err(|e| write_error(&e))?;
        entries.push(ManifestEntry {
            chemin: piece.chemin.clone(),
            kind: piece.kind.clone(),
            lot: piece.lot,
            taille: size,
            sha256: hex::encode(digest),
        });
    }
    for cert in &checked.certificats {
        zip.start_file(cert.chemin.as_str(), options)
            .map_err(|e| write_error(&e))?;
        zip.write_all(cert.pem.as_bytes())
            .map_err(|e| write_error(&e))?;
    }
    let manifest = Manifest {
        format: "paraphe-dce-1",
        cree_le: iso8601(now),
        outil: format!("Paraphe {}", env!("CARGO_PKG_VERSION")),
        consultation: &description.consultation,
        lots: &description.lots,
        pieces: entries.clone(),
        reponse: ManifestResponse {
            signature_exigee: &description.reponse.signature_exigee,
            formats: &description.reponse.formats,
            certificats_chiffrement: &checked.certificats,
        },
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| write_error(&e))?;
    let manifest_sha256 = openssl::sha::sha256(&manifest_bytes);
    zip.start_file(MANIFEST_NAME, options)
        .map_err(|e| write_error(&e))?;
    zip.write_all(&manifest_bytes)
        .map_err(|e| write_error(&e))?;
    let signed = match sign {
        Some(sign) => {
            let signature = sign(&manifest_sha256)?;
            zip.start_file(format!("{MANIFEST_NAME}.p7s"), options)
                .map_err(|e| write_error(&e))?;
            zip.write_all(&signature).map_err(|e| write_error(&e))?;
            true
        }
        None => false,
    };
    let writer = zip.finish().map_err(|e| write_error(&e))?;
    let temp = writer
        .into_inner()
        .map_err(|e| write_error(&e.into_error()))?;
    temp.as_file().sync_all().map_err(|e| write_error(&e))?;
    temp.persist(output).map_err(|e| write_error(&e.error))?;
    Ok(BuiltDce {
        fichier: output.to_owned(),
        pieces: entries,
        manifeste_sha256: hex::encode(manifest_sha256),
        signe: signed,
    })
}

#[cfg(test)]
mod tests {
    use super::paris_deadline;

    #[test]
    fn paris_deadlines_follow_summer_time() {
        assert_eq!(
            paris_deadline("15/01/2027", "12:00").as_deref(),
            Ok("2027-01-15T12:00:00+01:00")
        );
        assert_eq!(
            paris_deadline("15/07/2027", "12:00").as_deref(),
            Ok("2027-07-15T12:00:00+02:00")
        );
        // 2027: summer time from Sunday 28 March to Sunday 31 October.
        assert_eq!(
            paris_deadline("28/03/2027", "10:00").as_deref(),
            Ok("2027-03-28T10:00:00+02:00")
        );
        assert_eq!(
            paris_deadline("27/03/2027", "10:00").as_deref(),
            Ok("2027-03-27T10:00:00+01:00")
        );
        assert_eq!(
            paris_deadline("31/10/2027", "10:00").as_deref(),
            Ok("2027-10-31T10:00:00+01:00")
        );
        assert_eq!(
            paris_deadline("30/10/2027", "23:59").as_deref(),
            Ok("2027-10-30T23:59:00+02:00")
        );
        assert!(paris_deadline("31/02/2027", "12:00").is_err());
        assert!(paris_deadline("15/01/2027", "midi").is_err());
    }
}
