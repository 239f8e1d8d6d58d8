//! The coordinator with an operator's overrides: drains that expire on the
//! (paused) clock, pins, refusals, and manual failback.

use super::*;

fn drain_request(server: &str, for_seconds: Option<f64>) -> crate::control::Request {
    crate::control::Request::Drain {
        server: server.into(),
        record: None,
        for_seconds,
        reason: "maintenance".into(),
    }
}

fn desired_reason(snapshot: &Snapshot) -> String {
    record_in(snapshot, WWW)
        .family(Family::V4)
        .map(|f| f.desired.reason.clone())
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_drain_moves_the_record_until_it_expires_on_the_clock() {
    let server = Scripted::new(ZONE);
    let mut harness = www_on_web1(&server).await;
    let started = clock::now();
    let answer = harness
        .operator(drain_request("web1", Some(30.0)), 1000)
        .await;
    assert!(answer.ok, "{answer:?}");
    assert_eq!(answer.overrides.len(), 1);
    let snapshot = harness.wait_all_on(&[WWW], WEB2).await;
    let record = record_in(&snapshot, WWW);
    let drained = record.servers[0].drained.as_ref().expect("web1 drained");
    assert_eq!((drained.by, drained.reason.as_str()), (1000, "maintenance"));
    assert_eq!(
        record.servers[0].addresses[0].health.as_str(),
        "up",
        "checked up"
    );
    assert_eq!(snapshot.overrides.len(), 1);
    // Checks go on; only the expiry brings it back, on the (paused) clock.
    harness.all(&[WWW], true, true).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    assert!(clock::now() - started >= Duration::from_secs(30));
    assert_eq!(server.state().serial, 2, "one update each way");
    let snapshot = harness.snapshots.borrow().clone();
    assert!(snapshot.overrides.is_empty());
    assert!(record_in(&snapshot, WWW).servers[0].drained.is_none());
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn unknown_servers_and_records_are_refused() {
    let server = Scripted::new(ZONE);
    let harness = www_on_web1(&server).await;
    let answer = harness.operator(drain_request("web9", None), 0).await;
    assert!(!answer.ok);
    assert!(
        answer.message.contains("no record has a server web9"),
        "{answer:?}"
    );
    let pin = crate::control::Request::Pin {
        record: "nowhere.example.test".into(),
        server: "web2".into(),
        for_seconds: None,
        reason: String::new(),
    };
    assert!(!harness.operator(pin, 0).await.ok);
    let release = crate::control::Request::Release {
        target: "web1".into(),
    };
    assert!(!harness.operator(release, 0).await.ok);
    assert!(server.state().updates.is_empty());
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_pin_publishes_a_down_server_with_its_reason() {
    let server = Scripted::new(ZONE);
    let mut harness = www_on_web1(&server).await;
    harness.all(&[WWW], true, false).await;
    let pin = crate::control::Request::Pin {
        record: WWW.into(),
        server: "web2".into(),
        for_seconds: None,
        reason: "testing web2".into(),
    };
    assert!(harness.operator(pin, 7).await.ok);
    let snapshot = harness.wait_all_on(&[WWW], WEB2).await;
    assert_eq!(desired_reason(&snapshot), "pinned by uid 7: testing web2");
    let pinned = record_in(&snapshot, WWW).pinned.expect("pinned");
    assert_eq!(pinned.server, "web2");
    let release = crate::control::Request::Release { target: WWW.into() };
    assert!(harness.operator(release, 7).await.ok);
    harness.wait_all_on(&[WWW], WEB1).await;
    assert_eq!(server.state().serial, 2);
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn manual_failback_stays_on_the_backup_until_asked() {
    let server = Scripted::new(ZONE);
    server.state().data.insert(name(WWW), published(WEB1));
    let mut manual = record(WWW);
    manual.failback = crate::config::FailbackPolicy::Manual;
    let mut harness = Harness::start(&config(vec![manual]), &server);
    harness.all(&[WWW], true, true).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    harness.all(&[WWW], false, true).await;
    harness.wait_all_on(&[WWW], WEB2).await;
    harness.all(&[WWW], true, true).await;
    let waiting = format!("waiting for manual failback: dnsfailover failback {WWW}");
    let snapshot = harness
        .wait_for("held on web2", |s| desired_reason(s) == waiting)
        .await;
    assert!(publishes(&snapshot, WWW, WEB2));
    // Time passes and checks go on: it stays.
    tokio::time::sleep(REFRESH_INTERVAL * 2).await;
    harness.all(&[WWW], true, true).await;
    assert_eq!(server.state().serial, 1, "no failback on its own");
    let failback = crate::control::Request::Failback { record: WWW.into() };
    assert!(harness.operator(failback, 0).await.ok);
    harness.wait_all_on(&[WWW], WEB1).await;
    assert_eq!(server.state().serial, 2);
    // A later failover is held again; the backup failing follows the order.
    harness.all(&[WWW], false, true).await;
    harness.wait_all_on(&[WWW], WEB2).await;
    harness.all(&[WWW], true, true).await;
    harness
        .wait_for("held again", |s| desired_reason(s) == waiting)
        .await;
    harness.all(&[WWW], true, false).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    assert_eq!(server.state().serial, 4);
    harness.stop().await;
}
