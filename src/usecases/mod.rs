//! Use cases: one function per thing a person does ("prepare and queue this act"…), built on the
//! formats, the card, the outbox and the platform layers, and called by both faces (window and
//! command line) so that neither writes the steps itself.

pub mod act_batch;
pub mod lots;
pub mod prepare_act;
pub mod sign_items;

/// A key to open for one piece of work (a signature, a lot), and how to ask its PIN: the PIN
/// typed in the window, or the terminal. Opened once, after the work has been checked, so that a
/// refusal never spends a PIN try.
pub struct KeyToOpen {
    pub choice: crate::card::select::KeyChoice,
    pub role: crate::certs::Role,
    pub prompt: Box<dyn crate::card::pin::PinPrompt>,
}

impl KeyToOpen {
    /// Log in (one PIN) and give the key.
    pub fn open(self) -> Result<Box<dyn crate::keys::Signer>, String> {
        crate::card::select::open_for_role(&self.choice, self.role, self.prompt)
            .map_err(|e| e.to_string())
    }
}
