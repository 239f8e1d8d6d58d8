//! No TSIG secret, nor any piece of one, reaches logs, Debug output, error
//! messages or panic messages, whether the key loads or is refused.

use std::fmt::Debug;
use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use dnsfailover::dns::{parse_key_file, TsigKey};
use dnsfailover::vocabulary::KeySource;
use dnsfailover::vocabulary::TsigAlgorithm;
use hickory_proto::rr::Name;
use tempfile::TempDir;
use tracing_subscriber::fmt::MakeWriter;

/// Everything written to it: log lines, formatted values, panic messages.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

impl Capture {
    fn push(&self, text: &str) {
        let mut captured = self.0.lock().unwrap();
        captured.push_str(text);
        captured.push('\n');
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// 32 random-looking bytes, different for every `label`.
fn secret_bytes(label: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, label.as_bytes())
        .as_ref()
        .to_vec()
}

/// Every form a leak could take: the base64 (padded or not), hex in both
/// cases, the raw bytes when they are text, and every 8-character piece of each.
fn leak_patterns(encoded: &str, decoded: &[u8]) -> Vec<String> {
    let hex: String = decoded.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut whole = vec![
        encoded.trim_end_matches('=').to_string(),
        STANDARD.encode(decoded),
        STANDARD_NO_PAD.encode(decoded),
        hex.to_uppercase(),
        hex,
    ];
    whole.extend(String::from_utf8(decoded.to_vec()));
    whole.iter().flat_map(|form| with_pieces(form)).collect()
}

/// `text` and each of its 8-character pieces.
fn with_pieces(text: &str) -> Vec<String> {
    let characters: Vec<char> = text.chars().collect();
    let pieces = characters.windows(8).map(|window| window.iter().collect());
    std::iter::once(text.to_string()).chain(pieces).collect()
}

/// The secrets used in the scenarios and the files holding them.
struct Scenarios {
    directory: TempDir,
    patterns: Vec<String>,
}

impl Scenarios {
    /// A fresh secret for `label`: its base64 text, remembered as forbidden output.
    fn secret(&mut self, label: &str) -> String {
        let decoded = secret_bytes(label);
        let encoded = STANDARD.encode(&decoded);
        self.patterns.extend(leak_patterns(&encoded, &decoded));
        encoded
    }

    /// Base64 text that is not valid, made from a fresh secret.
    fn broken_secret(&mut self, label: &str, damage: impl Fn(&str) -> String) -> String {
        let broken = damage(&self.secret(label));
        self.patterns.extend(with_pieces(&broken));
        broken
    }

    fn file(&self, name: &str, contents: &[u8], mode: u32) -> PathBuf {
        let path = self.directory.path().join(name);
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(mode)).unwrap();
        path
    }
}

fn key_statement(name: &str, algorithm: &str, secret: &str) -> String {
    format!("key \"{name}\" {{\n\talgorithm {algorithm};\n\tsecret \"{secret}\";\n}};\n")
}

/// A key file to load.
struct KeyFileCase {
    file_name: &'static str,
    contents: Vec<u8>,
    mode: u32,
    wanted: Option<&'static str>,
}

/// An owner-only key file whose only key is loaded.
fn case(file_name: &'static str, contents: impl Into<Vec<u8>>) -> KeyFileCase {
    KeyFileCase {
        file_name,
        contents: contents.into(),
        mode: 0o600,
        wanted: None,
    }
}

/// Key files that load, or are refused for what they say rather than how.
fn well_formed_key_files(scenarios: &mut Scenarios) -> Vec<KeyFileCase> {
    let good = key_statement("good", "hmac-sha256", &scenarios.secret("good"));
    let two = key_statement("one", "hmac-sha256", &scenarios.secret("one"))
        + &key_statement("two", "hmac-sha512", &scenarios.secret("two"));
    let md5 = key_statement("old", "hmac-md5", &scenarios.secret("md5"));
    let swapped_algorithm = format!("\"{}\"", scenarios.secret("swapped"));
    let swapped = key_statement("swapped", &swapped_algorithm, "hmac-sha256");
    let bare_secret = format!("{}\n", scenarios.secret("bare-file"));
    let open = key_statement("world", "hmac-sha256", &scenarios.secret("world"));
    vec![
        case("good.key", good),
        case("two.key", two.clone()),
        KeyFileCase {
            wanted: Some("three"),
            ..case("two-missing.key", two)
        },
        case("md5.key", md5),
        case("swapped.key", swapped),
        case("bare-secret.key", bare_secret),
        KeyFileCase {
            mode: 0o644,
            ..case("world.key", open)
        },
    ]
}

