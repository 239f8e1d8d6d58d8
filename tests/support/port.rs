//! Free loopback ports for test servers.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::Mutex;

use super::key::random_bytes;

/// Lowest port tried: above the registered well-known services most hosts run.
const LOWEST_PORT: u16 = 20_000;

/// Highest port tried: just below Linux's default ephemeral range (32768–60999), so the kernel
/// never hands one of these to a client socket (such as `dig`'s) while a test server needs it.
const HIGHEST_PORT: u16 = 32_767;

/// How many random ports are tried before giving up.
const ATTEMPTS: usize = 200;

/// Ports already returned in this process, never returned twice even after their server stops
/// (a stopped server keeps its port for `restart`).
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Returns a port on 127.0.0.1 that is free for both UDP and TCP right now.
///
/// Both sockets are bound at the same time to check, then released. Panics after a bounded
/// number of attempts.
pub fn free_port() -> u16 {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..ATTEMPTS {
        let port = random_port();
        if !handed_out.contains(&port) && is_free(port) {
            handed_out.insert(port);
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1 in {ATTEMPTS} random tries between {LOWEST_PORT} and {HIGHEST_PORT}");
}

/// A uniformly random port between [`LOWEST_PORT`] and [`HIGHEST_PORT`].
fn random_port() -> u16 {
    let span = u32::from(HIGHEST_PORT - LOWEST_PORT) + 1;
    let offset = u32::from(u16::from_be_bytes(random_bytes::<2>())) % span;
    LOWEST_PORT + offset as u16
}

/// Whether UDP and TCP sockets can both be bound to 127.0.0.1:`port`.
fn is_free(port: u16) -> bool {
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, port));
    let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port));
    udp.is_ok() && tcp.is_ok()
}
