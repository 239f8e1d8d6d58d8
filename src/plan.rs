//! `dnsfailover plan`: one round of checks, what DNS publishes now, the
//! decision for each record and the exact UPDATE that would be sent —
//! without sending anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::rr::Name;

use crate::check::{Checker, Outcome, TlsContexts};
use crate::config::{Config, Record};
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
                    .map(|o| if o.healthy { Health::Up } else { Health::Down })
                    .collect()
            })
            .collect();
        let _ = writeln!(report, "{} (zone {zone})", record.name);
        for (server, outcomes) in record.servers.iter().zip(&outcomes) {
            for (address, outcome) in server.addresses.iter().zip(outcomes) {
                let state = if outcome.healthy { "up" } else { "down" };
                let _ = writeln!(
                    report,
                    "  {} {address}: {state} ({})",
                    server.name, outcome.detail
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

/// One check of every address of a record, all at once; outcomes by server
/// and address, in configuration order.
pub(crate) async fn check_once(
    record: &Record,
    tls: &TlsContexts,
) -> Result<Vec<Vec<Outcome>>, PlanError> {
    let check = Arc::new(record.check.clone());
    let mut checks = tokio::task::JoinSet::new();
    for (server_index, server) in record.servers.iter().enumerate() {
        let names = Arc::new(crate::check::TargetNames {
            record: record.name.to_string(),
            server: server.name.clone(),
        });
        for (address_index, address) in server.addresses.iter().enumerate() {
            let target =
                crate::check::Target::of_record(record, names.clone(), *address, check.clone());
            let mut checker = Checker::new(target, tls).map_err(|source| PlanError::Check {
                record: record.name.clone(),
                source,
            })?;
            checks.spawn(async move { (server_index, address_index, checker.check().await) });
        }
    }
    let mut outcomes: Vec<Vec<Option<Outcome>>> = record
        .servers
        .iter()
        .map(|s| vec![None; s.addresses.len()])
        .collect();
    while let Some(done) = checks.join_next().await {
        let (server, address, outcome) = done.expect("a check never panics");
        outcomes[server][address] = Some(outcome);
    }
    Ok(outcomes
        .into_iter()
        .map(|server| {
            server
                .into_iter()
                .map(|o| o.expect("every address was checked"))
                .collect()
        })
        .collect())
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
