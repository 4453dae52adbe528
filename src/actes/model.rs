//! The act as the télétransmetteur describes it: six fields (nature, matière, numéro interne,
//! date de décision, objet, the act file) plus annexes, each file with its typology code, and the
//! identity of the collectivité that sends it.
//!
//! Two levels: [`Saisie`] holds what the user typed, unchecked (so that every mistake can be
//! reported with the field it concerns); [`Acte`] is what the rules let through, with typed
//! values, and is the only input of the archive builder.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use time::Date;

use crate::messages::t;

/// ACTES namespace (`actes:` prefix).
pub const NS_ACTES: &str = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216";
/// INSEE namespace (`insee:` prefix, for the SIREN attribute).
pub const NS_INSEE: &str = "http://xml.insee.fr/schema";

/// Nature of an act (`CodeNatureActe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Nature {
    Deliberation = 1,
    ActeReglementaire = 2,
    ActeIndividuel = 3,
    Contrat = 4,
    Budget = 5,
    Autre = 6,
}

impl Nature {
    pub const ALL: [Nature; 6] = [
        Nature::Deliberation,
        Nature::ActeReglementaire,
        Nature::ActeIndividuel,
        Nature::Contrat,
        Nature::Budget,
        Nature::Autre,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Nature> {
        Nature::ALL.into_iter().find(|n| n.code() == code)
    }

    /// Two-letter abbreviation used in identifiers and file names (`DE`, `AR`…).
    pub fn abbreviation(self) -> &'static str {
        match self {
            Nature::Deliberation => "DE",
            Nature::ActeReglementaire => "AR",
            Nature::ActeIndividuel => "AI",
            Nature::Contrat => "CC",
            Nature::Budget => "BF",
            Nature::Autre => "AU",
        }
    }

    /// French label (« Délibérations »…).
    pub fn label(self) -> String {
        match self {
            Nature::Deliberation => t("actes.nature_1"),
            Nature::ActeReglementaire => t("actes.nature_2"),
            Nature::ActeIndividuel => t("actes.nature_3"),
            Nature::Contrat => t("actes.nature_4"),
            Nature::Budget => t("actes.nature_5"),
            Nature::Autre => t("actes.nature_6"),
        }
    }

    /// Reads `1`…`6` or an abbreviation (`DE`, `de`…).
    pub fn parse(text: &str) -> Option<Nature> {
        let text = text.trim();
        if let Ok(code) = text.parse::<u8>() {
            return Nature::from_code(code);
        }
        Nature::ALL
            .into_iter()
            .find(|n| n.abbreviation().eq_ignore_ascii_case(text))
    }
}

/// A matière code of the classification: 1 to 5 levels, written `1.2.3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CodeMatiere(Vec<u32>);

impl CodeMatiere {
    pub const MAX_LEVELS: usize = 5;

    /// Reads `1.2.3` (also `1-2-3` or `1 2 3`); `None` unless 1 to 5 numbers.
    pub fn parse(text: &str) -> Option<CodeMatiere> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let mut levels = Vec::new();
        for part in text.split(['.', '-', ' ']) {
            if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            levels.push(part.parse().ok()?);
        }
        (levels.len() <= Self::MAX_LEVELS).then_some(CodeMatiere(levels))
    }

    pub fn from_levels(levels: Vec<u32>) -> Option<CodeMatiere> {
        (!levels.is_empty() && levels.len() <= Self::MAX_LEVELS).then_some(CodeMatiere(levels))
    }

    pub fn levels(&self) -> &[u32] {
        &self.0
    }

    /// True when `self` is `prefix` or one of its sub-matières.
    pub fn starts_with(&self, prefix: &[u32]) -> bool {
        self.0.starts_with(prefix)
    }
}

impl fmt::Display for CodeMatiere {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, level) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{level}")?;
        }
        Ok(())
    }
}

/// The collectivité's identity as written in the envelope (`Emetteur/IDCL`, `Referent`,
/// `AdressesRetour`). Values are kept as text; `rules::check_collectivite` checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Collectivite {
    /// 9 digits.
    pub siren: String,
    /// 3 characters `[09][0-9][AB0-9]` (`034`, `02A`, `974`).
    pub departement: String,
    /// 1 digit.
    pub arrondissement: String,
    /// Nature of the collectivité, 2 digits.
    pub nature: String,
    pub referent_nom: Option<String>,
    pub referent_telephone: Option<String>,
    pub referent_email: Option<String>,
    /// Where the préfecture answers; at least one.
    pub emails_retour: Vec<String>,
}

