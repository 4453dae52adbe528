//! PAdES: the CMS signatures and document timestamps inside a PDF, each over its byte ranges,
//! with the signing time the signature dictionary declares (/M) when the CMS has none.

use super::cms::der_form;
use super::signers::{Signed, verify_signed_data, verify_token};
use super::verdict::{SignatureReport, VerifyError};
use crate::certs::trust::TrustStore;
use crate::messages::t;
use std::path::Path;
use time::OffsetDateTime;

/// The PAdES signatures of the PDF at `path`, whatever its name (a file being written, say).
pub fn verify_pdf_signatures(
    path: &Path,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    verify_pdf(path, trust)
}

/// The PAdES signatures of a PDF: each signature dictionary's /ByteRange and /Contents.
pub(in crate::marches) fn verify_pdf(
    path: &Path,
    trust: Option<&TrustStore>,
) -> Result<Vec<SignatureReport>, VerifyError> {
    let read_error = |e: std::io::Error| VerifyError::Read(path.to_owned(), e.to_string());
    let bytes = std::fs::read(path).map_err(read_error)?;
    let document = lopdf::Document::load_mem(&bytes)
        .map_err(|e| VerifyError::UnreadablePdf(path.to_owned(), e.to_string()))?;
    let mut reports = Vec::new();
    for object in document.objects.values() {
        let Ok(dict) = object.as_dict() else { continue };
        let (Ok(range), Ok(contents)) = (dict.get(b"ByteRange"), dict.get(b"Contents")) else {
            continue;
        };
        let Ok(range) = range.as_array() else {
            continue;
        };
        let numbers: Vec<i64> = range.iter().filter_map(|o| o.as_i64().ok()).collect();
        let Ok(cms) = contents.as_str() else { continue };
        if numbers.len() != 4 || numbers.iter().any(|n| *n < 0) {
            continue;
        }
        let ranges = vec![
            (numbers[0] as usize, numbers[1] as usize),
            (numbers[2] as usize, numbers[3] as usize),
        ];
        let covers_all =
            numbers[0] == 0 && numbers[2].saturating_add(numbers[3]) as usize == bytes.len();
        let signed = Signed::Ranges(&bytes, ranges);
        let cms = der_form(cms.to_vec());
        // A document timestamp (PAdES B-LTA, /SubFilter /ETSI.RFC3161): a token over the ranges.
        let is_name = |key: &[u8], value: &[u8]| {
            dict.get(key)
                .ok()
                .and_then(|o| o.as_name().ok())
                .is_some_and(|n| n == value)
        };
        if is_name(b"Type", b"DocTimeStamp") || is_name(b"SubFilter", b"ETSI.RFC3161") {
            let mut report = verify_token(&cms, &signed, path, path, trust)?.report;
            report.format = t("marches.verif.horodatage_document");
            report.couvre_tout_le_fichier = Some(covers_all);
            reports.push(report);
            continue;
        }
        // The signing time the signer wrote in the signature dictionary (/M): used only when
        // the CMS has no signingTime, and said to be declared.
        let declared = dict
            .get(b"M")
            .ok()
            .and_then(|m| m.as_str().ok())
            .and_then(parse_pdf_date);
        for verdict in verify_signed_data(&cms, &signed, path, path, "PAdES", declared, trust)? {
            let mut report = verdict.report;
            report.couvre_tout_le_fichier = Some(covers_all);
            reports.push(report);
        }
    }
    Ok(reports)
}

/// A PDF date, `D:YYYYMMDDHHmmSSOHH'mm'` (every part after the year optional; no offset
/// means UTC here).
fn parse_pdf_date(text: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(text).ok()?;
    let text = text.strip_prefix("D:").unwrap_or(text);
    let digits = |from: usize, len: usize, default: u8| -> Option<u8> {
        match text.get(from..from + len) {
            Some(d) if d.bytes().all(|b| b.is_ascii_digit()) => d.parse().ok(),
            Some(_) => None,
            None => Some(default),
        }
    };
    let year: i32 = text.get(..4)?.parse().ok()?;
    let month = digits(4, 2, 1)?;
    let day = digits(6, 2, 1)?;
    let hour = digits(8, 2, 0)?;
    let minute = digits(10, 2, 0)?;
    let second = digits(12, 2, 0)?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let local = date.with_time(time::Time::from_hms(hour, minute, second).ok()?);
    let zone = text.get(14..).unwrap_or("");
    let offset = match zone.chars().next() {
        None | Some('Z') => time::UtcOffset::UTC,
        Some(sign @ ('+' | '-')) => {
            let rest: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i8 = rest.get(..2)?.parse().ok()?;
            let m: i8 = rest.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
            let (h, m) = if sign == '-' { (-h, -m) } else { (h, m) };
            time::UtcOffset::from_hms(h, m, 0).ok()?
        }
        Some(_) => return None,
    };
    Some(local.assume_offset(offset).to_offset(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::iso8601;

    #[test]
    fn pdf_dates() {
        let d = parse_pdf_date(b"D:20220215094452+01'00'").expect("date");
        assert_eq!(iso8601(d), "2022-02-15T08:44:52Z");
        let d = parse_pdf_date(b"D:20220215084452Z").expect("date");
        assert_eq!(iso8601(d), "2022-02-15T08:44:52Z");
        let d = parse_pdf_date(b"D:2022").expect("year only");
        assert_eq!(iso8601(d), "2022-01-01T00:00:00Z");
        assert!(parse_pdf_date(b"D:20221315").is_none());
        assert!(parse_pdf_date(b"hier").is_none());
    }
}
