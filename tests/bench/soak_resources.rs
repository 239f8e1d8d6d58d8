//! The agent's resident memory and open file descriptors over a soak, from
//! /proc: sampled once a second, per agent process.

use std::time::{Duration, Instant};

use crate::procstat::open_files;

/// Time after an agent started before its memory counts as warmed up.
pub const WARM_UP: Duration = Duration::from_secs(20);

/// One reading.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Which agent process (0 for the first).
    pub process: usize,
    pub at: Instant,
    pub rss_kib: u64,
    pub fds: usize,
}

/// Reads VmRSS and the descriptors of `pid`; `None` when it is gone.
pub fn sample(process: usize, pid: u32) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())?;
    Some(Sample {
        process,
        at: Instant::now(),
        rss_kib,
        fds: open_files(pid),
    })
}

/// Lowest and highest descriptor count of `pid` over `window`, read every
/// 100 ms: checks in flight come and go, the lowest is the steady state.
pub fn fd_range(pid: u32, window: Duration) -> (usize, usize) {
    let started = Instant::now();
    let (mut low, mut high) = (usize::MAX, 0);
    while started.elapsed() < window {
        let fds = open_files(pid);
        low = low.min(fds);
        high = high.max(fds);
        std::thread::sleep(Duration::from_millis(100));
    }
    (low, high)
}

/// Memory of the last agent process after its warm-up.
#[derive(Debug, Clone, Copy)]
pub struct MemoryFigures {
    pub warm_kib: u64,
    pub max_kib: u64,
    pub end_kib: u64,
    /// How long after warm-up the samples span.
    pub span: Duration,
}

impl MemoryFigures {
    /// From the samples of process `process`, which started at `started`.
    pub fn of(samples: &[Sample], process: usize, started: Instant) -> Option<MemoryFigures> {
        let after: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.process == process && s.at >= started + WARM_UP)
            .collect();
        let (first, last) = (after.first()?, after.last()?);
        Some(MemoryFigures {
            warm_kib: first.rss_kib,
            max_kib: after.iter().map(|s| s.rss_kib).max()?,
            end_kib: last.rss_kib,
            span: last.at - first.at,
        })
    }

    /// Growth of `kib` over the warm value, in %.
    pub fn growth(&self, kib: u64) -> f64 {
        100.0 * (kib as f64 - self.warm_kib as f64) / self.warm_kib.max(1) as f64
    }
}
