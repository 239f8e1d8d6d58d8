//! `dnsfailover plan`: one round of checks, what DNS publishes now, the
//! decision for each record and the exact UPDATE that would be sent —
//! without sending anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::rr::Name;

use crate::check::{Checker, Outcome, TlsContexts};
use crate::config::{Check, Config, Record};
use crate::dns::{DnsError, Primaries, RrsetChange, ZoneUpdate};
use crate::engine::{decide_record, FamilyDecision, Health};
use crate::vocabulary::{AddressList, AddressRrset};

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A check could not be prepared.
    #[error("record {record}: {source}")]
    Check {
        record: Name,
        source: crate::check::CheckSetupError,
    },
    /// The nameserver could not be read.
    #[error("record {record}: {source}")]
    Dns { record: Name, source: DnsError },
}

/// Runs one round of checks and reads DNS, each record at its primary;
/// returns the report to print.
pub async fn plan(
    config: &Config,
    primaries: &Primaries,
    tls: &TlsContexts,
) -> Result<String, PlanError> {
    let mut report = String::new();
    let mut updates: BTreeMap<Name, (SocketAddr, Vec<RrsetChange>)> = BTreeMap::new();
    for record in &config.records {
        let client = &primaries.for_name(&record.name).client;
        let dns = |source| PlanError::Dns {
            record: record.name.clone(),
            source,
        };
        let zone = match &record.zone {
            Some(zone) => zone.clone(),
            None => client.find_zone(&record.name).await.map_err(dns)?,
        };
        let published = client.read_addresses(&record.name).await.map_err(dns)?;
        let outcomes = check_once(record, tls).await?;
        let health: Vec<Vec<Health>> = outcomes
            .iter()
            .map(|server| {
                server
                    .iter()
                    .map(|o| {
                        if o.healthy() {
                            Health::Up
                        } else {
                            Health::Down
                        }
                    })
                    .collect()
            })
            .collect();
        let _ = writeln!(report, "{} (zone {zone})", record.name);
        describe_checks(&mut report, record);
        for (server, outcomes) in record.servers.iter().zip(&outcomes) {
            for (address, outcome) in server.addresses.iter().zip(outcomes) {
                let state = if outcome.healthy() { "up" } else { "down" };
                let _ = writeln!(
                    report,
                    "  {} {address}: {state} ({})",
                    server.name,
                    outcome.detail()
                );
            }
        }
        let decision = decide_record(
            record,
            &health,
            [published.v4.as_ref(), published.v6.as_ref()],
        );
        for (family, family_decision) in decision.iter() {
            let _ = writeln!(
                report,
                "  {family}: {}",
                describe(family_decision, published.get(family))
            );
            if let FamilyDecision::Publish(publish) = family_decision {
                let (_, changes) = updates
                    .entry(zone.clone())
                    .or_insert_with(|| (client.server(), Vec::new()));
                changes.push(RrsetChange {
                    name: record.name.clone(),
                    family,
                    expected: published.get(family).cloned(),
                    desired: publish.rrset(),
                });
            }
        }
    }
    if updates.is_empty() {
        report.push_str("\nDNS is as it should be: no UPDATE would be sent.\n");
    }
    for (zone, (server, changes)) in updates {
        let update = ZoneUpdate {
            zone: zone.clone(),
            changes,
        };
        let _ = write!(
            report,
            "\n; UPDATE for zone {zone}, as nsupdate commands:\n{}",
            update.to_nsupdate(server)
        );
    }
    Ok(report)
}

/// What one round of an address's checks found.
#[derive(Debug, Clone)]
pub(crate) struct AddressOutcome {
    /// Each check's label and outcome, in configuration order.
    pub checks: Vec<(String, Outcome)>,
}

