//! `knot.conf` for a test Knot server whose every file stays in its own directory.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use super::config_bind::deployed;
use super::key::TestKey;
use super::snippet;
use super::zone::{zone_file_name, Grant, ZoneSpec};

/// Directory (inside the server directory) of Knot's journal, timer and KASP databases.
pub const DATABASE_DIR: &str = "db";

/// Renders `knot.conf` listening on 127.0.0.1:`port` (UDP and TCP) for `zones`.
///
/// `rundir` and `database.storage` point into `dir`; logging goes to stderr at info level.
/// Each grant becomes one ACL entry referenced by its zone only. A zone with secondaries to
/// notify gets one `remote` per secondary, listed in its `notify`, and an ACL entry letting
/// loopback transfer it; Knot sends NOTIFY as soon as a change is committed.
pub fn knot_conf(dir: &Path, port: u16, zones: &[ZoneSpec], keys: &[TestKey]) -> String {
    let mut conf = header(dir, port);
    let dir = dir.display();
    if !keys.is_empty() {
        conf.push_str("\nkey:\n");
        for key in keys {
            if deployed(zones, key) {
                conf.push_str(&snippet::knot_key(key));
                continue;
            }
            let _ = write!(
                conf,
                "  - id: \"{}\"\n    algorithm: {}\n    secret: {}\n",
                key.name, key.algorithm, key.secret
            );
        }
    }
    let mut remote = String::new();
    let mut acl = String::new();
    let mut zone_section = String::new();
    for (zone_index, zone) in zones.iter().enumerate() {
        let mut acl_ids = Vec::new();
        for (grant_index, grant) in zone.grants.iter().enumerate() {
            let id = format!("zone{zone_index}-grant{grant_index}");
            if let Grant::Deployed { key, names } = grant {
                let key = keys.iter().find(|k| &k.name == key).expect("checked");
                let names: Vec<String> = names.iter().map(|n| zone.absolute(n)).collect();
                acl.push_str(&snippet::knot_acl(&id, key, &names));
            } else {
                acl.push_str(&acl_entry(&id, zone, grant));
            }
            acl_ids.push(id);
        }
        let mut notify_ids = Vec::new();
        for (secondary_index, secondary) in zone.notify.iter().enumerate() {
            let id = format!("zone{zone_index}-secondary{secondary_index}");
            let _ = write!(
                remote,
                "  - id: {id}\n    address: {}@{}\n",
                secondary.ip(),
                secondary.port()
            );
            notify_ids.push(id);
        }
        if !notify_ids.is_empty() {
            let id = format!("zone{zone_index}-transfer");
            let _ = write!(
                acl,
                "  - id: {id}\n    address: [127.0.0.0/8, ::1]\n    action: transfer\n"
            );
            acl_ids.push(id);
        }
        let _ = write!(
            zone_section,
            "  - domain: \"{}\"\n    file: \"{dir}/{}\"\n",
            zone.origin,
            zone_file_name(zone_index)
        );
        if !notify_ids.is_empty() {
            let _ = writeln!(zone_section, "    notify: [{}]", notify_ids.join(", "));
        }
        if zone.signed {
            zone_section.push_str("    dnssec-signing: on\n");
        }
        if !acl_ids.is_empty() {
            let _ = writeln!(zone_section, "    acl: [{}]", acl_ids.join(", "));
        }
    }
    if !remote.is_empty() {
        let _ = write!(conf, "\nremote:\n{remote}");
    }
    if !acl.is_empty() {
        let _ = write!(conf, "\nacl:\n{acl}");
    }
    if !zone_section.is_empty() {
        let _ = write!(conf, "\nzone:\n{zone_section}");
    }
    conf
}

/// Renders `knot.conf` for a secondary of `origin` on 127.0.0.1:`port`, transferring from
/// `primary` (the remote `primary`, Knot's `master:`) into `zone_file` (relative to `dir`).
///
/// NOTIFY is accepted from the primary's address only; a NOTIFY starts a refresh at once, and
/// between NOTIFYs the SOA timers apply (Knot's `refresh-max-interval` is not set), so the
/// tests see NOTIFY at work rather than polling. `zonefile-sync: 0` writes the zone file after
/// every transfer.
pub fn knot_secondary_conf(
    dir: &Path,
    port: u16,
    origin: &str,
    primary: SocketAddr,
    zone_file: &str,
) -> String {
    let mut conf = header(dir, port);
    let dir = dir.display();
    let _ = write!(
        conf,
        "
remote:
  - id: primary
    address: {primary_ip}@{primary_port}

acl:
  - id: notify-from-primary
    address: [{primary_ip}]
    action: notify

zone:
  - domain: \"{origin}\"
    file: \"{dir}/{zone_file}\"
    master: primary
    acl: [notify-from-primary]
    zonefile-sync: 0
",
        primary_ip = primary.ip(),
        primary_port = primary.port()
    );
    conf
}

/// The `server`, `database` and `log` sections every test server starts with.
fn header(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    format!(
        "server:
    rundir: \"{dir}\"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

database:
    storage: \"{dir}/{DATABASE_DIR}\"

log:
  - target: stderr
    any: info
"
    )
}

/// One ACL entry allowing updates under `grant`.
fn acl_entry(id: &str, zone: &ZoneSpec, grant: &Grant) -> String {
    let mut entry = format!(
        "  - id: {id}\n    key: \"{}\"\n    action: update\n",
        grant.key()
    );
    match grant {
        Grant::ZoneSubAddress { .. } => entry.push_str("    update-type: [A, AAAA]\n"),
        Grant::Name { name, types, .. } => {
            if !types.is_empty() {
                let _ = writeln!(entry, "    update-type: [{}]", types.join(", "));
            }
            let _ = write!(
                entry,
                "    update-owner: name\n    update-owner-match: equal\n    update-owner-name: \"{}\"\n",
                zone.absolute(name)
            );
        }
        Grant::Deployed { .. } => unreachable!("rendered from the snippet"),
    }
    entry
}
