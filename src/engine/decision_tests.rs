//! Unit tests of the per-family decision.

use super::*;
use crate::config::PoolMode;
use crate::engine::test_support::{all_in, health_of, ip, record, rrset, server};
use Health::{Down, Unknown, Up};

const W1_V4: &str = "192.0.2.1";
const W1_V6: &str = "2001:db8::1";
const W2_V4: &str = "192.0.2.2";
const W2_V6: &str = "2001:db8::2";

/// web1 and web2, each with one IPv4 and one IPv6 address.
fn dual_stack() -> Record {
    record(vec![
        server("web1", &[W1_V4, W1_V6]),
        server("web2", &[W2_V4, W2_V6]),
    ])
}

fn publish(server: &str, addresses: &[&str], reason: PublishReason) -> FamilyDecision {
    FamilyDecision::Publish(Publish {
        server: server.to_owned(),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
        ttl: 60,
        reason,
    })
}

fn in_sync(server: &str) -> FamilyDecision {
    FamilyDecision::InSync {
        server: server.to_owned(),
        note: None,
    }
}

fn v4(
    record: &Record,
    states: &[(&str, Health)],
    published: Option<&AddressRrset>,
) -> FamilyDecision {
    decide_family(record, Family::V4, &health_of(record, states), published)
}

#[test]
fn ipv4_only_record_leaves_aaaa_unmanaged() {
    let record = record(vec![server("web1", &[W1_V4]), server("web2", &[W2_V4])]);
    let foreign_aaaa = rrset(&["2001:db8::99"], 300);
    let decision = decide_record(
        &record,
        &all_in(&record, Up),
        [Some(&rrset(&[W1_V4], 60)), Some(&foreign_aaaa)],
    );
    assert_eq!(decision.v4, in_sync("web1"));
    assert_eq!(decision.v6, FamilyDecision::Unmanaged);
}

#[test]
fn nothing_is_decided_until_every_address_of_the_family_is_known() {
    let record = dual_stack();
    let published = rrset(&[W1_V4], 60);
    // web1 is known to be down, but web2 has no verdict yet: wait.
    assert_eq!(
        v4(&record, &[(W1_V4, Down)], Some(&published)),
        FamilyDecision::WarmingUp {
            unknown: vec![ip(W2_V4)]
        }
    );
    // Even a missing RRset is not created while warming up.
    assert_eq!(
        v4(&record, &[(W1_V4, Up)], None),
        FamilyDecision::WarmingUp {
            unknown: vec![ip(W2_V4)]
        }
    );
    // The unknown IPv6 addresses do not hold up the A decision.
    assert_eq!(
        v4(&record, &[(W1_V4, Down), (W2_V4, Up)], Some(&published)),
        publish(
            "web2",
            &[W2_V4],
            PublishReason::Failover {
                down: vec!["web1".into()],
                to: "web2".into()
            }
        )
    );
}

#[test]
fn first_up_server_wins_by_list_order_not_address_order() {
    let record = record(vec![
        server("web1", &["192.0.2.20"]),
        server("web2", &["192.0.2.10"]),
    ]);
    let all_up = [("192.0.2.20", Up), ("192.0.2.10", Up)];
    assert_eq!(
        v4(&record, &all_up, None),
        publish("web1", &["192.0.2.20"], PublishReason::Missing)
    );
}

/// (description, web1 v4, web2 v4, published A, expected)
type ScenarioRow = (
    &'static str,
    Health,
    Health,
    Option<&'static [&'static str]>,
    FamilyDecision,
);

#[test]
fn failover_and_failback_scenarios() {
    let failover = PublishReason::Failover {
        down: vec!["web1".into()],
        to: "web2".into(),
    };
    let failback = PublishReason::Failback { to: "web1".into() };
    let rows: Vec<ScenarioRow> = vec![
        (
            "both up, web1 published",
            Up,
            Up,
            Some(&[W1_V4]),
            in_sync("web1"),
        ),
        (
            "web1 down",
            Down,
            Up,
            Some(&[W1_V4]),
            publish("web2", &[W2_V4], failover),
        ),
        (
            "web1 down, moved",
            Down,
            Up,
            Some(&[W2_V4]),
            in_sync("web2"),
        ),
        (
            "web1 back",
            Up,
            Up,
            Some(&[W2_V4]),
            publish("web1", &[W1_V4], failback),
        ),
        (
            "web1 back, web2 down",
            Up,
            Down,
            Some(&[W2_V4]),
            publish(
                "web1",
                &[W1_V4],
                PublishReason::Failback { to: "web1".into() },
            ),
        ),
        (
            "nothing published",
            Down,
            Up,
            None,
            publish("web2", &[W2_V4], PublishReason::Missing),
        ),
        (
            "both down, keep",
            Down,
            Down,
            Some(&[W2_V4]),
            FamilyDecision::AllDownKeep,
        ),
        (
            "both down, keep, none published",
            Down,
            Down,
            None,
            FamilyDecision::AllDownKeep,
        ),
        (
            "mixed publication",
            Up,
            Up,
            Some(&[W1_V4, W2_V4]),
            publish("web1", &[W1_V4], PublishReason::Mixed),
        ),
    ];
    let record = dual_stack();
    for (description, web1, web2, published, expected) in rows {
        let published = published.map(|addresses| rrset(addresses, 60));
        let states = [(W1_V4, web1), (W2_V4, web2)];
        assert_eq!(
            v4(&record, &states, published.as_ref()),
            expected,
            "{description}"
        );
    }
}

