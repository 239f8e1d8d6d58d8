use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use tempfile::TempDir;

use super::*;
use crate::vocabulary::KeySource;

/// `base64("Jefe")`, the RFC 4231 test case 2 key.
const JEFE: &str = "SmVmZQ==";

fn key_statement(name: &str, algorithm: &str, secret: &str) -> String {
    format!("key \"{name}\" {{\n\talgorithm {algorithm};\n\tsecret \"{secret}\";\n}};\n")
}

fn private_file(directory: &TempDir, file_name: &str, contents: &str) -> PathBuf {
    let path = directory.path().join(file_name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
    path
}

fn load_file(path: &Path, name: Option<&str>) -> Result<TsigKey, KeyError> {
    TsigKey::load(&KeySource::File {
        path: path.to_path_buf(),
        name: name.map(|name| Name::from_ascii(name).unwrap()),
    })
}

fn two_keys(directory: &TempDir) -> PathBuf {
    let text = key_statement("first", "hmac-sha256", JEFE)
        + &key_statement("Second.Key", "hmac-sha512", "QUJD");
    private_file(directory, "two.key", &text)
}

#[test]
fn loads_the_only_key_of_a_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = private_file(
        &directory,
        "update.key",
        &key_statement("update-key", "hmac-sha256", JEFE),
    );
    let key = load_file(&path, None).unwrap();
    assert_eq!(key.name().to_string(), "update-key.");
    assert_eq!(key.algorithm(), TsigAlgorithm::HmacSha256);
    assert_eq!(key.secret().expose(), b"Jefe");
    assert_eq!(
        key.origin(),
        format!("key \"update-key\" from {}", path.display())
    );
}

#[test]
fn picks_a_key_by_name_ignoring_case_and_trailing_dot() {
    let directory = tempfile::tempdir().unwrap();
    let path = two_keys(&directory);
    let key = load_file(&path, Some("second.KEY.")).unwrap();
    assert_eq!(key.algorithm(), TsigAlgorithm::HmacSha512);
    assert_eq!(key.secret().expose(), b"ABC");
    assert_eq!(
        load_file(&path, Some("FIRST")).unwrap().secret().expose(),
        b"Jefe"
    );
}

#[test]
fn several_keys_without_a_name_list_them_and_ask_for_key_name() {
    let directory = tempfile::tempdir().unwrap();
    let path = two_keys(&directory);
    let message = load_file(&path, None).unwrap_err().to_string();
    assert!(message.contains("\"first\", \"Second.Key\""), "{message}");
    assert!(message.contains("set key_name"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_missing_name_lists_the_names_in_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = two_keys(&directory);
    let message = load_file(&path, Some("third")).unwrap_err().to_string();
    assert!(message.contains("no key named \"third\""), "{message}");
    assert!(message.contains("\"first\", \"Second.Key\""), "{message}");
}

#[test]
fn refuses_files_without_keys_or_with_a_name_twice() {
    let directory = tempfile::tempdir().unwrap();
    let empty = private_file(&directory, "empty.key", "# no key here\n");
    let error = load_file(&empty, None).unwrap_err();
    assert!(matches!(error, KeyError::NoKeys { .. }), "{error}");
    assert!(
        error.to_string().contains("tsig-keygen -a hmac-sha256"),
        "{error}"
    );
    let text = key_statement("k", "hmac-sha256", JEFE) + &key_statement("K.", "hmac-sha256", JEFE);
    let twice = private_file(&directory, "twice.key", &text);
    let message = load_file(&twice, Some("k")).unwrap_err().to_string();
    assert!(message.contains("twice (lines 1 and 5)"), "{message}");
}

#[test]
fn refuses_md5_naming_the_key_the_file_and_the_fix() {
    let directory = tempfile::tempdir().unwrap();
    let path = private_file(
        &directory,
        "old.key",
        &key_statement("legacy", "hmac-md5", JEFE),
    );
    let message = load_file(&path, None).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("key \"legacy\" from {}, line 1: ", path.display())),
        "{message}"
    );
    assert!(message.contains("RFC 8945"), "{message}");
    assert!(message.contains("tsig-keygen -a hmac-sha256"), "{message}");
}

