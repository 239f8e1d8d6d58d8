//! A `check:` table: how each address is probed.
//!
//! A record's `check` replaces `defaults.check` as a whole; fields are never
//! merged between the two.

use std::str::FromStr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use rustls::pki_types::ServerName;

use super::nameserver::DEFAULT_DNS_PORT;
use super::node::Node;
use super::report::{item_path, Report};
use super::scalar;
use super::table::Table;
use super::{CheckSpec, DnsCheck, ExecCheck, HttpCheck, HttpScheme, SmtpCheck, TlsCheck};

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
    "expiry_warning_days",
    "query_name",
    "query_type",
    "expect_rcode",
    "expect_answer",
    "recursion_desired",
    "ehlo_name",
    "starttls",
    "run",
];
/// Keys that only HTTP and HTTPS checks take.
const HTTP_KEYS: &[&str] = &["path", "host", "expect_status", "expect_body"];
/// Keys that only HTTPS, TLS and SMTP checks take.
const TLS_KEYS: &[&str] = &[
    "tls_verify",
    "tls_server_name",
    "tls_ca_file",
    "expiry_warning_days",
];
/// Keys that only DNS checks take.
const DNS_KEYS: &[&str] = &[
    "query_name",
    "query_type",
    "expect_rcode",
    "expect_answer",
    "recursion_desired",
];
/// Keys that only exec checks take.
const EXEC_KEYS: &[&str] = &["run"];
/// Keys that only SMTP checks take.
const SMTP_KEYS: &[&str] = &["ehlo_name", "starttls"];
/// Port of an `smtp` check when none is given.
pub const DEFAULT_SMTP_PORT: u16 = 25;
/// Port of an `http` check when none is given.
pub const DEFAULT_HTTP_PORT: u16 = 80;
/// Port of an `https` check when none is given.
pub const DEFAULT_HTTPS_PORT: u16 = 443;
/// Path of an HTTP(S) check when none is given.
pub const DEFAULT_HTTP_PATH: &str = "/";
/// Status codes that count as success when `expect_status` is not given.
pub const DEFAULT_EXPECT_STATUS: &[u16] = &[200];
/// The type a DNS check asks for when `query_type` is not given.
pub const DEFAULT_QUERY_TYPE: RecordType = RecordType::A;
/// The response codes a DNS check may expect, by name.
const RESPONSE_CODES: &[(&str, ResponseCode)] = &[
    ("NOERROR", ResponseCode::NoError),
    ("FORMERR", ResponseCode::FormErr),
    ("SERVFAIL", ResponseCode::ServFail),
    ("NXDOMAIN", ResponseCode::NXDomain),
    ("NOTIMP", ResponseCode::NotImp),
    ("REFUSED", ResponseCode::Refused),
];

/// The kind of check named by `type:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckType {
    Tcp,
    Http(HttpScheme),
    Dns,
    Tls,
    Smtp,
    Exec,
}

const CHECK_TYPES: &[(&str, CheckType)] = &[
    ("tcp", CheckType::Tcp),
    ("http", CheckType::Http(HttpScheme::Http)),
    ("https", CheckType::Http(HttpScheme::Https)),
    ("dns", CheckType::Dns),
    ("tls", CheckType::Tls),
    ("smtp", CheckType::Smtp),
    ("exec", CheckType::Exec),
];

/// Validates the `check:` table at `path`.
pub(super) fn read_check(node: &Node, path: &str, report: &mut Report) -> Option<CheckSpec> {
    let table = Table::read(node, path, CHECK_KEYS, report)?;
    read_check_of(&table, report)
}