#[test]
fn failover_names_every_server_that_is_down() {
    let record = record(vec![
        server("web1", &["192.0.2.1"]),
        server("web2", &["192.0.2.2"]),
        server("web3", &["192.0.2.3"]),
    ]);
    let states = [("192.0.2.1", Down), ("192.0.2.2", Down), ("192.0.2.3", Up)];
    let decision = v4(&record, &states, Some(&rrset(&["192.0.2.2"], 60)));
    let reason = decision.publish().expect("publish").reason.to_string();
    assert_eq!(reason, "web1, web2 are down, web3 is the first server up");
}

#[test]
fn only_the_up_addresses_of_the_chosen_server_are_published() {
    let record = record(vec![
        server("web1", &["192.0.2.1", "192.0.2.11"]),
        server("web2", &[W2_V4]),
    ]);
    let states = [("192.0.2.1", Up), ("192.0.2.11", Down), (W2_V4, Up)];
    let published = rrset(&["192.0.2.1", "192.0.2.11"], 60);
    assert_eq!(
        v4(&record, &states, Some(&published)),
        publish(
            "web1",
            &["192.0.2.1"],
            PublishReason::AddressesChanged {
                server: "web1".into()
            }
        )
    );
}

#[test]
fn families_are_decided_independently() {
    // web1's IPv4 address is down, its IPv6 address is up.
    let record = dual_stack();
    let health = health_of(
        &record,
        &[(W1_V4, Down), (W1_V6, Up), (W2_V4, Up), (W2_V6, Up)],
    );
    let a = rrset(&[W1_V4], 60);
    let aaaa = rrset(&[W1_V6], 60);
    let decision = decide_record(&record, &health, [Some(&a), Some(&aaaa)]);
    assert_eq!(
        decision.v4.publish().map(|p| p.server.as_str()),
        Some("web2")
    );
    assert_eq!(decision.v6, in_sync("web1"));
    assert_eq!(decision.family(Family::V6), &decision.v6);
    let families: Vec<Family> = decision.iter().map(|(family, _)| family).collect();
    assert_eq!(families, Family::ALL);
}

#[test]
fn all_down_first_publishes_every_address_of_the_first_server() {
    let mut record = record(vec![
        server("web1", &["192.0.2.1", "192.0.2.11"]),
        server("web2", &[W2_V4]),
    ]);
    record.when_all_down = AllDownPolicy::First;
    let health = all_in(&record, Down);
    let published = rrset(&[W2_V4], 60);
    let decision = decide_family(&record, Family::V4, &health, Some(&published));
    assert_eq!(
        decision,
        publish(
            "web1",
            &["192.0.2.1", "192.0.2.11"],
            PublishReason::AllDownFirst {
                server: "web1".into()
            }
        )
    );
    let settled = rrset(&["192.0.2.1", "192.0.2.11"], 60);
    assert_eq!(
        decide_family(&record, Family::V4, &health, Some(&settled)),
        in_sync("web1")
    );
}

#[test]
fn all_down_first_skips_servers_without_the_family() {
    let mut record = record(vec![
        server("web1", &[W1_V4]),
        server("web2", &[W2_V4, W2_V6]),
    ]);
    record.when_all_down = AllDownPolicy::First;
    let decision = decide_family(&record, Family::V6, &all_in(&record, Down), None);
    assert_eq!(
        decision
            .publish()
            .map(|p| (p.server.as_str(), p.addresses.clone())),
        Some(("web2", vec![ip(W2_V6)]))
    );
}

