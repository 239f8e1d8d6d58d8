//! `named.conf` for a test BIND server whose every file stays in its own directory.

use std::fmt::Write as _;
use std::path::Path;

use super::key::TestKey;
use super::snippet;
use super::zone::{zone_file_name, Grant, ZoneSpec};

/// Renders `named.conf` listening on 127.0.0.1:`port` (UDP and TCP) for `zones`.
///
/// Every path BIND would otherwise take from /etc, /run or /var is set to `dir`, `controls { };`
/// keeps it off port 953, and `reuseport no;` makes a port clash fail instead of silently
/// splitting the queries between two processes.
pub fn named_conf(dir: &Path, port: u16, zones: &[ZoneSpec], keys: &[TestKey]) -> String {
    let dir = dir.display();
    let mut conf = format!(
        "options {{
\tdirectory \"{dir}\";
\tpid-file \"{dir}/named.pid\";
\tsession-keyfile \"{dir}/session.key\";
\tmanaged-keys-directory \"{dir}\";
\tlisten-on port {port} {{ 127.0.0.1; }};
\tlisten-on-v6 {{ none; }};
\treuseport no;
\trecursion no;
\tallow-query {{ any; }};
\tdnssec-validation no;
\tnotify no;
}};
controls {{ }};
"
    );
    for key in keys {
        if deployed(zones, key) {
            conf.push_str(&snippet::bind_key(key));
        } else {
            conf.push_str(&key.bind_statement());
        }
    }
    for (index, zone) in zones.iter().enumerate() {
        let _ = writeln!(
            conf,
            "zone \"{}\" {{\n\ttype primary;\n\tfile \"{}\";",
            zone.origin,
            zone_file_name(index)
        );
        if !zone.grants.is_empty() {
            conf.push_str("\tupdate-policy {\n");
            for grant in &zone.grants {
                if let Grant::Deployed { key, names } = grant {
                    let key = keys.iter().find(|k| &k.name == key).expect("checked");
                    let names: Vec<String> = names.iter().map(|n| zone.absolute(n)).collect();
                    for rule in snippet::bind_grants(key, &names) {
                        let _ = writeln!(conf, "\t\t{rule}");
                    }
                } else {
                    let _ = writeln!(conf, "\t\t{};", policy_rule(zone, grant));
                }
            }
            conf.push_str("\t};\n");
        }
        conf.push_str("};\n");
    }
    conf
}

/// Whether a zone grants `key` through the deployed snippet.
pub(super) fn deployed(zones: &[ZoneSpec], key: &TestKey) -> bool {
    zones
        .iter()
        .flat_map(|zone| &zone.grants)
        .any(|grant| matches!(grant, Grant::Deployed { key: name, .. } if *name == key.name))
}

/// One `update-policy` rule for `grant` (not a deployed one).
fn policy_rule(zone: &ZoneSpec, grant: &Grant) -> String {
    match grant {
        Grant::ZoneSubAddress { key } => format!("grant \"{key}\" zonesub A AAAA"),
        Grant::Name { key, name, types } => {
            let mut rule = format!("grant \"{key}\" name {}", zone.absolute(name));
            for rtype in types {
                rule.push(' ');
                rule.push_str(rtype);
            }
            rule
        }
        Grant::Deployed { .. } => unreachable!("rendered from the snippet"),
    }
}
