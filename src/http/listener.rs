//! Accepting connections for the status endpoints, within bounds.
//!
//! The listener only reads: each request is answered from the latest
//! snapshot on the watch channel. A failed `accept` (e.g. out of file
//! descriptors) is logged and survived; stopping on it would let any client
//! that exhausts descriptors switch monitoring off. Connections are few and
//! short, so each is bounded in number, header size and lifetime.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::snapshot::Snapshot;
use crate::statistics::Statistics;

/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 64;
/// The most a request's head (request line and headers) may take, in bytes.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// How long a client may take to send a request's head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection may stay open, keep-alive included.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// The pause after a failed `accept`, so that a persistent error (no file
/// descriptors left) does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A bound, not yet serving, status listener.
pub struct StatusListener {
    listener: TcpListener,
}

impl StatusListener {
    /// Binds `address` (port 0: the system picks one; see [`local_addr`]).
    ///
    /// [`local_addr`]: StatusListener::local_addr
    pub async fn bind(address: SocketAddr) -> io::Result<StatusListener> {
        let listener = TcpListener::bind(address).await?;
        Ok(StatusListener { listener })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves the snapshots on `snapshots` and the agent's `statistics` until
    /// `shutdown` turns true, then drops the open connections (they only
    /// read) and returns.
    pub async fn serve(
        self,
        snapshots: watch::Receiver<Arc<Snapshot>>,
        statistics: Statistics,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut connections = JoinSet::new();
        loop {
            let permit = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let snapshots = snapshots.clone();
                    let statistics = statistics.clone();
                    connections.spawn(async move {
                        serve_connection(stream, peer, snapshots, statistics).await;
                        drop(permit);
                    });
                }
                Err(error) => {
                    tracing::warn!("status listener: cannot accept a connection: {error}");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
            while let Some(finished) = connections.try_join_next() {
                if let Err(error) = finished {
                    tracing::error!("status listener: a connection task failed: {error}");
                }
            }
        }
        connections.shutdown().await;
    }
}

/// Answers the requests of one connection, within [`CONNECTION_LIFETIME`].
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    statistics: Statistics,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let snapshot = snapshots.borrow().clone();
        let statistics = statistics.clone();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        // Encoding thousands of addresses takes milliseconds: off the
        // runtime's thread, so that no check starts late because of a scrape.
        let answer = tokio::task::spawn_blocking(move || {
            super::route(&method, &path, &snapshot, &statistics)
        });
        async move {
            let response = answer.await.unwrap_or_else(|error| {
                tracing::error!("status listener: answering failed: {error}");
                super::plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
            });
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%peer, "status listener: {error}"),
        Err(_) => tracing::debug!(%peer, "status listener: connection open too long, closed"),
    }
}
