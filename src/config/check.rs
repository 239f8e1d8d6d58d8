//! A `check:` table: how each address is probed.
//!
//! A record's `check` replaces `defaults.check` as a whole; fields are never
//! merged between the two.

use rustls::pki_types::ServerName;

use super::node::Node;
use super::report::{item_path, Report};
use super::scalar;
use super::table::Table;
use super::{CheckSpec, HttpCheck, HttpScheme};

/// Keys of a `check:` table.
pub(super) const CHECK_KEYS: &[&str] = &[
    "type",
    "port",
    "path",
    "host",
    "expect_status",
    "expect_body",
    "tls_verify",
    "tls_server_name",
    "tls_ca_file",
];
/// Keys that only HTTP and HTTPS checks take.
const HTTP_KEYS: &[&str] = &["path", "host", "expect_status", "expect_body"];
/// Keys that only HTTPS checks take.
const HTTPS_KEYS: &[&str] = &["tls_verify", "tls_server_name", "tls_ca_file"];
/// Port of an `http` check when none is given.
pub const DEFAULT_HTTP_PORT: u16 = 80;
/// Port of an `https` check when none is given.
pub const DEFAULT_HTTPS_PORT: u16 = 443;
/// Path of an HTTP(S) check when none is given.
pub const DEFAULT_HTTP_PATH: &str = "/";
/// Status codes that count as success when `expect_status` is not given.
pub const DEFAULT_EXPECT_STATUS: &[u16] = &[200];

/// The kind of check named by `type:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckType {
    Tcp,
    Http(HttpScheme),
}

const CHECK_TYPES: &[(&str, CheckType)] = &[
    ("tcp", CheckType::Tcp),
    ("http", CheckType::Http(HttpScheme::Http)),
    ("https", CheckType::Http(HttpScheme::Https)),
];

/// Validates the `check:` table at `path`.
pub(super) fn read_check(node: &Node, path: &str, report: &mut Report) -> Option<CheckSpec> {
    let table = Table::read(node, path, CHECK_KEYS, report)?;
    let check_type = table.required("type", "give tcp, http or https", report, |node| {
        scalar::keyword(node, CHECK_TYPES)
    })?;
    refuse_keys_of_other_types(&table, check_type, report);
    match check_type {
        CheckType::Tcp => {
            let hint = "a tcp check needs the port to connect to";
            let port = table.required("port", hint, report, port)?;
            Some(CheckSpec::Tcp { port })
        }
        CheckType::Http(scheme) => read_http_check(&table, scheme, report).map(CheckSpec::Http),
    }
}

/// Reports keys that the check's type does not take.
fn refuse_keys_of_other_types(table: &Table, check_type: CheckType, report: &mut Report) {
    let mut refuse = |keys: &[&str], types: &str| {
        for key in keys {
            if let Some(position) = table.key_position(key) {
                report.add(
                    position,
                    &table.field(key),
                    format!("only for type {types}"),
                );
            }
        }
    };
    if check_type == CheckType::Tcp {
        refuse(HTTP_KEYS, "http or https");
    }
    if check_type != CheckType::Http(HttpScheme::Https) {
        refuse(HTTPS_KEYS, "https");
    }
}

/// The fields of an `http` or `https` check, with their defaults.
fn read_http_check(table: &Table, scheme: HttpScheme, report: &mut Report) -> Option<HttpCheck> {
    let is_https = scheme == HttpScheme::Https;
    let default_port = if is_https {
        DEFAULT_HTTPS_PORT
    } else {
        DEFAULT_HTTP_PORT
    };
    let port = table.parse("port", report, port);
    let path = table.parse("path", report, request_path);
    let host = table.parse("host", report, host_header);
    let expect_status = read_expect_status(table, report);
    let expect_body = table.parse("expect_body", report, scalar::non_empty_string);
    let (mut tls_verify, mut tls_server_name, mut tls_ca_file) = (Ok(None), Ok(None), Ok(None));
    if is_https {
        tls_verify = table.parse("tls_verify", report, scalar::boolean);
        tls_server_name = table.parse("tls_server_name", report, server_name);
        tls_ca_file = table.parse("tls_ca_file", report, scalar::path);
    }
    Some(HttpCheck {
        scheme,
        port: port.ok()?.unwrap_or(default_port),
        path: path.ok()?.unwrap_or_else(|| DEFAULT_HTTP_PATH.to_string()),
        host: host.ok()?,
        expect_status: expect_status?,
        expect_body: expect_body.ok()?,
        tls_verify: tls_verify.ok()?.unwrap_or(true),
        tls_server_name: tls_server_name.ok()?,
        tls_ca_file: tls_ca_file.ok()?,
    })
}

/// `expect_status`: a non-empty list of status codes, `[200]` when not given.
fn read_expect_status(table: &Table, report: &mut Report) -> Option<Vec<u16>> {
    let Some(node) = table.get("expect_status") else {
        return Some(DEFAULT_EXPECT_STATUS.to_vec());
    };
    let field = table.field("expect_status");
    let Ok(items) = scalar::sequence(node) else {
        let message = format!(
            "expected a list of status codes such as [200, 204], found {}",
            node.describe()
        );
        report.add(node.position, &field, message);
        return None;
    };
    if items.is_empty() {
        report.add(
            node.position,
            &field,
            "must list at least one status code, e.g. [200]",
        );
        return None;
    }
    let mut codes = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match scalar::integer(item, 100u16, 599) {
            Ok(code) => codes.push(code),
            Err(message) => report.add(item.position, &item_path(&field, index), message),
        }
    }
    (codes.len() == items.len()).then_some(codes)
}

/// A TCP port, 1 to 65535.
fn port(node: &Node) -> Result<u16, String> {
    scalar::integer(node, 1u16, u16::MAX)
}

/// An absolute request path such as `/health` or `/status?full=1`.
fn request_path(node: &Node) -> Result<String, String> {
    let path = scalar::string(node)?;
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{path:?} is not a request path: it must start with / and hold no spaces, e.g. /health"
        ));
    }
    Ok(path.to_string())
}

/// A Host header value: a name or address, optionally with `:port`.
fn host_header(node: &Node) -> Result<String, String> {
    let host = scalar::non_empty_string(node)?;
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(format!(
            "{host:?} is not a host: give a name such as www.example.test, without spaces or /"
        ));
    }
    Ok(host)
}

/// A TLS server name: a DNS name or an IP address.
fn server_name(node: &Node) -> Result<String, String> {
    let name = scalar::non_empty_string(node)?;
    ServerName::try_from(name.as_str()).map_err(|_| {
        format!("{name:?} is not a valid TLS server name (a DNS name or IP address)")
    })?;
    Ok(name)
}