/// The check a table read with (at least) [`CHECK_KEYS`] describes.
pub(super) fn read_check_of(table: &Table, report: &mut Report) -> Option<CheckSpec> {
    let check_type = table.required(
        "type",
        "give tcp, http, https, tls, smtp, dns or exec",
        report,
        |node| scalar::keyword(node, CHECK_TYPES),
    )?;
    refuse_keys_of_other_types(table, check_type, report);
    match check_type {
        CheckType::Tcp => {
            let hint = "a tcp check needs the port to connect to";
            let port = table.required("port", hint, report, port)?;
            Some(CheckSpec::Tcp { port })
        }
        CheckType::Http(scheme) => read_http_check(table, scheme, report).map(CheckSpec::Http),
        CheckType::Dns => read_dns_check(table, report).map(CheckSpec::Dns),
        CheckType::Tls => read_tls_check(table, report).map(CheckSpec::Tls),
        CheckType::Smtp => read_smtp_check(table, report).map(CheckSpec::Smtp),
        CheckType::Exec => {
            let hint = "an exec check needs the program to run, e.g. run: [/usr/local/bin/check-db, --quick]";
            let argv = table.required("run", hint, report, scalar::command);
            let port = table.parse("port", report, port);
            Some(CheckSpec::Exec(ExecCheck {
                argv: argv?,
                port: port.ok()?,
            }))
        }
    }
}

