//! A scriptable HTTP/1.1 server on loopback, plain or TLS, that reports what it
//! sees so tests can assert on it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How the server answers every request.
#[derive(Clone)]
pub enum Reply {
    /// An answer with `Content-Length`; `hang_up` closes the connection right
    /// after it without announcing it in a header.
    Answer {
        status: &'static str,
        headers: &'static str,
        body: Vec<u8>,
        hang_up: bool,
    },
    /// Reads the request and never answers.
    Frozen,
    /// A `total`-byte body that starts with `prefix` and goes on with filler,
    /// written until done or until the client stops reading and leaves.
    Huge { prefix: Vec<u8>, total: usize },
}

impl Reply {
    /// A keep-alive answer with the given status line and body.
    pub fn answer(status: &'static str, body: &str) -> Reply {
        Reply::Answer {
            status,
            headers: "",
            body: body.as_bytes().to_vec(),
            hang_up: false,
        }
    }
}

/// What the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request head arrived on connection `connection` (numbered from 0).
    Request { connection: usize, head: String },
    /// The client closed connection `connection`.
    ClientClosed { connection: usize },
    /// A huge body stopped: `written` of `total` bytes went out.
    BodyStopped { written: usize, total: usize },
}

/// A running test server; dropping it stops accepting (open connections live on
/// until the test's runtime ends).
pub struct Server {
    pub address: SocketAddr,
    events: mpsc::UnboundedReceiver<Event>,
    close: watch::Sender<u64>,
    acceptor: JoinHandle<()>,
}

impl Server {
    /// Starts a plain HTTP server on `ip`, port 0.
    pub async fn start(ip: IpAddr, reply: Reply) -> Server {
        Server::start_with(ip, reply, None).await
    }

    /// Starts a server; with `tls` it speaks HTTPS.
    pub async fn start_with(ip: IpAddr, reply: Reply, tls: Option<TlsAcceptor>) -> Server {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let (events_tx, events) = mpsc::unbounded_channel();
        let (close, closer) = watch::channel(0);
        let shared = Arc::new(Shared {
            reply,
            events: events_tx,
            closer,
        });
        let acceptor = tokio::spawn(accept_loop(listener, shared, tls));
        Server {
            address,
            events,
            close,
            acceptor,
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Closes every connection that is open now.
    pub fn close_connections(&self) {
        self.close.send_modify(|generation| *generation += 1);
    }

    /// The next event, waiting at most 5 s.
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("the server reported nothing within 5 s")
            .expect("the server stopped")
    }

    /// The next request head, skipping other events.
    pub async fn next_request(&mut self) -> String {
        for _ in 0..100 {
            if let Event::Request { head, .. } = self.next_event().await {
                return head;
            }
        }
        panic!("no request among 100 events");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// What every connection task shares.
struct Shared {
    reply: Reply,
    events: mpsc::UnboundedSender<Event>,
    closer: watch::Receiver<u64>,
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
    for connection in 0.. {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve(stream, connection, &shared).await,
                Some(acceptor) => {
                    // A client that rejects the certificate ends the handshake: nothing to serve.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(stream, connection, &shared).await;
                    }
                }
            }
        });
    }
}

/// Serves requests on one connection until either side closes it.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    connection: usize,
    shared: &Shared,
) {
    let mut closer = shared.closer.clone();
    closer.mark_unchanged();
    loop {
        let head = tokio::select! {
            head = read_head(&mut stream) => head,
            _ = closer.changed() => return,
        };
        let Some(head) = head else {
            let _ = shared.events.send(Event::ClientClosed { connection });
            return;
        };
        let _ = shared.events.send(Event::Request { connection, head });
        let keep_open = tokio::select! {
            keep_open = respond(&mut stream, shared) => keep_open,
            _ = closer.changed() => return,
        };
        if !keep_open {
            return;
        }
    }
}

/// Reads one request head; `None` when the client closed the connection.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Writes the scripted answer; returns whether the connection stays open.
async fn respond<S: AsyncWrite + Unpin>(stream: &mut S, shared: &Shared) -> bool {
    match &shared.reply {
        Reply::Answer {
            status,
            headers,
            body,
            hang_up,
        } => {
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{headers}\r\n",
                body.len()
            );
            let sent = write_all(stream, head.as_bytes()).await && write_all(stream, body).await;
            sent && !hang_up
        }
        Reply::Frozen => std::future::pending().await,
        Reply::Huge { prefix, total } => {
            let written = write_huge(stream, prefix, *total).await;
            let _ = shared.events.send(Event::BodyStopped {
                written,
                total: *total,
            });
            written == *total
        }
    }
}

/// Writes the head and up to `total` body bytes; returns how many body bytes went out.
async fn write_huge<S: AsyncWrite + Unpin>(stream: &mut S, prefix: &[u8], total: usize) -> usize {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n");
    if !write_all(stream, head.as_bytes()).await || !write_all(stream, prefix).await {
        return 0;
    }
    let filler = vec![b'x'; 64 * 1024];
    let mut written = prefix.len();
    while written < total {
        let chunk = &filler[..filler.len().min(total - written)];
        if !write_all(stream, chunk).await {
            break;
        }
        written += chunk.len();
    }
    written
}

async fn write_all<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> bool {
    stream.write_all(bytes).await.is_ok() && stream.flush().await.is_ok()
}

/// The value of header `name` in a request head, matched case-insensitively.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (field, value) = line.split_once(':')?;
        field
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// A listener that accepts TCP connections in the kernel but is never served.
pub async fn silent_listener(ip: IpAddr) -> TcpListener {
    TcpListener::bind((ip, 0)).await.expect("bind loopback")
}

/// A port on `ip` where nothing listens: bound, then released.
pub async fn closed_port(ip: IpAddr) -> u16 {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind loopback");
    listener.local_addr().expect("local address").port()
}

/// Accepts one connection on `listener`, waiting at most 5 s.
pub async fn accept_one(listener: &TcpListener) -> TcpStream {
    tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("no connection within 5 s")
        .expect("accept")
        .0
}
