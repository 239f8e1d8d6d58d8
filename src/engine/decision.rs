//! What to do with one record's A and AAAA RRsets, given the health of its
//! addresses and what the nameserver publishes now.
//!
//! Each family is decided on its own: a server whose IPv4 address is down but
//! whose IPv6 address is up moves the A RRset and leaves AAAA alone.

use std::net::IpAddr;

use crate::config::{AllDownPolicy, FailbackPolicy, PoolMode, Record};
use crate::vocabulary::{AddressRrset, Family};

use super::health::Health;
use super::overrides::RecordOverrides;
use super::reason::PublishReason;

/// The decision for one record and one address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyDecision {
    /// No server of the record has an address of this family: the RRset is
    /// not ours and stays as it is.
    Unmanaged,
    /// These addresses have no verdict yet; nothing changes until they do.
    WarmingUp { unknown: Vec<IpAddr> },
    /// The published RRset is the desired one. `note` says why when it is
    /// not simply the first server up (a pin, a manual failback pending).
    InSync {
        server: String,
        note: Option<String>,
    },
    /// The published RRset must be replaced.
    Publish(Publish),
    /// Every address of this family is down and `when_all_down: keep` says to
    /// leave DNS as it is. Worth reporting loudly: nothing can take the traffic.
    AllDownKeep,
    /// The published RRset holds addresses that belong to no server of this
    /// record (edited by hand?) and `takeover` is off: it is left alone.
    Conflict { foreign: Vec<IpAddr> },
}

impl FamilyDecision {
    /// The RRset to publish, when this decision changes DNS.
    pub fn publish(&self) -> Option<&Publish> {
        match self {
            FamilyDecision::Publish(publish) => Some(publish),
            _ => None,
        }
    }
}

/// An RRset to publish and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// The server whose addresses are published.
    pub server: String,
    /// The addresses, sorted, never empty, all from the configuration.
    pub addresses: Vec<IpAddr>,
    /// The record's configured TTL.
    pub ttl: u32,
    /// Why the published RRset has to change.
    pub reason: PublishReason,
}

impl Publish {
    /// The RRset to send to the nameserver.
    pub fn rrset(&self) -> AddressRrset {
        AddressRrset::new(self.addresses.iter().copied(), self.ttl)
    }
}

/// The decisions for both families of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDecision {
    /// The A RRset.
    pub v4: FamilyDecision,
    /// The AAAA RRset.
    pub v6: FamilyDecision,
}

