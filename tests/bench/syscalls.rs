//! System calls of a running process, counted by `strace -c -f -p PID`
//! (Debian package `strace`) for a while. strace stops the traced process at
//! every system call, so it runs only after the CPU window, and the
//! per-check figures divide by the checks made while it was attached.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::children::ChildProcess;

/// How long strace may take to print its summary after SIGINT.
const DETACH_DEADLINE: Duration = Duration::from_secs(10);

/// Calls per system call name, most called first.
pub struct SyscallCounts {
    pub calls: Vec<(String, u64)>,
}

impl SyscallCounts {
    /// All calls together.
    pub fn total(&self) -> u64 {
        self.calls.iter().map(|(_, calls)| calls).sum()
    }

    /// `total/check (name n/check, ...)` for the `top` most called.
    pub fn per_check(&self, checks: u64, top: usize) -> String {
        let per = |calls: u64| calls as f64 / checks.max(1) as f64;
        let top: Vec<String> = self
            .calls
            .iter()
            .take(top)
            .map(|(name, calls)| format!("{name} {:.2}", per(*calls)))
            .collect();
        format!("{:.1} per check ({})", per(self.total()), top.join(", "))
    }
}

/// Starts `strace -c -f -p PID`, writing its summary to `output`.
pub fn attach(pid: u32, output: &Path) -> ChildProcess {
    ChildProcess::spawn(
        "strace",
        Command::new("strace")
            .args(["-c", "-f", "-o"])
            .arg(output)
            .args(["-p", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Detaches strace (SIGINT) and reads its summary; `None` when it wrote none
/// in time.
pub fn detach(mut strace: ChildProcess, output: &Path) -> Option<SyscallCounts> {
    strace.signal("INT");
    let started = Instant::now();
    while !strace.has_exited() {
        if started.elapsed() > DETACH_DEADLINE {
            strace.kill();
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(output).ok()?;
    let mut calls: Vec<(String, u64)> = text.lines().filter_map(row).collect();
    calls.sort_by_key(|(_, calls)| std::cmp::Reverse(*calls));
    (!calls.is_empty()).then_some(SyscallCounts { calls })
}

/// One row of strace's table: `% time, seconds, usecs/call, calls,
/// [errors,] syscall`; the header, rules and total give `None`.
fn row(line: &str) -> Option<(String, u64)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if !(5..=6).contains(&fields.len()) || fields[0].parse::<f64>().is_err() {
        return None;
    }
    let name = *fields.last()?;
    if name == "total" {
        return None;
    }
    Some((name.to_string(), fields[3].parse().ok()?))
}
