//! `/metrics`: Prometheus text exposition (format 0.0.4), encoded from the
//! snapshot at scrape time by a [`Collector`], so that the gauges can never
//! disagree with `/status`; the UPDATE counters and the duration histograms
//! come from the agent's [`Statistics`].
//!
//! Labels are bounded by the configuration: record names, server names,
//! addresses, the two families, and fixed words (states, results, alarm
//! kinds). Times are Unix seconds; counters end in `_total`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use hyper::{Response, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::{ok, plain, Body};
use crate::snapshot::{AlarmKind, HealthState, PropagationState, RecordStatus, Snapshot};
use crate::statistics::Statistics;

/// The label pairs of one sample, borrowed from the snapshot where they can
/// be: a scrape of thousands of addresses allocates little.
type Labels<'a, const N: usize> = [(&'static str, Cow<'a, str>); N];

/// Every alarm kind, so that each has a sample (1 active, 0 not).
const ALARM_KINDS: [AlarmKind; 3] = [
    AlarmKind::AllDown,
    AlarmKind::Conflict,
    AlarmKind::NameserverFailing,
];
/// Every health state, so that each address has one sample per state.
const HEALTH_STATES: [HealthState; 3] = [HealthState::Up, HealthState::Down, HealthState::Unknown];

/// The metrics answer.
pub fn respond(snapshot: &Arc<Snapshot>, statistics: &Statistics) -> Response<Body> {
    match encode(snapshot, statistics) {
        Ok(text) => ok(prometheus_text::CONTENT_TYPE, text),
        Err(fmt::Error) => {
            tracing::error!("cannot encode the metrics");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
        }
    }
}

/// The exposition of `snapshot` and `statistics`.
pub fn encode(snapshot: &Arc<Snapshot>, statistics: &Statistics) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    statistics.register(&mut registry);
    registry.register_collector(Box::new(SnapshotCollector(Arc::clone(snapshot))));
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry)?;
    Ok(text)
}

/// Encodes one snapshot's metrics.
#[derive(Debug)]
struct SnapshotCollector(Arc<Snapshot>);

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let snapshot = &self.0;
        let records = || snapshot.records.iter().map(AsRef::as_ref);
        let version = [("version", Cow::Borrowed(snapshot.agent_version.as_str()))];
        gauges(
            &mut encoder,
            "dnsfailover_build_info",
            "The running agent's version, as a label; always 1",
            [(version, 1)],
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_address_up",
            "Whether the address passes its checks (1) or is down (0); absent while unknown",
            records().flat_map(address_up),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_address_check_up",
            "Whether the address passes this one of its checks (1) or not (0), by its own rise and fall; absent while unknown. The address is up only when all are",
            records().flat_map(address_check_up),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_address_state",
            "The address's health: 1 for its current state, 0 for the others",
            records().flat_map(address_states),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_certificate_expiry_timestamp_seconds",
            "When the certificate the address presented in its last check expires, in Unix seconds (https and tls checks)",
            records().flat_map(certificate_expiry),
        )?;
        counters(
            &mut encoder,
            "dnsfailover_checks",
            "Checks finished since the agent started, summed over the server's addresses",
            records().flat_map(checks),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_record_published",
            "1 for the server all of whose addresses the primary publishes for the family",
            records().flat_map(published),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_record_in_sync",
            "Whether the primary publishes what it should for the family (1) or not (0)",
            records().flat_map(in_sync),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_last_update_timestamp_seconds",
            "When the last UPDATE carrying a change of the record finished, in Unix seconds",
            records().filter_map(last_update),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_alarm",
            "1 while an alarm of the kind is active for the record, else 0",
            records().flat_map(alarms),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_nameserver_failing",
            "1 while reads or updates of some record fail at the primary nameserver, else 0",
            nameservers_failing(snapshot),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_override",
            "1 for each manual override in force: a drained server or a pinned one, per record",
            records().flat_map(overrides),
        )?;
        let followers = || {
            snapshot.propagation.iter().flat_map(|zone| {
                zone.nameservers.iter().map(move |ns| {
                    let labels = [
                        ("zone", Cow::Borrowed(zone.zone.as_str())),
                        ("nameserver", Cow::Borrowed(ns.address.as_str())),
                    ];
                    (labels, ns)
                })
            })
        };
        gauges(
            &mut encoder,
            "dnsfailover_propagation_in_sync",
            "Whether the other nameserver serves the zone's last update (1) or not yet (0)",
            followers()
                .map(|(labels, ns)| (labels, i64::from(ns.state == PropagationState::InSync))),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_propagation_lagging",
            "1 while the other nameserver has not served an update for longer than propagation.lagging_after",
            followers().map(|(labels, ns)| (labels, i64::from(ns.state == PropagationState::Lagging))),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_propagation_last_seconds",
            "How long the last update it serves took to reach the other nameserver, from its confirmation on the primary",
            followers().filter_map(|(labels, ns)| Some((labels, ns.last_seconds?))),
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_propagation_serial",
            "The zone's SOA serial the nameserver served when last asked (the primary under nameserver=\"primary\")",
            snapshot
                .propagation
                .iter()
                .filter_map(|zone| {
                    let labels = [
                        ("zone", Cow::Borrowed(zone.zone.as_str())),
                        ("nameserver", Cow::Borrowed("primary")),
                    ];
                    Some((labels, i64::from(zone.serial?)))
                })
                .chain(followers().filter_map(|(labels, ns)| Some((labels, i64::from(ns.serial?))))),
        )?;
        let (kept, kept_limit) = crate::check::kept_connections();
        gauges(
            &mut encoder,
            "dnsfailover_kept_connections",
            "Connections of passed checks kept open and watched for a server crash",
            [(NO_LABELS, kept as i64)],
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_kept_connections_limit",
            "The most connections kept at once, from the open-file limit; further addresses are watched only by their checks",
            kept_limit.map(|limit| (NO_LABELS, limit as i64)),
        )?;
        let reload = snapshot.last_reload.as_ref();
        gauges(
            &mut encoder,
            "dnsfailover_config_last_reload_successful",
            "Whether the last reload (SIGHUP) was applied (1) or refused (0); 1 before any",
            [(NO_LABELS, i64::from(reload.is_none_or(|r| r.succeeded)))],
        )?;
        gauges(
            &mut encoder,
            "dnsfailover_config_last_reload_timestamp_seconds",
            "When the last reload was tried, in Unix seconds; absent before any",
            reload.map(|r| (NO_LABELS, r.at.unix_seconds())),
        )?;
        Ok(())
    }
}

