//! Paraphe: ACTES and Hélios PES V2 télétransmission for French local authorities, signing with the
//! user's smart card. Everything here works without the window (`gui` feature); the command line
//! and the window are thin layers over this library (the command line lives in the binary only:
//! the library does not depend on clap).

pub mod actes;
pub mod card;
pub mod certs;
pub mod chunks;
pub mod clock;
pub mod files;
pub mod findings;
#[cfg(feature = "gui")]
pub mod gui;
pub mod hashing;
pub mod keys;
pub mod latin1;
pub mod logging;
pub mod marches;
pub mod messages;
pub mod outbox;
pub mod pes;
pub mod platform;
pub mod settings;
pub mod usecases;
pub mod xml;
