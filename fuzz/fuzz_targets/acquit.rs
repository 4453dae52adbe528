//! The PES_Acquit reader never panics, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = paraphe::pes::acquit::read_acquit(data);
});
