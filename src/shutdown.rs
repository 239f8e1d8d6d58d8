//! Signals: SIGTERM and SIGINT turn into one shutdown signal every task
//! watches, and a second one ends the process at once; SIGHUP asks for the
//! configuration to be reloaded.

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// Returns a receiver that turns true on the first SIGTERM or SIGINT. A
/// second one exits the process at once, with status 128 + its number as
/// shells report a signal's death.
pub fn on_signals() -> std::io::Result<watch::Receiver<bool>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        let (name, _) = next_signal(&mut terminate, &mut interrupt).await;
        tracing::info!("{name} received: stopping checks, finishing DNS requests in flight (a second SIGTERM or SIGINT exits at once)");
        let _ = sender.send(true);
        let (name, number) = next_signal(&mut terminate, &mut interrupt).await;
        tracing::warn!("second signal ({name}): exiting at once, abandoning DNS requests in flight; the next start reads DNS again");
        std::process::exit(128 + number);
    });
    Ok(receiver)
}

/// The name and number of the next SIGTERM or SIGINT.
async fn next_signal(terminate: &mut Signal, interrupt: &mut Signal) -> (&'static str, i32) {
    tokio::select! {
        _ = terminate.recv() => ("SIGTERM", 15),
        _ = interrupt.recv() => ("SIGINT", 2),
    }
}

/// Returns a receiver that yields once per SIGHUP. Installing the handler
/// replaces SIGHUP's default action, which would end the process.
/// Signals that arrive while one reload waits are merged into it.
pub fn on_reload_signal() -> std::io::Result<mpsc::Receiver<()>> {
    let mut hangup = signal(SignalKind::hangup())?;
    let (sender, receiver) = mpsc::channel(1);
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            if sender.try_send(()).is_err() && sender.is_closed() {
                return;
            }
        }
    });
    Ok(receiver)
}
