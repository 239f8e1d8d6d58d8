//! The engine: every checked address with its health and schedule, and the
//! decisions they lead to.
//!
//! Records are known by their owner name and addresses by [`AddressKey`]
//! (record, server, address), never by their position in the file, so that
//! [`Engine::reconfigure`] can apply a new configuration and keep what is
//! known of every address it still lists. An address with several checks is
//! one target per check, each with its own health and schedule; the
//! address's health is theirs combined (see [`super::address_health`]).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use hickory_proto::rr::Name;

use crate::config::{Check, Config, Record};
use crate::vocabulary::AddressRrset;

use super::address_health::{combined, explain, responsible, CheckVerdict};
use super::decision::{decide_record_with, RecordDecision};
use super::health::{Health, HealthTracker};
use super::overrides::Overrides;
use super::schedule::{first_check_offset, Schedule};

/// Identifies one check of one address. Handed out by one [`Engine`] and
/// never reused by it: a check of an address that a new configuration keeps
/// keeps its id, one it removes or changes takes its id along.
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

/// What makes one check of an address the same one across configurations:
/// the address's key and the check's label (and, for the engine, its spec).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    /// The address.
    pub address: AddressKey,
    /// The check's label, unique among the address's checks.
    pub check: String,
}

/// One check of one address, as listed by [`Engine::targets`].
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Pass this back to [`Engine::observe`] and friends.
    pub id: TargetId,
    /// The record the address belongs to.
    pub record: &'a Record,
    /// The server of the record that has this address.
    pub server: &'a str,
    /// The address to check.
    pub address: IpAddr,
    /// The check to run, with its timing.
    pub check: &'a Check,
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
#[derive(Debug, Clone)]
pub struct AddressState<'a> {
    /// The address.
    pub address: IpAddr,
    /// Its health: its checks' combined.
    pub health: Health,
    /// Since when it has had this health (for unknown: since it was added).
    pub since: Instant,
    /// The last result that tells most: of the first failing check while
    /// one is down, else the last one to finish.
    pub last_check: Option<&'a CheckResult>,
    /// Checks passed since the address was added, all its checks together.
    pub checks_passed: u64,
    /// Checks failed since the address was added, all its checks together.
    pub checks_failed: u64,
    /// Each of its checks, in configuration order.
    pub checks: Vec<CheckState<'a>>,
}

/// What the engine knows of one check of one address.
#[derive(Debug, Clone, Copy)]
pub struct CheckState<'a> {
    /// The check's id.
    pub id: TargetId,
    /// Its label, e.g. `smtp:25`.
    pub label: &'a str,
    /// Its health, with its own rise and fall.
    pub health: Health,
    /// Since when it has had this health.
    pub since: Instant,
    /// Its last result, once one has finished.
    pub last_check: Option<&'a CheckResult>,
    /// Times it passed since it was added.
    pub checks_passed: u64,
    /// Times it failed since it was added.
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
    /// The labels of the checks that make the new health: the ones down
    /// (to down), without a verdict (to unknown), all (to up).
    pub checks: Vec<String>,
    /// Why, in words: the detail of its only check's last result, or
    /// e.g. `smtp:25 failed: connection refused`.
    pub cause: String,
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
    /// Checks of addresses to start (new, or whose check changed).
    pub added: Vec<TargetId>,
    /// Checks of addresses no longer run.
    pub removed: Vec<TargetId>,
    /// Records that are new.
    pub records_added: Vec<Name>,
    /// Records that are gone.
    pub records_removed: Vec<Name>,
    /// Records still there whose configuration changed: decide them again.
    pub records_changed: Vec<Name>,
}

/// The state of one check of one address.
#[derive(Debug, Clone)]
struct TargetState {
    key: AddressKey,
    check: Check,
    /// Where its address is in its record's layout: server, address.
    slot: (usize, usize),
    tracker: HealthTracker,
    schedule: Schedule,
    since: Instant,
    last_check: Option<CheckResult>,
    checks_passed: u64,
    checks_failed: u64,
}

/// One address of a record: its checks and their combined health.
#[derive(Debug, Clone)]
struct AddressEntry {
    key: AddressKey,
    /// Its checks' targets, in configuration order.
    checks: Vec<TargetId>,
    health: Health,
    since: Instant,
}

/// One record and its addresses.
#[derive(Debug, Clone)]
struct RecordEntry {
    record: Record,
    /// `layout[server][address]`: each configured address.
    layout: Vec<Vec<AddressEntry>>,
}

