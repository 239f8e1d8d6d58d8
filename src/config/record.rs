//! One entry of `records:`: a name, its servers in order of preference, and
//! its settings.

use std::collections::HashMap;
use std::net::IpAddr;

use hickory_proto::rr::Name;

use super::check_list::{check_item_timing, read_checks, CheckSetting};
use super::node::{Node, Position};
use super::report::{item_path, Report};
use super::scalar;
use super::settings::{Settings, SETTING_KEYS};
use super::table::{Reported, Table};
use super::{Check, Record, Server, Timing};

/// Keys of a record that are not settings.
const RECORD_OWN_KEYS: &[&str] = &["name", "zone", "takeover", "servers"];
/// Keys of a server.
pub(super) const SERVER_KEYS: &[&str] = &["name", "addresses", "check", "checks"];

/// All keys of a record.
pub(super) fn record_keys() -> Vec<&'static str> {
    RECORD_OWN_KEYS
        .iter()
        .chain(SETTING_KEYS)
        .copied()
        .collect()
}

/// A record as read: its name (for the duplicate check across records) and,
/// when everything in it is valid, the record.
pub(super) struct ReadRecord {
    pub name: Option<(Name, Position)>,
    /// Where its `zone` is written, if given.
    pub zone_position: Option<Position>,
    pub record: Option<Record>,
}

/// Validates the record at `path`, inheriting from the `defaults:` settings.
pub(super) fn read_record(
    node: &Node,
    path: &str,
    defaults: &Settings,
    report: &mut Report,
) -> ReadRecord {
    let Some(table) = Table::read(node, path, &record_keys(), report) else {
        return ReadRecord {
            name: None,
            zone_position: None,
            record: None,
        };
    };
    let name = table.required(
        "name",
        "give the DNS name whose addresses fail over, e.g. www.example.test.",
        report,
        record_name,
    );
    let zone = read_zone(&table, name.as_ref(), report);
    let takeover = table.parse("takeover", report, scalar::boolean);
    let settings = defaults.overridden_by(&table, report);
    let servers = read_servers(&table, settings.timing, report);
    let checks = required_checks(&settings, &table, report);
    let name_position = table.get("name").map(|node| node.position);
    let record = match (name.clone(), zone, takeover, servers, checks) {
        (Some(name), Ok(zone), Ok(takeover), Some(servers), Some(checks)) => Some(Record {
            name,
            zone,
            ttl: settings.ttl,
            failover_ttl: settings.failover_ttl,
            servers,
            checks,
            when_all_down: settings.when_all_down,
            takeover: takeover.unwrap_or(false),
            failback: settings.failback,
            mode: settings.mode,
            max_addresses: settings.max_addresses,
        }),
        _ => None,
    };
    ReadRecord {
        name: name.zip(name_position),
        zone_position: table.get("zone").map(|node| node.position),
        record,
    }
}

/// `zone:`, which must hold the record's name.
fn read_zone(
    table: &Table,
    name: Option<&Name>,
    report: &mut Report,
) -> Result<Option<Name>, Reported> {
    let zone = table.parse("zone", report, scalar::domain_name)?;
    if let (Some(name), Some(zone), Some(node)) = (name, &zone, table.get("zone")) {
        if !zone.zone_of(name) {
            let message = format!(
                "{name} is not inside zone {zone}: give the zone that holds the name, \
                 or leave zone out to find it with an SOA query"
            );
            report.add(node.position, &table.field("zone"), message);
            return Err(Reported);
        }
    }
    Ok(zone)
}

/// The record's checks, its own or inherited, with the record's timing
/// where a check gives none; reported when there is none.
fn required_checks(settings: &Settings, table: &Table, report: &mut Report) -> Option<Vec<Check>> {
    if settings.check == CheckSetting::Absent {
        let message = "missing; give a check here or in defaults.check";
        report.add(table.position(), &table.field("check"), message);
    }
    settings.check.resolved(settings.timing)
}

/// A record name: a domain name with at least two labels.
fn record_name(node: &Node) -> Result<Name, String> {
    let name = scalar::domain_name(node)?;
    if name.num_labels() < 2 {
        return Err(format!(
            "{name} has a single label; give a name inside a zone, e.g. www.example.test."
        ));
    }
    Ok(name)
}

/// `servers:`: a non-empty list with unique server names and addresses.
/// A server's own checks take the record's `timing` where they give none.
fn read_servers(table: &Table, timing: Timing, report: &mut Report) -> Option<Vec<Server>> {
    let hint = "list the servers in order of preference, each { name, addresses }";
    let nodes = table.required("servers", hint, report, scalar::sequence)?;
    let path = table.field("servers");
    if nodes.is_empty() {
        let position = table
            .get("servers")
            .map_or(table.position(), |node| node.position);
        report.add(position, &path, format!("must not be empty; {hint}"));
        return None;
    }
    let mut taken = Taken::default();
    let mut servers = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        servers.push(read_server(
            node,
            &item_path(&path, index),
            &mut taken,
            timing,
            report,
        ));
    }
    servers.into_iter().collect()
}

/// The server names and addresses of one record read so far, each with the field
/// path where it was first given.
#[derive(Default)]
struct Taken {
    names: HashMap<String, String>,
    addresses: HashMap<IpAddr, String>,
}

/// One `{ name, addresses }` server, optionally with checks of its own; a
/// name or address already in `taken` is reported.
fn read_server(
    node: &Node,
    path: &str,
    taken: &mut Taken,
    timing: Timing,
    report: &mut Report,
) -> Option<Server> {
    let table = Table::read(node, path, SERVER_KEYS, report)?;
    let checks = read_checks(&table, report);
    if let Some(checks) = &checks {
        check_item_timing(checks, timing, None, report);
    }
    let checks = match checks {
        None => Ok(None),
        Some(checks) => checks.resolved(timing).map(Some).ok_or(Reported),
    };
    let name = table.required(
        "name",
        "give a label for logs, e.g. web1",
        report,
        scalar::non_empty_string,
    );
    let name = name.and_then(|name| {
        let field = table.field("name");
        if let Some(first) = taken.names.get(&name) {
            let position = table.get("name").map_or(table.position(), |node| node.position);
            let message = format!("server name {name:?} is already used at {first}; names must be unique within a record");
            report.add(position, &field, message);
            return None;
        }
        taken.names.insert(name.clone(), field);
        Some(name)
    });
    let hint = "list the server's IP addresses, e.g. [192.0.2.10, \"2001:db8::10\"]";
    let nodes = table.required("addresses", hint, report, scalar::sequence)?;
    let list_path = table.field("addresses");
    if nodes.is_empty() {
        let position = table
            .get("addresses")
            .map_or(table.position(), |node| node.position);
        report.add(position, &list_path, format!("must not be empty; {hint}"));
        return None;
    }
    let mut addresses = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        let address_path = item_path(&list_path, index);
        match scalar::ip_address(node) {
            Ok(address) => match taken.addresses.get(&address) {
                Some(first) => {
                    let message = format!("address {address} is already given at {first}; an address may appear only once in a record");
                    report.add(node.position, &address_path, message);
                }
                None => {
                    taken.addresses.insert(address, address_path);
                    addresses.push(address);
                }
            },
            Err(message) => report.add(node.position, &address_path, message),
        }
    }
    let complete = addresses.len() == nodes.len();
    Some(Server {
        name: name?,
        addresses,
        checks: checks.ok()?,
    })
    .filter(|_| complete)
}
