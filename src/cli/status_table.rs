//! The readable form of a status for `dnsfailover status`: one table of
//! records and families, then one of addresses, then one of the nameservers
//! that follow the updates (when any is followed), then one of the manual
//! overrides (when any is in force).

use std::fmt::Write;
use std::net::IpAddr;

use crate::snapshot::{PublishedState, Snapshot};

/// The tables for `snapshot`.
/// With several primaries, the records' table names each one's primary.
pub fn render(snapshot: &Snapshot) -> String {
    let several_primaries = several_primaries(snapshot);
    let mut header = vec![
        "RECORD",
        "FAMILY",
        "PUBLISHED",
        "DESIRED",
        "IN SYNC",
        "ALARMS",
    ];
    if several_primaries {
        header.push("NAMESERVER");
    }
    let mut families = vec![row(&header)];
    let mut addresses = vec![row(&[
        "RECORD",
        "SERVER",
        "ADDRESS",
        "STATE",
        "SINCE",
        "LAST RESULT",
    ])];
    for record in &snapshot.records {
        let alarms: Vec<&str> = record.alarms.iter().map(|a| a.kind.as_str()).collect();
        let alarms = if alarms.is_empty() {
            "-".to_owned()
        } else {
            alarms.join(",")
        };
        for family in &record.families {
            let published = match family.published.state {
                PublishedState::Unread => "unread".to_owned(),
                PublishedState::Absent => "absent".to_owned(),
                PublishedState::Present => with_server(
                    family.published.server.as_deref(),
                    &family.published.addresses,
                ),
            };
            let desired = with_server(family.desired.server.as_deref(), &family.desired.addresses);
            let in_sync = if family.in_sync { "yes" } else { "no" };
            let mut cells = vec![
                record.name.clone(),
                family.family.to_string(),
                published,
                desired,
                in_sync.to_owned(),
                alarms.clone(),
            ];
            if several_primaries {
                cells.push(record.nameserver.clone().unwrap_or_else(|| "-".to_owned()));
            }
            families.push(cells);
        }
        for server in &record.servers {
            for address in &server.addresses {
                let last = address.last_check.as_ref().map_or("-".to_owned(), |check| {
                    let verdict = if check.passed { "passed" } else { "failed" };
                    match address.telling_check() {
                        Some(telling) => format!("{} {verdict}: {}", telling.label, check.detail),
                        None => format!("{verdict}: {}", check.detail),
                    }
                });
                addresses.push(vec![
                    record.name.clone(),
                    server.name.clone(),
                    address.address.to_string(),
                    match server.drained {
                        Some(_) => format!("{}, drained", address.health_text()),
                        None => address.health_text(),
                    },
                    address.since.to_string(),
                    last,
                ]);
            }
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "nameserver {}, as of {}\n",
        snapshot.nameserver, snapshot.taken_at
    );
    out.push_str(&table(&families));
    out.push('\n');
    out.push_str(&table(&addresses));
    let mut followers = vec![row(&[
        "ZONE",
        "NAMESERVER",
        "STATE",
        "SERIAL",
        "LAST TOOK",
        "LAST ERROR",
    ])];
    for zone in &snapshot.propagation {
        for ns in &zone.nameservers {
            let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
            followers.push(vec![
                zone.zone.clone(),
                ns.address.clone(),
                ns.state.as_str().to_owned(),
                format!(
                    "{}/{}",
                    or_dash(ns.serial.map(|s| s.to_string())),
                    or_dash(zone.serial.map(|s| s.to_string()))
                ),
                or_dash(ns.last_seconds.map(|s| format!("{s:.3}s"))),
                or_dash(ns.last_error.clone()),
            ]);
        }
    }
    if followers.len() > 1 {
        out.push('\n');
        out.push_str(&table(&followers));
    }
    let mut overrides = vec![row(&[
        "OVERRIDE", "RECORD", "SERVER", "UNTIL", "BY", "REASON",
    ])];
    for entry in &snapshot.overrides {
        overrides.push(vec![
            entry.kind.as_str().to_owned(),
            entry
                .record
                .clone()
                .unwrap_or_else(|| "(every record)".to_owned()),
            entry.server.clone(),
            entry
                .until
                .map_or_else(|| "until released".to_owned(), |t| t.to_string()),
            format!("uid {}", entry.by),
            entry.reason.clone(),
        ]);
    }
    if overrides.len() > 1 {
        out.push('\n');
        out.push_str(&table(&overrides));
    }
    out
}

/// `web1 192.0.2.1,192.0.2.2`, or `-` when there is nothing.
/// Whether the records have more than one primary between them.
fn several_primaries(snapshot: &Snapshot) -> bool {
    let mut primaries = snapshot
        .records
        .iter()
        .filter_map(|record| record.nameserver.as_deref());
    let first = primaries.next();
    primaries.any(|other| Some(other) != first)
}

fn with_server(server: Option<&str>, addresses: &[IpAddr]) -> String {
    let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    match (server, list.is_empty()) {
        (_, true) => "-".to_owned(),
        (Some(server), false) => format!("{server} {}", list.join(",")),
        (None, false) => format!("? {}", list.join(",")),
    }
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| (*cell).to_owned()).collect()
}

/// Columns padded to their widest cell; control characters shown escaped.
fn table(rows: &[Vec<String>]) -> String {
    let clean = |cell: &String| cell.escape_debug().to_string();
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(clean).collect()).collect();
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
