//! The PES_Aller summary reader and its checks never panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(summary) = paraphe::pes::read_summary(data) {
        for intent in [
            paraphe::pes::checks::Intent::Check,
            paraphe::pes::checks::Intent::SignBordereaux,
            paraphe::pes::checks::Intent::SignFile,
        ] {
            let _ = paraphe::pes::checks::check(&summary, intent);
        }
    }
});
