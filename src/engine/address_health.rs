//! The health of an address that must pass every one of its checks, and
//! which checks make it so.
//!
//! An address is down when any of its checks is down, unknown when none is
//! down but some has no verdict yet, and up only when all are up.

use super::health::Health;

/// What one check of an address says, as far as the address's health goes.
#[derive(Debug, Clone, Copy)]
pub struct CheckVerdict<'a> {
    /// The check's label, e.g. `smtp:25`.
    pub label: &'a str,
    /// Its health.
    pub health: Health,
    /// The detail of its last result, once one has finished.
    pub detail: Option<&'a str>,
}

/// The health of an address whose checks have these healths.
pub fn combined(healths: impl IntoIterator<Item = Health>) -> Health {
    let mut combined = Health::Up;
    for health in healths {
        match health {
            Health::Down => return Health::Down,
            Health::Unknown => combined = Health::Unknown,
            Health::Up => {}
        }
    }
    combined
}

/// The labels of the checks that give an address of health `health`
/// that health: the checks that are down (for down), that have no verdict
/// (for unknown), every one (for up).
pub fn responsible<'a>(checks: &'a [CheckVerdict<'a>], health: Health) -> Vec<&'a str> {
    checks
        .iter()
        .filter(|check| health == Health::Up || check.health == health)
        .map(|check| check.label)
        .collect()
}

/// Why an address has `health`, for the log line of its change: the last
/// result of its only check as it is, or for several checks the
/// responsible ones, e.g. `smtp:25 failed: connection refused`.
pub fn explain(checks: &[CheckVerdict<'_>], health: Health) -> String {
    let detail = |check: &CheckVerdict<'_>| check.detail.unwrap_or_default().to_owned();
    if let [only] = checks {
        return detail(only);
    }
    match health {
        Health::Up => format!("all {} checks passed", checks.len()),
        Health::Down => checks
            .iter()
            .filter(|check| check.health == Health::Down)
            .map(|check| format!("{} failed: {}", check.label, detail(check)))
            .collect::<Vec<_>>()
            .join("; "),
        Health::Unknown => {
            let waiting = responsible(checks, Health::Unknown).join(", ");
            format!("no verdict yet from {waiting}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Health::{Down, Unknown, Up};

    #[test]
    fn down_beats_unknown_beats_up() {
        assert_eq!(combined([Up, Up]), Up);
        assert_eq!(combined([Up, Unknown]), Unknown);
        assert_eq!(combined([Unknown, Down, Up]), Down);
        assert_eq!(combined([Down, Down]), Down);
    }

    fn verdict(label: &'static str, health: Health) -> CheckVerdict<'static> {
        CheckVerdict {
            label,
            health,
            detail: None,
        }
    }

    #[test]
    fn the_failing_checks_are_named() {
        let checks = [
            verdict("tcp:443", Up),
            verdict("smtp:25", Down),
            verdict("dns:53", Unknown),
        ];
        assert_eq!(responsible(&checks, Down), ["smtp:25"]);
        assert_eq!(responsible(&checks, Unknown), ["dns:53"]);
        assert_eq!(explain(&checks, Down), "smtp:25 failed: ");
        assert_eq!(explain(&checks[..1], Up), "");
        assert_eq!(explain(&checks[..2], Up), "all 2 checks passed");
    }
}
