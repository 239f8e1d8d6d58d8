//! The nameserver client: every request TSIG-signed, every answer verified,
//! updates confirmed by reading back.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, RecordType};

use super::error::{DnsError, RrsetConflict};
use super::exchange::{Clock, Endpoint};
use super::key::TsigKey;
use super::update::{RrsetChange, ZoneUpdate};
use super::zone_lock::ZoneLocks;
use crate::vocabulary::{AddressRrset, Family, Published, Transport};

/// Reads in flight at once when updated RRsets are read back: enough to read
/// a thousand back quickly, few enough for BIND's TCP listen queue (10).
const READ_BACK_CONCURRENCY: usize = 8;

/// UPDATEs sent for one change set while only the zone's SOA prerequisite
/// fails (someone else changed the zone between our SOA read and the
/// UPDATE): one such edit is normal, three in a row means a busy zone.
const SOA_ATTEMPTS: usize = 3;

/// How an update ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Every change was already in place: nothing was sent.
    Unchanged,
    /// The server applied the update; it was read back and matches.
    Applied,
    /// The answer was lost or untrustworthy, but reading back showed the
    /// update in place; `cause` says what went wrong with the answer.
    AppliedUnconfirmedAnswer { cause: String },
}

/// Talks to one primary nameserver with one TSIG key.
#[derive(Clone)]
pub struct Client {
    server: SocketAddr,
    transport: Transport,
    timeout: Duration,
    /// Always set, except in the unsigned client inside a [`super::Lookup`].
    key: Option<Arc<TsigKey>>,
    clock: Clock,
    /// Shared by the clones: one UPDATE per zone at a time.
    zone_locks: Arc<ZoneLocks>,
}

impl Client {
    /// A client for `server` that signs with `key` and waits `timeout` per request.
    pub fn new(
        server: SocketAddr,
        transport: Transport,
        timeout: Duration,
        key: Arc<TsigKey>,
    ) -> Self {
        Client {
            server,
            transport,
            timeout,
            key: Some(key),
            clock: Arc::new(SystemTime::now),
            zone_locks: Arc::default(),
        }
    }

    /// A client that signs nothing: only for [`super::Lookup`], which reads
    /// and never updates.
    pub(super) fn unsigned(server: SocketAddr, transport: Transport, timeout: Duration) -> Self {
        Client {
            server,
            transport,
            timeout,
            key: None,
            clock: Arc::new(SystemTime::now),
            zone_locks: Arc::default(),
        }
    }

    /// Uses another clock for signing and checking times (tests of clock skew).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The nameserver's address.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The time allowed for one request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Reads a name's A and AAAA RRsets from the server.
    pub async fn read_addresses(&self, name: &Name) -> Result<Published, DnsError> {
        let (v4, v6) = tokio::join!(
            self.read_rrset(name, Family::V4),
            self.read_rrset(name, Family::V6)
        );
        Ok(Published { v4: v4?, v6: v6? })
    }

    /// Reads one A or AAAA RRset; `None` when the name has none.
    pub async fn read_rrset(
        &self,
        name: &Name,
        family: Family,
    ) -> Result<Option<AddressRrset>, DnsError> {
        let response = self.query(name, family.record_type()).await?;
        let mut addresses = Vec::new();
        let mut ttl = u32::MAX;
        for record in response
            .answers
            .iter()
            .filter(|r| r.name.eq_ignore_root(name))
        {
            let address = match &record.data {
                RData::A(a) if family == Family::V4 => IpAddr::V4(a.0),
                RData::AAAA(aaaa) if family == Family::V6 => IpAddr::V6(aaaa.0),
                RData::CNAME(_) => {
                    return Err(DnsError::CnameAtName {
                        server: self.server,
                        name: name.clone(),
                    })
                }
                _ => continue,
            };
            addresses.push(address);
            ttl = ttl.min(record.ttl);
        }
        Ok((!addresses.is_empty()).then(|| AddressRrset::new(addresses, ttl)))
    }

    /// Finds the zone a name lives in, from the SOA in the answer or authority section.
    pub async fn find_zone(&self, name: &Name) -> Result<Name, DnsError> {
        let response = self.query(name, RecordType::SOA).await?;
        response
            .answers
            .iter()
            .chain(response.authorities.iter())
            .find(|record| record.record_type() == RecordType::SOA && record.name.zone_of(name))
            .map(|record| record.name.clone())
            .ok_or_else(|| DnsError::Malformed {
                server: self.server,
                reason: format!("no SOA in the answer to an SOA query for {name}"),
            })
    }

