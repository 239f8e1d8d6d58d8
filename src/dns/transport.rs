//! Carries one request to the nameserver and brings back the answers with
//! the same ID: TCP with the two-byte length prefix, or a single UDP
//! datagram. No retransmission here: whether to try again is decided above,
//! where it is known if the request was an UPDATE.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::vocabulary::Transport;

/// Largest UDP answer we accept (EDNS is not used, but be generous).
const UDP_BUFFER: usize = 65_535;

/// A request that got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No (acceptable) answer within the timeout; `waited` is the timeout,
    /// `ignored` the messages that arrived with another ID.
    #[error("no answer from {server} over {transport} within {waited:?}{}", ignored_note(*.ignored))]
    Timeout {
        server: SocketAddr,
        transport: Transport,
        waited: Duration,
        ignored: usize,
    },
    /// Nothing listens there (TCP RST or ICMP port unreachable).
    #[error("connection refused by {server} over {transport}: is the nameserver running and listening on that address and port?")]
    Refused {
        server: SocketAddr,
        transport: Transport,
    },
    /// The connection broke before an answer began.
    #[error("{server} closed the {transport} connection before answering: see the nameserver's log (it may have restarted, or a firewall in between reset the connection)")]
    Closed {
        server: SocketAddr,
        transport: Transport,
    },
    /// The connection broke in the middle of an answer.
    #[error("{server} closed the {transport} connection in the middle of an answer, after {received} of the {announced} bytes its length prefix announced: see the nameserver's log (it may have restarted, or a firewall in between reset the connection)")]
    Cut {
        server: SocketAddr,
        transport: Transport,
        received: usize,
        announced: usize,
    },
    /// Another I/O error.
    #[error("{transport} request to {server} failed: {source}")]
    Io {
        server: SocketAddr,
        transport: Transport,
        source: io::Error,
    },
}

impl TransportError {
    /// True when the request may have reached the server (and an UPDATE may
    /// have been applied): only a refused connection proves it did not.
    pub fn may_have_been_delivered(&self) -> bool {
        !matches!(self, TransportError::Refused { .. })
    }
}

/// A request that was sent: the answers carrying its ID, one at a time,
/// until the request's timeout. An answer that turns out to be forged does
/// not end the exchange: the caller asks for the next one (RFC 8945 §5.4).
pub struct Pending {
    server: SocketAddr,
    transport: Transport,
    timeout: Duration,
    deadline: Instant,
    id: [u8; 2],
    connection: Connection,
    /// Messages received so far with another ID.
    ignored: usize,
}

enum Connection {
    Tcp(TcpStream),
    Udp(UdpSocket, Vec<u8>),
}

/// Sends `request`; connecting and sending count against `timeout`, which
/// bounds the whole exchange.
pub async fn send(
    server: SocketAddr,
    transport: Transport,
    request: &[u8],
    timeout: Duration,
) -> Result<Pending, TransportError> {
    let deadline = Instant::now() + timeout;
    let connect = async {
        match transport {
            Transport::Tcp => send_tcp(server, request).await,
            Transport::Udp => send_udp(server, request).await,
        }
        .map_err(|source| classify(server, transport, source))
    };
    let connection = within(server, transport, timeout, deadline, connect).await?;
    Ok(Pending {
        server,
        transport,
        timeout,
        deadline,
        id: [
            request.first().copied().unwrap_or(0),
            request.get(1).copied().unwrap_or(0),
        ],
        connection,
        ignored: 0,
    })
}

impl Pending {
    /// The next answer with the request's ID; a timeout once the request's
    /// time is up.
    pub async fn next_answer(&mut self) -> Result<Vec<u8>, TransportError> {
        let (server, transport, timeout, deadline) =
            (self.server, self.transport, self.timeout, self.deadline);
        let id = self.id;
        let ignored = &mut self.ignored;
        let receive = async {
            let received = match &mut self.connection {
                Connection::Tcp(stream) => receive_tcp(stream, id, ignored).await,
                Connection::Udp(socket, buffer) => receive_udp(socket, buffer, id, ignored)
                    .await
                    .map_err(Received::Io),
            };
            received.map_err(|failure| match failure {
                Received::Io(source) => classify(server, transport, source),
                Received::Cut {
                    received,
                    announced,
                } => TransportError::Cut {
                    server,
                    transport,
                    received,
                    announced,
                },
            })
        };
        match within(server, transport, timeout, deadline, receive).await {
            Err(TransportError::Timeout { .. }) => Err(TransportError::Timeout {
                server,
                transport,
                waited: timeout,
                ignored: self.ignored,
            }),
            received => received,
        }
    }
}

