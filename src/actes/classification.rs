//! The classification a préfecture sends (message 7-2 `RetourClassification`): its date, the
//! natures of acts with the typology codes each allows (`TypePJNatureActe`), and the tree of
//! matières (`Matiere1` … `Matiere5`).
//!
//! Reading is tolerant where real files differ from the schema (old classifications have no
//! `TypePJNatureActe`; some carry unknown elements): such files are read, with warnings. It is
//! strict where safety is at stake: the strict reader refuses any DOCTYPE, and the file's size is
//! checked before it is read.
//!
//! Each version is kept in the local database with its date, per SIREN, so that the user can work
//! offline and so that an outdated classification is noticed.

use std::path::Path;

use quick_xml::events::Event;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use time::Date;

use super::model::{CodeMatiere, NS_ACTES, Nature, iso_date, parse_date, parse_xsd_date};
use super::register::{BaseError, open_database};
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};
use crate::xml::{C14nError, EventInfo, XmlReader};

/// A classification file is some 50 kB; anything beyond this is not one.
pub const MAX_CLASSIFICATION_SIZE: u64 = 10_000_000;

/// A typology code allowed for a nature (`99_DE` « Délibération »).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypePj {
    pub code: String,
    pub libelle: String,
}

/// A nature of act as the classification describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatureClassee {
    pub code: u8,
    pub libelle: String,
    pub type_abrege: String,
    /// Empty in classifications older than the typologies.
    pub types_pj: Vec<TypePj>,
}

/// A matière and its sub-matières.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matiere {
    pub code: u32,
    pub libelle: String,
    pub sous_matieres: Vec<Matiere>,
}

/// A RetourClassification, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub date: Date,
    pub natures: Vec<NatureClassee>,
    pub matieres: Vec<Matiere>,
    /// What departs from the schema without preventing use (French sentences).
    pub avertissements: Vec<Finding>,
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resultat {
    pub code: String,
    pub libelle: String,
    /// Libellés from the top matière down to this one, joined with «  › ».
    pub chemin: String,
    /// True when the matière has no sub-matière.
    pub feuille: bool,
}

/// Why a classification file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClassificationError {
    #[error("{}", tf("actes.classement.illisible", &[("fichier", .fichier), ("detail", .detail)]))]
    Unreadable { fichier: String, detail: String },
    #[error("{}", tf("actes.classement.doctype", &[("fichier", .fichier)]))]
    Doctype { fichier: String },
    #[error("{}", tf("actes.classement.mal_forme", &[("fichier", .fichier), ("detail", .detail)]))]
    Malformed { fichier: String, detail: String },
    #[error("{}", tf("actes.classement.mauvaise_racine", &[("fichier", .fichier), ("racine", .racine)]))]
    WrongRoot { fichier: String, racine: String },
    #[error("{}", tf("actes.classement.sans_date", &[("fichier", .fichier)]))]
    NoDate { fichier: String },
    #[error("{}", tf("actes.classement.date_invalide", &[("fichier", .fichier), ("valeur", .valeur)]))]
    BadDate { fichier: String, valeur: String },
    #[error("{}", tf("actes.classement.sans_matiere", &[("fichier", .fichier)]))]
    NoMatiere { fichier: String },
    #[error("{0}")]
    Base(#[from] BaseError),
}

impl Classification {
    /// Reads a classification file: its size is checked before it is read.
    pub fn read_file(path: &Path) -> Result<Classification, ClassificationError> {
        let bytes = read_file_bytes(path)?;
        Classification::parse(&bytes, &super::files::display_name(path))
    }

    /// Reads a classification from its bytes; `fichier` names it in messages.
    pub fn parse(bytes: &[u8], fichier: &str) -> Result<Classification, ClassificationError> {
        Parser::new(fichier).run(bytes)
    }

    pub fn nature(&self, nature: Nature) -> Option<&NatureClassee> {
        self.natures.iter().find(|n| n.code == nature.code())
    }

    /// The typology codes allowed for `nature`: `None` when the classification does not know the
    /// nature, an empty list when it predates typologies.
    pub fn types_pj(&self, nature: Nature) -> Option<&[TypePj]> {
        self.nature(nature).map(|n| n.types_pj.as_slice())
    }

    /// The matières from the top one down to `code`, if it exists.
    pub fn path(&self, code: &CodeMatiere) -> Option<Vec<&Matiere>> {
        let mut level = &self.matieres;
        let mut path = Vec::new();
        for c in code.levels() {
            let m = level.iter().find(|m| m.code == *c)?;
            path.push(m);
            level = &m.sous_matieres;
        }
        Some(path)
    }