    /// The zone's SOA serial.
    pub async fn soa_serial(&self, zone: &Name) -> Result<u32, DnsError> {
        Ok(self.zone_soa(zone).await?.serial)
    }

    /// The zone's SOA record, as the server publishes it now.
    pub async fn zone_soa(&self, zone: &Name) -> Result<SOA, DnsError> {
        let response = self.query(zone, RecordType::SOA).await?;
        response
            .answers
            .into_iter()
            .find_map(|record| match record.data {
                RData::SOA(soa) if record.name.eq_ignore_root(zone) => Some(soa),
                _ => None,
            })
            .ok_or_else(|| DnsError::NotAuthoritative {
                server: self.server,
                name: zone.clone(),
            })
    }

    /// Applies an update: validated, sent only if it changes something,
    /// guarded by prerequisites, and confirmed by reading back. After an
    /// ambiguous outcome (no answer, untrusted answer) the RRsets are re-read
    /// and the outcome is decided by what the server actually publishes.
    ///
    /// Each UPDATE also requires the zone's SOA as read just before (so it
    /// can apply only once, see [`ZoneUpdate::to_message`]). When only that
    /// fails (NXRRSET, and the SOA has changed since), someone else edited
    /// the zone in between: the UPDATE is sent again with the new SOA, up to
    /// three times in all, and that is no conflict.
    pub async fn apply(&self, update: &ZoneUpdate) -> Result<ApplyOutcome, DnsError> {
        update.validate()?;
        let changes: Vec<&RrsetChange> = update.effective_changes().collect();
        if changes.is_empty() {
            return Ok(ApplyOutcome::Unchanged);
        }
        for attempt in 1..=SOA_ATTEMPTS {
            let mut zone = self.zone_locks.turn(&update.zone).await;
            let soa = if zone.soa_prerequisite {
                Some(self.zone_soa(&update.zone).await?)
            } else {
                None
            };
            let message = update.to_message(random_id(), soa.as_ref());
            let response = match self.exchange(message).await {
                Ok(response) => response,
                Err(cause) if cause.is_ambiguous() => {
                    drop(zone);
                    return self.settle_ambiguous(update, &changes, cause).await;
                }
                Err(error) => return Err(error),
            };
            let Some(sent) = soa.filter(|_| response.response_code == ResponseCode::NXRRSet) else {
                drop(zone);
                return self.outcome(update, &changes, response).await;
            };
            match self.why_nxrrset(update, &changes, &sent).await? {
                Nxrrset::SoaMoved => {
                    tracing::debug!(server = %self.server, zone = %update.zone, attempt, "the zone's SOA changed between reading it and updating: sending the update again");
                }
                Nxrrset::SoaNotChecked => {
                    tracing::warn!(server = %self.server, zone = %update.zone, "{} rejects an SOA prerequisite equal to the SOA it serves for zone {} (BIND does so for an inline-signed zone: it checks updates against the unsigned zone, whose SOA it does not serve); this zone's updates are sent without it from now on, so a captured update of it could be replayed within the TSIG fudge", self.server, update.zone);
                    zone.soa_prerequisite = false;
                }
            }
        }
        Err(self.kept_changing(update, &changes).await)
    }

    /// Why an UPDATE that required the SOA `sent` failed with NXRRSET, when
    /// it is no conflict: the SOA moved (someone else edited the zone), or
    /// the SOA is as required and so are the records. A conflict is the error.
    async fn why_nxrrset(
        &self,
        update: &ZoneUpdate,
        changes: &[&RrsetChange],
        sent: &SOA,
    ) -> Result<Nxrrset, DnsError> {
        if self.zone_soa(&update.zone).await? != *sent {
            return Ok(Nxrrset::SoaMoved);
        }
        let published = match self.read_back(changes).await {
            Ok(published) => published,
            Err(_) => return Err(self.conflict(update, changes).await),
        };
        if hold_expected_addresses(changes, &published) {
            return Ok(Nxrrset::SoaNotChecked);
        }
        Err(DnsError::Conflict {
            zone: update.zone.clone(),
            conflicts: conflicts_of(changes, published),
        })
    }

