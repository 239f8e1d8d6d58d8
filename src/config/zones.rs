//! `zones:` of an item of `nameservers:`: the zones that primary serves,
//! none listed by two primaries.

use std::collections::HashMap;

use hickory_proto::rr::Name;

use super::report::{item_path, Report};
use super::scalar;
use super::table::Table;

/// The zones listed so far, each with the field path that lists it.
#[derive(Default)]
pub(super) struct ZonesTaken {
    zones: HashMap<Name, String>,
}

/// `zones:` of one item: a non-empty list of zones no earlier item lists.
pub(super) fn read_zones(
    table: &Table,
    taken: &mut ZonesTaken,
    report: &mut Report,
) -> Option<Vec<Name>> {
    let hint = "list the zones this primary serves, e.g. [example.com]";
    let nodes = table.required("zones", hint, report, scalar::sequence)?;
    let path = table.field("zones");
    if nodes.is_empty() {
        let position = table
            .get("zones")
            .map_or(table.position(), |node| node.position);
        report.add(position, &path, format!("must not be empty; {hint}"));
        return None;
    }
    let mut zones = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        let zone_path = item_path(&path, index);
        match scalar::domain_name(node) {
            Ok(zone) => {
                let key = zone.to_lowercase();
                if let Some(first) = taken.zones.get(&key) {
                    let message = format!(
                        "zone {zone} is already listed at {first}; each zone has one primary"
                    );
                    report.add(node.position, &zone_path, message);
                } else {
                    taken.zones.insert(key, zone_path);
                    zones.push(zone);
                }
            }
            Err(message) => report.add(node.position, &zone_path, message),
        }
    }
    (zones.len() == nodes.len()).then_some(zones)
}