/// The labels of a sample without any.
const NO_LABELS: Labels<'static, 0> = [];

/// Writes one gauge family: HELP, TYPE and one sample per item.
fn gauges<L: EncodeLabelSet, V: EncodeGaugeValue + Copy>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (L, V)>,
) -> Result<(), fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Writes one counter family; `name` is given without `_total`, which the
/// encoder appends.
fn counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (L, u64)>,
) -> Result<(), fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// The `record, server, address` labels of every address of `record`, with its health.
fn addresses(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 3>, HealthState)> + '_ {
    record.servers.iter().flat_map(move |server| {
        server.addresses.iter().map(move |address| {
            let labels = [
                ("record", Cow::Borrowed(record.name.as_str())),
                ("server", Cow::Borrowed(server.name.as_str())),
                ("address", Cow::Owned(address.address.to_string())),
            ];
            (labels, address.health)
        })
    })
}

/// The health of each check of each address, labelled `check` besides the
/// address's labels.
fn address_check_up(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 4>, i64)> + '_ {
    record.servers.iter().flat_map(move |server| {
        server.addresses.iter().flat_map(move |address| {
            address.checks.iter().filter_map(move |check| {
                let up = match check.health {
                    HealthState::Up => 1,
                    HealthState::Down => 0,
                    HealthState::Unknown => return None,
                };
                let labels = [
                    ("record", Cow::Borrowed(record.name.as_str())),
                    ("server", Cow::Borrowed(server.name.as_str())),
                    ("address", Cow::Owned(address.address.to_string())),
                    ("check", Cow::Borrowed(check.label.as_str())),
                ];
                Some((labels, up))
            })
        })
    })
}

/// The expiry of the certificate an address presented: in the last result
/// of its first check that saw one.
fn certificate_expiry(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 3>, f64)> + '_ {
    record.servers.iter().flat_map(move |server| {
        server.addresses.iter().filter_map(move |address| {
            let expires = address
                .checks
                .iter()
                .filter_map(|check| check.last_check.as_ref()?.certificate_expires)
                .next()
                .or_else(|| address.last_check.as_ref()?.certificate_expires)?;
            let labels = [
                ("record", Cow::Borrowed(record.name.as_str())),
                ("server", Cow::Borrowed(server.name.as_str())),
                ("address", Cow::Owned(address.address.to_string())),
            ];
            Some((labels, expires.unix_seconds()))
        })
    })
}

fn address_up(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 3>, i64)> + '_ {
    addresses(record).filter_map(|(labels, health)| match health {
        HealthState::Up => Some((labels, 1)),
        HealthState::Down => Some((labels, 0)),
        HealthState::Unknown => None,
    })
}

fn address_states(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 4>, i64)> + '_ {
    addresses(record).flat_map(|([record, server, address], health)| {
        HEALTH_STATES.into_iter().map(move |state| {
            let labels = [
                record.clone(),
                server.clone(),
                address.clone(),
                ("state", Cow::Borrowed(state.as_str())),
            ];
            (labels, i64::from(state == health))
        })
    })
}