    /// What a verified answer to an UPDATE means.
    async fn outcome(
        &self,
        update: &ZoneUpdate,
        changes: &[&RrsetChange],
        response: Message,
    ) -> Result<ApplyOutcome, DnsError> {
        match response.response_code {
            ResponseCode::NoError => self.confirm(changes).await,
            ResponseCode::NXRRSet | ResponseCode::YXRRSet => {
                Err(self.conflict(update, changes).await)
            }
            ResponseCode::Refused => Err(DnsError::Refused {
                server: self.server,
                zone: update.zone.clone(),
                key: self.key().name().clone(),
            }),
            ResponseCode::NotAuth => Err(DnsError::NotAuthoritative {
                server: self.server,
                name: update.zone.clone(),
            }),
            ResponseCode::NotZone => Err(DnsError::NotZone {
                server: self.server,
                zone: update.zone.clone(),
            }),
            rcode => Err(DnsError::ServerError {
                server: self.server,
                rcode,
                what: format!("an update of zone {}", update.zone),
            }),
        }
    }

    /// Every UPDATE failed with the SOA moved: a conflict if the RRsets
    /// changed too, else a busy zone.
    async fn kept_changing(&self, update: &ZoneUpdate, changes: &[&RrsetChange]) -> DnsError {
        match self.conflict(update, changes).await {
            DnsError::Conflict { conflicts, .. } if conflicts.is_empty() => {
                DnsError::ZoneKeptChanging {
                    server: self.server,
                    zone: update.zone.clone(),
                    attempts: SOA_ATTEMPTS,
                }
            }
            error => error,
        }
    }

    /// Reads the RRsets of `changes` back, a few at a time; in the same order.
    async fn read_back(
        &self,
        changes: &[&RrsetChange],
    ) -> Result<Vec<Option<AddressRrset>>, DnsError> {
        let mut published = vec![None; changes.len()];
        let mut reads = tokio::task::JoinSet::new();
        let mut pending = changes.iter().enumerate();
        loop {
            while reads.len() < READ_BACK_CONCURRENCY {
                let Some((index, change)) = pending.next() else {
                    break;
                };
                let (client, name, family) = (self.clone(), change.name.clone(), change.family);
                reads.spawn(async move { (index, client.read_rrset(&name, family).await) });
            }
            let Some(done) = reads.join_next().await else {
                return Ok(published);
            };
            let (index, rrset) = done.expect("a read never panics");
            published[index] = rrset?;
        }
    }

    async fn confirm(&self, changes: &[&RrsetChange]) -> Result<ApplyOutcome, DnsError> {
        let published = self.read_back(changes).await?;
        for (change, published) in changes.iter().zip(published) {
            if published.as_ref() != Some(&change.desired) {
                return Err(DnsError::NotApplied {
                    server: self.server,
                    name: change.name.clone(),
                    family: change.family,
                    desired: change.desired.clone(),
                    published,
                });
            }
        }
        Ok(ApplyOutcome::Applied)
    }

    async fn conflict(&self, update: &ZoneUpdate, changes: &[&RrsetChange]) -> DnsError {
        match self.read_back(changes).await {
            Ok(published) => DnsError::Conflict {
                zone: update.zone.clone(),
                conflicts: conflicts_of(changes, published),
            },
            Err(reread) => DnsError::Unconfirmed {
                cause: Box::new(DnsError::Conflict {
                    zone: update.zone.clone(),
                    conflicts: Vec::new(),
                }),
                reread: Box::new(reread),
            },
        }
    }

    async fn settle_ambiguous(
        &self,
        update: &ZoneUpdate,
        changes: &[&RrsetChange],
        cause: DnsError,
    ) -> Result<ApplyOutcome, DnsError> {
        let published = match self.read_back(changes).await {
            Ok(published) => published,
            // Reading back fails the same way (e.g. BADSIG): one error says it all.
            Err(reread) if reread.to_string() == cause.to_string() => return Err(cause),
            Err(reread) => {
                return Err(DnsError::Unconfirmed {
                    cause: Box::new(cause),
                    reread: Box::new(reread),
                })
            }
        };
        let all = |wanted: &dyn Fn(&RrsetChange) -> Option<AddressRrset>| {
            changes
                .iter()
                .zip(&published)
                .all(|(change, now)| *now == wanted(change))
        };
        if all(&|change| Some(change.desired.clone())) {
            return Ok(ApplyOutcome::AppliedUnconfirmedAnswer {
                cause: cause.to_string(),
            });
        }
        if all(&|change| change.expected.clone()) {
            return Err(cause);
        }
        Err(DnsError::Conflict {
            zone: update.zone.clone(),
            conflicts: conflicts_of(changes, published),
        })
    }

