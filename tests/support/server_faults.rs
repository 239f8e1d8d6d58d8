//! Faults of a real nameserver itself, injected by a test: killed, paused, its zone frozen,
//! its key changed, its clock off. Each leaves the server's files alone, so that
//! [`NameServer::restart`] resumes from them (with what was changed here).

use std::path::Path;
use std::process::{Command, Output};

use super::key::TestKey;
use super::process::{send_signal, INSTALL_HINT};
use super::server::{write, NameServer, ServerKind};

/// Seconds `rndc` and `knotc` get to carry out one command.
const CONTROL_TIMEOUT_SECS: &str = "20";

/// The library that shifts a server's wall clock, compiled by the test.
const CLOCK_OFFSET_SOURCE: &str = include_str!("clock_offset.c");

impl NameServer {
    /// Kills the process with SIGKILL (no clean shutdown) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // An error means it had exited already; `wait` reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGSTOP: it answers nothing, while the kernel still accepts
    /// TCP connections and queues requests for it.
    pub fn pause(&self) {
        send_signal(self.child.as_ref().expect("the server runs"), "STOP");
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) {
        send_signal(self.child.as_ref().expect("the server runs"), "CONT");
    }

    /// Freezes `zone` for dynamic updates: BIND `rndc freeze`, Knot `knotc zone-freeze`.
    pub fn freeze_zone(&self, zone: &str) {
        self.control(&["freeze", zone], &["zone-freeze", zone]);
    }

    /// Ends [`NameServer::freeze_zone`]: BIND `rndc thaw`, Knot `knotc zone-thaw`.
    pub fn thaw_zone(&self, zone: &str) {
        self.control(&["thaw", zone], &["zone-thaw", zone]);
    }

    /// Gives the key named `key.name` this secret and algorithm from the next start on
    /// (a restart keeps the zones as they are).
    pub fn replace_key(&mut self, key: TestKey) {
        let old = self
            .keys
            .iter_mut()
            .find(|old| old.name == key.name)
            .unwrap_or_else(|| panic!("the server has no key {:?} to replace", key.name));
        *old = key;
        self.write_config();
    }

    /// Shifts the wall clock the server sees by `seconds` from the next start on.
    pub fn set_clock_offset(&mut self, seconds: i64) {
        self.clock_offset = seconds;
    }

    /// Runs `rndc BIND_ARGS` or `knotc KNOT_ARGS` against this server; panics with the
    /// output and the server log unless it succeeds.
    fn control(&self, bind_args: &[&str], knot_args: &[&str]) {
        let dir = self.dir();
        let mut command = Command::new("timeout");
        command.arg(CONTROL_TIMEOUT_SECS);
        match self.kind {
            ServerKind::Bind => {
                let key_file = dir.join("rndc.key");
                write(&key_file, &self.rndc.key.bind_statement());
                command
                    .args(["rndc", "-s", "127.0.0.1", "-p", &self.rndc.port.to_string()])
                    .arg("-k")
                    .arg(&key_file)
                    .args(bind_args);
            }
            ServerKind::Knot => {
                command
                    .args(["knotc", "--blocking", "--config"])
                    .arg(dir.join(self.kind.config_file()))
                    .args(knot_args);
            }
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("running {command:?}: {e} ({INSTALL_HINT})"));
        assert!(
            output.status.success(),
            "{command:?} failed: {}\n---- server log ----\n{}",
            describe(&output),
            self.log()
        );
    }
}

/// The environment that starts a server with its wall clock `offset` seconds off: none for
/// 0, else the clock-shifting library (compiled into `dir`) preloaded.
pub(super) fn clock_offset_env(dir: &Path, offset: i64) -> Vec<(&'static str, String)> {
    if offset == 0 {
        return Vec::new();
    }
    let source = dir.join("clock_offset.c");
    let library = dir.join("clock_offset.so");
    write(&source, CLOCK_OFFSET_SOURCE);
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("running cc to build {}: {e}", library.display()));
    assert!(
        output.status.success(),
        "cc could not build {}: {}",
        library.display(),
        describe(&output)
    );
    vec![
        ("LD_PRELOAD", library.display().to_string()),
        ("CLOCK_OFFSET_SECONDS", offset.to_string()),
    ]
}

fn describe(output: &Output) -> String {
    format!(
        "{}; stdout: {}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    )
}