fn checks(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 3>, u64)> + '_ {
    record.servers.iter().flat_map(move |server| {
        let passed = server.addresses.iter().map(|a| a.checks_passed).sum();
        let failed = server.addresses.iter().map(|a| a.checks_failed).sum();
        [("passed", passed), ("failed", failed)]
            .into_iter()
            .map(move |(result, count)| {
                let labels = [
                    ("record", Cow::Borrowed(record.name.as_str())),
                    ("server", Cow::Borrowed(server.name.as_str())),
                    ("result", Cow::Borrowed(result)),
                ];
                (labels, count)
            })
    })
}

fn published(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 3>, i64)> + '_ {
    record.families.iter().flat_map(move |family| {
        family.published.servers.iter().map(move |server| {
            let labels = [
                ("record", Cow::Borrowed(record.name.as_str())),
                ("family", Cow::Borrowed(family.family.as_str())),
                ("server", Cow::Borrowed(server.as_str())),
            ];
            (labels, 1)
        })
    })
}

fn in_sync(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 2>, i64)> + '_ {
    record.families.iter().map(move |family| {
        let labels = [
            ("record", Cow::Borrowed(record.name.as_str())),
            ("family", Cow::Borrowed(family.family.as_str())),
        ];
        (labels, i64::from(family.in_sync))
    })
}

fn last_update(record: &RecordStatus) -> Option<(Labels<'_, 1>, f64)> {
    let update = record.last_update.as_ref()?;
    Some((
        [("record", Cow::Borrowed(record.name.as_str()))],
        update.at.unix_seconds(),
    ))
}

fn alarms(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 2>, i64)> + '_ {
    ALARM_KINDS.into_iter().map(move |kind| {
        let active = record.alarms.iter().any(|alarm| alarm.kind == kind);
        let labels = [
            ("record", Cow::Borrowed(record.name.as_str())),
            ("kind", Cow::Borrowed(kind.as_str())),
        ];
        (labels, i64::from(active))
    })
}

/// One sample per primary the records name: 1 when a record it serves has
/// a `nameserver_failing` alarm.
fn nameservers_failing(snapshot: &Snapshot) -> Vec<(Labels<'_, 1>, i64)> {
    let mut failing: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    for record in &snapshot.records {
        if let Some(nameserver) = record.nameserver.as_deref() {
            let alarm = record
                .alarms
                .iter()
                .any(|alarm| alarm.kind == AlarmKind::NameserverFailing);
            *failing.entry(nameserver).or_default() |= alarm;
        }
    }
    failing
        .into_iter()
        .map(|(nameserver, failing)| {
            (
                [("nameserver", Cow::Borrowed(nameserver))],
                i64::from(failing),
            )
        })
        .collect()
}

/// One sample per drained server and per pin of the record.
fn overrides(record: &RecordStatus) -> impl Iterator<Item = (Labels<'_, 3>, i64)> + '_ {
    let drains = record
        .servers
        .iter()
        .filter(|server| server.drained.is_some())
        .map(|server| (server.name.as_str(), "drain"));
    let pin = record.pinned.iter().map(|pin| (pin.server.as_str(), "pin"));
    drains.chain(pin).map(move |(server, kind)| {
        let labels = [
            ("record", Cow::Borrowed(record.name.as_str())),
            ("server", Cow::Borrowed(server)),
            ("kind", Cow::Borrowed(kind)),
        ];
        (labels, 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{ReloadStatus, Timestamp};

    #[test]
    fn a_refused_reload_shows_in_the_reload_gauges() {
        let mut snapshot = Snapshot::empty("127.0.0.1:53", Timestamp::now());
        let before = encode(&Arc::new(snapshot.clone()), &Statistics::default()).unwrap();
        assert!(
            before.contains("dnsfailover_config_last_reload_successful 1\n"),
            "{before}"
        );
        let sample = |text: &str| {
            text.lines()
                .any(|l| l.starts_with("dnsfailover_config_last_reload_timestamp_seconds "))
        };
        assert!(!sample(&before), "no sample before a reload: {before}");
        snapshot.last_reload = Some(ReloadStatus {
            at: Timestamp::now(),
            succeeded: false,
            problem: Some("f.yaml:1:1: bad".into()),
        });
        let after = encode(&Arc::new(snapshot.clone()), &Statistics::default()).unwrap();
        assert!(
            after.contains("dnsfailover_config_last_reload_successful 0\n"),
            "{after}"
        );
        assert!(after.contains("# TYPE dnsfailover_config_last_reload_timestamp_seconds gauge"));
        assert!(sample(&after), "{after}");
    }
}
