//! Marchés publics, buyer side: opening the encrypted bids (plis) with the card's decryption key.

pub mod armor;
pub mod dce;

pub mod der;
pub mod discover;
pub mod envelope;
pub mod open;
pub mod report;
pub mod verify;
pub mod xades;

pub use open::{BidError, OpenedBid, open_bid, unpack_zip};

use crate::keys::Decrypter;
use std::path::{Path, PathBuf};

/// Read a whole encrypted bid without decrypting it: its form, its head (recipients, algorithm)
/// and the size of its encrypted content. For describing a bid without the card, and for
/// fuzzing the readers.
pub fn scan<R: std::io::BufRead>(
    mut input: R,
) -> Result<(armor::Armor, envelope::EnvelopeHead, u64), envelope::EnvelopeError> {
    use envelope::{Counted, EnvelopeError, read_head, read_mac};
    let head = input.fill_buf()?;
    let form = armor::detect(head).ok_or(EnvelopeError::UnknownFormat)?;
    let source: Box<dyn std::io::Read + '_> = match form {
        armor::Armor::Der => Box::new(&mut input),
        text => Box::new(std::io::BufReader::new(armor::Base64Lines::new(
            &mut input, text,
        ))),
    };
    let mut reader = Counted::new(source);
    let (head, mut content) = read_head(&mut reader)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = content.read(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
    }
    if head.authenticated {
        read_mac(&mut reader, &head)?;
    }
    Ok((form, head, size))
}

/// The outcome for one file of a consultation's folder.
pub struct BidOutcome {
    pub source: PathBuf,
    pub result: Result<OpenedBid, BidError>,
    /// The signatures and timestamps of the documents of the bid, as checked after opening.
    pub signatures: Vec<verify::SignatureReport>,
    /// The documents of the bid that carry no signature (the buyer judges whether one was due).
    pub non_signes: Vec<PathBuf>,
    /// The deposit timestamp found beside the encrypted file (`pli.p7m.tsr`), if any.
    pub depot: Option<Deposit>,
    /// What the buyer should look at: unreadable signatures, late or undated deposit…
    pub anomalies: Vec<String>,
}

/// When the bid was deposited, from a timestamp token over the encrypted file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Deposit {
    /// The token's time, ISO 8601; None when the token did not verify.
    pub horodatage: Option<String>,
    /// The token verified (imprint of the encrypted file, TSA signature).
    pub valide: bool,
    /// After the deadline given; None without a deadline.
    pub hors_delai: Option<bool>,
}

/// What is checked on each opened bid besides its decryption.
#[derive(Default, Clone, Copy)]
pub struct Review<'a> {
    /// Trusted authorities for the documents' signatures and the timestamps.
    pub trust: Option<&'a crate::certs::trust::TrustStore>,
    /// The deadline for bids: a deposit timestamped after it is flagged.
    pub deadline: Option<time::OffsetDateTime>,
}

/// The deadline for bids written as RFC 3339 (`2027-01-15T12:00:00+01:00`), as the command line's
/// `--date-limite` takes it.
pub fn parse_deadline(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| crate::messages::t("marches.dce.date_limite_illisible"))
}

/// The deadline for bids typed as French users write it (date `15/01/2027`, hour `12:00`, Paris
/// time, read by [`dce::paris_deadline`] as the DCE screen does). Both left empty: None, and
/// lateness is not checked; anything else unreadable is refused with the French reason.
pub fn paris_deadline_fields(
    date: &str,
    hour: &str,
) -> Result<Option<time::OffsetDateTime>, String> {
    if date.trim().is_empty() && hour.trim().is_empty() {
        return Ok(None);
    }
    let rfc3339 = dce::paris_deadline(date, hour)?;
    time::OffsetDateTime::parse(&rfc3339, &time::format_description::well_known::Rfc3339)
        .map(Some)
        .map_err(|_| crate::messages::t("marches.dce.date_limite_illisible_fr"))
}

/// Late, on time, or not known, for each outcome: how many of each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lateness {
    /// Deposited after the deadline.
    pub hors_delai: usize,
    /// Deposited before it (timestamp read).
    pub dans_les_delais: usize,
    /// No readable deposit time: not known.
    pub inconnus: usize,
}

impl Lateness {
    pub fn of(outcomes: &[BidOutcome]) -> Lateness {
        let mut counts = Lateness::default();
        for o in outcomes {
            match o.hors_delai() {
                Some(true) => counts.hors_delai += 1,
                Some(false) => counts.dans_les_delais += 1,
                None => counts.inconnus += 1,
            }
        }
        counts
    }
}

impl BidOutcome {
    /// Deposited after the deadline: Some(true); before: Some(false); no deadline, or no
    /// readable deposit time: None.
    pub fn hors_delai(&self) -> Option<bool> {
        self.depot.as_ref().and_then(|d| d.hors_delai)
    }
}

const TOKEN_EXTENSIONS: &[&str] = &["tsr", "tst"];

/// The deposit timestamp file beside an encrypted bid (`pli.p7m.tsr` or `.tst`).
fn deposit_token(bid: &Path) -> Option<PathBuf> {
    TOKEN_EXTENSIONS.iter().find_map(|ext| {
        let mut name = bid.as_os_str().to_owned();
        name.push(".");
        name.push(ext);
        let path = PathBuf::from(name);
        path.is_file().then_some(path)
    })
}

