//! Dates and hours as people read them: stored in UTC (RFC 3339), shown on the local clock —
//! summer time included — through the tz database bundled in the program (jiff), never through
//! rules written here.

use jiff::tz::TimeZone;
use std::sync::OnceLock;

/// Metropolitan France's zone, for what the field defines on Paris's clock (the deadline of a
/// consultation) and for display when the system names no zone of its own.
pub fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC)
}

/// The zone times are shown in: the system's (a mairie of La Réunion sees its own hour), unless
/// it names none or only UTC (servers, containers), then Paris.
pub fn display_zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        TimeZone::try_system()
            .ok()
            .filter(|tz| {
                tz.iana_name()
                    .is_some_and(|name| !matches!(name, "UTC" | "Etc/UTC" | "Etc/UCT" | "UCT"))
            })
            .unwrap_or_else(paris)
    })
}

/// `2026-11-27T10:00:00Z` → `27/11/2026 11:00` on the display zone's clock; `None` if `iso` is
/// not an RFC 3339 time.
pub fn local_datetime_fr(iso: &str) -> Option<String> {
    local_datetime_fr_in(iso, display_zone())
}

/// Like [`local_datetime_fr`], in a given zone.
pub fn local_datetime_fr_in(iso: &str, zone: &TimeZone) -> Option<String> {
    let instant: jiff::Timestamp = iso.trim().parse().ok()?;
    let zoned = instant.to_zoned(zone.clone());
    Some(format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        zoned.day(),
        zoned.month(),
        zoned.year(),
        zoned.hour(),
        zoned.minute()
    ))
}

/// A day and an hour on Paris's clock, as RFC 3339 with the offset in force then (`+01:00` in
/// winter, `+02:00` in summer). In the hour skipped in spring, or repeated in autumn, the
/// earlier reading is taken (jiff's « compatible » choice, as most calendars do).
pub fn paris_rfc3339(year: i16, month: i8, day: i8, hour: i8, minute: i8) -> Option<String> {
    let civil = jiff::civil::DateTime::new(year, month, day, hour, minute, 0, 0).ok()?;
    let zoned = civil.to_zoned(paris()).ok()?;
    Some(zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_is_shown_on_paris_s_clock_with_summer_time() {
        let paris = paris();
        assert_eq!(
            local_datetime_fr_in("2026-11-27T10:00:00Z", &paris).as_deref(),
            Some("27/11/2026 11:00")
        );
        assert_eq!(
            local_datetime_fr_in("2026-07-14T10:05:00Z", &paris).as_deref(),
            Some("14/07/2026 12:05")
        );
        // The night of the change: 00:59 UTC is 01:59 in winter, 01:00 UTC is 03:00 in summer.
        assert_eq!(
            local_datetime_fr_in("2026-03-29T00:59:00Z", &paris).as_deref(),
            Some("29/03/2026 01:59")
        );
        assert_eq!(
            local_datetime_fr_in("2026-03-29T01:00:00Z", &paris).as_deref(),
            Some("29/03/2026 03:00")
        );
        assert_eq!(local_datetime_fr_in("hier", &paris), None);
        let reunion = TimeZone::get("Indian/Reunion").expect("bundled zone");
        assert_eq!(
            local_datetime_fr_in("2026-11-27T10:00:00Z", &reunion).as_deref(),
            Some("27/11/2026 14:00")
        );
    }

    #[test]
    fn a_paris_hour_gets_the_offset_in_force() {
        assert_eq!(
            paris_rfc3339(2027, 1, 15, 12, 0).as_deref(),
            Some("2027-01-15T12:00:00+01:00")
        );
        assert_eq!(
            paris_rfc3339(2027, 6, 15, 12, 0).as_deref(),
            Some("2027-06-15T12:00:00+02:00")
        );
        assert_eq!(paris_rfc3339(2027, 2, 30, 12, 0), None);
    }
}
