//! Following each update to the zone's other nameservers until they serve
//! it, timing how long each took, and saying so when one lags.
//!
//! The tracker is a task of its own beside the coordinator: it gets one
//! [`Round`] per applied UPDATE, reads the primary's new serial, then asks
//! every follower (10 ms apart at first, doubling to 100 ms for the first
//! 5 s, then once a second, every 5 s once it lags) until it serves that serial and the RRsets the
//! update left. A newer round of the same zone replaces an older one; a
//! follower behind both stays "behind since" the older one, so that a
//! stopped secondary lags however often the zone changes. Its answers are
//! only reported: nothing in DNS depends on them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::Name;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::clock::{self, now, WallClock};
use super::followers::{ExpectedRrset, Followers, Seen};
use crate::dns::DnsError;
use crate::event::{Event, EventKind};
use crate::notify::EventSink;
use crate::snapshot::{NameserverPropagation, PropagationState, Timestamp, ZonePropagation};
use crate::statistics::Statistics;

/// The first wait between two questions to a follower that is behind.
const FIRST_POLL_DELAY: Duration = Duration::from_millis(10);
/// The longest wait between two questions in the first [`FAST_PHASE`]
/// after an update: the measured time is at most this much late.
const FAST_POLL_DELAY: Duration = Duration::from_millis(100);
/// How long after an update a follower is asked often.
const FAST_PHASE: Duration = Duration::from_secs(5);
/// The wait between two questions after that, until it lags.
const SLOW_POLL_DELAY: Duration = Duration::from_secs(1);
/// The wait between two questions once it lags.
const LAGGING_POLL_DELAY: Duration = Duration::from_secs(5);
/// How long the list of a zone's nameservers is kept before it is read again.
const DISCOVERY_LIFETIME: Duration = Duration::from_secs(300);

/// One applied UPDATE of a zone.
#[derive(Debug, Clone)]
pub struct Round {
    /// The zone.
    pub zone: Name,
    /// The RRsets as the update left them.
    pub rrsets: Vec<ExpectedRrset>,
    /// When the primary confirmed it.
    pub applied_at: Instant,
}

/// What the tracker follows for one zone.
#[derive(Default)]
struct ZoneState {
    /// The followers and when they were found.
    followers: Vec<SocketAddr>,
    discovered_at: Option<Instant>,
    problem: Option<String>,
    /// The update followed: the primary's serial, what it changed, when.
    target: Option<Target>,
    /// Rounds that came in while the serial was being read.
    waiting: Option<Round>,
    /// A discovery and serial read is in flight.
    preparing: bool,
    states: BTreeMap<SocketAddr, FollowerState>,
}

struct Target {
    serial: u32,
    expected: Arc<Vec<ExpectedRrset>>,
    applied_at: Instant,
    applied_wall: Timestamp,
}

#[derive(Default)]
struct FollowerState {
    serial: Option<u32>,
    /// Whether it serves the target.
    caught_up: bool,
    behind_since: Option<(Instant, Timestamp)>,
    lagging: bool,
    last_seconds: Option<f64>,
    last_error: Option<String>,
    next_poll: Option<Instant>,
    polls: u32,
    asking: bool,
}

enum TaskDone {
    Prepared {
        zone: Name,
        round: Round,
        followers: Option<Result<Vec<SocketAddr>, String>>,
        serial: Result<u32, DnsError>,
    },
    Looked {
        zone: Name,
        follower: SocketAddr,
        serial: u32,
        seen: Result<Seen, DnsError>,
    },
}

/// Follows the rounds it is given; publishes what it knows on a watch channel.
pub struct Tracker<F: Followers> {
    followers: F,
    lagging_after: Duration,
    zones: BTreeMap<Name, ZoneState>,
    tasks: JoinSet<TaskDone>,
    status: watch::Sender<Arc<Vec<ZonePropagation>>>,
    events: EventSink,
    agent: String,
    statistics: Statistics,
}

impl<F: Followers> Tracker<F> {
    /// A tracker that asks `followers`, calls one lagging after
    /// `lagging_after`, emits into `events` as `agent` and records into
    /// `statistics`; with the receiver of what it publishes.
    pub fn new(
        followers: F,
        lagging_after: Duration,
        events: EventSink,
        agent: String,
        statistics: Statistics,
    ) -> (Self, watch::Receiver<Arc<Vec<ZonePropagation>>>) {
        let (status, receiver) = watch::channel(Arc::new(Vec::new()));
        let tracker = Tracker {
            followers,
            lagging_after,
            zones: BTreeMap::new(),
            tasks: JoinSet::new(),
            status,
            events,
            agent,
            statistics,
        };
        (tracker, receiver)
    }

