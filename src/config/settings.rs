//! Settings a record may take from `defaults:` or override: TTLs, check timing,
//! the check itself, the all-down policy and the failback policy.

use std::time::Duration;

use humantime::format_duration;

use super::check_list::{check_item_timing, read_checks, CheckSetting};
use super::report::Report;
use super::scalar;
use super::table::Table;
use super::timing::threshold;
use super::{AllDownPolicy, FailbackPolicy, PoolMode, Timing};

/// Keys of the settings, in `defaults:` and in each record.
pub(super) const SETTING_KEYS: &[&str] = &[
    "ttl",
    "failover_ttl",
    "interval",
    "timeout",
    "fall",
    "rise",
    "check",
    "checks",
    "when_all_down",
    "failback",
    "mode",
    "max_addresses",
];
/// TTL of the published records when none is given, in seconds.
pub const DEFAULT_TTL: u32 = 30;
/// Largest TTL allowed (RFC 2181 §8: 2^31 - 1).
pub const MAX_TTL: u32 = 2_147_483_647;
/// Time between two checks of an address when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Time one check may take when none is given.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_millis(500);
/// Consecutive failures before an address is down, when not given.
pub const DEFAULT_FALL: u32 = 2;
/// Consecutive successes before an address is up again, when not given.
pub const DEFAULT_RISE: u32 = 2;
/// The most addresses a `mode: all` record publishes per family when
/// `max_addresses` is not given (as Route 53's multivalue answers).
pub const DEFAULT_MAX_ADDRESSES: usize = 8;
/// The largest `max_addresses` allowed: an RRset a UDP answer still holds.
pub const MAX_MAX_ADDRESSES: usize = 64;

const ALL_DOWN_POLICIES: &[(&str, AllDownPolicy)] = &[
    ("keep", AllDownPolicy::Keep),
    ("first", AllDownPolicy::First),
];

const POOL_MODES: &[(&str, PoolMode)] = &[("failover", PoolMode::Failover), ("all", PoolMode::All)];

const FAILBACK_POLICIES: &[(&str, FailbackPolicy)] = &[
    ("auto", FailbackPolicy::Auto),
    ("manual", FailbackPolicy::Manual),
];

/// The timing values a table gives itself (`None`: not given or invalid).
struct GivenTiming {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    fall: Option<u32>,
    rise: Option<u32>,
}

/// The effective settings of `defaults:` or of one record.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Settings {
    pub ttl: u32,
    pub failover_ttl: Option<u32>,
    pub timing: Timing,
    pub when_all_down: AllDownPolicy,
    pub failback: FailbackPolicy,
    pub mode: PoolMode,
    pub max_addresses: usize,
    pub check: CheckSetting,
}

impl Settings {
    /// The built-in defaults, used where `defaults:` gives nothing.
    pub fn built_in() -> Settings {
        Settings {
            ttl: DEFAULT_TTL,
            failover_ttl: None,
            timing: Timing {
                interval: DEFAULT_INTERVAL,
                timeout: DEFAULT_CHECK_TIMEOUT,
                fall: DEFAULT_FALL,
                rise: DEFAULT_RISE,
            },
            when_all_down: AllDownPolicy::default(),
            failback: FailbackPolicy::default(),
            mode: PoolMode::default(),
            max_addresses: DEFAULT_MAX_ADDRESSES,
            check: CheckSetting::Absent,
        }
    }

