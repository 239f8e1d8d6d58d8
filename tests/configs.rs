//! The sample configurations under `tests/configs/` and the annotated example
//! in `deploy/` go through the real loader.
//!
//! - `tests/configs/valid/*.yaml` must load without a problem.
//! - `tests/configs/invalid/NAME.yaml` must fail with exactly the problem lines in
//!   `NAME.expected`, where each line starts with the bare file name `NAME.yaml`
//!   instead of the full path (the files are parsed under their bare name).
//!   Set `DNSFAILOVER_BLESS=1` to write the `.expected` files from the current
//!   output; review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use dnsfailover::config;
use dnsfailover::vocabulary::KeySource;

/// Accepts every key: these tests are about the YAML, not about key files.
fn any_key(_: &KeySource) -> Result<(), String> {
    Ok(())
}

/// The files in `tests/configs/DIR` whose name ends in `.yaml`, sorted.
fn sample_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// The file's contents parsed under its bare file name.
fn parse_sample(path: &Path) -> Result<config::Config, config::ConfigError> {
    let text = fs::read_to_string(path).expect("sample file is readable");
    let name = path.file_name().expect("file name");
    config::parse(&text, Path::new(name), &any_key)
}

#[test]
fn every_valid_sample_loads() {
    let files = sample_files("valid");
    assert!(files.len() >= 4, "valid samples missing: {files:?}");
    for path in files {
        let config = config::load(&path, &any_key)
            .unwrap_or_else(|error| panic!("{} should load:\n{error}", path.display()));
        assert!(!config.records.is_empty(), "{}", path.display());
    }
}

#[test]
fn every_invalid_sample_reports_exactly_its_expected_problems() {
    let files = sample_files("invalid");
    assert!(files.len() >= 20, "invalid samples missing: {files:?}");
    let bless = std::env::var_os("DNSFAILOVER_BLESS").is_some();
    let mut failures = Vec::new();
    for path in files {
        let actual = match parse_sample(&path) {
            Ok(_) => String::from("(loaded without a problem)\n"),
            Err(error) => format!("{error}\n"),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            fs::write(&expected_path, &actual).expect("write expected file");
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_annotated_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/dnsfailover.example.yaml");
    let config = config::load(&path, &any_key)
        .unwrap_or_else(|error| panic!("the example should load:\n{error}"));
    assert!(!config.records.is_empty());
}

#[test]
fn an_unreadable_file_is_one_problem_naming_the_file_and_the_os_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("absent.yaml");
    let error = config::load(&path, &any_key).expect_err("a missing file cannot load");
    assert_eq!(error.problems.len(), 1);
    let line = error.to_string();
    assert!(line.starts_with(&format!("{}: ", path.display())), "{line}");
    assert!(
        line.contains("cannot read the configuration file"),
        "{line}"
    );
    assert!(line.contains("No such file or directory"), "{line}");
}

#[test]
fn a_file_that_is_not_utf8_is_one_problem() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("latin1.yaml");
    fs::write(&path, b"nameserver:\n  address: caf\xe9\n").expect("write sample");
    let error = config::load(&path, &any_key).expect_err("not UTF-8");
    assert_eq!(error.problems.len(), 1);
    assert!(error.to_string().contains("valid UTF-8"), "{error}");
}

#[test]
fn a_failing_key_check_is_reported_at_the_key_file_field() {
    let path = sample_files("valid")
        .into_iter()
        .find(|path| path.ends_with("issue-example.yaml"))
        .expect("issue example");
    let refuse = |key: &KeySource| match key {
        KeySource::File { path, .. } => {
            Err(format!("cannot read {}: permission denied", path.display()))
        }
        KeySource::Inline { .. } => Ok(()),
    };
    let error = config::load(&path, &refuse).expect_err("key refused");
    assert_eq!(error.problems.len(), 1);
    let problem = &error.problems[0];
    assert_eq!((problem.line, problem.column), (3, 13));
    assert_eq!(problem.field, "nameserver.key_file");
    assert_eq!(
        problem.message,
        "cannot read /etc/dnsfailover/update.key: permission denied"
    );
}
