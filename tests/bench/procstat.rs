//! CPU time and memory of a process, from /proc.

use std::process::Command;
use std::time::{Duration, Instant};

/// CPU time a process has used so far, and when that was read.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    ticks: u64,
    at: Instant,
}

impl CpuSample {
    /// utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat).
    pub fn take(pid: u32) -> CpuSample {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_else(|e| panic!("reading /proc/{pid}/stat: {e}"));
        let after_name = &stat[stat.rfind(')').expect("a stat line") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // After "pid (comm) ", field 14 (utime) is at index 11.
        let field = |index: usize| fields[index].parse::<u64>().expect("a tick count");
        CpuSample {
            ticks: field(11) + field(12),
            at: Instant::now(),
        }
    }

    /// Wall-clock seconds between `earlier` and this sample.
    pub fn seconds_since(&self, earlier: &CpuSample) -> f64 {
        self.at.duration_since(earlier.at).as_secs_f64()
    }

    /// CPU used between `earlier` and this sample, in % of one core.
    pub fn percent_since(&self, earlier: &CpuSample) -> f64 {
        let used = (self.ticks - earlier.ticks) as f64 / ticks_per_second() as f64;
        let wall = self
            .at
            .duration_since(earlier.at)
            .max(Duration::from_millis(1));
        100.0 * used / wall.as_secs_f64()
    }
}

/// Clock ticks per second of the CPU times in /proc (`getconf CLK_TCK`).
fn ticks_per_second() -> u64 {
    let output = Command::new("getconf").arg("CLK_TCK").output();
    output
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss_kib: u64,
    /// VmHWM: the most that was ever resident.
    pub peak_kib: u64,
}

impl Memory {
    /// Reads /proc/PID/status.
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }
}

/// How many file descriptors `pid` has open.
pub fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Context switches of all threads of `pid` so far (voluntary + involuntary).
pub fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
