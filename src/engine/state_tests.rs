//! Unit tests of the engine, driven by a fake clock (a base `Instant` plus offsets).

use std::time::Duration;

use super::*;
use crate::engine::test_support::{config, ip, named_record, record, rrset, server, tcp_check};
use crate::engine::{confirm_delay, FamilyDecision, PublishReason};
use crate::vocabulary::Family;

const W1_V4: &str = "192.0.2.1";
const W1_V6: &str = "2001:db8::1";
const W2_V4: &str = "192.0.2.2";
const W2_V6: &str = "2001:db8::2";
const INTERVAL: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(2);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One dual-stack record: web1 then web2 (interval 10 s, rise 2, fall 3).
fn dual_stack() -> Config {
    config(vec![record(vec![
        server("web1", &[W1_V4, W1_V6]),
        server("web2", &[W2_V4, W2_V6]),
    ])])
}

fn id_of(engine: &Engine, record_index: usize, address: &str) -> TargetId {
    let name = record_name(engine, record_index);
    engine
        .targets()
        .find(|t| t.record.name == name && t.address == ip(address))
        .map(|t| t.id)
        .expect("address is a target")
}

/// The owner name of the record at `index` in configuration order.
fn record_name(engine: &Engine, index: usize) -> Name {
    engine.records().nth(index).expect("record").name.clone()
}

/// A check result from `started` to `finished`.
fn result(passed: bool, started: Instant, finished: Instant) -> CheckResult {
    let detail = if passed { "ok" } else { "failed" };
    CheckResult {
        passed,
        detail: detail.to_owned(),
        started,
        finished,
        certificate_expires: None,
    }
}

/// The decision for the record at `index`.
fn decide(
    engine: &Engine,
    index: usize,
    published: [Option<&AddressRrset>; 2],
) -> crate::engine::RecordDecision {
    engine
        .decide(&record_name(engine, index), published)
        .expect("configured record")
}

fn is_warm(engine: &Engine, index: usize) -> bool {
    engine.is_warm(&record_name(engine, index))
}

/// Runs one check of `address` (record 0) starting when it is due and
/// lasting `duration`; returns the change of health and the finish time.
fn check(
    engine: &mut Engine,
    address: &str,
    success: bool,
    duration: Duration,
) -> (Option<HealthChange>, Instant) {
    let id = id_of(engine, 0, address);
    let started = engine.next_due(id).expect("target");
    let finished = started + duration;
    (
        engine.observe(id, result(success, started, finished)),
        finished,
    )
}

/// Checks every address of record 0 `times` times with these results.
fn check_all(engine: &mut Engine, results: &[(&str, bool)], times: usize) {
    for _ in 0..times {
        for (address, success) in results {
            check(engine, address, *success, ms(5));
        }
    }
}

const ALL_UP: [(&str, bool); 4] = [(W1_V4, true), (W1_V6, true), (W2_V4, true), (W2_V6, true)];

#[test]
fn one_target_per_record_server_and_address() {
    let shared = "192.0.2.50";
    let config = config(vec![
        named_record("a.example.test.", vec![server("web1", &[shared, W1_V6])]),
        named_record(
            "b.example.test.",
            vec![server("web1", &[shared]), server("web9", &[W2_V4])],
        ),
    ]);
    let engine = Engine::new(&config, Instant::now());
    let listed: Vec<(String, &str, IpAddr)> = engine
        .targets()
        .map(|t| (t.record.name.to_string(), t.server, t.address))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("a.example.test.".into(), "web1", ip(shared)),
            ("a.example.test.".into(), "web1", ip(W1_V6)),
            ("b.example.test.".into(), "web1", ip(shared)),
            ("b.example.test.".into(), "web9", ip(W2_V4)),
        ]
    );
    let target = engine.target(id_of(&engine, 1, W2_V4)).expect("target");
    assert_eq!(target.record.name.to_string(), "b.example.test.");
    assert_eq!(engine.records().len(), 2);
    assert_eq!(engine.target_count(), 4);
}

#[test]
fn the_same_address_in_two_records_is_checked_separately() {
    let shared = "192.0.2.50";
    let config = config(vec![
        named_record("a.example.test.", vec![server("web1", &[shared])]),
        named_record("b.example.test.", vec![server("web1", &[shared])]),
    ]);
    let base = Instant::now();
    let mut engine = Engine::new(&config, base);
    let (a, b) = (id_of(&engine, 0, shared), id_of(&engine, 1, shared));
    assert_ne!(a, b);
    engine.observe(a, result(true, base, base + ms(1)));
    let change = engine.observe(a, result(true, base + ms(20), base + ms(21)));
    assert_eq!(
        change.map(|c| c.record.to_string()),
        Some("a.example.test.".to_owned())
    );
    assert_eq!(engine.health(a), Health::Up);
    assert_eq!(engine.health(b), Health::Unknown);
    assert!(is_warm(&engine, 0));
    assert!(!is_warm(&engine, 1));
}

