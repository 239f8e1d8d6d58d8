//! A monitoring system's view of the status listener: `/metrics` and
//! `/status` requested at a steady rate, each timed from connecting to the
//! last byte of the answer (one connection per request, as Prometheus's
//! scrapes and most monitoring plugins make them).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest a request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What one path's requests measured.
#[derive(Debug, Default, Clone)]
pub struct PathFigures {
    /// Time to the last byte of each answer, sorted.
    pub durations: Vec<Duration>,
    /// Size of the last answer's body, in bytes.
    pub body_bytes: usize,
    /// Requests that failed or did not answer 200.
    pub failures: usize,
}

impl PathFigures {
    /// The `q`-th percentile (0–100) of the durations, in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.durations.is_empty() {
            return f64::NAN;
        }
        let rank = ((q / 100.0) * (self.durations.len() - 1) as f64).round() as usize;
        self.durations[rank].as_secs_f64() * 1000.0
    }
}

/// Requests `paths` in turn at `per_second` requests a second in all, for
/// `duration`, on a thread of its own; the handle yields one figure per path.
pub fn start(
    address: SocketAddr,
    paths: &'static [&'static str],
    per_second: u32,
    duration: Duration,
) -> JoinHandle<Vec<PathFigures>> {
    std::thread::spawn(move || {
        let mut figures = vec![PathFigures::default(); paths.len()];
        let period = Duration::from_secs(1) / per_second;
        let started = Instant::now();
        let mut due = started;
        let mut turn = 0;
        while started.elapsed() < duration {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            due += period;
            let index = turn % paths.len();
            turn += 1;
            let sent = Instant::now();
            match get(address, paths[index]) {
                Some(body) => {
                    figures[index].durations.push(sent.elapsed());
                    figures[index].body_bytes = body;
                }
                None => figures[index].failures += 1,
            }
        }
        for path in &mut figures {
            path.durations.sort_unstable();
        }
        figures
    })
}

/// One `GET`: the body's size when the answer is `200 OK`.
fn get(address: SocketAddr, path: &str) -> Option<usize> {
    let mut stream = TcpStream::connect_timeout(&address, REQUEST_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    answer
        .starts_with(b"HTTP/1.1 200 ")
        .then_some(answer.len() - head_end - 4)
}