    /// Follows rounds until the sender is dropped (the coordinator ended)
    /// or `shutdown` turns true; questions in flight are abandoned.
    pub async fn run(
        mut self,
        mut rounds: mpsc::UnboundedReceiver<Round>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let wake = self.next_poll();
            tokio::select! {
                round = rounds.recv() => match round {
                    Some(round) => self.on_round(round),
                    None => break,
                },
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Ok(done) = done {
                        self.on_done(done, now());
                    }
                }
                _ = sleep_until(wake) => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            self.ask_due(now());
            self.publish();
        }
        self.tasks.shutdown().await;
    }

    fn on_round(&mut self, round: Round) {
        let name = round.zone.clone();
        let zone = self.zones.entry(name.clone()).or_default();
        zone.waiting = Some(match zone.waiting.take() {
            None => round,
            Some(older) => merge(older, round),
        });
        if !zone.preparing {
            self.prepare(name);
        }
    }

    /// Starts reading the primary's serial (and the followers, when their
    /// list is old) for the zone's waiting round.
    fn prepare(&mut self, name: Name) {
        let Some(zone) = self.zones.get_mut(&name) else {
            return;
        };
        let Some(round) = zone.waiting.take() else {
            return;
        };
        zone.preparing = true;
        let stale = zone.problem.is_some()
            || zone
                .discovered_at
                .is_none_or(|at| now().saturating_duration_since(at) >= DISCOVERY_LIFETIME);
        let discover = stale.then(|| self.followers.discover(name.clone()));
        let serial = self.followers.primary_serial(name.clone());
        self.tasks.spawn(async move {
            let followers = match discover {
                Some(discover) => Some(discover.await),
                None => None,
            };
            let serial = serial.await;
            TaskDone::Prepared {
                zone: name,
                round,
                followers,
                serial,
            }
        });
    }

    fn on_done(&mut self, done: TaskDone, now: Instant) {
        match done {
            TaskDone::Prepared {
                zone,
                round,
                followers,
                serial,
            } => self.on_prepared(zone, round, followers, serial, now),
            TaskDone::Looked {
                zone,
                follower,
                serial,
                seen,
            } => self.on_looked(zone, follower, serial, seen, now),
        }
    }

    fn on_prepared(
        &mut self,
        name: Name,
        round: Round,
        followers: Option<Result<Vec<SocketAddr>, String>>,
        serial: Result<u32, DnsError>,
        now: Instant,
    ) {
        let Some(zone) = self.zones.get_mut(&name) else {
            return;
        };
        zone.preparing = false;
        match followers {
            Some(Ok(list)) => {
                if list.is_empty() && zone.discovered_at.is_none() {
                    tracing::info!(zone = %name, "updates of {name} are not followed: its NS RRset names no nameserver besides the primary (list them under propagation.nameservers to follow them)");
                }
                zone.followers = list;
                zone.discovered_at = Some(now);
                zone.problem = None;
            }
            Some(Err(problem)) => {
                tracing::warn!(zone = %name, "cannot tell which nameservers to follow for {name}: {problem}");
                zone.problem = Some(problem);
                zone.discovered_at = Some(now);
            }
            None => {}
        }
        match serial {
            Ok(serial) => {
                let wall = WallClock::now();
                let older = zone.target.take();
                let expected = match older {
                    Some(older) => merge_expected(&older.expected, &round.rrsets),
                    None => round.rrsets.clone(),
                };
                zone.target = Some(Target {
                    serial,
                    expected: Arc::new(expected),
                    applied_at: round.applied_at,
                    applied_wall: wall.timestamp(round.applied_at),
                });
                let followers = zone.followers.clone();
                zone.states.retain(|address, _| followers.contains(address));
                for address in followers {
                    let state = zone.states.entry(address).or_default();
                    if state.caught_up || state.behind_since.is_none() {
                        state.behind_since =
                            Some((round.applied_at, wall.timestamp(round.applied_at)));
                    }
                    state.caught_up = false;
                    state.next_poll = Some(now);
                    state.polls = 0;
                }
            }
            Err(error) => {
                tracing::warn!(zone = %name, "cannot read the SOA serial of {name} from the primary after an update, so its propagation is not followed: {error}");
            }
        }
        if zone.waiting.is_some() {
            self.prepare(name);
        }
    }

    fn on_looked(
        &mut self,
        name: Name,
        follower: SocketAddr,
        asked_for: u32,
        seen: Result<Seen, DnsError>,
        now: Instant,
    ) {
        let lagging_after = self.lagging_after;
        let Some(zone) = self.zones.get_mut(&name) else {
            return;
        };
        let Some(target) = &zone.target else {
            return;
        };
        let Some(state) = zone.states.get_mut(&follower) else {
            return;
        };
        state.asking = false;
        if asked_for != target.serial {
            // A newer update came in meanwhile: ask about that one now.
            state.next_poll = Some(now);
            return;
        }
        match seen {
            Ok(seen) => {
                state.serial = Some(seen.serial);
                state.last_error = None;
                let newer = serial_newer(seen.serial, target.serial);
                let caught_up =
                    newer || (seen.serial == target.serial && seen.rrsets_match == Some(true));
                if caught_up {
                    let seconds = now
                        .saturating_duration_since(target.applied_at)
                        .as_secs_f64();
                    state.caught_up = true;
                    state.last_seconds = Some(seconds);
                    state.next_poll = None;
                    state.behind_since = None;
                    let zone_text = name.to_string();
                    self.statistics
                        .propagated(&zone_text, &follower.to_string(), seconds);
                    if std::mem::take(&mut state.lagging) {
                        tracing::info!(zone = %name, nameserver = %follower, "{follower} serves {name} serial {} again, {seconds:.3} s after the update", seen.serial);
                    } else {
                        tracing::debug!(zone = %name, nameserver = %follower, "{follower} serves {name} serial {} {seconds:.3} s after the update", seen.serial);
                    }
                    return;
                }
            }
            Err(error) => state.last_error = Some(error.to_string()),
        }
        let behind_for = state.behind_since.map_or(Duration::ZERO, |(since, _)| {
            now.saturating_duration_since(since)
        });
        if behind_for >= lagging_after && !state.lagging {
            state.lagging = true;
            let detail = match (&state.last_error, state.serial) {
                (Some(error), _) => error.clone(),
                (None, Some(serial)) => format!("it serves serial {serial}"),
                (None, None) => "it has not answered".to_owned(),
            };
            let text = format!(
                "{follower} has not served the update of {name} (serial {}) for {} s: {detail}",
                target.serial,
                behind_for.as_secs()
            );
            tracing::warn!(zone = %name, nameserver = %follower, "{text}");
            let mut event = Event::new(
                EventKind::PropagationLagging,
                text,
                detail,
                Timestamp::now(),
                &self.agent,
            );
            event.server = Some(follower.to_string());
            self.events.emit(event);
        }
        state.polls = state.polls.saturating_add(1);
        let since_update = now.saturating_duration_since(target.applied_at);
        let delay = if state.lagging {
            LAGGING_POLL_DELAY
        } else if since_update < FAST_PHASE {
            poll_delay(state.polls)
        } else {
            SLOW_POLL_DELAY
        };
        state.next_poll = Some(now + delay);
    }

    /// When the next question is due.
    fn next_poll(&self) -> Option<Instant> {
        self.zones
            .values()
            .flat_map(|zone| zone.states.values())
            .filter(|state| !state.asking)
            .filter_map(|state| state.next_poll)
            .min()
    }

    /// Asks every follower whose question is due.
    fn ask_due(&mut self, now: Instant) {
        for (name, zone) in &mut self.zones {
            let Some(target) = &zone.target else {
                continue;
            };
            for (address, state) in &mut zone.states {
                if state.asking || state.next_poll.is_none_or(|at| at > now) {
                    continue;
                }
                state.asking = true;
                let look = self.followers.look(
                    *address,
                    name.clone(),
                    target.serial,
                    target.expected.clone(),
                );
                let (zone, follower, serial) = (name.clone(), *address, target.serial);
                self.tasks.spawn(async move {
                    TaskDone::Looked {
                        zone,
                        follower,
                        serial,
                        seen: look.await,
                    }
                });
            }
        }
    }

    /// Publishes what is known now, when it changed.
    fn publish(&self) {
        let status: Vec<ZonePropagation> = self
            .zones
            .iter()
            .filter_map(|(name, zone)| {
                let target = zone.target.as_ref()?;
                Some(ZonePropagation {
                    zone: name.to_string(),
                    serial: Some(target.serial),
                    updated_at: target.applied_wall,
                    problem: zone.problem.clone(),
                    nameservers: zone
                        .states
                        .iter()
                        .map(|(address, state)| follower_status(*address, state))
                        .collect(),
                })
            })
            .collect();
        self.status.send_if_modified(|current| {
            if **current == status {
                return false;
            }
            *current = Arc::new(status);
            true
        });
    }
}

