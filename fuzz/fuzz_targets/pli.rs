//! The encrypted-bid readers (DER/PEM/S-MIME forms, CMS head, BER content) never panic and never
//! allocate without bound, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = paraphe::marches::scan(data);
});
