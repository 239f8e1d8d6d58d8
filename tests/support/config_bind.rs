//! `named.conf` for a test BIND server whose every file stays in its own directory.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use super::key::TestKey;
use super::snippet;
use super::zone::{zone_file_name, Grant, ZoneSpec};

/// The `rndc` control channel of a test BIND server: on 127.0.0.1:`port`, open to `key` only.
#[derive(Debug, Clone)]
pub struct RndcChannel {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The key `rndc` signs its commands with.
    pub key: TestKey,
}

/// Renders `named.conf` listening on 127.0.0.1:`port` (UDP and TCP) for `zones`.
///
/// Every path BIND would otherwise take from /etc, /run or /var is set to `dir`, the control
/// channel listens on `rndc`'s loopback port instead of 953, and `reuseport no;` makes a port
/// clash fail instead of silently splitting the queries between two processes.
pub fn named_conf(
    dir: &Path,
    port: u16,
    rndc: &RndcChannel,
    zones: &[ZoneSpec],
    keys: &[TestKey],
) -> String {
    // BIND sends at most 20 NOTIFYs a second by default, in 100 ms ticks, which holds back the
    // NOTIFY of an update made within a few hundred milliseconds of the one before.
    let notify_rate = if zones.iter().any(|zone| !zone.notify.is_empty()) {
        "\tnotify-rate 1000;\n"
    } else {
        ""
    };
    let controls = format!(
        "controls {{ inet 127.0.0.1 port {} allow {{ 127.0.0.1; }} keys {{ \"{}\"; }}; }};\n",
        rndc.port, rndc.key.name
    );
    let mut conf = options(dir, port, notify_rate, &controls);
    conf.push_str(&rndc.key.bind_statement());
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
        if !zone.notify.is_empty() {
            conf.push_str(&notify_statements(&zone.notify));
        }
        if zone.signed {
            conf.push_str("\tdnssec-policy default;\n\tinline-signing yes;\n");
        }
        conf.push_str("};\n");
    }
    conf
}

/// Renders `named.conf` for a secondary of `origin` on 127.0.0.1:`port`, transferring from
/// `primary` into `zone_file` (relative to `dir`, kept as text so a test can read it).
///
/// The global `notify no;` keeps the secondary from notifying the zone's NS (the harness's
/// 127.0.0.1 port 53). NOTIFY is accepted from the primary's address, BIND's default for a
/// secondary, and `serial-query-rate 1000` lets the SOA query it triggers go out at once (at
/// the default of 20 a second it waits about 350 ms). The SOA refresh (an hour) is left alone,
/// so changes arrive by NOTIFY, not by polling; the retry interval is 2 s (`min-retry-time`,
/// `max-retry-time`), which is also how long after loading its own copy at a start BIND asks
/// the primary whether it is current.
pub fn named_secondary_conf(
    dir: &Path,
    port: u16,
    origin: &str,
    primary: SocketAddr,
    zone_file: &str,
) -> String {
    let mut conf = options(dir, port, "\tserial-query-rate 1000;\n", NO_CONTROLS);
    let _ = write!(
        conf,
        "zone \"{origin}\" {{
\ttype secondary;
\tprimaries {{ {} port {}; }};
\tfile \"{zone_file}\";
\tmasterfile-format text;
\tmin-retry-time 2;
\tmax-retry-time 2;
}};
",
        primary.ip(),
        primary.port()
    );
    conf
}

/// No control channel: keeps BIND off port 953.
const NO_CONTROLS: &str = "controls { };\n";

/// The `options` statement every test server starts with, then `controls`; `extra` (whole
/// lines) goes at the end of `options`.
fn options(dir: &Path, port: u16, extra: &str, controls: &str) -> String {
    let dir = dir.display();
    format!(
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
{extra}}};
{controls}"
    )
}

/// Zone statements that NOTIFY exactly `secondaries`, at once, and let loopback transfer.
///
/// `ixfr-from-differences` gives IXFR for zones without grants too, after a reload of an
/// edited zone file; a zone with grants is dynamic and answers IXFR from its journal anyway.
/// `max-ixfr-ratio unlimited` keeps BIND from answering IXFR with the whole zone, which it does
/// by default when the changes are larger than the zone, as they are for a small test zone.
fn notify_statements(secondaries: &[SocketAddr]) -> String {
    let targets: String = secondaries
        .iter()
        .map(|addr| format!("{} port {}; ", addr.ip(), addr.port()))
        .collect();
    format!(
        "\tnotify explicit;\n\talso-notify {{ {targets}}};\n\tnotify-delay 0;\n\
         \tallow-transfer {{ 127.0.0.0/8; ::1; }};\n\tixfr-from-differences yes;\n\
         \tmax-ixfr-ratio unlimited;\n"
    )
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