    /// `Urbanisme › Documents d'urbanisme` for `2.1`.
    pub fn libelle(&self, code: &CodeMatiere) -> Option<String> {
        self.path(code).map(|p| join_path(&p))
    }

    /// Every matière with its code, in the order of the tree.
    pub fn all(&self) -> Vec<(CodeMatiere, Vec<&Matiere>)> {
        fn walk<'a>(
            level: &'a [Matiere],
            prefix: &mut Vec<u32>,
            chain: &mut Vec<&'a Matiere>,
            out: &mut Vec<(CodeMatiere, Vec<&'a Matiere>)>,
        ) {
            for m in level {
                prefix.push(m.code);
                chain.push(m);
                if let Some(code) = CodeMatiere::from_levels(prefix.clone()) {
                    out.push((code, chain.clone()));
                }
                walk(&m.sous_matieres, prefix, chain, out);
                prefix.pop();
                chain.pop();
            }
        }
        let mut out = Vec::new();
        walk(&self.matieres, &mut Vec::new(), &mut Vec::new(), &mut out);
        out
    }

    /// Search by code (`2.1` gives 2.1 and its sub-matières) or by words, without regard to
    /// accents or case: every word must appear in the matière's libellé or its parents'.
    pub fn search(&self, query: &str) -> Vec<Resultat> {
        let hit = |code: &CodeMatiere, chain: &[&Matiere]| Resultat {
            code: code.to_string(),
            libelle: chain.last().map(|m| m.libelle.clone()).unwrap_or_default(),
            chemin: join_path(chain),
            feuille: chain.last().is_some_and(|m| m.sous_matieres.is_empty()),
        };
        if let Some(prefix) = CodeMatiere::parse(query) {
            return self
                .all()
                .iter()
                .filter(|(code, _)| code.starts_with(prefix.levels()))
                .map(|(code, chain)| hit(code, chain))
                .collect();
        }
        let words: Vec<String> = fold(query).split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            return Vec::new();
        }
        self.all()
            .iter()
            .filter(|(_, chain)| {
                let text = fold(&join_path(chain));
                words.iter().all(|w| text.contains(w.as_str()))
            })
            .map(|(code, chain)| hit(code, chain))
            .collect()
    }
}

fn join_path(chain: &[&Matiere]) -> String {
    chain
        .iter()
        .map(|m| m.libelle.trim())
        .collect::<Vec<_>>()
        .join(" › ")
}

/// Lower case without accents ([`crate::latin1::fold`]), punctuation as spaces: « Délégation
/// de service public » and « delegation service » meet.
pub fn fold(text: &str) -> String {
    crate::latin1::fold(text)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect()
}

fn read_file_bytes(path: &Path) -> Result<Vec<u8>, ClassificationError> {
    let fichier = super::files::display_name(path);
    super::files::read_limited(path, MAX_CLASSIFICATION_SIZE).map_err(|e| {
        ClassificationError::Unreadable {
            fichier,
            detail: e.to_string(),
        }
    })
}

/// Value of an attribute by local name, in the ACTES namespace or without namespace (some
/// producers forget the prefix; the meaning is not in doubt).
fn attr<'a>(info: &EventInfo<'a>, local: &str) -> Option<&'a str> {
    let tag = info.start_tag()?;
    let mut unqualified = None;
    for a in tag.attributes() {
        if a.local_name() != local {
            continue;
        }
        match a.prefix() {
            Some(p) if info.scopes().namespace_of(p) == Some(NS_ACTES) => return Some(a.value),
            None => unqualified = Some(a.value),
            _ => {}
        }
    }
    unqualified
}

/// Which `MatiereN` an element is.
fn matiere_level(local: &str) -> Option<usize> {
    let n = local.strip_prefix("Matiere")?.parse::<usize>().ok()?;
    (1..=CodeMatiere::MAX_LEVELS).contains(&n).then_some(n)
}

struct Parser {
    fichier: String,
    date: Option<String>,
    natures: Vec<NatureClassee>,
    matieres: Vec<Matiere>,
    /// Matières open (Start seen, End not yet).
    open: Vec<Matiere>,
    /// Local names of the open elements.
    stack: Vec<String>,
    text: String,
    warnings: Vec<Finding>,
    unknown: Vec<String>,
    level_mismatch: bool,
    bad_codes: usize,
}

