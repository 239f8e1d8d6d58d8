//! The running agent: one prober task per checked address, and one
//! coordinator that owns the engine and talks to the nameserver.

mod alarms;
mod backoff;
mod batch;
mod clock;
mod coordinator;
mod nameserver;
mod prober;
mod record_state;
mod result_label;
#[cfg(test)]
mod scripted;
mod status;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

pub use coordinator::{Coordinator, MAX_CONCURRENT_READS, REFRESH_INTERVAL};
pub use nameserver::Nameserver;
pub use status::MIN_PUBLISH_INTERVAL;

use crate::check::{CheckSetupError, Checker, TlsContexts};
use crate::config::Config;
use crate::engine::{Engine, TargetId};
use crate::snapshot::Snapshot;

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
}

impl Agent {
    /// Builds the engine and the checks of every address of `config`.
    pub fn prepare(config: &Config, tls: &TlsContexts) -> Result<Agent, StartError> {
        let engine = Engine::new(config, clock::now());
        let checks: Vec<_> = config
            .records
            .iter()
            .map(|record| Arc::new(record.check.clone()))
            .collect();
        let mut checkers = Vec::with_capacity(engine.target_count());
        for (record, check) in config.records.iter().zip(&checks) {
            let layout = engine.layout(&record.name).unwrap_or_default();
            for (server, ids) in record.servers.iter().zip(layout) {
                for (address, id) in server.addresses.iter().zip(ids) {
                    let target = crate::check::Target::of_record(record, *address, check.clone());
                    let checker = Checker::new(target, tls).map_err(|source| StartError {
                        record: record.name.to_string(),
                        source,
                    })?;
                    checkers.push((*id, checker));
                }
            }
        }
        Ok(Agent { engine, checkers })
    }

    /// How many addresses are checked.
    pub fn address_count(&self) -> usize {
        self.checkers.len()
    }

    /// Runs the agent until `shutdown` turns true. Checks stop at once; DNS
    /// requests in flight are finished before this returns. `label` names
    /// the nameserver in logs and snapshots.
    pub async fn run<N: Nameserver>(
        self,
        nameserver: N,
        label: String,
        shutdown: watch::Receiver<bool>,
    ) {
        self.run_observed(nameserver, label, shutdown, |_| {}).await;
    }

    /// Like [`Agent::run`], but first hands `observe` a receiver of the
    /// snapshots the agent will publish (e.g. to serve them over HTTP),
    /// before any check starts.
    pub async fn run_observed<N: Nameserver>(
        self,
        nameserver: N,
        label: String,
        shutdown: watch::Receiver<bool>,
        observe: impl FnOnce(watch::Receiver<Arc<Snapshot>>),
    ) {
        let coordinator = Coordinator::new(self.engine, nameserver, label.clone(), clock::now());
        observe(coordinator.snapshots());
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let mut probers = JoinSet::new();
        for (id, checker) in self.checkers {
            let Some(due) = coordinator.engine().next_due(id) else {
                continue;
            };
            probers.spawn(prober::probe(
                id,
                checker,
                events.clone(),
                due,
                shutdown.clone(),
            ));
        }
        drop(events);
        tracing::info!(
            records = coordinator.engine().records().len(),
            addresses = coordinator.engine().target_count(),
            nameserver = %label,
            "started"
        );
        coordinator.run(receiver, shutdown).await;
        probers.shutdown().await;
    }
}
