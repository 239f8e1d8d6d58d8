//! `knot.conf` for a test Knot server whose every file stays in its own directory.

use std::fmt::Write as _;
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
/// Each grant becomes one ACL entry referenced by its zone only.
pub fn knot_conf(dir: &Path, port: u16, zones: &[ZoneSpec], keys: &[TestKey]) -> String {
    let dir = dir.display();
    let mut conf = format!(
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
    );
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
        let _ = write!(
            zone_section,
            "  - domain: \"{}\"\n    file: \"{dir}/{}\"\n",
            zone.origin,
            zone_file_name(zone_index)
        );
        if !acl_ids.is_empty() {
            let _ = writeln!(zone_section, "    acl: [{}]", acl_ids.join(", "));
        }
    }
    if !acl.is_empty() {
        let _ = write!(conf, "\nacl:\n{acl}");
    }
    if !zone_section.is_empty() {
        let _ = write!(conf, "\nzone:\n{zone_section}");
    }
    conf
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
