//! The engine: every checked address with its health and schedule, and the
//! decisions they lead to.
//!
//! Records are known by their owner name and addresses by [`AddressKey`]
//! (record, server, address), never by their position in the file, so that
//! [`Engine::reconfigure`] can apply a new configuration and keep what is
//! known of every address it still lists.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use hickory_proto::rr::Name;

use crate::config::{Config, Record};
use crate::vocabulary::AddressRrset;

use super::decision::{decide_record_with, RecordDecision};
use super::health::{Health, HealthTracker};
use super::overrides::Overrides;
use super::schedule::{first_check_offset, Schedule};

/// Identifies one checked address. Handed out by one [`Engine`] and never
/// reused by it: an address that a new configuration keeps keeps its id, one
/// it removes takes its id along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(u64);

impl TargetId {
    /// An id for unit tests that need one without an engine.
    #[cfg(test)]
    pub(crate) fn for_test(value: u64) -> TargetId {
        TargetId(value)
    }
}

/// What makes a checked address the same one across configurations: its
/// record's owner name, its server's name and the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressKey {
    /// The record's owner name.
    pub record: Name,
    /// The server's name, unique within the record.
    pub server: String,
    /// The address.
    pub address: IpAddr,
}

/// One address to check, as listed by [`Engine::targets`].
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Pass this back to [`Engine::observe`] and friends.
    pub id: TargetId,
    /// The record, for its check and timing.
    pub record: &'a Record,
    /// The server of the record that has this address.
    pub server: &'a str,
    /// The address to check.
    pub address: IpAddr,
}

/// The result of one check, as the engine is told it and keeps the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Whether the address passed.
    pub passed: bool,
    /// A short explanation, e.g. `200 OK` or `connection refused`.
    pub detail: String,
    /// When the check started.
    pub started: Instant,
    /// When it finished.
    pub finished: Instant,
    /// When the server's certificate expires, for checks that saw one.
    pub certificate_expires: Option<SystemTime>,
}

/// What the engine knows of one address, for status and metrics.
#[derive(Debug, Clone, Copy)]
pub struct AddressState<'a> {
    /// The address's id.
    pub id: TargetId,
    /// The address.
    pub address: IpAddr,
    /// Its health.
    pub health: Health,
    /// Since when it has had this health (for unknown: since it was added).
    pub since: Instant,
    /// The last check's result, once one has finished.
    pub last_check: Option<&'a CheckResult>,
    /// Checks passed since the address was added.
    pub checks_passed: u64,
    /// Checks failed since the address was added.
    pub checks_failed: u64,
}

/// A change of health of one address: one log line's worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    /// The record's owner name: its decision may change.
    pub record: Name,
    /// The server the address belongs to.
    pub server: String,
    /// The address whose health changed.
    pub address: IpAddr,
    /// Health before.
    pub from: Health,
    /// Health after.
    pub to: Health,
}

impl fmt::Display for HealthChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} server {} address {}: {} -> {}",
            self.record, self.server, self.address, self.from, self.to
        )
    }
}

/// What [`Engine::reconfigure`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconfigured {
    /// Addresses to start checking (new, or whose record's check changed).
    pub added: Vec<TargetId>,
    /// Addresses no longer checked.
    pub removed: Vec<TargetId>,
    /// Records that are new.
    pub records_added: Vec<Name>,
    /// Records that are gone.
    pub records_removed: Vec<Name>,
    /// Records still there whose configuration changed: decide them again.
    pub records_changed: Vec<Name>,
}

/// The state of one checked address.
#[derive(Debug, Clone)]
struct TargetState {
    key: AddressKey,
    tracker: HealthTracker,
    schedule: Schedule,
    since: Instant,
    last_check: Option<CheckResult>,
    checks_passed: u64,
    checks_failed: u64,
}

/// One record and the targets of its addresses.
#[derive(Debug, Clone)]
struct RecordEntry {
    record: Record,
    /// `layout[server][address]`: the target of each configured address.
    layout: Vec<Vec<TargetId>>,
}

/// Health and schedule of every address of every record, and the decisions
/// they lead to. Pure state: time comes in as [`Instant`]s from the caller.
///
/// Each (record, server, address) is one target: the same address in two
/// records is checked separately, because the records' checks may differ.
/// (The configuration allows an address only once within a record.)
#[derive(Debug, Clone, Default)]
pub struct Engine {
    /// In configuration order.
    records: Vec<RecordEntry>,
    /// Where each record is in `records`.
    by_name: HashMap<Name, usize>,
    targets: HashMap<TargetId, TargetState>,
    next_id: u64,
    /// The operator's drains and pins.
    overrides: Overrides,
}