#[test]
fn foreign_addresses_are_a_conflict_unless_takeover() {
    let mut record = dual_stack();
    let published = rrset(&[W1_V4, "198.51.100.7"], 60);
    let states = [(W1_V4, Up), (W2_V4, Up)];
    assert_eq!(
        v4(&record, &states, Some(&published)),
        FamilyDecision::Conflict {
            foreign: vec![ip("198.51.100.7")]
        }
    );
    // Foreign addresses conflict even when every server is down.
    assert_eq!(
        v4(&record, &[(W1_V4, Down), (W2_V4, Down)], Some(&published)),
        FamilyDecision::Conflict {
            foreign: vec![ip("198.51.100.7")]
        }
    );
    record.takeover = true;
    assert_eq!(
        v4(&record, &states, Some(&published)),
        publish(
            "web1",
            &[W1_V4],
            PublishReason::Takeover {
                foreign: vec![ip("198.51.100.7")]
            }
        )
    );
}

#[test]
fn an_address_of_another_server_is_not_foreign() {
    let record = dual_stack();
    let published = rrset(&[W2_V4], 60);
    let decision = v4(&record, &[(W1_V4, Up), (W2_V4, Up)], Some(&published));
    assert_eq!(decision.publish().map(|p| p.server.as_str()), Some("web1"));
}

#[test]
fn ttl_is_compared_too() {
    let record = dual_stack();
    let states = [(W1_V4, Up), (W2_V4, Up)];
    assert_eq!(
        v4(&record, &states, Some(&rrset(&[W1_V4], 60))),
        in_sync("web1")
    );
    assert_eq!(
        v4(&record, &states, Some(&rrset(&[W1_V4], 3600))),
        publish(
            "web1",
            &[W1_V4],
            PublishReason::TtlDiffers {
                published: 3600,
                configured: 60
            }
        )
    );
}

#[test]
fn an_empty_published_rrset_counts_as_missing() {
    let record = dual_stack();
    let empty = AddressRrset {
        addresses: vec![],
        ttl: 60,
    };
    let decision = v4(&record, &[(W1_V4, Up), (W2_V4, Up)], Some(&empty));
    assert_eq!(decision, publish("web1", &[W1_V4], PublishReason::Missing));
}

#[test]
fn a_short_health_table_counts_as_unknown() {
    let record = dual_stack();
    let decision = decide_family(&record, Family::V4, &[vec![Up]], None);
    assert_eq!(
        decision,
        FamilyDecision::WarmingUp {
            unknown: vec![ip(W2_V4)]
        }
    );
    assert_eq!(
        decide_family(&record, Family::V4, &[], None),
        FamilyDecision::WarmingUp {
            unknown: vec![ip(W1_V4), ip(W2_V4)]
        }
    );
}

#[test]
fn publish_converts_to_an_rrset() {
    let record = dual_stack();
    let decision = v4(&record, &[(W1_V4, Up), (W2_V4, Unknown)], None);
    assert!(decision.publish().is_none(), "still warming up");
    let decision = v4(&record, &[(W1_V4, Up), (W2_V4, Down)], None);
    assert_eq!(
        decision.publish().map(Publish::rrset),
        Some(rrset(&[W1_V4], 60))
    );
}

#[path = "decision_properties.rs"]
mod properties;

/// The TTL of what `decision` publishes (none when it publishes nothing).
fn published_ttl(decision: &FamilyDecision) -> Option<u32> {
    match decision {
        FamilyDecision::Publish(publish) => Some(publish.ttl),
        _ => None,
    }
}

#[test]
fn the_failover_ttl_holds_while_the_first_server_is_not_published() {
    let mut record = dual_stack();
    record.failover_ttl = Some(10);
    record.when_all_down = AllDownPolicy::First;
    // Failed over: web2 with the failover TTL.
    let failed_over = v4(
        &record,
        &[(W1_V4, Down), (W2_V4, Up)],
        Some(&rrset(&[W1_V4], 60)),
    );
    assert_eq!(published_ttl(&failed_over), Some(10));
    // In sync only with the failover TTL; the normal one is corrected.
    let at_failover_ttl = rrset(&[W2_V4], 10);
    assert_eq!(
        v4(
            &record,
            &[(W1_V4, Down), (W2_V4, Up)],
            Some(&at_failover_ttl)
        ),
        in_sync("web2")
    );
    let at_normal_ttl = rrset(&[W2_V4], 60);
    let corrected = v4(&record, &[(W1_V4, Down), (W2_V4, Up)], Some(&at_normal_ttl));
    assert_eq!(published_ttl(&corrected), Some(10));
    // Failback brings the normal TTL back in the same change.
    let back = v4(&record, &[(W1_V4, Up), (W2_V4, Up)], Some(&at_failover_ttl));
    assert_eq!(published_ttl(&back), Some(60));
    // All down, the first server is published, degraded: the failover TTL.
    let all_down = v4(
        &record,
        &[(W1_V4, Down), (W2_V4, Down)],
        Some(&at_failover_ttl),
    );
    assert_eq!(published_ttl(&all_down), Some(10));
    // Without a failover TTL nothing changes.
    record.failover_ttl = None;
    let plain = v4(
        &record,
        &[(W1_V4, Down), (W2_V4, Up)],
        Some(&rrset(&[W1_V4], 60)),
    );
    assert_eq!(published_ttl(&plain), Some(60));
}

