//! Each documented exit code of the real binary, and each fatal error
//! printed exactly once: 0 success, 1 failure at run time, 2 invalid command
//! line or configuration, 3 the TSIG key cannot be loaded, 4 a check cannot
//! be prepared, 5 the status listener cannot be bound.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::TestKey;

/// A directory with a valid key file and a configuration that uses it.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        TestKey::generate("agent.example.test.").write_bind_key_file(&dir.path().join("key"));
        Setup { dir }
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key")
    }

    /// Writes a configuration whose nameserver is `nameserver`, with `check`
    /// as the record's check and `key_file` as the key.
    fn config(&self, nameserver: &str, key_file: &Path, check: &str) -> PathBuf {
        let path = self.dir.path().join("dnsfailover.yaml");
        let text = format!(
            "nameserver:\n  address: {nameserver}\n  key_file: {}\n  timeout: 1s\nrecords:\n  - name: www.example.test.\n    zone: example.test.\n    check: {check}\n    servers:\n      - {{ name: web1, addresses: [127.0.0.2] }}\n",
            key_file.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn dnsfailover(args: &[&str], config: &Path) -> Output {
    Command::new(support::binary())
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// How many lines of `text` contain `needle`.
fn lines_with(text: &str, needle: &str) -> usize {
    text.lines().filter(|line| line.contains(needle)).count()
}

#[test]
fn zero_when_the_configuration_key_and_checks_are_good() {
    let setup = Setup::new();
    let config = setup.config("127.0.0.1:53", &setup.key(), "{ type: tcp, port: 80 }");
    let output = dnsfailover(&["check-config"], &config);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("ok (1 records, 1 addresses, key agent.example.test.)"),
        "{stdout}"
    );
}

#[test]
fn two_for_an_invalid_configuration() {
    let setup = Setup::new();
    let config = setup.config("not-an-address", &setup.key(), "{ type: tcp, port: 80 }");
    let output = dnsfailover(&["check-config"], &config);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert_eq!(lines_with(&text, "nameserver.address"), 1, "{text}");
}

#[test]
fn two_for_an_invalid_command_line() {
    let setup = Setup::new();
    let config = setup.config("127.0.0.1:53", &setup.key(), "{ type: tcp, port: 80 }");
    for level in ["verbose", "info,=x"] {
        let output = dnsfailover(&["--log-level", level, "check-config"], &config);
        assert_eq!(output.status.code(), Some(2), "{level}");
        assert_eq!(lines_with(&stderr(&output), "--log-level"), 1, "{level}");
    }
    let output = dnsfailover(&["no-such-command"], &config);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn three_when_the_key_cannot_be_loaded() {
    let setup = Setup::new();
    let missing = setup.dir.path().join("missing.key");
    let config = setup.config("127.0.0.1:53", &missing, "{ type: tcp, port: 80 }");
    for command in ["check-config", "run", "plan"] {
        let output = dnsfailover(&[command], &config);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{command}: {}",
            stderr(&output)
        );
        let text = stderr(&output);
        let file = config.display().to_string();
        assert_eq!(lines_with(&text, "missing.key"), 1, "{command}: {text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{file}:3:")) && l.contains("key_file")),
            "{command}: the problem is located at the key's field: {text}"
        );
    }
}

#[test]
fn four_when_a_check_cannot_be_prepared_in_check_config_as_in_run() {
    let setup = Setup::new();
    let ca = setup.dir.path().join("no-such-ca.pem");
    let check = format!(
        "{{ type: https, path: /health, tls_ca_file: {} }}",
        ca.display()
    );
    let config = setup.config("127.0.0.1:53", &setup.key(), &check);
    for command in ["check-config", "run", "plan"] {
        let output = dnsfailover(&[command], &config);
        assert_eq!(
            output.status.code(),
            Some(4),
            "{command}: {}",
            stderr(&output)
        );
        let text = stderr(&output);
        assert_eq!(lines_with(&text, "no-such-ca.pem"), 1, "{command}: {text}");
        assert!(text.contains("www.example.test."), "{command}: {text}");
    }
}

#[test]
fn one_when_the_nameserver_cannot_be_reached_at_run_time() {
    let setup = Setup::new();
    let port = support::free_port();
    let config = setup.config(
        &format!("127.0.0.1:{port}"),
        &setup.key(),
        "{ type: tcp, port: 80 }",
    );
    let output = dnsfailover(&["plan"], &config);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert_eq!(lines_with(&text, "connection refused"), 1, "{text}");
}

#[test]
fn five_when_the_status_listener_cannot_be_bound() {
    let setup = Setup::new();
    let config = setup.config("127.0.0.1:53", &setup.key(), "{ type: tcp, port: 80 }");
    // Held for the whole test, so the agent cannot have the port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("http:\n  listen: {address}\n"));
    std::fs::write(&config, text).unwrap();
    let output = dnsfailover(&["run"], &config);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    let text = stderr(&output);
    assert_eq!(
        lines_with(&text, &format!("cannot listen on {address} (http.listen)")),
        1,
        "{text}"
    );
    assert!(!text.contains("started"), "no check started: {text}");
}
