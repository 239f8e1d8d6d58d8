//! The connection kept open after a successful check, watched for the server
//! closing or resetting it.
//!
//! When a server process dies, its kernel closes or resets all of its
//! connections at once. Watching the connection of the last successful check
//! therefore notices a crash long before the next check would.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::client::conn::http1::SendRequest;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The hyper connection future of an HTTP(S) check: it completes when the
/// connection is closed, whatever the underlying stream.
pub(crate) type HttpConnection = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// A connection kept from a successful check.
pub(crate) enum KeptConnection {
    /// The stream of a TCP check; anything the server sends is read and discarded.
    Tcp(TcpStream),
    /// An idle HTTP/1.1 keep-alive connection.
    Http {
        /// Held so that hyper keeps the idle connection open; dropping it would close it.
        _sender: SendRequest<Empty<Bytes>>,
        /// Completes when the server closes the connection.
        connection: HttpConnection,
    },
}

impl KeptConnection {
    /// Resolves when the server closes or resets the connection.
    ///
    /// Cancel-safe: dropping the future loses nothing, so it can be raced
    /// against a timer again and again.
    pub(crate) async fn closed(&mut self) {
        match self {
            KeptConnection::Tcp(stream) => tcp_closed(stream).await,
            KeptConnection::Http { connection, .. } => {
                // Ok: the server closed it cleanly; Err: reset or garbage. Both mean gone.
                let _ = connection.as_mut().await;
            }
        }
    }
}

/// Reads until end of file or an error. Some services greet first (SSH, SMTP):
/// their data is not a sign of trouble and is discarded.
///
/// The buffer is small on purpose: this future lives in every address's task
/// for as long as the connection is kept, and what is read is thrown away.
async fn tcp_closed(stream: &mut TcpStream) {
    let mut discard = [0u8; 64];
    loop {
        match stream.read(&mut discard).await {
            Ok(0) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

/// Tells a crashed server from one that merely closes idle connections.
///
/// After a lost connection the scheduler checks at once. If that check passes,
/// the server is alive and the loss was a false alarm: it closes connections by
/// itself (an idle timeout shorter than the check interval, a reload, or no
/// keep-alive at all without saying so). A server that does this every time would
/// turn the watch into a stream of back-to-back checks, so after
/// [`FalseAlarms::LIMIT`] false alarms in a row connections are no longer kept.
#[derive(Debug, Default)]
pub(crate) struct FalseAlarms {
    lost_since_last_check: bool,
    in_a_row: u32,
}

impl FalseAlarms {
    /// False alarms in a row after which connections are no longer watched.
    pub(crate) const LIMIT: u32 = 3;

    /// The kept connection was closed by the server.
    pub(crate) fn connection_lost(&mut self) {
        self.lost_since_last_check = true;
    }

    /// A check starts; `kept_survived` says whether the kept connection was still open.
    pub(crate) fn check_started(&mut self, kept_survived: bool) {
        if kept_survived {
            self.in_a_row = 0;
        }
    }

    /// A check finished. Returns true when this check made the limit be reached.
    pub(crate) fn check_finished(&mut self, healthy: bool) -> bool {
        if !std::mem::take(&mut self.lost_since_last_check) {
            return false;
        }
        if !healthy {
            self.in_a_row = 0;
            return false;
        }
        self.in_a_row += 1;
        self.in_a_row == Self::LIMIT
    }

    /// Whether connections of passed checks should still be kept and watched.
    pub(crate) fn watching(&self) -> bool {
        self.in_a_row < Self::LIMIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost_then_checked(alarms: &mut FalseAlarms, healthy: bool) -> bool {
        alarms.check_started(false);
        alarms.connection_lost();
        alarms.check_finished(healthy)
    }

    #[test]
    fn repeated_false_alarms_stop_the_watch() {
        let mut alarms = FalseAlarms::default();
        assert!(!lost_then_checked(&mut alarms, true));
        assert!(!lost_then_checked(&mut alarms, true));
        assert!(alarms.watching());
        assert!(lost_then_checked(&mut alarms, true));
        assert!(!alarms.watching());
    }

    #[test]
    fn a_real_crash_resets_the_count() {
        let mut alarms = FalseAlarms::default();
        lost_then_checked(&mut alarms, true);
        lost_then_checked(&mut alarms, true);
        lost_then_checked(&mut alarms, false);
        lost_then_checked(&mut alarms, true);
        lost_then_checked(&mut alarms, true);
        assert!(alarms.watching());
    }

    #[test]
    fn a_connection_that_survives_resets_the_count() {
        let mut alarms = FalseAlarms::default();
        lost_then_checked(&mut alarms, true);
        lost_then_checked(&mut alarms, true);
        alarms.check_started(true);
        alarms.check_finished(true);
        lost_then_checked(&mut alarms, true);
        assert!(alarms.watching());
    }

    #[test]
    fn checks_without_a_loss_count_nothing() {
        let mut alarms = FalseAlarms::default();
        for _ in 0..10 {
            alarms.check_started(false);
            assert!(!alarms.check_finished(true));
        }
        assert!(alarms.watching());
    }
}
