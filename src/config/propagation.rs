//! The optional `propagation:` section: which nameservers must come to serve
//! each update, and how long they may take before the agent says so.

use std::net::SocketAddr;
use std::time::Duration;

use super::nameserver::socket_address;
use super::node::Node;
use super::report::{item_path, Report};
use super::scalar;
use super::table::Table;
use super::Propagation;

/// Keys of the `propagation:` section.
pub(super) const PROPAGATION_KEYS: &[&str] = &["enabled", "nameservers", "lagging_after", "signed"];
/// How long a nameserver may take to serve an update before it is lagging.
pub const DEFAULT_LAGGING_AFTER: Duration = Duration::from_secs(30);

impl Default for Propagation {
    fn default() -> Self {
        Propagation {
            enabled: true,
            nameservers: None,
            lagging_after: DEFAULT_LAGGING_AFTER,
            signed: false,
        }
    }
}

/// Validates the `propagation:` section at `path`.
pub(super) fn read_propagation(
    node: &Node,
    path: &str,
    report: &mut Report,
) -> Option<Propagation> {
    let table = Table::read(node, path, PROPAGATION_KEYS, report)?;
    let defaults = Propagation::default();
    let enabled = table.parse("enabled", report, scalar::boolean);
    let lagging_after = table.parse("lagging_after", report, scalar::duration);
    let signed = table.parse("signed", report, scalar::boolean);
    let nameservers = match table.get("nameservers") {
        None => Some(None),
        Some(node) => read_nameservers(node, &table.field("nameservers"), report).map(Some),
    };
    Some(Propagation {
        enabled: enabled.ok()?.unwrap_or(defaults.enabled),
        nameservers: nameservers?,
        lagging_after: lagging_after.ok()?.unwrap_or(defaults.lagging_after),
        signed: signed.ok()?.unwrap_or(defaults.signed),
    })
}

/// A non-empty list of distinct `IP` / `IP:PORT` / `[IPv6]:PORT` addresses.
fn read_nameservers(node: &Node, path: &str, report: &mut Report) -> Option<Vec<SocketAddr>> {
    let hint = "list the secondaries to follow, e.g. [192.0.2.2, \"[2001:db8::2]:53\"], or leave nameservers out to follow the zone's NS RRset";
    let nodes = match scalar::sequence(node) {
        Ok([]) => {
            report.add(node.position, path, format!("must not be empty; {hint}"));
            return None;
        }
        Ok(nodes) => nodes,
        Err(message) => {
            report.add(node.position, path, format!("{message}; {hint}"));
            return None;
        }
    };
    let mut addresses: Vec<SocketAddr> = Vec::with_capacity(nodes.len());
    let mut valid = true;
    for (index, node) in nodes.iter().enumerate() {
        let field = item_path(path, index);
        match scalar::string(node).and_then(socket_address) {
            Ok(address) if addresses.contains(&address) => {
                report.add(node.position, &field, format!("{address} is listed twice"));
                valid = false;
            }
            Ok(address) => addresses.push(address),
            Err(message) => {
                report.add(node.position, &field, message);
                valid = false;
            }
        }
    }
    valid.then_some(addresses)
}
