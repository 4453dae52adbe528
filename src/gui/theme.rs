//! One place for the look: spacing and type scale.

pub const TITLE: f32 = 26.0;
pub const HEADING: f32 = 20.0;
pub const TEXT: f32 = 15.0;
pub const SMALL: f32 = 13.0;
pub const PAD: f32 = 10.0;
pub const GAP: f32 = 8.0;
