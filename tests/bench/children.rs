//! Child processes the benchmark starts, stopped by PID when dropped.
//!
//! Every PID is also appended, with its start time, to the file named by
//! `DNSFAILOVER_BENCH_PIDS` (set by `tests/bench/run`), so that the script
//! can kill what is left after a crash or Ctrl-C, including a SIGSTOPped
//! target that would otherwise wait forever for SIGCONT.

use std::fs::OpenOptions;
use std::io::Write;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Grant, NameServer, ServerKind, TestKey, ZoneSpec};

/// The environment variable naming the PID file.
const PID_FILE_VARIABLE: &str = "DNSFAILOVER_BENCH_PIDS";

/// How long a process gets to exit after SIGTERM.
const TERMINATE_GRACE: Duration = Duration::from_secs(10);

/// A child process that is killed (SIGKILL) and reaped when dropped.
pub struct ChildProcess {
    name: String,
    child: Option<Child>,
}

impl ChildProcess {
    /// Starts `command` (stdin from /dev/null) and records its PID.
    pub fn spawn(name: &str, command: &mut Command) -> ChildProcess {
        ChildProcess::start(name, command.stdin(Stdio::null()))
    }

    /// Starts `command` with its stdin piped (see [`ChildProcess::take_stdin`]).
    pub fn spawn_with_input(name: &str, command: &mut Command) -> ChildProcess {
        ChildProcess::start(name, command.stdin(Stdio::piped()))
    }

    fn start(name: &str, command: &mut Command) -> ChildProcess {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        register_pid(child.id());
        ChildProcess {
            name: name.to_string(),
            child: Some(child),
        }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The piped stdout, once.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.as_mut()?.stdout.take()
    }

    /// The piped stdin, once.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.as_mut()?.stdin.take()
    }

    /// Sends a signal by name (`STOP`, `CONT`, `TERM`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let Some(child) = &self.child else { return };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("running kill -{signal} for {}: {e}", self.name));
        assert!(status.success(), "kill -{signal} {} failed", self.name);
    }

    /// SIGKILL (works on a stopped process too), then reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, a bounded wait, then SIGKILL; returns the exit status.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < TERMINATE_GRACE {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "{} did not stop within {TERMINATE_GRACE:?} of SIGTERM: killing it",
            self.name
        );
        let _ = child.kill();
        child.wait().ok()
    }

    /// Whether it has exited (reaping it if so).
    pub fn has_exited(&mut self) -> bool {
        match &mut self.child {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Appends `pid` and its start time to the PID file, when there is one.
pub fn register_pid(pid: u32) {
    let Ok(path) = std::env::var(PID_FILE_VARIABLE) else {
        return;
    };
    let Some(start) = start_time(pid) else { return };
    let file = OpenOptions::new().create(true).append(true).open(&path);
    if let Ok(mut file) = file {
        let _ = writeln!(file, "{pid} {start}");
    }
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks
/// since boot. With the PID it names one process even after PID reuse.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// Starts BIND as primary for `zone` with `records` (zone-file lines), with
/// a fresh key that may change A/AAAA records anywhere in it; the server is
/// registered so that it is stopped whatever happens.
pub fn start_bind(
    zone: &str,
    key_name: &str,
    records: impl IntoIterator<Item = String>,
) -> (NameServer, TestKey) {
    let key = TestKey::generate(key_name);
    let mut spec = ZoneSpec::new(zone, 1).grant(Grant::ZoneSubAddress {
        key: key.name.clone(),
    });
    for record in records {
        spec = spec.record(&record);
    }
    let server = NameServer::start(ServerKind::Bind, vec![spec], vec![key.clone()]);
    if let Some(pid) = server.pid() {
        register_pid(pid);
    }
    (server, key)
}
