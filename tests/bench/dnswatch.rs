//! Watches what the nameserver answers for one name, with plain UDP queries
//! sent from this process every [`POLL`]: no `dig` process start-up blurs
//! the timing.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};

/// Time between two queries.
pub const POLL: Duration = Duration::from_millis(5);

/// How long one query may take on loopback.
const QUERY_TIMEOUT: Duration = Duration::from_millis(500);

/// Queries `name` (A) at one nameserver.
pub struct DnsWatch {
    socket: UdpSocket,
    name: Name,
    next_id: u16,
}

impl DnsWatch {
    /// A watch of `name` at `server`.
    pub fn new(server: SocketAddr, name: &str) -> DnsWatch {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
        socket.connect(server).expect("connecting the UDP socket");
        socket
            .set_read_timeout(Some(QUERY_TIMEOUT))
            .expect("setting a read timeout");
        DnsWatch {
            socket,
            name: Name::from_ascii(name).expect("a valid name"),
            next_id: 1,
        }
    }

    /// The addresses of the A RRset now (sorted), or `None` without an answer.
    pub fn addresses(&mut self) -> Option<Vec<IpAddr>> {
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let mut query = Message::new(id, MessageType::Query, OpCode::Query);
        query.metadata.recursion_desired = false;
        query.add_query(Query::query(self.name.clone(), RecordType::A));
        self.socket.send(&query.to_vec().ok()?).ok()?;
        let mut buffer = [0u8; 4096];
        // Bounded: each read waits at most QUERY_TIMEOUT, stale answers are few.
        for _ in 0..8 {
            let len = self.socket.recv(&mut buffer).ok()?;
            let Ok(answer) = Message::from_vec(&buffer[..len]) else {
                continue;
            };
            if answer.metadata.id != id {
                continue;
            }
            let mut addresses: Vec<IpAddr> = answer
                .answers
                .iter()
                .filter_map(|record| match &record.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    _ => None,
                })
                .collect();
            addresses.sort();
            return Some(addresses);
        }
        None
    }

    /// Polls until the answer is exactly `address`; returns when that answer
    /// arrived, or `None` after `deadline`.
    pub fn wait_for(&mut self, address: IpAddr, deadline: Duration) -> Option<Instant> {
        let started = Instant::now();
        let mut next = started;
        while started.elapsed() < deadline {
            if self.addresses().as_deref() == Some(&[address]) {
                return Some(Instant::now());
            }
            next += POLL;
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            } else {
                next = now;
            }
        }
        None
    }
}
