//! The YAML configuration, parsed and validated as `dnsfailover` loads it
//! (the TSIG key itself is not loaded).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("/etc/dnsfailover/dnsfailover.yaml");
    match dnsfailover::config::parse(text, file, &|_| Ok(())) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(error) => {
            assert!(
                !error.problems.is_empty(),
                "an invalid configuration must say why"
            );
            let _ = error.to_string();
        }
    }
});
