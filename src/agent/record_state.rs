//! What the coordinator knows of one record besides the health of its
//! addresses (which the engine keeps).

use std::time::{Duration, Instant};

use hickory_proto::rr::Name;

use super::alarms::Alarms;
use crate::engine::RecordDecision;
use crate::vocabulary::Published;

/// The DNS side of one record. One per record, so the parts most records
/// never or rarely have (a decision's detail, the last update, the last
/// error) are boxed: at 10,000 records the inline size is megabytes.
#[derive(Debug, Default)]
pub struct RecordState {
    /// The zone, from the configuration or found by an SOA query.
    pub zone: Option<Name>,
    /// The label of the primary that serves it (empty: the only one).
    pub primary: String,
    /// What the nameserver published when last read or updated; `None`
    /// means it must be read before anything is decided.
    pub published: Option<Published>,
    /// A read or an update of this record is in flight.
    pub busy: bool,
    /// The record waits in the read queue.
    pub queued: bool,
    /// Failed reads or updates in a row.
    pub failures: u32,
    /// Not before this time (backoff after a failure).
    pub retry_at: Option<Instant>,
    /// Conditions already reported.
    pub alarms: Alarms,
    /// The first decision after warm-up has been logged.
    pub settled: bool,
    /// The latest decision, for status.
    pub decision: Option<Box<RecordDecision>>,
    /// The outcome of the last UPDATE that carried a change of this record.
    pub last_update: Option<Box<UpdateReport>>,
    /// The last failure, kept until a read or update succeeds.
    pub last_error: Option<Box<ErrorReport>>,
    /// When an `update_failed` event was last emitted for this record,
    /// while its updates keep failing.
    pub update_failed_event_at: Option<Instant>,
}

impl RecordState {
    /// A record not read yet, in `zone` when the configuration names it.
    pub fn new(zone: Option<Name>) -> RecordState {
        RecordState {
            zone,
            ..RecordState::default()
        }
    }

    /// A read or update succeeded: the failure streak ends.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.last_error = None;
    }

    /// A read or update failed at `now`.
    pub fn failed(&mut self, message: String, now: Instant) {
        self.failures += 1;
        let since = match &self.last_error {
            Some(previous) => previous.since,
            None => now,
        };
        self.last_error = Some(Box::new(ErrorReport {
            at: now,
            since,
            message,
            failures: self.failures,
        }));
    }
}

/// How one UPDATE ended, for status.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateReport {
    /// When the outcome was known.
    pub at: Instant,
    /// From sending to the outcome.
    pub duration: Duration,
    /// The change is in DNS.
    pub succeeded: bool,
    /// A short result label (`NOERROR`, `REFUSED`, `conflict`, `timeout`, ...).
    pub result: String,
    /// One sentence.
    pub detail: String,
}

/// The latest of a streak of failures.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReport {
    /// When the latest failure happened.
    pub at: Instant,
    /// When the streak began.
    pub since: Instant,
    /// What went wrong.
    pub message: String,
    /// Failures in a row.
    pub failures: u32,
}