fn follower_status(address: SocketAddr, state: &FollowerState) -> NameserverPropagation {
    let state_now = if state.caught_up {
        PropagationState::InSync
    } else if state.lagging {
        PropagationState::Lagging
    } else {
        PropagationState::CatchingUp
    };
    NameserverPropagation {
        address: address.to_string(),
        state: state_now,
        serial: state.serial,
        last_seconds: state.last_seconds,
        behind_since: state.behind_since.map(|(_, wall)| wall),
        last_error: state.last_error.clone(),
    }
}

/// Two rounds as one: the later one's RRsets win, its time counts.
fn merge(older: Round, newer: Round) -> Round {
    Round {
        rrsets: merge_expected(&older.rrsets, &newer.rrsets),
        ..newer
    }
}

fn merge_expected(older: &[ExpectedRrset], newer: &[ExpectedRrset]) -> Vec<ExpectedRrset> {
    let mut merged: Vec<ExpectedRrset> = older
        .iter()
        .filter(|old| {
            !newer
                .iter()
                .any(|new| new.name == old.name && new.family == old.family)
        })
        .cloned()
        .collect();
    merged.extend(newer.iter().cloned());
    merged
}

/// Whether serial `a` is later than `b` (RFC 1982 arithmetic).
fn serial_newer(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// The wait after the `polls`th question soon after an update: doubling
/// from [`FIRST_POLL_DELAY`] up to [`FAST_POLL_DELAY`].
fn poll_delay(polls: u32) -> Duration {
    let factor = 1u32 << polls.saturating_sub(1).min(10);
    (FIRST_POLL_DELAY * factor).min(FAST_POLL_DELAY)
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => clock::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "propagation_tests.rs"]
mod tests;