/// Health and schedule of every address of every record, and the decisions
/// they lead to. Pure state: time comes in as [`Instant`]s from the caller.
///
/// Each (record, server, address, check) is one target: the same address in
/// two records is checked separately, because the records' checks may differ.
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

    /// Applies a new configuration. A check of an address whose record,
    /// server, address, label and check are unchanged keeps its id, health,
    /// counters and schedule (new thresholds and interval apply from its
    /// next result on); new or changed ones start unknown with their first
    /// checks spread from `now` on; removed ones are forgotten. An address
    /// whose combined health stays keeps its `since`.
    pub fn reconfigure(&mut self, config: &Config, now: Instant) -> Reconfigured {
        let mut old_targets = std::mem::take(&mut self.targets);
        let mut old_by_key: HashMap<(AddressKey, String), TargetId> = old_targets
            .iter()
            .map(|(id, state)| ((state.key.clone(), state.check.label.clone()), *id))
            .collect();
        let old_entries = std::mem::take(&mut self.records);
        let old_addresses: HashMap<AddressKey, (Health, Instant)> = old_entries
            .iter()
            .flat_map(|entry| entry.layout.iter().flatten())
            .map(|address| (address.key.clone(), (address.health, address.since)))
            .collect();
        let old_records: HashMap<Name, Record> = old_entries
            .into_iter()
            .map(|entry| (entry.record.name.clone(), entry.record))
            .collect();
        let mut changes = Reconfigured::default();
        let mut records = Vec::with_capacity(config.records.len());
        for record in &config.records {
            match old_records.get(&record.name) {
                None => changes.records_added.push(record.name.clone()),
                Some(old) if old != record => changes.records_changed.push(record.name.clone()),
                Some(_) => {}
            }
            let mut layout = Vec::with_capacity(record.servers.len());
            for (server_index, server) in record.servers.iter().enumerate() {
                let mut server_layout = Vec::with_capacity(server.addresses.len());
                for (address_index, address) in server.addresses.iter().enumerate() {
                    let key = AddressKey {
                        record: record.name.clone(),
                        server: server.name.clone(),
                        address: *address,
                    };
                    let slot = (server_index, address_index);
                    let mut checks = Vec::new();
                    for check in record.checks_of(server) {
                        let kept = old_by_key
                            .remove(&(key.clone(), check.label.clone()))
                            .filter(|id| old_targets[id].check.same_as(check))
                            .and_then(|id| old_targets.remove(&id).map(|state| (id, state)));
                        let (id, state) = match kept {
                            Some((id, mut state)) => {
                                state
                                    .tracker
                                    .set_thresholds(check.timing.rise, check.timing.fall);
                                state.schedule.set_interval(check.timing.interval, now);
                                state.check = check.clone();
                                state.slot = slot;
                                (id, state)
                            }
                            None => {
                                let id = TargetId(self.next_id);
                                self.next_id += 1;
                                changes.added.push(id);
                                (id, new_target(key.clone(), check, slot, now))
                            }
                        };
                        self.targets.insert(id, state);
                        checks.push(id);
                    }
                    let health =
                        combined(checks.iter().map(|id| self.targets[id].tracker.health()));
                    let since = match old_addresses.get(&key) {
                        Some((old_health, since)) if *old_health == health => *since,
                        _ => now,
                    };
                    server_layout.push(AddressEntry {
                        key,
                        checks,
                        health,
                        since,
                    });
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

    /// Every check of every address, in configuration order.
    pub fn targets(&self) -> impl Iterator<Item = Target<'_>> {
        self.records.iter().flat_map(move |entry| {
            entry
                .layout
                .iter()
                .flatten()
                .flat_map(|address| &address.checks)
                .map(move |id| self.target_of(entry, *id))
        })
    }

    /// How many checks of addresses are run (one per address and check).
    pub fn target_count(&self) -> usize {
        self.targets.len()
    }

    /// How many addresses are checked.
    pub fn address_count(&self) -> usize {
        self.records
            .iter()
            .map(|entry| entry.layout.iter().map(Vec::len).sum::<usize>())
            .sum()
    }

    /// One check of an address; `None` when `id` is not (or no longer) one.
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
            check: &state.check,
        }
    }

    /// The identity of the address a check belongs to.
    pub fn key(&self, id: TargetId) -> Option<&AddressKey> {
        self.targets.get(&id).map(|state| &state.key)
    }

    /// The identity of one check of an address.
    pub fn target_key(&self, id: TargetId) -> Option<TargetKey> {
        self.targets.get(&id).map(|state| TargetKey {
            address: state.key.clone(),
            check: state.check.label.clone(),
        })
    }

    /// The current health of one check of an address, by its own rise and
    /// fall (unknown for an id not in use).
    pub fn health(&self, id: TargetId) -> Health {
        self.targets
            .get(&id)
            .map_or(Health::Unknown, |state| state.tracker.health())
    }

    /// Everything known of the address that check `id` belongs to.
    pub fn address_state(&self, id: TargetId) -> Option<AddressState<'_>> {
        let address = self.address_of(id)?;
        Some(self.state_of(address))
    }

    /// Everything known of each address of a record, `[server][address]`
    /// as configured.
    pub fn address_states(&self, name: &Name) -> Option<Vec<Vec<AddressState<'_>>>> {
        let entry = self.entry(name)?;
        Some(
            entry
                .layout
                .iter()
                .map(|server| {
                    server
                        .iter()
                        .map(|address| self.state_of(address))
                        .collect()
                })
                .collect(),
        )
    }

    fn address_of(&self, id: TargetId) -> Option<&AddressEntry> {
        let state = self.targets.get(&id)?;
        let entry = self.entry(&state.key.record)?;
        let (server, address) = state.slot;
        entry.layout.get(server)?.get(address)
    }

    fn state_of<'a>(&'a self, address: &'a AddressEntry) -> AddressState<'a> {
        let checks: Vec<CheckState<'a>> = address
            .checks
            .iter()
            .map(|id| {
                let state = &self.targets[id];
                CheckState {
                    id: *id,
                    label: &state.check.label,
                    health: state.tracker.health(),
                    since: state.since,
                    last_check: state.last_check.as_ref(),
                    checks_passed: state.checks_passed,
                    checks_failed: state.checks_failed,
                }
            })
            .collect();
        let failing = checks
            .iter()
            .find(|check| check.health == Health::Down)
            .and_then(|check| check.last_check);
        let latest = checks
            .iter()
            .filter_map(|check| check.last_check)
            .max_by_key(|result| result.finished);
        AddressState {
            address: address.key.address,
            health: address.health,
            since: address.since,
            last_check: failing.or(latest),
            checks_passed: checks.iter().map(|check| check.checks_passed).sum(),
            checks_failed: checks.iter().map(|check| check.checks_failed).sum(),
            checks,
        }
    }

    /// Records the result of a check, plans the next one, and returns the
    /// change of health of its address, if any. A result for an id no
    /// longer in use (its address or check was removed while the check
    /// ran) is ignored.
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
        transition?;
        state.since = finished;
        self.address_changed(id, finished)
    }

    /// Recomputes the health of the address of check `id` after the
    /// check's own health changed; the change of the address, if any.
    fn address_changed(&mut self, id: TargetId, at: Instant) -> Option<HealthChange> {
        let state = self.targets.get(&id)?;
        let (server, address) = state.slot;
        let index = *self.by_name.get(&state.key.record)?;
        let entry = self.records[index].layout.get(server)?.get(address)?;
        let verdicts: Vec<CheckVerdict<'_>> = entry
            .checks
            .iter()
            .map(|id| {
                let state = &self.targets[id];
                CheckVerdict {
                    label: &state.check.label,
                    health: state.tracker.health(),
                    detail: state.last_check.as_ref().map(|r| r.detail.as_str()),
                }
            })
            .collect();
        let health = combined(verdicts.iter().map(|check| check.health));
        let from = entry.health;
        if health == from {
            return None;
        }
        let change = HealthChange {
            record: entry.key.record.clone(),
            server: entry.key.server.clone(),
            address: entry.key.address,
            from,
            to: health,
            checks: responsible(&verdicts, health)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            cause: explain(&verdicts, health),
        };
        let entry = &mut self.records[index].layout[server][address];
        entry.health = health;
        entry.since = at;
        Some(change)
    }

    /// A kept connection to the address was reset by the server at `now`.
    /// For a check that is up this makes it due now, at most once per
    /// interval; otherwise checks already run as fast as they should. Returns
    /// whether the schedule changed. A check already running when the
    /// connection was lost plans the next one itself when its result arrives.
    pub fn connection_lost(&mut self, id: TargetId, now: Instant) -> bool {
        let Some(state) = self.targets.get_mut(&id) else {
            return false;
        };
        state.tracker.health() == Health::Up && state.schedule.on_connection_lost(now)
    }

    /// When the next run of this check should start; `None` for an id not
    /// in use.
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
                .all(|address| address.health != Health::Unknown)
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
            .map(|server| server.iter().map(|address| address.health).collect())
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

/// A check of an address that has never run.
fn new_target(key: AddressKey, check: &Check, slot: (usize, usize), now: Instant) -> TargetState {
    TargetState {
        key,
        check: check.clone(),
        slot,
        tracker: HealthTracker::new(check.timing.rise, check.timing.fall),
        schedule: Schedule::new(check.timing.interval, now),
        since: now,
        last_check: None,
        checks_passed: 0,
        checks_failed: 0,
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "state_checks_tests.rs"]
mod checks_tests;
