//! The open-file limit.
//!
//! Every checked address holds one socket: the connection kept from its
//! last passed check, or, while it is being checked, the new connection
//! (the kept one is closed first). So a thousand addresses already exceed the soft limit of 1024 that systemd services and
//! login shells get by default. That soft limit exists for programs using
//! `select()`, which cannot handle descriptors above 1023; the agent uses
//! epoll, so at start-up it raises its soft limit to the hard limit, as the
//! Go runtime does for every program. The hard limit (systemd's default is
//! 524288) is the operator's to set: `LimitNOFILE=` in the unit.

use std::io;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors needed besides the checks: DNS requests in flight, the log,
/// the runtime's own.
pub const BASE_NEED: u64 = 256;

/// Where Linux publishes the most a process may ever open (`fs.nr_open`).
const NR_OPEN_PATH: &str = "/proc/sys/fs/nr_open";

/// Linux's default `fs.nr_open`, used when the file cannot be read.
const DEFAULT_NR_OPEN: u64 = 1 << 20;

/// The soft open-file limit before and after [`raise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now.
    pub now: u64,
}

/// About how many descriptors running `checks` checks of addresses takes
/// (one per address with a single check each).
pub fn need(checks: usize) -> u64 {
    BASE_NEED + checks as u64
}

/// The soft open-file limit now (`u64::MAX`: unlimited).
pub fn soft_limit() -> u64 {
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Raises the soft open-file limit to the hard limit (when the hard limit
/// is unlimited, to `fs.nr_open`, the most Linux allows).
pub fn raise() -> io::Result<OpenFileLimit> {
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current.unwrap_or(u64::MAX);
    let Some(wanted) = wanted_soft_limit(limit, nr_open()) else {
        return Ok(OpenFileLimit {
            before,
            now: before,
        });
    };
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        },
    )?;
    Ok(OpenFileLimit {
        before,
        now: wanted,
    })
}

/// The soft limit to ask for, or `None` when it is as high as it can be.
fn wanted_soft_limit(limit: Rlimit, nr_open: u64) -> Option<u64> {
    let ceiling = limit.maximum.unwrap_or(nr_open);
    match limit.current {
        Some(soft) if soft < ceiling => Some(ceiling),
        _ => None,
    }
}

fn nr_open() -> u64 {
    std::fs::read_to_string(NR_OPEN_PATH)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(DEFAULT_NR_OPEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(soft: Option<u64>, hard: Option<u64>) -> Rlimit {
        Rlimit {
            current: soft,
            maximum: hard,
        }
    }

    #[test]
    fn the_soft_limit_goes_up_to_the_hard_limit() {
        let nr_open = 1_048_576;
        assert_eq!(
            wanted_soft_limit(limit(Some(1024), Some(524_288)), nr_open),
            Some(524_288)
        );
        assert_eq!(
            wanted_soft_limit(limit(Some(1024), None), nr_open),
            Some(nr_open),
            "an unlimited hard limit means fs.nr_open"
        );
    }

    #[test]
    fn a_limit_already_at_its_ceiling_is_left_alone() {
        assert_eq!(
            wanted_soft_limit(limit(Some(4096), Some(4096)), 1 << 20),
            None
        );
        assert_eq!(wanted_soft_limit(limit(None, None), 1 << 20), None);
    }

    #[test]
    fn each_address_needs_one_descriptor() {
        assert_eq!(need(0), BASE_NEED);
        assert_eq!(need(10_000), BASE_NEED + 10_000);
    }

    #[test]
    fn raising_reaches_the_hard_limit() {
        let raised = raise().expect("raising the soft limit to the hard limit is always allowed");
        assert!(raised.now >= raised.before);
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, Some(raised.now));
        if let Some(hard) = limit.maximum {
            assert_eq!(raised.now, hard);
        }
    }
}
