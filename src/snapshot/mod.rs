//! What the agent knows, as an immutable snapshot for status, metrics and tests.
//!
//! The coordinator owns all state; after it changes, it publishes a new
//! [`Snapshot`] (see `agent::SnapshotPublisher`). Readers never lock anything
//! and never see a half-made change. Times are wall-clock [`Timestamp`]s,
//! converted from the agent's monotonic clock when the snapshot is made.
//!
//! The types serialize to the JSON that `/status` serves; [`SCHEMA_VERSION`]
//! changes whenever a field changes meaning or disappears (new fields may be
//! added without a change).

mod address;
mod overrides;
mod propagation;
mod record;
mod timestamp;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use address::{AddressCheckStatus, AddressStatus, CheckStatus, HealthState, ServerStatus};
pub use overrides::{OverrideKindStatus, OverrideStatus};
pub use propagation::{NameserverPropagation, PropagationState, ZonePropagation};
pub use record::{
    Alarm, AlarmKind, DesiredState, DesiredStatus, ErrorStatus, FamilyStatus, PublishedState,
    PublishedStatus, RecordStatus, UpdateStatus,
};
pub use timestamp::Timestamp;

/// The version of the snapshot's JSON form.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything the agent knows at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SCHEMA_VERSION`] of this form.
    pub version: u32,
    /// The agent's version (`dnsfailover --version`).
    pub agent_version: String,
    /// When this snapshot was made.
    pub taken_at: Timestamp,
    /// The primary nameserver the agent updates; with several, every one,
    /// joined by `, ` (each record names its own).
    pub nameserver: String,
    /// Every record, in configuration order.
    pub records: Vec<Arc<RecordStatus>>,
    /// The outcome of the last configuration reload, if there was one.
    pub last_reload: Option<ReloadStatus>,
    /// How the zones' other nameservers follow the updates: one entry per
    /// zone updated since start.
    #[serde(default)]
    pub propagation: Vec<ZonePropagation>,
    /// The manual overrides in force (drains and pins), in the order set.
    #[serde(default)]
    pub overrides: Vec<OverrideStatus>,
}

/// The outcome of one configuration reload (SIGHUP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReloadStatus {
    /// When it was tried.
    pub at: Timestamp,
    /// The new configuration is in force.
    pub succeeded: bool,
    /// Why it was refused (the old configuration stays in force).
    pub problem: Option<String>,
}

impl Snapshot {
    /// The snapshot of an agent that has not started yet.
    pub fn empty(nameserver: impl Into<String>, taken_at: Timestamp) -> Snapshot {
        Snapshot {
            version: SCHEMA_VERSION,
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            taken_at,
            nameserver: nameserver.into(),
            records: Vec::new(),
            last_reload: None,
            propagation: Vec::new(),
            overrides: Vec::new(),
        }
    }

    /// The record with this owner name (as written with its trailing dot).
    pub fn record(&self, name: &str) -> Option<&RecordStatus> {
        self.records
            .iter()
            .map(AsRef::as_ref)
            .find(|record| record.name.eq_ignore_ascii_case(name))
    }

    /// True when every record publishes what it should and has no alarm,
    /// and no nameserver lags behind the updates.
    pub fn all_in_sync(&self) -> bool {
        self.records
            .iter()
            .all(|record| record.in_sync() && record.alarms.is_empty())
            && self.lagging().next().is_none()
    }

    /// The nameservers lagging behind the updates, with their zone.
    pub fn lagging(&self) -> impl Iterator<Item = (&str, &NameserverPropagation)> {
        self.propagation.iter().flat_map(|zone| {
            zone.nameservers
                .iter()
                .filter(|ns| ns.state == PropagationState::Lagging)
                .map(move |ns| (zone.zone.as_str(), ns))
        })
    }
}
