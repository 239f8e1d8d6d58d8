//! How the zone's other nameservers follow the agent's updates.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// One zone's other nameservers and the last update they were asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZonePropagation {
    /// The zone, with its trailing dot.
    pub zone: String,
    /// The primary's SOA serial after the last update followed.
    pub serial: Option<u32>,
    /// When that update was confirmed on the primary.
    pub updated_at: Timestamp,
    /// Why the nameservers to follow are unknown (the NS RRset could not
    /// be read or resolved), if so.
    pub problem: Option<String>,
    /// Each nameserver followed, in address order.
    pub nameservers: Vec<NameserverPropagation>,
}

/// Whether a nameserver serves the last update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropagationState {
    /// It serves the serial and the RRsets of the last update.
    InSync,
    /// Not yet, for less than the configured limit.
    CatchingUp,
    /// Not yet, for longer than the configured limit.
    Lagging,
}

impl PropagationState {
    /// The state as written in JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            PropagationState::InSync => "in_sync",
            PropagationState::CatchingUp => "catching_up",
            PropagationState::Lagging => "lagging",
        }
    }
}

/// One nameserver of a zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameserverPropagation {
    /// Its address and port.
    pub address: String,
    /// Whether it serves the last update.
    pub state: PropagationState,
    /// The SOA serial it served when last asked; `None` before any answer.
    pub serial: Option<u32>,
    /// How long the last update it caught up with took to arrive there,
    /// counted from its confirmation on the primary, in seconds.
    pub last_seconds: Option<f64>,
    /// Since when it has not served the updates (while behind).
    pub behind_since: Option<Timestamp>,
    /// Why the last question to it failed, if it did.
    pub last_error: Option<String>,
}
