//! The `serve-tcp ADDRESS PORTS_FILE INTERVAL_MS` child: listens on
//! ADDRESS at every port listed in PORTS_FILE (comma-separated) and notes
//! when each connection arrives, to measure how evenly the agent's checks
//! start. One process per address keeps each under the open-file limit.
//!
//! It prints `listening` once bound. Then it reads commands on stdin: `mark`
//! starts the measurement window, `report` prints one line (see
//! [`Arrivals::report`]) about the connections since the mark, `seen` how
//! many listeners had one since. It exits at end of input.

use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// What to listen on.
pub struct ListenSpec {
    pub address: IpAddr,
    pub ports_file: PathBuf,
    pub interval: Duration,
}

impl ListenSpec {
    /// Parses `ADDRESS PORTS_FILE INTERVAL_MS`.
    pub fn parse(args: &[String]) -> Result<ListenSpec, String> {
        let [address, ports_file, interval] = args else {
            return Err("serve-tcp needs ADDRESS PORTS_FILE INTERVAL_MS".into());
        };
        let address = address
            .parse()
            .map_err(|_| format!("serve-tcp: bad address {address:?}"))?;
        let interval: u64 = interval.parse().map_err(|_| "serve-tcp: bad interval")?;
        Ok(ListenSpec {
            address,
            ports_file: ports_file.into(),
            interval: Duration::from_millis(interval),
        })
    }
}

/// Runs the listeners until stdin ends.
pub fn main(spec: ListenSpec) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let started = Instant::now();
    let listeners = match runtime.block_on(bind_all(&spec)) {
        Ok(listeners) => listeners,
        Err(message) => {
            eprintln!("serve-tcp: {message}");
            return ExitCode::FAILURE;
        }
    };
    let arrivals = Arc::new(Arrivals::new(listeners.len(), started, spec.interval));
    for (index, listener) in listeners.into_iter().enumerate() {
        runtime.spawn(accept_loop(listener, index, arrivals.clone()));
    }
    println!("listening");
    let _ = std::io::stdout().flush();
    serve_commands(&arrivals);
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::SUCCESS
}

/// Answers `mark`, `report` and `seen` on stdin until it ends.
pub fn serve_commands(arrivals: &Arrivals) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let answer = match line.trim() {
            "mark" => {
                arrivals.mark();
                continue;
            }
            "report" => arrivals.report(),
            "seen" => format!("seen {}", arrivals.seen()),
            _ => continue,
        };
        println!("{answer}");
        let _ = std::io::stdout().flush();
    }
}

/// Binds every port of the ports file on the address.
async fn bind_all(spec: &ListenSpec) -> Result<Vec<TcpListener>, String> {
    let text = std::fs::read_to_string(&spec.ports_file)
        .map_err(|e| format!("{}: {e}", spec.ports_file.display()))?;
    let mut listeners = Vec::new();
    for port in text.trim().split(',') {
        let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}"))?;
        let address = SocketAddr::new(spec.address, port);
        let listener = TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

async fn accept_loop(listener: TcpListener, index: usize, arrivals: Arc<Arrivals>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                arrivals.note(index);
                tokio::spawn(drain(stream));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Reads until the agent closes the connection.
pub async fn drain(mut stream: TcpStream) {
    let mut buffer = [0u8; 64];
    while let Ok(read) = stream.read(&mut buffer).await {
        if read == 0 {
            return;
        }
    }
}

/// Arrival times of connections, per listener (or per destination address),
/// in microseconds since start.
pub struct Arrivals {
    started: Instant,
    interval: Duration,
    mark: Mutex<u64>,
    times: Vec<Mutex<Vec<u64>>>,
}

impl Arrivals {
    /// Arrivals at `listeners` slots, checked every `interval`.
    pub fn new(listeners: usize, started: Instant, interval: Duration) -> Arrivals {
        Arrivals {
            started,
            interval,
            mark: Mutex::new(0),
            times: (0..listeners).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// How many slots there are.
    pub fn slots(&self) -> usize {
        self.times.len()
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// Notes a connection to slot `index` now.
    pub fn note(&self, index: usize) {
        let now = self.now();
        self.times[index].lock().unwrap().push(now);
    }

    /// Starts a measurement window; earlier arrivals are forgotten.
    fn mark(&self) {
        *self.mark.lock().unwrap() = self.now();
        for times in &self.times {
            times.lock().unwrap().clear();
        }
    }

    /// How many slots had a connection since the mark.
    fn seen(&self) -> usize {
        self.times
            .iter()
            .filter(|times| !times.lock().unwrap().is_empty())
            .count()
    }

    /// `report CONNECTIONS SILENT GAPS LATENESS`: connections since the
    /// mark; listeners without any; then, comma-separated in microseconds,
    /// every *gap* (how far the time between two consecutive connections to
    /// one listener is from the interval) and every *lateness* (how much
    /// later than its slot a connection arrived, the slots of a listener
    /// being laid one interval apart through its earliest-arriving one).
    fn report(&self) -> String {
        let from = *self.mark.lock().unwrap();
        let interval = self.interval.as_micros() as i64;
        let (mut gaps, mut lateness) = (Vec::new(), Vec::new());
        let (mut connections, mut silent) = (0, 0);
        for times in &self.times {
            let times = times.lock().unwrap();
            let window: Vec<i64> = times
                .iter()
                .filter(|t| **t >= from)
                .map(|t| *t as i64)
                .collect();
            connections += window.len();
            let Some(first) = window.first().copied() else {
                silent += 1;
                continue;
            };
            gaps.extend(
                window
                    .windows(2)
                    .map(|w| (w[1] - w[0] - interval).unsigned_abs()),
            );
            let slot = |t: i64| ((t - first) as f64 / interval as f64).round() as i64;
            let offsets: Vec<i64> = window
                .iter()
                .map(|t| t - first - slot(*t) * interval)
                .collect();
            let earliest = offsets.iter().copied().min().unwrap_or(0);
            lateness.extend(offsets.iter().map(|o| (o - earliest) as u64));
        }
        format!(
            "report {connections} {silent} {} {}",
            join(&gaps),
            join(&lateness)
        )
    }
}

fn join(values: &[u64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let text: Vec<String> = values.iter().map(u64::to_string).collect();
    text.join(",")
}