impl Engine {
    /// An engine for `config` with every address unknown and the first
    /// checks due from `now` on, spread evenly (see [`first_check_offset`]).
    pub fn new(config: &Config, now: Instant) -> Self {
        let mut engine = Engine::default();
        engine.reconfigure(config, now);
        engine
    }

    /// Applies a new configuration. An address whose record, server, address
    /// and check are unchanged keeps its id, health, counters and schedule
    /// (new thresholds and interval apply from its next result on); new ones
    /// start unknown with their first checks spread from `now` on; removed
    /// ones are forgotten.
    pub fn reconfigure(&mut self, config: &Config, now: Instant) -> Reconfigured {
        let mut old_targets = std::mem::take(&mut self.targets);
        let mut old_by_key: HashMap<AddressKey, TargetId> = old_targets
            .iter()
            .map(|(id, state)| (state.key.clone(), *id))
            .collect();
        let old_records: HashMap<Name, Record> = std::mem::take(&mut self.records)
            .into_iter()
            .map(|entry| (entry.record.name.clone(), entry.record))
            .collect();
        let mut changes = Reconfigured::default();
        let mut records = Vec::with_capacity(config.records.len());
        for record in &config.records {
            let old_record = old_records.get(&record.name);
            match old_record {
                None => changes.records_added.push(record.name.clone()),
                Some(old) if old != record => changes.records_changed.push(record.name.clone()),
                Some(_) => {}
            }
            let same_check = old_record.is_some_and(|old| old.check == record.check);
            let mut layout = Vec::with_capacity(record.servers.len());
            for server in &record.servers {
                let mut server_layout = Vec::with_capacity(server.addresses.len());
                for address in &server.addresses {
                    let key = AddressKey {
                        record: record.name.clone(),
                        server: server.name.clone(),
                        address: *address,
                    };
                    let kept = old_by_key
                        .remove(&key)
                        .filter(|_| same_check)
                        .and_then(|id| old_targets.remove(&id).map(|state| (id, state)));
                    let (id, state) = match kept {
                        Some((id, mut state)) => {
                            state
                                .tracker
                                .set_thresholds(record.timing.rise, record.timing.fall);
                            state.schedule.set_interval(record.timing.interval, now);
                            (id, state)
                        }
                        None => {
                            let id = TargetId(self.next_id);
                            self.next_id += 1;
                            changes.added.push(id);
                            (id, new_target(key, record, now))
                        }
                    };
                    self.targets.insert(id, state);
                    server_layout.push(id);
                }
                layout.push(server_layout);
            }
            records.push(RecordEntry {
                record: record.clone(),
                layout,
            });
        }
        changes.removed = old_targets.into_keys().collect();
        changes.removed.sort();
        changes.records_removed = old_records
            .into_keys()
            .filter(|name| !config.records.iter().any(|r| r.name == *name))
            .collect();
        changes.records_removed.sort();
        self.by_name = records
            .iter()
            .enumerate()
            .map(|(index, entry)| (entry.record.name.clone(), index))
            .collect();
        self.records = records;
        self.spread_first_checks(&changes.added, now);
        changes
    }

    /// Spreads the first checks of `added` evenly over the start.
    fn spread_first_checks(&mut self, added: &[TargetId], now: Instant) {
        let count = added.len();
        for (index, id) in added.iter().enumerate() {
            let state = self.targets.get_mut(id).expect("added target");
            let interval = state.schedule.interval();
            let first_due = now + first_check_offset(index, count, interval);
            state.schedule = Schedule::new(interval, first_due);
        }
    }

