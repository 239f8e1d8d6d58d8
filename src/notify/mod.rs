//! Delivering events: to webhooks and to a command, each with its own
//! bounded queue, so that a slow, hanging or dead destination never delays
//! a check or a DNS update, nor the other destinations.
//!
//! The coordinator hands each event to an [`EventSink`], which only pushes
//! it into the queues (dropping the oldest event of a full queue, counted
//! and logged). One task per destination delivers in order.

mod command;
mod queue;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

pub use queue::DropQueue;
pub use webhook::WebhookSender;

use crate::check::{CheckSetupError, TlsContexts};
use crate::config::{HookCommand, Notify};
use crate::event::Event;

/// One destination's name (for logs) and queue.
type Destination = (String, Arc<DropQueue<Arc<Event>>>);

/// Why notifications could not be prepared.
#[derive(Debug, thiserror::Error)]
#[error("notify webhook {webhook}: {source}")]
pub struct NotifySetupError {
    /// The webhook (its URL without the query).
    pub webhook: String,
    /// What is wrong with it.
    pub source: CheckSetupError,
}

/// The destinations, prepared: building them touches no network.
pub struct Notifier {
    webhooks: Vec<WebhookSender>,
    command: Option<HookCommand>,
    queue: usize,
}

impl Notifier {
    /// Prepares every destination of `config`.
    pub fn prepare(config: &Notify, tls: &TlsContexts) -> Result<Notifier, NotifySetupError> {
        let webhooks = config
            .webhooks
            .iter()
            .map(|webhook| {
                WebhookSender::new(webhook, tls).map_err(|source| NotifySetupError {
                    webhook: webhook.url.redacted(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Notifier {
            webhooks,
            command: config.command.clone(),
            queue: config.queue,
        })
    }

    /// Starts one delivery task per destination; returns the sink the
    /// coordinator emits into, and the handle that ends delivery.
    pub fn start(self) -> (EventSink, Delivery) {
        let mut tasks = JoinSet::new();
        let mut queues = Vec::new();
        for webhook in self.webhooks {
            let queue = Arc::new(DropQueue::new(self.queue));
            queues.push((webhook.name(), queue.clone()));
            tasks.spawn(webhook.run(queue));
        }
        if let Some(hook) = self.command {
            let queue = Arc::new(DropQueue::new(self.queue));
            queues.push((hook.argv[0].clone(), queue.clone()));
            tasks.spawn(command::run(hook, queue));
        }
        let queues = Arc::new(queues);
        (
            EventSink {
                queues: queues.clone(),
            },
            Delivery { queues, tasks },
        )
    }
}

/// Where the coordinator emits events. Never blocks.
#[derive(Clone, Default)]
pub struct EventSink {
    queues: Arc<Vec<Destination>>,
}

impl EventSink {
    /// A sink that delivers nowhere (events are still logged by their emitter).
    pub fn none() -> EventSink {
        EventSink::default()
    }

    /// A sink into these queues (tests).
    #[cfg(test)]
    pub(crate) fn with_queues(queues: Vec<Destination>) -> EventSink {
        EventSink {
            queues: Arc::new(queues),
        }
    }

    /// Queues `event` for every destination.
    pub fn emit(&self, event: Event) {
        let event = Arc::new(event);
        for (name, queue) in self.queues.iter() {
            if queue.push(event.clone()) && is_worth_a_warning(queue.dropped()) {
                tracing::warn!(destination = %name, dropped = queue.dropped(), "the notification queue of {name} is full: dropped its oldest event ({} dropped so far)", queue.dropped());
            }
        }
    }

    /// Events dropped so far because a destination's queue was full.
    pub fn dropped(&self) -> u64 {
        self.queues.iter().map(|(_, queue)| queue.dropped()).sum()
    }
}

/// The first dropped event, then every hundredth: a stuck destination
/// must not flood the log.
fn is_worth_a_warning(dropped: u64) -> bool {
    dropped == 1 || dropped.is_multiple_of(100)
}

/// The delivery tasks.
pub struct Delivery {
    queues: Arc<Vec<Destination>>,
    tasks: JoinSet<()>,
}

impl Delivery {
    /// Stops taking events and lets what is queued go out for at most
    /// `grace`; whatever is still undelivered then is abandoned and logged.
    pub async fn finish(mut self, grace: Duration) {
        for (_, queue) in self.queues.iter() {
            queue.close();
        }
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            let left: usize = self.queues.iter().map(|(_, queue)| queue.len()).sum();
            tracing::warn!(left, "stopping: abandoned the notifications still being delivered after {grace:?} ({left} more queued)");
            self.tasks.shutdown().await;
        }
    }
}
