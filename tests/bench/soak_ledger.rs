//! How many UPDATEs the agent had reason to send: its decision changes,
//! replayed from the health changes it logged, plus the updates it logged as
//! failed (each is retried). Compared with what `named` applied, it shows
//! that faults cause no update storm.

use std::collections::HashMap;
use std::net::IpAddr;

/// One RRset the agent manages: its addresses in order of preference.
pub struct Managed {
    pub record: String,
    pub addresses: Vec<IpAddr>,
}

/// What the agents' logs say.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Health changes logged.
    pub health_changes: u64,
    /// Times the RRset to publish (first server up) changed.
    pub decision_changes: u64,
    /// Changes logged as applied.
    pub applied: u64,
    /// UPDATEs logged as failed or not applied, each followed by a retry.
    pub retries: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Health {
    Unknown,
    Up,
    Down,
}

/// Replays the logs of every agent process in order. `managed` lists every
/// RRset; each starts at its first address, as the zone does.
pub fn replay(logs: &[String], managed: &[Managed]) -> Ledger {
    let mut ledger = Ledger::default();
    let mut desired: Vec<IpAddr> = managed.iter().map(|m| m.addresses[0]).collect();
    let mut index: HashMap<(&str, IpAddr), usize> = HashMap::new();
    for (position, m) in managed.iter().enumerate() {
        for address in &m.addresses {
            index.insert((m.record.as_str(), *address), position);
        }
    }
    for log in logs {
        let mut health: HashMap<IpAddr, Health> = HashMap::new();
        for line in log.lines() {
            if line.contains("failed, will retry") || line.contains(" not applied: ") {
                ledger.retries += 1;
            }
            if line.contains(" INFO updated ") {
                ledger.applied += 1;
            }
            let Some((record, address, to)) = health_change(line) else {
                continue;
            };
            ledger.health_changes += 1;
            health.insert(address, to);
            let Some(&position) = index.get(&(record, address)) else {
                continue;
            };
            let first_up = managed[position].addresses.iter().try_fold((), |(), a| {
                match health.get(a).copied().unwrap_or(Health::Unknown) {
                    Health::Up => Err(Some(*a)),
                    Health::Unknown => Err(None),
                    Health::Down => Ok(()),
                }
            });
            // All down: DNS stays as it is.
            if let Err(Some(first)) = first_up {
                if desired[position] != first {
                    desired[position] = first;
                    ledger.decision_changes += 1;
                }
            }
        }
    }
    ledger
}

/// `health changed: RECORD server S address ADDRESS: FROM -> TO (...)`.
fn health_change(line: &str) -> Option<(&str, IpAddr, Health)> {
    let rest = &line[line.find("health changed: ")? + "health changed: ".len()..];
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [record, "server", _, "address", address, _, "->", to, ..] = words[..] else {
        return None;
    };
    let address = address.trim_end_matches(':').parse().ok()?;
    let to = match to {
        "up" => Health::Up,
        "down" => Health::Down,
        _ => Health::Unknown,
    };
    Some((record, address, to))
}