#[test]
fn first_checks_are_spread_over_the_start() {
    let base = Instant::now();
    let engine = Engine::new(&dual_stack(), base);
    // Four addresses, interval 10 s: spread over one second, a quarter apart.
    let due: Vec<Duration> = engine
        .targets()
        .map(|t| engine.next_due(t.id).unwrap() - base)
        .collect();
    assert_eq!(due, [ms(0), ms(250), ms(500), ms(750)]);
}

#[test]
fn warm_up_waits_for_every_address_and_full_evidence() {
    let mut engine = Engine::new(&dual_stack(), Instant::now());
    let nothing = [None, None];
    assert_eq!(check(&mut engine, W1_V4, true, ms(5)).0, None);
    let up = check(&mut engine, W1_V4, true, ms(5))
        .0
        .expect("rise 2 reached");
    assert_eq!((up.from, up.to), (Health::Unknown, Health::Up));
    assert!(matches!(
        decide(&engine, 0, nothing).v4,
        FamilyDecision::WarmingUp { .. }
    ));
    // Unknown -> Down needs `fall` (3) failures.
    assert_eq!(check(&mut engine, W2_V4, false, TIMEOUT).0, None);
    assert_eq!(check(&mut engine, W2_V4, false, TIMEOUT).0, None);
    let down = check(&mut engine, W2_V4, false, TIMEOUT)
        .0
        .expect("fall 3 reached");
    assert_eq!((down.from, down.to), (Health::Unknown, Health::Down));
    // IPv4 is fully known now; IPv6 is not.
    let decision = decide(&engine, 0, nothing);
    assert_eq!(
        decision.v4.publish().map(|p| p.reason.clone()),
        Some(PublishReason::Missing)
    );
    assert!(matches!(decision.v6, FamilyDecision::WarmingUp { .. }));
    assert!(!is_warm(&engine, 0));
    check_all(&mut engine, &[(W1_V6, true), (W2_V6, true)], 2);
    assert!(is_warm(&engine, 0));
}

#[test]
fn health_change_names_record_server_and_address() {
    let mut engine = Engine::new(&dual_stack(), Instant::now());
    check(&mut engine, W2_V6, true, ms(5));
    let change = check(&mut engine, W2_V6, true, ms(5)).0.expect("up");
    assert_eq!(
        change,
        HealthChange {
            record: Name::from_ascii("www.example.test.").unwrap(),
            server: "web2".into(),
            address: ip(W2_V6),
            from: Health::Unknown,
            to: Health::Up,
            checks: vec!["tcp:80".into()],
            cause: "ok".into(),
        }
    );
    assert_eq!(
        change.to_string(),
        "www.example.test. server web2 address 2001:db8::2: unknown -> up"
    );
}

#[test]
fn failover_is_confirmed_quickly_then_checks_return_to_cadence() {
    let base = Instant::now();
    let mut engine = Engine::new(&dual_stack(), base);
    check_all(&mut engine, &ALL_UP, 2);
    let a = rrset(&[W1_V4], 60);
    let aaaa = rrset(&[W1_V6], 60);
    assert!(matches!(
        decide(&engine, 0, [Some(&a), Some(&aaaa)]).v4,
        FamilyDecision::InSync { .. }
    ));

    // web1's IPv4 address dies: its checks now time out.
    let id = id_of(&engine, 0, W1_V4);
    let first_failure = engine.next_due(id).unwrap();
    let (change, finished) = check(&mut engine, W1_V4, false, TIMEOUT);
    assert_eq!(change, None);
    assert_eq!(
        engine.next_due(id).unwrap(),
        finished + confirm_delay(INTERVAL)
    );
    check(&mut engine, W1_V4, false, TIMEOUT);
    let verdict_start = engine.next_due(id).unwrap();
    let (change, verdict) = check(&mut engine, W1_V4, false, TIMEOUT);
    assert_eq!(change.map(|c| c.to), Some(Health::Down));
    // Three timeouts plus two confirmation pauses, not three intervals.
    assert_eq!(
        verdict - first_failure,
        TIMEOUT * 3 + confirm_delay(INTERVAL) * 2
    );
    assert_eq!(engine.next_due(id).unwrap(), verdict_start + INTERVAL);

    let decision = decide(&engine, 0, [Some(&a), Some(&aaaa)]);
    let publish = decision.v4.publish().expect("A moves");
    assert_eq!(
        (publish.server.as_str(), publish.addresses.clone()),
        ("web2", vec![ip(W2_V4)])
    );
    assert_eq!(
        publish.reason.to_string(),
        "web1 is down, web2 is the first server up"
    );
    assert!(
        matches!(decision.v6, FamilyDecision::InSync { .. }),
        "AAAA stays"
    );

    // web1 recovers: two quick successes and traffic swings back.
    let moved = rrset(&[W2_V4], 60);
    check(&mut engine, W1_V4, true, ms(5));
    assert!(
        engine.next_due(id).unwrap() < verdict_start + INTERVAL * 2,
        "confirming"
    );
    let change = check(&mut engine, W1_V4, true, ms(5)).0;
    assert_eq!(
        change.map(|c| (c.from, c.to)),
        Some((Health::Down, Health::Up))
    );
    let back = decide(&engine, 0, [Some(&moved), Some(&aaaa)]);
    assert_eq!(
        back.family(Family::V4)
            .publish()
            .map(|p| p.reason.to_string()),
        Some("failback: web1 is up again".into())
    );
}

