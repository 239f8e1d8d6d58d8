//! `dnsfailover preflight`: proves, before anything is needed, that the key,
//! the clock, the nameserver, the update policy and the check targets work.
//! Nothing it sends changes DNS (see [`crate::dns::policy_probe_message`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use hickory_proto::rr::Name;
use serde::Serialize;

use crate::check::TlsContexts;
use crate::config::{Config, Record};
use crate::dns::tsig::FUDGE_SECONDS;
use crate::dns::{Client, DnsError, PolicyVerdict, Primaries};
use crate::vocabulary::Family;

/// Clock skew up to this is fine; beyond it, and up to TSIG's fudge, a
/// warning: NTP keeps clocks within milliseconds, so a quarter of the fudge
/// means a clock adrift, still accepted but on its way to BADTIME. Beyond
/// the fudge the servers answer BADTIME and the probe fails.
const SKEW_WARNING_SECONDS: u64 = FUDGE_SECONDS as u64 / 4;

/// The verdict of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// As it should be.
    Pass,
    /// Works, but worth a look.
    Warn,
    /// Will not work as configured.
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The zone or record it concerns.
    pub scope: String,
    /// What was checked: key, clock, primary, policy A, ttl A, check web1 192.0.2.1, ...
    pub check: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found, and what to do when it is not a pass.
    pub detail: String,
}

/// Every finding, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when nothing failed (warnings allowed).
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.verdict != Verdict::Fail)
    }

    fn add(&mut self, scope: &impl fmt::Display, check: &str, verdict: Verdict, detail: String) {
        self.findings.push(Finding {
            scope: scope.to_string(),
            check: check.to_owned(),
            verdict,
            detail,
        });
    }
}

impl fmt::Display for Report {
    /// One line per finding: `VERDICT scope check: detail`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(
                f,
                "{} {} {}: {}",
                finding.verdict, finding.scope, finding.check, finding.detail
            )?;
        }
        let failed = self
            .findings
            .iter()
            .filter(|f| f.verdict == Verdict::Fail)
            .count();
        let warned = self
            .findings
            .iter()
            .filter(|f| f.verdict == Verdict::Warn)
            .count();
        let mut summary = String::new();
        let _ = write!(
            summary,
            "{} checks: {} passed, {warned} warnings, {failed} failed",
            self.findings.len(),
            self.findings.len() - failed - warned
        );
        writeln!(f, "{summary}")
    }
}

/// Runs every preflight check of `config`, each zone's through the client
/// of its primary in `primaries`.
pub async fn preflight(config: &Config, primaries: &Primaries, tls: &TlsContexts) -> Report {
    let mut report = Report::default();
    let mut zones = BTreeMap::new();
    let mut record_zones = Vec::new();
    for record in &config.records {
        let index = primaries.index_for(&record.name);
        let client = &primaries.for_name(&record.name).client;
        let zone = match &record.zone {
            Some(zone) => Ok(zone.clone()),
            None => client.find_zone(&record.name).await,
        };
        match zone {
            Ok(zone) => {
                zones.insert(zone.clone(), index);
                record_zones.push((record, Some(zone)));
            }
            Err(error) => {
                report.add(&record.name, "zone", Verdict::Fail, error.to_string());
                record_zones.push((record, None));
            }
        }
    }
    let mut key_works = BTreeSet::new();
    for (zone, index) in &zones {
        let Some(primary) = primaries.iter().nth(*index) else {
            continue;
        };
        let field = address_field(config, *index);
        if check_zone(&mut report, &primary.client, zone, &field).await {
            key_works.insert(zone.clone());
        }
    }
    for (record, zone) in record_zones {
        let client = &primaries.for_name(&record.name).client;
        if let Some(zone) = zone.filter(|zone| key_works.contains(zone)) {
            check_record_dns(&mut report, client, &zone, record).await;
        }
        check_targets(&mut report, record, tls).await;
    }
    report
}

/// The field that gives the address of primary `index`.
fn address_field(config: &Config, index: usize) -> String {
    match config.nameservers.get(index) {
        Some(nameserver) if nameserver.zones.is_some() => {
            format!("nameservers[{index}].address")
        }
        _ => "nameserver.address".to_owned(),
    }
}

/// Key, clock and primary of one zone, at `client`, whose address the
/// configuration gives at `address_field`; true when the key works.
async fn check_zone(
    report: &mut Report,
    client: &Client,
    zone: &Name,
    address_field: &str,
) -> bool {
    let key = client.key().name();
    let primary = match client.primary_name(zone).await {
        Ok(primary) => {
            report.add(
                zone,
                "key",
                Verdict::Pass,
                format!(
                    "{} accepts key {key} and its signed answer verifies",
                    client.server()
                ),
            );
            primary
        }
        Err(error) => {
            let check = if matches!(error, DnsError::ClockSkew { .. }) {
                "clock"
            } else {
                "key"
            };
            report.add(zone, check, Verdict::Fail, error.to_string());
            return false;
        }
    };
    let configured = client.server().ip();
    match client.addresses_of(&primary).await {
        Ok(addresses) if addresses.contains(&configured) => report.add(
            zone,
            "primary",
            Verdict::Pass,
            format!("{configured} is the zone's primary ({primary}, the SOA's MNAME)"),
        ),
        Ok(addresses) if addresses.is_empty() => report.add(
            zone,
            "primary",
            Verdict::Warn,
            format!("the SOA names {primary} as the primary, whose address this server does not publish: check that {address_field} ({configured}) is that host"),
        ),
        Ok(addresses) => {
            let listed: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            report.add(
                zone,
                "primary",
                Verdict::Fail,
                format!("the SOA names {primary} ({}) as the zone's primary, not {configured}: a secondary forwards or refuses UPDATEs; point {address_field} at the primary", listed.join(", ")),
            );
        }
        Err(error) => report.add(zone, "primary", Verdict::Warn, format!("cannot look up {primary}: {error}")),
    }
    true
}

