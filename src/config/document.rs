//! The whole file: `nameserver:` or `nameservers:`, `defaults:`, `records:`, `http:`, `notify:`
//! `propagation:` and `control:`.

use std::collections::HashMap;

use super::control::read_control;
use super::http::read_http;
use super::nameserver::read_nameserver;
use super::nameservers::read_nameservers;
use super::node::{Node, Position, Value};
use super::notify::read_notify;
use super::propagation::read_propagation;
use super::record::read_record;
use super::report::{item_path, Report};
use super::routing::{check_route, RecordPlace};
use super::scalar;
use super::settings::{Settings, SETTING_KEYS};
use super::table::Table;
use super::Config;
use crate::vocabulary::KeySource;

/// Top-level keys of the file.
pub(super) const TOP_KEYS: &[&str] = &[
    "nameserver",
    "nameservers",
    "defaults",
    "records",
    "http",
    "notify",
    "propagation",
    "control",
];

/// Validates the document, reporting every problem; `None` when there is any.
pub(super) fn read_config(
    root: &Node,
    check_key: &dyn Fn(&KeySource) -> Result<(), String>,
    report: &mut Report,
) -> Option<Config> {
    if root.value == Value::Null {
        let message = "the file is empty: it must hold at least nameserver: and records:";
        report.add(Position { line: 1, column: 1 }, "(document)", message);
        return None;
    }
    let table = Table::read(root, "", TOP_KEYS, report)?;
    let nameservers = read_primaries(&table, check_key, report);
    let defaults = match table.get("defaults") {
        None => Settings::built_in(),
        Some(node) => match Table::read(node, "defaults", SETTING_KEYS, report) {
            Some(defaults) => Settings::built_in().overridden_by(&defaults, report),
            None => Settings::built_in(),
        },
    };
    let records = read_records(&table, &defaults, nameservers.as_deref(), report);
    let http = table
        .get("http")
        .map(|node| read_http(node, "http", report));
    let notify = match table.get("notify") {
        None => Some(super::Notify {
            queue: super::DEFAULT_QUEUE,
            ..super::Notify::default()
        }),
        Some(node) => read_notify(node, "notify", report),
    };
    let propagation = match table.get("propagation") {
        None => Some(super::Propagation::default()),
        Some(node) => read_propagation(node, "propagation", report),
    };
    let control = match table.get("control") {
        None => Some(super::Control::default()),
        Some(node) => read_control(node, "control", report),
    };
    Some(Config {
        nameservers: nameservers?,
        records: records?,
        http: http.map_or(Some(None), |read| read.map(Some))?,
        notify: notify?,
        propagation: propagation?,
        control: control?,
    })
}

/// Exactly one of `nameserver:` (one primary for every zone) and
/// `nameservers:` (several, each with its zones).
fn read_primaries(
    table: &Table,
    check_key: &dyn Fn(&KeySource) -> Result<(), String>,
    report: &mut Report,
) -> Option<Vec<super::Nameserver>> {
    match (table.get("nameserver"), table.get("nameservers")) {
        (Some(_), Some(list)) => {
            let message = "give either nameserver (one primary for every zone) or nameservers \
                           (several, each with its zones), not both";
            let position = table.key_position("nameservers").unwrap_or(list.position);
            report.add(position, "nameservers", message);
            None
        }
        (Some(single), None) => {
            read_nameserver(single, "nameserver", None, check_key, report).map(|ns| vec![ns])
        }
        (None, Some(list)) => read_nameservers(list, "nameservers", check_key, report),
        (None, None) => {
            let message = "missing; give the primary nameserver's address and TSIG key, \
                           or nameservers: a list of primaries, each with the zones it serves";
            report.add(table.position(), "nameserver", message);
            None
        }
    }
}

/// `records:`: a non-empty list of records with distinct names, each
/// served by one of `nameservers` (when those are valid).
fn read_records(
    table: &Table,
    defaults: &Settings,
    nameservers: Option<&[super::Nameserver]>,
    report: &mut Report,
) -> Option<Vec<super::Record>> {
    let hint = "list the names to fail over, each with name, servers and check";
    let nodes = table.required("records", hint, report, scalar::sequence)?;
    if nodes.is_empty() {
        let position = table
            .get("records")
            .map_or(table.position(), |node| node.position);
        report.add(position, "records", format!("must not be empty; {hint}"));
        return None;
    }
    let mut names = HashMap::new();
    let mut records = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        let path = item_path("records", index);
        let read = read_record(node, &path, defaults, report);
        if let Some((name, position)) = read.name {
            let key = name.to_lowercase().to_ascii();
            if let Some(first) = names.get(&key) {
                let message = format!(
                    "record {name} is already defined at {first}; each name may appear once \
                     (names are compared without regard to case)"
                );
                report.add(position, &format!("{path}.name"), message);
            } else {
                names.insert(key, path.clone());
            }
            if let (Some(nameservers), Some(record)) = (nameservers, &read.record) {
                let place = RecordPlace {
                    path: path.clone(),
                    name: position,
                    zone: read.zone_position,
                };
                check_route(nameservers, record, &place, report);
            }
        }
        records.push(read.record);
    }
    records.into_iter().collect()
}
