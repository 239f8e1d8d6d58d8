//! The validated configuration the rest of the agent works from.
//!
//! Every value here has been checked: names are fully qualified, lists are
//! non-empty, durations are positive. Defaults from the `defaults:` section
//! are already applied to each record.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::vocabulary::{serving_primary, Family, KeySource, Transport};

/// The whole configuration file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The primary nameservers that accept UPDATEs, in file order; never
    /// empty. The single `nameserver:` form gives one that serves every zone.
    pub nameservers: Vec<Nameserver>,
    /// The failover records, in file order.
    pub records: Vec<Record>,
    /// The read-only status listener; `None` (no `http:` section) means off.
    pub http: Option<HttpListener>,
    /// Where events are delivered besides the log (nowhere when absent).
    pub notify: super::Notify,
    /// Following each update to the zone's other nameservers.
    pub propagation: Propagation,
    /// The local control socket and the state file of overrides.
    pub control: Control,
}

impl Config {
    /// How many addresses are checked: every address of every server of every record.
    pub fn address_count(&self) -> usize {
        self.records
            .iter()
            .flat_map(|record| &record.servers)
            .map(|server| server.addresses.len())
            .sum()
    }

    /// How many checks run: one per check of every address.
    pub fn check_count(&self) -> usize {
        self.records
            .iter()
            .flat_map(|record| {
                record
                    .servers
                    .iter()
                    .map(|server| server.addresses.len() * record.checks_of(server).len())
            })
            .sum()
    }

    /// The index of the primary that serves `name` (see [`serving_primary`]);
    /// `None` only for a name no record of a valid configuration has.
    pub fn nameserver_index(&self, name: &Name) -> Option<usize> {
        serving_primary(self.nameservers.iter().map(|ns| ns.zones.as_deref()), name)
    }

    /// The primary that serves `name`, as [`Config::nameserver_index`] says.
    pub fn nameserver_for(&self, name: &Name) -> Option<&Nameserver> {
        self.nameserver_index(name)
            .and_then(|index| self.nameservers.get(index))
    }
}

/// The primary nameserver and how to talk to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Nameserver {
    /// Address and port of the primary (port 53 when the file gives none).
    pub address: SocketAddr,
    /// Where the TSIG key comes from.
    pub key: KeySource,
    /// TCP (default: RFC 2136 §7.8, only TCP gives an accurate response code) or UDP.
    pub transport: Transport,
    /// Time allowed for one request to the nameserver.
    pub timeout: Duration,
    /// The zones it serves (`nameservers[].zones`, fully qualified); `None`
    /// (the single `nameserver:` form): every zone.
    pub zones: Option<Vec<Name>>,
}

/// Where the read-only HTTP listener (`/`, `/status`, `/metrics`) binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpListener {
    /// Address and port; port 0 lets the system pick one.
    pub listen: SocketAddr,
    /// Whether a non-loopback `listen` address was allowed explicitly.
    pub allow_remote: bool,
}

/// The local control socket (`dnsfailover drain`, `pin`, ...) and where
/// the overrides it sets are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// The Unix socket's path; created with mode 0660.
    pub socket: PathBuf,
    /// The group the socket is given, whose members may use it; `None`: the
    /// agent's own group.
    pub group: Option<String>,
    /// The JSON file the overrides are kept in across restarts.
    pub state_file: PathBuf,
}

/// Following each update until every other nameserver of the zone serves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Propagation {
    /// Whether updates are followed at all (default true).
    pub enabled: bool,
    /// The nameservers to follow; `None` means the addresses of each zone's
    /// NS RRset, without the primary itself.
    pub nameservers: Option<Vec<SocketAddr>>,
    /// How long a nameserver may take before it counts as lagging.
    pub lagging_after: Duration,
    /// Sign the queries with the agent's key (default: unsigned, as
    /// secondaries usually answer anyone).
    pub signed: bool,
}