/// The policy for each managed family, the clock, and the published TTL.
async fn check_record_dns(report: &mut Report, client: &Client, zone: &Name, record: &Record) {
    let mut clock_reported = false;
    for family in Family::ALL {
        if !record.manages(family) {
            continue;
        }
        let mut probe = client.probe_policy(zone, &record.name, family).await;
        if matches!(&probe, Ok(p) if p.verdict == PolicyVerdict::Raced) {
            probe = client.probe_policy(zone, &record.name, family).await;
        }
        let check = format!("policy {family}");
        match probe {
            Ok(probe) => {
                if !clock_reported {
                    clock_reported = true;
                    report_skew(report, zone, probe.server_time, probe.local_time);
                }
                match probe.verdict {
                    PolicyVerdict::Allowed => report.add(&record.name, &check, Verdict::Pass, format!("key {} may change the {family} RRset (probed with an UPDATE that changes nothing)", client.key().name())),
                    PolicyVerdict::Refused => report.add(&record.name, &check, Verdict::Fail, format!("REFUSED: the update policy does not let key {} change {} {family}, or the zone is frozen; grant it, e.g. BIND `update-policy {{ grant {} name {} A AAAA; }};`, Knot an acl with update-type [A, AAAA] for this owner", client.key().name(), record.name, client.key().name(), record.name)),
                    PolicyVerdict::Raced => report.add(&record.name, &check, Verdict::Warn, "the RRset changed while probing, twice: someone else is editing it".to_owned()),
                }
            }
            Err(error) => report.add(&record.name, &check, Verdict::Fail, error.to_string()),
        }
        match client.read_rrset(&record.name, family).await {
            Ok(Some(rrset)) if rrset.ttl == record.ttl => report.add(
                &record.name,
                &format!("ttl {family}"),
                Verdict::Pass,
                format!("published with the configured TTL {}", record.ttl),
            ),
            Ok(Some(rrset)) if Some(rrset.ttl) == record.failover_ttl => report.add(
                &record.name,
                &format!("ttl {family}"),
                Verdict::Pass,
                format!(
                    "published with the failover TTL {}: it does not publish its first server",
                    rrset.ttl
                ),
            ),
            Ok(Some(rrset)) => report.add(
                &record.name,
                &format!("ttl {family}"),
                Verdict::Warn,
                format!(
                    "published with TTL {}, configured {}: the next update sets {}",
                    rrset.ttl, record.ttl, record.ttl
                ),
            ),
            Ok(None) => report.add(
                &record.name,
                &format!("ttl {family}"),
                Verdict::Warn,
                "no RRset is published yet: the agent will publish one".to_owned(),
            ),
            Err(error) => report.add(
                &record.name,
                &format!("ttl {family}"),
                Verdict::Fail,
                error.to_string(),
            ),
        }
    }
}

fn report_skew(report: &mut Report, zone: &Name, server_time: u64, local_time: u64) {
    let skew = server_time.abs_diff(local_time);
    let verdict = if skew <= SKEW_WARNING_SECONDS {
        Verdict::Pass
    } else {
        Verdict::Warn
    };
    report.add(
        zone,
        "clock",
        verdict,
        format!(
            "the server's TSIG time is {skew} s from ours (TSIG allows {FUDGE_SECONDS} s, and {SKEW_WARNING_SECONDS} s passes; keep both on NTP)"
        ),
    );
}

/// One check of every address, now.
async fn check_targets(report: &mut Report, record: &Record, tls: &TlsContexts) {
    match crate::plan::check_once(record, tls).await {
        Ok(outcomes) => {
            for (server, outcomes) in record.servers.iter().zip(&outcomes) {
                for (address, outcome) in server.addresses.iter().zip(outcomes) {
                    let several = outcome.checks.len() > 1;
                    for (label, outcome) in &outcome.checks {
                        let verdict = if outcome.healthy {
                            Verdict::Pass
                        } else {
                            Verdict::Fail
                        };
                        let scope = if several {
                            format!("check {} {address} {label}", server.name)
                        } else {
                            format!("check {} {address}", server.name)
                        };
                        report.add(&record.name, &scope, verdict, outcome.detail.clone());
                    }
                }
            }
        }
        Err(error) => report.add(&record.name, "check", Verdict::Fail, error.to_string()),
    }
}
