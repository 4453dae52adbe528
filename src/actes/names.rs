//! Names of the files a tiers de télétransmission sends: envelope, archive, business message,
//! act and annexes. S²LOW and STELA differ only in the date written in the message file names
//! (decision date for S²LOW, current date for STELA) and in their application name and trigram,
//! which are settings.
//!
//! - envelope: `{APPLI}--{SIREN}--{YYYYMMDD}-{serial}.xml` (date of the envoi; serial restarts
//!   every day, at most 9999);
//! - archive: `{TRIGRAMME}-{envelope name without .xml}.tar.gz`;
//! - message: `{dept}-{SIREN}-{YYYYMMDD}-{numéro}-{nature}-1-1_0.xml`;
//! - documents: `{typology}-{dept}-{SIREN}-{YYYYMMDD}-{numéro}-{nature}-1-1_{n}.{ext}`, the act
//!   being `_1`, the annexes `_2`, `_3`…

use serde::Serialize;
use time::Date;

use super::model::{Acte, Collectivite, compact_date};

/// Largest serial number of an envelope in one day.
pub const MAX_SERIAL: u32 = 9999;

// The naming style is plain data of the settings.
pub use crate::settings::StyleNoms;

/// Naming parameters (from the settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nommage {
    /// `TACT` (S²LOW), `EACT` (STELA).
    pub application: String,
    /// `PAR`, `SIC`…
    pub trigramme: String,
    pub style: StyleNoms,
    /// Document files start with their typology code (`99_DE-…`), as since the typologies;
    /// false gives the older names (`…-1-1_1.pdf`).
    pub prefixe_typologie: bool,
}

impl Default for Nommage {
    fn default() -> Self {
        Nommage {
            application: "TACT".to_owned(),
            trigramme: "PAR".to_owned(),
            style: StyleNoms::S2low,
            prefixe_typologie: true,
        }
    }
}

impl Nommage {
    pub fn from_settings(s: &crate::settings::CollectiviteSettings) -> Nommage {
        Nommage {
            application: s.application.clone(),
            trigramme: s.trigramme.clone(),
            style: s.style_noms,
            prefixe_typologie: s.prefixe_typologie,
        }
    }
}

/// Every name of one archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Noms {
    pub archive: String,
    pub enveloppe: String,
    pub message: String,
    pub document: String,
    pub annexes: Vec<String>,
}

/// Why names cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Serial 0 or beyond [`MAX_SERIAL`].
    Serial(u32),
    /// Application name or trigram empty or with characters unsafe in a file name.
    Part(String),
}

fn safe_part(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `{APPLI}--{SIREN}--{YYYYMMDD}-{serial}.xml`
pub fn envelope_name(
    application: &str,
    siren: &str,
    envoi: Date,
    serial: u32,
) -> Result<String, NameError> {
    if serial == 0 || serial > MAX_SERIAL {
        return Err(NameError::Serial(serial));
    }
    if !safe_part(application) {
        return Err(NameError::Part(application.to_owned()));
    }
    Ok(format!(
        "{application}--{siren}--{}-{serial}.xml",
        compact_date(envoi)
    ))
}

/// `{TRIGRAMME}-{envelope without .xml}.tar.gz`
pub fn archive_name(trigramme: &str, envelope: &str) -> Result<String, NameError> {
    if !safe_part(trigramme) {
        return Err(NameError::Part(trigramme.to_owned()));
    }
    let stem = envelope.strip_suffix(".xml").unwrap_or(envelope);
    Ok(format!("{trigramme}-{stem}.tar.gz"))
}

/// `{dept}-{SIREN}-{YYYYMMDD}-{numéro}-{nature}-1-1`: the common part of the message's files.
pub fn message_stem(acte: &Acte, collectivite: &Collectivite, date: Date) -> String {
    format!(
        "{}-{}-{}-{}-{}-1-1",
        collectivite.departement,
        collectivite.siren,
        compact_date(date),
        acte.numero,
        acte.nature.abbreviation()
    )
}

/// All the names of the archive of `acte`, sent on `envoi` with the day's `serial`.
pub fn names(
    acte: &Acte,
    collectivite: &Collectivite,
    nommage: &Nommage,
    envoi: Date,
    serial: u32,
) -> Result<Noms, NameError> {
    let enveloppe = envelope_name(&nommage.application, &collectivite.siren, envoi, serial)?;
    let archive = archive_name(&nommage.trigramme, &enveloppe)?;
    let date = match nommage.style {
        StyleNoms::S2low => acte.date_decision,
        StyleNoms::Stela => envoi,
    };
    let stem = message_stem(acte, collectivite, date);
    let file = |typologie: &str, n: usize, extension: &str| {
        if nommage.prefixe_typologie {
            format!("{typologie}-{stem}_{n}.{extension}")
        } else {
            format!("{stem}_{n}.{extension}")
        }
    };
    let document = file(
        &acte.document.typologie,
        1,
        acte.document.format.extension(),
    );
    let annexes = acte
        .annexes
        .iter()
        .enumerate()
        .map(|(i, p)| file(&p.typologie, i + 2, p.format.extension()))
        .collect();
    Ok(Noms {
        archive,
        enveloppe,
        message: format!("{stem}_0.xml"),
        document,
        annexes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn envelope_and_archive() {
        let e = envelope_name("EACT", "210600730", date!(2018 - 01 - 15), 1).expect("name");
        assert_eq!(e, "EACT--210600730--20180115-1.xml");
        assert_eq!(
            archive_name("SIC", &e).expect("name"),
            "SIC-EACT--210600730--20180115-1.tar.gz"
        );
        assert_eq!(
            envelope_name("TACT", "1", date!(2018 - 01 - 15), 10_000),
            Err(NameError::Serial(10_000))
        );
        assert!(envelope_name("T/A", "1", date!(2018 - 01 - 15), 1).is_err());
    }
}