    /// The records, in configuration order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = &Record> {
        self.records.iter().map(|entry| &entry.record)
    }

    /// The record with this owner name.
    pub fn record(&self, name: &Name) -> Option<&Record> {
        self.entry(name).map(|entry| &entry.record)
    }

    fn entry(&self, name: &Name) -> Option<&RecordEntry> {
        self.by_name.get(name).map(|index| &self.records[*index])
    }

    /// Every address to check, in configuration order.
    pub fn targets(&self) -> impl Iterator<Item = Target<'_>> {
        self.records.iter().flat_map(move |entry| {
            entry
                .layout
                .iter()
                .flatten()
                .map(move |id| self.target_of(entry, *id))
        })
    }

    /// How many addresses are checked.
    pub fn target_count(&self) -> usize {
        self.targets.len()
    }

    /// One address to check; `None` when `id` is not (or no longer) one.
    pub fn target(&self, id: TargetId) -> Option<Target<'_>> {
        let state = self.targets.get(&id)?;
        let entry = self.entry(&state.key.record)?;
        Some(self.target_of(entry, id))
    }

    fn target_of<'a>(&'a self, entry: &'a RecordEntry, id: TargetId) -> Target<'a> {
        let state = &self.targets[&id];
        Target {
            id,
            record: &entry.record,
            server: &state.key.server,
            address: state.key.address,
        }
    }

    /// The identity of one address.
    pub fn key(&self, id: TargetId) -> Option<&AddressKey> {
        self.targets.get(&id).map(|state| &state.key)
    }

    /// The current health of one address (unknown for an id not in use).
    pub fn health(&self, id: TargetId) -> Health {
        self.targets
            .get(&id)
            .map_or(Health::Unknown, |state| state.tracker.health())
    }

    /// Everything known of one address.
    pub fn address_state(&self, id: TargetId) -> Option<AddressState<'_>> {
        let state = self.targets.get(&id)?;
        Some(AddressState {
            id,
            address: state.key.address,
            health: state.tracker.health(),
            since: state.since,
            last_check: state.last_check.as_ref(),
            checks_passed: state.checks_passed,
            checks_failed: state.checks_failed,
        })
    }

    /// The targets of a record's addresses, `[server][address]` as configured.
    pub fn layout(&self, name: &Name) -> Option<&[Vec<TargetId>]> {
        self.entry(name).map(|entry| entry.layout.as_slice())
    }

    /// Records the result of a check, plans the next one, and returns the
    /// change of health, if any. A result for an id no longer in use (its
    /// address was removed while the check ran) is ignored.
    pub fn observe(&mut self, id: TargetId, result: CheckResult) -> Option<HealthChange> {
        let state = self.targets.get_mut(&id)?;
        let transition = state.tracker.observe(result.passed);
        let confirming = state.tracker.is_confirming();
        state
            .schedule
            .on_check_finished(result.started, result.finished, confirming);
        if result.passed {
            state.checks_passed += 1;
        } else {
            state.checks_failed += 1;
        }
        let finished = result.finished;
        state.last_check = Some(result);
        let transition = transition?;
        state.since = finished;
        Some(HealthChange {
            record: state.key.record.clone(),
            server: state.key.server.clone(),
            address: state.key.address,
            from: transition.from,
            to: transition.to,
        })
    }

    /// A kept connection to the address was reset by the server at `now`.
    /// For an address that is up this makes a check due now, at most once per
    /// interval; otherwise checks already run as fast as they should. Returns
    /// whether the schedule changed. A check already running when the
    /// connection was lost plans the next one itself when its result arrives.
    pub fn connection_lost(&mut self, id: TargetId, now: Instant) -> bool {
        let Some(state) = self.targets.get_mut(&id) else {
            return false;
        };
        state.tracker.health() == Health::Up && state.schedule.on_connection_lost(now)
    }

    /// When the next check of this address should start; `None` for an id
    /// not in use.
    pub fn next_due(&self, id: TargetId) -> Option<Instant> {
        self.targets.get(&id).map(|state| state.schedule.next_due())
    }

    /// True once every address of the record has a verdict (false for a
    /// record that is not configured).
    pub fn is_warm(&self, name: &Name) -> bool {
        self.entry(name).is_some_and(|entry| {
            entry
                .layout
                .iter()
                .flatten()
                .all(|id| self.health(*id) != Health::Unknown)
        })
    }

    /// Decides both RRsets of a record; `None` when it is not configured.
    /// `published` holds what the nameserver publishes now: the A RRset, then
    /// the AAAA RRset (`None`: no RRset).
    pub fn decide(
        &self,
        name: &Name,
        published: [Option<&AddressRrset>; 2],
    ) -> Option<RecordDecision> {
        let entry = self.entry(name)?;
        let health: Vec<Vec<Health>> = entry
            .layout
            .iter()
            .map(|server| server.iter().map(|id| self.health(*id)).collect())
            .collect();
        let overrides = self.overrides.for_record(&entry.record);
        Some(decide_record_with(
            &entry.record,
            &health,
            published,
            &overrides,
        ))
    }

    /// The operator's overrides in force.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The overrides, to change; the caller decides the affected records again.
    pub fn overrides_mut(&mut self) -> &mut Overrides {
        &mut self.overrides
    }
}

/// A target that has never been checked.
fn new_target(key: AddressKey, record: &Record, now: Instant) -> TargetState {
    TargetState {
        key,
        tracker: HealthTracker::new(record.timing.rise, record.timing.fall),
        schedule: Schedule::new(record.timing.interval, now),
        since: now,
        last_check: None,
        checks_passed: 0,
        checks_failed: 0,
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