/// One name whose A/AAAA RRsets follow the health of its servers.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Fully qualified owner name, e.g. `www.example.test.`.
    pub name: Name,
    /// The zone the name lives in; `None` means: find it with an SOA query.
    pub zone: Option<Name>,
    /// TTL of the published records, in seconds.
    pub ttl: u32,
    /// TTL while the record does not publish its first server (failed over,
    /// pinned elsewhere, or all down); `None`: the TTL always.
    pub failover_ttl: Option<u32>,
    /// Servers in order of preference; never empty; every server has at least one address.
    pub servers: Vec<Server>,
    /// The checks every address must pass to be up, each with its own
    /// timing; never empty, labels unique. A server's own `checks` replace
    /// these for its addresses (see [`Record::checks_of`]).
    pub checks: Vec<Check>,
    /// What to publish when every server of a family is down.
    pub when_all_down: AllDownPolicy,
    /// Overwrite RRsets that hold addresses not in this configuration.
    pub takeover: bool,
    /// Whether traffic goes back to a preferred server on its own.
    pub failback: FailbackPolicy,
    /// One server at a time, or every one that is up.
    pub mode: PoolMode,
    /// With `mode: all`, the most addresses published per family.
    pub max_addresses: usize,
}

impl Record {
    /// The checks the addresses of `server` must pass: the server's own,
    /// or the record's.
    pub fn checks_of<'a>(&'a self, server: &'a Server) -> &'a [Check] {
        server.checks.as_deref().unwrap_or(&self.checks)
    }

    /// The record's first check: its only one in the common case of `check:`.
    pub fn first_check(&self) -> &Check {
        &self.checks[0]
    }

    /// The TTL to publish the server at `chosen` (its index among the
    /// servers with addresses of the family) with; `all_down` when every
    /// one is down.
    pub fn ttl_for(&self, chosen: usize, all_down: bool) -> u32 {
        self.ttl_when(chosen != 0 || all_down)
    }

    /// The TTL to publish with: `failover_ttl` (if set) while `degraded`,
    /// i.e. while the record does not publish what it would with every
    /// server up.
    pub fn ttl_when(&self, degraded: bool) -> u32 {
        match self.failover_ttl {
            Some(failover_ttl) if degraded => failover_ttl,
            _ => self.ttl,
        }
    }

    /// True when some server of the record has an address of `family`: the
    /// record's RRset of that family is the agent's to manage.
    pub fn manages(&self, family: Family) -> bool {
        self.servers
            .iter()
            .flat_map(|server| &server.addresses)
            .any(|address| Family::of(address) == family)
    }

    /// The servers publishing `addresses`: the one that has all of them,
    /// or, for a `mode: all` record, every one that has some.
    pub fn servers_publishing(&self, addresses: &[IpAddr]) -> Vec<&Server> {
        match self.mode {
            PoolMode::All => self.servers_holding(addresses),
            PoolMode::Failover => self.server_owning(addresses).into_iter().collect(),
        }
    }

    /// The servers, in list order, that have some of `addresses`.
    pub fn servers_holding(&self, addresses: &[IpAddr]) -> Vec<&Server> {
        self.servers
            .iter()
            .filter(|server| server.addresses.iter().any(|a| addresses.contains(a)))
            .collect()
    }

    /// The first server that has every one of `addresses` (`None` for none
    /// or for an empty list).
    pub fn server_owning(&self, addresses: &[IpAddr]) -> Option<&Server> {
        if addresses.is_empty() {
            return None;
        }
        self.servers
            .iter()
            .find(|server| addresses.iter().all(|a| server.addresses.contains(a)))
    }
}

/// One server that can take a record's traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// A label for logs and `plan` output, unique within the record.
    pub name: String,
    /// Its addresses, IPv4 and/or IPv6; never empty, no duplicates.
    pub addresses: Vec<IpAddr>,
    /// Checks of its own replacing the record's for its addresses; `None`:
    /// the record's.
    pub checks: Option<Vec<Check>>,
}

/// One check an address must pass, with its own timing.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// A label unique among the checks of a record or server, e.g.
    /// `https:443` or the check's `name:`; names the check in status and logs.
    pub label: String,
    /// How the check probes an address.
    pub spec: CheckSpec,
    /// Its interval, timeout and rise/fall thresholds.
    pub timing: Timing,
}

impl Check {
    /// True when `other` is the same check: same label and spec (its timing
    /// may differ). What is known of a check survives a reload only then.
    pub fn same_as(&self, other: &Check) -> bool {
        self.label == other.label && self.spec == other.spec
    }
}

/// How often and how patiently an address is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Time between the starts of two checks of a healthy address.
    pub interval: Duration,
    /// Time one check may take before it counts as failed.
    pub timeout: Duration,
    /// Consecutive failures before an address is down (at least 1).
    pub fall: u32,
    /// Consecutive successes before an address is up again (at least 1).
    pub rise: u32,
}

/// What to publish when no server of a family is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllDownPolicy {
    /// Leave DNS as it is and report loudly (default).
    #[default]
    Keep,
    /// Publish the first server's addresses.
    First,
}

