//! Real BIND and Knot secondaries of a real BIND or Knot primary (every pairing): they follow
//! an update by NOTIFY and IXFR within seconds, and catch up after missing one while stopped.
//! Everything is read with `dig`.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use support::secondary::Secondary;
use support::{wait_until, Grant, NameServer, ServerKind, TestKey, ZoneSpec};

const ZONE: &str = "example.test.";
const WWW: &str = "www.example.test.";
/// Owner of the TXT record with the primary's nonce, copied to the secondary like any other.
const NONCE: &str = "_harness.example.test.";
const SERIAL: u32 = 2024;
/// Long enough for a loaded 2-core machine; a change normally arrives in well under a second.
const DEADLINE: Duration = Duration::from_secs(10);

/// A primary of `primary_kind` whose `www` A the returned key may change, notifying a fresh
/// secondary of `secondary_kind`, both serving `ZONE` at `SERIAL`.
fn start_pair(
    primary_kind: ServerKind,
    secondary_kind: ServerKind,
) -> (NameServer, Secondary, TestKey) {
    let key = TestKey::generate("secondary-test.");
    let pending = Secondary::reserve(secondary_kind);
    let zone = ZoneSpec::new(ZONE, SERIAL)
        .record("www 300 IN A 192.0.2.1")
        .grant(Grant::Name {
            key: key.name.clone(),
            name: "www".into(),
            types: vec!["A".into()],
        })
        .notify(pending.addr());
    let primary = NameServer::start(primary_kind, vec![zone], vec![key.clone()]);
    let secondary = pending.start(ZONE, primary.addr());
    (primary, secondary, key)
}

/// Replaces `www`'s A RRset on the primary with `address`; the primary's new serial.
fn set_www(primary: &NameServer, key: &TestKey, address: &str) -> u32 {
    let before = primary.soa_serial(ZONE);
    let output = primary.nsupdate(
        key,
        &format!("zone {ZONE}\nupdate delete {WWW} A\nupdate add {WWW} 300 IN A {address}"),
    );
    assert!(
        output.status.success(),
        "{} rejected the update: {}{}\n{}",
        primary.kind(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        primary.log()
    );
    wait_until(
        DEADLINE,
        || primary.soa_serial(ZONE) != before,
        || format!("the primary's serial stays {before}:\n{}", primary.log()),
    );
    assert_eq!(
        primary.query(WWW, "A"),
        [address],
        "the primary took the update"
    );
    primary.soa_serial(ZONE)
}

/// Waits until `secondary` serves `serial` and `www` at `address`; how long that took.
fn wait_for_change(
    secondary: &Secondary,
    primary: &NameServer,
    serial: u32,
    address: &str,
) -> Duration {
    wait_until(
        DEADLINE,
        || {
            secondary.soa_serial(ZONE) == Some(serial)
                && secondary.try_query(WWW, "A").is_ok_and(|a| a == [address])
        },
        || {
            format!(
                "the {} secondary serves serial {:?} and www {:?}, not {serial} and {address}\n\
                 ---- secondary log ----\n{}\n---- primary log ----\n{}",
                secondary.kind(),
                secondary.soa_serial(ZONE),
                secondary.try_query(WWW, "A"),
                secondary.log(),
                primary.log()
            )
        },
    )
}

/// The whole life of a secondary: first transfer, an update by NOTIFY, an update missed while
/// stopped and caught up after the start again.
fn follows_and_catches_up(primary_kind: ServerKind, secondary_kind: ServerKind) {
    let (primary, mut secondary, key) = start_pair(primary_kind, secondary_kind);
    let pairing = format!("{primary_kind} primary, {secondary_kind} secondary");

    secondary.wait_for_serial(ZONE, SERIAL, DEADLINE);
    assert_eq!(secondary.query(WWW, "A"), ["192.0.2.1"], "{pairing}");
    assert_eq!(
        secondary.query(NONCE, "TXT"),
        primary.query(NONCE, "TXT"),
        "{pairing}: the zone came from this test's primary"
    );

    // Three updates in a row, each carried by a NOTIFY.
    let mut changed = SERIAL;
    for (round, address) in ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
        .iter()
        .enumerate()
    {
        let notifies = secondary.notifies_received();
        changed = set_www(&primary, &key, address);
        let took = wait_for_change(&secondary, &primary, changed, address);
        eprintln!("timing: {pairing}: update {round} reached the secondary {took:?} after nsupdate returned");
        assert!(
            secondary.notifies_received() > notifies,
            "{pairing}: the change came with a NOTIFY\n{}",
            secondary.log()
        );
    }

    secondary.stop();
    assert_eq!(secondary.soa_serial(ZONE), None, "{pairing}: stopped");
    let missed = set_www(&primary, &key, "192.0.2.3");
    assert_ne!(missed, changed);
    assert_eq!(secondary.soa_serial(ZONE), None, "{pairing}: still stopped");

    let restarted = Instant::now();
    secondary.start_again();
    let serving = restarted.elapsed();
    let caught_up = wait_for_change(&secondary, &primary, missed, "192.0.2.3");
    eprintln!(
        "timing: {pairing}: after the start again, serving in {serving:?}, caught up {caught_up:?} later"
    );
    assert_eq!(secondary.query(NONCE, "TXT"), primary.query(NONCE, "TXT"));

    // And it follows NOTIFY again after the restart.
    let again = set_www(&primary, &key, "192.0.2.4");
    let took = wait_for_change(&secondary, &primary, again, "192.0.2.4");
    eprintln!("timing: {pairing}: after the restart, an update reached it in {took:?}");
}

async fn a_bind_secondary_follows_by_notify_and_catches_up_after_a_restart(primary: ServerKind) {
    follows_and_catches_up(primary, ServerKind::Bind);
}

async fn a_knot_secondary_follows_by_notify_and_catches_up_after_a_restart(primary: ServerKind) {
    follows_and_catches_up(primary, ServerKind::Knot);
}

// `bind::` and `knot::` name the primary.
against_both_servers!(
    a_bind_secondary_follows_by_notify_and_catches_up_after_a_restart,
    a_knot_secondary_follows_by_notify_and_catches_up_after_a_restart,
);