/// Key files with a broken secret or broken syntax around it.
fn broken_key_files(scenarios: &mut Scenarios) -> Vec<KeyFileCase> {
    let damaged = scenarios.broken_secret("bad", |s| {
        s.replacen('/', "_", 1).replacen('+', "-", 1) + "!"
    });
    let cut_short = scenarios.broken_secret("cut", |s| s[..s.len() - 7].to_string());
    let unclosed = format!(
        "key \"open\" {{\n\tsecret \"{}\n}};\n",
        scenarios.secret("unclosed")
    );
    let no_semicolon = format!(
        "key \"semi\" {{ secret \"{}\" algorithm hmac-sha256; }};",
        scenarios.secret("semi")
    );
    let unquoted = format!(
        "key \"bare\" {{ algorithm hmac-sha256; secret {}; }};",
        scenarios.secret("bare")
    );
    let (first, second) = (scenarios.secret("first"), scenarios.secret("second"));
    let repeated = format!("key \"twice\" {{ secret \"{first}\"; secret \"{second}\"; }};");
    let mut not_text =
        key_statement("binary", "hmac-sha256", &scenarios.secret("binary")).into_bytes();
    not_text.insert(40, 0xff);
    vec![
        case("bad.key", key_statement("bad", "hmac-sha256", &damaged)),
        case("cut.key", key_statement("cut", "hmac-sha256", &cut_short)),
        case("unclosed.key", unclosed),
        case("semi.key", no_semicolon),
        case("bare.key", unquoted),
        case("twice.key", repeated),
        case("binary.key", not_text),
    ]
}

/// Secret files for inline keys: (file name, contents, mode).
fn secret_files(scenarios: &mut Scenarios) -> Vec<(&'static str, String, u32)> {
    vec![
        (
            "inline-good",
            format!("{}\n", scenarios.secret("inline-good")),
            0o600,
        ),
        (
            "inline-bad",
            scenarios.broken_secret("inline-bad", |s| format!("{}*{}", &s[..10], &s[10..])),
            0o600,
        ),
        (
            "inline-statement",
            key_statement("k", "hmac-sha256", &scenarios.secret("inline-statement")),
            0o600,
        ),
        ("inline-open", scenarios.secret("inline-open"), 0o640),
    ]
}

/// Formats a result every way a program might, and logs it at every level.
fn record<T: Debug, E: Debug + std::error::Error>(capture: &Capture, result: &Result<T, E>) {
    capture.push(&format!("{result:?}"));
    capture.push(&format!("{result:#?}"));
    tracing::trace!(?result, "loaded");
    if let Err(error) = result {
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(error) = source {
            capture.push(&error.to_string());
            source = error.source();
        }
        tracing::error!(%error, "cannot load the TSIG key");
        tracing::warn!(?error, "cannot load the TSIG key");
    }
}

/// Panics with the result's Debug, as `unwrap`/`expect` would, and catches
/// the panic; the panic hook captures the message.
fn record_panic<T: Debug, E: Debug>(result: Result<T, E>) {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| match result {
        Ok(key) => panic!("loading should have failed: {key:?}"),
        Err(error) => panic!("loading failed: {error:?}"),
    }));
    assert!(outcome.is_err());
}

fn run_scenarios(capture: &Capture, scenarios: &mut Scenarios) {
    let mut cases = well_formed_key_files(scenarios);
    cases.extend(broken_key_files(scenarios));
    for case in cases {
        if let Ok(text) = std::str::from_utf8(&case.contents) {
            record(capture, &parse_key_file(text));
        }
        let path = scenarios.file(case.file_name, &case.contents, case.mode);
        let name = case.wanted.map(|name| Name::from_ascii(name).unwrap());
        let source = KeySource::File { path, name };
        let result = TsigKey::load(&source);
        record(capture, &result);
        if let Ok(key) = &result {
            capture.push(key.origin());
            tracing::info!(key = ?key, mac = key.sign(b"data").len(), "signed");
        }
        record_panic(result);
    }
    for (file_name, contents, mode) in secret_files(scenarios) {
        let secret_file = scenarios.file(file_name, contents.as_bytes(), mode);
        let name = Name::from_ascii(file_name).unwrap();
        let source = KeySource::Inline {
            name,
            algorithm: TsigAlgorithm::HmacSha256,
            secret_file,
        };
        let result = TsigKey::load(&source);
        record(capture, &result);
        record_panic(result);
    }
}

#[test]
fn secrets_never_reach_logs_debug_errors_or_panics() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let panic_capture = capture.clone();
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| panic_capture.push(&info.to_string())));
    let mut scenarios = Scenarios {
        directory: tempfile::tempdir().unwrap(),
        patterns: Vec::new(),
    };
    tracing::subscriber::with_default(subscriber, || run_scenarios(&capture, &mut scenarios));
    panic::set_hook(previous_hook);

    let output = capture.text();
    let expected = [
        "TSIG key loaded",
        "<redacted>",
        "holds several keys",
        "no key named \"three\"",
        "RFC 8945",
        "not a TSIG algorithm name",
        "character",
        "was it cut short",
        "is not closed on its line",
        "expected `;` after the secret",
        "quoted base64 string",
        "second `secret`",
        "holds no `key",
        "is not text",
        "chmod 600",
        "looks like a BIND key file",
        "loading failed",
        "panicked",
    ];
    for phrase in expected {
        assert!(
            output.contains(phrase),
            "the scenarios should produce {phrase:?}:\n{output}"
        );
    }
    for pattern in &scenarios.patterns {
        assert!(
            !output.contains(pattern.as_str()),
            "secret material {pattern:?} leaked into:\n{output}"
        );
    }
}
