//! What one check found, and in which step a failed check stopped.

use std::fmt;
use std::time::{Duration, SystemTime};

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the address passed the check.
    pub healthy: bool,
    /// A short explanation for logs, e.g. `200 OK`, `connection refused`,
    /// `timed out after 500ms while waiting for the response`.
    pub detail: String,
    /// How long the check took.
    pub elapsed: Duration,
    /// When the server's certificate expires, for checks that saw one.
    pub certificate_expires: Option<SystemTime>,
    /// Something an operator should act on although the check passed, e.g.
    /// a certificate that expires within the configured warning.
    pub warning: Option<String>,
}

impl Outcome {
    /// A passed check.
    pub fn healthy(detail: impl Into<String>, elapsed: Duration) -> Outcome {
        Outcome {
            healthy: true,
            detail: detail.into(),
            elapsed,
            certificate_expires: None,
            warning: None,
        }
    }

    /// A failed check.
    pub fn unhealthy(detail: impl Into<String>, elapsed: Duration) -> Outcome {
        Outcome {
            healthy: false,
            detail: detail.into(),
            elapsed,
            certificate_expires: None,
            warning: None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.healthy { "healthy" } else { "unhealthy" };
        write!(
            f,
            "{verdict}: {} ({}ms)",
            self.detail,
            self.elapsed.as_millis()
        )
    }
}

/// The step a check is in; named in the detail of a check that timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Opening the TCP connection.
    Connecting,
    /// The TLS handshake.
    TlsHandshake,
    /// Request sent, waiting for the status line and headers.
    AwaitingResponse,
    /// Reading the response body.
    ReadingBody,
    /// Waiting until fewer exec checks run at once.
    WaitingToRun,
    /// The exec check's program runs.
    Running,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Connecting => "connecting",
            Step::TlsHandshake => "in the TLS handshake",
            Step::AwaitingResponse => "waiting for the response",
            Step::ReadingBody => "reading the body",
            Step::WaitingToRun => "waiting for a free slot to run the program",
            Step::Running => "waiting for the program to exit",
        })
    }
}

/// The detail of a check that ran out of time.
pub(crate) fn timed_out(timeout: Duration, step: Step) -> String {
    format!(
        "timed out after {} {step}",
        humantime::format_duration(timeout)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_detail_names_duration_and_step() {
        let detail = timed_out(Duration::from_millis(500), Step::AwaitingResponse);
        assert_eq!(detail, "timed out after 500ms waiting for the response");
    }

    #[test]
    fn display_shows_verdict_detail_and_milliseconds() {
        let outcome = Outcome::unhealthy("connection refused", Duration::from_millis(3));
        assert_eq!(outcome.to_string(), "unhealthy: connection refused (3ms)");
    }
}
