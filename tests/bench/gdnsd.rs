//! gdnsd 3.8 (`/usr/sbin/gdnsd`, Debian package `gdnsd`) as the comparison of
//! the scale benchmark: its `tcp_connect` monitor checking the same addresses
//! as the agent, through the `simplefo` plugin (one resource per record, a
//! primary and a secondary address), with the same interval, timeout and
//! thresholds. gdnsd serves the resources as `DYNA` records of one zone on a
//! free loopback port, so that every resource is in use.
//!
//! `gdnsd -c DIR start` runs in the foreground; its log (stderr) goes to
//! `gdnsd.log` in DIR.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::children::ChildProcess;

/// Where Debian installs the daemon.
pub const BINARY: &str = "/usr/sbin/gdnsd";
/// The zone whose records use the resources.
const ZONE: &str = "gdnsd-scale.test";

/// How gdnsd checks each address.
pub struct Monitoring {
    pub port: u16,
    pub interval: Duration,
    pub timeout: Duration,
    /// fall and rise of the agent: `up_thresh`, `ok_thresh` and `down_thresh`.
    pub threshold: u32,
}

/// Writes a configuration for one resource per pair of `records` into
/// `dir` and starts gdnsd on it, its soft and hard open-file limit `nofile`.
pub fn start(
    dir: &Path,
    records: &[(Ipv4Addr, Ipv4Addr)],
    monitoring: &Monitoring,
    nofile: u64,
) -> ChildProcess {
    std::fs::create_dir_all(dir.join("zones")).expect("creating gdnsd's zones directory");
    let dns_port = crate::support::free_port();
    std::fs::write(
        dir.join("config"),
        config_text(dir, dns_port, records, monitoring),
    )
    .expect("writing gdnsd's configuration");
    std::fs::write(dir.join("zones").join(ZONE), zone_text(records.len()))
        .expect("writing gdnsd's zone");
    let log = std::fs::File::create(dir.join("gdnsd.log")).expect("creating gdnsd's log");
    ChildProcess::spawn(
        "gdnsd",
        Command::new("prlimit")
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(BINARY)
            .arg("-c")
            .arg(dir)
            .arg("start")
            .stdout(Stdio::from(log.try_clone().expect("a log handle")))
            .stderr(Stdio::from(log)),
    )
}

/// gdnsd's log so far.
pub fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("gdnsd.log")).unwrap_or_default()
}

fn config_text(
    dir: &Path,
    dns_port: u16,
    records: &[(Ipv4Addr, Ipv4Addr)],
    monitoring: &Monitoring,
) -> String {
    let threshold = monitoring.threshold;
    let mut text = format!(
        "options => {{\n  listen => [ 127.0.0.1:{dns_port} ]\n  run_dir => {run}\n  state_dir => {state}\n}}\n\
         service_types => {{\n  bench => {{\n    plugin => tcp_connect\n    port => {port}\n\
         \x20   interval => {interval}\n    timeout => {timeout}\n    up_thresh => {threshold}\n\
         \x20   ok_thresh => {threshold}\n    down_thresh => {threshold}\n  }}\n}}\n\
         plugins => {{\n  simplefo => {{\n    service_types => bench\n",
        run = dir.join("run").display(),
        state = dir.join("state").display(),
        port = monitoring.port,
        interval = monitoring.interval.as_secs().max(1),
        timeout = monitoring.timeout.as_secs().max(1),
    );
    for (record, (primary, secondary)) in records.iter().enumerate() {
        let _ = writeln!(
            text,
            "    r{record} => {{ primary => {primary}, secondary => {secondary} }}"
        );
    }
    text.push_str("  }\n}\n");
    text
}

fn zone_text(records: usize) -> String {
    let mut text = String::from(
        "@ 900 SOA ns1 hostmaster 1 7200 1800 259200 900\n@ 900 NS ns1\nns1 900 A 127.0.0.1\n",
    );
    for record in 0..records {
        let _ = writeln!(text, "r{record} 30 DYNA simplefo!r{record}");
    }
    text
}
