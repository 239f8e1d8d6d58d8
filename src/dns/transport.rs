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
    /// No (acceptable) answer within the timeout; `waited` is the timeout.
    #[error("no answer from {server} over {transport} within {waited:?}")]
    Timeout {
        server: SocketAddr,
        transport: Transport,
        waited: Duration,
    },
    /// Nothing listens there (TCP RST or ICMP port unreachable).
    #[error("connection refused by {server} over {transport}: is the nameserver running and listening on that address and port?")]
    Refused {
        server: SocketAddr,
        transport: Transport,
    },
    /// The connection broke before a whole answer arrived.
    #[error("{server} closed the {transport} connection before answering")]
    Closed {
        server: SocketAddr,
        transport: Transport,
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
    })
}

impl Pending {
    /// The next answer with the request's ID; a timeout once the request's
    /// time is up.
    pub async fn next_answer(&mut self) -> Result<Vec<u8>, TransportError> {
        let (server, transport, timeout, deadline) =
            (self.server, self.transport, self.timeout, self.deadline);
        let id = self.id;
        let receive = async {
            match &mut self.connection {
                Connection::Tcp(stream) => receive_tcp(stream, id).await,
                Connection::Udp(socket, buffer) => receive_udp(socket, buffer, id).await,
            }
        };
        within(server, transport, timeout, deadline, receive).await
    }
}

/// Runs `work` until `deadline`; the timeout error names the whole timeout.
async fn within<T>(
    server: SocketAddr,
    transport: Transport,
    timeout: Duration,
    deadline: Instant,
    work: impl std::future::Future<Output = io::Result<T>>,
) -> Result<T, TransportError> {
    match tokio::time::timeout_at(deadline.into(), work).await {
        Ok(result) => result.map_err(|source| classify(server, transport, source)),
        Err(_) => Err(TransportError::Timeout {
            server,
            transport,
            waited: timeout,
        }),
    }
}

fn classify(server: SocketAddr, transport: Transport, source: io::Error) -> TransportError {
    match source.kind() {
        io::ErrorKind::ConnectionRefused => TransportError::Refused { server, transport },
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe => TransportError::Closed { server, transport },
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

async fn receive_tcp(stream: &mut TcpStream, id: [u8; 2]) -> io::Result<Vec<u8>> {
    loop {
        let len = stream.read_u16().await?;
        let mut answer = vec![0u8; usize::from(len)];
        stream.read_exact(&mut answer).await?;
        if has_id(&answer, id) {
            return Ok(answer);
        }
    }
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

async fn receive_udp(socket: &UdpSocket, buffer: &mut [u8], id: [u8; 2]) -> io::Result<Vec<u8>> {
    loop {
        let len = socket.recv(buffer).await?;
        if has_id(&buffer[..len], id) {
            return Ok(buffer[..len].to_vec());
        }
    }
}

fn has_id(answer: &[u8], id: [u8; 2]) -> bool {
    answer.len() >= 2 && answer[..2] == id
}
