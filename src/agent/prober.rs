//! One task per checked address: waits until its check is due (or its kept
//! connection is lost), runs the check, and asks the coordinator when to
//! check next.

use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use super::clock;
use crate::check::{Checker, Outcome};
use crate::engine::TargetId;

/// What a prober tells the coordinator; each event is answered with the
/// time the next check is due, or `None` when the address is no longer
/// checked.
#[derive(Debug)]
pub enum ProbeEvent {
    /// A check ran from `started` to `finished`.
    Checked {
        /// The checked address.
        target: TargetId,
        /// What the check found.
        outcome: Outcome,
        /// When it started.
        started: Instant,
        /// When it finished.
        finished: Instant,
        /// Where to send the next due time.
        next_due: oneshot::Sender<Option<Instant>>,
    },
    /// The connection kept from the last passed check was closed by the server.
    ConnectionLost {
        /// The address whose connection was lost.
        target: TargetId,
        /// When it was noticed.
        at: Instant,
        /// Where to send the next due time.
        next_due: oneshot::Sender<Option<Instant>>,
    },
}

/// Checks one address until `shutdown` turns true, the coordinator is gone,
/// or it says the address is no longer checked.
pub async fn probe(
    target: TargetId,
    mut checker: Checker,
    events: mpsc::Sender<ProbeEvent>,
    mut due: Instant,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let connection_lost = tokio::select! {
            _ = clock::sleep_until(due) => false,
            _ = checker.connection_lost() => true,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let (reply, next_due) = oneshot::channel();
        let event = if connection_lost {
            ProbeEvent::ConnectionLost {
                target,
                at: clock::now(),
                next_due: reply,
            }
        } else {
            let started = clock::now();
            let outcome = tokio::select! {
                outcome = checker.check() => outcome,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let finished = clock::now();
            ProbeEvent::Checked {
                target,
                outcome,
                started,
                finished,
                next_due: reply,
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
        match next_due.await {
            Ok(Some(next)) => due = next,
            Ok(None) | Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::check::{Target, TargetNames, TlsContexts};
    use crate::config::CheckSpec;

    /// Every checked address has one task holding this future for as long as
    /// it is checked: at 100,000 addresses each KiB of it is 100 MB of memory.
    /// The largest checks run boxed (see `Probe::run`), so its size does not
    /// depend on which check the address has.
    #[test]
    fn an_address_task_stays_small() {
        let (events, _receiver) = mpsc::channel(1);
        let (_stop, shutdown) = watch::channel(false);
        let target = Target {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            check: Arc::new(CheckSpec::Tcp { port: 80 }),
            default_host: "www.example.test".into(),
            names: Arc::new(TargetNames::default()),
            timeout: Duration::from_secs(1),
        };
        let checker = Checker::new(target, &TlsContexts::new()).unwrap();
        let future = probe(
            TargetId::for_test(1),
            checker,
            events,
            Instant::now(),
            shutdown,
        );
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2048, "the prober's future takes {size} bytes");
    }
}