impl RecordDecision {
    /// The decision for one family.
    pub fn family(&self, family: Family) -> &FamilyDecision {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    /// Both decisions with their family, A first.
    pub fn iter(&self) -> impl Iterator<Item = (Family, &FamilyDecision)> {
        Family::ALL.into_iter().map(|f| (f, self.family(f)))
    }
}

/// Decides both families of `record`. `health[s][a]` is the health of
/// `record.servers[s].addresses[a]`; `published` holds the A RRset, then the
/// AAAA RRset (in [`Family::ALL`] order).
pub fn decide_record(
    record: &Record,
    health: &[Vec<Health>],
    published: [Option<&AddressRrset>; 2],
) -> RecordDecision {
    decide_record_with(record, health, published, &RecordOverrides::default())
}

/// Like [`decide_record`], taking the record's manual overrides into account.
pub fn decide_record_with(
    record: &Record,
    health: &[Vec<Health>],
    published: [Option<&AddressRrset>; 2],
    overrides: &RecordOverrides,
) -> RecordDecision {
    RecordDecision {
        v4: decide_family_with(record, Family::V4, health, published[0], overrides),
        v6: decide_family_with(record, Family::V6, health, published[1], overrides),
    }
}

/// Decides one family of `record`; `health` is laid out as for [`decide_record`].
pub fn decide_family(
    record: &Record,
    family: Family,
    health: &[Vec<Health>],
    published: Option<&AddressRrset>,
) -> FamilyDecision {
    decide_family_with(
        record,
        family,
        health,
        published,
        &RecordOverrides::default(),
    )
}

/// Like [`decide_family`], with the record's overrides: drained servers
/// count as down, a pinned server is published whatever its health, and
/// with `failback: manual` a record stays on the up server it publishes
/// until a failback is asked.
pub fn decide_family_with(
    record: &Record,
    family: Family,
    health: &[Vec<Health>],
    published: Option<&AddressRrset>,
    overrides: &RecordOverrides,
) -> FamilyDecision {
    let view = FamilyView::new(record, family, health, &overrides.drained);
    if view.servers.is_empty() {
        return FamilyDecision::Unmanaged;
    }
    let unknown = view.addresses_in(Health::Unknown);
    if !unknown.is_empty() {
        return FamilyDecision::WarmingUp { unknown };
    }
    let foreign = published.map_or_else(Vec::new, |p| view.foreign(&p.addresses));
    if !foreign.is_empty() && !record.takeover {
        return FamilyDecision::Conflict { foreign };
    }
    if let Some(pin) = &overrides.pin {
        if let Some(chosen) = view.servers.iter().position(|s| s.name == pin.server) {
            return view.pinned(chosen, pin, record.ttl_for(chosen, false), published);
        }
    }
    if record.mode == PoolMode::All {
        if let Some(decision) = view.pool(record, published, foreign.clone()) {
            return decision;
        }
        // Nothing is up: the all-down policy below applies as it does to one server.
    }
    let held = match record.failback {
        FailbackPolicy::Manual if !overrides.failback_now => {
            published.and_then(|p| view.held(&p.addresses))
        }
        _ => None,
    };
    let (chosen, all_down) = match (held, view.first_up()) {
        (Some(held), _) => (held, false),
        (None, Some(index)) => (index, false),
        (None, None) if record.when_all_down == AllDownPolicy::Keep => {
            return FamilyDecision::AllDownKeep
        }
        (None, None) => (0, true),
    };
    let server = &view.servers[chosen];
    let mut addresses: Vec<IpAddr> = server
        .addresses
        .iter()
        .filter(|(_, health)| all_down || *health == Health::Up)
        .map(|(address, _)| *address)
        .collect();
    addresses.sort();
    addresses.dedup();
    let desired = Desired {
        chosen,
        all_down,
        addresses,
        ttl: record.ttl_for(chosen, all_down),
    };
    let note = (held.is_some() && view.first_up() != held).then(|| {
        format!(
            "waiting for manual failback: dnsfailover failback {}",
            record.name
        )
    });
    match view.reason(&desired, published, foreign) {
        None => FamilyDecision::InSync {
            server: server.name.to_owned(),
            note,
        },
        Some(reason) => FamilyDecision::Publish(Publish {
            server: server.name.to_owned(),
            addresses: desired.addresses,
            ttl: desired.ttl,
            reason,
        }),
    }
}

/// What should be published, before comparing with what is.
struct Desired {
    /// Index into [`FamilyView::servers`].
    chosen: usize,
    all_down: bool,
    addresses: Vec<IpAddr>,
    ttl: u32,
}

/// One server's addresses of one family with their health.
struct FamilyServer<'a> {
    name: &'a str,
    addresses: Vec<(IpAddr, Health)>,
}

/// The servers of a record that have addresses of one family, in list order.
struct FamilyView<'a> {
    servers: Vec<FamilyServer<'a>>,
}

impl<'a> FamilyView<'a> {
    fn new(record: &'a Record, family: Family, health: &[Vec<Health>], drained: &[String]) -> Self {
        let servers = record
            .servers
            .iter()
            .enumerate()
            .map(|(s, server)| {
                let is_drained = drained.contains(&server.name);
                FamilyServer {
                    name: &server.name,
                    addresses: server
                        .addresses
                        .iter()
                        .enumerate()
                        .filter(|(_, address)| Family::of(address) == family)
                        .map(|(a, address)| {
                            let health = match health_at(health, s, a) {
                                _ if is_drained => Health::Down,
                                health => health,
                            };
                            (*address, health)
                        })
                        .collect(),
                }
            })
            .filter(|server| !server.addresses.is_empty())
            .collect();
        FamilyView { servers }
    }

