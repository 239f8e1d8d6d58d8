//! The coordinator owns the engine. It turns check results into health,
//! health into decisions, and decisions into UPDATEs, one zone per message
//! (several when the changes would not fit in one).
//! Reads and updates run as tasks; their results come back here, so all
//! state lives in one place and needs no locks. Records are known by their
//! owner name, addresses by the engine's stable ids.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hickory_proto::rr::Name;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{self, JoinError, JoinSet};

use super::alarms::{Condition, ConditionChange};
use super::backoff::retry_delay;
use super::batch;
use super::certificates::{CertificateWarnings, WarningChange};
use super::clock::{self, now};
use super::followers::ExpectedRrset;
use super::nameserver::Nameserver;
use super::operator;
use super::primary_health::PrimariesHealth;
use super::prober::ProbeEvent;
use super::propagation::Round;
use super::read_queues::ReadQueues;
use super::record_state::{RecordState, UpdateReport};
use super::result_label;
use super::state_file;
use super::status::SnapshotPublisher;
use crate::config::Config;
use crate::dns::{ApplyOutcome, DnsError, RrsetChange, ZoneUpdate, MAX_CHANGE_BYTES};
use crate::engine::{CheckResult, Engine, FamilyDecision, PublishReason, TargetId, TargetKey};
use crate::event::{Event, EventKind};
use crate::notify::EventSink;
use crate::snapshot::{Snapshot, Timestamp, ZonePropagation};
use crate::statistics::Statistics;
use crate::vocabulary::{AddressList, Family, Published};

/// How often every record is read again, to notice edits made behind the
/// agent's back and answers lost by a restarted nameserver.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Records read at once from one primary (two queries each): enough to
/// start thousands of records in seconds, few enough not to overflow BIND's
/// TCP listen queue (`tcp-listen-queue`, 10 by default), which stalls reads
/// for seconds.
pub const MAX_CONCURRENT_READS: usize = 8;

/// One RRset change and why, as sent in a zone's UPDATE.
#[derive(Debug, Clone)]
struct PlannedChange {
    record: Name,
    change: RrsetChange,
    server: String,
    reason: String,
    /// The event its success is (failover, failback).
    event: Option<ChangeEvent>,
}

/// The failover or failback an applied change is.
#[derive(Debug, Clone)]
struct ChangeEvent {
    kind: EventKind,
    /// The server (or, for a pool, the servers) published before.
    before: Option<String>,
    /// The server the event is about, when not the one before (failover)
    /// or after (failback): the servers leaving or joining a pool.
    subject: Option<String>,
}

/// What a task in flight is doing: kept here, not in the task, so that a
/// task that panics can still be accounted for.
enum InFlight {
    Read {
        record: Name,
        primary: String,
    },
    Update {
        zone: Name,
        planned: Vec<PlannedChange>,
        started: Instant,
    },
}

impl InFlight {
    /// What the task does, for the log: "a read of NAME" or "an update of
    /// zone ZONE for NAME, ...".
    fn describe(&self) -> String {
        match self {
            InFlight::Read { record, .. } => format!("a read of {record}"),
            InFlight::Update { zone, planned, .. } => {
                let records: BTreeSet<String> =
                    planned.iter().map(|p| p.record.to_string()).collect();
                let records: Vec<String> = records.into_iter().collect();
                format!("an update of zone {zone} for {}", records.join(", "))
            }
        }
    }
}

/// How long a stopping agent waits for DNS requests in flight.
pub const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// What the agent asks of the coordinator besides check results.
pub enum Control<N> {
    /// Apply a new, validated configuration and talk to `nameserver` from
    /// now on; the reply lists the addresses to start and stop checking.
    Reconfigure {
        /// The new configuration.
        config: Box<Config>,
        /// The client built from it (its key re-read).
        nameserver: N,
        /// Where the outcome goes.
        reply: oneshot::Sender<Applied>,
    },
    /// A reload was refused; `problem` says why (for status).
    ReloadFailed {
        /// Every problem, one per line.
        problem: String,
    },
    /// An operator's request from the control socket (not `reload`).
    Operator {
        /// What is asked.
        request: crate::control::Request,
        /// Who asks.
        uid: u32,
        /// Where the answer goes.
        reply: oneshot::Sender<crate::control::Response>,
    },
}

/// The probers a new configuration needs started and stopped.
#[derive(Debug, Default)]
pub struct Applied {
    /// New addresses: their id, identity and first due time.
    pub start: Vec<(TargetId, TargetKey, Instant)>,
    /// Addresses no longer checked.
    pub stop: Vec<TargetId>,
}

/// What a finished task returns.
enum TaskResult {
    Read(Result<(Name, Published), DnsError>),
    Update(Result<ApplyOutcome, DnsError>),
}

/// Owns the engine and every record's DNS state.
pub struct Coordinator<N: Nameserver> {
    engine: Engine,
    nameserver: N,
    records: HashMap<Name, RecordState>,
    tasks: JoinSet<TaskResult>,
    in_flight: HashMap<task::Id, InFlight>,
    /// Records whose decision must be made again.
    dirty: BTreeSet<Name>,
    /// Records waiting to be read, and the reads in flight, per primary.
    read_queue: ReadQueues,
    /// Records waiting for their backoff to pass.
    retries: BinaryHeap<Reverse<(Instant, Name)>>,
    next_refresh: Instant,
    status: SnapshotPublisher,
    events: EventSink,
    /// This agent's name in events.
    agent: String,
    /// Reads and updates failing since they last worked, per primary.
    nameserver_health: PrimariesHealth,
    /// Counts of updates and durations of checks and updates.
    statistics: Statistics,
    /// Each checked address's handle into its record's check durations.
    check_durations: HashMap<TargetId, Histogram>,
    /// The addresses whose certificate is within its expiry warning.
    certificate_warnings: CertificateWarnings<TargetId>,
    /// Where applied updates go to be followed to the other nameservers,
    /// and what the follower reports back.
    propagation: Option<PropagationLink>,
    /// Where the overrides are kept across restarts (none: not kept).
    state_file: Option<PathBuf>,
}

