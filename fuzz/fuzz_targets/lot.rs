//! The lot reader (a tar from another workstation: manifest, files, hash, signature) never panics,
//! never writes outside its staging folder and never allocates without bound, whatever the bytes.
//! The bytes go through a file because a lot is read from one (special files are refused there).
#![no_main]
use libfuzzer_sys::fuzz_target;
use paraphe::outbox::lot::{ImportPolicy, inspect};

fuzz_target!(|data: &[u8]| {
    let base = std::env::temp_dir().join(format!("paraphe-fuzz-lot-{}", std::process::id()));
    if std::fs::create_dir_all(&base).is_err() {
        return;
    }
    let lot = base.join("lot.tar");
    if std::fs::write(&lot, data).is_err() {
        return;
    }
    // Unsigned lots accepted: the fuzzer reaches the file extraction without a valid signature.
    let policy = ImportPolicy {
        trust: None,
        accept_unsigned: true,
    };
    let _ = inspect(&lot, &base.join("travail"), &policy);
});
