//! The préfecture's classification reader (natures, matières, typologies) never panics and
//! keeps its limits, whatever the bytes; a classification read is searched too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use paraphe::actes::classification::Classification;

fuzz_target!(|data: &[u8]| {
    if let Ok(classification) = Classification::parse(data, "fuzz.xml") {
        let _ = classification.search("urbanisme 2.1");
        let _ = classification.all();
    }
});
