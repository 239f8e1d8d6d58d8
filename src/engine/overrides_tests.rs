//! Unit tests of the decisions under drains, pins and manual failback.

use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::config::{FailbackPolicy, Record};
use crate::engine::decision::decide_family_with;
use crate::engine::test_support::{all_in, health_of, ip, record, rrset, server};
use crate::engine::{FamilyDecision, Health, PublishReason};
use crate::vocabulary::Family;

const W1: &str = "192.0.2.1";
const W2: &str = "192.0.2.2";

fn two_servers() -> Record {
    record(vec![server("web1", &[W1]), server("web2", &[W2])])
}

fn drain(server: &str, expires: Option<Instant>) -> Override {
    Override {
        kind: OverrideKind::Drain {
            server: server.to_owned(),
            record: None,
        },
        by: 1000,
        reason: "maintenance".to_owned(),
        set_at: SystemTime::now(),
        until: None,
        expires,
    }
}

fn pin(record: &Record, server: &str) -> Override {
    Override {
        kind: OverrideKind::Pin {
            record: record.name.clone(),
            server: server.to_owned(),
        },
        by: 1000,
        reason: "testing web2".to_owned(),
        set_at: SystemTime::now(),
        until: None,
        expires: None,
    }
}

fn server_of(decision: &FamilyDecision) -> Option<&str> {
    match decision {
        FamilyDecision::InSync { server, .. } => Some(server),
        FamilyDecision::Publish(publish) => Some(&publish.server),
        _ => None,
    }
}

#[test]
fn a_drained_server_counts_as_down_while_it_is_up() {
    let record = two_servers();
    let mut overrides = Overrides::default();
    overrides.set(drain("web1", None));
    let view = overrides.for_record(&record);
    let published = rrset(&[W1], 60);
    let decision = decide_family_with(
        &record,
        Family::V4,
        &all_in(&record, Health::Up),
        Some(&published),
        &view,
    );
    let publish = decision.publish().expect("moves");
    assert_eq!(publish.server, "web2");
    assert_eq!(publish.addresses, [ip(W2)]);
}

#[test]
fn a_pinned_server_is_published_although_it_is_down() {
    let record = two_servers();
    let mut overrides = Overrides::default();
    overrides.set(pin(&record, "web2"));
    let health = health_of(&record, &[(W1, Health::Up), (W2, Health::Down)]);
    let published = rrset(&[W1], 60);
    let view = overrides.for_record(&record);
    let decision = decide_family_with(&record, Family::V4, &health, Some(&published), &view);
    let publish = decision.publish().expect("moves");
    assert_eq!(publish.server, "web2");
    assert_eq!(
        publish.reason.to_string(),
        "pinned by uid 1000: testing web2"
    );
    let now = rrset(&[W2], 60);
    let decision = decide_family_with(&record, Family::V4, &health, Some(&now), &view);
    assert_eq!(
        decision,
        FamilyDecision::InSync {
            server: "web2".into(),
            note: Some("pinned by uid 1000: testing web2".into())
        }
    );
}

#[test]
fn manual_failback_stays_on_the_backup_until_asked_or_it_fails() {
    let mut record = two_servers();
    record.failback = FailbackPolicy::Manual;
    let mut overrides = Overrides::default();
    let on_web2 = rrset(&[W2], 60);
    let both_up = all_in(&record, Health::Up);
    let decide = |overrides: &Overrides, health: &[Vec<Health>]| {
        decide_family_with(
            &record,
            Family::V4,
            health,
            Some(&on_web2),
            &overrides.for_record(&record),
        )
    };
    let waiting = decide(&overrides, &both_up);
    assert_eq!(
        waiting,
        FamilyDecision::InSync {
            server: "web2".into(),
            note: Some(format!(
                "waiting for manual failback: dnsfailover failback {}",
                record.name
            ))
        }
    );
    let web2_down = health_of(&record, &[(W1, Health::Up), (W2, Health::Down)]);
    assert_eq!(server_of(&decide(&overrides, &web2_down)), Some("web1"));
    overrides.request_failback(record.name.clone());
    let back = decide(&overrides, &both_up);
    assert_eq!(
        back.publish().map(|p| &p.reason),
        Some(&PublishReason::Failback { to: "web1".into() })
    );
}

#[test]
fn overrides_expire_release_and_replace() {
    let record = two_servers();
    let start = Instant::now();
    let mut overrides = Overrides::default();
    overrides.set(drain("web1", Some(start + Duration::from_secs(2))));
    overrides.set(drain("web1", Some(start + Duration::from_secs(5))));
    overrides.set(pin(&record, "web1"));
    overrides.set(pin(&record, "web2"));
    assert_eq!(overrides.entries().len(), 2, "same target replaced");
    assert_eq!(
        overrides.next_expiry(),
        Some(start + Duration::from_secs(5))
    );
    assert!(overrides.expire(start + Duration::from_secs(4)).is_empty());
    assert_eq!(overrides.expire(start + Duration::from_secs(5)).len(), 1);
    assert_eq!(overrides.next_expiry(), None);
    assert_eq!(overrides.release_pin(&record.name).len(), 1);
    assert!(overrides.entries().is_empty());
}
