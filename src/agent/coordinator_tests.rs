//! The coordinator driven with paused time, a scripted nameserver and
//! check results sent by the test.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::rr::Name;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::*;
use crate::agent::backoff::{INITIAL_DELAY, MAX_DELAY};
use crate::agent::scripted::{Fault, Scripted};
use crate::check::Outcome;
use crate::config::{
    AllDownPolicy, Check, CheckSpec, Config, Nameserver as NameserverConfig, Record, Server, Timing,
};
use crate::engine::TargetId;
use crate::notify::EventSink;
use crate::snapshot::{AlarmKind, DesiredState, RecordStatus};
use crate::statistics::Statistics;
use crate::vocabulary::{AddressRrset, KeySource, Transport};

const ZONE: &str = "example.test.";
const WEB1: &str = "192.0.2.1";
const WEB2: &str = "192.0.2.2";
const WWW: &str = "www.example.test.";

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address literal")
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("name")
}

/// A record in [`ZONE`] with web1 then web2 (rise 1, fall 1).
fn record(owner: &str) -> Record {
    Record {
        name: name(owner),
        zone: Some(name(ZONE)),
        ttl: 60,
        failover_ttl: None,
        mode: crate::config::PoolMode::Failover,
        max_addresses: 8,
        servers: vec![
            Server {
                name: "web1".into(),
                addresses: vec![ip(WEB1)],
                checks: None,
            },
            Server {
                name: "web2".into(),
                addresses: vec![ip(WEB2)],
                checks: None,
            },
        ],
        checks: vec![Check {
            label: "tcp:80".into(),
            spec: CheckSpec::Tcp { port: 80 },
            timing: Timing {
                interval: Duration::from_secs(1),
                timeout: Duration::from_millis(500),
                fall: 1,
                rise: 1,
            },
        }],
        when_all_down: AllDownPolicy::Keep,
        takeover: false,
        failback: crate::config::FailbackPolicy::Auto,
    }
}

fn config(records: Vec<Record>) -> Config {
    Config {
        nameservers: vec![NameserverConfig {
            address: "127.0.0.1:53".parse().expect("socket address"),
            key: KeySource::File {
                path: "/dev/null".into(),
                name: None,
            },
            transport: Transport::Tcp,
            timeout: Duration::from_secs(2),
            zones: None,
        }],
        records,
        http: None,
        notify: crate::config::Notify::default(),
        propagation: crate::config::Propagation::default(),
        control: crate::config::Control::default(),
    }
}

fn published(address: &str) -> Published {
    Published {
        v4: Some(AddressRrset::new([ip(address)], 60)),
        v6: None,
    }
}

/// `www.example.test.` published on web1 and in sync, both servers up.
async fn www_on_web1(server: &Scripted) -> Harness {
    server.state().data.insert(name(WWW), published(WEB1));
    let mut harness = Harness::start(&config(vec![record(WWW)]), server);
    harness.all(&[WWW], true, true).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    harness
}

/// `count` owner names in [`ZONE`].
fn owners(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("r{i:04}.example.test."))
        .collect()
}

/// A running coordinator and what the test needs to drive it.
struct Harness {
    events: mpsc::Sender<ProbeEvent>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    shutdown: watch::Sender<bool>,
    targets: HashMap<(Name, IpAddr), TargetId>,
    task: JoinHandle<()>,
    control: mpsc::Sender<Control<Scripted>>,
    statistics: Statistics,
}

impl Harness {
    fn start(config: &Config, server: &Scripted) -> Harness {
        Harness::start_with_events(config, server, EventSink::none())
    }

    fn start_with_events(config: &Config, server: &Scripted, events: EventSink) -> Harness {
        let engine = Engine::new(config, clock::now());
        let targets = engine
            .targets()
            .map(|t| ((t.record.name.clone(), t.address), t.id))
            .collect();
        let coordinator = Coordinator::new(engine, server.clone(), "scripted".into(), clock::now())
            .with_events(events, "test-agent".into());
        let snapshots = coordinator.snapshots();
        let statistics = coordinator.statistics().clone();
        let (events, receiver) = mpsc::channel(super::super::EVENT_QUEUE);
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let (control, control_receiver) = mpsc::channel(1);
        let task = tokio::spawn(coordinator.run_with_control(
            receiver,
            control_receiver,
            shutdown_receiver,
        ));
        Harness {
            events,
            snapshots,
            shutdown,
            targets,
            task,
            control,
            statistics,
        }
    }

