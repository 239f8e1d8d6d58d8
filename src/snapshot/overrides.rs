//! The manual overrides in force: who set each, why and until when.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// What an override does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKindStatus {
    /// The server counts as down for the decisions while its checks go on.
    Drain,
    /// The record publishes the server whatever the checks say.
    Pin,
}

impl OverrideKindStatus {
    /// `drain` or `pin`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideKindStatus::Drain => "drain",
            OverrideKindStatus::Pin => "pin",
        }
    }
}

/// One override, as shown in status and kept in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideStatus {
    /// `drain` or `pin`.
    pub kind: OverrideKindStatus,
    /// The record (for a drain: `null` means every record with the server).
    pub record: Option<String>,
    /// The server drained or pinned.
    pub server: String,
    /// The uid of the operator who set it.
    pub by: u32,
    /// Why, as the operator said.
    pub reason: String,
    /// When it was set.
    pub at: Timestamp,
    /// When it ends by itself; `null`: until released.
    pub until: Option<Timestamp>,
}

impl OverrideStatus {
    /// "by uid 0 until 2026-12-02T15:40:00.000Z: kernel update", for people.
    pub fn summary(&self) -> String {
        let until = self
            .until
            .map_or_else(|| "until released".to_owned(), |t| format!("until {t}"));
        let why = if self.reason.is_empty() {
            "no reason given"
        } else {
            &self.reason
        };
        format!("by uid {} {until}: {why}", self.by)
    }
}
