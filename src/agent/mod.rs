//! The running agent: one prober task per checked address, and one
//! coordinator that owns the engine and talks to the nameserver.

mod alarms;
mod backoff;
mod batch;
mod certificates;
mod clock;
mod coordinator;
mod followers;
mod nameserver;
mod nameserver_health;
mod operator;
mod primary_health;
mod prober;
mod propagation;
mod read_queues;

use prober::ProbeEvent;
mod record_state;
mod result_label;
#[cfg(test)]
mod scripted;
mod state_file;
mod status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinSet};

pub use coordinator::{
    Applied, Control, Coordinator, PropagationLink, MAX_CONCURRENT_READS, REFRESH_INTERVAL,
};
pub use followers::{DnsFollowers, ExpectedRrset, Followers, Seen};
pub use nameserver::Nameserver;
pub use propagation::{Round, Tracker};
pub use status::MIN_PUBLISH_INTERVAL;

use crate::check::{CheckSetupError, Checker, TlsContexts};
use crate::config::Config;
use crate::engine::{AddressKey, Engine, TargetId, TargetKey};
use crate::notify::EventSink;
use crate::snapshot::Snapshot;
use crate::statistics::Statistics;

/// Probe events that may wait for the coordinator before probers block.
const EVENT_QUEUE: usize = 4096;

/// Why the agent could not start its checks.
#[derive(Debug, thiserror::Error)]
#[error("record {record}: {source}")]
pub struct StartError {
    /// The record whose check could not be prepared.
    pub record: String,
    /// What is wrong with it.
    pub source: CheckSetupError,
}

/// Everything the agent needs to run, built: the engine and one checker per
/// address. Building it touches no network and starts no task, so
/// `check-config` builds it too and fails on exactly what `run` would.
pub struct Agent {
    engine: Engine,
    checkers: Vec<(TargetId, Checker)>,
    tls: TlsContexts,
    lagging_after: Duration,
    /// Where the overrides are kept (`control.state_file`).
    state_file: std::path::PathBuf,
    /// Operators' requests from the control socket, when it is open.
    operators: Option<mpsc::Receiver<crate::control::Incoming>>,
}

/// The nameservers the agent talks to: the primaries it updates, and those
/// whose serving of each update it follows (none: not followed).
pub struct Nameservers<N, F> {
    /// The primary, or every primary with the zones each serves.
    pub primary: N,
    /// How the primaries are named in logs and snapshots.
    pub label: String,
    /// The zones' other nameservers.
    pub followers: Option<F>,
}

/// A configuration to apply while running (SIGHUP): validated, its key
/// loaded into `nameserver`; or every problem that made it unusable.
pub type Reload<N> = Result<NewConfig<N>, String>;

/// A reload and, when someone waits for it (`dnsfailover reload`), where
/// its outcome goes: `Ok` applied, `Err` why it was refused.
pub struct ReloadRequest<N> {
    /// What to apply.
    pub reload: Reload<N>,
    /// Who waits for the outcome.
    pub reply: Option<oneshot::Sender<Result<(), String>>>,
}

/// A validated configuration and the client built from it.
pub struct NewConfig<N> {
    /// The configuration.
    pub config: Config,
    /// The nameserver client, with the key it names.
    pub nameserver: N,
}

impl Agent {
    /// Builds the engine and the checks of every address of `config`.
    pub fn prepare(config: &Config, tls: &TlsContexts) -> Result<Agent, StartError> {
        let engine = Engine::new(config, clock::now());
        let mut built = build_checkers(config, tls)?;
        let checkers = engine
            .targets()
            .filter_map(|target| {
                let key = engine.target_key(target.id)?;
                Some((target.id, built.remove(&key)?))
            })
            .collect();
        Ok(Agent {
            engine,
            checkers,
            tls: tls.clone(),
            lagging_after: config.propagation.lagging_after,
            state_file: config.control.state_file.clone(),
            operators: None,
        })
    }