/// The files to open: `input` itself, or the regular, non-hidden files of the folder `input`,
/// in name order — a bid's deposit timestamp (`pli.p7m.tsr`) is not a bid.
pub fn bid_files(input: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !input.is_dir() {
        return Ok(vec![input.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(input)?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    files.sort();
    let is_token_of_another = |path: &PathBuf| {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        TOKEN_EXTENSIONS.contains(&ext.as_str()) && path.with_extension("").is_file()
    };
    Ok(files
        .into_iter()
        .filter(|f| !is_token_of_another(f))
        .collect())
}

/// Check the signatures of the documents of an opened bid. A signature file is checked with its
/// document (beside it), or alone when its document is missing (which is then an anomaly).
fn check_documents(
    bid: &OpenedBid,
    trust: Option<&crate::certs::trust::TrustStore>,
) -> (Vec<verify::SignatureReport>, Vec<PathBuf>, Vec<String>) {
    let mut signatures = Vec::new();
    let mut unsigned = Vec::new();
    let mut anomalies = Vec::new();
    let documents: Vec<PathBuf> = if bid.fichiers.is_empty() {
        vec![bid.dossier.join(&bid.contenu.chemin)]
    } else {
        bid.fichiers
            .iter()
            .map(|f| bid.dossier.join(&f.chemin))
            .collect()
    };
    for path in &documents {
        if discover::is_signature_file(path) && discover::has_document(path) {
            // Checked with its document.
            continue;
        }
        match discover::verify_path(path, trust) {
            Ok(found) => signatures.extend(found),
            Err(verify::VerifyError::NothingToVerify(_)) => unsigned.push(path.clone()),
            Err(e) => anomalies.push(e.to_string()),
        }
    }
    (signatures, unsigned, anomalies)
}

/// The deposit timestamp of a bid, checked against the encrypted file and the deadline.
fn check_deposit(bid: &Path, review: &Review) -> (Option<Deposit>, Vec<String>) {
    let Some(token) = deposit_token(bid) else {
        let anomalies = review
            .deadline
            .map(|_| vec![crate::messages::t("marches.rapport.sans_horodatage")])
            .unwrap_or_default();
        return (None, anomalies);
    };
    let mut anomalies = Vec::new();
    let report = match discover::verify_path(&token, review.trust) {
        Ok(mut reports) if !reports.is_empty() => reports.remove(0),
        Ok(_) => return (None, anomalies),
        Err(e) => {
            anomalies.push(e.to_string());
            return (
                Some(Deposit {
                    horodatage: None,
                    valide: false,
                    hors_delai: None,
                }),
                anomalies,
            );
        }
    };
    let time = report.horodatage.as_deref().and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    let late = match (review.deadline, time) {
        (Some(deadline), Some(at)) => Some(at > deadline),
        _ => None,
    };
    if !report.integrite {
        anomalies.push(crate::messages::tf(
            "marches.rapport.horodatage_invalide",
            &[("raison", &report.raisons.join(" ; "))],
        ));
    }
    if late == Some(true) {
        anomalies.push(crate::messages::tf(
            "marches.rapport.hors_delai",
            &[("heure", report.horodatage.as_deref().unwrap_or("?"))],
        ));
    }
    (
        Some(Deposit {
            horodatage: report.horodatage.clone(),
            valide: report.integrite,
            hors_delai: late,
        }),
        anomalies,
    )
}

/// Open every bid of `files` into `out_dir` with one key (one PIN for the session), then check
/// the signatures of its documents and its deposit timestamp. A bid that cannot be opened is
/// reported and the others are still opened; cancellation stops after the current one.
pub fn open_all(
    files: &[PathBuf],
    out_dir: &Path,
    key: &mut dyn Decrypter,
    review: &Review,
    progress: &mut dyn FnMut(usize, &Path),
    cancelled: &dyn Fn() -> bool,
) -> Vec<BidOutcome> {
    let mut outcomes = Vec::new();
    for (index, file) in files.iter().enumerate() {
        if cancelled() {
            break;
        }
        progress(index, file);
        let result = open_bid(file, out_dir, key, &mut |_, _| {}, cancelled);
        // A card pulled out or a locked PIN ends the session: every other bid would fail too.
        let card_gone = matches!(
            &result,
            Err(BidError::Card(
                crate::keys::CardError::TokenRemoved | crate::keys::CardError::PinLocked
            ))
        );
        let (signatures, non_signes, mut anomalies) = match &result {
            Ok(bid) => check_documents(bid, review.trust),
            Err(_) => Default::default(),
        };
        let (depot, deposit_anomalies) = check_deposit(file, review);
        anomalies.extend(deposit_anomalies);
        outcomes.push(BidOutcome {
            source: file.clone(),
            result,
            signatures,
            non_signes,
            depot,
            anomalies,
        });
        if card_gone {
            break;
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::{paris_deadline_fields, parse_deadline};
    use crate::messages::t;

    #[test]
    fn deadlines_typed_in_french_are_paris_time_or_refused() {
        assert_eq!(paris_deadline_fields(" ", ""), Ok(None), "not checked");
        assert_eq!(
            paris_deadline_fields("15/01/2027", "12:00"),
            Ok(Some(time::macros::datetime!(2027-01-15 11:00 UTC)))
        );
        assert_eq!(
            paris_deadline_fields("15/07/2027", "12:00"),
            Ok(Some(time::macros::datetime!(2027-07-15 10:00 UTC)))
        );
        let refused = Err(t("marches.dce.date_limite_illisible_fr"));
        assert_eq!(paris_deadline_fields("31/02/2027", "12:00"), refused);
        assert_eq!(paris_deadline_fields("", "12:00"), refused, "an hour alone");
        assert_eq!(paris_deadline_fields("15/01/2027", "midi"), refused);
        assert_eq!(
            parse_deadline("2027-01-15T12:00:00+01:00"),
            Ok(time::macros::datetime!(2027-01-15 11:00 UTC))
        );
        assert_eq!(
            parse_deadline("15/01/2027"),
            Err(t("marches.dce.date_limite_illisible"))
        );
    }
}
