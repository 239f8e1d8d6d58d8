//! The `serve-any PORT INTERVAL_MS COUNT` child: one wildcard listener on
//! 0.0.0.0:PORT standing in for COUNT servers, the scale benchmark's
//! addresses (see [`crate::scale_addresses`]). Binding one socket per
//! address is impossible at 10,000–100,000 addresses under an open-file
//! limit of 20,000; one wildcard socket receives the connections to every
//! loopback address, and each accepted socket's local address tells which
//! server was checked.
//!
//! Arrivals are noted per destination address, so start jitter is computed
//! per address as `serve-tcp` does per listener (see [`crate::listener`]),
//! and the same commands are answered on stdin (`mark`, `report`, `seen`).
//! Each accepted connection is kept until the peer closes it: the agent
//! keeps the connection of its last check open until the next check.
//! When descriptors run out, accepting pauses for a millisecond; the
//! connections wait in the listen queue meanwhile.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket};

use crate::listener::{drain, serve_commands, Arrivals};
use crate::scale_addresses;

/// Longest listen queue asked for (the kernel caps it at `somaxconn`).
const BACKLOG: u32 = 65_535;

/// What to listen for.
pub struct WildcardSpec {
    pub port: u16,
    pub interval: Duration,
    pub count: usize,
}

impl WildcardSpec {
    /// Parses `PORT INTERVAL_MS COUNT`.
    pub fn parse(args: &[String]) -> Result<WildcardSpec, String> {
        let [port, interval, count] = args else {
            return Err("serve-any needs PORT INTERVAL_MS COUNT".into());
        };
        let number = |text: &str, what: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("serve-any: bad {what} {text:?}"))
        };
        Ok(WildcardSpec {
            port: u16::try_from(number(port, "port")?).map_err(|_| "serve-any: bad port")?,
            interval: Duration::from_millis(number(interval, "interval")?),
            count: number(count, "count")? as usize,
        })
    }
}

/// Listens until stdin ends.
pub fn main(spec: WildcardSpec) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let started = Instant::now();
    let listener = match runtime.block_on(async { bind(spec.port) }) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("serve-any: cannot listen on 0.0.0.0:{}: {error}", spec.port);
            return ExitCode::FAILURE;
        }
    };
    let arrivals = Arc::new(Arrivals::new(spec.count, started, spec.interval));
    let strangers = Arc::new(AtomicU64::new(0));
    runtime.spawn(accept_loop(listener, arrivals.clone(), strangers.clone()));
    println!("listening");
    let _ = std::io::stdout().flush();
    serve_commands(&arrivals);
    let strangers = strangers.load(Ordering::Relaxed);
    if strangers > 0 {
        eprintln!("serve-any: {strangers} connections to addresses outside the scheme");
    }
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::SUCCESS
}

fn bind(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([0, 0, 0, 0], port)))?;
    socket.listen(BACKLOG)
}

async fn accept_loop(listener: TcpListener, arrivals: Arc<Arrivals>, strangers: Arc<AtomicU64>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let slot = match stream.local_addr().map(|local| local.ip()) {
                    Ok(IpAddr::V4(local)) => scale_addresses::index(local),
                    _ => None,
                };
                match slot.filter(|slot| *slot < arrivals.slots()) {
                    Some(slot) => arrivals.note(slot),
                    None => {
                        strangers.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::spawn(drain(stream));
            }
            // Out of descriptors, most likely: let some connections end.
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}
