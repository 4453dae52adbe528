//! One place for the look: spacing and type scale, and how dates are written (27/11/2026).

pub const TITLE: f32 = 26.0;
pub const HEADING: f32 = 20.0;
pub const TEXT: f32 = 15.0;
pub const SMALL: f32 = 13.0;
pub const PAD: f32 = 10.0;
pub const GAP: f32 = 8.0;

/// A screen's column in a vertical scroll area, with room on the right so that the scroll bar
/// never covers the fields.
pub fn scrolling<'a, M: 'a>(
    content: iced::widget::Column<'a, M>,
) -> iced::widget::Scrollable<'a, M> {
    iced::widget::scrollable(content.padding(iced::Padding {
        top: 0.0,
        right: 18.0,
        bottom: 0.0,
        left: 0.0,
    }))
}

/// `2026-11-27T10:00:00Z` → `27/11/2026 11:00`: stored in UTC, shown on the local clock
/// (summer time included; `crate::clock`).
pub fn french_datetime(iso: &str) -> String {
    crate::clock::local_datetime_fr(iso).unwrap_or_else(|| iso.to_owned())
}

/// `2026-11-27` → `27/11/2026` (anything else is shown as written).
pub fn french_date(iso: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(iso.trim(), &format) {
        Ok(d) => crate::actes::model::french_date(d),
        Err(_) => iso.to_owned(),
    }
}