/// The coordinator's end of the propagation tracker.
pub struct PropagationLink {
    /// One round per applied update.
    pub rounds: mpsc::UnboundedSender<Round>,
    /// What the tracker publishes.
    pub status: watch::Receiver<Arc<Vec<ZonePropagation>>>,
}

impl<N: Nameserver> Coordinator<N> {
    /// A coordinator for the engine's records, each to be read first; zones
    /// given in the configuration are taken as they are. `nameserver_label`
    /// names the primary in snapshots.
    pub fn new(engine: Engine, nameserver: N, nameserver_label: String, now: Instant) -> Self {
        let records: HashMap<Name, RecordState> = engine
            .records()
            .map(|record| (record.name.clone(), RecordState::new(record.zone.clone())))
            .collect();
        let (mut status, _) = SnapshotPublisher::new(nameserver_label);
        status.mark_all(records.keys());
        let mut coordinator = Coordinator {
            engine,
            nameserver,
            records,
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            dirty: BTreeSet::new(),
            read_queue: ReadQueues::default(),
            retries: BinaryHeap::new(),
            next_refresh: now + REFRESH_INTERVAL,
            status,
            events: EventSink::none(),
            agent: String::new(),
            nameserver_health: PrimariesHealth::default(),
            statistics: Statistics::default(),
            check_durations: HashMap::new(),
            certificate_warnings: CertificateWarnings::default(),
            propagation: None,
            state_file: None,
        };
        let names: Vec<Name> = coordinator
            .engine
            .records()
            .map(|r| r.name.clone())
            .collect();
        coordinator.assign_primaries();
        for name in names {
            coordinator.queue_read(&name);
        }
        coordinator
    }

    /// Notes in each record's state the primary that serves it.
    fn assign_primaries(&mut self) {
        for (name, state) in &mut self.records {
            state.primary = self.nameserver.primary_of(name);
        }
    }

    /// Emits events into `events`, naming this agent `agent`.
    pub fn with_events(mut self, events: EventSink, agent: String) -> Self {
        self.events = events;
        self.agent = agent;
        self
    }

    /// Hands each applied update to a propagation tracker and shows what it
    /// reports in the snapshots.
    pub fn with_propagation(mut self, propagation: PropagationLink) -> Self {
        self.propagation = Some(propagation);
        self
    }

    /// Keeps the overrides in the file at `path`, starting with those it
    /// holds that have not expired (written atomically after each change).
    pub fn with_state_file(mut self, path: PathBuf) -> Self {
        let loaded = state_file::load(&path, now(), SystemTime::now());
        for entry in loaded {
            tracing::info!(file = %path.display(), "override restored from {}: {}", path.display(), operator::describe(&entry));
            self.engine.overrides_mut().set(entry);
        }
        self.state_file = Some(path);
        self
    }

    /// The engine it owns, to read the schedule before it runs.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The counters and histograms this coordinator records into (clones
    /// share them).
    pub fn statistics(&self) -> &Statistics {
        &self.statistics
    }

    /// A receiver of the snapshots this coordinator publishes.
    pub fn snapshots(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.status.subscribe()
    }

    /// Runs until `shutdown` turns true, then lets reads and updates in
    /// flight finish (each is bounded by the nameserver timeout).
    pub async fn run(self, events: mpsc::Receiver<ProbeEvent>, shutdown: watch::Receiver<bool>) {
        let (_keep, control) = mpsc::channel(1);
        self.run_with_control(events, control, shutdown).await;
    }

    /// Like [`Coordinator::run`], also taking [`Control`] requests.
    pub async fn run_with_control(
        mut self,
        mut events: mpsc::Receiver<ProbeEvent>,
        mut control: mpsc::Receiver<Control<N>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        self.dispatch(now());
        loop {
            let wake = self.next_wake();
            tokio::select! {
                Some(request) = control.recv() => self.on_control(request, now()),
                Some(event) = events.recv() => {
                    self.on_probe(event);
                    // Take whatever else is ready so that one decision covers it all.
                    while let Ok(event) = events.try_recv() {
                        self.on_probe(event);
                    }
                }
                Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.on_task(done, now());
                }
                Some(status) = propagation_changed(&mut self.propagation) => {
                    self.status.note_propagation(status);
                }
                _ = clock::sleep_until(wake) => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            self.dispatch(now());
        }
        self.finish_in_flight().await;
        self.publish_status(now(), true);
    }

    /// Lets the reads and updates in flight finish, for at most
    /// [`STOP_DEADLINE`]; what is still running then is abandoned and logged.
    async fn finish_in_flight(&mut self) {
        let in_flight = self.tasks.len();
        tracing::info!(
            in_flight,
            "stopping: finishing {in_flight} DNS request(s) in flight"
        );
        let deadline = now() + STOP_DEADLINE;
        loop {
            tokio::select! {
                done = self.tasks.join_next_with_id() => match done {
                    Some(done) => self.on_task(done, now()),
                    None => return,
                },
                _ = clock::sleep_until(deadline) => break,
            }
        }
        for in_flight in self.in_flight.values() {
            tracing::warn!(
                "stopping: abandoned {} after {} s; its outcome is unknown until the next start reads DNS again",
                in_flight.describe(),
                STOP_DEADLINE.as_secs()
            );
        }
        self.tasks.abort_all();
    }