/// The label a check goes by when it is given no `name:`: its type and
/// port, e.g. `https:443` or `tcp:25` (`exec` alone for a program given
/// no port).
pub fn default_label(spec: &CheckSpec) -> String {
    let (kind, port) = match spec {
        CheckSpec::Tcp { port } => ("tcp", Some(*port)),
        CheckSpec::Http(http) => match http.scheme {
            HttpScheme::Http => ("http", Some(http.port)),
            HttpScheme::Https => ("https", Some(http.port)),
        },
        CheckSpec::Dns(dns) => ("dns", Some(dns.port)),
        CheckSpec::Tls(tls) => ("tls", Some(tls.port)),
        CheckSpec::Smtp(smtp) => ("smtp", Some(smtp.port)),
        CheckSpec::Exec(exec) => ("exec", exec.port),
    };
    match port {
        Some(port) => format!("{kind}:{port}"),
        None => kind.to_string(),
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
    if !matches!(check_type, CheckType::Http(_)) {
        refuse(HTTP_KEYS, "http or https");
    }
    if check_type != CheckType::Dns {
        refuse(DNS_KEYS, "dns");
    }
    if check_type != CheckType::Smtp {
        refuse(SMTP_KEYS, "smtp");
    }
    if check_type != CheckType::Exec {
        refuse(EXEC_KEYS, "exec");
    }
    let takes_tls = matches!(
        check_type,
        CheckType::Http(HttpScheme::Https) | CheckType::Tls | CheckType::Smtp
    );
    if !takes_tls {
        refuse(TLS_KEYS, "https, tls or smtp");
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
    let tls = if is_https {
        read_tls_settings(table, report)
    } else {
        Some(TlsSettings::default())
    };
    let tls = tls?;
    Some(HttpCheck {
        scheme,
        port: port.ok()?.unwrap_or(default_port),
        path: path.ok()?.unwrap_or_else(|| DEFAULT_HTTP_PATH.to_string()),
        host: host.ok()?,
        expect_status: expect_status?,
        expect_body: expect_body.ok()?,
        tls_verify: tls.verify,
        tls_server_name: tls.server_name,
        tls_ca_file: tls.ca_file,
        expiry_warning_days: tls.expiry_warning_days,
    })
}

/// The TLS keys of an `https` or `tls` check.
struct TlsSettings {
    verify: bool,
    server_name: Option<String>,
    ca_file: Option<std::path::PathBuf>,
    expiry_warning_days: Option<u32>,
}

impl Default for TlsSettings {
    fn default() -> TlsSettings {
        TlsSettings {
            verify: true,
            server_name: None,
            ca_file: None,
            expiry_warning_days: None,
        }
    }
}

/// Reads the TLS keys, with their defaults.
fn read_tls_settings(table: &Table, report: &mut Report) -> Option<TlsSettings> {
    let verify = table.parse("tls_verify", report, scalar::boolean);
    let server_name = table.parse("tls_server_name", report, server_name);
    let ca_file = table.parse("tls_ca_file", report, scalar::path);
    let expiry_warning_days = table.parse("expiry_warning_days", report, |node| {
        scalar::integer(node, 1u32, 3650)
    });
    Some(TlsSettings {
        verify: verify.ok()?.unwrap_or(true),
        server_name: server_name.ok()?,
        ca_file: ca_file.ok()?,
        expiry_warning_days: expiry_warning_days.ok()?,
    })
}

/// The fields of a `tls` check, with their defaults.
fn read_tls_check(table: &Table, report: &mut Report) -> Option<TlsCheck> {
    let hint = "a tls check needs the port to connect to, e.g. port: 443";
    let port = table.required("port", hint, report, port);
    let tls = read_tls_settings(table, report);
    let tls = tls?;
    Some(TlsCheck {
        port: port?,
        tls_verify: tls.verify,
        tls_server_name: tls.server_name,
        tls_ca_file: tls.ca_file,
        expiry_warning_days: tls.expiry_warning_days,
    })
}

/// The fields of a `dns` check, with their defaults.
fn read_dns_check(table: &Table, report: &mut Report) -> Option<DnsCheck> {
    let hint = "a dns check needs the name to ask for, e.g. query_name: example.com";
    let query_name = table.required("query_name", hint, report, scalar::domain_name);
    let port = table.parse("port", report, port);
    let query_type = table.parse("query_type", report, query_type);
    let expect_rcode = table.parse("expect_rcode", report, |node| {
        scalar::keyword(node, RESPONSE_CODES)
    });
    let expect_answer = table.parse("expect_answer", report, scalar::non_empty_string);
    let recursion_desired = table.parse("recursion_desired", report, scalar::boolean);
    Some(DnsCheck {
        port: port.ok()?.unwrap_or(DEFAULT_DNS_PORT),
        query_name: query_name?,
        query_type: query_type.ok()?.unwrap_or(DEFAULT_QUERY_TYPE),
        expect_rcode: expect_rcode.ok()?.unwrap_or(ResponseCode::NoError),
        expect_answer: expect_answer.ok()?,
        recursion_desired: recursion_desired.ok()?.unwrap_or(false),
    })
}

/// A record type a query may ask for, such as A, AAAA, SOA or TXT; not a
/// meta type (ANY, AXFR, OPT, TSIG, ...), which asks for no data.
fn query_type(node: &Node) -> Result<RecordType, String> {
    let text = scalar::non_empty_string(node)?;
    let upper = text.to_ascii_uppercase();
    let refused = || {
        format!("{text:?} is not a record type to ask for: give a data type such as A, AAAA, SOA, NS, MX or TXT")
    };
    match RecordType::from_str(&upper) {
        Ok(
            RecordType::ANY
            | RecordType::AXFR
            | RecordType::IXFR
            | RecordType::OPT
            | RecordType::TSIG
            | RecordType::SIG
            | RecordType::NULL
            | RecordType::ZERO
            | RecordType::Unknown(_),
        )
        | Err(_) => Err(refused()),
        Ok(record_type) => Ok(record_type),
    }
}

/// The fields of an `smtp` check, with their defaults. The TLS keys take
/// effect only with STARTTLS, so they are refused without it.
fn read_smtp_check(table: &Table, report: &mut Report) -> Option<SmtpCheck> {
    let port = table.parse("port", report, port);
    let ehlo_name = table.parse("ehlo_name", report, scalar::domain_name);
    let starttls = table.parse("starttls", report, scalar::boolean);
    let tls = read_tls_settings(table, report);
    let starttls = starttls.ok()?.unwrap_or(false);
    if !starttls {
        for key in TLS_KEYS {
            if let Some(position) = table.key_position(key) {
                report.add(
                    position,
                    &table.field(key),
                    "takes effect only with starttls: true",
                );
            }
        }
    }
    let tls = tls?;
    let ehlo_name = match ehlo_name.ok()? {
        Some(name) => name.to_ascii().trim_end_matches('.').to_owned(),
        None => default_ehlo_name(),
    };
    Some(SmtpCheck {
        port: port.ok()?.unwrap_or(DEFAULT_SMTP_PORT),
        ehlo_name,
        starttls,
        tls_verify: tls.verify,
        tls_server_name: tls.server_name,
        tls_ca_file: tls.ca_file,
        expiry_warning_days: tls.expiry_warning_days,
    })
}

/// This host's name for EHLO, or `localhost` when it has none that
/// could be a domain name.
fn default_ehlo_name() -> String {
    let name = rustix::system::uname();
    let name = name.nodename().to_string_lossy();
    let usable = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if usable {
        name.into_owned()
    } else {
        "localhost".to_owned()
    }
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
