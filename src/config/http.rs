//! The optional `http:` section: where the read-only status listener binds.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::node::{Node, Value};
use super::report::Report;
use super::scalar;
use super::table::Table;
use super::HttpListener;

/// Keys of the `http:` section.
pub(super) const HTTP_KEYS: &[&str] = &["listen", "allow_remote"];
/// The address a bare port in `listen:` binds: loopback only.
pub const DEFAULT_HTTP_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The forms `listen:` takes, for messages.
const LISTEN_FORMS: &str =
    "write IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:9153 or [::1]:9153, or a bare port such as 9153";

/// Validates the `http:` section at `path`.
pub(super) fn read_http(node: &Node, path: &str, report: &mut Report) -> Option<HttpListener> {
    let table = Table::read(node, path, HTTP_KEYS, report)?;
    let listen = table.required(
        "listen",
        "give the address to serve /status and /metrics on, e.g. 127.0.0.1:9153",
        report,
        listen_address,
    );
    let allow_remote = table
        .parse("allow_remote", report, scalar::boolean)
        .map(Option::unwrap_or_default);
    let (listen, allow_remote) = (listen?, allow_remote.ok()?);
    if !listen.ip().is_loopback() && !allow_remote {
        let message = format!(
            "{} is not a loopback address, and the status endpoints have no authentication: \
             set allow_remote: true to serve them to other hosts (behind a firewall or a \
             reverse proxy), or listen on 127.0.0.1 or [::1]",
            listen.ip()
        );
        let position = table
            .get("listen")
            .map_or(table.position(), |node| node.position);
        report.add(position, &table.field("listen"), message);
        return None;
    }
    Some(HttpListener {
        listen,
        allow_remote,
    })
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare port (an integer) on [`DEFAULT_HTTP_ADDRESS`].
/// Port 0 lets the system pick a free port; the agent logs the one it got.
fn listen_address(node: &Node) -> Result<SocketAddr, String> {
    if let Value::Integer(_) = node.value {
        let port = scalar::integer(node, 0u16, u16::MAX)?;
        return Ok(SocketAddr::new(DEFAULT_HTTP_ADDRESS, port));
    }
    let text = match &node.value {
        Value::String(text) => text,
        _ => {
            return Err(format!(
                "expected IP:PORT or a port, found {}",
                node.describe()
            ))
        }
    };
    if text.parse::<IpAddr>().is_ok() {
        return Err(format!("{text:?} has no port: {LISTEN_FORMS}"));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        if text.bytes().all(|byte| byte.is_ascii_digit()) {
            format!("{text:?} is a string: write the port without quotes, e.g. listen: {text}")
        } else {
            format!("{text:?} is not an address with a port: {LISTEN_FORMS}")
        }
    })
}
