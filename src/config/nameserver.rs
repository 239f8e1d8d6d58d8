//! The `nameserver:` section, and each item of `nameservers:`: where UPDATEs
//! go and how they are signed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::node::Node;
use super::report::Report;
use super::scalar;
use super::table::Table;
use super::zones::{read_zones, ZonesTaken};
use super::Nameserver;
use crate::vocabulary::{KeySource, Transport, TsigAlgorithm};

/// Keys of the `nameserver:` section.
pub(super) const NAMESERVER_KEYS: &[&str] = &[
    "address",
    "key_file",
    "key_name",
    "key",
    "transport",
    "timeout",
];
/// Keys of an item of `nameservers:`: those of `nameserver:` and `zones`.
pub(super) const LISTED_NAMESERVER_KEYS: &[&str] = &[
    "address",
    "key_file",
    "key_name",
    "key",
    "transport",
    "timeout",
    "zones",
];
/// Keys of an inline `nameserver.key:` table.
pub(super) const INLINE_KEY_KEYS: &[&str] = &["name", "algorithm", "secret_file"];
/// Port of the primary when `address` gives none.
pub const DEFAULT_DNS_PORT: u16 = 53;
/// Time allowed for one request to the nameserver when `timeout` is not given.
pub const DEFAULT_NAMESERVER_TIMEOUT: Duration = Duration::from_secs(2);

const TRANSPORTS: &[(&str, Transport)] = &[("tcp", Transport::Tcp), ("udp", Transport::Udp)];

/// Validates the `nameserver:` section at `path`, or with `listed` (the
/// zones taken by earlier items) an item of `nameservers:`, which must list
/// its zones. The validated key source is handed to `check_key`, whose
/// complaint is reported at the key's field.
pub(super) fn read_nameserver(
    node: &Node,
    path: &str,
    listed: Option<&mut ZonesTaken>,
    check_key: &dyn Fn(&KeySource) -> Result<(), String>,
    report: &mut Report,
) -> Option<Nameserver> {
    let keys = if listed.is_some() {
        LISTED_NAMESERVER_KEYS
    } else {
        NAMESERVER_KEYS
    };
    let table = Table::read(node, path, keys, report)?;
    let zones = listed.map(|taken| read_zones(&table, taken, report));
    let address = table.required(
        "address",
        "give the IP address of the primary nameserver, e.g. 127.0.0.1:53",
        report,
        |node| socket_address(&scalar::non_empty_string(node)?),
    );
    let key = read_key_source(&table, report);
    let transport = table
        .optional("transport", report, |node| {
            scalar::keyword(node, TRANSPORTS)
        })
        .unwrap_or_default();
    let timeout = table
        .optional("timeout", report, scalar::duration)
        .unwrap_or(DEFAULT_NAMESERVER_TIMEOUT);
    if let Some(key) = &key {
        let key_field = if table.get("key_file").is_some() {
            "key_file"
        } else {
            "key"
        };
        if let Err(message) = check_key(key) {
            let position = table
                .get(key_field)
                .map_or(table.position(), |node| node.position);
            report.add(position, &table.field(key_field), message);
        }
    }
    Some(Nameserver {
        address: address?,
        key: key?,
        transport,
        timeout,
        zones: zones.map_or(Some(None), |zones| zones.map(Some))?,
    })
}

/// Exactly one of `key_file` (with optional `key_name`) or an inline `key:` table.
fn read_key_source(table: &Table, report: &mut Report) -> Option<KeySource> {
    let key_name_given = table.get("key_name").is_some();
    match (table.get("key_file"), table.get("key")) {
        (Some(_), Some(inline)) => {
            let message = "give either key_file or key, not both";
            report.add(inline.position, &table.field("key"), message);
            None
        }
        (Some(_), None) => {
            let path = table.optional("key_file", report, scalar::path);
            let name = table.optional("key_name", report, scalar::domain_name);
            if key_name_given && name.is_none() {
                return None;
            }
            Some(KeySource::File { path: path?, name })
        }
        (None, inline) => {
            if let Some(position) = table.key_position("key_name") {
                let message = "only goes with key_file, to pick one key of several in that file";
                report.add(position, &table.field("key_name"), message);
            }
            let Some(inline) = inline else {
                let message = "missing; give key_file (a BIND key file as written by tsig-keygen) \
                               or key: { name, algorithm, secret_file }";
                report.add(table.position(), &table.field("key_file"), message);
                return None;
            };
            read_inline_key(inline, &table.field("key"), report)
        }
    }
}

/// The inline `key: { name, algorithm, secret_file }` table.
fn read_inline_key(node: &Node, path: &str, report: &mut Report) -> Option<KeySource> {
    let table = Table::read(node, path, INLINE_KEY_KEYS, report)?;
    let name = table.required(
        "name",
        "give the key's name as the nameserver knows it",
        report,
        scalar::domain_name,
    );
    let algorithm = table.required(
        "algorithm",
        "give hmac-sha256, hmac-sha384 or hmac-sha512",
        report,
        |node| {
            scalar::string(node)?
                .parse::<TsigAlgorithm>()
                .map_err(|error| error.to_string())
        },
    );
    let secret_file = table.required(
        "secret_file",
        "give the file holding the base64 secret",
        report,
        scalar::path,
    );
    Some(KeySource::Inline {
        name: name?,
        algorithm: algorithm?,
        secret_file: secret_file?,
    })
}

/// `IP`, `IP:PORT`, `[IPv6]:PORT`, `[IPv6]` or a bare IPv6 address; port 53 by default.
pub(super) fn socket_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_DNS_PORT));
    }
    let (host, port) = split_host_port(text);
    let host_ip = host
        .parse::<IpAddr>()
        .map_err(|_| not_an_ip_address(host))?;
    let port = match port {
        None => DEFAULT_DNS_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => {
                return Err(format!(
                    "port {port:?} must be a number between 1 and 65535"
                ))
            }
        },
    };
    Ok(SocketAddr::new(host_ip, port))
}

/// Why `host` is no IP address: a malformed literal, or a name the agent will not resolve.
fn not_an_ip_address(host: &str) -> String {
    let forms = "write IP, IP:PORT or [IPv6]:PORT, e.g. 192.0.2.53 or [2001:db8::53]:53";
    let looks_like_ipv4 = host.chars().all(|c| c.is_ascii_digit() || c == '.');
    if looks_like_ipv4 || host.contains(':') {
        format!("{host:?} is not a valid IP address: {forms}")
    } else {
        format!("{host:?} must be an IP address; the agent does not resolve names: {forms}")
    }
}

/// Splits `[host]:port`, `[host]`, `host:port` (one colon) or `host`.
fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, tail)) => (host, Some(tail.strip_prefix(':').unwrap_or(tail))),
            None => (text, None),
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (text, None),
    }
}
