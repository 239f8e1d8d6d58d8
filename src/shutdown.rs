//! SIGTERM and SIGINT turn into one shutdown signal every task watches.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

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
