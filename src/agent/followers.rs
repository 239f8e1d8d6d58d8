//! The zone's other nameservers as the propagation tracker sees them: who
//! they are, and what each one serves.
//!
//! A trait so that the tracker's tests can script them; the agent uses
//! [`DnsFollowers`], which asks the zone's primary for the NS RRset and
//! queries the followers with [`Lookup`].

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::Name;

use crate::config::{Propagation, DEFAULT_DNS_PORT};
use crate::dns::{Client, DnsError, Lookup, Primaries};
use crate::vocabulary::{AddressRrset, Family};

/// Reads of one RRset in flight at once at one follower.
const READS_AT_ONCE: usize = 8;

/// An RRset as an update left it on the primary.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedRrset {
    /// Its owner name.
    pub name: Name,
    /// A or AAAA.
    pub family: Family,
    /// What the primary publishes now (`None`: no RRset).
    pub rrset: Option<AddressRrset>,
}

/// What a follower served when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its SOA serial.
    pub serial: u32,
    /// Whether it serves every expected RRset; only asked (and `Some`) when
    /// its serial is the one wanted.
    pub rrsets_match: Option<bool>,
}

/// Finds and asks the nameservers that follow the primary.
pub trait Followers: Clone + Send + Sync + 'static {
    /// The primary's SOA serial of `zone` now.
    fn primary_serial(
        &self,
        zone: Name,
    ) -> impl Future<Output = Result<u32, DnsError>> + Send + 'static;

    /// The nameservers to follow for `zone`; the error says why they are unknown.
    fn discover(
        &self,
        zone: Name,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, String>> + Send + 'static;

    /// What `follower` serves of `zone`: its serial and, when that is
    /// `wanted`, whether it serves each of `expected`.
    fn look(
        &self,
        follower: SocketAddr,
        zone: Name,
        wanted: u32,
        expected: Arc<Vec<ExpectedRrset>>,
    ) -> impl Future<Output = Result<Seen, DnsError>> + Send + 'static;
}

/// The real followers: the configured list or the zone's NS RRset.
#[derive(Clone)]
pub struct DnsFollowers {
    primaries: Primaries,
    config: Propagation,
}

impl DnsFollowers {
    /// Followers of the zones of `primaries` as `config` says. Each zone's
    /// questions go to (and its signed lookups use the key of) the zone's
    /// primary, bounded by that primary's timeout.
    pub fn new(primaries: Primaries, config: Propagation) -> DnsFollowers {
        DnsFollowers { primaries, config }
    }

    fn primary(&self, zone: &Name) -> Client {
        self.primaries.for_name(zone).client.clone()
    }

    fn lookup(&self, follower: SocketAddr, zone: &Name) -> Lookup {
        let primary = self.primary(zone);
        let timeout: Duration = primary.timeout();
        if self.config.signed {
            Lookup::signed(follower, timeout, primary.shared_key())
        } else {
            Lookup::unsigned(follower, timeout)
        }
    }
}

impl Followers for DnsFollowers {
    fn primary_serial(
        &self,
        zone: Name,
    ) -> impl Future<Output = Result<u32, DnsError>> + Send + 'static {
        let primary = self.primary(&zone);
        async move { primary.soa_serial(&zone).await }
    }

    fn discover(
        &self,
        zone: Name,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, String>> + Send + 'static {
        let (primary, configured) = (self.primary(&zone), self.config.nameservers.clone());
        async move {
            match configured {
                Some(list) => Ok(list),
                None => ns_addresses(&primary, &zone).await,
            }
        }
    }

    fn look(
        &self,
        follower: SocketAddr,
        zone: Name,
        wanted: u32,
        expected: Arc<Vec<ExpectedRrset>>,
    ) -> impl Future<Output = Result<Seen, DnsError>> + Send + 'static {
        let lookup = self.lookup(follower, &zone);
        async move {
            let serial = lookup.soa_serial(&zone).await?;
            if serial != wanted {
                return Ok(Seen {
                    serial,
                    rrsets_match: None,
                });
            }
            let matches = rrsets_match(&lookup, expected).await?;
            Ok(Seen {
                serial,
                rrsets_match: Some(matches),
            })
        }
    }
}

/// Whether `lookup`'s nameserver serves every one of `expected`, a few
/// reads at a time.
async fn rrsets_match(
    lookup: &Lookup,
    expected: Arc<Vec<ExpectedRrset>>,
) -> Result<bool, DnsError> {
    let mut reads = tokio::task::JoinSet::new();
    let mut pending = 0..expected.len();
    loop {
        while reads.len() < READS_AT_ONCE {
            let Some(index) = pending.next() else { break };
            let (lookup, expected) = (lookup.clone(), expected.clone());
            reads.spawn(async move {
                let wanted = &expected[index];
                let served = lookup.read_rrset(&wanted.name, wanted.family).await?;
                Ok::<bool, DnsError>(served == wanted.rrset)
            });
        }
        let Some(done) = reads.join_next().await else {
            return Ok(true);
        };
        if !done.expect("a read never panics")? {
            return Ok(false);
        }
    }
}

/// The addresses of the zone's NS hosts, port 53, without the primary's
/// own address (its read-back already shows it serves the update). Hosts
/// inside the zone are resolved at the primary, others with the system
/// resolver.
async fn ns_addresses(primary: &Client, zone: &Name) -> Result<Vec<SocketAddr>, String> {
    let hosts = primary
        .nameserver_names(zone)
        .await
        .map_err(|error| format!("cannot read the NS RRset of {zone}: {error}"))?;
    let mut addresses: Vec<SocketAddr> = Vec::new();
    let mut problems = Vec::new();
    for host in hosts {
        let found: Result<Vec<IpAddr>, String> = if zone.zone_of(&host) {
            primary
                .addresses_of(&host)
                .await
                .map_err(|error| error.to_string())
        } else {
            let text = host.to_ascii();
            let text = text.trim_end_matches('.').to_owned();
            tokio::net::lookup_host((text, DEFAULT_DNS_PORT))
                .await
                .map(|found| found.map(|address| address.ip()).collect())
                .map_err(|error| error.to_string())
        };
        match found {
            Ok(ips) if ips.is_empty() => problems.push(format!("{host} has no address")),
            Ok(ips) => addresses.extend(
                ips.into_iter()
                    .filter(|ip| *ip != primary.server().ip())
                    .map(|ip| SocketAddr::new(ip, DEFAULT_DNS_PORT)),
            ),
            Err(error) => problems.push(format!("cannot resolve {host}: {error}")),
        }
    }
    addresses.sort();
    addresses.dedup();
    if addresses.is_empty() && !problems.is_empty() {
        return Err(problems.join("; "));
    }
    for problem in problems {
        tracing::warn!(zone = %zone, "following updates of {zone}: {problem}");
    }
    Ok(addresses)
}
