//! The coordinator owns the engine. It turns check results into health,
//! health into decisions, and decisions into UPDATEs, one zone per message
//! (several when the changes would not fit in one).
//! Reads and updates run as tasks; their results come back here, so all
//! state lives in one place and needs no locks.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use hickory_proto::rr::Name;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::alarms::{Alarms, Condition, ConditionChange};
use super::backoff::retry_delay;
use super::batch;
use super::prober::ProbeEvent;
use crate::dns::{ApplyOutcome, Client, DnsError, RrsetChange, ZoneUpdate, MAX_CHANGE_BYTES};
use crate::engine::{Engine, FamilyDecision, TargetId};
use crate::vocabulary::{Family, Published};

/// How often every record is read again, to notice edits made behind the
/// agent's back and answers lost by a restarted nameserver.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Records read at once (two queries each): enough to start thousands of
/// records in seconds, few enough not to overflow BIND's TCP listen queue
/// (`tcp-listen-queue`, 10 by default), which stalls reads for seconds.
pub const MAX_CONCURRENT_READS: usize = 8;

/// What the agent knows of one record besides health.
#[derive(Debug, Default)]
struct RecordState {
    /// The zone, from the configuration or found by an SOA query.
    zone: Option<Name>,
    /// What the nameserver published when last read or updated; `None`
    /// means it must be read before anything is decided.
    published: Option<Published>,
    /// A read or an update of this record is in flight.
    busy: bool,
    /// The record waits in the read queue.
    queued: bool,
    /// Failed reads or updates in a row.
    failures: u32,
    /// Not before this time (backoff after a failure).
    retry_at: Option<Instant>,
    /// Conditions already reported.
    alarms: Alarms,
    /// The first decision after warm-up has been logged.
    settled: bool,
}

/// One RRset change and why, as sent in a zone's UPDATE.
#[derive(Debug, Clone)]
struct PlannedChange {
    record: usize,
    change: RrsetChange,
    server: String,
    reason: String,
}

/// A finished read or update.
enum TaskDone {
    Read {
        record: usize,
        result: Result<(Name, Published), DnsError>,
    },
    Update {
        zone: Name,
        planned: Vec<PlannedChange>,
        result: Result<ApplyOutcome, DnsError>,
    },
}

/// Owns the engine and every record's DNS state.
pub struct Coordinator {
    engine: Engine,
    client: Client,
    records: Vec<RecordState>,
    tasks: JoinSet<TaskDone>,
    /// Records whose decision must be made again.
    dirty: BTreeSet<usize>,
    /// Records waiting to be read, and how many reads are in flight.
    read_queue: VecDeque<usize>,
    reads_in_flight: usize,
    /// Records waiting for their backoff to pass.
    retries: BinaryHeap<Reverse<(Instant, usize)>>,
    next_refresh: Instant,
}

impl Coordinator {
    /// A coordinator for the engine's records; zones given in the
    /// configuration are taken as they are.
    pub fn new(engine: Engine, client: Client, now: Instant) -> Self {
        let records = engine
            .records()
            .iter()
            .map(|record| RecordState {
                zone: record.zone.clone(),
                queued: true,
                ..RecordState::default()
            })
            .collect::<Vec<_>>();
        let read_queue = (0..records.len()).collect();
        Coordinator {
            engine,
            client,
            records,
            tasks: JoinSet::new(),
            dirty: BTreeSet::new(),
            read_queue,
            reads_in_flight: 0,
            retries: BinaryHeap::new(),
            next_refresh: now + REFRESH_INTERVAL,
        }
    }

