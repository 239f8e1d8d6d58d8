//! The command line of the benchmark executable.

use std::net::SocketAddr;
use std::time::Duration;

use crate::floor::FloorSpec;
use crate::listener::ListenSpec;
use crate::wildcard::WildcardSpec;

/// How to run the benchmarks (after `--`, e.g. `tests/bench/run --runs 5`).
pub const USAGE: &str = "\
usage: tests/bench/run [--runs N] [--only failover,capacity,updates,propagation,soak,scale] [--sizes N,N] [--window SECONDS] [--changes N] [--duration SECONDS] [--seed N] [--background N]
  --runs N        failover runs per fault and per contender (default 10)
  --only LIST     which benchmarks to run (default: the first four; the soak and scale only when named)
  --sizes LIST    target counts of the capacity benchmark (default 1000,10000; at most 20000)
                  or of the scale benchmark's scaling runs (default 1000,10000,100000)
  --window S      CPU and jitter measurement window in seconds (default 20; scale: 30)
  --changes N     record changes of the update benchmark (default 1000)
  --duration S    how long the soak injects faults (default 600)
  --seed N        seed of the soak's faults (default: random, printed)
  --background N  addresses checked besides the soak's faulted ones (default 1000)";

/// Upper bounds, so that a typo cannot make a run last for hours.
const MAX_RUNS: usize = 100;
const MAX_TARGETS: usize = 100_000;
const MAX_WINDOW: u64 = 300;
const MAX_CHANGES: usize = 10_000;
const MAX_DURATION: u64 = 3_600;
const MAX_BACKGROUND: usize = 10_000;

/// What this process was started for.
pub enum Mode {
    /// Started by `cargo test`: measure nothing.
    NotBenchmarking,
    /// A child: one web server on `address`.
    ServeHttp { address: SocketAddr },
    /// A child: many TCP listeners.
    ServeTcp(ListenSpec),
    /// A child: one wildcard listener for the scale benchmark.
    ServeAny(WildcardSpec),
    /// A child: the reference TCP checker.
    ConnectFloor(FloorSpec),
    /// The benchmarks themselves.
    Bench(Options),
    /// `--help`: print [`USAGE`].
    Help,
}

/// Which benchmarks to run and how long.
#[derive(Debug, Clone)]
pub struct Options {
    pub failover: bool,
    pub capacity: bool,
    pub updates: bool,
    pub propagation: bool,
    pub soak: bool,
    pub scale: bool,
    pub runs: usize,
    /// `--sizes`; `None`: each benchmark's default.
    pub sizes: Option<Vec<usize>>,
    /// `--window`; `None`: each benchmark's default.
    pub window: Option<Duration>,
    pub changes: usize,
    /// How long the soak injects faults.
    pub duration: Duration,
    /// The soak's seed; `None`: a random one.
    pub seed: Option<u64>,
    /// Background addresses of the soak (even: two per record).
    pub background: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            failover: true,
            capacity: true,
            updates: true,
            propagation: true,
            soak: false,
            scale: false,
            runs: 10,
            sizes: None,
            window: None,
            changes: 1_000,
            duration: Duration::from_secs(600),
            seed: None,
            background: 1_000,
        }
    }
}

impl Options {
    /// Target counts of the capacity benchmark.
    pub fn capacity_sizes(&self) -> Vec<usize> {
        self.sizes.clone().unwrap_or_else(|| vec![1_000, 10_000])
    }

    /// Address counts of the scale benchmark's scaling runs.
    pub fn scale_sizes(&self) -> Vec<usize> {
        self.sizes
            .clone()
            .unwrap_or_else(|| vec![1_000, 10_000, 100_000])
    }
}

/// Reads the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Mode, String> {
    match args.first().map(String::as_str) {
        Some("serve-http") => {
            let address = args.get(1).ok_or("serve-http needs ADDRESS:PORT")?;
            let address = address
                .parse()
                .map_err(|_| format!("serve-http: {address:?} is not ADDRESS:PORT"))?;
            return Ok(Mode::ServeHttp { address });
        }
        Some("serve-tcp") => return ListenSpec::parse(&args[1..]).map(Mode::ServeTcp),
        Some("connect-floor") => return FloorSpec::parse(&args[1..]).map(Mode::ConnectFloor),
        Some("serve-any") => return WildcardSpec::parse(&args[1..]).map(Mode::ServeAny),
        _ => {}
    }
    if !args.iter().any(|arg| arg == "--bench") {
        return Ok(Mode::NotBenchmarking);
    }
    let mut options = Options::default();
    let mut rest = args.iter().filter(|arg| *arg != "--bench");
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .map(String::as_str)
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Mode::Help),
            "--runs" => options.runs = number(flag, value()?, 1, MAX_RUNS)?,
            "--window" => {
                options.window = Some(Duration::from_secs(number(flag, value()?, 2, MAX_WINDOW)?))
            }
            "--changes" => options.changes = number(flag, value()?, 1, MAX_CHANGES)?,
            "--duration" => {
                options.duration = Duration::from_secs(number(flag, value()?, 10, MAX_DURATION)?)
            }
            "--seed" => options.seed = Some(number(flag, value()?, 0, u64::MAX)?),
            "--background" => {
                options.background = number(flag, value()?, 0, MAX_BACKGROUND)?.div_ceil(2) * 2
            }
            "--sizes" => {
                options.sizes = Some(
                    value()?
                        .split(',')
                        .map(|size| number(flag, size, 2, MAX_TARGETS))
                        .collect::<Result<_, _>>()?,
                );
            }
            "--only" => {
                let list = value()?;
                options.failover = false;
                options.capacity = false;
                options.updates = false;
                options.propagation = false;
                options.soak = false;
                options.scale = false;
                for name in list.split(',') {
                    match name {
                        "failover" => options.failover = true,
                        "capacity" => options.capacity = true,
                        "updates" => options.updates = true,
                        "propagation" => options.propagation = true,
                        "soak" => options.soak = true,
                        "scale" => options.scale = true,
                        other => return Err(format!("--only: unknown benchmark {other:?}")),
                    }
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Mode::Bench(options))
}

/// Parses `text` as a number between `min` and `max`.
fn number<T>(flag: &str, text: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match text.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "{flag}: {text:?} is not a number from {min} to {max}"
        )),
    }
}
