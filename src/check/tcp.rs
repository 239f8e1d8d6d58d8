//! The TCP step every check starts with: open a connection to the address.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

/// Opens a TCP connection; the error is a short detail for the outcome.
///
/// No time limit here: the caller bounds the whole check.
pub(crate) async fn connect(address: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|error| describe_io_error(&error))?;
    // Requests are small and sent at once; waiting for Nagle only adds latency.
    stream
        .set_nodelay(true)
        .map_err(|error| describe_io_error(&error))?;
    // Closing a check's connection resets it (SO_LINGER 0) instead of going
    // through FIN and TIME_WAIT: at thousands of checks a second, TIME_WAIT
    // sockets would fill the host's table and cost a handshake per close.
    // Zero linger never blocks, so it is safe on an async socket.
    rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO))
        .map_err(|error| describe_io_error(&error.into()))?;
    Ok(stream)
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
