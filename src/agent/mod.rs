//! The running agent: one prober task per checked address, and one
//! coordinator that owns the engine and talks to the nameserver.

mod alarms;
mod backoff;
mod batch;
mod coordinator;
mod prober;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

pub use backoff::{retry_delay, INITIAL_DELAY, MAX_DELAY};
pub use coordinator::{Coordinator, MAX_CONCURRENT_READS, REFRESH_INTERVAL};

use crate::check::{CheckSetupError, Checker, TlsContexts};
use crate::config::Config;
use crate::dns::Client;
use crate::engine::Engine;

/// Probe events that may wait for the coordinator before probers block.
const EVENT_QUEUE: usize = 4096;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
#[error("record {record}: {source}")]
pub struct StartError {
    /// The record whose check could not be prepared.
    pub record: String,
    /// What is wrong with it.
    pub source: CheckSetupError,
}

/// Runs the agent until `shutdown` turns true. Checks stop at once; DNS
/// requests in flight are finished before this returns.
pub async fn run(
    config: &Config,
    client: Client,
    tls: &TlsContexts,
    shutdown: watch::Receiver<bool>,
) -> Result<(), StartError> {
    let engine = Engine::new(config, Instant::now());
    let (events, receiver) = mpsc::channel(EVENT_QUEUE);
    let mut probers = JoinSet::new();
    let checks: Vec<_> = config
        .records
        .iter()
        .map(|record| Arc::new(record.check.clone()))
        .collect();
    for target in engine.targets() {
        let record = target.record;
        let check_target = crate::check::Target::of_record(
            record,
            target.address,
            checks[target.record_index].clone(),
        );
        let checker = Checker::new(check_target, tls).map_err(|source| StartError {
            record: record.name.to_string(),
            source,
        })?;
        let due = engine.next_due(target.id);
        probers.spawn(prober::probe(
            target.id,
            checker,
            events.clone(),
            due,
            shutdown.clone(),
        ));
    }
    drop(events);
    tracing::info!(
        records = config.records.len(),
        addresses = engine.targets().count(),
        nameserver = %client.server(),
        "started"
    );
    Coordinator::new(engine, client, Instant::now())
        .run(receiver, shutdown)
        .await;
    probers.shutdown().await;
    Ok(())
}