#[test]
fn a_single_failure_while_up_does_not_move_dns() {
    let mut engine = Engine::new(&dual_stack(), Instant::now());
    check_all(&mut engine, &ALL_UP, 2);
    check(&mut engine, W1_V4, false, TIMEOUT);
    check(&mut engine, W1_V4, false, TIMEOUT);
    check(&mut engine, W1_V4, true, ms(5));
    check(&mut engine, W1_V4, false, TIMEOUT);
    assert_eq!(engine.health(id_of(&engine, 0, W1_V4)), Health::Up);
    let a = rrset(&[W1_V4], 60);
    assert!(matches!(
        decide(&engine, 0, [Some(&a), None]).v4,
        FamilyDecision::InSync { .. }
    ));
}

#[test]
fn connection_lost_forces_a_check_of_an_up_address_once_per_interval() {
    let base = Instant::now();
    let mut engine = Engine::new(&dual_stack(), base);
    let id = id_of(&engine, 0, W1_V4);
    assert!(
        !engine.connection_lost(id, base + ms(1)),
        "unknown: already checked quickly"
    );
    check_all(&mut engine, &ALL_UP, 2);
    let reset = engine.next_due(id).unwrap() - ms(4_000);
    assert!(engine.connection_lost(id, reset));
    assert_eq!(engine.next_due(id).unwrap(), reset);
    engine.observe(id, result(true, reset, reset + ms(5)));
    assert_eq!(engine.next_due(id).unwrap(), reset + INTERVAL);
    assert!(!engine.connection_lost(id, reset + ms(50)));
    assert!(!engine.connection_lost(id, reset + INTERVAL - ms(1)));
    assert_eq!(engine.next_due(id).unwrap(), reset + INTERVAL);
}

#[test]
fn connection_lost_is_ignored_for_a_down_address() {
    let base = Instant::now();
    let mut engine = Engine::new(&dual_stack(), base);
    check_all(&mut engine, &[(W2_V4, false)], 3);
    let id = id_of(&engine, 0, W2_V4);
    assert_eq!(engine.health(id), Health::Down);
    let due = engine.next_due(id).unwrap();
    assert!(!engine.connection_lost(id, due - ms(1_000)));
    assert_eq!(engine.next_due(id).unwrap(), due);
}

/// Brings every address of every record up (rise 2).
fn all_up(engine: &mut Engine) {
    let ids: Vec<TargetId> = engine.targets().map(|t| t.id).collect();
    for _ in 0..2 {
        for id in &ids {
            let started = engine.next_due(*id).unwrap();
            engine.observe(*id, result(true, started, started + ms(5)));
        }
    }
}

fn ids_by_key(engine: &Engine) -> Vec<(AddressKey, TargetId)> {
    engine
        .targets()
        .map(|t| (engine.key(t.id).unwrap().clone(), t.id))
        .collect()
}

