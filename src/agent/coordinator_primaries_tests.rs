//! The coordinator with two primaries: one that fails delays, backs off and
//! alarms only its own records, and only its own recovery is announced.

use super::*;

const OTHER_ZONE: &str = "example.org.";
const OTHER_WWW: &str = "www.example.org.";

/// A record of [`OTHER_ZONE`], served by the second primary.
fn other_record() -> Record {
    Record {
        zone: Some(name(OTHER_ZONE)),
        ..record(OTHER_WWW)
    }
}

fn has_failing_alarm(snapshot: &Snapshot, owner: &str) -> bool {
    record_in(snapshot, owner)
        .alarms
        .iter()
        .any(|a| a.kind == AlarmKind::NameserverFailing)
}

#[tokio::test(start_paused = true)]
async fn a_failing_primary_stalls_and_announces_only_its_own_records() {
    let second = Scripted::new(OTHER_ZONE);
    let server = Scripted::new(ZONE).with_second_primary(second.clone());
    server.state().data.insert(name(WWW), published(WEB1));
    second.state().data.insert(name(OTHER_WWW), published(WEB1));
    // The second primary does not answer the first reads.
    let read_failures = 6;
    second.state().read_faults = std::iter::repeat_n(Fault::Timeout, read_failures).collect();
    let (sink, queue) = event_queue();
    let config = config(vec![record(WWW), other_record()]);
    let mut harness = Harness::start_with_events(&config, &server, sink);
    harness.all(&[WWW, OTHER_WWW], true, true).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    let snapshot = harness
        .wait_for("the second primary's record is failing", |s| {
            has_failing_alarm(s, OTHER_WWW)
        })
        .await;
    assert_eq!(
        record_in(&snapshot, OTHER_WWW).nameserver.as_deref(),
        Some("second")
    );
    assert_eq!(
        record_in(&snapshot, WWW).nameserver.as_deref(),
        Some("first")
    );

    // The first primary's record fails over at once; its applied update
    // and reads are no recovery of the second primary.
    harness.all(&[WWW], false, true).await;
    let moved = harness.wait_all_on(&[WWW], WEB2).await;
    assert!(!has_failing_alarm(&moved, WWW));
    assert!(has_failing_alarm(&moved, OTHER_WWW));
    assert_eq!(kinds(&queue).await, ["failover"], "no recovery announced");

    // The second primary answers again: its record settles, its recovery
    // is announced once, naming it.
    let settled = harness
        .wait_for("the second primary's record settles", |s| {
            !has_failing_alarm(s, OTHER_WWW)
        })
        .await;
    assert!(record_in(&settled, OTHER_WWW).last_error.is_none());
    let recovered = queue.pop().await.expect("an event");
    assert_eq!(recovered.event.as_str(), "nameserver_recovered");
    assert_eq!(recovered.server.as_deref(), Some("second"));
    assert_eq!(recovered.text, "the nameserver second answers again");
    assert!(kinds(&queue).await.is_empty(), "announced once");
    assert_eq!(second.state().reads.len(), read_failures + 1);
    assert!(server
        .state()
        .updates
        .iter()
        .all(|u| u.update.zone == name(ZONE)));
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_reload_moves_a_record_and_its_failing_update_to_its_new_primary() {
    let second = Scripted::new(OTHER_ZONE);
    let server = Scripted::new(ZONE).with_second_primary(second.clone());
    second.state().data.insert(name(OTHER_WWW), published(WEB1));
    let config = config(vec![other_record()]);
    let mut harness = Harness::start(&config, &server);
    harness.all(&[OTHER_WWW], true, true).await;
    harness.wait_all_on(&[OTHER_WWW], WEB1).await;
    second.state().update_faults = std::iter::repeat_n(Fault::Timeout, 1000).collect();
    harness.all(&[OTHER_WWW], false, true).await;
    harness
        .wait_for("its update fails at the second primary", |s| {
            has_failing_alarm(s, OTHER_WWW)
        })
        .await;

    // The reload hands the zone to one primary that works.
    let single = Scripted::new(OTHER_ZONE);
    single.state().data.insert(name(OTHER_WWW), published(WEB1));
    harness.reconfigure(&config, &single).await;
    let moved = harness.wait_all_on(&[OTHER_WWW], WEB2).await;
    let status = record_in(&moved, OTHER_WWW);
    assert_eq!(status.nameserver, None, "the single primary has no label");
    harness
        .wait_for("its failure ends", |s| !has_failing_alarm(s, OTHER_WWW))
        .await;
    assert!(single.state().updates.iter().any(|u| u.applied));
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn reads_stalled_at_one_primary_leave_the_others_slots_free() {
    let second = Scripted::new(OTHER_ZONE);
    second.state().read_latency = Duration::from_secs(2 * 3600);
    let server = Scripted::new(ZONE).with_second_primary(second.clone());
    server.state().data.insert(name(WWW), published(WEB1));
    let stalled: Vec<String> = (0..2 * MAX_CONCURRENT_READS)
        .map(|i| format!("r{i}.example.org."))
        .collect();
    let mut records: Vec<Record> = stalled
        .iter()
        .map(|owner| Record {
            zone: Some(name(OTHER_ZONE)),
            ..record(owner)
        })
        .collect();
    // Queued after every stalled one.
    records.push(record(WWW));
    let mut harness = Harness::start(&config(records), &server);
    harness.all(&[WWW], true, true).await;
    harness.wait_all_on(&[WWW], WEB1).await;
    assert_eq!(second.state().max_reads_running, MAX_CONCURRENT_READS);
    assert_eq!(server.state().reads.len(), 1);
    harness.stop().await;
}
