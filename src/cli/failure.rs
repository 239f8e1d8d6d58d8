//! Why a command failed, and the exit code each kind of failure gives.

use std::process::ExitCode;

use crate::agent::StartError;
use crate::config::ConfigError;
use crate::notify::NotifySetupError;

/// A command failed and says why. Printed once, by [`super::main`].
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command line is unusable (e.g. a bad `--log-level`).
    #[error("{0}")]
    Usage(String),
    /// The configuration file is unreadable or invalid; every problem is listed.
    #[error("{0}")]
    Config(ConfigError),
    /// The configuration is valid but its TSIG key cannot be loaded.
    #[error("{0}")]
    Key(ConfigError),
    /// A check cannot be prepared (e.g. an unreadable `tls_ca_file`).
    #[error("cannot prepare the checks: {0}")]
    Checks(#[from] StartError),
    /// A notification destination cannot be prepared (e.g. its `tls_ca_file`).
    #[error("cannot prepare the notifications: {0}")]
    Notify(#[from] NotifySetupError),
    /// The status listener (`http.listen`) cannot be bound, e.g. the port is taken.
    #[error("cannot listen on {address} (http.listen): {source}")]
    Listen {
        /// The configured address.
        address: std::net::SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// `status`: the agent answered, and some record is out of sync or has an alarm.
    #[error("{0}")]
    NotInSync(String),
    /// `status`: no agent answered at the address, or it answered garbage.
    #[error("{0}")]
    Unreachable(String),
    /// Something failed at run time (signals, the runtime, the nameserver for `plan`).
    #[error("{0}")]
    Runtime(String),
}

impl Failure {
    /// The process exit code: 1 run time (for `status`: not in sync),
    /// 2 command line or configuration (for `status`: no usable answer),
    /// 3 TSIG key, 4 checks or notifications, 5 the status listener cannot
    /// be bound.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The exit code as a number.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Runtime(_) | Failure::NotInSync(_) => 1,
            Failure::Usage(_) | Failure::Config(_) | Failure::Unreachable(_) => 2,
            Failure::Key(_) => 3,
            Failure::Checks(_) | Failure::Notify(_) => 4,
            Failure::Listen { .. } => 5,
        }
    }

    /// True when the message is a list of located problems, one per line,
    /// which is printed as it is rather than behind a prefix.
    pub fn is_problem_list(&self) -> bool {
        matches!(self, Failure::Config(_) | Failure::Key(_))
    }
}
