//! Summaries of measured durations, and the randomness the runs need.

use std::fmt;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

/// Minimum, median and maximum of a set of durations.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub min: Duration,
    pub median: Duration,
    pub max: Duration,
    pub count: usize,
}

impl Summary {
    /// The summary of `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let count = sorted.len();
        let median = match count {
            0 => return None,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
        };
        Some(Summary {
            min: sorted[0],
            median,
            max: sorted[count - 1],
            count,
        })
    }
}

impl fmt::Display for Summary {
    /// `0.512 s (min 0.101, max 0.988, n=10)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} s (min {}, max {}, n={})",
            seconds(self.median),
            seconds(self.min),
            seconds(self.max),
            self.count
        )
    }
}

/// Seconds with three decimals.
pub fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// The `p`-th percentile (0..=100, nearest rank) of `sorted`, which must be sorted.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A uniformly distributed number in `0..bound` (`bound` > 0).
pub fn random_below(bound: u64) -> u64 {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source");
    u64::from_le_bytes(bytes) % bound
}

/// A uniformly distributed fraction in `[0, 1)`.
pub fn random_fraction() -> f64 {
    random_below(1 << 53) as f64 / (1u64 << 53) as f64
}

/// `runs` phases in `[0, 1)`, one drawn at random from each of `runs` equal
/// slices, in random order: random, yet covering the whole cycle evenly, so
/// the median of a few runs does not depend on luck.
pub fn stratified_phases(runs: usize) -> Vec<f64> {
    let mut phases: Vec<f64> = (0..runs)
        .map(|slice| (slice as f64 + random_fraction()) / runs as f64)
        .collect();
    for i in (1..phases.len()).rev() {
        let j = random_below(i as u64 + 1) as usize;
        phases.swap(i, j);
    }
    phases
}
