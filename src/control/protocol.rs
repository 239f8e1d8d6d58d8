//! The requests and responses of the control socket, one JSON line each.

use serde::{Deserialize, Serialize};

use crate::snapshot::OverrideStatus;

/// The longest line either side reads.
pub const MAX_LINE: usize = 64 * 1024;

/// What a client asks of the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// Treat `server` as down for the decisions (in `record` only, or in
    /// every record that has it) while its checks go on.
    Drain {
        /// The server's name.
        server: String,
        /// The record, or every record with the server.
        record: Option<String>,
        /// How long; `None`: until released.
        for_seconds: Option<f64>,
        /// Why, for the audit log and status.
        reason: String,
    },
    /// Publish `server` for `record` whatever the checks say.
    Pin {
        /// The record's name.
        record: String,
        /// The server's name.
        server: String,
        /// How long; `None`: until released.
        for_seconds: Option<f64>,
        /// Why.
        reason: String,
    },
    /// Remove the drains of a server, or the pin of a record.
    Release {
        /// A server name or a record name.
        target: String,
    },
    /// List the overrides in force.
    Overrides,
    /// With `failback: manual`: go back to the first server up now.
    Failback {
        /// The record's name.
        record: String,
    },
    /// Read the configuration file again and apply it (as SIGHUP does).
    Reload,
}

/// The agent's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Done; `false`: refused, and `message` says why.
    pub ok: bool,
    /// One sentence for the operator.
    pub message: String,
    /// The overrides in force after the request.
    #[serde(default)]
    pub overrides: Vec<OverrideStatus>,
}

impl Response {
    /// A refusal.
    pub fn refused(message: impl Into<String>) -> Response {
        Response {
            ok: false,
            message: message.into(),
            overrides: Vec::new(),
        }
    }

    /// A request done.
    pub fn done(message: impl Into<String>) -> Response {
        Response {
            ok: true,
            message: message.into(),
            overrides: Vec::new(),
        }
    }
}