#[test]
fn does_not_repeat_an_algorithm_that_may_be_a_secret() {
    let directory = tempfile::tempdir().unwrap();
    let swapped = "key k { algorithm \"c3dhcHBlZC1zZWNyZXQ=\"; secret \"hmac-sha256\"; };";
    let path = private_file(&directory, "swapped.key", swapped);
    let message = load_file(&path, None).unwrap_err().to_string();
    assert!(message.contains("not a TSIG algorithm name"), "{message}");
    assert!(!message.contains("c3dhcHBl"), "{message}");
}

#[test]
fn reports_bad_base64_by_position_with_key_file_and_line() {
    let directory = tempfile::tempdir().unwrap();
    let text = format!(
        "\n\n{}",
        key_statement("k", "hmac-sha256", "c2VjcmV0_c2VjcmV0")
    );
    let path = private_file(&directory, "bad.key", &text);
    let message = load_file(&path, None).unwrap_err().to_string();
    assert!(
        message.contains(&format!("key \"k\" from {}, line 3", path.display())),
        "{message}"
    );
    assert!(message.contains("character 9"), "{message}");
    assert!(!message.contains("c2VjcmV0"), "{message}");
}

#[test]
fn reports_syntax_errors_as_path_line_column() {
    let directory = tempfile::tempdir().unwrap();
    let path = private_file(
        &directory,
        "broken.key",
        "key k {\n  algorithm hmac-sha256\n};",
    );
    let message = load_file(&path, None).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("{}:3:1: expected `;`", path.display())),
        "{message}"
    );
}

#[test]
fn refuses_a_key_file_that_is_not_utf8() {
    let directory = tempfile::tempdir().unwrap();
    let path = private_file(&directory, "binary.key", "");
    fs::write(&path, b"key \xff").unwrap();
    let message = load_file(&path, None).unwrap_err().to_string();
    assert!(message.contains("byte 5 is not UTF-8"), "{message}");
}

#[test]
fn refuses_a_world_readable_key_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = private_file(
        &directory,
        "open.key",
        &key_statement("k", "hmac-sha256", JEFE),
    );
    fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
    let message = load_file(&path, None).unwrap_err().to_string();
    assert!(
        message.contains(&format!("chmod 600 {}", path.display())),
        "{message}"
    );
}

fn inline(path: &Path) -> Result<TsigKey, KeyError> {
    TsigKey::load(&KeySource::Inline {
        name: Name::from_ascii("inline-key.").unwrap(),
        algorithm: TsigAlgorithm::HmacSha384,
        secret_file: path.to_path_buf(),
    })
}

#[test]
fn loads_an_inline_key_whose_secret_file_ends_with_a_newline() {
    let directory = tempfile::tempdir().unwrap();
    let path = private_file(&directory, "secret", &format!("  {JEFE}\n"));
    let key = inline(&path).unwrap();
    assert_eq!(key.secret().expose(), b"Jefe");
    assert_eq!(key.algorithm(), TsigAlgorithm::HmacSha384);
    assert_eq!(
        key.origin(),
        format!("key \"inline-key\" with its secret in {}", path.display())
    );
}

#[test]
fn refuses_bad_empty_open_or_key_statement_secret_files() {
    let directory = tempfile::tempdir().unwrap();
    let bad = private_file(&directory, "bad", "c2VjcmV0!\n");
    let message = inline(&bad).unwrap_err().to_string();
    assert!(
        message.contains("inline-key") && message.contains("character 9"),
        "{message}"
    );
    let empty = private_file(&directory, "empty", "\n");
    assert!(inline(&empty)
        .unwrap_err()
        .to_string()
        .contains("the secret is empty"));
    let whole = private_file(
        &directory,
        "whole",
        &key_statement("k", "hmac-sha256", JEFE),
    );
    let message = inline(&whole).unwrap_err().to_string();
    assert!(message.contains("looks like a BIND key file"), "{message}");
    fs::set_permissions(&bad, Permissions::from_mode(0o660)).unwrap();
    let message = inline(&bad).unwrap_err().to_string();
    assert!(
        message.starts_with("secret file ") && message.contains("chmod 600"),
        "{message}"
    );
}
