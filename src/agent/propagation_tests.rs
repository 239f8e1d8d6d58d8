//! The tracker driven with paused time and scripted followers.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::notify::DropQueue;
use crate::vocabulary::{AddressRrset, Family};

const ZONE: &str = "example.test.";
const WWW: &str = "www.example.test.";

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("name")
}

fn address(text: &str) -> SocketAddr {
    text.parse().expect("socket address")
}

fn rrset(ip: &str) -> Option<AddressRrset> {
    Some(AddressRrset::new([ip.parse().expect("ip")], 60))
}

/// What each scripted follower serves: a serial and one A RRset of www,
/// or no answer.
#[derive(Default)]
struct Script {
    primary_serial: u32,
    served: HashMap<SocketAddr, Option<(u32, Option<AddressRrset>)>>,
    looks: usize,
}

#[derive(Clone, Default)]
struct Scripted(Arc<Mutex<Script>>);

impl Scripted {
    fn set(&self, follower: &str, served: Option<(u32, &str)>) {
        let served = served.map(|(serial, ip)| (serial, rrset(ip)));
        self.0
            .lock()
            .unwrap()
            .served
            .insert(address(follower), served);
    }
}

impl Followers for Scripted {
    fn primary_serial(
        &self,
        _: Name,
    ) -> impl Future<Output = Result<u32, DnsError>> + Send + 'static {
        let serial = self.0.lock().unwrap().primary_serial;
        async move { Ok(serial) }
    }

    fn discover(
        &self,
        _: Name,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, String>> + Send + 'static {
        let mut list: Vec<SocketAddr> = self.0.lock().unwrap().served.keys().copied().collect();
        list.sort();
        async move { Ok(list) }
    }

    fn look(
        &self,
        follower: SocketAddr,
        _: Name,
        wanted: u32,
        expected: Arc<Vec<ExpectedRrset>>,
    ) -> impl Future<Output = Result<Seen, DnsError>> + Send + 'static {
        let mut script = self.0.lock().unwrap();
        script.looks += 1;
        let served = script.served.get(&follower).cloned().flatten();
        async move {
            let Some((serial, www)) = served else {
                return Err(DnsError::Transport(crate::dns::TransportError::Refused {
                    server: follower,
                    transport: crate::vocabulary::Transport::Udp,
                }));
            };
            let rrsets_match = (serial == wanted).then(|| expected.iter().all(|e| e.rrset == www));
            Ok(Seen {
                serial,
                rrsets_match,
            })
        }
    }
}

use std::future::Future;

struct Harness {
    rounds: mpsc::UnboundedSender<Round>,
    status: watch::Receiver<Arc<Vec<ZonePropagation>>>,
    events: Arc<DropQueue<Arc<Event>>>,
    statistics: Statistics,
    _shutdown: watch::Sender<bool>,
}

impl Harness {
    fn start(followers: &Scripted) -> Harness {
        let events = Arc::new(DropQueue::new(100));
        let sink = EventSink::with_queues(vec![("test".into(), events.clone())]);
        let statistics = Statistics::default();
        let (tracker, status) = Tracker::new(
            followers.clone(),
            Duration::from_secs(30),
            sink,
            "agent".into(),
            statistics.clone(),
        );
        let (rounds, receiver) = mpsc::unbounded_channel();
        let (shutdown, stop) = watch::channel(false);
        tokio::spawn(tracker.run(receiver, stop));
        Harness {
            rounds,
            status,
            events,
            statistics,
            _shutdown: shutdown,
        }
    }

    fn updated(&self, ip: &str) {
        let round = Round {
            zone: name(ZONE),
            rrsets: vec![ExpectedRrset {
                name: name(WWW),
                family: Family::V4,
                rrset: rrset(ip),
            }],
            applied_at: now(),
        };
        self.rounds.send(round).expect("tracker running");
    }

