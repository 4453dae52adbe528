//! Use cases: one function per thing a person does ("prepare and queue this act"…), built on the
//! formats, the card, the outbox and the platform layers, and called by both faces (window and
//! command line) so that neither writes the steps itself.

pub mod act_batch;
pub mod lots;
pub mod prepare_act;
pub mod sign_items;
