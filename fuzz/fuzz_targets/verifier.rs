//! Signature verification never panics, whatever the bytes (no trust store: the crypto paths and
//! the parsing of signatures are what is exercised).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = paraphe::pes::verify::verify_reader(data, None, None);
});
