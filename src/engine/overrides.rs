//! Manual overrides: an operator drains a server (it counts as down for the
//! decisions while its checks go on) or pins a record to a server (it is
//! published whatever the checks say), for a while or until released.
//!
//! Plain data: times come in from the caller, as [`Instant`]s for expiry
//! and as [`SystemTime`]s for what is shown and kept in the state file.

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime};

use hickory_proto::rr::Name;

use crate::config::Record;

/// What an override does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideKind {
    /// `server` counts as down in `record` (every record that has a server
    /// of that name when `None`).
    Drain {
        /// The server's name.
        server: String,
        /// The one record it is drained in, or all.
        record: Option<Name>,
    },
    /// `record` publishes `server`.
    Pin {
        /// The record's owner name.
        record: Name,
        /// The server's name.
        server: String,
    },
}

/// One override, who set it and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// What it does.
    pub kind: OverrideKind,
    /// The uid of the operator who set it.
    pub by: u32,
    /// Why, as the operator said (may be empty).
    pub reason: String,
    /// When it was set.
    pub set_at: SystemTime,
    /// When it ends by itself (`None`: until released), on the wall clock.
    pub until: Option<SystemTime>,
    /// The same moment on the agent's clock, for waking up.
    pub expires: Option<Instant>,
}

impl Override {
    /// True when it changes the decisions of `record`.
    pub fn affects(&self, record: &Record) -> bool {
        match &self.kind {
            OverrideKind::Drain {
                server,
                record: only,
            } => {
                only.as_ref().is_none_or(|name| *name == record.name)
                    && record.servers.iter().any(|s| s.name == *server)
            }
            OverrideKind::Pin { record: name, .. } => *name == record.name,
        }
    }

    /// `drain` or `pin`.
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            OverrideKind::Drain { .. } => "drain",
            OverrideKind::Pin { .. } => "pin",
        }
    }

    /// The server it names.
    pub fn server(&self) -> &str {
        match &self.kind {
            OverrideKind::Drain { server, .. } | OverrideKind::Pin { server, .. } => server,
        }
    }

    /// The record it names (`None`: a drain in every record).
    pub fn record(&self) -> Option<&Name> {
        match &self.kind {
            OverrideKind::Drain { record, .. } => record.as_ref(),
            OverrideKind::Pin { record, .. } => Some(record),
        }
    }
}

/// The pin of one record, as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinView {
    /// The pinned server.
    pub server: String,
    /// The operator's uid.
    pub by: u32,
    /// The operator's reason.
    pub reason: String,
}

/// The overrides that apply to one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordOverrides {
    /// Servers that count as down.
    pub drained: Vec<String>,
    /// The server to publish whatever the checks say.
    pub pin: Option<PinView>,
    /// `dnsfailover failback` was asked: a record with `failback: manual`
    /// goes back to the first server up.
    pub failback_now: bool,
}

/// Every override in force, and the records asked to fail back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    entries: Vec<Override>,
    failback: BTreeSet<Name>,
}

impl Overrides {
    /// The overrides in force, in the order they were set.
    pub fn entries(&self) -> &[Override] {
        &self.entries
    }

    /// Adds `new`, replacing an override of the same kind on the same
    /// server and record (a new pin of a record replaces its old one).
    pub fn set(&mut self, new: Override) {
        self.entries.retain(|old| !same_target(old, &new));
        self.entries.push(new);
    }

    /// Removes the drains of `server`; returns them.
    pub fn release_server(&mut self, server: &str) -> Vec<Override> {
        self.take(|o| matches!(&o.kind, OverrideKind::Drain { server: s, .. } if s == server))
    }

    /// Removes the pin of `record`; returns it.
    pub fn release_pin(&mut self, record: &Name) -> Vec<Override> {
        self.take(|o| matches!(&o.kind, OverrideKind::Pin { record: r, .. } if r == record))
    }

    /// Removes the overrides whose time is up at `now`; returns them.
    pub fn expire(&mut self, now: Instant) -> Vec<Override> {
        self.take(|o| o.expires.is_some_and(|at| at <= now))
    }

    /// When the next override ends by itself.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries.iter().filter_map(|o| o.expires).min()
    }

    /// Asks `record` to fail back once (see [`RecordOverrides::failback_now`]).
    pub fn request_failback(&mut self, record: Name) {
        self.failback.insert(record);
    }

    /// The failback of `record` is done (or no longer needed).
    pub fn failback_done(&mut self, record: &Name) {
        self.failback.remove(record);
    }

    /// Whether a failback of `record` was asked and is not done.
    pub fn failback_requested(&self, record: &Name) -> bool {
        self.failback.contains(record)
    }

    /// What applies to `record`; the latest pin wins.
    pub fn for_record(&self, record: &Record) -> RecordOverrides {
        let mut view = RecordOverrides {
            failback_now: self.failback.contains(&record.name),
            ..RecordOverrides::default()
        };
        for entry in self.entries.iter().filter(|o| o.affects(record)) {
            match &entry.kind {
                OverrideKind::Drain { server, .. } => view.drained.push(server.clone()),
                OverrideKind::Pin { server, .. } => {
                    view.pin = Some(PinView {
                        server: server.clone(),
                        by: entry.by,
                        reason: entry.reason.clone(),
                    })
                }
            }
        }
        view
    }

    fn take(&mut self, matches: impl Fn(&Override) -> bool) -> Vec<Override> {
        let (taken, kept) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|o| matches(o));
        self.entries = kept;
        taken
    }
}

/// Two overrides that one replaces the other.
fn same_target(old: &Override, new: &Override) -> bool {
    match (&old.kind, &new.kind) {
        (OverrideKind::Drain { .. }, OverrideKind::Drain { .. }) => old.kind == new.kind,
        (OverrideKind::Pin { record: a, .. }, OverrideKind::Pin { record: b, .. }) => a == b,
        _ => false,
    }
}

#[cfg(test)]
#[path = "overrides_tests.rs"]
mod tests;
