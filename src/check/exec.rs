//! The `exec` check: the operator's program, run once per check with the
//! address, port, record and server in `DNSFAILOVER_*` variables; up when
//! it exits 0.
//!
//! The program runs in a process group of its own, killed as a whole when
//! the check ends (at the timeout, or when the program exits leaving
//! children behind); at most [`MAX_RUNNING`] run at once across the agent;
//! only a bounded excerpt of what they print is kept.

use std::net::IpAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::Semaphore;

use super::outcome::Step;
use super::passed::Passed;
use super::target::TargetNames;
use crate::config::ExecCheck;

/// How many exec checks' programs may run at once, across the agent: more
/// wait for a slot (within their timeout), so that thousands of addresses
/// cannot fork thousands of processes together.
pub const MAX_RUNNING: usize = 32;
/// How much of a program's output a detail keeps.
const OUTPUT_EXCERPT: usize = 200;

/// The slots shared by every exec check.
static SLOTS: Semaphore = Semaphore::const_new(MAX_RUNNING);

/// A prepared `exec` check.
#[derive(Debug)]
pub(crate) struct ExecProbe {
    argv: Vec<String>,
    port: Option<u16>,
    names: Arc<TargetNames>,
}

impl ExecProbe {
    /// The probe for `spec`, run for the server and record in `names`.
    pub(crate) fn new(spec: &ExecCheck, names: &Arc<TargetNames>) -> ExecProbe {
        ExecProbe {
            argv: spec.argv.clone(),
            port: spec.port,
            names: Arc::clone(names),
        }
    }

    /// Runs the program for `address`; the caller bounds the time (and a
    /// cancelled check kills the program's process group).
    pub(crate) async fn run(&self, address: IpAddr, step: &mut Step) -> Result<Passed, String> {
        *step = Step::WaitingToRun;
        let _slot = SLOTS
            .acquire()
            .await
            .map_err(|_| "no slot to run the program".to_owned())?;
        *step = Step::Running;
        let family = if address.is_ipv4() { "A" } else { "AAAA" };
        let port = self.port.map(|port| port.to_string()).unwrap_or_default();
        let mut child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .env("DNSFAILOVER_ADDRESS", address.to_string())
            .env("DNSFAILOVER_FAMILY", family)
            .env("DNSFAILOVER_PORT", port)
            .env("DNSFAILOVER_RECORD", &self.names.record)
            .env("DNSFAILOVER_SERVER", &self.names.server)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", self.argv[0]))?;
        let group = child.id().map(ProcessGroup);
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let exited = async {
            let status = child.wait().await;
            // Children it left behind would hold its pipes open: end them.
            drop(group);
            status
        };
        let (status, out, err) = tokio::join!(exited, excerpt(stdout), excerpt(stderr));
        let status =
            status.map_err(|error| format!("cannot wait for {}: {error}", self.argv[0]))?;
        let output = if err.is_empty() { out } else { err };
        judge(status, &output)
    }
}

/// The verdict on a program that ended with `status` after printing `output`.
fn judge(status: ExitStatus, output: &str) -> Result<Passed, String> {
    use std::os::unix::process::ExitStatusExt;
    let said = if output.is_empty() {
        String::new()
    } else {
        format!(": {output}")
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(Passed {
            detail: format!("exited 0{said}"),
            kept: None,
            certificate_expires: None,
        }),
        (Some(code), _) => Err(format!("exited {code}{said}")),
        (None, Some(signal)) => Err(format!("killed by signal {signal}{said}")),
        (None, None) => Err(format!("ended without a status{said}")),
    }
}

/// Kills a process group (SIGKILL) when dropped.
struct ProcessGroup(u32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let Some(pid) = i32::try_from(self.0)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return;
        };
        // The group may be gone already; nothing else can be done.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Reads all of a pipe, keeping the first [`OUTPUT_EXCERPT`] bytes, with
/// control characters escaped and white space collapsed to one line.
async fn excerpt<R: AsyncRead + Unpin>(pipe: Option<R>) -> String {
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::with_capacity(OUTPUT_EXCERPT);
    let mut buffer = [0u8; 4096];
    let mut cut = false;
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_EXCERPT.saturating_sub(kept.len());
                cut |= n > room;
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
        }
    }
    let text = String::from_utf8_lossy(&kept);
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line = line.escape_debug().to_string();
    if cut {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_zero_passes_and_anything_else_fails_with_the_output() {
        let passed = judge(ExitStatus::from_raw(0), "replica lag 0s").unwrap();
        assert_eq!(passed.detail, "exited 0: replica lag 0s");
        let failed = judge(ExitStatus::from_raw(2 << 8), "")
            .err()
            .expect("fails");
        assert_eq!(failed, "exited 2");
        let killed = judge(ExitStatus::from_raw(9), "x").err().expect("fails");
        assert_eq!(killed, "killed by signal 9: x");
    }

    #[tokio::test]
    async fn the_excerpt_is_bounded_and_on_one_line() {
        let text = format!("first\nsecond\t\u{1b}[31m{}", "z".repeat(1000));
        let excerpt = excerpt(Some(text.as_bytes())).await;
        assert!(
            excerpt.starts_with("first second \\u{1b}[31mzzz"),
            "{excerpt}"
        );
        assert!(excerpt.ends_with('…'), "{excerpt}");
        assert!(excerpt.chars().count() < OUTPUT_EXCERPT + 20, "{excerpt}");
    }
}