    /// Sends the results of checks of these (record, address, passed), all
    /// queued before the coordinator looks, then waits for every answer.
    async fn checks(&self, results: &[(&str, &str, bool)]) {
        let mut replies = Vec::new();
        for (owner, address, passed) in results {
            let target = self.targets[&(name(owner), ip(address))];
            let (reply, answer) = oneshot::channel();
            let now = clock::now();
            let outcome = if *passed {
                Outcome::healthy("connected", Duration::ZERO)
            } else {
                Outcome::unhealthy("connection refused", Duration::ZERO)
            };
            self.events
                .try_send(ProbeEvent::Checked {
                    target,
                    outcome,
                    started: now,
                    finished: now,
                    next_due: reply,
                })
                .expect("event queue has room");
            replies.push(answer);
        }
        for answer in replies {
            answer.await.expect("the coordinator answers");
        }
    }

    /// The same result for every address of every record in `owners`.
    async fn all(&self, owners: &[&str], web1: bool, web2: bool) {
        let results: Vec<(&str, &str, bool)> = owners
            .iter()
            .flat_map(|owner| [(*owner, WEB1, web1), (*owner, WEB2, web2)])
            .collect();
        self.checks(&results).await;
    }

    /// Waits (on paused time, so instantly) until a snapshot satisfies `test`.
    async fn wait_for(&mut self, what: &str, test: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
        let waited = tokio::time::timeout(Duration::from_secs(3600), async {
            self.snapshots
                .wait_for(|s| test(s))
                .await
                .map(|s| s.clone())
        })
        .await;
        match waited {
            Ok(Ok(snapshot)) => snapshot,
            Ok(Err(_)) => panic!("the coordinator stopped before: {what}"),
            Err(_) => panic!(
                "never happened within an hour: {what}; last snapshot: {:#?}",
                self.snapshots.borrow()
            ),
        }
    }

    /// Waits until every record of `owners` publishes `address`.
    async fn wait_all_on(&mut self, owners: &[&str], address: &str) -> Arc<Snapshot> {
        let what = format!("{} record(s) on {address}", owners.len());
        self.wait_for(&what, |s| {
            owners.iter().all(|owner| publishes(s, owner, address))
        })
        .await
    }

    /// Applies `config` as a reload would; learns the new addresses' ids.
    async fn reconfigure(&mut self, config: &Config, server: &Scripted) -> Applied {
        let (reply, applied) = oneshot::channel();
        self.control
            .send(Control::Reconfigure {
                config: Box::new(config.clone()),
                nameserver: server.clone(),
                reply,
            })
            .await
            .expect("the coordinator runs");
        let applied = applied.await.expect("a reply");
        for (id, key, _) in &applied.start {
            self.targets
                .insert((key.address.record.clone(), key.address.address), *id);
        }
        applied
    }

    /// Sends an operator's request as the control socket would.
    async fn operator(
        &self,
        request: crate::control::Request,
        uid: u32,
    ) -> crate::control::Response {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Operator {
                request,
                uid,
                reply,
            })
            .await
            .expect("the coordinator runs");
        answer.await.expect("an answer")
    }

    async fn stop(self) {
        self.shutdown.send_replace(true);
        self.task.await.expect("the coordinator ends cleanly");
    }
}

fn record_in(snapshot: &Snapshot, owner: &str) -> RecordStatus {
    snapshot.record(owner).expect("record in snapshot").clone()
}

fn publishes(snapshot: &Snapshot, owner: &str, address: &str) -> bool {
    snapshot.record(owner).is_some_and(|record| {
        record.in_sync()
            && record
                .family(Family::V4)
                .is_some_and(|f| f.published.addresses == vec![ip(address)])
    })
}