    /// Sends a signed query and checks that the answer is authoritative and
    /// answers this question. Truncated UDP answers are retried over TCP.
    pub(super) async fn query(
        &self,
        name: &Name,
        record_type: RecordType,
    ) -> Result<Message, DnsError> {
        let build = || {
            let mut message = Message::new(random_id(), MessageType::Query, OpCode::Query);
            message.metadata.recursion_desired = false;
            message.add_query(Query::query(name.clone(), record_type));
            message
        };
        let mut response = self.exchange_over(build(), self.transport).await?;
        if response.truncation && self.transport == Transport::Udp {
            response = self.exchange_over(build(), Transport::Tcp).await?;
        }
        let question_matches = response.queries.len() == 1
            && response.queries[0].name().eq_ignore_root(name)
            && response.queries[0].query_type() == record_type;
        if !question_matches {
            return Err(DnsError::Malformed {
                server: self.server,
                reason: format!("the answer does not repeat the question {name} {record_type}"),
            });
        }
        match response.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain if response.authoritative => {
                Ok(response)
            }
            ResponseCode::NoError
            | ResponseCode::NXDomain
            | ResponseCode::Refused
            | ResponseCode::NotAuth => Err(DnsError::NotAuthoritative {
                server: self.server,
                name: name.clone(),
            }),
            rcode => Err(DnsError::ServerError {
                server: self.server,
                rcode,
                what: format!("a query for {name} {record_type}"),
            }),
        }
    }

    async fn exchange(&self, message: Message) -> Result<Message, DnsError> {
        self.exchange_over(message, self.transport).await
    }

    /// Signs, sends, verifies and decodes one request.
    async fn exchange_over(
        &self,
        message: Message,
        transport: Transport,
    ) -> Result<Message, DnsError> {
        self.endpoint(transport).exchange(&message).await
    }

    /// Where and how requests go over `transport`.
    pub(super) fn endpoint(&self, transport: Transport) -> Endpoint<'_> {
        Endpoint {
            server: self.server,
            transport,
            timeout: self.timeout,
            key: self.key.as_deref(),
            clock: &self.clock,
        }
    }

    /// The key requests are signed with, shared with the clones.
    pub fn shared_key(&self) -> Arc<TsigKey> {
        self.key
            .clone()
            .expect("every Client built with new() has a key; unsigned ones stay inside Lookup")
    }

    /// The key requests are signed with.
    pub fn key(&self) -> &TsigKey {
        self.key
            .as_deref()
            .expect("every Client built with new() has a key; unsigned ones stay inside Lookup")
    }
}

/// Why an UPDATE failed its prerequisites although no RRset conflicts.
enum Nxrrset {
    /// Someone else changed the zone after its SOA was read.
    SoaMoved,
    /// The server checks the SOA prerequisite against another SOA than it serves.
    SoaNotChecked,
}

/// True when every RRset holds the addresses its change expected (TTLs
/// aside: prerequisites compare data only, RFC 2136 §3.2.3).
fn hold_expected_addresses(changes: &[&RrsetChange], published: &[Option<AddressRrset>]) -> bool {
    changes.iter().zip(published).all(|(change, now)| {
        now.as_ref().map(|rrset| &rrset.addresses)
            == change.expected.as_ref().map(|rrset| &rrset.addresses)
    })
}

/// The changes whose RRset is no longer what they expected.
fn conflicts_of(
    changes: &[&RrsetChange],
    published: Vec<Option<AddressRrset>>,
) -> Vec<RrsetConflict> {
    changes
        .iter()
        .zip(published)
        .filter(|(change, now)| *now != change.expected)
        .map(|(change, now)| conflict_of(change, now))
        .collect()
}

fn conflict_of(change: &RrsetChange, published: Option<AddressRrset>) -> RrsetConflict {
    RrsetConflict {
        name: change.name.clone(),
        family: change.family,
        expected: change.expected.clone(),
        published,
    }
}

/// A fresh random message ID (RFC 2136 §4.4 / RFC 5452).
pub(super) fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("system random source");
    u16::from_be_bytes(bytes)
}