impl AddressOutcome {
    /// True when every check passed: the address counts as up.
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|(_, outcome)| outcome.healthy)
    }

    /// What was found: the detail of the only check, or each check's
    /// label and detail, e.g. `tcp:443: connected; smtp:25: connection refused`.
    pub fn detail(&self) -> String {
        match self.checks.as_slice() {
            [(_, only)] => only.detail.clone(),
            checks => checks
                .iter()
                .map(|(label, outcome)| format!("{label}: {}", outcome.detail))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// Every check of every address of a record, once and all at once;
/// outcomes by server and address, in configuration order.
pub(crate) async fn check_once(
    record: &Record,
    tls: &TlsContexts,
) -> Result<Vec<Vec<AddressOutcome>>, PlanError> {
    let mut checks = tokio::task::JoinSet::new();
    for (server_index, server) in record.servers.iter().enumerate() {
        let names = Arc::new(crate::check::TargetNames {
            record: record.name.to_string(),
            server: server.name.clone(),
        });
        for (check_index, check) in record.checks_of(server).iter().enumerate() {
            let spec = Arc::new(check.spec.clone());
            for (address_index, address) in server.addresses.iter().enumerate() {
                let target = crate::check::Target::of_record(
                    record,
                    names.clone(),
                    *address,
                    spec.clone(),
                    check.timing.timeout,
                );
                let mut checker = Checker::new(target, tls).map_err(|source| PlanError::Check {
                    record: record.name.clone(),
                    source,
                })?;
                let slot = (server_index, address_index, check_index);
                checks.spawn(async move { (slot, checker.check().await) });
            }
        }
    }
    let mut outcomes: Vec<Vec<Vec<Option<Outcome>>>> = record
        .servers
        .iter()
        .map(|s| vec![vec![None; record.checks_of(s).len()]; s.addresses.len()])
        .collect();
    while let Some(done) = checks.join_next().await {
        let ((server, address, check), outcome) = done.expect("a check never panics");
        outcomes[server][address][check] = Some(outcome);
    }
    Ok(record
        .servers
        .iter()
        .zip(outcomes)
        .map(|(server, addresses)| {
            addresses
                .into_iter()
                .map(|checks| AddressOutcome {
                    checks: record
                        .checks_of(server)
                        .iter()
                        .zip(checks)
                        .map(|(check, o)| (check.label.clone(), o.expect("every check was run")))
                        .collect(),
                })
                .collect()
        })
        .collect())
}

/// A line naming the checks every address must pass, when there are
/// several or a server has its own (one check needs no introduction).
fn describe_checks(report: &mut String, record: &Record) {
    let list = |checks: &[Check]| {
        checks
            .iter()
            .map(|check| {
                let timing = check.timing;
                format!(
                    "{} (every {}, timeout {}, fall {}, rise {})",
                    check.label,
                    humantime::format_duration(timing.interval),
                    humantime::format_duration(timing.timeout),
                    timing.fall,
                    timing.rise
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let own: Vec<&crate::config::Server> = record
        .servers
        .iter()
        .filter(|s| s.checks.is_some())
        .collect();
    if record.checks.len() < 2 && own.is_empty() {
        return;
    }
    let _ = writeln!(report, "  checks, all must pass: {}", list(&record.checks));
    for server in own {
        let _ = writeln!(
            report,
            "  checks of {}, all must pass: {}",
            server.name,
            list(record.checks_of(server))
        );
    }
}

fn describe(decision: &FamilyDecision, published: Option<&AddressRrset>) -> String {
    let now = published.map_or_else(
        || "nothing".to_string(),
        |rrset| format!("[{}] ttl {}", AddressList(&rrset.addresses), rrset.ttl),
    );
    match decision {
        FamilyDecision::Unmanaged => "not managed (no server has an address of this family)".into(),
        FamilyDecision::WarmingUp { .. } => format!("undecided; publishes {now}"),
        FamilyDecision::InSync { server, .. } => format!("in sync with {server}: {now}"),
        FamilyDecision::Publish(publish) => {
            format!(
                "publish {} [{}] ttl {} ({}); publishes {now}",
                publish.server,
                AddressList(&publish.addresses),
                publish.ttl,
                publish.reason
            )
        }
        FamilyDecision::AllDownKeep => {
            format!("every server is down: keeping {now} (when_all_down: keep)")
        }
        FamilyDecision::Conflict { foreign } => {
            format!(
                "conflict: {now} holds {} which no server has; not overwriting (takeover: false)",
                AddressList(foreign)
            )
        }
    }
}