impl Collectivite {
    /// From the settings; `departement` written on 3 characters.
    pub fn from_settings(s: &crate::settings::CollectiviteSettings) -> Collectivite {
        let blank_none = |v: &Option<String>| v.as_ref().filter(|v| !v.trim().is_empty()).cloned();
        Collectivite {
            siren: s.siren.clone().unwrap_or_default(),
            departement: normalise_departement(s.departement.as_deref().unwrap_or_default()),
            arrondissement: s.arrondissement.clone().unwrap_or_default(),
            nature: s.nature.clone().unwrap_or_default(),
            referent_nom: blank_none(&s.referent_nom),
            referent_telephone: blank_none(&s.referent_telephone),
            referent_email: blank_none(&s.referent_email),
            emails_retour: s.emails_retour.clone(),
        }
    }

    /// Whether the envelope carries a `Referent` element.
    pub fn has_referent(&self) -> bool {
        self.referent_nom.is_some()
            || self.referent_telephone.is_some()
            || self.referent_email.is_some()
    }
}

/// `34` → `034`, `2A` → `02A`: the département is written on 3 characters; people often type 2.
pub fn normalise_departement(text: &str) -> String {
    let text = text.trim().to_ascii_uppercase();
    match text.len() {
        1 | 2 => format!("{text:0>3}"),
        _ => text,
    }
}

/// A file as the user gave it: path and typology code, if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceSaisie {
    pub chemin: PathBuf,
    pub typologie: Option<String>,
}

impl PieceSaisie {
    /// Reads `FICHIER` or `FICHIER:TYPE` (TYPE being 5 characters `[A-Z0-9_]`). A colon that is
    /// not followed by a 5-character code belongs to the path (`C:\…`).
    pub fn parse(text: &str) -> PieceSaisie {
        if let Some((path, code)) = text.rsplit_once(':')
            && !path.is_empty()
            && code.len() == 5
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return PieceSaisie {
                chemin: PathBuf::from(path),
                typologie: Some(code.to_owned()),
            };
        }
        PieceSaisie {
            chemin: PathBuf::from(text),
            typologie: None,
        }
    }
}

/// What the user typed, unchecked.
#[derive(Debug, Clone, Default)]
pub struct Saisie {
    pub nature: Option<String>,
    pub matiere: Option<String>,
    pub numero: Option<String>,
    pub date: Option<String>,
    pub objet: Option<String>,
    pub acte: Option<PieceSaisie>,
    pub annexes: Vec<PieceSaisie>,
}

/// What a file was found to be, by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Jpeg,
    Png,
    Xml,
}

impl Format {
    /// File extension in the archive.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Xml => "xml",
        }
    }
}

/// A checked file of the act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Piece {
    pub chemin: PathBuf,
    /// Typology code, 5 characters (`99_DE`).
    pub typologie: String,
    pub format: Format,
    pub taille: u64,
    /// SHA-256 of the content checked, so that the archive carries exactly that content.
    #[serde(serialize_with = "hex_bytes")]
    pub sha256: [u8; 32],
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// An act whose fields and files passed the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acte {
    pub nature: Nature,
    pub matiere: CodeMatiere,
    /// Numéro interne, `^([A-Z0-9][A-Z0-9_]{0,13})?[A-Z0-9]$`.
    pub numero: String,
    pub date_decision: Date,
    pub objet: String,
    /// Date of the classification the matière was taken from (`ClassificationDateVersion`).
    pub classification_date: Date,
    pub document: Piece,
    pub annexes: Vec<Piece>,
    /// Paper documents sent by post alongside (`DocumentPapier` O/N).
    pub document_papier: bool,
}