/// web1, web2 and web3 with one IPv4 address each, publishing every one up.
fn pool_of_three() -> Record {
    let mut record = record(vec![
        server("web1", &[W1_V4]),
        server("web2", &[W2_V4]),
        server("web3", &["192.0.2.3"]),
    ]);
    record.mode = PoolMode::All;
    record
}

#[test]
fn a_pool_publishes_every_up_server_and_loses_only_the_dead_one() {
    let record = pool_of_three();
    let all = rrset(&[W1_V4, W2_V4, "192.0.2.3"], 60);
    let up = [(W1_V4, Up), (W2_V4, Up), ("192.0.2.3", Up)];
    assert_eq!(
        v4(&record, &up, Some(&all)),
        FamilyDecision::InSync {
            server: "web1, web2, web3".into(),
            note: None
        }
    );
    let web2_down = [(W1_V4, Up), (W2_V4, Down), ("192.0.2.3", Up)];
    assert_eq!(
        v4(&record, &web2_down, Some(&all)),
        publish_as(
            "web1, web3",
            &[W1_V4, "192.0.2.3"],
            PublishReason::PoolChanged {
                added: vec![],
                removed: vec!["web2".into()]
            }
        )
    );
    let without_web2 = rrset(&[W1_V4, "192.0.2.3"], 60);
    assert_eq!(
        v4(&record, &up, Some(&without_web2)),
        publish_as(
            "web1, web2, web3",
            &[W1_V4, W2_V4, "192.0.2.3"],
            PublishReason::PoolChanged {
                added: vec!["web2".into()],
                removed: vec![]
            }
        )
    );
    assert_eq!(
        PublishReason::PoolChanged {
            added: vec!["web3".into()],
            removed: vec!["web2".into()]
        }
        .to_string(),
        "web2 left out of the pool (down); web3 back in the pool (up)"
    );
}

#[test]
fn a_pool_is_capped_in_list_order_and_all_down_follows_the_policy() {
    let mut record = pool_of_three();
    record.max_addresses = 2;
    let up = [(W1_V4, Up), (W2_V4, Up), ("192.0.2.3", Up)];
    let decision = v4(&record, &up, None);
    assert_eq!(
        decision,
        publish_as("web1, web2", &[W1_V4, W2_V4], PublishReason::Missing)
    );
    let first_down = [(W1_V4, Down), (W2_V4, Up), ("192.0.2.3", Up)];
    let decision = v4(&record, &first_down, Some(&rrset(&[W1_V4, W2_V4], 60)));
    assert!(
        matches!(&decision, FamilyDecision::Publish(p)
        if p.addresses == vec![ip(W2_V4), ip("192.0.2.3")]),
        "{decision:?}"
    );
    let all_down = [(W1_V4, Down), (W2_V4, Down), ("192.0.2.3", Down)];
    let published = rrset(&[W2_V4, "192.0.2.3"], 60);
    assert_eq!(
        v4(&record, &all_down, Some(&published)),
        FamilyDecision::AllDownKeep
    );
    record.when_all_down = AllDownPolicy::First;
    assert_eq!(
        v4(&record, &all_down, Some(&published)),
        publish_as(
            "web1",
            &[W1_V4],
            PublishReason::AllDownFirst {
                server: "web1".into()
            }
        )
    );
}

#[test]
fn a_degraded_pool_uses_the_failover_ttl() {
    let mut record = pool_of_three();
    record.failover_ttl = Some(10);
    let web3_down = [(W1_V4, Up), (W2_V4, Up), ("192.0.2.3", Down)];
    let all = rrset(&[W1_V4, W2_V4, "192.0.2.3"], 60);
    assert_eq!(
        published_ttl(&v4(&record, &web3_down, Some(&all))),
        Some(10)
    );
    let up = [(W1_V4, Up), (W2_V4, Up), ("192.0.2.3", Up)];
    let degraded = rrset(&[W1_V4, W2_V4], 10);
    assert_eq!(published_ttl(&v4(&record, &up, Some(&degraded))), Some(60));
}

fn publish_as(server: &str, addresses: &[&str], reason: PublishReason) -> FamilyDecision {
    FamilyDecision::Publish(Publish {
        server: server.to_owned(),
        addresses: addresses.iter().map(|a| ip(a)).collect(),
        ttl: 60,
        reason,
    })
}