    /// Takes operators' requests (drain, pin, release, overrides, failback;
    /// not reload, which comes through the reloads) from `requests`.
    pub fn with_operator_requests(
        mut self,
        requests: mpsc::Receiver<crate::control::Incoming>,
    ) -> Agent {
        self.operators = Some(requests);
        self
    }

    /// How many addresses are checked.
    pub fn address_count(&self) -> usize {
        self.engine.address_count()
    }

    /// Runs the agent until `shutdown` turns true. Checks stop at once; DNS
    /// requests in flight are finished before this returns. Updates go to
    /// the primary of `nameservers` and are followed to its followers;
    /// events go to `sink`; each item
    /// of `reloads` is applied as it comes (or, when it is a problem, logged
    /// while the running configuration stays). Before any check starts,
    /// `observe` gets a receiver of the snapshots the agent will publish
    /// and the statistics it will accumulate (e.g. to serve them over HTTP).
    pub async fn run<N: Nameserver, F: Followers>(
        self,
        nameservers: Nameservers<N, F>,
        sink: EventSink,
        mut reloads: mpsc::Receiver<ReloadRequest<N>>,
        shutdown: watch::Receiver<bool>,
        observe: impl FnOnce(watch::Receiver<Arc<Snapshot>>, Statistics),
    ) {
        let label = nameservers.label;
        let mut coordinator = Coordinator::new(
            self.engine,
            nameservers.primary,
            label.clone(),
            clock::now(),
        )
        .with_events(sink.clone(), host_name())
        .with_state_file(self.state_file.clone());
        let mut operators = self.operators;
        let statistics = coordinator.statistics().clone();
        if let Some(followers) = nameservers.followers {
            let (tracker, status) = Tracker::new(
                followers,
                self.lagging_after,
                sink,
                host_name(),
                statistics.clone(),
            );
            let (rounds, receiver) = mpsc::unbounded_channel();
            tokio::spawn(tracker.run(receiver, shutdown.clone()));
            coordinator = coordinator.with_propagation(PropagationLink { rounds, status });
        }
        observe(coordinator.snapshots(), statistics);
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let mut probers = Probers::new(events);
        let mut stopping = shutdown.clone();
        let mut checks_stopped = false;
        for (id, checker) in self.checkers {
            if let Some(due) = coordinator.engine().next_due(id) {
                probers.start(id, checker, due);
            }
        }
        let (records, addresses) = (
            coordinator.engine().records().len(),
            coordinator.engine().address_count(),
        );
        tracing::info!(
            records,
            addresses,
            nameserver = %label,
            "started: checking {addresses} addresses of {records} records, updating {label}"
        );
        let (control, control_receiver) = mpsc::channel(1);
        // A task of its own: a reload waits for the coordinator's answer.
        let mut coordinator =
            tokio::spawn(coordinator.run_with_control(receiver, control_receiver, shutdown));
        loop {
            tokio::select! {
                ended = &mut coordinator => {
                    if let Err(error) = ended {
                        tracing::error!("the coordinator ended abnormally: {error}; this is a bug in dnsfailover, please report it");
                    }
                    break;
                }
                // Checks stop at once; the coordinator finishes its DNS requests.
                _ = stopping.wait_for(|stop| *stop), if !checks_stopped => {
                    probers.tasks.abort_all();
                    checks_stopped = true;
                }
                Some(request) = reloads.recv() => {
                    let outcome = apply_reload(request.reload, &self.tls, &control, &mut probers).await;
                    if let Some(reply) = request.reply {
                        let _ = reply.send(outcome);
                    }
                }
                Some(incoming) = next_operator(&mut operators) => {
                    let request = Control::Operator {
                        request: incoming.request,
                        uid: incoming.uid,
                        reply: incoming.reply,
                    };
                    if control.send(request).await.is_err() {
                        break;
                    }
                }
            }
        }
        probers.stop_all().await;
    }
}