/// How many servers a record publishes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolMode {
    /// The first server that is up, in list order (default).
    #[default]
    Failover,
    /// Every server that is up, in list order, up to `max_addresses`.
    All,
}

/// What happens when a server earlier in the list is up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailbackPolicy {
    /// Traffic goes back to it at once (default).
    #[default]
    Auto,
    /// The record stays on the server it failed over to until an operator
    /// runs `dnsfailover failback RECORD`, or until that server fails.
    Manual,
}

/// A health check.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckSpec {
    /// Success when a TCP connection to the port is accepted.
    Tcp { port: u16 },
    /// An HTTP or HTTPS GET.
    Http(HttpCheck),
    /// A DNS query whose answer must match.
    Dns(DnsCheck),
    /// A TCP connection and a TLS handshake.
    Tls(TlsCheck),
    /// An SMTP conversation up to QUIT.
    Smtp(SmtpCheck),
    /// The operator's own program.
    Exec(ExecCheck),
}

/// HTTP or HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpScheme {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS.
    Https,
}

/// An HTTP(S) GET whose answer must match.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheck {
    /// `http` or `https`.
    pub scheme: HttpScheme,
    /// TCP port.
    pub port: u16,
    /// Absolute path with optional query, e.g. `/health`.
    pub path: String,
    /// Host header; `None` means the record name without its trailing dot.
    pub host: Option<String>,
    /// Status codes that count as success; never empty (default `[200]`).
    pub expect_status: Vec<u16>,
    /// A substring the body must contain (only the first [`MAX_BODY_BYTES`] are read).
    pub expect_body: Option<String>,
    /// HTTPS: verify the certificate chain and name (default true).
    pub tls_verify: bool,
    /// HTTPS: server name for SNI and verification; `None` means the Host header's value.
    pub tls_server_name: Option<String>,
    /// HTTPS: PEM file of extra trusted CA certificates (added to the system roots).
    pub tls_ca_file: Option<PathBuf>,
    /// HTTPS: warn when the certificate expires within this many days.
    pub expiry_warning_days: Option<u32>,
}

/// The operator's own program, run per check with the address in its
/// environment; exit status 0 means up.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecCheck {
    /// The program (an absolute path) and its arguments.
    pub argv: Vec<String>,
    /// A port handed to the program in `DNSFAILOVER_PORT`, if given.
    pub port: Option<u16>,
}

/// An SMTP conversation: greeting, EHLO, optionally STARTTLS, QUIT.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpCheck {
    /// TCP port (default 25).
    pub port: u16,
    /// The name the check introduces itself with in EHLO (default: this host's name).
    pub ehlo_name: String,
    /// Whether to require STARTTLS and a TLS handshake (default false).
    pub starttls: bool,
    /// With STARTTLS: verify the certificate chain and name (default true).
    pub tls_verify: bool,
    /// With STARTTLS: the server name verified; `None` means the record name.
    pub tls_server_name: Option<String>,
    /// With STARTTLS: PEM file of extra trusted CA certificates.
    pub tls_ca_file: Option<PathBuf>,
    /// With STARTTLS: warn when the certificate expires within this many days.
    pub expiry_warning_days: Option<u32>,
}

/// A TCP connection and a TLS handshake, whatever protocol runs on top.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsCheck {
    /// TCP port.
    pub port: u16,
    /// Verify the certificate chain and name (default true).
    pub tls_verify: bool,
    /// Server name for SNI and verification; `None` means the record name.
    pub tls_server_name: Option<String>,
    /// PEM file of extra trusted CA certificates (added to the system roots).
    pub tls_ca_file: Option<PathBuf>,
    /// Warn when the certificate expires within this many days.
    pub expiry_warning_days: Option<u32>,
}

/// A DNS query sent to the address (UDP, again over TCP when the answer is
/// truncated), for checking an authoritative server or a resolver.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsCheck {
    /// UDP and TCP port (default 53).
    pub port: u16,
    /// The name asked for.
    pub query_name: Name,
    /// The type asked for (default A).
    pub query_type: RecordType,
    /// The response code that counts as up (default NOERROR).
    pub expect_rcode: ResponseCode,
    /// A value one answer record of the asked type must have, if given:
    /// an address, a name, or a TXT record's text.
    pub expect_answer: Option<String>,
    /// Whether the query asks for recursion (the RD bit; default false).
    pub recursion_desired: bool,
}

/// How much of an HTTP body a check reads at most.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