    /// Runs until `shutdown` turns true, then lets reads and updates in
    /// flight finish (each is bounded by the nameserver timeout).
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<ProbeEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        self.dispatch(Instant::now());
        loop {
            let wake = self.next_wake();
            tokio::select! {
                Some(event) = events.recv() => {
                    self.on_probe(event);
                    // Take whatever else is ready so that one decision covers it all.
                    while let Ok(event) = events.try_recv() {
                        self.on_probe(event);
                    }
                }
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Ok(done) = done {
                        self.on_task(done, Instant::now());
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            self.dispatch(Instant::now());
        }
        tracing::info!(
            in_flight = self.tasks.len(),
            "stopping: finishing DNS requests in flight"
        );
        while let Some(done) = self.tasks.join_next().await {
            if let Ok(done) = done {
                self.on_task(done, Instant::now());
            }
        }
    }

    fn next_wake(&self) -> Instant {
        let retry = self.retries.peek().map(|Reverse((at, _))| *at);
        retry.map_or(self.next_refresh, |at| at.min(self.next_refresh))
    }

    fn on_probe(&mut self, event: ProbeEvent) {
        match event {
            ProbeEvent::Checked {
                target,
                outcome,
                started,
                finished,
                next_due,
            } => {
                let change = self
                    .engine
                    .observe(target, outcome.healthy, started, finished);
                if let Some(change) = change {
                    tracing::info!(
                        record = %change.record,
                        server = %change.server,
                        address = %change.address,
                        from = %change.from,
                        to = %change.to,
                        check = %outcome.detail,
                        "health changed: {change} ({})", outcome.detail
                    );
                    self.dirty.insert(change.record_index);
                } else {
                    self.log_quiet_check(target, &outcome.detail, outcome.healthy);
                }
                let _ = next_due.send(self.engine.next_due(target));
            }
            ProbeEvent::ConnectionLost {
                target,
                at,
                next_due,
            } => {
                if self.engine.connection_lost(target, at) {
                    let address = self.engine.target(target).address;
                    tracing::debug!(%address, "kept connection lost: checking now");
                }
                let _ = next_due.send(self.engine.next_due(target));
            }
        }
    }

    fn log_quiet_check(&self, target: TargetId, detail: &str, healthy: bool) {
        if !healthy {
            let target = self.engine.target(target);
            tracing::debug!(record = %target.record.name, server = target.server, address = %target.address, "check failed: {detail}");
        }
    }

    fn on_task(&mut self, done: TaskDone, now: Instant) {
        match done {
            TaskDone::Read { record, result } => {
                self.reads_in_flight -= 1;
                let state = &mut self.records[record];
                state.busy = false;
                match result {
                    Ok((zone, published)) => {
                        state.zone = Some(zone);
                        state.published = Some(published);
                        state.failures = 0;
                        self.dirty.insert(record);
                    }
                    Err(error) => {
                        let name = &self.engine.records()[record].name;
                        tracing::warn!(record = %name, "cannot read what the nameserver publishes: {error}");
                        self.schedule_retry(record, now);
                    }
                }
            }
            TaskDone::Update {
                zone,
                planned,
                result,
            } => self.on_update(zone, planned, result, now),
        }
    }

    fn on_update(
        &mut self,
        zone: Name,
        planned: Vec<PlannedChange>,
        result: Result<ApplyOutcome, DnsError>,
        now: Instant,
    ) {
        let records: BTreeSet<usize> = planned.iter().map(|p| p.record).collect();
        for record in &records {
            self.records[*record].busy = false;
        }
        match result {
            Ok(outcome) => {
                for item in &planned {
                    log_applied(item, &outcome);
                    let state = &mut self.records[item.record];
                    state.failures = 0;
                    if let Some(published) = &mut state.published {
                        published.set(item.change.family, Some(item.change.desired.clone()));
                    }
                }
                self.dirty.extend(records);
            }
            Err(DnsError::Conflict { conflicts, .. }) => {
                for conflict in &conflicts {
                    tracing::warn!(record = %conflict.name, family = %conflict.family, zone = %zone, "update not applied: {conflict}");
                }
                for item in &planned {
                    let state = &mut self.records[item.record];
                    let now_published = conflicts
                        .iter()
                        .find(|c| c.name == item.change.name && c.family == item.change.family)
                        .map(|c| c.published.clone());
                    if let (Some(published), Some(rrset)) = (&mut state.published, now_published) {
                        published.set(item.change.family, rrset);
                    }
                }
                for record in records {
                    self.schedule_retry(record, now);
                }
            }
            Err(error) => {
                let names: Vec<String> = planned
                    .iter()
                    .map(|p| format!("{} {}", p.change.name, p.change.family))
                    .collect();
                if error.is_transient() {
                    tracing::warn!(zone = %zone, "update of {} failed, will retry: {error}", names.join(", "));
                } else {
                    tracing::error!(zone = %zone, "update of {} failed, will retry: {error}", names.join(", "));
                }
                for record in records {
                    // Whether it was applied is unknown: read before deciding again.
                    self.records[record].published = None;
                    self.schedule_retry(record, now);
                }
            }
        }
    }

    fn schedule_retry(&mut self, record: usize, now: Instant) {
        let state = &mut self.records[record];
        state.failures += 1;
        let at = now + retry_delay(state.failures);
        state.retry_at = Some(at);
        self.retries.push(Reverse((at, record)));
    }

    /// Starts the reads and updates that are due.
    fn dispatch(&mut self, now: Instant) {
        self.release_retries(now);
        if now >= self.next_refresh {
            self.next_refresh = now + REFRESH_INTERVAL;
            for record in 0..self.records.len() {
                if !self.records[record].busy {
                    self.queue_read(record);
                }
            }
        }
        self.start_reads();
        let mut zones: BTreeMap<Name, Vec<Vec<PlannedChange>>> = BTreeMap::new();
        for record in std::mem::take(&mut self.dirty) {
            if let Some((zone, planned)) = self.plan_record(record) {
                zones.entry(zone).or_default().push(planned);
            }
        }
        for (zone, records) in zones {
            let size = |planned: &PlannedChange| planned.change.max_wire_size();
            for planned in batch::pack(records, size, MAX_CHANGE_BYTES) {
                self.start_update(zone.clone(), planned);
            }
        }
    }

    fn release_retries(&mut self, now: Instant) {
        while let Some(Reverse((at, record))) = self.retries.peek().copied() {
            if at > now {
                break;
            }
            self.retries.pop();
            let state = &mut self.records[record];
            if state.retry_at == Some(at) {
                state.retry_at = None;
                if state.published.is_none() {
                    self.queue_read(record);
                } else {
                    self.dirty.insert(record);
                }
            }
        }
    }

    fn queue_read(&mut self, record: usize) {
        let state = &mut self.records[record];
        if !state.queued {
            state.queued = true;
            self.read_queue.push_back(record);
        }
    }

    fn start_reads(&mut self) {
        while self.reads_in_flight < MAX_CONCURRENT_READS {
            let Some(record) = self.read_queue.pop_front() else {
                break;
            };
            let state = &mut self.records[record];
            state.queued = false;
            if state.busy || state.retry_at.is_some() {
                continue;
            }
            state.busy = true;
            self.reads_in_flight += 1;
            let client = self.client.clone();
            let name = self.engine.records()[record].name.clone();
            let zone = state.zone.clone();
            self.tasks.spawn(async move {
                let result = read_record(&client, &name, zone).await;
                TaskDone::Read { record, result }
            });
        }
    }

    /// Decides one record; returns its zone and the changes to send.
    fn plan_record(&mut self, record: usize) -> Option<(Name, Vec<PlannedChange>)> {
        let state = &self.records[record];
        if state.busy || state.retry_at.is_some() || !self.engine.is_warm(record) {
            return None;
        }
        let published = state.published.clone()?;
        let zone = state.zone.clone()?;
        let decision = self
            .engine
            .decide(record, [published.v4.as_ref(), published.v6.as_ref()]);
        let name = self.engine.records()[record].name.clone();
        let mut planned = Vec::new();
        for (family, family_decision) in decision.iter() {
            self.report(record, &name, family, family_decision);
            if let FamilyDecision::Publish(publish) = family_decision {
                planned.push(PlannedChange {
                    record,
                    change: RrsetChange {
                        name: name.clone(),
                        family,
                        expected: published.get(family).cloned(),
                        desired: publish.rrset(),
                    },
                    server: publish.server.clone(),
                    reason: publish.reason.to_string(),
                });
            }
        }
        let state = &mut self.records[record];
        state.settled = true;
        if planned.is_empty() {
            return None;
        }
        state.busy = true;
        Some((zone, planned))
    }

    fn report(&mut self, record: usize, name: &Name, family: Family, decision: &FamilyDecision) {
        let state = &mut self.records[record];
        if !state.settled {
            if let FamilyDecision::InSync { server } = decision {
                tracing::info!(record = %name, %family, server = %server, "already publishes {server}: nothing to send");
            }
        }
        match state.alarms.note(family, decision) {
            Some(ConditionChange::Entered(Condition::AllDown)) => {
                tracing::error!(record = %name, %family, "every server is down: leaving DNS as it is (when_all_down: keep)");
            }
            Some(ConditionChange::Entered(Condition::Conflict(foreign))) => {
                let foreign: Vec<String> = foreign.iter().map(ToString::to_string).collect();
                tracing::error!(record = %name, %family, "the {family} RRset holds {} which no server of this record has: someone else edited it; not overwriting (set takeover: true to let dnsfailover replace it)", foreign.join(", "));
            }
            Some(ConditionChange::Cleared(condition)) => {
                tracing::info!(record = %name, %family, "no longer {}", describe(&condition));
            }
            Some(ConditionChange::Entered(Condition::Normal)) | None => {}
        }
    }

    fn start_update(&mut self, zone: Name, planned: Vec<PlannedChange>) {
        let client = self.client.clone();
        let update = ZoneUpdate {
            zone: zone.clone(),
            changes: planned.iter().map(|p| p.change.clone()).collect(),
        };
        self.tasks.spawn(async move {
            let result = client.apply(&update).await;
            TaskDone::Update {
                zone,
                planned,
                result,
            }
        });
    }
}

fn describe(condition: &Condition) -> &'static str {
    match condition {
        Condition::AllDown => "all down",
        Condition::Conflict(_) => "in conflict",
        Condition::Normal => "normal",
    }
}

fn log_applied(item: &PlannedChange, outcome: &ApplyOutcome) {
    let change = &item.change;
    let to: Vec<String> = change
        .desired
        .addresses
        .iter()
        .map(ToString::to_string)
        .collect();
    let from = change.expected.as_ref().map_or_else(
        || "nothing".to_string(),
        |rrset| {
            rrset
                .addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    let note = match outcome {
        ApplyOutcome::AppliedUnconfirmedAnswer { cause } => {
            format!(" (answer lost: {cause}; confirmed by reading back)")
        }
        _ => String::new(),
    };
    tracing::info!(
        record = %change.name,
        family = %change.family,
        server = %item.server,
        ttl = change.desired.ttl,
        "updated {} {}: {from} -> {} ({}){note}",
        change.name,
        change.family,
        to.join(", "),
        item.reason
    );
}

async fn read_record(
    client: &Client,
    name: &Name,
    zone: Option<Name>,
) -> Result<(Name, Published), DnsError> {
    let zone = match zone {
        Some(zone) => zone,
        None => client.find_zone(name).await?,
    };
    let published = client.read_addresses(name).await?;
    Ok((zone, published))
}