    /// The state of `follower` once `done` holds for it (paused time runs
    /// ahead; a deadline of ten minutes of it).
    async fn wait_for(
        &mut self,
        follower: &str,
        done: impl Fn(&NameserverPropagation) -> bool,
    ) -> NameserverPropagation {
        let found = tokio::time::timeout(Duration::from_secs(600), async {
            loop {
                let found = self
                    .status
                    .borrow_and_update()
                    .iter()
                    .flat_map(|zone| zone.nameservers.clone())
                    .find(|ns| ns.address == follower && done(ns));
                if let Some(found) = found {
                    return found;
                }
                self.status.changed().await.expect("tracker running");
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("{follower}: {:?}", self.status.borrow()))
    }

    async fn event_kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        while !self.events.is_empty() {
            let event = self.events.pop().await.expect("an event");
            kinds.push(event.event.as_str());
        }
        kinds
    }
}

#[tokio::test(start_paused = true)]
async fn a_follower_that_gets_the_update_is_timed_and_in_sync() {
    let followers = Scripted::default();
    followers.0.lock().unwrap().primary_serial = 7;
    followers.set("127.0.0.1:5301", Some((6, "192.0.2.1")));
    let mut harness = Harness::start(&followers);
    harness.updated("192.0.2.2");
    let behind = harness
        .wait_for("127.0.0.1:5301", |ns| ns.serial == Some(6))
        .await;
    assert_eq!(behind.state, PropagationState::CatchingUp);
    assert!(behind.behind_since.is_some());

    tokio::time::sleep(Duration::from_millis(300)).await;
    followers.set("127.0.0.1:5301", Some((7, "192.0.2.2")));
    let synced = harness
        .wait_for("127.0.0.1:5301", |ns| ns.state == PropagationState::InSync)
        .await;
    let seconds = synced.last_seconds.expect("timed");
    // Asked at most 100 ms apart in the first seconds: at most that late.
    assert!((0.3..=0.41).contains(&seconds), "{seconds}");
    assert_eq!(synced.behind_since, None);
    assert!(harness.event_kinds().await.is_empty());
    let mut registry = prometheus_client::registry::Registry::default();
    harness.statistics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(text.contains(r#"dnsfailover_propagation_duration_seconds_count{zone="example.test.",nameserver="127.0.0.1:5301"} 1"#), "{text}");
}

#[tokio::test(start_paused = true)]
async fn the_right_serial_with_the_old_rrset_is_not_in_sync() {
    let followers = Scripted::default();
    followers.0.lock().unwrap().primary_serial = 7;
    followers.set("127.0.0.1:5301", Some((7, "192.0.2.1")));
    let mut harness = Harness::start(&followers);
    harness.updated("192.0.2.2");
    let seen = harness
        .wait_for("127.0.0.1:5301", |ns| ns.serial == Some(7))
        .await;
    assert_eq!(seen.state, PropagationState::CatchingUp);
    // A later serial means a later change: it counts as caught up.
    followers.set("127.0.0.1:5301", Some((8, "192.0.2.3")));
    harness
        .wait_for("127.0.0.1:5301", |ns| ns.state == PropagationState::InSync)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_stopped_follower_lags_once_and_recovers() {
    let followers = Scripted::default();
    followers.0.lock().unwrap().primary_serial = 7;
    followers.set("127.0.0.1:5301", None);
    followers.set("127.0.0.1:5302", Some((7, "192.0.2.2")));
    let mut harness = Harness::start(&followers);
    harness.updated("192.0.2.2");
    harness
        .wait_for("127.0.0.1:5302", |ns| ns.state == PropagationState::InSync)
        .await;
    let down = harness
        .wait_for("127.0.0.1:5301", |ns| ns.last_error.is_some())
        .await;
    assert_eq!(down.state, PropagationState::CatchingUp);

    let lagging = harness
        .wait_for("127.0.0.1:5301", |ns| ns.state == PropagationState::Lagging)
        .await;
    assert!(lagging.last_error.unwrap().contains("refused"));
    assert_eq!(harness.event_kinds().await, ["propagation_lagging"]);

    // Another update while it lags: no second event, still behind since the first.
    followers.0.lock().unwrap().primary_serial = 8;
    followers.set("127.0.0.1:5302", Some((8, "192.0.2.1")));
    harness.updated("192.0.2.1");
    let looks_before = followers.0.lock().unwrap().looks;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let still = harness
        .wait_for("127.0.0.1:5301", |ns| ns.state == PropagationState::Lagging)
        .await;
    assert_eq!(still.behind_since, lagging.behind_since);
    assert_eq!(harness.event_kinds().await, Vec::<&str>::new());
    let looks_while_lagging = followers.0.lock().unwrap().looks - looks_before;

    followers.set("127.0.0.1:5301", Some((8, "192.0.2.1")));
    let back = harness
        .wait_for("127.0.0.1:5301", |ns| ns.state == PropagationState::InSync)
        .await;
    assert!(back.last_seconds.unwrap() >= 60.0);
    assert!(back.last_error.is_none());
    // Lagging, it is asked every 5 s, not flooded (the other one once).
    assert!(
        looks_while_lagging <= 16,
        "{looks_while_lagging} questions in 60 s"
    );
}
