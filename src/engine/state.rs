//! The engine: every checked address with its health and schedule, and the
//! decisions they lead to.

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use hickory_proto::rr::Name;

use crate::config::{Config, Record};
use crate::vocabulary::AddressRrset;

use super::decision::{decide_record, RecordDecision};
use super::health::{Health, HealthTracker};
use super::schedule::{first_check_offset, Schedule};

/// Identifies one checked address of one record. Only meaningful for the
/// [`Engine`] that handed it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(usize);

/// One address to check, as listed by [`Engine::targets`].
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Pass this back to [`Engine::observe`] and friends.
    pub id: TargetId,
    /// Index of the record in [`Config::records`].
    pub record_index: usize,
    /// The record, for its check and timing.
    pub record: &'a Record,
    /// The (first) server of the record that has this address.
    pub server: &'a str,
    /// The address to check.
    pub address: IpAddr,
}

/// A change of health of one address: one log line's worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    /// Index of the record in [`Config::records`]: its decision may change.
    pub record_index: usize,
    /// The record's owner name.
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

/// The state of one checked address.
#[derive(Debug, Clone)]
struct TargetState {
    record_index: usize,
    server_index: usize,
    address: IpAddr,
    tracker: HealthTracker,
    schedule: Schedule,
}

/// Health and schedule of every address of every record, and the decisions
/// they lead to. Pure state: time comes in as [`Instant`]s from the caller.
///
/// Each (record, address) pair is one target: the same address in two
/// records is checked separately, because the records' checks may differ.
/// An address listed twice within one record is one target.
#[derive(Debug, Clone)]
pub struct Engine {
    records: Vec<Record>,
    targets: Vec<TargetState>,
    /// `layout[record][server][address]`: the target of each configured address.
    layout: Vec<Vec<Vec<TargetId>>>,
}

impl Engine {
    /// An engine for `config` with every address unknown and the first
    /// checks due from `now` on, spread evenly (see [`first_check_offset`]).
    pub fn new(config: &Config, now: Instant) -> Self {
        let mut targets: Vec<TargetState> = Vec::new();
        let mut layout = Vec::with_capacity(config.records.len());
        for (record_index, record) in config.records.iter().enumerate() {
            let first_target = targets.len();
            let mut record_layout = Vec::with_capacity(record.servers.len());
            for (server_index, server) in record.servers.iter().enumerate() {
                let mut server_layout = Vec::with_capacity(server.addresses.len());
                for address in &server.addresses {
                    let existing = targets[first_target..]
                        .iter()
                        .position(|t| t.address == *address)
                        .map(|offset| first_target + offset);
                    let index = existing.unwrap_or_else(|| {
                        targets.push(TargetState {
                            record_index,
                            server_index,
                            address: *address,
                            tracker: HealthTracker::new(record.timing.rise, record.timing.fall),
                            schedule: Schedule::new(record.timing.interval, now),
                        });
                        targets.len() - 1
                    });
                    server_layout.push(TargetId(index));
                }
                record_layout.push(server_layout);
            }
            layout.push(record_layout);
        }
        let count = targets.len();
        for (index, target) in targets.iter_mut().enumerate() {
            let interval = config.records[target.record_index].timing.interval;
            let first_due = now + first_check_offset(index, count, interval);
            target.schedule = Schedule::new(interval, first_due);
        }
        Engine {
            records: config.records.clone(),
            targets,
            layout,
        }
    }

    /// The records, in configuration order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Every address to check.
    pub fn targets(&self) -> impl Iterator<Item = Target<'_>> {
        (0..self.targets.len()).map(|i| self.target(TargetId(i)))
    }

    /// One address to check.
    ///
    /// # Panics
    /// When `id` does not come from this engine.
    pub fn target(&self, id: TargetId) -> Target<'_> {
        let state = &self.targets[id.0];
        let record = &self.records[state.record_index];
        Target {
            id,
            record_index: state.record_index,
            record,
            server: &record.servers[state.server_index].name,
            address: state.address,
        }
    }

    /// The current health of one address.
    pub fn health(&self, id: TargetId) -> Health {
        self.targets[id.0].tracker.health()
    }

    /// Records the result of a check that ran from `started` to `finished`,
    /// plans the next one, and returns the change of health, if any.
    pub fn observe(
        &mut self,
        id: TargetId,
        success: bool,
        started: Instant,
        finished: Instant,
    ) -> Option<HealthChange> {
        let state = &mut self.targets[id.0];
        let transition = state.tracker.observe(success);
        let confirming = state.tracker.is_confirming();
        state
            .schedule
            .on_check_finished(started, finished, confirming);
        let transition = transition?;
        let record = &self.records[state.record_index];
        Some(HealthChange {
            record_index: state.record_index,
            record: record.name.clone(),
            server: record.servers[state.server_index].name.clone(),
            address: state.address,
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
        let state = &mut self.targets[id.0];
        state.tracker.health() == Health::Up && state.schedule.on_connection_lost(now)
    }

    /// When the next check of this address should start.
    pub fn next_due(&self, id: TargetId) -> Instant {
        self.targets[id.0].schedule.next_due()
    }

    /// The target whose check is due first (the lowest id among equals), or
    /// `None` when there are no targets.
    pub fn soonest_due(&self) -> Option<(TargetId, Instant)> {
        self.targets
            .iter()
            .enumerate()
            .map(|(i, state)| (TargetId(i), state.schedule.next_due()))
            .min_by_key(|(id, due)| (*due, *id))
    }

    /// True once every address of the record has a verdict.
    ///
    /// # Panics
    /// When `record_index` is not an index into the configuration's records.
    pub fn is_warm(&self, record_index: usize) -> bool {
        self.layout[record_index]
            .iter()
            .flatten()
            .all(|id| self.health(*id) != Health::Unknown)
    }

    /// Decides both RRsets of a record. `published` holds what the nameserver
    /// publishes now: the A RRset, then the AAAA RRset (`None`: no RRset).
    ///
    /// # Panics
    /// When `record_index` is not an index into the configuration's records.
    pub fn decide(
        &self,
        record_index: usize,
        published: [Option<&AddressRrset>; 2],
    ) -> RecordDecision {
        let health: Vec<Vec<Health>> = self.layout[record_index]
            .iter()
            .map(|server| server.iter().map(|id| self.health(*id)).collect())
            .collect();
        decide_record(&self.records[record_index], &health, published)
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