#[test]
fn reconfigure_keeps_what_is_known_of_addresses_it_keeps() {
    let base = Instant::now();
    let a = named_record("a.example.test.", vec![server("web1", &[W1_V4])]);
    let b = named_record(
        "b.example.test.",
        vec![server("web1", &[W1_V4, W1_V6]), server("web2", &[W2_V4])],
    );
    let c = named_record("c.example.test.", vec![server("web2", &[W2_V6])]);
    let mut engine = Engine::new(&config(vec![a.clone(), b.clone()]), base);
    all_up(&mut engine);
    let before = ids_by_key(&engine);
    let b_web2 = id_of(&engine, 1, W2_V4);
    let b_web1_v4 = id_of(&engine, 1, W1_V4);
    let (passed, since, due) = {
        let state = engine.address_state(b_web2).unwrap();
        (
            state.checks_passed,
            state.since,
            engine.next_due(b_web2).unwrap(),
        )
    };

    // Reordered, `a` removed, `c` added; in `b` web2 moves first and web1
    // loses its IPv6 address.
    let mut b2 = b.clone();
    b2.servers = vec![server("web2", &[W2_V4]), server("web1", &[W1_V4])];
    let later = base + Duration::from_secs(30);
    let changes = engine.reconfigure(&config(vec![c.clone(), b2]), later);

    let gone = |name: &str, address: &str| {
        before
            .iter()
            .find(|(key, _)| key.record.to_string() == name && key.address == ip(address))
            .map(|(_, id)| *id)
            .unwrap()
    };
    let mut removed = vec![
        gone("a.example.test.", W1_V4),
        gone("b.example.test.", W1_V6),
    ];
    removed.sort();
    assert_eq!(changes.removed, removed);
    assert_eq!(changes.records_added, vec![c.name.clone()]);
    assert_eq!(changes.records_removed, vec![a.name.clone()]);
    assert_eq!(changes.records_changed, vec![b.name.clone()]);
    assert_eq!(changes.added.len(), 1, "only c's address is new");
    assert_eq!(engine.key(changes.added[0]).unwrap().address, ip(W2_V6));

    // Kept addresses: same ids, health, counters, schedule.
    assert_eq!(id_of(&engine, 1, W2_V4), b_web2);
    assert_eq!(id_of(&engine, 1, W1_V4), b_web1_v4);
    let state = engine.address_state(b_web2).unwrap();
    assert_eq!(state.health, Health::Up);
    assert_eq!((state.checks_passed, state.since), (passed, since));
    assert_eq!(engine.next_due(b_web2), Some(due));
    assert!(is_warm(&engine, 1), "b needs no new warm-up");
    // The new one warms up; removed ones are gone and their results ignored.
    assert!(!is_warm(&engine, 0));
    assert_eq!(engine.health(changes.added[0]), Health::Unknown);
    assert_eq!(engine.next_due(changes.added[0]), Some(later));
    for id in &changes.removed {
        assert!(engine.target(*id).is_none());
        assert_eq!(engine.observe(*id, result(false, later, later)), None);
    }
    // The order of the new file is the order of the targets.
    let order: Vec<(String, IpAddr)> = engine
        .targets()
        .map(|t| (t.server.to_owned(), t.address))
        .collect();
    assert_eq!(
        order,
        vec![
            ("web2".into(), ip(W2_V6)),
            ("web2".into(), ip(W2_V4)),
            ("web1".into(), ip(W1_V4)),
        ]
    );
    // And b's decision follows its new server order: web2 is first now.
    let decision = decide(&engine, 1, [Some(&rrset(&[W1_V4], 60)), None]);
    assert_eq!(
        decision.v4.publish().map(|p| p.server.as_str()),
        Some("web2")
    );
}

#[test]
fn reconfigure_with_a_changed_check_starts_the_record_over() {
    let base = Instant::now();
    let mut engine = Engine::new(&dual_stack(), base);
    all_up(&mut engine);
    let old = id_of(&engine, 0, W1_V4);
    let mut changed = dual_stack();
    changed.records[0].checks = vec![tcp_check(8080)];
    let changes = engine.reconfigure(&changed, base + ms(100));
    assert_eq!(
        changes.added.len(),
        4,
        "another check: no verdict carries over"
    );
    assert!(changes.removed.contains(&old));
    assert!(!is_warm(&engine, 0));
}

#[test]
fn reconfigure_with_the_same_file_changes_nothing() {
    let base = Instant::now();
    let mut engine = Engine::new(&dual_stack(), base);
    all_up(&mut engine);
    let before = ids_by_key(&engine);
    let changes = engine.reconfigure(&dual_stack(), base + ms(100));
    assert_eq!(changes, Reconfigured::default());
    assert_eq!(ids_by_key(&engine), before);
}

#[test]
fn new_thresholds_apply_to_kept_addresses() {
    let base = Instant::now();
    let mut engine = Engine::new(&dual_stack(), base);
    all_up(&mut engine);
    let mut strict = dual_stack();
    strict.records[0].checks[0].timing.fall = 1;
    let changes = engine.reconfigure(&strict, base + ms(100));
    assert!(changes.added.is_empty());
    let (change, _) = check(&mut engine, W1_V4, false, TIMEOUT);
    assert_eq!(change.map(|c| c.to), Some(Health::Down), "fall 1 now");
}
