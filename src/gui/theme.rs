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

/// The colours of a state chip: background and text. Chosen from a palette colour-blind people
/// tell apart (blue against orange, never red against green alone), each dark text on a light
/// ground whatever the window's theme; the icon and the word carry the meaning as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Not yet on its way (brouillon, préparé, signé) or stopped by the person (annulé).
    Neutral,
    /// On its way: waiting, being sent, transmitted and waiting for the accusé de réception.
    Moving,
    /// Arrived: accusé de réception reçu.
    Done,
    /// Something for a person to do: transmitted but to attach to its transaction.
    Attention,
    /// Refused or in error.
    Problem,
}

impl Tone {
    fn colours(self) -> (iced::Color, iced::Color) {
        use iced::Color;
        match self {
            Tone::Neutral => (
                Color::from_rgb8(0xE6, 0xE6, 0xE6),
                Color::from_rgb8(0x30, 0x30, 0x30),
            ),
            Tone::Moving => (
                Color::from_rgb8(0xD6, 0xE8, 0xFA),
                Color::from_rgb8(0x0B, 0x4A, 0x85),
            ),
            Tone::Done => (
                Color::from_rgb8(0xD4, 0xF0, 0xDF),
                Color::from_rgb8(0x0E, 0x55, 0x2A),
            ),
            Tone::Attention => (
                Color::from_rgb8(0xFF, 0xEF, 0xBF),
                Color::from_rgb8(0x62, 0x47, 0x00),
            ),
            Tone::Problem => (
                Color::from_rgb8(0xFB, 0xDD, 0xCC),
                Color::from_rgb8(0x8A, 0x28, 0x00),
            ),
        }
    }
}

/// An item's state as a person glances at it: its tone and an icon drawn from the fonts every
/// desktop has (DejaVu on Linux, Segoe UI Symbol on Windows).
pub fn state_look(state: crate::outbox::State, awaits_attachment: bool) -> (Tone, &'static str) {
    use crate::outbox::State;
    if awaits_attachment {
        return (Tone::Attention, "⚠");
    }
    match state {
        State::Brouillon => (Tone::Neutral, "✎"),
        State::Prepare => (Tone::Neutral, "○"),
        State::Signe => (Tone::Neutral, "◆"),
        State::EnAttente => (Tone::Moving, "◷"),
        State::EnCours => (Tone::Moving, "↻"),
        State::Envoye => (Tone::Moving, "→"),
        State::Acquitte => (Tone::Done, "✓"),
        State::Refuse => (Tone::Problem, "✗"),
        State::Erreur => (Tone::Problem, "⚠"),
        State::Annule => (Tone::Neutral, "⊘"),
    }
}

/// A state chip: « ✓ accusé de réception reçu » on its tone's colours, rounded.
pub fn chip<'a, M: 'a>(tone: Tone, icon: &str, word: String) -> iced::Element<'a, M> {
    let (ground, ink) = tone.colours();
    iced::widget::container(iced::widget::text(format!("{icon} {word}")).size(SMALL))
        .padding([2, 8])
        .style(move |_| iced::widget::container::Style {
            text_color: Some(ink),
            background: Some(ground.into()),
            border: iced::Border::default().rounded(10),
            ..Default::default()
        })
        .into()
}
