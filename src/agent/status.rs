//! Turning the coordinator's state into [`Snapshot`]s, and publishing them.
//!
//! Every check changes its record's status (its last result), so at
//! thousands of checks a second a snapshot per change would cost more than
//! the checks. The publisher therefore rebuilds only the records that
//! changed and publishes at most once per [`MIN_PUBLISH_INTERVAL`]: a
//! snapshot is never older than that behind the coordinator's state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::Name;
use tokio::sync::watch;

use super::alarms::Condition;
use super::clock::WallClock;
use super::operator::override_status;
use super::record_state::RecordState;
use crate::config::Record;
use crate::engine::{CheckResult, Engine, FamilyDecision, Health, OverrideKind, RecordDecision};
use crate::snapshot::Timestamp;
use crate::snapshot::{
    AddressCheckStatus, AddressStatus, Alarm, AlarmKind, CheckStatus, DesiredState, DesiredStatus,
    ErrorStatus, FamilyStatus, HealthState, PublishedState, PublishedStatus, RecordStatus,
    ReloadStatus, ServerStatus, Snapshot, UpdateStatus, ZonePropagation,
};
use crate::vocabulary::{AddressList, AddressRrset, Family};

/// The most often a new snapshot is published.
pub const MIN_PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// Keeps the latest [`Snapshot`] on a watch channel.
pub struct SnapshotPublisher {
    sender: watch::Sender<Arc<Snapshot>>,
    nameserver: String,
    /// The status of each record as last built.
    built: HashMap<Name, Arc<RecordStatus>>,
    /// Records whose status must be built again: a hash set, as every check
    /// marks its record
    /// (the order does not matter: the snapshot follows the engine's).
    stale: HashSet<Name>,
    /// When a snapshot was last published.
    published_at: Option<Instant>,
    /// The outcome of the last reload.
    reload: Option<ReloadStatus>,
    /// Something besides the records changed (the reload status).
    general_stale: bool,
    /// How the zones' other nameservers follow the updates.
    propagation: Arc<Vec<ZonePropagation>>,
}

impl SnapshotPublisher {
    /// A publisher for an agent that updates `nameserver`, and the receiver
    /// that reads what it publishes.
    pub fn new(nameserver: String) -> (SnapshotPublisher, watch::Receiver<Arc<Snapshot>>) {
        let empty = Snapshot::empty(nameserver.clone(), WallClock::now().wall());
        let (sender, receiver) = watch::channel(Arc::new(empty));
        let publisher = SnapshotPublisher {
            sender,
            nameserver,
            built: HashMap::new(),
            stale: HashSet::new(),
            published_at: None,
            reload: None,
            general_stale: false,
            propagation: Arc::new(Vec::new()),
        };
        (publisher, receiver)
    }

    /// Another receiver of the snapshots.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.sender.subscribe()
    }

    /// Notes that the status of `record` changed.
    pub fn mark(&mut self, record: &Name) {
        if !self.stale.contains(record) {
            self.stale.insert(record.clone());
        }
    }

    /// Notes the outcome of a reload (`problem` empty when it succeeded).
    pub fn note_reload(&mut self, succeeded: bool, problem: String) {
        self.reload = Some(ReloadStatus {
            at: WallClock::now().wall(),
            succeeded,
            problem: (!problem.is_empty()).then_some(problem),
        });
        self.general_stale = true;
    }

    /// Notes that the overrides changed (the list in the snapshot).
    pub fn note_overrides(&mut self) {
        self.general_stale = true;
    }

    /// Notes what the propagation tracker published.
    pub fn note_propagation(&mut self, propagation: Arc<Vec<ZonePropagation>>) {
        self.propagation = propagation;
        self.general_stale = true;
    }

    /// Notes that every record's status changed.
    pub fn mark_all<'a>(&mut self, records: impl Iterator<Item = &'a Name>) {
        self.stale.extend(records.cloned());
    }

    /// When the next snapshot is due, if anything changed.
    pub fn due(&self) -> Option<Instant> {
        if self.stale.is_empty() && !self.general_stale {
            return None;
        }
        Some(
            self.published_at
                .map_or_else(super::clock::now, |at| at + MIN_PUBLISH_INTERVAL),
        )
    }

    /// Publishes a new snapshot if something changed and the last one is at
    /// least [`MIN_PUBLISH_INTERVAL`] old (`force`: whatever its age).
    pub fn publish(
        &mut self,
        engine: &Engine,
        records: &HashMap<Name, RecordState>,
        now: Instant,
        force: bool,
    ) {
        if self.stale.is_empty() && !self.general_stale {
            return;
        }
        let recent = self
            .published_at
            .is_some_and(|at| now < at + MIN_PUBLISH_INTERVAL);
        if recent && !force {
            return;
        }
        let clock = WallClock::now();
        for name in std::mem::take(&mut self.stale) {
            match (engine.record(&name), records.get(&name)) {
                (Some(record), Some(state)) => {
                    let status = record_status(engine, record, state, &clock);
                    self.built.insert(name, Arc::new(status));
                }
                _ => {
                    self.built.remove(&name);
                }
            }
        }
        let snapshot = Snapshot {
            records: engine
                .records()
                .filter_map(|record| self.built.get(&record.name).cloned())
                .collect(),
            last_reload: self.reload.clone(),
            propagation: self.propagation.as_ref().clone(),
            overrides: engine
                .overrides()
                .entries()
                .iter()
                .map(override_status)
                .collect(),
            ..Snapshot::empty(self.nameserver.clone(), clock.wall())
        };
        self.general_stale = false;
        self.sender.send_replace(Arc::new(snapshot));
        self.published_at = Some(now);
    }
}

