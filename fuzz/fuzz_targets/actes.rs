//! The ACTES reader (a message of the platform or the préfecture, or an archive of them: tar,
//! gzip, zip) never panics and never allocates beyond its limits, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use paraphe::actes::messages::{ReadLimits, read_any};

fuzz_target!(|data: &[u8]| {
    let _ = read_any(data, &ReadLimits::default());
});
