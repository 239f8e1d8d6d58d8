//! One record: what DNS publishes, what it should publish and why, its
//! servers, the last update and the alarms.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{OverrideStatus, ServerStatus, Timestamp};
use crate::vocabulary::Family;

/// One failover record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordStatus {
    /// The owner name, with its trailing dot.
    pub name: String,
    /// The zone, once configured or found.
    pub zone: Option<String>,
    /// The primary nameserver that serves it (its address; with several
    /// primaries at one address, also its key's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nameserver: Option<String>,
    /// The configured TTL.
    pub ttl: u32,
    /// Each family the record manages (has a server address of), A first.
    pub families: Vec<FamilyStatus>,
    /// The servers in order of preference.
    pub servers: Vec<ServerStatus>,
    /// The last UPDATE that carried a change of this record.
    pub last_update: Option<UpdateStatus>,
    /// The last failed read or update of this record, until one succeeds.
    pub last_error: Option<ErrorStatus>,
    /// Conditions an operator must look at.
    pub alarms: Vec<Alarm>,
    /// The pin in force (`dnsfailover pin`), if any.
    #[serde(default)]
    pub pinned: Option<OverrideStatus>,
}

impl RecordStatus {
    /// True when every family publishes what it should.
    pub fn in_sync(&self) -> bool {
        self.families.iter().all(|family| family.in_sync)
    }

    /// The status of one family, when the record manages it.
    pub fn family(&self, family: Family) -> Option<&FamilyStatus> {
        self.families.iter().find(|status| status.family == family)
    }
}

/// One family (A or AAAA) of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyStatus {
    /// A or AAAA.
    pub family: Family,
    /// What the primary publishes, as last read or updated.
    pub published: PublishedStatus,
    /// What should be published, and why.
    pub desired: DesiredStatus,
    /// The published RRset is the one that should be (or, all servers being
    /// down with `when_all_down: keep`, stays as it is on purpose).
    pub in_sync: bool,
}

/// What the primary publishes for one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedStatus {
    /// Whether it is known and whether there is an RRset.
    pub state: PublishedState,
    /// The addresses, sorted (empty unless `present`).
    pub addresses: Vec<IpAddr>,
    /// The RRset's TTL, when present.
    pub ttl: Option<u32>,
    /// The server all of whose addresses these are, when there is one;
    /// for a `mode: all` record, the servers holding them, joined by ", ".
    pub server: Option<String>,
    /// Each server holding some of the addresses, in list order.
    #[serde(default)]
    pub servers: Vec<String>,
}

/// Whether what the primary publishes is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishedState {
    /// Not read yet, or unknown after an update whose outcome was unclear.
    Unread,
    /// The name has no RRset of this family.
    Absent,
    /// An RRset is published.
    Present,
}

/// What should be published for one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredStatus {
    /// The kind of decision.
    pub state: DesiredState,
    /// The server whose addresses should be published, when one is chosen.
    pub server: Option<String>,
    /// The addresses that should be published (empty when none is chosen).
    pub addresses: Vec<IpAddr>,
    /// Why, in one sentence.
    pub reason: String,
}

/// The kind of decision for one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DesiredState {
    /// Nothing decided yet: what DNS publishes is not known.
    Undecided,
    /// Waiting for the first verdict on some addresses.
    WarmingUp,
    /// DNS publishes what it should.
    InSync,
    /// DNS must change; an UPDATE is planned, in flight or waiting to retry.
    Update,
    /// Every server is down and `when_all_down: keep` leaves DNS as it is.
    AllDownKeep,
    /// The RRset holds addresses of no configured server; left alone.
    Conflict,
}

/// The outcome of one UPDATE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateStatus {
    /// When the outcome was known.
    pub at: Timestamp,
    /// The change is in DNS.
    pub succeeded: bool,
    /// A short result: a response code (`NOERROR`, `REFUSED`, ...), or
    /// `conflict`, `timeout`, `unverified`, `error`.
    pub result: String,
    /// What happened, in one sentence.
    pub detail: String,
    /// From sending to the outcome being known (read-back included), in seconds.
    pub duration_seconds: f64,
}

/// A failed read or update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorStatus {
    /// When it failed.
    pub at: Timestamp,
    /// What went wrong.
    pub message: String,
    /// Failures in a row.
    pub failures: u32,
}

/// A condition an operator must look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// What kind.
    pub kind: AlarmKind,
    /// The family it concerns, when one.
    pub family: Option<Family>,
    /// Since when.
    pub since: Timestamp,
    /// What is wrong, in one sentence.
    pub detail: String,
}

/// The kinds of alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// Every server of the family is down.
    AllDown,
    /// The RRset was edited by someone else.
    Conflict,
    /// Reads or updates of the record keep failing.
    NameserverFailing,
}

impl AlarmKind {
    /// The kind as written in JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::AllDown => "all_down",
            AlarmKind::Conflict => "conflict",
            AlarmKind::NameserverFailing => "nameserver_failing",
        }
    }
}
