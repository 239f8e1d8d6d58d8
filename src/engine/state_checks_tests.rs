//! Unit tests of addresses with several checks: each check with its own
//! rise, fall and schedule, the address up only when all are.

use std::time::Duration;

use super::*;
use crate::config::{Check, CheckSpec, Timing};
use crate::engine::test_support::{config, ip, record, rrset, server, tcp_check};

const WEB1: &str = "192.0.2.1";
const WEB2: &str = "192.0.2.2";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An SMTP-like second check on port 25: interval 30 s, fall 1, rise 3.
fn smtp_check() -> Check {
    Check {
        label: "smtp:25".into(),
        spec: CheckSpec::Tcp { port: 25 },
        timing: Timing {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            fall: 1,
            rise: 3,
        },
    }
}

/// web1 then web2, each address checked by `tcp:80` (rise 2, fall 3) and
/// `smtp:25` (rise 3, fall 1).
fn two_checks() -> Config {
    let mut record = record(vec![server("web1", &[WEB1]), server("web2", &[WEB2])]);
    record.checks = vec![tcp_check(80), smtp_check()];
    config(vec![record])
}

fn id_of(engine: &Engine, address: &str, label: &str) -> TargetId {
    engine
        .targets()
        .find(|t| t.address == ip(address) && t.check.label == label)
        .map(|t| t.id)
        .expect("a target")
}

/// Runs one check of `label` on `address` when it is due.
fn run(engine: &mut Engine, address: &str, label: &str, passed: bool) -> Option<HealthChange> {
    let id = id_of(engine, address, label);
    let started = engine.next_due(id).expect("in use");
    let detail = if passed { "ok" } else { "connection refused" };
    engine.observe(
        id,
        CheckResult {
            passed,
            detail: detail.into(),
            started,
            finished: started + ms(5),
            certificate_expires: None,
        },
    )
}

fn address_health(engine: &Engine, address: &str) -> Health {
    let id = id_of(engine, address, "tcp:80");
    engine.address_state(id).expect("in use").health
}

/// Brings both checks of both addresses up.
fn all_up(engine: &mut Engine) {
    for address in [WEB1, WEB2] {
        for _ in 0..3 {
            run(engine, address, "tcp:80", true);
            run(engine, address, "smtp:25", true);
        }
    }
}

#[test]
fn one_target_per_address_and_check_each_on_its_own_interval() {
    let base = Instant::now();
    let engine = Engine::new(&two_checks(), base);
    let listed: Vec<(IpAddr, &str)> = engine
        .targets()
        .map(|t| (t.address, t.check.label.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (ip(WEB1), "tcp:80"),
            (ip(WEB1), "smtp:25"),
            (ip(WEB2), "tcp:80"),
            (ip(WEB2), "smtp:25"),
        ]
    );
    assert_eq!((engine.target_count(), engine.address_count()), (4, 2));
    let mut engine = engine;
    all_up(&mut engine);
    let tcp = id_of(&engine, WEB1, "tcp:80");
    let smtp = id_of(&engine, WEB1, "smtp:25");
    let started = engine.next_due(smtp).unwrap();
    run(&mut engine, WEB1, "smtp:25", true);
    assert_eq!(
        engine.next_due(smtp),
        Some(started + Duration::from_secs(30))
    );
    let started = engine.next_due(tcp).unwrap();
    run(&mut engine, WEB1, "tcp:80", true);
    assert_eq!(
        engine.next_due(tcp),
        Some(started + Duration::from_secs(10))
    );
}

#[test]
fn up_only_when_every_check_has_risen_by_its_own_count() {
    let mut engine = Engine::new(&two_checks(), Instant::now());
    assert_eq!(run(&mut engine, WEB1, "tcp:80", true), None);
    assert_eq!(
        run(&mut engine, WEB1, "tcp:80", true),
        None,
        "tcp up, smtp unknown"
    );
    assert_eq!(address_health(&engine, WEB1), Health::Unknown);
    assert_eq!(run(&mut engine, WEB1, "smtp:25", true), None);
    assert_eq!(
        run(&mut engine, WEB1, "smtp:25", true),
        None,
        "smtp needs rise 3"
    );
    let up = run(&mut engine, WEB1, "smtp:25", true).expect("both up");
    assert_eq!((up.from, up.to), (Health::Unknown, Health::Up));
    assert_eq!(up.checks, ["tcp:80", "smtp:25"]);
    assert_eq!(up.cause, "all 2 checks passed");
}