    fn on_control(&mut self, request: Control<N>, now: Instant) {
        match request {
            Control::Reconfigure {
                config,
                nameserver,
                reply,
            } => {
                let applied = self.reconfigure(&config, nameserver, now);
                let _ = reply.send(applied);
            }
            Control::ReloadFailed { problem } => self.status.note_reload(false, problem),
            Control::Operator {
                request,
                uid,
                reply,
            } => {
                let outcome =
                    operator::apply(&mut self.engine, request, uid, now, SystemTime::now());
                self.overrides_changed(outcome.affected, outcome.changed);
                let _ = reply.send(outcome.response);
            }
        }
    }

    /// The overrides changed for `affected`: decide them again (at most one
    /// UPDATE each follows) and, when `save`, write the state file.
    fn overrides_changed(&mut self, affected: Vec<Name>, save: bool) {
        for name in affected {
            self.status.mark(&name);
            self.dirty.insert(name);
        }
        self.status.note_overrides();
        if !save {
            return;
        }
        let Some(path) = &self.state_file else {
            return;
        };
        if let Err(error) = state_file::save(path, self.engine.overrides().entries()) {
            tracing::error!(file = %path.display(), "cannot write the state file {}: {error}; the overrides hold until the agent stops", path.display());
        }
    }

    /// Ends the overrides whose time is up.
    fn expire_overrides(&mut self, now: Instant) {
        let expired = self.engine.overrides_mut().expire(now);
        if expired.is_empty() {
            return;
        }
        let mut affected = Vec::new();
        for entry in &expired {
            operator::audit(&format!("expired: {}", operator::describe(entry)), entry);
            affected.extend(operator::affected_by(&self.engine, entry));
        }
        self.overrides_changed(affected, true);
    }

    /// Applies a new configuration: addresses still there keep their health,
    /// new ones warm up, removed ones are forgotten; records that changed are
    /// decided again (at most one UPDATE each), the others are left alone.
    fn reconfigure(&mut self, config: &Config, nameserver: N, now: Instant) -> Applied {
        let old_zones: HashMap<Name, Option<Name>> = self
            .engine
            .records()
            .map(|record| (record.name.clone(), record.zone.clone()))
            .collect();
        let changes = self.engine.reconfigure(config, now);
        for name in &changes.records_removed {
            if let Some(state) = self.records.remove(name) {
                if self
                    .nameserver_health
                    .of(&state.primary)
                    .update_settled(name, false)
                {
                    self.announce_recovery(&state.primary);
                }
            }
            self.statistics.record_removed(&name.to_string());
            self.status.mark(name);
        }
        self.nameserver = nameserver;
        self.follow_new_primaries();
        for name in &changes.records_added {
            let zone = self.engine.record(name).and_then(|r| r.zone.clone());
            let mut added = RecordState::new(zone);
            added.primary = self.nameserver.primary_of(name);
            self.records.insert(name.clone(), added);
            self.status.mark(name);
            self.queue_read(name);
        }
        for name in &changes.records_changed {
            let zone = self.engine.record(name).and_then(|r| r.zone.clone());
            let zone_changed = old_zones.get(name).is_some_and(|old| *old != zone);
            if zone_changed && self.records.get(name).is_some_and(|s| !s.busy) {
                // Another zone: what was read is of no use.
                let mut fresh = RecordState::new(zone);
                fresh.primary = self.nameserver.primary_of(name);
                self.records.insert(name.clone(), fresh);
                self.queue_read(name);
            } else {
                self.dirty.insert(name.clone());
            }
            self.status.mark(name);
        }
        tracing::info!(
            records = self.engine.records().len(),
            addresses = self.engine.address_count(),
            "configuration reloaded: {} records ({} added, {} removed, {} changed), {} addresses, {} checks of addresses ({} new, {} no longer run)",
            self.engine.records().len(),
            changes.records_added.len(),
            changes.records_removed.len(),
            changes.records_changed.len(),
            self.engine.address_count(),
            self.engine.target_count(),
            changes.added.len(),
            changes.removed.len(),
        );
        for id in &changes.removed {
            self.check_durations.remove(id);
            self.certificate_warnings.forget(id);
        }
        self.status.note_reload(true, String::new());
        Applied {
            start: changes
                .added
                .iter()
                .filter_map(|id| {
                    Some((
                        *id,
                        self.engine.target_key(*id)?,
                        self.engine.next_due(*id)?,
                    ))
                })
                .collect(),
            stop: changes.removed,
        }
    }

    /// After a reload: each record's primary as the new nameservers say; a
    /// record's failing update follows it to its new primary, and the
    /// health of primaries no record goes to any more is forgotten.
    fn follow_new_primaries(&mut self) {
        let mut recovered = Vec::new();
        for (name, state) in &mut self.records {
            let primary = self.nameserver.primary_of(name);
            if primary != state.primary {
                if self.nameserver_health.moved(name, &state.primary, &primary) {
                    recovered.push(state.primary.clone());
                }
                state.primary = primary;
            }
        }
        for primary in recovered {
            self.announce_recovery(&primary);
        }
        let kept = self.records.values().map(|s| s.primary.clone()).collect();
        self.nameserver_health.retain(&kept);
    }

