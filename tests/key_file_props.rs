//! Property tests of the key file parser: generated files round-trip, any
//! input is answered without a panic, and a cut-off file never gains keys.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use dnsfailover::dns::{parse_key_file, KeyEntry};
use dnsfailover::vocabulary::TsigAlgorithm;
use proptest::prelude::*;

/// One generated `key` statement and how to lay it out.
#[derive(Debug, Clone)]
struct GeneratedKey {
    name: String,
    quote_name: bool,
    algorithm: &'static str,
    quote_algorithm: bool,
    secret: Vec<u8>,
    padded: bool,
    secret_first: bool,
    statement_before: Option<&'static str>,
}

/// Other named.conf statements the parser must step over.
const OTHER_STATEMENTS: [&str; 4] = [
    "options { directory \"/var/cache/bind\"; allow-query { any; }; };",
    "zone \"example.test\" { type primary; file \"db.test\"; update-policy { grant k zonesub ANY; }; };",
    "acl \"trusted\" { 127.0.0.1; ::1; };",
    "update-policy {\n\tgrant mykey zonesub ANY;\n};",
];

/// What may separate tokens: whitespace and every comment style, with
/// braces, quotes and semicolons inside comments to make sure they are ignored.
fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(" "),
        Just("\t"),
        Just("\n"),
        Just("\r\n"),
        Just("// a comment { ; \"\n"),
        Just("# key \"fake\" { };\n"),
        Just("/* inline */"),
        Just("/* several\n * lines } { \" */"),
    ]
}

/// Zero or more separators; `required` gives at least one where words meet.
fn gap(required: bool) -> impl Strategy<Value = String> {
    let minimum = usize::from(required);
    prop::collection::vec(separator(), minimum..3).prop_map(|parts| parts.concat())
}

fn generated_key() -> impl Strategy<Value = GeneratedKey> {
    (
        "[a-zA-Z0-9][a-zA-Z0-9-]{0,15}(\\.[a-z0-9][a-z0-9-]{0,10}){0,3}\\.?",
        any::<bool>(),
        prop::sample::select(vec![
            "hmac-sha256",
            "hmac-sha384",
            "hmac-sha512",
            "HMAC-SHA256",
        ]),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 1..80),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::sample::select(OTHER_STATEMENTS.to_vec())),
    )
        .prop_map(
            |(
                name,
                quote_name,
                algorithm,
                quote_algorithm,
                secret,
                padded,
                secret_first,
                statement_before,
            )| {
                GeneratedKey {
                    name,
                    quote_name,
                    algorithm,
                    quote_algorithm,
                    secret,
                    padded,
                    secret_first,
                    statement_before,
                }
            },
        )
}

/// A generated key file and what it must yield.
#[derive(Debug, Clone)]
struct GeneratedFile {
    keys: Vec<GeneratedKey>,
    text: String,
    /// Byte offset just past the `;` that ends the last key statement.
    last_key_end: usize,
}

/// A key file: the keys, separators drawn for every place one may go, and
/// possibly ddns-confgen's closing `nsupdate -k <keyfile>` line.
fn generated_file() -> impl Strategy<Value = GeneratedFile> {
    prop::collection::vec(generated_key(), 1..5)
        .prop_flat_map(|keys| {
            let gaps = prop::collection::vec((gap(false), gap(true)), keys.len() * 12);
            (Just(keys), gaps, any::<bool>())
        })
        .prop_map(|(keys, gaps, nsupdate_line)| {
            let mut text = String::new();
            let mut last_key_end = 0;
            for (key, gaps) in keys.iter().zip(gaps.chunks(12)) {
                text.push_str(&render(key, gaps));
                last_key_end = text.len();
                text.push_str(&gaps[11].1);
            }
            if nsupdate_line {
                text.push_str("\nnsupdate -k <keyfile>\n");
            }
            GeneratedFile {
                keys,
                text,
                last_key_end,
            }
        })
}

/// One key statement up to its final `;`; `gaps[i]` is (optional separator,
/// required separator).
fn render(key: &GeneratedKey, gaps: &[(String, String)]) -> String {
    let optional = |index: usize| gaps[index].0.as_str();
    let required = |index: usize| gaps[index].1.as_str();
    let name = quote_if(key.quote_name, &key.name);
    let algorithm = quote_if(key.quote_algorithm, key.algorithm);
    let encoded = if key.padded {
        STANDARD.encode(&key.secret)
    } else {
        STANDARD_NO_PAD.encode(&key.secret)
    };
    let algorithm_clause = format!("algorithm{}{algorithm}{};", required(0), optional(1));
    let secret_clause = format!("secret{}\"{encoded}\"{};", optional(2), optional(3));
    let (first, second) = if key.secret_first {
        (secret_clause, algorithm_clause)
    } else {
        (algorithm_clause, secret_clause)
    };
    let before = key
        .statement_before
        .map(|statement| format!("{statement}{}", required(4)));
    format!(
        "{}{}key{}{name}{}{{{}{first}{}{second}{}}}{};",
        before.unwrap_or_default(),
        optional(5),
        required(6),
        optional(7),
        optional(8),
        optional(9),
        optional(10),
        optional(11),
    )
}

fn quote_if(quote: bool, text: &str) -> String {
    if quote {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

/// Checks that `entries` are the first keys of `keys`, each exactly as generated.
fn assert_entries_match(entries: &[KeyEntry], keys: &[GeneratedKey]) -> Result<(), TestCaseError> {
    prop_assert!(entries.len() <= keys.len());
    for (entry, key) in entries.iter().zip(keys) {
        prop_assert_eq!(&entry.name, &key.name);
        prop_assert_eq!(entry.algorithm.as_str(), key.algorithm);
        prop_assert!(entry.algorithm.parse::<TsigAlgorithm>().is_ok());
        let decoded = entry
            .secret
            .decode_base64()
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(decoded.expose(), key.secret.as_slice());
    }
    Ok(())
}

/// Fragments that make up key files, broken ones included.
fn token_soup() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(vec![
        "key",
        " ",
        "\n",
        "{",
        "}",
        ";",
        "\"",
        "\\",
        "/*",
        "*/",
        "//",
        "#",
        "/",
        "*",
        "algorithm",
        "secret",
        "hmac-sha256",
        "hmac-md5",
        "\"QUJD\"",
        "\"k\"",
        "zone",
        "é",
        "\u{feff}",
        "\r",
    ]);
    prop::collection::vec(fragment, 0..60).prop_map(|fragments| fragments.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_files_round_trip(file in generated_file()) {
        let entries = parse_key_file(&file.text)
            .map_err(|error| TestCaseError::fail(format!("{error}\n{}", file.text)))?;
        prop_assert_eq!(entries.len(), file.keys.len());
        assert_entries_match(&entries, &file.keys)?;
    }

    #[test]
    fn truncating_anywhere_gives_an_error_or_fewer_keys(file in generated_file()) {
        for (cut, _) in file.text.char_indices() {
            if let Ok(entries) = parse_key_file(&file.text[..cut]) {
                assert_entries_match(&entries, &file.keys)?;
                if cut < file.last_key_end {
                    prop_assert!(entries.len() < file.keys.len(), "a cut at {} kept every key", cut);
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse_key_file(&text);
    }

    #[test]
    fn broken_key_files_never_panic_and_errors_point_inside_the_text(text in token_soup()) {
        if let Err(error) = parse_key_file(&text) {
            prop_assert!(error.line >= 1 && error.line <= text.matches('\n').count() + 1);
            prop_assert!(error.column >= 1);
            prop_assert!(!error.message.is_empty());
        }
    }
}
