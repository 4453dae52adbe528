//! The PES_Retour reader (the comptable's answer, dépense and recette, both shapes of a piece)
//! never panics and keeps its limits, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = paraphe::pes::retour::read_retour(data);
});