impl Acte {
    /// `IDActe`: `{dept}-{SIREN}-{decision date}-{numéro}-{nature}`.
    pub fn id_acte(&self, collectivite: &Collectivite) -> String {
        format!(
            "{}-{}-{}-{}-{}",
            collectivite.departement,
            collectivite.siren,
            compact_date(self.date_decision),
            self.numero,
            self.nature.abbreviation()
        )
    }

    /// Size of all files together.
    pub fn total_size(&self) -> u64 {
        self.annexes
            .iter()
            .fold(self.document.taille, |sum, p| sum.saturating_add(p.taille))
    }
}

/// `YYYYMMDD`.
pub fn compact_date(date: Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `YYYY-MM-DD` (xsd:date).
pub fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `DD/MM/YYYY`, for messages.
pub fn french_date(date: Date) -> String {
    format!(
        "{:02}/{:02}/{:04}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// Reads `AAAA-MM-JJ` (or `JJ/MM/AAAA`, as French users write it).
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let (y, m, d) = if let Some((y, rest)) = text.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (y, m, d)
    } else {
        let (d, rest) = text.split_once('/')?;
        let (m, y) = rest.split_once('/')?;
        (y, m, d)
    };
    let digits = |s: &str, min: usize, max: usize| {
        (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())).then_some(())
    };
    digits(y, 4, 4)?;
    digits(m, 1, 2)?;
    digits(d, 1, 2)?;
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// Reads an xsd:date, `YYYY-MM-DD` with an optional time zone (`Z`, `+01:00`), which is
/// ignored: a date is a calendar day for the préfecture.
pub fn parse_xsd_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let day = text.get(..10)?;
    let zone = &text[10..];
    let zone_ok = match zone.as_bytes() {
        [] | [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] => {
            matches!(sign, b'+' | b'-') && [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    let b = day.as_bytes();
    (zone_ok && b[4] == b'-' && b[7] == b'-')
        .then(|| parse_date(day))
        .flatten()
}

/// Today's date on this computer's clock, in its time zone (an act decided this morning at 00:30
/// is not "in the future" because UTC is still yesterday).
pub fn today() -> Date {
    local_today().unwrap_or_else(|| time::OffsetDateTime::now_utc().date())
}

#[cfg(unix)]
fn local_today() -> Option<Date> {
    // SAFETY: `time` with a null pointer only returns the clock; `localtime_r` writes into the
    // `tm` we own and is thread-safe (unlike `localtime`).
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return None;
        }
        tm
    };
    let month = time::Month::try_from(u8::try_from(tm.tm_mon + 1).ok()?).ok()?;
    Date::from_calendar_date(tm.tm_year + 1900, month, u8::try_from(tm.tm_mday).ok()?).ok()
}

#[cfg(not(unix))]
fn local_today() -> Option<Date> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn natures_and_codes() {
        assert_eq!(Nature::parse("5"), Some(Nature::Budget));
        assert_eq!(Nature::parse("ai"), Some(Nature::ActeIndividuel));
        assert_eq!(Nature::parse("7"), None);
        assert_eq!(Nature::Contrat.abbreviation(), "CC");
        let c = CodeMatiere::parse("7.1").expect("code");
        assert_eq!(c.levels(), &[7, 1]);
        assert_eq!(c.to_string(), "7.1");
        assert!(CodeMatiere::parse("1.2.3.4.5.6").is_none());
        assert!(CodeMatiere::parse("1..2").is_none());
        assert!(CodeMatiere::parse("a.b").is_none());
    }

    #[test]
    fn pieces_dates_departements() {
        let p = PieceSaisie::parse("/tmp/a:b.pdf:99_DE");
        assert_eq!(p.chemin, PathBuf::from("/tmp/a:b.pdf"));
        assert_eq!(p.typologie.as_deref(), Some("99_DE"));
        let p = PieceSaisie::parse(r"C:\actes\delib.pdf");
        assert_eq!(p.typologie, None);
        assert_eq!(parse_date("2024-03-01"), Some(date!(2024 - 03 - 01)));
        assert_eq!(parse_date("1/3/2024"), Some(date!(2024 - 03 - 01)));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(normalise_departement("34"), "034");
        assert_eq!(normalise_departement("2a"), "02A");
        assert_eq!(normalise_departement("974"), "974");
        assert_eq!(compact_date(date!(2018 - 01 - 15)), "20180115");
    }
}
