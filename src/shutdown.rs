//! Signals: SIGTERM and SIGINT turn into one shutdown signal every task
//! watches; SIGHUP asks for the configuration to be reloaded.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// Returns a receiver that turns true on the first SIGTERM or SIGINT.
pub fn on_signals() -> std::io::Result<watch::Receiver<bool>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} received: stopping checks, finishing DNS requests in flight");
        let _ = sender.send(true);
        // Keep the sender alive so receivers never see the channel close.
        std::future::pending::<()>().await;
    });
    Ok(receiver)
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