/// What a timeout adds about messages that did not answer our request.
fn ignored_note(ignored: usize) -> String {
    match ignored {
        0 => String::new(),
        1 => " (1 message with another ID arrived and was ignored: it does not answer this request; a broken nameserver or something in between sent it)".into(),
        n => format!(" ({n} messages with another ID arrived and were ignored: they do not answer this request; a broken nameserver or something in between sent them)"),
    }
}

/// Runs `work` until `deadline`; the timeout error names the whole timeout.
async fn within<T>(
    server: SocketAddr,
    transport: Transport,
    timeout: Duration,
    deadline: Instant,
    work: impl std::future::Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    match tokio::time::timeout_at(deadline.into(), work).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout {
            server,
            transport,
            waited: timeout,
            ignored: 0,
        }),
    }
}

fn classify(server: SocketAddr, transport: Transport, source: io::Error) -> TransportError {
    match source.kind() {
        io::ErrorKind::ConnectionRefused => TransportError::Refused { server, transport },
        _ if is_broken(&source) => TransportError::Closed { server, transport },
        _ => TransportError::Io {
            server,
            transport,
            source,
        },
    }
}

async fn send_tcp(server: SocketAddr, request: &[u8]) -> io::Result<Connection> {
    let mut stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let len = u16::try_from(request.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "request larger than 65535 bytes",
        )
    })?;
    let mut framed = Vec::with_capacity(request.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    stream.write_all(&framed).await?;
    Ok(Connection::Tcp(stream))
}

async fn receive_tcp(
    stream: &mut TcpStream,
    id: [u8; 2],
    ignored: &mut usize,
) -> Result<Vec<u8>, Received> {
    loop {
        let announced = usize::from(stream.read_u16().await?);
        let answer = read_announced(stream, announced).await?;
        if has_id(&answer, id) {
            return Ok(answer);
        }
        *ignored += 1;
    }
}

/// Reads the `announced` bytes of one answer. The buffer grows only as
/// bytes arrive: a length prefix is only a claim, so a peer that announces
/// 65,535 bytes and sends none does not get 64 KiB reserved for it.
async fn read_announced(stream: &mut TcpStream, announced: usize) -> Result<Vec<u8>, Received> {
    let mut answer = Vec::new();
    let read = (&mut *stream)
        .take(announced as u64)
        .read_to_end(&mut answer)
        .await;
    let cut = |answer: &Vec<u8>| Received::Cut {
        received: answer.len(),
        announced,
    };
    match read {
        Ok(_) if answer.len() == announced => Ok(answer),
        Ok(_) => Err(cut(&answer)),
        Err(error) if is_broken(&error) => Err(cut(&answer)),
        Err(error) => Err(error.into()),
    }
}

/// Why no answer was received.
enum Received {
    /// An I/O error, classified like any other.
    Io(io::Error),
    /// The connection broke after part of an answer.
    Cut { received: usize, announced: usize },
}

impl From<io::Error> for Received {
    fn from(error: io::Error) -> Self {
        Received::Io(error)
    }
}

/// The peer went away (closed or reset the connection).
fn is_broken(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

async fn send_udp(server: SocketAddr, request: &[u8]) -> io::Result<Connection> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    socket.send(request).await?;
    Ok(Connection::Udp(socket, vec![0u8; UDP_BUFFER]))
}

async fn receive_udp(
    socket: &UdpSocket,
    buffer: &mut [u8],
    id: [u8; 2],
    ignored: &mut usize,
) -> io::Result<Vec<u8>> {
    loop {
        let len = socket.recv(buffer).await?;
        if has_id(&buffer[..len], id) {
            return Ok(buffer[..len].to_vec());
        }
        *ignored += 1;
    }
}

fn has_id(answer: &[u8], id: [u8; 2]) -> bool {
    answer.len() >= 2 && answer[..2] == id
}
