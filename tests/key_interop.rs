//! Keys written by BIND's own tools load, and sign like RFC 4231 says HMACs must.
//!
//! Needs `tsig-keygen` and `ddns-confgen` (Debian: `apt-get install bind9-utils`).

use std::env;
use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use dnsfailover::dns::TsigKey;
use dnsfailover::vocabulary::KeySource;
use dnsfailover::vocabulary::TsigAlgorithm;
use hickory_proto::rr::Name;
use tempfile::TempDir;

/// The path of a BIND tool, from PATH or the sbin directories Debian puts it in.
fn bind_tool(tool: &str) -> PathBuf {
    let path_directories = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let fallbacks = ["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from);
    path_directories
        .into_iter()
        .chain(fallbacks)
        .map(|directory| directory.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{tool} is not installed; install BIND's tools with `apt-get install bind9-utils`"
            )
        })
}

/// Runs a BIND tool and returns what it printed.
fn run(tool: &str, arguments: &[&str]) -> String {
    let output = Command::new(bind_tool(tool))
        .args(arguments)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {tool}: {error}"));
    assert!(
        output.status.success(),
        "{tool} {arguments:?} failed: {output:?}"
    );
    String::from_utf8(output.stdout).expect("BIND tools print ASCII")
}

fn private_file(directory: &TempDir, file_name: &str, contents: &str) -> PathBuf {
    let path = directory.path().join(file_name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
    path
}

fn load(path: &Path, name: Option<&str>) -> TsigKey {
    let source = KeySource::File {
        path: path.to_path_buf(),
        name: name.map(|name| Name::from_ascii(name).unwrap()),
    };
    TsigKey::load(&source).unwrap_or_else(|error| panic!("{error}"))
}

/// The secret of the first `secret "...";` line, found without the crate's parser.
fn secret_in(text: &str) -> Vec<u8> {
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with("secret \""))
        .expect("a secret line");
    let encoded = line.split('"').nth(1).expect("a quoted secret");
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn tsig_keygen_keys_load_for_every_accepted_algorithm() {
    let directory = tempfile::tempdir().unwrap();
    for algorithm in ["hmac-sha256", "hmac-sha384", "hmac-sha512"] {
        let text = run("tsig-keygen", &["-a", algorithm, "interop-key"]);
        let path = private_file(&directory, "interop.key", &text);
        let key = load(&path, None);
        assert_eq!(key.name().to_string(), "interop-key.");
        assert_eq!(key.algorithm().name(), algorithm);
        assert_eq!(key.secret().expose(), secret_in(&text).as_slice());
        assert_eq!(key.secret().len(), key.algorithm().mac_len(), "{algorithm}");
        let mac = key.sign(b"an UPDATE message");
        assert!(key.verify(b"an UPDATE message", &mac));
    }
}

#[test]
fn ddns_confgen_output_loads_as_printed() {
    let directory = tempfile::tempdir().unwrap();
    let text = run("ddns-confgen", &["-k", "interop-ddns"]);
    assert!(
        text.contains("update-policy"),
        "the comments and policy are part of the test: {text}"
    );
    let path = private_file(&directory, "ddns.key", &text);
    let key = load(&path, None);
    assert_eq!(key.name().to_string(), "interop-ddns.");
    assert_eq!(key.algorithm(), TsigAlgorithm::HmacSha256);
    assert_eq!(key.secret().expose(), secret_in(&text).as_slice());
}

#[test]
fn keys_of_both_tools_in_one_file_are_picked_by_name() {
    let directory = tempfile::tempdir().unwrap();
    let plain = run("tsig-keygen", &["-a", "hmac-sha512", "plain-key"]);
    let zone = run("ddns-confgen", &["-z", "example.test"]);
    let path = private_file(&directory, "both.key", &(plain.clone() + &zone));
    let zone_key = load(&path, Some("DDNS-KEY.example.test."));
    assert_eq!(zone_key.name().to_string(), "ddns-key.example.test.");
    assert_eq!(zone_key.secret().expose(), secret_in(&zone).as_slice());
    let plain_key = load(&path, Some("plain-key"));
    assert_eq!(plain_key.algorithm(), TsigAlgorithm::HmacSha512);
    assert_eq!(plain_key.secret().expose(), secret_in(&plain).as_slice());
}

#[test]
fn a_tsig_keygen_md5_key_is_refused_with_the_reason() {
    let directory = tempfile::tempdir().unwrap();
    let text = run("tsig-keygen", &["-a", "hmac-md5", "old-key"]);
    let path = private_file(&directory, "old.key", &text);
    let source = KeySource::File {
        path: path.clone(),
        name: None,
    };
    let message = TsigKey::load(&source).unwrap_err().to_string();
    assert!(message.contains("key \"old-key\""), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("RFC 8945 forbids HMAC-MD5"), "{message}");
}

/// RFC 4231 §4.3 (test case 2: key "Jefe") and §4.2 (test case 1: 20 bytes 0x0b).
#[test]
fn hmacs_match_the_rfc_4231_test_vectors() {
    let directory = tempfile::tempdir().unwrap();
    let jefe = "key \"jefe\" { algorithm hmac-sha256; secret \"SmVmZQ==\"; };\n\
                key \"jefe384\" { algorithm hmac-sha384; secret \"SmVmZQ\"; };\n\
                key \"jefe512\" { algorithm \"hmac-sha512\"; secret \"Sm VmZQ ==\"; };\n\
                key \"case1\" { algorithm hmac-sha256; secret \"CwsLCwsLCwsLCwsLCwsLCwsLCws=\"; };\n";
    let path = private_file(&directory, "rfc4231.key", jefe);
    let data = b"what do ya want for nothing?";
    let expected = [
        ("jefe", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ("jefe384", "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"),
        ("jefe512", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
    ];
    for (name, mac) in expected {
        let key = load(&path, Some(name));
        assert_eq!(hex(&key.sign(data)), mac, "{name}");
    }
    let case1 = load(&path, Some("case1"));
    assert_eq!(case1.secret().expose(), &[0x0b; 20]);
    assert_eq!(
        hex(&case1.sign(b"Hi There")),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
}
