//! Canonicalisation (both modes, whole document and by Id) never panics, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use paraphe::xml::{C14nMode, canonicalize, canonicalize_element_by_id};

fuzz_target!(|data: &[u8]| {
    let modes = [
        C14nMode::Inclusive { with_comments: false },
        C14nMode::Inclusive { with_comments: true },
        C14nMode::Exclusive { with_comments: false, inclusive_prefixes: vec![] },
        C14nMode::Exclusive { with_comments: false, inclusive_prefixes: vec!["#default".into(), "a".into()] },
    ];
    for mode in &modes {
        let _ = canonicalize(data, mode);
        let _ = canonicalize_element_by_id(data, "Id", "b", mode, true);
    }
});