    /// All addresses (sorted, deduplicated) whose health is `wanted`.
    fn addresses_in(&self, wanted: Health) -> Vec<IpAddr> {
        let mut found: Vec<IpAddr> = self
            .servers
            .iter()
            .flat_map(|server| server.addresses.iter())
            .filter(|(_, health)| *health == wanted)
            .map(|(address, _)| *address)
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// The first server with at least one address up.
    fn first_up(&self) -> Option<usize> {
        self.servers.iter().position(|server| {
            server
                .addresses
                .iter()
                .any(|(_, health)| *health == Health::Up)
        })
    }

    fn contains(&self, address: &IpAddr) -> bool {
        self.servers
            .iter()
            .any(|server| server.addresses.iter().any(|(a, _)| a == address))
    }

    /// The published addresses that belong to no server of the record.
    fn foreign(&self, published: &[IpAddr]) -> Vec<IpAddr> {
        let mut foreign: Vec<IpAddr> = published
            .iter()
            .filter(|address| !self.contains(address))
            .copied()
            .collect();
        foreign.sort();
        foreign.dedup();
        foreign
    }

    /// With `failback: manual`: the server that owns the published
    /// addresses, when it is up and comes after the first server up (so the
    /// record stays where it failed over to).
    fn held(&self, published: &[IpAddr]) -> Option<usize> {
        if published.is_empty() {
            return None;
        }
        let owner = self.owner_of(published)?;
        let up = self.servers[owner]
            .addresses
            .iter()
            .any(|(_, health)| *health == Health::Up);
        (up && self.first_up().is_some_and(|first| first < owner)).then_some(owner)
    }

    /// The decision when the server at `chosen` is pinned: all its addresses
    /// of the family, whatever their health.
    fn pinned(
        &self,
        chosen: usize,
        pin: &super::overrides::PinView,
        ttl: u32,
        published: Option<&AddressRrset>,
    ) -> FamilyDecision {
        let server = &self.servers[chosen];
        let mut addresses: Vec<IpAddr> = server.addresses.iter().map(|(a, _)| *a).collect();
        addresses.sort();
        addresses.dedup();
        let reason = PublishReason::Pinned {
            by: pin.by,
            reason: pin.reason.clone(),
        };
        let in_sync = published.is_some_and(|p| {
            let mut now = p.addresses.clone();
            now.sort();
            now.dedup();
            now == addresses && p.ttl == ttl
        });
        if in_sync {
            return FamilyDecision::InSync {
                server: server.name.to_owned(),
                note: Some(reason.to_string()),
            };
        }
        FamilyDecision::Publish(Publish {
            server: server.name.to_owned(),
            addresses,
            ttl,
            reason,
        })
    }

    /// The first server holding every published address, if one does.
    fn owner_of(&self, published: &[IpAddr]) -> Option<usize> {
        self.servers.iter().position(|server| {
            published
                .iter()
                .all(|p| server.addresses.iter().any(|(a, _)| a == p))
        })
    }

    /// The decision of a `mode: all` record: every up address of every
    /// server, in list order, at most `max_addresses`; `None` when no
    /// server is up.
    fn pool(
        &self,
        record: &Record,
        published: Option<&AddressRrset>,
        foreign: Vec<IpAddr>,
    ) -> Option<FamilyDecision> {
        let mut addresses = Vec::new();
        let mut members = Vec::new();
        for server in &self.servers {
            let up = server
                .addresses
                .iter()
                .filter(|(_, health)| *health == Health::Up)
                .map(|(address, _)| *address);
            let before = addresses.len();
            let room = record.max_addresses.saturating_sub(addresses.len());
            addresses.extend(up.take(room));
            if addresses.len() > before {
                members.push(server.name);
            }
        }
        if members.is_empty() {
            return None;
        }
        addresses.sort();
        addresses.dedup();
        let degraded = self
            .servers
            .iter()
            .any(|server| server.addresses.iter().any(|(_, h)| *h != Health::Up));
        let ttl = record.ttl_when(degraded);
        let server = members.join(", ");
        let published = published.filter(|p| !p.addresses.is_empty());
        let reason = match published {
            None => PublishReason::Missing,
            Some(p) => {
                let mut now = p.addresses.clone();
                now.sort();
                now.dedup();
                if now == addresses && p.ttl == ttl {
                    return Some(FamilyDecision::InSync { server, note: None });
                }
                if now == addresses {
                    PublishReason::TtlDiffers {
                        published: p.ttl,
                        configured: ttl,
                    }
                } else if !foreign.is_empty() {
                    PublishReason::Takeover { foreign }
                } else {
                    self.pool_change(&members, &now)
                }
            }
        };
        Some(FamilyDecision::Publish(Publish {
            server,
            addresses,
            ttl,
            reason,
        }))
    }

    /// Which servers join and leave the pool when `published` becomes the
    /// addresses of `members`.
    fn pool_change(&self, members: &[&str], published: &[IpAddr]) -> PublishReason {
        let holds =
            |server: &FamilyServer| server.addresses.iter().any(|(a, _)| published.contains(a));
        let added: Vec<String> = self
            .servers
            .iter()
            .filter(|server| members.contains(&server.name) && !holds(server))
            .map(|server| server.name.to_owned())
            .collect();
        let removed: Vec<String> = self
            .servers
            .iter()
            .filter(|server| !members.contains(&server.name) && holds(server))
            .map(|server| server.name.to_owned())
            .collect();
        if added.is_empty() && removed.is_empty() {
            return PublishReason::AddressesChanged {
                server: members.join(", "),
            };
        }
        PublishReason::PoolChanged { added, removed }
    }

    /// Why the published RRset must change; `None` when it is in sync.
    fn reason(
        &self,
        desired: &Desired,
        published: Option<&AddressRrset>,
        foreign: Vec<IpAddr>,
    ) -> Option<PublishReason> {
        let published = match published {
            Some(p) if !p.addresses.is_empty() => p,
            _ => return Some(PublishReason::Missing),
        };
        let mut published_addresses = published.addresses.clone();
        published_addresses.sort();
        published_addresses.dedup();
        if published_addresses == desired.addresses {
            return (published.ttl != desired.ttl).then_some(PublishReason::TtlDiffers {
                published: published.ttl,
                configured: desired.ttl,
            });
        }
        let to = self.servers[desired.chosen].name.to_owned();
        if desired.all_down {
            return Some(PublishReason::AllDownFirst { server: to });
        }
        if !foreign.is_empty() {
            return Some(PublishReason::Takeover { foreign });
        }
        Some(match self.owner_of(&published_addresses) {
            None => PublishReason::Mixed,
            Some(owner) if owner > desired.chosen => PublishReason::Failback { to },
            Some(owner) if owner < desired.chosen => PublishReason::Failover {
                down: self.servers[..desired.chosen]
                    .iter()
                    .map(|server| server.name.to_owned())
                    .collect(),
                to,
            },
            Some(_) => PublishReason::AddressesChanged { server: to },
        })
    }
}

/// The health of address `a` of server `s`; missing entries count as unknown,
/// so a short table can only delay a change, never cause one.
fn health_at(health: &[Vec<Health>], s: usize, a: usize) -> Health {
    health
        .get(s)
        .and_then(|server| server.get(a))
        .copied()
        .unwrap_or(Health::Unknown)
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