/// The next operator's request; never, without a control socket.
async fn next_operator(
    operators: &mut Option<mpsc::Receiver<crate::control::Incoming>>,
) -> Option<crate::control::Incoming> {
    match operators {
        Some(receiver) => match receiver.recv().await {
            Some(incoming) => Some(incoming),
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Applies one reload: builds its checks first (a problem there refuses the
/// whole reload), then has the coordinator apply it and starts and stops
/// probers as it says. Returns why it was refused, if it was.
async fn apply_reload<N: Nameserver>(
    reload: Reload<N>,
    tls: &TlsContexts,
    control: &mpsc::Sender<Control<N>>,
    probers: &mut Probers,
) -> Result<(), String> {
    let new = match reload {
        Ok(new) => new,
        Err(problem) => return refuse_reload(control, problem).await,
    };
    let mut checkers = match build_checkers(&new.config, tls) {
        Ok(checkers) => checkers,
        Err(error) => return refuse_reload(control, error.to_string()).await,
    };
    let (reply, applied) = oneshot::channel();
    let request = Control::Reconfigure {
        config: Box::new(new.config),
        nameserver: new.nameserver,
        reply,
    };
    let stopping = || Err("the agent is stopping".to_owned());
    if control.send(request).await.is_err() {
        return stopping();
    }
    let Ok(applied) = applied.await else {
        return stopping();
    };
    for id in applied.stop {
        probers.stop(id);
    }
    for (id, key, due) in applied.start {
        if let Some(checker) = checkers.remove(&key) {
            probers.start(id, checker, due);
        }
    }
    Ok(())
}

async fn refuse_reload<N>(
    control: &mpsc::Sender<Control<N>>,
    problem: String,
) -> Result<(), String> {
    for line in problem.lines() {
        tracing::error!("reload refused, the running configuration stays: {line}");
    }
    let _ = control
        .send(Control::ReloadFailed {
            problem: problem.clone(),
        })
        .await;
    Err(problem)
}

/// A checker for every check of every address of `config`, by identity.
fn build_checkers(
    config: &Config,
    tls: &TlsContexts,
) -> Result<HashMap<TargetKey, Checker>, StartError> {
    let mut checkers = HashMap::with_capacity(config.address_count());
    for record in &config.records {
        for server in &record.servers {
            let names = Arc::new(crate::check::TargetNames {
                record: record.name.to_string(),
                server: server.name.clone(),
            });
            for check in record.checks_of(server) {
                let spec = Arc::new(check.spec.clone());
                for address in &server.addresses {
                    let target = crate::check::Target::of_record(
                        record,
                        names.clone(),
                        *address,
                        spec.clone(),
                        check.timing.timeout,
                    );
                    let checker = Checker::new(target, tls).map_err(|source| StartError {
                        record: record.name.to_string(),
                        source,
                    })?;
                    let key = TargetKey {
                        address: AddressKey {
                            record: record.name.clone(),
                            server: server.name.clone(),
                            address: *address,
                        },
                        check: check.label.clone(),
                    };
                    checkers.insert(key, checker);
                }
            }
        }
    }
    Ok(checkers)
}

/// The prober tasks, one per checked address.
struct Probers {
    tasks: JoinSet<()>,
    handles: HashMap<TargetId, AbortHandle>,
    events: mpsc::Sender<ProbeEvent>,
}

impl Probers {
    fn new(events: mpsc::Sender<ProbeEvent>) -> Probers {
        Probers {
            tasks: JoinSet::new(),
            handles: HashMap::new(),
            events,
        }
    }

    fn start(&mut self, id: TargetId, checker: Checker, due: std::time::Instant) {
        let handle = self
            .tasks
            .spawn(prober::probe(id, checker, self.events.clone(), due));
        self.handles.insert(id, handle);
        // Reap the probers that ended (stopped ones) now and then.
        while self.tasks.try_join_next().is_some() {}
    }

    fn stop(&mut self, id: TargetId) {
        if let Some(handle) = self.handles.remove(&id) {
            handle.abort();
        }
    }

    async fn stop_all(mut self) {
        self.tasks.shutdown().await;
    }
}

/// This host's name, which names the agent in events.
fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