impl Parser {
    fn new(fichier: &str) -> Parser {
        Parser {
            fichier: fichier.to_owned(),
            date: None,
            natures: Vec::new(),
            matieres: Vec::new(),
            open: Vec::new(),
            stack: Vec::new(),
            text: String::new(),
            warnings: Vec::new(),
            unknown: Vec::new(),
            level_mismatch: false,
            bad_codes: 0,
        }
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(Finding::warning(
            "actes.classification",
            message,
            Location {
                element: Some(self.fichier.clone()),
                ..Default::default()
            },
        ));
    }

    fn xml_error(&self, e: C14nError) -> ClassificationError {
        match e {
            C14nError::DocType { .. } => ClassificationError::Doctype {
                fichier: self.fichier.clone(),
            },
            other => ClassificationError::Malformed {
                fichier: self.fichier.clone(),
                detail: other.to_string(),
            },
        }
    }

    fn run(mut self, bytes: &[u8]) -> Result<Classification, ClassificationError> {
        let mut reader = XmlReader::new(bytes).map_err(|e| self.xml_error(e))?;
        loop {
            let (event, info) = match reader.read_event_with_info() {
                Ok(x) => x,
                Err(e) => return Err(self.xml_error(e)),
            };
            match &event {
                Event::Start(_) | Event::Empty(_) => {
                    let empty = matches!(event, Event::Empty(_));
                    let (ns, local) = info.element_name().unwrap_or((None, ""));
                    let local = local.to_owned();
                    let in_actes = ns == Some(NS_ACTES);
                    if self.stack.is_empty() && !(in_actes && local == "RetourClassification") {
                        return Err(ClassificationError::WrongRoot {
                            fichier: self.fichier.clone(),
                            racine: local,
                        });
                    }
                    if in_actes {
                        self.start(&local, &info, empty);
                    } else if !self.unknown.contains(&local) {
                        self.unknown.push(local.clone());
                    }
                    if !empty {
                        self.stack.push(local);
                    }
                    self.text.clear();
                }
                Event::Text(text)
                    if self.stack.last().map(String::as_str) == Some("DateClassification") =>
                {
                    self.text.push_str(&String::from_utf8_lossy(text));
                }
                Event::End(_) => {
                    if let Some(local) = self.stack.pop() {
                        self.end(&local);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        self.finish()
    }

    fn start(&mut self, local: &str, info: &EventInfo<'_>, empty: bool) {
        let parent = self.stack.last().map(String::as_str);
        match local {
            "RetourClassification" | "DateClassification" | "NaturesActes" | "Matieres" => {}
            "NatureActe" => {
                let code = attr(info, "CodeNatureActe").and_then(|c| c.trim().parse::<u8>().ok());
                match code {
                    Some(code) => self.natures.push(NatureClassee {
                        code,
                        libelle: attr(info, "Libelle").unwrap_or_default().to_owned(),
                        type_abrege: attr(info, "TypeAbrege").unwrap_or_default().to_owned(),
                        types_pj: Vec::new(),
                    }),
                    None => self.bad_codes += 1,
                }
            }
            "TypePJNatureActe" => {
                let code = attr(info, "CodeTypePJ").map(str::trim).unwrap_or_default();
                match self.natures.last_mut() {
                    Some(n) if parent == Some("NatureActe") && !code.is_empty() => {
                        n.types_pj.push(TypePj {
                            code: code.to_owned(),
                            libelle: attr(info, "Libelle").unwrap_or_default().to_owned(),
                        })
                    }
                    _ => self.bad_codes += 1,
                }
            }
            _ => {
                if let Some(level) = matiere_level(local) {
                    if level != self.open.len() + 1 {
                        self.level_mismatch = true;
                    }
                    let code = attr(info, "CodeMatiere").and_then(|c| c.trim().parse::<u32>().ok());
                    let Some(code) = code else {
                        self.bad_codes += 1;
                        // Keep the tree balanced: a placeholder that `end` will drop.
                        if !empty {
                            self.open.push(Matiere {
                                code: u32::MAX,
                                libelle: String::new(),
                                sous_matieres: Vec::new(),
                            });
                        }
                        return;
                    };
                    let m = Matiere {
                        code,
                        libelle: attr(info, "Libelle").unwrap_or_default().to_owned(),
                        sous_matieres: Vec::new(),
                    };
                    if empty {
                        self.attach(m);
                    } else {
                        self.open.push(m);
                    }
                } else if !self.unknown.iter().any(|u| u == local) {
                    self.unknown.push(local.to_owned());
                }
            }
        }
    }

    fn end(&mut self, local: &str) {
        if local == "DateClassification" {
            self.date = Some(self.text.trim().to_owned());
        } else if matiere_level(local).is_some()
            && let Some(m) = self.open.pop()
            && m.code != u32::MAX
        {
            self.attach(m);
        }
    }

    fn attach(&mut self, m: Matiere) {
        let siblings = match self.open.last_mut() {
            Some(parent) => &mut parent.sous_matieres,
            None => &mut self.matieres,
        };
        if siblings.iter().any(|s| s.code == m.code) {
            self.bad_codes += 1;
            return;
        }
        siblings.push(m);
    }

    fn finish(mut self) -> Result<Classification, ClassificationError> {
        let fichier = self.fichier.clone();
        let Some(text) = self.date.take() else {
            return Err(ClassificationError::NoDate { fichier });
        };
        let date = parse_xsd_date(&text).ok_or_else(|| ClassificationError::BadDate {
            fichier: fichier.clone(),
            valeur: text.clone(),
        })?;
        if self.matieres.is_empty() {
            return Err(ClassificationError::NoMatiere { fichier });
        }
        let without: Vec<String> = self
            .natures
            .iter()
            .filter(|n| n.types_pj.is_empty())
            .map(|n| n.code.to_string())
            .collect();
        if !without.is_empty() {
            self.warn(tf(
                "actes.classement.sans_typologie",
                &[("natures", &without.join(", "))],
            ));
        }
        let missing: Vec<String> = Nature::ALL
            .iter()
            .filter(|n| !self.natures.iter().any(|c| c.code == n.code()))
            .map(|n| n.code().to_string())
            .collect();
        if !missing.is_empty() {
            self.warn(tf(
                "actes.classement.natures_absentes",
                &[("natures", &missing.join(", "))],
            ));
        }
        if self.level_mismatch {
            self.warn(t("actes.classement.niveaux"));
        }
        if self.bad_codes > 0 {
            self.warn(tf(
                "actes.classement.codes_invalides",
                &[("nombre", &self.bad_codes.to_string())],
            ));
        }
        if !self.unknown.is_empty() {
            let list = self.unknown.join(", ");
            self.warn(tf("actes.classement.inconnus", &[("elements", &list)]));
        }
        Ok(Classification {
            date,
            natures: self.natures,
            matieres: self.matieres,
            avertissements: self.warnings,
        })
    }
}

/// The classification versions kept in the local database.
pub struct ClassificationStore {
    conn: rusqlite::Connection,
}

impl ClassificationStore {
    /// Opens (creating if needed) the database at `db`.
    pub fn open(db: &Path) -> Result<ClassificationStore, BaseError> {
        let conn = open_database(db)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS classification (
                siren TEXT NOT NULL,
                date TEXT NOT NULL,
                contenu BLOB NOT NULL,
                importee_le TEXT NOT NULL,
                PRIMARY KEY (siren, date)
            );",
        )
        .map_err(BaseError::from)?;
        Ok(ClassificationStore { conn })
    }

    /// Reads a classification file and keeps it for `siren` (a version with the same date is
    /// replaced).
    pub fn import_file(
        &self,
        siren: &str,
        path: &Path,
    ) -> Result<Classification, ClassificationError> {
        let bytes = read_file_bytes(path)?;
        self.import(siren, &bytes, &super::files::display_name(path))
    }

    /// Reads a classification and keeps it for `siren`.
    pub fn import(
        &self,
        siren: &str,
        bytes: &[u8],
        fichier: &str,
    ) -> Result<Classification, ClassificationError> {
        let c = Classification::parse(bytes, fichier)?;
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        self.conn
            .execute(
                "INSERT OR REPLACE INTO classification (siren, date, contenu, importee_le)
                 VALUES (?1, ?2, ?3, ?4)",
                params![siren, iso_date(c.date), bytes, now],
            )
            .map_err(BaseError::from)?;
        Ok(c)
    }

    /// Dates of the versions kept for `siren`, oldest first.
    pub fn versions(&self, siren: &str) -> Result<Vec<Date>, BaseError> {
        let mut stmt = self
            .conn
            .prepare("SELECT date FROM classification WHERE siren = ?1 ORDER BY date")?;
        let rows = stmt.query_map(params![siren], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(d) = parse_date(&row?) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// What the home screen should say of `siren`'s classification on `day`: none kept yet, or
    /// the newest one older than a year (préfectures change theirs; a stale one gets acts refused).
    pub fn staleness(&self, siren: &str, day: Date) -> Result<Staleness, BaseError> {
        Ok(match self.versions(siren)?.last() {
            None => Staleness::Missing,
            Some(latest) if (day - *latest).whole_days() > 365 => Staleness::Old(*latest),
            Some(_) => Staleness::Current,
        })
    }

    /// The newest version kept for `siren`.
    pub fn latest(&self, siren: &str) -> Result<Option<Classification>, ClassificationError> {
        self.load_where(siren, None)
    }

    /// The version in force on `day`: the newest one dated `day` or before.
    pub fn in_force_at(
        &self,
        siren: &str,
        day: Date,
    ) -> Result<Option<Classification>, ClassificationError> {
        self.load_where(siren, Some(day))
    }

    /// Whether the version dated `version` is the one in force on `day` (no newer version dated
    /// on or before `day` is known).
    pub fn is_current(&self, siren: &str, version: Date, day: Date) -> Result<bool, BaseError> {
        let newer: Option<String> = self
            .conn
            .query_row(
                "SELECT date FROM classification WHERE siren = ?1 AND date > ?2 AND date <= ?3
                 ORDER BY date DESC LIMIT 1",
                params![siren, iso_date(version), iso_date(day)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(newer.is_none())
    }

    fn load_where(
        &self,
        siren: &str,
        day: Option<Date>,
    ) -> Result<Option<Classification>, ClassificationError> {
        let limit = day.map(iso_date).unwrap_or_else(|| "9999-12-31".to_owned());
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT date, contenu FROM classification WHERE siren = ?1 AND date <= ?2
                 ORDER BY date DESC LIMIT 1",
                params![siren, limit],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(BaseError::from)?;
        match row {
            Some((date, bytes)) => {
                let name = tf("actes.classement.version_locale", &[("date", &date)]);
                Classification::parse(&bytes, &name).map(Some)
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<actes:RetourClassification xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216">
 <actes:DateClassification>2019-03-01</actes:DateClassification>
 <actes:NaturesActes>
  <actes:NatureActe actes:CodeNatureActe="1" actes:Libelle="Délibérations" actes:TypeAbrege="DE">
   <actes:TypePJNatureActe actes:CodeTypePJ="99_DE" actes:Libelle="Délibération"/>
  </actes:NatureActe>
 </actes:NaturesActes>
 <actes:Matieres>
  <actes:Matiere1 actes:CodeMatiere="1" actes:Libelle="Commande Publique">
   <actes:Matiere2 actes:CodeMatiere="2" actes:Libelle="Délégation de service public"/>
  </actes:Matiere1>
  <actes:Matiere1 actes:CodeMatiere="7" actes:Libelle="Finances locales">
   <actes:Matiere2 actes:CodeMatiere="1" actes:Libelle="Décisions budgétaires">
    <actes:Matiere3 actes:CodeMatiere="4" actes:Libelle="Œuvres"/>
   </actes:Matiere2>
  </actes:Matiere1>
 </actes:Matieres>
</actes:RetourClassification>"#;

    #[test]
    fn reads_and_searches() {
        let c = Classification::parse(DOC.as_bytes(), "t.xml").expect("parse");
        assert_eq!(iso_date(c.date), "2019-03-01");
        let code = CodeMatiere::parse("7.1.4").expect("code");
        assert_eq!(
            c.libelle(&code).as_deref(),
            Some("Finances locales › Décisions budgétaires › Œuvres")
        );
        assert_eq!(c.search("delegation SERVICE")[0].code, "1.2");
        assert_eq!(c.search("oeuvres")[0].code, "7.1.4");
        assert_eq!(c.search("7.1").len(), 2);
        assert_eq!(c.types_pj(Nature::Deliberation).map(|t| t.len()), Some(1));
        // Natures 2 to 6 are missing: a warning, not an error.
        assert_eq!(c.avertissements.len(), 1);
    }

    #[test]
    fn doctype_refused() {
        let doc = DOC.replacen(
            "<actes:RetourClassification",
            "<!DOCTYPE x [<!ENTITY e \"x\">]><actes:RetourClassification",
            1,
        );
        let err = Classification::parse(doc.as_bytes(), "t.xml").expect_err("doctype");
        assert!(matches!(err, ClassificationError::Doctype { .. }));
    }
}

/// How recent the classification kept for a collectivité is (see [`ClassificationStore::staleness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    Missing,
    Old(Date),
    Current,
}
