//! Events: what the agent did or saw that an operator wants to be told of.
//!
//! The coordinator emits them as they happen; each is logged as before and
//! handed to `notify`, which delivers it to webhooks and a command. The JSON
//! form is the webhook body: a `text` sentence (so Slack- and
//! Mattermost-style incoming webhooks show it as it is) beside structured
//! fields.

use serde::{Deserialize, Serialize};

use crate::snapshot::Timestamp;
use crate::vocabulary::Family;

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A record now publishes a later server because an earlier one is down.
    Failover,
    /// A record publishes an earlier server again.
    Failback,
    /// Every server of a record's family is down.
    AllDown,
    /// A server of a family that was all down is up again.
    Recovered,
    /// Someone else edited a record's RRset; it is left alone.
    Conflict,
    /// An update failed (the first failure, then at most once per backoff cap).
    UpdateFailed,
    /// The nameserver works again after failures.
    NameserverRecovered,
    /// Another nameserver of a zone has not served an update within the
    /// configured limit.
    PropagationLagging,
    /// A checked server's certificate expires within the check's warning.
    CertificateExpiring,
}

impl EventKind {
    /// The kind as written in JSON and in `DNSFAILOVER_EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Failover => "failover",
            EventKind::Failback => "failback",
            EventKind::AllDown => "all_down",
            EventKind::Recovered => "recovered",
            EventKind::Conflict => "conflict",
            EventKind::UpdateFailed => "update_failed",
            EventKind::NameserverRecovered => "nameserver_recovered",
            EventKind::PropagationLagging => "propagation_lagging",
            EventKind::CertificateExpiring => "certificate_expiring",
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// One sentence for people.
    pub text: String,
    /// What happened.
    pub event: EventKind,
    /// The record's owner name, when the event concerns one.
    pub record: Option<String>,
    /// A or AAAA, when the event concerns one family.
    pub family: Option<Family>,
    /// The server published before (failover, failback).
    pub from: Option<String>,
    /// The server published now (failover, failback).
    pub to: Option<String>,
    /// The server the event is about: the one that failed for a failover,
    /// the one back for a failback.
    pub server: Option<String>,
    /// Why, in the agent's words.
    pub reason: String,
    /// When it happened.
    pub time: Timestamp,
    /// Which agent saw it (its host name).
    pub agent: String,
}

impl Event {
    /// An event of `kind` with `text` and `reason`, at `time`, from `agent`;
    /// the optional fields empty.
    pub fn new(
        kind: EventKind,
        text: String,
        reason: String,
        time: Timestamp,
        agent: &str,
    ) -> Event {
        Event {
            text,
            event: kind,
            record: None,
            family: None,
            from: None,
            to: None,
            server: None,
            reason,
            time,
            agent: agent.to_owned(),
        }
    }

    /// The event as environment variables for a command hook.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let optional = |value: &Option<String>| value.clone().unwrap_or_default();
        vec![
            ("DNSFAILOVER_EVENT", self.event.as_str().to_owned()),
            ("DNSFAILOVER_TEXT", self.text.clone()),
            ("DNSFAILOVER_RECORD", optional(&self.record)),
            (
                "DNSFAILOVER_FAMILY",
                self.family.map(|f| f.to_string()).unwrap_or_default(),
            ),
            ("DNSFAILOVER_FROM", optional(&self.from)),
            ("DNSFAILOVER_TO", optional(&self.to)),
            ("DNSFAILOVER_SERVER", optional(&self.server)),
            ("DNSFAILOVER_REASON", self.reason.clone()),
            ("DNSFAILOVER_TIME", self.time.to_string()),
            ("DNSFAILOVER_AGENT", self.agent.clone()),
        ]
    }
}
