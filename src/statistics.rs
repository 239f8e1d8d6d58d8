//! Running counts and durations the agent accumulates while it works: how
//! many UPDATEs each zone got and with what result, how long they took, and
//! how long each record's checks take, and how long updates take to reach
//! the zone's other nameservers.
//!
//! The snapshot says what *is*; these say what *happened* since start, which
//! Prometheus wants as counters and histograms. The coordinator records into
//! one [`Statistics`]; the HTTP listener encodes the same one (its handles are
//! shared, so a clone is cheap and sees every observation).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Histogram bounds, in seconds, for checks and UPDATEs: 1 ms to 5 s, the
/// span between a loopback connect and a long timeout, few enough that a
/// histogram per record stays small at thousands of records.
const DURATION_BUCKETS: [f64; 9] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Histogram bounds, in seconds, for the time an update takes to reach
/// another nameserver: NOTIFY and IXFR take milliseconds, a secondary that
/// waits for its refresh timer minutes.
const PROPAGATION_BUCKETS: [f64; 11] =
    [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The labels of one zone's UPDATE counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ZoneResult {
    zone: String,
    result: String,
}

/// A zone label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ZoneLabel {
    zone: String,
}

/// A zone and one of its other nameservers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ZoneNameserver {
    zone: String,
    nameserver: String,
}

/// A record label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RecordLabel {
    record: String,
}

type Durations<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn propagation_histogram() -> Histogram {
    Histogram::new(PROPAGATION_BUCKETS)
}

/// The counters and histograms of one running agent; clones share them.
#[derive(Debug, Clone)]
pub struct Statistics {
    updates: Family<ZoneResult, Counter>,
    update_durations: Durations<ZoneLabel>,
    check_durations: Durations<RecordLabel>,
    propagation_durations: Durations<ZoneNameserver>,
}

impl Default for Statistics {
    fn default() -> Self {
        Statistics {
            updates: Family::default(),
            update_durations: Family::new_with_constructor(duration_histogram),
            check_durations: Family::new_with_constructor(duration_histogram),
            propagation_durations: Family::new_with_constructor(propagation_histogram),
        }
    }
}

impl Statistics {
    /// Counts one finished UPDATE of `zone` (the zone's name as written in
    /// DNS, with the final dot) whose result is `result` (the response code,
    /// or the kind of failure where there was no answer), which took
    /// `seconds` from sending to the verified answer or the failure.
    pub fn update_finished(&self, zone: &str, result: &str, seconds: f64) {
        self.updates
            .get_or_create(&ZoneResult {
                zone: zone.to_owned(),
                result: result.to_owned(),
            })
            .inc();
        self.update_durations
            .get_or_create(&ZoneLabel {
                zone: zone.to_owned(),
            })
            .observe(seconds);
    }

    /// The histogram of `record`'s check durations, in seconds: a handle to
    /// keep, so that recording a check costs no label lookup.
    pub fn check_durations(&self, record: &str) -> Histogram {
        self.check_durations.get_or_create_owned(&RecordLabel {
            record: record.to_owned(),
        })
    }

    /// Forgets the check durations of a record no longer configured, so that
    /// its series leaves the exposition.
    pub fn record_removed(&self, record: &str) {
        self.check_durations.remove(&RecordLabel {
            record: record.to_owned(),
        });
    }

    /// Records that `nameserver` came to serve an update of `zone`
    /// `seconds` after the primary confirmed it.
    pub fn propagated(&self, zone: &str, nameserver: &str, seconds: f64) {
        self.propagation_durations
            .get_or_create(&ZoneNameserver {
                zone: zone.to_owned(),
                nameserver: nameserver.to_owned(),
            })
            .observe(seconds);
    }

    /// Adds every family to `registry` (the handles are shared: the registry
    /// encodes the live values).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "dnsfailover_updates",
            "UPDATEs finished since the agent started, by zone and result (the response code, or timeout, unreachable, unverified, ... where there was none)",
            self.updates.clone(),
        );
        registry.register(
            "dnsfailover_update_duration_seconds",
            "How long UPDATEs took, from sending to the verified answer or the failure",
            self.update_durations.clone(),
        );
        registry.register(
            "dnsfailover_check_duration_seconds",
            "How long the checks of the record's addresses took",
            self.check_durations.clone(),
        );
        registry.register(
            "dnsfailover_propagation_duration_seconds",
            "How long updates took to be served by each other nameserver of the zone, from their confirmation on the primary",
            self.propagation_durations.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    fn exposition(statistics: &Statistics) -> String {
        let mut registry = Registry::default();
        statistics.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn counts_updates_by_zone_and_result_and_shares_them_between_clones() {
        let statistics = Statistics::default();
        let clone = statistics.clone();
        statistics.update_finished("example.test.", "NOERROR", 0.004);
        statistics.update_finished("example.test.", "NOERROR", 0.006);
        statistics.update_finished("example.test.", "timeout", 2.0);
        let text = exposition(&clone);
        assert!(
            text.contains(r#"dnsfailover_updates_total{zone="example.test.",result="NOERROR"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"dnsfailover_updates_total{zone="example.test.",result="timeout"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"dnsfailover_update_duration_seconds_count{zone="example.test."} 3"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"dnsfailover_update_duration_seconds_bucket{le="0.005",zone="example.test."} 1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn a_removed_record_leaves_the_exposition() {
        let statistics = Statistics::default();
        let www = statistics.check_durations("www.example.test.");
        www.observe(0.001);
        statistics
            .check_durations("api.example.test.")
            .observe(0.001);
        statistics.record_removed("www.example.test.");
        // A handle kept past the removal records into nothing exported.
        www.observe(0.001);
        let text = exposition(&statistics);
        assert!(!text.contains("www.example.test."), "{text}");
        assert!(
            text.contains(
                r#"dnsfailover_check_duration_seconds_count{record="api.example.test."} 1"#
            ),
            "{text}"
        );
    }
}
