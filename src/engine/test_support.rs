//! Builders shared by the engine's unit tests.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::rr::Name;

use crate::config::{AllDownPolicy, Check, CheckSpec, Config, Nameserver, Record, Server, Timing};
use crate::vocabulary::{AddressRrset, KeySource, Transport};

use super::health::Health;

/// Parses an address literal.
pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address literal")
}

/// A server with these addresses.
pub fn server(name: &str, addresses: &[&str]) -> Server {
    Server {
        name: name.to_owned(),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
        checks: None,
    }
}

/// The timing every test record uses unless it sets its own.
pub fn timing() -> Timing {
    Timing {
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(2),
        fall: 3,
        rise: 2,
    }
}

/// A `tcp` check of `port` labelled `tcp:PORT`, with [`timing`].
pub fn tcp_check(port: u16) -> Check {
    Check {
        label: format!("tcp:{port}"),
        spec: CheckSpec::Tcp { port },
        timing: timing(),
    }
}

/// A record named `www.example.test.` (TTL 60, keep when all down, no takeover).
pub fn record(servers: Vec<Server>) -> Record {
    named_record("www.example.test.", servers)
}

/// A record with the given owner name and the defaults of [`record`].
pub fn named_record(name: &str, servers: Vec<Server>) -> Record {
    Record {
        name: Name::from_ascii(name).expect("test owner name"),
        zone: None,
        ttl: 60,
        failover_ttl: None,
        mode: crate::config::PoolMode::Failover,
        max_addresses: 8,
        servers,
        checks: vec![tcp_check(80)],
        when_all_down: AllDownPolicy::Keep,
        takeover: false,
        failback: crate::config::FailbackPolicy::Auto,
    }
}

/// A configuration holding these records (the nameserver part is never read
/// by the engine).
pub fn config(records: Vec<Record>) -> Config {
    Config {
        nameservers: vec![Nameserver {
            address: "127.0.0.1:53".parse().expect("test socket address"),
            key: KeySource::File {
                path: "/etc/dnsfailover/update.key".into(),
                name: None,
            },
            transport: Transport::Tcp,
            timeout: Duration::from_secs(3),
            zones: None,
        }],
        records,
        http: None,
        notify: crate::config::Notify::default(),
        propagation: crate::config::Propagation::default(),
        control: crate::config::Control::default(),
    }
}

/// An RRset of these addresses.
pub fn rrset(addresses: &[&str], ttl: u32) -> AddressRrset {
    AddressRrset::new(addresses.iter().map(|a| ip(a)), ttl)
}

/// The health table of `record`: listed addresses get their state, all
/// others are unknown.
pub fn health_of(record: &Record, states: &[(&str, Health)]) -> Vec<Vec<Health>> {
    record
        .servers
        .iter()
        .map(|server| {
            server
                .addresses
                .iter()
                .map(|address| {
                    states
                        .iter()
                        .find(|(text, _)| ip(text) == *address)
                        .map_or(Health::Unknown, |(_, health)| *health)
                })
                .collect()
        })
        .collect()
}

/// Every address of `record` in the same state.
pub fn all_in(record: &Record, health: Health) -> Vec<Vec<Health>> {
    record
        .servers
        .iter()
        .map(|server| vec![health; server.addresses.len()])
        .collect()
}
