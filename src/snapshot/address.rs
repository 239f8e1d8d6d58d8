//! The servers of a record and the health of each of their addresses.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{OverrideStatus, Timestamp};

/// One server of a record, in the configured order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// The server's name from the configuration.
    pub name: String,
    /// Its addresses, in the configured order.
    pub addresses: Vec<AddressStatus>,
    /// The drain in force (`dnsfailover drain`): its addresses count as
    /// down for the decisions while their checks go on.
    #[serde(default)]
    pub drained: Option<OverrideStatus>,
}

/// What the checks say about one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Not enough evidence yet.
    Unknown,
    /// Answering its checks.
    Up,
    /// Failing its checks.
    Down,
}

impl HealthState {
    /// The state as written in JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Up => "up",
            HealthState::Down => "down",
        }
    }
}

/// One checked address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressStatus {
    /// The address.
    pub address: IpAddr,
    /// Its health.
    pub health: HealthState,
    /// Since when it has this health (for unknown: since checking began).
    pub since: Timestamp,
    /// The last finished check that tells most: of the first failing
    /// check while one is down, else the last one to finish.
    pub last_check: Option<CheckStatus>,
    /// Checks passed since the agent started checking it (all its checks).
    pub checks_passed: u64,
    /// Checks failed since the agent started checking it (all its checks).
    pub checks_failed: u64,
    /// Each check it must pass, in configuration order; it is up only
    /// when all are.
    #[serde(default)]
    pub checks: Vec<AddressCheckStatus>,
}

impl AddressStatus {
    /// The labels of its checks that are down, e.g. `["smtp:25"]`.
    pub fn failing_checks(&self) -> impl Iterator<Item = &str> {
        self.checks
            .iter()
            .filter(|check| check.health == HealthState::Down)
            .map(|check| check.label.as_str())
    }

    /// With several checks, the one whose result tells most: the first that
    /// is down, else the one that finished last; `None` with a single
    /// check (its result is the address's) or before any result.
    pub fn telling_check(&self) -> Option<&AddressCheckStatus> {
        if self.checks.len() < 2 {
            return None;
        }
        self.checks
            .iter()
            .find(|check| check.health == HealthState::Down && check.last_check.is_some())
            .or_else(|| {
                self.checks
                    .iter()
                    .filter(|check| check.last_check.is_some())
                    .max_by_key(|check| check.last_check.as_ref().map(|c| c.at))
            })
    }

    /// Its health as people read it: with several checks, a down address
    /// names the checks that failed, e.g. `down (smtp:25)`.
    pub fn health_text(&self) -> String {
        let failing: Vec<&str> = self.failing_checks().collect();
        if self.checks.len() > 1 && self.health == HealthState::Down && !failing.is_empty() {
            format!("down ({})", failing.join(", "))
        } else {
            self.health.as_str().to_owned()
        }
    }
}

/// One of the checks an address must pass, with its own rise and fall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressCheckStatus {
    /// Its label, e.g. `https:443` or the check's `name:`.
    pub label: String,
    /// Its health.
    pub health: HealthState,
    /// Since when it has this health (for unknown: since checking began).
    pub since: Timestamp,
    /// Its last finished run.
    pub last_check: Option<CheckStatus>,
    /// Runs passed since the agent started running it.
    pub checks_passed: u64,
    /// Runs failed since the agent started running it.
    pub checks_failed: u64,
}

/// One finished check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    /// Whether it passed.
    pub passed: bool,
    /// What it found, e.g. `200 OK` or `connection refused`.
    pub detail: String,
    /// When it finished.
    pub at: Timestamp,
    /// How long it took, in seconds.
    pub duration_seconds: f64,
    /// When the server's certificate expires, for checks over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_expires: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(label: &str, health: HealthState, passed: bool, at_ms: u64) -> AddressCheckStatus {
        let at = Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_millis(at_ms));
        AddressCheckStatus {
            label: label.to_owned(),
            health,
            since: at,
            last_check: Some(CheckStatus {
                passed,
                detail: if passed { "ok" } else { "connection refused" }.to_owned(),
                at,
                duration_seconds: 0.001,
                certificate_expires: None,
            }),
            checks_passed: 0,
            checks_failed: 0,
        }
    }

    fn address(health: HealthState, checks: Vec<AddressCheckStatus>) -> AddressStatus {
        AddressStatus {
            address: "192.0.2.1".parse().unwrap(),
            health,
            since: Timestamp::from(std::time::UNIX_EPOCH),
            last_check: None,
            checks_passed: 0,
            checks_failed: 0,
            checks,
        }
    }

    #[test]
    fn a_down_address_with_several_checks_names_the_failing_ones() {
        let down = address(
            HealthState::Down,
            vec![
                check("tcp:443", HealthState::Up, true, 20),
                check("smtp:25", HealthState::Down, false, 10),
            ],
        );
        assert_eq!(down.health_text(), "down (smtp:25)");
        assert_eq!(
            down.telling_check().map(|c| c.label.as_str()),
            Some("smtp:25")
        );
        let up = address(
            HealthState::Up,
            vec![
                check("tcp:443", HealthState::Up, true, 20),
                check("smtp:25", HealthState::Up, true, 30),
            ],
        );
        assert_eq!(up.health_text(), "up");
        assert_eq!(
            up.telling_check().map(|c| c.label.as_str()),
            Some("smtp:25")
        );
        let single = address(
            HealthState::Down,
            vec![check("tcp:443", HealthState::Down, false, 20)],
        );
        assert_eq!(single.health_text(), "down", "one check needs no name");
        assert!(single.telling_check().is_none());
    }

    #[test]
    fn a_status_without_checks_still_reads() {
        let json = r#"{"address":"192.0.2.1","health":"up","since":"2026-12-01T21:12:04.123Z",
            "last_check":null,"checks_passed":1,"checks_failed":0}"#;
        let read: AddressStatus = serde_json::from_str(json).unwrap();
        assert!(read.checks.is_empty());
    }
}
