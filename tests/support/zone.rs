//! Zones served by a test server and the update permissions attached to them.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// TTL of the records the harness adds to every zone.
const HARNESS_TTL: u32 = 300;

/// Owner (relative to the zone) of the nonce TXT record checked at start-up.
pub const NONCE_OWNER: &str = "_harness";

/// Owner (relative to the zone) of the zone's name server address record.
const NS_OWNER: &str = "harness-ns";

/// File name of zone number `index` inside a server directory (same for both kinds).
pub fn zone_file_name(index: usize) -> String {
    format!("zone-{index}.db")
}

/// One permission for one key: which names and types it may update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `key` may change A and AAAA records of any name in the zone, apex included.
    ZoneSubAddress {
        /// Name of a key passed to [`super::NameServer::start`].
        key: String,
    },
    /// `key` may change records of exactly `name` with one of `types`; an empty list means any
    /// type the server allows (BIND still excludes SOA, NS and DNSSEC types, Knot does not).
    Name {
        /// Name of a key passed to [`super::NameServer::start`].
        key: String,
        /// Owner name, absolute (`"www.example.test."`) or relative to the zone (`"www"`).
        name: String,
        /// Record types such as `"A"`, `"TXT"`.
        types: Vec<String>,
    },
    /// The key and grant of the operator's snippets, `deploy/bind/dnsfailover.conf` and
    /// `deploy/knot/dnsfailover.conf`: `key` may change A and AAAA of exactly `names`.
    Deployed {
        /// Name of a key passed to [`super::NameServer::start`]; its statement in the
        /// server's configuration comes from the snippet too.
        key: String,
        /// Owner names, absolute or relative to the zone.
        names: Vec<String>,
    },
}

impl Grant {
    /// Name of the key this grant is for.
    pub fn key(&self) -> &str {
        match self {
            Grant::ZoneSubAddress { key }
            | Grant::Name { key, .. }
            | Grant::Deployed { key, .. } => key,
        }
    }
}

/// A zone a test server is primary for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    /// Zone apex with the trailing dot, e.g. `"example.test."`.
    pub origin: String,
    /// Initial SOA serial; pick distinct values so a stale server is never mistaken for this one.
    pub serial: u32,
    /// Zone-file lines, owners relative to the origin or absolute, e.g.
    /// `"www 300 IN A 192.0.2.10"`.
    pub records: Vec<String>,
    /// Who may update what; a zone without grants accepts no update.
    pub grants: Vec<Grant>,
    /// The SOA's MNAME (relative or absolute); the harness's own name server when `None`.
    pub primary: Option<String>,
    /// Secondaries (see [`super::secondary`]) sent a NOTIFY without delay whenever the zone
    /// changes, exactly these and no others; with any, loopback may also transfer the zone
    /// (AXFR, and IXFR from the journal). Empty: no NOTIFY and the servers' default transfer
    /// rules, as for every zone before secondaries existed.
    pub notify: Vec<SocketAddr>,
    /// DNSSEC-signed by the server: BIND with `dnssec-policy default; inline-signing yes;`
    /// (updates go to the unsigned zone, queries are answered from the signed one, whose SOA
    /// serial moves on its own), Knot with `dnssec-signing: on` (signed in place).
    pub signed: bool,
}

impl ZoneSpec {
    /// A zone with the given origin and serial, no records and no grants.
    pub fn new(origin: &str, serial: u32) -> ZoneSpec {
        assert!(
            origin.ends_with('.'),
            "zone origin {origin:?} must be absolute (end with a dot)"
        );
        ZoneSpec {
            origin: origin.to_string(),
            serial,
            records: Vec::new(),
            grants: Vec::new(),
            primary: None,
            notify: Vec::new(),
            signed: false,
        }
    }

    /// Adds a zone-file line.
    pub fn record(mut self, line: &str) -> ZoneSpec {
        self.records.push(line.to_string());
        self
    }

    /// Names another host as the zone's primary in the SOA (its MNAME).
    pub fn primary(mut self, name: &str) -> ZoneSpec {
        self.primary = Some(name.to_string());
        self
    }

    /// Adds a secondary, listening on `secondary`, to notify of every change (and to allow
    /// transfers to): typically [`super::secondary::PendingSecondary::addr`], reserved before
    /// the primary is started.
    pub fn notify(mut self, secondary: SocketAddr) -> ZoneSpec {
        self.notify.push(secondary);
        self
    }

    /// Has the server sign the zone (see [`ZoneSpec::signed`]).
    pub fn signed(mut self) -> ZoneSpec {
        self.signed = true;
        self
    }

    /// Adds a grant.
    pub fn grant(mut self, grant: Grant) -> ZoneSpec {
        self.grants.push(grant);
        self
    }

    /// Makes `name` absolute: kept if it ends with a dot, `@` is the origin, else appended to it.
    pub fn absolute(&self, name: &str) -> String {
        if name.ends_with('.') {
            name.to_string()
        } else if name == "@" {
            self.origin.clone()
        } else {
            format!("{name}.{}", self.origin)
        }
    }

    /// Renders the zone file: SOA, NS and nonce from the harness, then the caller's records.
    pub fn zone_file(&self, nonce: &str) -> String {
        let origin = &self.origin;
        let mut text = format!("$ORIGIN {origin}\n$TTL {HARNESS_TTL}\n");
        let mname = self.primary.as_deref().map_or_else(
            || format!("{NS_OWNER}.{origin}"),
            |name| self.absolute(name),
        );
        let _ = writeln!(
            text,
            "@ {HARNESS_TTL} IN SOA {mname} hostmaster.{origin} {} 3600 600 86400 60",
            self.serial
        );
        let _ = writeln!(text, "@ {HARNESS_TTL} IN NS {NS_OWNER}");
        let _ = writeln!(text, "{NS_OWNER} {HARNESS_TTL} IN A 127.0.0.1");
        let _ = writeln!(text, "{NONCE_OWNER} {HARNESS_TTL} IN TXT \"{nonce}\"");
        for line in &self.records {
            let _ = writeln!(text, "{line}");
        }
        text
    }
}