    fn next_wake(&self) -> Instant {
        let retry = self.retries.peek().map(|Reverse((at, _))| *at);
        [
            retry,
            self.status.due(),
            self.engine.overrides().next_expiry(),
        ]
        .into_iter()
        .flatten()
        .fold(self.next_refresh, Instant::min)
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
                let result = CheckResult {
                    passed: outcome.healthy,
                    detail: outcome.detail,
                    started,
                    finished,
                    certificate_expires: outcome.certificate_expires,
                };
                let passed = result.passed;
                let warning = self
                    .certificate_warnings
                    .note(target, passed, outcome.warning);
                if let Some(warning) = warning {
                    self.certificate_warning_changed(target, warning);
                }
                self.observe_check_duration(target, finished.saturating_duration_since(started));
                let change = self.engine.observe(target, result);
                if let Some(change) = change {
                    tracing::info!(
                        record = %change.record,
                        server = %change.server,
                        address = %change.address,
                        from = %change.from,
                        to = %change.to,
                        checks = %change.checks.join(","),
                        "health changed: {change} ({})",
                        change.cause
                    );
                    self.dirty.insert(change.record.clone());
                } else if !passed {
                    self.log_quiet_failure(target);
                }
                if let Some(key) = self.engine.key(target) {
                    self.status.mark(&key.record);
                }
                let _ = next_due.send(self.engine.next_due(target));
            }
            ProbeEvent::ConnectionLost {
                target,
                at,
                next_due,
            } => {
                if self.engine.connection_lost(target, at) {
                    if let Some(target) = self.engine.target(target) {
                        tracing::debug!(record = %target.record.name, server = target.server, address = %target.address, "kept connection to {} of {} lost: checking now", target.address, target.record.name);
                    }
                }
                let _ = next_due.send(self.engine.next_due(target));
            }
        }
    }

    /// Logs a certificate warning that began or ended, and sends an event
    /// when it began.
    fn certificate_warning_changed(&self, target: TargetId, change: WarningChange) {
        let Some(key) = self.engine.key(target) else {
            return;
        };
        match change {
            WarningChange::Began(warning) => {
                let text = format!(
                    "{} server {} address {}: {warning}",
                    key.record, key.server, key.address
                );
                tracing::warn!(record = %key.record, server = %key.server, address = %key.address, "{text}");
                self.emit(
                    EventKind::CertificateExpiring,
                    None,
                    text,
                    warning,
                    |event| {
                        event.record = Some(key.record.to_string());
                        event.server = Some(key.server.clone());
                    },
                );
            }
            WarningChange::Ended => tracing::info!(
                record = %key.record, server = %key.server, address = %key.address,
                "{} server {} address {}: the certificate is no longer within its expiry warning",
                key.record, key.server, key.address
            ),
        }
    }

    fn observe_check_duration(&mut self, target: TargetId, duration: Duration) {
        let histogram = match self.check_durations.entry(target) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let Some(key) = self.engine.key(target) else {
                    return;
                };
                entry.insert(self.statistics.check_durations(&key.record.to_string()))
            }
        };
        histogram.observe(duration.as_secs_f64());
    }

    fn last_detail(&self, target: crate::engine::TargetId) -> String {
        self.engine
            .address_state(target)
            .and_then(|state| {
                let check = state.checks.iter().find(|check| check.id == target)?;
                check.last_check.map(|result| result.detail.clone())
            })
            .unwrap_or_default()
    }

    /// A failed check that changed nothing is logged at debug level only;
    /// on the hot path, nothing is looked up or copied unless that is on.
    fn log_quiet_failure(&self, target: crate::engine::TargetId) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        if let Some(found) = self.engine.target(target) {
            let detail = self.last_detail(target);
            tracing::debug!(record = %found.record.name, server = found.server, address = %found.address, check = found.check.label, "check {} of {} server {} address {} failed: {detail}", found.check.label, found.record.name, found.server, found.address);
        }
    }

    fn on_task(&mut self, done: Result<(task::Id, TaskResult), JoinError>, now: Instant) {
        let (id, result) = match done {
            Ok((id, result)) => (id, Ok(result)),
            Err(error) => (error.id(), Err(error)),
        };
        let Some(in_flight) = self.in_flight.remove(&id) else {
            return;
        };
        if let InFlight::Read { primary, .. } = &in_flight {
            self.read_queue.finished(primary);
        }
        match (in_flight, result) {
            (InFlight::Read { record, .. }, Ok(TaskResult::Read(result))) => {
                self.on_read(record, result, now)
            }
            (
                InFlight::Update {
                    zone,
                    planned,
                    started,
                },
                Ok(TaskResult::Update(result)),
            ) => self.on_update(zone, planned, started, result, now),
            (in_flight, Ok(_)) => {
                // A task returns the result its kind promises; anything else
                // is a bug, handled as a failed task.
                self.on_task_failure(in_flight, "returned the wrong kind of result".into(), now)
            }
            (in_flight, Err(error)) => {
                self.on_task_failure(in_flight, describe_join_error(error), now)
            }
        }
    }

    /// A read or update task panicked (or was cancelled): logged once as an
    /// error, and the record is handled as after a failure whose outcome is
    /// unknown, so that it is read again after the backoff.
    fn on_task_failure(&mut self, in_flight: InFlight, cause: String, now: Instant) {
        let (what, records) = match in_flight {
            InFlight::Read { record, .. } => ("a read", vec![record]),
            InFlight::Update { planned, .. } => {
                let records: BTreeSet<Name> = planned.into_iter().map(|p| p.record).collect();
                ("an update", records.into_iter().collect())
            }
        };
        let names: Vec<String> = records.iter().map(ToString::to_string).collect();
        tracing::error!(
            "{what} of {} {cause}; this is a bug in dnsfailover, please report it; the record(s) will be read again",
            names.join(", ")
        );
        for record in records {
            if let Some(state) = self.records.get_mut(&record) {
                state.busy = false;
                state.published = None;
                state.failed(format!("{what} {cause}"), now);
            }
            self.schedule_retry(&record, now);
        }
    }

    fn on_read(&mut self, record: Name, result: Result<(Name, Published), DnsError>, now: Instant) {
        let Some(state) = self.records.get_mut(&record) else {
            return;
        };
        let primary = state.primary.clone();
        let update_failing = self.nameserver_health.is_update_failing(&primary, &record);
        state.busy = false;
        self.status.mark(&record);
        match result {
            Ok((zone, published)) => {
                state.zone = Some(zone);
                state.published = Some(published);
                if !update_failing {
                    // Else the update's failure streak (and backoff) goes on.
                    state.succeeded();
                }
                self.dirty.insert(record);
                let reads_were_failing = self.nameserver_health.reads_failing(&primary);
                if self.nameserver_health.of(&primary).read_worked() {
                    self.announce_recovery(&primary);
                }
                if reads_were_failing {
                    self.retry_backing_off(Waiting::OfPrimary(&primary), now);
                }
            }
            Err(error) => {
                let server = primary_named(&primary);
                tracing::warn!(record = %record, nameserver = %primary, "cannot read what {server} publishes for {record}: {error}");
                state.failed(
                    format!("cannot read the record from {server}: {error}"),
                    now,
                );
                self.nameserver_health.of(&primary).read_failed();
                self.schedule_retry(&record, now);
            }
        }
    }

    fn on_update(
        &mut self,
        zone: Name,
        planned: Vec<PlannedChange>,
        started: Instant,
        result: Result<ApplyOutcome, DnsError>,
        now: Instant,
    ) {
        let records: BTreeSet<Name> = planned.iter().map(|p| p.record.clone()).collect();
        self.count_update(&zone, &result, now.saturating_duration_since(started));
        let report = |succeeded: bool, result: &str, detail: String| {
            Box::new(UpdateReport {
                at: now,
                duration: now.saturating_duration_since(started),
                succeeded,
                result: result.to_owned(),
                detail,
            })
        };
        for record in &records {
            self.status.mark(record);
            if let Some(state) = self.records.get_mut(record) {
                state.busy = false;
            }
        }
        match result {
            Ok(outcome) => {
                self.updates_answered(&records);
                self.retry_backing_off(Waiting::InZone(&zone), now);
                if outcome != ApplyOutcome::Unchanged {
                    self.follow(&zone, &planned, now);
                }
                for item in &planned {
                    let line = log_applied(item, &outcome);
                    self.emit_applied(item);
                    let Some(state) = self.records.get_mut(&item.record) else {
                        continue;
                    };
                    state.succeeded();
                    state.update_failed_event_at = None;
                    state.last_update =
                        Some(report(true, result_label::of_outcome(&outcome), line));
                    if let Some(published) = &mut state.published {
                        published.set(item.change.family, Some(item.change.desired.clone()));
                    }
                }
                self.dirty.extend(records);
            }
            Err(error @ DnsError::Conflict { .. }) => {
                let DnsError::Conflict { conflicts, .. } = &error else {
                    unreachable!("matched above");
                };
                // The server took the update and answered it: updates work.
                self.updates_answered(&records);
                for conflict in conflicts {
                    tracing::warn!(record = %conflict.name, family = %conflict.family, zone = %zone, "update of zone {zone} not applied: {conflict}");
                }
                for item in &planned {
                    let Some(state) = self.records.get_mut(&item.record) else {
                        continue;
                    };
                    let now_published = conflicts
                        .iter()
                        .find(|c| c.name == item.change.name && c.family == item.change.family)
                        .map(|c| c.published.clone());
                    if let (Some(published), Some(rrset)) = (&mut state.published, now_published) {
                        published.set(item.change.family, rrset);
                    }
                    state.last_update = Some(report(false, "conflict", error.to_string()));
                    // Not a failure of the nameserver, but a reason to wait
                    // before deciding again.
                    state.failures += 1;
                }
                for record in records {
                    self.schedule_retry(&record, now);
                }
            }
            Err(error) => {
                let names: Vec<String> = planned
                    .iter()
                    .map(|p| format!("{} {}", p.change.name, p.change.family))
                    .collect();
                let primary = self.primary_of(&records);
                let server = primary_named(&primary);
                if error.is_transient() {
                    tracing::warn!(zone = %zone, nameserver = %primary, "update of {} in zone {zone} at {server} failed, will retry: {error}", names.join(", "));
                } else {
                    tracing::error!(zone = %zone, nameserver = %primary, "update of {} in zone {zone} at {server} failed, will retry: {error}", names.join(", "));
                }
                let label = result_label::of_error(&error);
                for record in records {
                    self.nameserver_health
                        .of(&primary)
                        .update_failed(record.clone());
                    if let Some(state) = self.records.get_mut(&record) {
                        // Whether it was applied is unknown: read before deciding again.
                        state.published = None;
                        state.last_update = Some(report(false, label, error.to_string()));
                        state.failed(format!("update failed: {error}"), now);
                    }
                    self.emit_update_failed(&record, &zone, &error, now);
                    self.schedule_retry(&record, now);
                }
            }
        }
    }

    /// Hands an applied update to the propagation tracker.
    fn follow(&self, zone: &Name, planned: &[PlannedChange], now: Instant) {
        let Some(propagation) = &self.propagation else {
            return;
        };
        let round = Round {
            zone: zone.clone(),
            rrsets: planned
                .iter()
                .map(|item| ExpectedRrset {
                    name: item.change.name.clone(),
                    family: item.change.family,
                    rrset: Some(item.change.desired.clone()),
                })
                .collect(),
            applied_at: now,
        };
        // The tracker ends only after the coordinator: a failed send means shutdown.
        let _ = propagation.rounds.send(round);
    }

    /// Counts one finished UPDATE; one that found nothing to send is no UPDATE.
    fn count_update(&self, zone: &Name, result: &Result<ApplyOutcome, DnsError>, took: Duration) {
        let label = match result {
            Ok(ApplyOutcome::Unchanged) => return,
            Ok(outcome) => result_label::of_outcome(outcome),
            Err(error) => result_label::of_error(error),
        };
        self.statistics
            .update_finished(&zone.to_string(), label, took.as_secs_f64());
    }

    /// Backs off from a record after a failure recorded in its state.
    fn schedule_retry(&mut self, record: &Name, now: Instant) {
        let Some(state) = self.records.get_mut(record) else {
            return;
        };
        let at = now + retry_delay(state.failures.max(1));
        state.retry_at = Some(at);
        self.retries.push(Reverse((at, record.clone())));
    }

    /// Starts the reads and updates that are due, and publishes the status.
    fn dispatch(&mut self, now: Instant) {
        self.expire_overrides(now);
        self.release_retries(now);
        if now >= self.next_refresh {
            self.next_refresh = now + REFRESH_INTERVAL;
            let idle: Vec<Name> = self
                .records
                .iter()
                .filter(|(_, state)| !state.busy)
                .map(|(name, _)| name.clone())
                .collect();
            for name in idle {
                self.queue_read(&name);
            }
        }
        self.start_reads();
        let mut zones: BTreeMap<Name, Vec<Vec<PlannedChange>>> = BTreeMap::new();
        for record in std::mem::take(&mut self.dirty) {
            if let Some((zone, planned)) = self.plan_record(&record, now) {
                zones.entry(zone).or_default().push(planned);
            }
        }
        for (zone, records) in zones {
            let size = |planned: &PlannedChange| planned.change.max_wire_size();
            for planned in batch::pack(records, size, MAX_CHANGE_BYTES) {
                self.start_update(zone.clone(), planned, now);
            }
        }
        self.publish_status(now, false);
    }

    fn publish_status(&mut self, now: Instant, force: bool) {
        self.status.publish(&self.engine, &self.records, now, force);
    }

    fn release_retries(&mut self, now: Instant) {
        while let Some(Reverse((at, _))) = self.retries.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, record))) = self.retries.pop() else {
                break;
            };
            let Some(state) = self.records.get_mut(&record) else {
                continue;
            };
            if state.retry_at == Some(at) {
                state.retry_at = None;
                if state.published.is_none() {
                    self.queue_read(&record);
                } else {
                    self.dirty.insert(record);
                }
            }
        }
    }

    fn queue_read(&mut self, record: &Name) {
        if let Some(state) = self.records.get_mut(record) {
            if !state.queued {
                state.queued = true;
                self.read_queue.push(&state.primary, record.clone());
            }
        }
    }

    /// Starts the queued reads, up to [`MAX_CONCURRENT_READS`] per primary.
    fn start_reads(&mut self) {
        while let Some((primary, record)) = self.read_queue.next(MAX_CONCURRENT_READS) {
            let Some(state) = self.records.get_mut(&record) else {
                continue;
            };
            state.queued = false;
            if state.busy || state.retry_at.is_some() {
                continue;
            }
            state.busy = true;
            self.read_queue.started(&primary);
            let read = self.nameserver.read(record.clone(), state.zone.clone());
            let handle = self
                .tasks
                .spawn(async move { TaskResult::Read(read.await) });
            self.in_flight
                .insert(handle.id(), InFlight::Read { record, primary });
        }
    }

    /// Decides one record; returns its zone and the changes to send.
    fn plan_record(&mut self, record: &Name, now: Instant) -> Option<(Name, Vec<PlannedChange>)> {
        let state = self.records.get(record)?;
        let published = state.published.clone()?;
        let decision = self
            .engine
            .decide(record, [published.v4.as_ref(), published.v6.as_ref()])?;
        self.status.mark(record);
        if self.engine.overrides().failback_requested(record)
            && decision.iter().all(|(_, d)| d.publish().is_none())
        {
            // Done, or nothing to fail back to: a later failover is held again.
            self.engine.overrides_mut().failback_done(record);
        }
        let state = self.records.get_mut(record)?;
        state.decision = Some(Box::new(decision.clone()));
        if state.busy || state.retry_at.is_some() || !self.engine.is_warm(record) {
            return None;
        }
        let zone = state.zone.clone()?;
        let mut planned = Vec::new();
        for (family, family_decision) in decision.iter() {
            self.report(record, family, family_decision, now);
            if let FamilyDecision::Publish(publish) = family_decision {
                planned.push(PlannedChange {
                    record: record.clone(),
                    change: RrsetChange {
                        name: record.clone(),
                        family,
                        expected: published.get(family).cloned(),
                        desired: publish.rrset(),
                    },
                    server: publish.server.clone(),
                    reason: publish.reason.to_string(),
                    event: self.engine.record(record).and_then(|config| {
                        let before = published.get(family).and_then(|rrset| {
                            let servers = config.servers_publishing(&rrset.addresses);
                            let names: Vec<&str> =
                                servers.iter().map(|server| server.name.as_str()).collect();
                            (!names.is_empty()).then(|| names.join(", "))
                        });
                        change_event(&publish.reason, before)
                    }),
                });
            }
        }
        let state = self.records.get_mut(record)?;
        state.settled = true;
        if planned.is_empty() {
            let primary = state.primary.clone();
            if self.nameserver_health.is_update_failing(&primary, record) {
                // DNS already is as decided: the failed update needs no retry.
                state.succeeded();
                if self
                    .nameserver_health
                    .of(&primary)
                    .update_settled(record, false)
                {
                    self.announce_recovery(&primary);
                }
            }
            return None;
        }
        state.busy = true;
        Some((zone, planned))
    }

    fn report(&mut self, name: &Name, family: Family, decision: &FamilyDecision, now: Instant) {
        let Some(state) = self.records.get_mut(name) else {
            return;
        };
        if !state.settled {
            if let FamilyDecision::InSync { server, .. } = decision {
                tracing::info!(record = %name, %family, server = %server, "{name} {family} already publishes {server}: nothing to send");
            }
        }
        match state.alarms.note(family, decision, now) {
            Some(ConditionChange::Entered(Condition::AllDown)) => {
                let reason = "every server is down: leaving DNS as it is (when_all_down: keep)";
                tracing::error!(record = %name, %family, "{name} {family}: {reason}");
                self.emit(
                    EventKind::AllDown,
                    Some((name, family)),
                    format!("{name} {family}: every server is down"),
                    reason.to_owned(),
                    |_| {},
                );
            }
            Some(ConditionChange::Entered(Condition::Conflict(foreign))) => {
                let reason = format!("the {family} RRset holds {} which no server of this record has: someone else edited it; not overwriting (set takeover: true to let dnsfailover replace it)", AddressList(&foreign));
                tracing::error!(record = %name, %family, "{name}: {reason}");
                self.emit(
                    EventKind::Conflict,
                    Some((name, family)),
                    format!("{name} {family}: someone else edited the RRset; left alone"),
                    reason,
                    |_| {},
                );
            }
            Some(ConditionChange::Cleared(condition)) => {
                tracing::info!(record = %name, %family, "{name} {family} no longer {}", describe(&condition));
                if condition == Condition::AllDown {
                    self.emit(
                        EventKind::Recovered,
                        Some((name, family)),
                        format!("{name} {family}: a server is up again"),
                        "no longer all down".to_owned(),
                        |_| {},
                    );
                }
            }
            Some(ConditionChange::Entered(Condition::Normal)) | None => {}
        }
    }

    /// Emits an event of `kind` about `subject`; `fill` sets the other fields.
    fn emit(
        &self,
        kind: EventKind,
        subject: Option<(&Name, Family)>,
        text: String,
        reason: String,
        fill: impl FnOnce(&mut Event),
    ) {
        let mut event = Event::new(kind, text, reason, Timestamp::now(), &self.agent);
        if let Some((name, family)) = subject {
            event.record = Some(name.to_string());
            event.family = Some(family);
        }
        fill(&mut event);
        self.events.emit(event);
    }

    /// A failover or failback is in DNS.
    fn emit_applied(&self, item: &PlannedChange) {
        let Some(ChangeEvent {
            kind,
            before,
            subject,
        }) = &item.event
        else {
            return;
        };
        let change = &item.change;
        let verb = match kind {
            EventKind::Failover => "failed over",
            _ => "failed back",
        };
        let from = before.clone().unwrap_or_else(|| "?".to_owned());
        let text = format!(
            "{} {} {verb} from {from} to {}: {}",
            change.name, change.family, item.server, item.reason
        );
        let kind = *kind;
        self.emit(
            kind,
            Some((&change.name, change.family)),
            text,
            item.reason.clone(),
            |event| {
                event.from = before.clone();
                event.to = Some(item.server.clone());
                event.server = match (subject, kind) {
                    (Some(subject), _) => Some(subject.clone()),
                    (None, EventKind::Failover) => before.clone(),
                    (None, _) => Some(item.server.clone()),
                };
            },
        );
    }

    /// An update of `record` failed: the first failure, then at most once
    /// per backoff cap while it keeps failing.
    fn emit_update_failed(&mut self, record: &Name, zone: &Name, error: &DnsError, now: Instant) {
        let Some(state) = self.records.get_mut(record) else {
            return;
        };
        let due = state
            .update_failed_event_at
            .is_none_or(|at| now.saturating_duration_since(at) >= super::backoff::MAX_DELAY);
        if !due {
            return;
        }
        state.update_failed_event_at = Some(now);
        let failures = state.failures;
        let text =
            format!("the update of {record} in zone {zone} failed ({failures} in a row): {error}");
        self.emit(
            EventKind::UpdateFailed,
            None,
            text,
            error.to_string(),
            |event| {
                event.record = Some(record.to_string());
            },
        );
    }

    /// The server answered an UPDATE of `records` (applied or conflicting):
    /// their failures end, and reads work too.
    fn updates_answered(&mut self, records: &BTreeSet<Name>) {
        let primary = self.primary_of(records);
        let mut recovered = false;
        for record in records {
            recovered |= self
                .nameserver_health
                .of(&primary)
                .update_settled(record, true);
        }
        if recovered {
            self.announce_recovery(&primary);
        }
    }

    /// The primary of an update's records: one zone's, so all the same.
    fn primary_of(&self, records: &BTreeSet<Name>) -> String {
        records
            .first()
            .and_then(|record| self.records.get(record))
            .map_or_else(String::new, |state| state.primary.clone())
    }

    /// A read from a primary worked after its reads failed, or an UPDATE
    /// of a zone was applied: the nameserver answers again, so the records
    /// (of that primary or zone) waiting out a back-off after its failures
    /// (up to [`MAX_DELAY`](super::backoff::MAX_DELAY)) are retried now
    /// rather than up to 30 s later. A zone that refuses updates keeps its
    /// back-off, and so do the records of other primaries.
    fn retry_backing_off(&mut self, waiting: Waiting, now: Instant) {
        let waiting: Vec<Name> = self
            .records
            .iter()
            .filter(|(_, state)| match waiting {
                Waiting::InZone(zone) => state.zone.as_ref() == Some(zone),
                Waiting::OfPrimary(primary) => state.primary == primary,
            })
            .filter(|(_, state)| state.retry_at.is_some_and(|at| at > now))
            .map(|(name, _)| name.clone())
            .collect();
        for record in waiting {
            if let Some(state) = self.records.get_mut(&record) {
                state.retry_at = Some(now);
            }
            self.retries.push(Reverse((now, record)));
        }
    }

    /// Nothing fails any more at `primary` after failures: it is back.
    fn announce_recovery(&self, primary: &str) {
        let text = format!("{} answers again", primary_named(primary));
        tracing::info!(nameserver = %primary, "{text}");
        self.emit(
            EventKind::NameserverRecovered,
            None,
            text,
            "a read or update succeeded after failures".to_owned(),
            |event| {
                if !primary.is_empty() {
                    event.server = Some(primary.to_owned());
                }
            },
        );
    }

    fn start_update(&mut self, zone: Name, planned: Vec<PlannedChange>, now: Instant) {
        let update = ZoneUpdate {
            zone: zone.clone(),
            changes: planned.iter().map(|p| p.change.clone()).collect(),
        };
        let apply = self.nameserver.apply(update);
        let handle = self
            .tasks
            .spawn(async move { TaskResult::Update(apply.await) });
        self.in_flight.insert(
            handle.id(),
            InFlight::Update {
                zone,
                planned,
                started: now,
            },
        );
    }
}