    /// The settings of `table`, each falling back to `self` when not given (or invalid).
    /// A given `check` or `checks` replaces the inherited one as a whole.
    pub fn overridden_by(&self, table: &Table, report: &mut Report) -> Settings {
        let timing = GivenTiming {
            interval: table.optional("interval", report, scalar::duration),
            timeout: table.optional("timeout", report, scalar::duration),
            fall: table.optional("fall", report, threshold),
            rise: table.optional("rise", report, threshold),
        };
        let own_checks = read_checks(table, report);
        let check = own_checks.clone().unwrap_or_else(|| self.check.clone());
        let ttl = |node| scalar::integer(node, 1u32, MAX_TTL);
        let given_ttl = table.optional("ttl", report, ttl);
        let given_failover_ttl = table.optional("failover_ttl", report, ttl);
        let settings = Settings {
            ttl: given_ttl.unwrap_or(self.ttl),
            failover_ttl: given_failover_ttl.or(self.failover_ttl),
            timing: Timing {
                interval: timing.interval.unwrap_or(self.timing.interval),
                timeout: timing.timeout.unwrap_or(self.timing.timeout),
                fall: timing.fall.unwrap_or(self.timing.fall),
                rise: timing.rise.unwrap_or(self.timing.rise),
            },
            when_all_down: table
                .optional("when_all_down", report, |node| {
                    scalar::keyword(node, ALL_DOWN_POLICIES)
                })
                .unwrap_or(self.when_all_down),
            failback: table
                .optional("failback", report, |node| {
                    scalar::keyword(node, FAILBACK_POLICIES)
                })
                .unwrap_or(self.failback),
            mode: table
                .optional("mode", report, |node| scalar::keyword(node, POOL_MODES))
                .unwrap_or(self.mode),
            max_addresses: table
                .optional("max_addresses", report, |node| {
                    scalar::integer(node, 1u32, MAX_MAX_ADDRESSES as u32)
                })
                .map_or(self.max_addresses, |max| max as usize),
            check,
        };
        settings.check_pool_takes_no_manual_failback(table, report);
        let given_but_invalid =
            |key: &str, value: Option<Duration>| table.get(key).is_some() && value.is_none();
        let ttls_valid = (table.get("ttl").is_none() || given_ttl.is_some())
            && (table.get("failover_ttl").is_none() || given_failover_ttl.is_some());
        if ttls_valid {
            settings.check_failover_ttl_is_lower(table, report);
        }
        if !given_but_invalid("interval", timing.interval)
            && !given_but_invalid("timeout", timing.timeout)
        {
            settings.check_timeout_fits_interval(table, report);
            let inherited_by = own_checks.is_none().then_some(table);
            check_item_timing(&settings.check, settings.timing, inherited_by, report);
        }
        settings
    }

    /// Reports `failback: manual` with `mode: all`, where this table gives
    /// either: a pool takes back every server that is up at once.
    fn check_pool_takes_no_manual_failback(&self, table: &Table, report: &mut Report) {
        if self.mode != PoolMode::All || self.failback != FailbackPolicy::Manual {
            return;
        }
        report_at_first_given(
            table,
            report,
            ["failback", "mode"],
            "failback: manual works with mode: failover only; mode: all publishes every server that is up again at once",
        );
    }

    /// Reports a failover TTL above the TTL, where this table gives either:
    /// it is meant to bring clients back sooner after a failback.
    fn check_failover_ttl_is_lower(&self, table: &Table, report: &mut Report) {
        let Some(failover_ttl) = self.failover_ttl else {
            return;
        };
        if failover_ttl <= self.ttl {
            return;
        }
        report_at_first_given(
            table,
            report,
            ["failover_ttl", "ttl"],
            format!(
                "failover_ttl {failover_ttl} is more than ttl {}: the TTL while failed over should be lower, so that clients come back sooner after failback",
                self.ttl
            ),
        );
    }

    /// A check must finish before the next one starts. Reported where this table
    /// sets `timeout` or `interval`; inherited values were checked where they were set.
    fn check_timeout_fits_interval(&self, table: &Table, report: &mut Report) {
        let Timing {
            interval, timeout, ..
        } = self.timing;
        if timeout <= interval {
            return;
        }
        let Some(key) = ["timeout", "interval"]
            .into_iter()
            .find(|key| table.get(key).is_some())
        else {
            return;
        };
        let position = table
            .get(key)
            .map_or(table.position(), |node| node.position);
        let message = format!(
            "timeout {} is longer than interval {}: a check must finish before the next one \
             starts, so make timeout at most the interval",
            format_duration(timeout),
            format_duration(interval)
        );
        report.add(position, &table.field(key), message);
    }
}

/// Reports `message` at the first of `keys` that `table` gives. A table
/// that gives none of them only inherits the problem, and the table that
/// gives the keys reports it.
fn report_at_first_given(
    table: &Table,
    report: &mut Report,
    keys: [&str; 2],
    message: impl Into<String>,
) {
    let given = keys
        .into_iter()
        .find_map(|key| Some((table.key_position(key)?, key)));
    if let Some((position, key)) = given {
        report.add(position, &table.field(key), message);
    }
}
