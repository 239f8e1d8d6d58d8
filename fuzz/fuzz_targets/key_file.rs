//! BIND key files (`tsig-keygen`, `ddns-confgen`), parsed and turned into a
//! key as the agent loads its key file; an error message never shows a
//! secret the file holds.
#![no_main]

use std::path::Path;

use dnsfailover::dns::{parse_key_file, TsigKey};
use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/etc/dnsfailover/update.key");
    let wanted = Name::from_ascii("update-key").expect("a valid name");
    let secrets: Vec<String> = std::str::from_utf8(data)
        .ok()
        .and_then(|text| parse_key_file(text).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| String::from_utf8(entry.secret.expose().to_vec()).ok())
        .collect();
    let text = String::from_utf8_lossy(data);
    for wanted in [None, Some(&wanted)] {
        let Err(error) = TsigKey::from_key_file_contents(data, path, wanted) else {
            continue;
        };
        let message = error.to_string();
        for secret in &secrets {
            if secret.len() < 8 || !message.contains(secret.as_str()) {
                continue;
            }
            // A secret written elsewhere too (as a name, say) may show from there.
            let shown_legitimately = text.matches(secret.as_str()).count() > 1;
            // So may one that is a word of the message itself (the secret
            // "hmac-sha384" beside an unknown algorithm, whose message lists
            // the algorithms): with the secret replaced, the word stays.
            let filler = "Q".repeat(secret.len());
            let without = text.replace(secret.as_str(), &filler);
            let message_without = TsigKey::from_key_file_contents(without.as_bytes(), path, wanted)
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default();
            let a_word_of_the_message = message_without.contains(secret.as_str());
            assert!(
                shown_legitimately || a_word_of_the_message,
                "an error message shows a secret: {message}"
            );
        }
    }
});
