//! The TCP step every check starts with: open a connection to the address.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpSocket, TcpStream};

/// Whether the check writes on the connection once it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// Only the connection counts (a `tcp` check): nothing is ever sent.
    Nothing,
    /// A request follows (HTTP, SMTP, TLS): sent at once, without Nagle's wait.
    Talk,
}

/// Opens a TCP connection; the error is a short detail for the outcome.
///
/// No time limit here: the caller bounds the whole check.
pub(crate) async fn connect(address: SocketAddr, then: Then) -> Result<TcpStream, String> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|error| describe_io_error(&error))?;
    // Closing a check's connection resets it (SO_LINGER 0) instead of going
    // through FIN and TIME_WAIT: at thousands of checks a second, TIME_WAIT
    // sockets would fill the host's table and cost a handshake per close.
    // Zero linger never blocks, so it is safe on an async socket.
    socket
        .set_zero_linger()
        .map_err(|error| describe_io_error(&error))?;
    if then == Then::Talk {
        // Requests are small and sent at once; waiting for Nagle only adds latency.
        socket
            .set_nodelay(true)
            .map_err(|error| describe_io_error(&error))?;
    }
    socket
        .connect(address)
        .await
        .map_err(|error| describe_io_error(&error))
}

/// A short, lower-case description of a socket error, for an outcome's detail.
pub(crate) fn describe_io_error(error: &io::Error) -> String {
    let text = match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::HostUnreachable => "host unreachable",
        io::ErrorKind::NetworkUnreachable => "network unreachable",
        io::ErrorKind::AddrNotAvailable => "address not available",
        io::ErrorKind::UnexpectedEof => "connection closed by the server",
        _ => return error.to_string(),
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_errors_get_short_names() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(describe_io_error(&refused), "connection refused");
        let unreachable = io::Error::from(io::ErrorKind::NetworkUnreachable);
        assert_eq!(describe_io_error(&unreachable), "network unreachable");
    }

    #[test]
    fn other_errors_keep_their_own_text() {
        let other = io::Error::other("something odd");
        assert_eq!(describe_io_error(&other), "something odd");
    }
}
