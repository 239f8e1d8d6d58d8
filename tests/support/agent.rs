//! Runs the real `dnsfailover` binary with a configuration written by the
//! test, captures its log, and stops it by PID.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The dnsfailover binary built by cargo for this test run.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_dnsfailover")
}

/// A running `dnsfailover run`.
pub struct AgentProcess {
    child: Option<Child>,
    log: PathBuf,
}

impl AgentProcess {
    /// Starts `dnsfailover run --config CONFIG` with debug logs into `log`.
    pub fn start(config: &Path, log: &Path) -> AgentProcess {
        AgentProcess::start_logging(config, log, "debug")
    }

    /// Starts `dnsfailover run --config CONFIG` logging at `level` into `log`.
    pub fn start_logging(config: &Path, log: &Path, level: &str) -> AgentProcess {
        AgentProcess::spawn(Command::new(binary()), config, log, level)
    }

    /// Starts `dnsfailover run --config CONFIG` with debug logs into `log`,
    /// its soft and hard open-file limits both `limit` (set by `prlimit`).
    pub fn start_with_open_file_limit(config: &Path, log: &Path, limit: u64) -> AgentProcess {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={limit}:{limit}"))
            .arg("--")
            .arg(binary());
        AgentProcess::spawn(command, config, log, "debug")
    }

    fn spawn(mut command: Command, config: &Path, log: &Path, level: &str) -> AgentProcess {
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = command
            .args(["run", "--log-level", level, "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("dnsfailover starts");
        AgentProcess {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has gained `count` lines containing `text` in
    /// total; panics with the log after `deadline`.
    pub fn wait_for_log(&self, text: &str, count: usize, deadline: Duration) {
        let started = Instant::now();
        while started.elapsed() < deadline {
            if self.log().matches(text).count() >= count {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the agent did not log {text:?} {count}x within {deadline:?}; its log:\n{}",
            self.log()
        );
    }

    /// The status listener's address, from the line the agent logs once it
    /// is bound (for `http: listen: 0`); panics after `deadline`.
    pub fn listener_address(&self, deadline: Duration) -> std::net::SocketAddr {
        let marker = "status listener on http://";
        self.wait_for_log(marker, 1, deadline);
        let log = self.log();
        let rest = &log[log.find(marker).expect("logged") + marker.len()..];
        rest[..rest.find('/').expect("a URL ends with /")]
            .parse()
            .expect("an address")
    }

    /// Sends SIGHUP (reload) and checks that the agent is still running.
    pub fn hang_up(&mut self) {
        self.signal("HUP");
        let child = self.child.as_mut().expect("still running");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the agent ended on SIGHUP; its log:\n{}",
            self.log()
        );
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_for_exit(Duration::from_secs(15))
    }

    /// Sends the signal `name` (as `kill` spells it: "TERM", "INT", ...).
    pub fn signal(&self, name: &str) {
        let child = self.child.as_ref().expect("still running");
        let pid = child.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// Waits for the agent to exit and returns its status; kills it and
    /// panics with its log when it is still running after `deadline`.
    pub fn wait_for_exit(&mut self, deadline: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("still running");
        let started = Instant::now();
        while started.elapsed() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let stopped_in_time = child.try_wait().unwrap().is_some();
        if !stopped_in_time {
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        assert!(
            stopped_in_time,
            "the agent did not stop within {deadline:?}; its log:\n{}",
            self.log()
        );
        status
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `probe` every 20 ms until it returns true; panics with `context()`
/// after `deadline`. Returns the time it took.
pub fn wait_until(
    deadline: Duration,
    mut probe: impl FnMut() -> bool,
    context: impl Fn() -> String,
) -> Duration {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if probe() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("not reached within {deadline:?}: {}", context());
}
