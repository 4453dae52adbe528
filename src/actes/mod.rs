//! ACTES (contrôle de légalité): the act and its rules, the files judged by content, the
//! classification, the archive a tiers de télétransmission sends, the signatures of act files,
//! and everything the préfecture sends back.

pub mod archive;
pub mod classification;
pub mod files;
pub mod model;
pub mod names;
pub mod register;
pub mod rules;

pub mod answers;
pub mod messages;

pub mod cms;
pub mod pades;
