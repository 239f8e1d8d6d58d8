//! The `connect-floor ADDRESSES PORTS_FILE SECONDS [INTERVAL_MS]` child: the
//! least any TCP checker must do for the same load, as a reference for the
//! agent's CPU.
//!
//! One thread, blocking sockets, no runtime: every address on every port is
//! reconnected once an interval (default 1 s), the reconnections spread
//! evenly, and like the agent it keeps each connection until the next one
//! replaces it. It prints `connected` once every connection is open, then
//! runs for SECONDS. ADDRESSES is a comma-separated list, or `@FILE` naming a
//! file that holds one (10,000 addresses do not fit in one argument).

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// The reconnection interval of every address unless INTERVAL_MS is given.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Timer resolution: wake-ups happen on whole milliseconds.
const TICK: Duration = Duration::from_millis(1);

/// What to connect to and for how long.
pub struct FloorSpec {
    pub addresses: Vec<IpAddr>,
    pub ports_file: PathBuf,
    pub duration: Duration,
    pub interval: Duration,
}

impl FloorSpec {
    /// Parses `ADDRESSES PORTS_FILE SECONDS [INTERVAL_MS]` (addresses
    /// comma-separated, or `@FILE`).
    pub fn parse(args: &[String]) -> Result<FloorSpec, String> {
        let (addresses, ports_file, seconds, interval) = match args {
            [addresses, ports_file, seconds] => (addresses, ports_file, seconds, None),
            [addresses, ports_file, seconds, interval] => {
                (addresses, ports_file, seconds, Some(interval))
            }
            _ => {
                return Err("connect-floor needs ADDRESSES PORTS_FILE SECONDS [INTERVAL_MS]".into())
            }
        };
        let list = match addresses.strip_prefix('@') {
            Some(file) => {
                std::fs::read_to_string(file).map_err(|e| format!("connect-floor: {file}: {e}"))?
            }
            None => addresses.clone(),
        };
        let addresses = list
            .trim()
            .split(',')
            .map(|a| {
                a.parse()
                    .map_err(|_| format!("connect-floor: bad address {a:?}"))
            })
            .collect::<Result<_, _>>()?;
        let seconds: u64 = seconds.parse().map_err(|_| "connect-floor: bad SECONDS")?;
        let interval = match interval {
            Some(ms) => Duration::from_millis(
                ms.parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .ok_or("connect-floor: bad INTERVAL_MS")?,
            ),
            None => DEFAULT_INTERVAL,
        };
        Ok(FloorSpec {
            addresses,
            ports_file: ports_file.into(),
            duration: Duration::from_secs(seconds.min(600)),
            interval,
        })
    }
}

/// Reconnects every target once per interval until the duration is over.
pub fn main(spec: FloorSpec) -> ExitCode {
    let text = match std::fs::read_to_string(&spec.ports_file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("connect-floor: {}: {error}", spec.ports_file.display());
            return ExitCode::FAILURE;
        }
    };
    let targets: Vec<SocketAddr> = text
        .trim()
        .split(',')
        .filter_map(|port| port.parse::<u16>().ok())
        .flat_map(|port| {
            spec.addresses
                .iter()
                .map(move |ip| SocketAddr::new(*ip, port))
        })
        .collect();
    let mut kept: Vec<Option<TcpStream>> = targets.iter().map(|t| connect(*t)).collect();
    println!("connected");
    let started = Instant::now();
    let count = targets.len() as u32;
    let mut next = 0usize;
    let mut round = 0u32;
    while started.elapsed() < spec.duration {
        let due = started + spec.interval * round + spec.interval * next as u32 / count;
        let now = Instant::now();
        if due > now {
            // Wake on whole milliseconds, as tokio's timer does.
            let tick = (due - started).as_millis() as u32 + 1;
            thread::sleep((started + TICK * tick).saturating_duration_since(now));
        }
        kept[next] = None;
        kept[next] = connect(targets[next]);
        next += 1;
        if next == targets.len() {
            next = 0;
            round += 1;
        }
    }
    ExitCode::SUCCESS
}

fn connect(target: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect(target).ok()?;
    stream.set_nodelay(true).ok()?;
    Some(stream)
}
