//! Carries one request to the nameserver and brings back the answer with
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
    /// No answer within the timeout.
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

/// Sends `request` and returns the first answer carrying the same ID.
pub async fn exchange(
    server: SocketAddr,
    transport: Transport,
    request: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, TransportError> {
    let started = Instant::now();
    let attempt = async {
        match transport {
            Transport::Tcp => exchange_tcp(server, request).await,
            Transport::Udp => exchange_udp(server, request).await,
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result.map_err(|source| classify(server, transport, source)),
        Err(_) => Err(TransportError::Timeout {
            server,
            transport,
            waited: started.elapsed(),
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

async fn exchange_tcp(server: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
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
    loop {
        let len = stream.read_u16().await?;
        let mut answer = vec![0u8; usize::from(len)];
        stream.read_exact(&mut answer).await?;
        if same_id(request, &answer) {
            return Ok(answer);
        }
    }
}

async fn exchange_udp(server: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    socket.send(request).await?;
    let mut buffer = vec![0u8; UDP_BUFFER];
    loop {
        let len = socket.recv(&mut buffer).await?;
        if same_id(request, &buffer[..len]) {
            buffer.truncate(len);
            return Ok(buffer);
        }
    }
}

fn same_id(request: &[u8], answer: &[u8]) -> bool {
    answer.len() >= 2 && answer[..2] == request[..2]
}