#[tokio::test(start_paused = true)]
async fn fails_over_and_back_with_one_update_each() {
    let server = Scripted::new(ZONE);
    let mut harness = www_on_web1(&server).await;
    assert!(
        server.state().updates.is_empty(),
        "DNS was right: nothing sent"
    );

    harness.all(&[WWW], false, true).await;
    let snapshot = harness
        .wait_for("moved to web2", |s| publishes(s, WWW, WEB2))
        .await;
    let record = record_in(&snapshot, WWW);
    let update = record.last_update.expect("an update");
    assert!(update.succeeded);
    assert_eq!(update.result, "NOERROR");
    assert!(update.detail.contains("web1 is down"), "{}", update.detail);
    assert_eq!(record.servers[0].addresses[0].health.as_str(), "down");

    harness.all(&[WWW], true, true).await;
    harness
        .wait_for("back on web1", |s| publishes(s, WWW, WEB1))
        .await;
    assert_eq!(server.state().serial, 2, "one update each way");
    // The snapshot reads back from its JSON form as it was (to the
    // millisecond, the precision of its timestamps).
    let snapshot = harness.snapshots.borrow().clone();
    let json = serde_json::to_string(&*snapshot).expect("serializes");
    let read: Snapshot = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(serde_json::to_string(&read).unwrap(), json);
    assert_eq!(read.records.len(), snapshot.records.len());
    assert_eq!(read.version, crate::snapshot::SCHEMA_VERSION);
    let web1 = &read.record(WWW).unwrap().servers[0].addresses[0];
    assert_eq!((web1.checks_passed, web1.checks_failed), (2, 1));
    assert!(web1.last_check.as_ref().is_some_and(|c| c.passed));
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn counts_each_update_by_result_and_times_the_checks() {
    let server = Scripted::new(ZONE);
    let mut harness = www_on_web1(&server).await;
    server.state().update_faults = [Fault::Timeout].into();
    harness.all(&[WWW], false, true).await;
    harness
        .wait_for("moved to web2 after a retry", |s| publishes(s, WWW, WEB2))
        .await;
    let text = crate::http::metrics::encode(&harness.snapshots.borrow(), &harness.statistics)
        .expect("encodes");
    for sample in [
        r#"dnsfailover_updates_total{zone="example.test.",result="timeout"} 1"#,
        r#"dnsfailover_updates_total{zone="example.test.",result="NOERROR"} 1"#,
        r#"dnsfailover_update_duration_seconds_count{zone="example.test."} 2"#,
        // Two rounds of checks of two addresses.
        r#"dnsfailover_check_duration_seconds_count{record="www.example.test."} 4"#,
    ] {
        assert!(text.contains(sample), "{sample} missing from:\n{text}");
    }
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failed_reads_back_off_doubling_up_to_the_cap() {
    let server = Scripted::new(ZONE);
    let failures = 10;
    server.state().read_faults = std::iter::repeat_n(Fault::Timeout, failures).collect();
    let mut harness = Harness::start(&config(vec![record(WWW)]), &server);
    harness.all(&[WWW], true, true).await;
    let failing = harness
        .wait_for("the failures are reported", |s| {
            s.record(WWW)
                .and_then(|r| r.last_error.as_ref())
                .is_some_and(|e| e.failures >= 3)
        })
        .await;
    let record = record_in(&failing, WWW);
    assert!(record
        .alarms
        .iter()
        .any(|a| a.kind == AlarmKind::NameserverFailing));
    assert!(!failing.all_in_sync());
    harness
        .wait_for("read at last and published", |s| publishes(s, WWW, WEB1))
        .await;
    let reads: Vec<_> = server.state().reads.iter().map(|(at, _)| *at).collect();
    assert_eq!(reads.len(), failures + 1);
    for (attempt, pair) in reads.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let doublings = u32::try_from(attempt).unwrap().min(16);
        let ceiling = INITIAL_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY);
        assert!(
            gap >= ceiling / 2 && gap <= ceiling + Duration::from_millis(1),
            "gap {attempt}: {gap:?}, ceiling {ceiling:?}"
        );
    }
    let last_gap = reads[failures] - reads[failures - 1];
    assert!(
        last_gap >= MAX_DELAY / 2,
        "capped, not doubled forever: {last_gap:?}"
    );
    let recovered = harness.snapshots.borrow().clone();
    let record = record_in(&recovered, WWW);
    assert!(record.last_error.is_none() && record.alarms.is_empty());
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn records_backing_off_are_retried_as_soon_as_the_nameserver_answers_again() {
    let server = Scripted::new(ZONE);
    let other = "other.example.test.";
    server.state().data.insert(name(WWW), published(WEB1));
    server.state().data.insert(name(other), published(WEB1));
    let mut harness = Harness::start(&config(vec![record(WWW), record(other)]), &server);
    harness.all(&[WWW, other], true, true).await;
    harness.wait_all_on(&[WWW, other], WEB1).await;

    // The nameserver stops answering: www's update and the reads after it time out.
    let read_failures = 5;
    {
        let mut state = server.state();
        state.update_faults = [Fault::Timeout].into();
        state.read_faults = std::iter::repeat_n(Fault::Timeout, read_failures).collect();
    }
    harness.checks(&[(WWW, WEB1, false)]).await;
    harness
        .wait_for("www backs off", |s| {
            s.record(WWW)
                .and_then(|r| r.last_error.as_ref())
                .is_some_and(|e| e.failures > read_failures as u32)
        })
        .await;
    // www's next attempt is 8 to 16 s away; the nameserver answers again.
    harness.checks(&[(other, WEB1, false)]).await;
    harness
        .wait_for("other moved", |s| publishes(s, other, WEB2))
        .await;
    let answered = tokio::time::Instant::now();
    harness
        .wait_for("www moved", |s| publishes(s, WWW, WEB2))
        .await;
    let waited = answered.elapsed();
    assert!(
        waited < INITIAL_DELAY,
        "www waited {waited:?} after the nameserver answered again"
    );
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn reads_run_at_most_eight_at_once() {
    let server = Scripted::new(ZONE);
    server.state().read_latency = Duration::from_millis(50);
    let owners = owners(30);
    let records = owners.iter().map(|owner| record(owner)).collect();
    let mut harness = Harness::start(&config(records), &server);
    let owner_refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    harness.all(&owner_refs, true, true).await;
    harness.wait_all_on(&owner_refs, WEB1).await;
    {
        let state = server.state();
        assert_eq!(state.reads.len(), 30, "each record read once");
        assert_eq!(state.max_reads_running, MAX_CONCURRENT_READS);
    }
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_update_with_an_unknown_outcome_is_read_back_not_sent_again() {
    let server = Scripted::new(ZONE);
    let mut harness = www_on_web1(&server).await;
    server
        .state()
        .update_faults
        .push_back(Fault::ApplyThenLoseAnswer);
    harness.all(&[WWW], false, true).await;
    let unsure = harness
        .wait_for("the failed update is reported", |s| {
            s.record(WWW)
                .and_then(|r| r.last_update.as_ref())
                .is_some_and(|u| !u.succeeded)
        })
        .await;
    let record = record_in(&unsure, WWW);
    assert_eq!(record.last_update.unwrap().result, "unconfirmed");
    harness
        .wait_for("read back: web2 is published", |s| publishes(s, WWW, WEB2))
        .await;
    // A refresh later, still one update.
    tokio::time::sleep(REFRESH_INTERVAL * 2).await;
    {
        let state = server.state();
        assert_eq!(state.updates.len(), 1, "not sent again");
        assert_eq!(state.serial, 1);
        assert!(
            state.reads.len() >= 2,
            "read back after the unknown outcome"
        );
    }
    harness.stop().await;
}

/// Someone publishes an address of no configured server just before our update.
fn foreign_edit(data: &mut HashMap<Name, Published>) {
    data.insert(name(WWW), published("198.51.100.9"));
}

#[tokio::test(start_paused = true)]
async fn a_conflict_is_reported_and_not_overwritten() {
    let server = Scripted::new(ZONE);
    let mut harness = www_on_web1(&server).await;
    server.state().before_update = Some(foreign_edit);
    harness.all(&[WWW], false, true).await;
    let snapshot = harness
        .wait_for("the conflict is an alarm", |s| {
            s.record(WWW)
                .is_some_and(|r| r.alarms.iter().any(|a| a.kind == AlarmKind::Conflict))
        })
        .await;
    let record = record_in(&snapshot, WWW);
    let family = record.family(Family::V4).unwrap();
    assert_eq!(family.desired.state, DesiredState::Conflict);
    assert_eq!(family.published.addresses, vec![ip("198.51.100.9")]);
    assert!(!family.in_sync);
    assert_eq!(record.last_update.unwrap().result, "conflict");
    tokio::time::sleep(REFRESH_INTERVAL * 2).await;
    {
        let state = server.state();
        assert_eq!(state.updates.len(), 1, "the refused update only");
        assert!(!state.updates[0].applied);
        assert_eq!(state.serial, 0, "nothing overwritten");
    }
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn all_servers_down_leaves_dns_alone_and_raises_an_alarm() {
    let server = Scripted::new(ZONE);
    server.state().data.insert(name(WWW), published(WEB1));
    let mut harness = Harness::start(&config(vec![record(WWW)]), &server);
    harness.all(&[WWW], false, false).await;
    let snapshot = harness
        .wait_for("all down", |s| {
            s.record(WWW)
                .is_some_and(|r| r.alarms.iter().any(|a| a.kind == AlarmKind::AllDown))
        })
        .await;
    let record = record_in(&snapshot, WWW);
    let family = record.family(Family::V4).unwrap();
    assert_eq!(family.desired.state, DesiredState::AllDownKeep);
    assert_eq!(family.published.addresses, vec![ip(WEB1)]);
    assert!(!snapshot.all_in_sync(), "an alarm is not all right");
    assert!(server.state().updates.is_empty());
    // web2 comes back: one failover, the alarm clears.
    harness.checks(&[(WWW, WEB2, true)]).await;
    let snapshot = harness
        .wait_for("on web2", |s| publishes(s, WWW, WEB2))
        .await;
    assert!(record_in(&snapshot, WWW).alarms.is_empty());
    assert_eq!(server.state().serial, 1);
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_zone_change_too_big_for_one_message_is_split() {
    let server = Scripted::new(ZONE);
    let sample = RrsetChange {
        name: name("r0000.example.test."),
        family: Family::V4,
        expected: Some(AddressRrset::new([ip(WEB1)], 60)),
        desired: AddressRrset::new([ip(WEB2)], 60),
    };
    let count = MAX_CHANGE_BYTES / sample.max_wire_size() + 10;
    let owners = owners(count);
    for owner in &owners {
        server.state().data.insert(name(owner), published(WEB1));
    }
    let records = owners.iter().map(|owner| record(owner)).collect();
    let mut harness = Harness::start(&config(records), &server);
    let owner_refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    harness.all(&owner_refs, true, true).await;
    harness.wait_all_on(&owner_refs, WEB1).await;
    harness.all(&owner_refs, false, true).await;
    harness.wait_all_on(&owner_refs, WEB2).await;
    {
        let state = server.state();
        assert_eq!(state.updates.len(), 2, "{count} changes in two messages");
        let sizes: Vec<usize> = state
            .updates
            .iter()
            .map(|u| {
                u.update
                    .changes
                    .iter()
                    .map(RrsetChange::max_wire_size)
                    .sum()
            })
            .collect();
        assert!(
            sizes.iter().all(|size| *size <= MAX_CHANGE_BYTES),
            "{sizes:?}"
        );
        let changed: usize = state.updates.iter().map(|u| u.update.changes.len()).sum();
        assert_eq!(changed, count);
    }
    harness.stop().await;
}

/// A writer that keeps what the log says, for tests that read it.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_that_panics_is_logged_once_and_its_record_recovers() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = Scripted::new(ZONE);
    {
        let mut state = server.state();
        state.data.insert(name("a.example.test."), published(WEB1));
        state.data.insert(name("b.example.test."), published(WEB1));
        state.read_faults.push_back(Fault::Panic);
    }
    let owners = ["a.example.test.", "b.example.test."];
    let mut harness = Harness::start(&config(owners.iter().map(|o| record(o)).collect()), &server);
    harness.all(&owners, true, true).await;
    let panicked = harness
        .wait_for("the panic is reported", |s| {
            s.records.iter().any(|r| {
                r.last_error
                    .as_ref()
                    .is_some_and(|e| e.message.contains("panicked"))
            })
        })
        .await;
    let victim = panicked
        .records
        .iter()
        .find(|r| r.last_error.is_some())
        .map(|r| r.name.clone())
        .unwrap();
    harness.wait_all_on(&owners, WEB1).await;
    // The agent keeps working: a failover still happens.
    harness.all(&owners, false, true).await;
    harness.wait_all_on(&owners, WEB2).await;
    harness.stop().await;
    let text = log.text();
    let panic_lines: Vec<&str> = text.lines().filter(|l| l.contains("panicked")).collect();
    assert_eq!(panic_lines.len(), 1, "{text}");
    assert!(panic_lines[0].contains("ERROR"), "{}", panic_lines[0]);
    assert!(panic_lines[0].contains(&victim), "{}", panic_lines[0]);
}

/// A sink whose one queue the test reads.
fn event_queue() -> (
    EventSink,
    Arc<crate::notify::DropQueue<Arc<crate::event::Event>>>,
) {
    let queue = Arc::new(crate::notify::DropQueue::new(1000));
    let sink = EventSink::with_queues(vec![("test".into(), queue.clone())]);
    (sink, queue)
}

/// The kinds of the events queued so far, taken out of the queue.
async fn kinds(queue: &crate::notify::DropQueue<Arc<crate::event::Event>>) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    while !queue.is_empty() {
        let event = queue.pop().await.expect("an event");
        kinds.push(event.event.as_str());
    }
    kinds
}

#[tokio::test(start_paused = true)]
async fn events_follow_failover_failures_and_recovery() {
    let server = Scripted::new(ZONE);
    server.state().data.insert(name(WWW), published(WEB1));
    let (sink, queue) = event_queue();
    let mut harness = Harness::start_with_events(&config(vec![record(WWW)]), &server, sink);
    harness.all(&[WWW], true, true).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    assert!(kinds(&queue).await.is_empty(), "nothing happened yet");

    // Every update fails for two minutes: one update_failed, then one per 30 s.
    server.state().update_faults = std::iter::repeat_n(Fault::Timeout, 12).collect();
    harness.all(&[WWW], false, true).await;
    harness.wait_all_on(&[WWW], WEB2).await;
    let seen = kinds(&queue).await;
    let failed = seen.iter().filter(|k| **k == "update_failed").count();
    assert!((1..12).contains(&failed), "rate-limited: {seen:?}");
    assert_eq!(
        &seen[seen.len() - 2..],
        ["nameserver_recovered", "failover"],
        "{seen:?}"
    );
    let recovered = seen
        .iter()
        .filter(|k| **k == "nameserver_recovered")
        .count();
    assert_eq!(
        recovered, 1,
        "reads between the failed updates are no recovery: {seen:?}"
    );

    harness.all(&[WWW], true, true).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    assert_eq!(kinds(&queue).await, ["failback"]);
    harness.all(&[WWW], false, false).await;
    harness
        .wait_for("all down", |s| {
            s.record(WWW).is_some_and(|r| !r.alarms.is_empty())
        })
        .await;
    assert_eq!(kinds(&queue).await, ["all_down"]);
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_reload_updates_only_what_changed_and_keeps_health() {
    let server = Scripted::new(ZONE);
    {
        let mut state = server.state();
        state.data.insert(name(WWW), published(WEB1));
        state
            .data
            .insert(name("old.example.test."), published(WEB1));
    }
    let before = config(vec![record(WWW), record("old.example.test.")]);
    let mut harness = Harness::start(&before, &server);
    harness.all(&[WWW, "old.example.test."], true, true).await;
    harness.wait_all_on(&[WWW, "old.example.test."], WEB1).await;

    // www unchanged, old removed, api added with web2 first.
    let mut api = record("api.example.test.");
    api.servers.reverse();
    let after = config(vec![record(WWW), api]);
    let applied = harness.reconfigure(&after, &server).await;
    assert_eq!(applied.start.len(), 2, "api's two addresses");
    assert_eq!(applied.stop.len(), 2, "old's two addresses");
    assert!(applied
        .start
        .iter()
        .all(|(_, key, _)| key.address.record == name("api.example.test.")));
    let snapshot = harness
        .wait_for("old is gone, the reload is noted", |s| {
            s.record("old.example.test.").is_none()
                && s.last_reload.as_ref().is_some_and(|r| r.succeeded)
        })
        .await;
    assert!(
        publishes(&snapshot, WWW, WEB1),
        "www keeps its health: no warm-up"
    );
    harness
        .checks(&[
            ("api.example.test.", WEB1, true),
            ("api.example.test.", WEB2, true),
        ])
        .await;
    harness.wait_all_on(&["api.example.test."], WEB2).await;
    {
        let state = server.state();
        assert_eq!(state.updates.len(), 1, "one update, for api only");
        assert_eq!(
            state.updates[0].update.changes[0].name,
            name("api.example.test.")
        );
    }
    // A refused reload is noted and changes nothing.
    harness
        .control
        .send(Control::ReloadFailed {
            problem: "f.yaml:3:5: nameserver.address: bad".into(),
        })
        .await
        .unwrap();
    let snapshot = harness
        .wait_for("the refusal is noted", |s| {
            s.last_reload.as_ref().is_some_and(|r| !r.succeeded)
        })
        .await;
    assert!(snapshot.record(WWW).is_some() && snapshot.record("api.example.test.").is_some());
    harness.stop().await;
}

#[path = "coordinator_override_tests.rs"]
mod overrides;

#[path = "coordinator_primaries_tests.rs"]
mod primaries;
