//! A scripted nameserver for the coordinator's tests: it keeps the records
//! it serves, applies updates under their prerequisites as a primary does,
//! and fails, stalls or panics when the test says so. It may hand its
//! second zone to another scripted server, as a second primary.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hickory_proto::rr::Name;

use super::clock;
use super::nameserver::Nameserver;
use crate::dns::{ApplyOutcome, DnsError, RrsetConflict, TransportError, ZoneUpdate};
use crate::vocabulary::{Published, Transport};

/// What the next read or update does instead of answering normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No answer within the timeout: nothing read, nothing applied.
    Timeout,
    /// The task panics.
    Panic,
    /// The update is applied, but its answer is lost and reading back
    /// fails too (the outcome is unknown to the client).
    ApplyThenLoseAnswer,
}

/// One UPDATE as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedUpdate {
    /// What it asked for.
    pub update: ZoneUpdate,
    /// Whether it changed the zone.
    pub applied: bool,
}

/// The server's state, shared with the test.
#[derive(Debug, Default)]
pub struct ServerState {
    /// What each name publishes.
    pub data: HashMap<Name, Published>,
    /// Faults for the next reads, in order.
    pub read_faults: VecDeque<Fault>,
    /// Faults for the next updates, in order.
    pub update_faults: VecDeque<Fault>,
    /// How long a read takes.
    pub read_latency: Duration,
    /// When each read started, and of which name.
    pub reads: Vec<(Instant, Name)>,
    /// Reads running now, and the most that ever ran at once.
    pub reads_running: usize,
    /// The most reads that ran at once.
    pub max_reads_running: usize,
    /// Every UPDATE received.
    pub updates: Vec<ReceivedUpdate>,
    /// The zone's serial: one more per update that changed something.
    pub serial: u32,
    /// Called with the data before each update is applied (someone editing
    /// the zone behind the agent's back).
    pub before_update: Option<fn(&mut HashMap<Name, Published>)>,
}

/// A nameserver the test scripts; clones share one state.
#[derive(Debug, Clone, Default)]
pub struct Scripted {
    state: Arc<Mutex<ServerState>>,
    zone: Option<Name>,
    /// A second primary, serving its own zone.
    second: Option<Arc<Scripted>>,
}

impl Scripted {
    /// A server for `zone`.
    pub fn new(zone: &str) -> Scripted {
        Scripted {
            state: Arc::default(),
            zone: Some(Name::from_ascii(zone).expect("zone name")),
            second: None,
        }
    }

    /// This server as the first primary, and `second` as the primary of
    /// its own zone (labelled `first` and `second`).
    pub fn with_second_primary(mut self, second: Scripted) -> Scripted {
        self.second = Some(Arc::new(second));
        self
    }

    /// The server that serves `name`: the second primary for its zone.
    fn serving(&self, name: &Name) -> Scripted {
        match &self.second {
            Some(second) if second.zone().zone_of(name) => second.as_ref().clone(),
            _ => self.clone(),
        }
    }

    /// The state, to read or change.
    pub fn state(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().expect("scripted state")
    }

    fn zone(&self) -> Name {
        self.zone.clone().expect("zone")
    }
}

fn timeout() -> DnsError {
    DnsError::Transport(TransportError::Timeout {
        server: "127.0.0.1:53".parse().expect("address"),
        transport: Transport::Tcp,
        waited: Duration::from_secs(2),
        ignored: 0,
    })
}

impl Nameserver for Scripted {
    fn read(
        &self,
        name: Name,
        _zone: Option<Name>,
    ) -> impl std::future::Future<Output = Result<(Name, Published), DnsError>> + Send + 'static
    {
        let server = self.serving(&name);
        async move {
            let (fault, latency) = {
                let mut state = server.state();
                state.reads.push((clock::now(), name.clone()));
                state.reads_running += 1;
                state.max_reads_running = state.max_reads_running.max(state.reads_running);
                (state.read_faults.pop_front(), state.read_latency)
            };
            tokio::time::sleep(latency).await;
            let mut state = server.state();
            state.reads_running -= 1;
            match fault {
                Some(Fault::Panic) => {
                    drop(state);
                    panic!("scripted panic while reading {name}");
                }
                Some(_) => Err(timeout()),
                None => Ok((
                    server.zone(),
                    state.data.get(&name).cloned().unwrap_or_default(),
                )),
            }
        }
    }

    fn apply(
        &self,
        update: ZoneUpdate,
    ) -> impl std::future::Future<Output = Result<ApplyOutcome, DnsError>> + Send + 'static {
        let server = self.serving(&update.zone);
        async move {
            let mut state = server.state();
            let fault = state.update_faults.pop_front();
            if fault == Some(Fault::Panic) {
                drop(state);
                panic!("scripted panic while updating {}", update.zone);
            }
            if let Some(edit) = state.before_update {
                edit(&mut state.data);
            }
            if fault == Some(Fault::Timeout) {
                state.updates.push(ReceivedUpdate {
                    update,
                    applied: false,
                });
                return Err(timeout());
            }
            let conflicts: Vec<RrsetConflict> = update
                .changes
                .iter()
                .filter_map(|change| {
                    let published = state
                        .data
                        .get(&change.name)
                        .and_then(|p| p.get(change.family).cloned());
                    (published != change.expected).then(|| RrsetConflict {
                        name: change.name.clone(),
                        family: change.family,
                        expected: change.expected.clone(),
                        published,
                    })
                })
                .collect();
            if !conflicts.is_empty() {
                state.updates.push(ReceivedUpdate {
                    update: update.clone(),
                    applied: false,
                });
                return Err(DnsError::Conflict {
                    zone: update.zone,
                    conflicts,
                });
            }
            for change in &update.changes {
                let entry = state.data.entry(change.name.clone()).or_default();
                entry.set(change.family, Some(change.desired.clone()));
            }
            state.serial += 1;
            state.updates.push(ReceivedUpdate {
                update,
                applied: true,
            });
            match fault {
                Some(Fault::ApplyThenLoseAnswer) => Err(DnsError::Unconfirmed {
                    cause: Box::new(timeout()),
                    reread: Box::new(timeout()),
                }),
                _ => Ok(ApplyOutcome::Applied),
            }
        }
    }

    fn primary_of(&self, record: &Name) -> String {
        match &self.second {
            None => String::new(),
            Some(second) if second.zone().zone_of(record) => "second".to_owned(),
            Some(_) => "first".to_owned(),
        }
    }
}
