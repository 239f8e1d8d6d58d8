//! In-process web servers on loopback addresses that a test can kill, freeze
//! and restore, standing in for the servers dnsfailover watches.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What a target does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers `GET /health` with `200 ok` (and any TCP connect is accepted).
    Serving,
    /// Accepts connections but never answers, like a stopped process.
    Frozen,
}

/// A web server at a fixed address and port that can be killed (nothing
/// listens: connections are refused and open ones are reset), frozen and
/// restored.
pub struct WebTarget {
    address: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    task: Option<JoinHandle<()>>,
}

impl WebTarget {
    /// Serves at `address` (its port must be free).
    pub async fn start(address: SocketAddr) -> WebTarget {
        WebTarget::try_start(address)
            .await
            .expect("the target's port is free")
    }

    /// Serves at `address`, or says why it cannot listen there.
    pub async fn try_start(address: SocketAddr) -> std::io::Result<WebTarget> {
        let listener = TcpListener::bind(address).await?;
        let mode = Arc::new(Mutex::new(Mode::Serving));
        let task = Some(tokio::spawn(serve(listener, mode.clone())));
        Ok(WebTarget {
            address,
            mode,
            task,
        })
    }

    /// The address it serves on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops listening and drops every connection, as a crashed server's kernel would.
    pub fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Keeps listening but answers nothing from now on.
    pub fn freeze(&self) {
        *self.mode.lock().unwrap() = Mode::Frozen;
    }

    /// Serves again (listening again after [`WebTarget::kill`]).
    pub async fn revive(&mut self) {
        *self.mode.lock().unwrap() = Mode::Serving;
        if self.task.is_none() {
            let listener = TcpListener::bind(self.address)
                .await
                .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", self.address));
            let mode = self.mode.clone();
            self.task = Some(tokio::spawn(serve(listener, mode)));
        }
    }
}

impl Drop for WebTarget {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn serve(listener: TcpListener, mode: Arc<Mutex<Mode>>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let mode = mode.clone();
        connections.spawn(answer(stream, mode));
        while connections.try_join_next().is_some() {}
    }
    // Aborting this task drops the JoinSet, which aborts every connection.
}

async fn answer(mut stream: TcpStream, mode: Arc<Mutex<Mode>>) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let Ok(read) = stream.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..read]);
        if !request.windows(4).any(|w| w == b"\r\n\r\n") {
            continue;
        }
        request.clear();
        if *mode.lock().unwrap() == Mode::Frozen {
            std::future::pending::<()>().await;
        }
        let reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A port free on every one of `addresses` (TCP), so that several targets can
/// share the port of one check. Bounded number of tries.
pub async fn common_port(addresses: &[IpAddr]) -> u16 {
    for _ in 0..100 {
        let port = super::free_port();
        let mut all = true;
        for address in addresses {
            if std::net::TcpListener::bind((*address, port)).is_err() {
                all = false;
                break;
            }
        }
        if all {
            return port;
        }
    }
    panic!("no port free on all of {addresses:?}");
}
