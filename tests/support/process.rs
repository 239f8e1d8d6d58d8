//! Starting and stopping a server process whose output goes to a log file.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server gets to exit after SIGTERM before it is killed.
const TERMINATE_GRACE: Duration = Duration::from_secs(10);

/// How long a killed server gets to be reaped.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// Interval between checks whether a process has exited.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// The packages that provide the servers and the oracle tools.
pub const INSTALL_HINT: &str =
    "install bind9 / knot (apt-get install bind9 knot bind9-dnsutils knot-dnsutils)";

/// Spawns `program args` with `env` added to its environment, appending its stdout and stderr
/// to `log_path` after a `banner` line.
///
/// Panics with [`INSTALL_HINT`] when the program is not installed.
pub fn spawn_logged(
    program: &str,
    args: &[&str],
    env: &[(&str, String)],
    log_path: &Path,
    banner: &str,
) -> Child {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .unwrap_or_else(|e| panic!("opening server log {}: {e}", log_path.display()));
    writeln!(log, "==== {banner} ====")
        .unwrap_or_else(|e| panic!("writing server log {}: {e}", log_path.display()));
    let stderr = log
        .try_clone()
        .unwrap_or_else(|e| panic!("duplicating server log handle: {e}"));
    Command::new(program)
        .args(args)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr))
        .spawn()
        .unwrap_or_else(|e| match e.kind() {
            ErrorKind::NotFound => panic!("{program} not found: {INSTALL_HINT}"),
            _ => panic!("starting {program}: {e}"),
        })
}

/// Stops `child`: SIGTERM, wait up to [`TERMINATE_GRACE`], then SIGKILL. Always reaps it.
pub fn terminate(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    // The child is not reaped yet, so its PID cannot have been reused by another process.
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if sent && wait_until_exited(child, TERMINATE_GRACE) {
        return;
    }
    // SIGKILL; an error means it exited meanwhile, which the wait below observes.
    let _ = child.kill();
    if !wait_until_exited(child, KILL_GRACE) {
        eprintln!("server process {} survived SIGKILL", child.id());
    }
}

/// Sends `signal` (a name such as `STOP`, `CONT`) to `child`, which must not be reaped yet,
/// so that its PID cannot belong to another process. Panics if `kill` fails.
pub fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("running kill -{signal}: {e}"));
    assert!(status.success(), "kill -{signal} {} failed", child.id());
}

/// Polls until `child` has exited (and is reaped) or `deadline` passes; true if it exited.
fn wait_until_exited(child: &mut Child, deadline: Duration) -> bool {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) if start.elapsed() < deadline => thread::sleep(EXIT_POLL),
            Ok(None) => return false,
            Err(e) => panic!("waiting for server process {}: {e}", child.id()),
        }
    }
}

/// Everything the server has logged so far (lossy UTF-8; empty if nothing yet).
pub fn read_log(log_path: &Path) -> String {
    fs::read(log_path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}
