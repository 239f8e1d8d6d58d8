//! A check that passed, as a probe hands it to the checker.

use std::time::SystemTime;

use super::watch::KeptConnection;

/// A check that passed, before it is timed.
pub(crate) struct Passed {
    /// Short detail for the outcome.
    pub(crate) detail: String,
    /// The connection to watch, if it can stay open.
    pub(crate) kept: Option<KeptConnection>,
    /// When the server's certificate expires, for checks over TLS.
    pub(crate) certificate_expires: Option<SystemTime>,
}