/// The status of one record.
fn record_status(
    engine: &Engine,
    record: &Record,
    state: &RecordState,
    clock: &WallClock,
) -> RecordStatus {
    let addresses = engine.address_states(&record.name).unwrap_or_default();
    let servers = record
        .servers
        .iter()
        .zip(addresses)
        .map(|(server, addresses)| ServerStatus {
            drained: engine
                .overrides()
                .entries()
                .iter()
                .rev()
                .find(|o| {
                    matches!(&o.kind, OverrideKind::Drain { server: s, .. } if *s == server.name)
                        && o.affects(record)
                })
                .map(override_status),
            name: server.name.clone(),
            addresses: addresses
                .iter()
                .map(|address| AddressStatus {
                    address: address.address,
                    health: health_state(address.health),
                    since: clock.timestamp(address.since),
                    last_check: address.last_check.map(|check| check_status(check, clock)),
                    checks_passed: address.checks_passed,
                    checks_failed: address.checks_failed,
                    checks: address
                        .checks
                        .iter()
                        .map(|check| AddressCheckStatus {
                            label: check.label.to_owned(),
                            health: health_state(check.health),
                            since: clock.timestamp(check.since),
                            last_check: check.last_check.map(|result| check_status(result, clock)),
                            checks_passed: check.checks_passed,
                            checks_failed: check.checks_failed,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let families = Family::ALL
        .into_iter()
        .filter(|family| record.manages(*family))
        .map(|family| family_status(record, state, family))
        .collect();
    RecordStatus {
        pinned: engine
            .overrides()
            .entries()
            .iter()
            .rev()
            .find(|o| matches!(o.kind, OverrideKind::Pin { .. }) && o.affects(record))
            .map(override_status),
        name: record.name.to_string(),
        zone: state.zone.as_ref().map(ToString::to_string),
        nameserver: (!state.primary.is_empty()).then(|| state.primary.clone()),
        ttl: record.ttl,
        families,
        servers,
        last_update: state.last_update.as_ref().map(|update| UpdateStatus {
            at: clock.timestamp(update.at),
            succeeded: update.succeeded,
            result: update.result.clone(),
            detail: update.detail.clone(),
            duration_seconds: update.duration.as_secs_f64(),
        }),
        last_error: state.last_error.as_ref().map(|error| ErrorStatus {
            at: clock.timestamp(error.at),
            message: error.message.clone(),
            failures: error.failures,
        }),
        alarms: alarms(state, clock),
    }
}

/// One finished check, as status shows it.
fn check_status(check: &CheckResult, clock: &WallClock) -> CheckStatus {
    CheckStatus {
        passed: check.passed,
        detail: check.detail.clone(),
        at: clock.timestamp(check.finished),
        duration_seconds: check
            .finished
            .saturating_duration_since(check.started)
            .as_secs_f64(),
        certificate_expires: check.certificate_expires.map(Timestamp::from),
    }
}

fn health_state(health: Health) -> HealthState {
    match health {
        Health::Unknown => HealthState::Unknown,
        Health::Up => HealthState::Up,
        Health::Down => HealthState::Down,
    }
}

fn family_status(record: &Record, state: &RecordState, family: Family) -> FamilyStatus {
    let rrset = state.published.as_ref().map(|p| p.get(family));
    let published = match rrset {
        None => PublishedStatus {
            state: PublishedState::Unread,
            addresses: Vec::new(),
            ttl: None,
            server: None,
            servers: Vec::new(),
        },
        Some(None) => PublishedStatus {
            state: PublishedState::Absent,
            addresses: Vec::new(),
            ttl: None,
            server: None,
            servers: Vec::new(),
        },
        Some(Some(rrset)) => {
            let servers: Vec<String> = record
                .servers_publishing(&rrset.addresses)
                .iter()
                .map(|server| server.name.clone())
                .collect();
            let server = (!servers.is_empty()).then(|| servers.join(", "));
            PublishedStatus {
                state: PublishedState::Present,
                addresses: rrset.addresses.clone(),
                ttl: Some(rrset.ttl),
                server,
                servers,
            }
        }
    };
    let decision = state
        .decision
        .as_deref()
        .map(|d: &RecordDecision| d.family(family));
    let (desired, in_sync) = desired_status(decision, rrset.flatten());
    FamilyStatus {
        family,
        published,
        desired,
        in_sync,
    }
}

/// What should be published, and whether it is.
fn desired_status(
    decision: Option<&FamilyDecision>,
    published: Option<&AddressRrset>,
) -> (DesiredStatus, bool) {
    let status = |state, server: Option<&str>, addresses: Vec<_>, reason: String| DesiredStatus {
        state,
        server: server.map(str::to_owned),
        addresses,
        reason,
    };
    let published_addresses = || published.map_or_else(Vec::new, |p| p.addresses.clone());
    match decision {
        None => (
            status(
                DesiredState::Undecided,
                None,
                Vec::new(),
                "what the nameserver publishes is not known yet".to_owned(),
            ),
            false,
        ),
        Some(FamilyDecision::Unmanaged) => (
            status(
                DesiredState::InSync,
                None,
                published_addresses(),
                "no server has an address of this family".to_owned(),
            ),
            true,
        ),
        Some(FamilyDecision::WarmingUp { unknown }) => (
            status(
                DesiredState::WarmingUp,
                None,
                Vec::new(),
                format!(
                    "waiting for the first verdict on {}",
                    AddressList(unknown)
                ),
            ),
            false,
        ),
        Some(FamilyDecision::InSync { server, note }) => (
            status(
                DesiredState::InSync,
                Some(server),
                published_addresses(),
                note.clone()
                    .unwrap_or_else(|| format!("{server} is published and is the right choice")),
            ),
            true,
        ),
        Some(FamilyDecision::Publish(publish)) => (
            status(
                DesiredState::Update,
                Some(&publish.server),
                publish.addresses.clone(),
                publish.reason.to_string(),
            ),
            false,
        ),
        Some(FamilyDecision::AllDownKeep) => (
            status(
                DesiredState::AllDownKeep,
                None,
                published_addresses(),
                "every server is down; when_all_down: keep leaves DNS as it is".to_owned(),
            ),
            true,
        ),
        Some(FamilyDecision::Conflict { foreign }) => (
            status(
                DesiredState::Conflict,
                None,
                Vec::new(),
                format!(
                    "the RRset holds {}, which no server of this record has; left alone (takeover: false)",
                    AddressList(foreign)
                ),
            ),
            false,
        ),
    }
}

/// The record's alarms: all down and conflicts per family, and a nameserver
/// that keeps failing.
fn alarms(state: &RecordState, clock: &WallClock) -> Vec<Alarm> {
    let mut alarms: Vec<Alarm> = state
        .alarms
        .active()
        .filter_map(|(family, condition, since)| {
            let (kind, detail) = match condition {
                Condition::Normal => return None,
                Condition::AllDown => {
                    (AlarmKind::AllDown, format!("every {family} server is down"))
                }
                Condition::Conflict(foreign) => (
                    AlarmKind::Conflict,
                    format!(
                        "the {family} RRset holds {}, which no server of this record has",
                        AddressList(foreign)
                    ),
                ),
            };
            Some(Alarm {
                kind,
                family: Some(family),
                since: clock.timestamp(since),
                detail,
            })
        })
        .collect();
    if let Some(error) = &state.last_error {
        alarms.push(Alarm {
            kind: AlarmKind::NameserverFailing,
            family: None,
            since: clock.timestamp(error.since),
            detail: format!("{} failure(s) in a row: {}", error.failures, error.message),
        });
    }
    alarms
}