/// The records whose back-off a working nameserver ends.
#[derive(Clone, Copy)]
enum Waiting<'a> {
    /// Those of the zone an update was applied to.
    InZone(&'a Name),
    /// Those of the primary a read worked from.
    OfPrimary(&'a str),
}

/// How logs name the primary labelled `primary`.
fn primary_named(primary: &str) -> String {
    if primary.is_empty() {
        "the nameserver".to_owned()
    } else {
        format!("the nameserver {primary}")
    }
}

/// The event an applied change with `reason` is, if any: a pool losing
/// servers is a failover, one gaining servers a failback.
fn change_event(reason: &PublishReason, before: Option<String>) -> Option<ChangeEvent> {
    let (kind, subject) = match reason {
        PublishReason::Failover { .. } => (EventKind::Failover, None),
        PublishReason::Failback { .. } => (EventKind::Failback, None),
        PublishReason::PoolChanged { removed, .. } if !removed.is_empty() => {
            (EventKind::Failover, Some(removed.join(", ")))
        }
        PublishReason::PoolChanged { added, .. } => (EventKind::Failback, Some(added.join(", "))),
        _ => return None,
    };
    Some(ChangeEvent {
        kind,
        before,
        subject,
    })
}

/// The tracker's next report; never, without a tracker or once it ended.
async fn propagation_changed(
    propagation: &mut Option<PropagationLink>,
) -> Option<Arc<Vec<ZonePropagation>>> {
    let Some(propagation) = propagation else {
        return std::future::pending().await;
    };
    match propagation.status.changed().await {
        Ok(()) => Some(propagation.status.borrow_and_update().clone()),
        Err(_) => std::future::pending().await,
    }
}

fn describe(condition: &Condition) -> &'static str {
    match condition {
        Condition::AllDown => "all down",
        Condition::Conflict(_) => "in conflict",
        Condition::Normal => "normal",
    }
}