#[test]
fn the_address_is_down_when_one_of_two_checks_falls() {
    let mut engine = Engine::new(&two_checks(), Instant::now());
    all_up(&mut engine);
    assert!(engine.is_warm(&record(vec![]).name));
    let a = rrset(&[WEB1], 60);
    assert!(matches!(
        engine
            .decide(&record(vec![]).name, [Some(&a), None])
            .unwrap()
            .v4,
        crate::engine::FamilyDecision::InSync { .. }
    ));
    // smtp falls after one failure (fall 1) while tcp stays up.
    let down = run(&mut engine, WEB1, "smtp:25", false).expect("smtp fell");
    assert_eq!((down.from, down.to), (Health::Up, Health::Down));
    assert_eq!(down.checks, ["smtp:25"]);
    assert_eq!(down.cause, "smtp:25 failed: connection refused");
    assert_eq!(engine.health(id_of(&engine, WEB1, "tcp:80")), Health::Up);
    let state = engine
        .address_state(id_of(&engine, WEB1, "tcp:80"))
        .unwrap();
    assert_eq!(state.health, Health::Down);
    assert_eq!(
        state.last_check.map(|r| r.detail.as_str()),
        Some("connection refused"),
        "the failing check's result"
    );
    let decision = engine
        .decide(&record(vec![]).name, [Some(&a), None])
        .unwrap();
    assert_eq!(
        decision.v4.publish().map(|p| p.server.as_str()),
        Some("web2")
    );
    // tcp failing too changes nothing more: the address is down already.
    for _ in 0..3 {
        assert_eq!(run(&mut engine, WEB1, "tcp:80", false), None);
    }
    // Back up: tcp rises after 2, smtp after 3; the address only then.
    run(&mut engine, WEB1, "tcp:80", true);
    assert_eq!(run(&mut engine, WEB1, "tcp:80", true), None);
    run(&mut engine, WEB1, "smtp:25", true);
    run(&mut engine, WEB1, "smtp:25", true);
    assert_eq!(address_health(&engine, WEB1), Health::Down);
    let up = run(&mut engine, WEB1, "smtp:25", true).expect("both up again");
    assert_eq!((up.from, up.to), (Health::Down, Health::Up));
}

#[test]
fn reconfigure_keeps_every_check_it_still_lists_and_resets_a_changed_one() {
    let base = Instant::now();
    let mut engine = Engine::new(&two_checks(), base);
    all_up(&mut engine);
    let tcp = id_of(&engine, WEB1, "tcp:80");
    let smtp = id_of(&engine, WEB1, "smtp:25");
    let since = engine.address_state(tcp).unwrap().since;

    // New timing for smtp: the same check, kept.
    let mut slower = two_checks();
    slower.records[0].checks[1].timing.interval = Duration::from_secs(60);
    let changes = engine.reconfigure(&slower, base + ms(100));
    assert!(changes.added.is_empty() && changes.removed.is_empty());
    assert_eq!(id_of(&engine, WEB1, "smtp:25"), smtp);
    assert_eq!(engine.address_state(tcp).unwrap().since, since);

    // A third check: the two known ones stay up, the new one is unknown,
    // so is the address until it has a verdict.
    let mut three = slower.clone();
    three.records[0].checks.push(tcp_check(8080));
    let changes = engine.reconfigure(&three, base + ms(200));
    assert_eq!(changes.added.len(), 2, "tcp:8080 of both addresses");
    assert!(changes.removed.is_empty());
    assert_eq!(engine.health(tcp), Health::Up);
    assert_eq!(engine.health(smtp), Health::Up);
    assert_eq!(address_health(&engine, WEB1), Health::Unknown);
    assert!(!engine.is_warm(&three.records[0].name));

    // smtp's spec changes under the same label: only it starts over.
    let mut changed = three.clone();
    changed.records[0].checks[1].spec = CheckSpec::Tcp { port: 587 };
    let changes = engine.reconfigure(&changed, base + ms(300));
    assert_eq!(changes.removed.len(), 2, "smtp of both addresses");
    assert!(changes.removed.contains(&smtp));
    assert_eq!(changes.added.len(), 2);
    assert_eq!(id_of(&engine, WEB1, "tcp:80"), tcp);
    assert_eq!(engine.health(tcp), Health::Up);
    assert_eq!(
        engine.health(id_of(&engine, WEB1, "smtp:25")),
        Health::Unknown
    );
}

#[test]
fn a_servers_own_checks_replace_the_records() {
    let mut config = two_checks();
    config.records[0].servers[1].checks = Some(vec![tcp_check(2525)]);
    let engine = Engine::new(&config, Instant::now());
    let labels: Vec<(IpAddr, &str)> = engine
        .targets()
        .map(|t| (t.address, t.check.label.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            (ip(WEB1), "tcp:80"),
            (ip(WEB1), "smtp:25"),
            (ip(WEB2), "tcp:2525"),
        ]
    );
}