/// "panicked: MESSAGE" or "was cancelled".
fn describe_join_error(error: JoinError) -> String {
    if error.is_cancelled() {
        return "was cancelled".to_owned();
    }
    let panic = error.into_panic();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    format!("panicked: {message}")
}

/// Logs one applied change; returns the sentence for status.
fn log_applied(item: &PlannedChange, outcome: &ApplyOutcome) -> String {
    let change = &item.change;
    let from = change.expected.as_ref().map_or_else(
        || "nothing".to_string(),
        |rrset| AddressList(&rrset.addresses).to_string(),
    );
    let note = match outcome {
        ApplyOutcome::AppliedUnconfirmedAnswer { cause } => {
            format!(" (answer lost: {cause}; confirmed by reading back)")
        }
        _ => String::new(),
    };
    let line = format!(
        "updated {} {}: {from} -> {} (server {}, ttl {}; {}){note}",
        change.name,
        change.family,
        AddressList(&change.desired.addresses),
        item.server,
        change.desired.ttl,
        item.reason
    );
    tracing::info!(
        record = %change.name,
        family = %change.family,
        server = %item.server,
        ttl = change.desired.ttl,
        "{line}"
    );
    line
}

#[cfg(test)]
#[path = "coordinator_tests.rs"]
mod tests;
