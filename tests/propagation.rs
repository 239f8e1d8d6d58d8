//! Updates followed to real secondaries: a BIND and a Knot secondary of the
//! test zone, fed by NOTIFY and IXFR from the primary (BIND or Knot), seen
//! by the real binary through `/status`, `/metrics`, `dnsfailover status`
//! and a webhook; a stopped secondary lags and catches up again.

// Only part of the client is used here.
#[allow(dead_code)]
#[path = "observe/client.rs"]
mod client;
#[path = "observe/exposition.rs"]
mod exposition;
#[macro_use]
mod support;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::secondary::Secondary;
use support::{
    wait_until, AgentProcess, Lab, ServerKind, WebhookMode, WebhookReceiver, WEB1, WEB2,
};

const ZONE: &str = "example.test.";
const RECORD: &str = "www.example.test.";
/// Long enough for a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(30);

fn status(address: SocketAddr) -> Value {
    serde_json::from_str(&client::get(address, "/status")).expect("/status is JSON")
}

/// The status of `nameserver` in the zone's propagation, if listed.
/// The propagation entry of [`ZONE`], if listed.
fn zone_propagation(status: &Value) -> Option<&Value> {
    status["propagation"]
        .as_array()?
        .iter()
        .find(|zone| zone["zone"] == ZONE)
}

fn follower(status: &Value, nameserver: SocketAddr) -> Option<Value> {
    zone_propagation(status)?["nameservers"]
        .as_array()?
        .iter()
        .find(|ns| ns["address"] == nameserver.to_string())
        .cloned()
}

fn primary_serial_in_status(status: &Value) -> Option<u64> {
    zone_propagation(status)?["serial"].as_u64()
}

/// Waits until every listed follower is in `state` for the zone's latest
/// serial as the status reports it; returns the last status.
fn wait_for_states(
    agent: &AgentProcess,
    address: SocketAddr,
    wanted: &[(SocketAddr, &str)],
    what: &str,
) -> Value {
    let last = RefCell::new(Value::Null);
    wait_until(
        DEADLINE,
        || {
            let now = status(address);
            let done = wanted.iter().all(|(ns, state)| {
                follower(&now, *ns).is_some_and(|found| found["state"] == *state)
            });
            *last.borrow_mut() = now;
            done
        },
        || {
            format!(
                "{what}; status: {:#}\nagent log:\n{}",
                last.borrow(),
                agent.log()
            )
        },
    );
    last.into_inner()
}

fn status_exit_code(address: SocketAddr) -> Option<i32> {
    Command::new(support::binary())
        .args(["status", "--url", &format!("http://{address}")])
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
        .status
        .code()
}

against_both_servers!(
    updates_are_followed_to_a_bind_and_a_knot_secondary,
    the_ns_rrset_names_the_nameservers_to_follow
);

async fn updates_are_followed_to_a_bind_and_a_knot_secondary(kind: ServerKind) {
    let bind = Secondary::reserve(ServerKind::Bind);
    let knot = Secondary::reserve(ServerKind::Knot);
    let (bind_addr, knot_addr) = (bind.addr(), knot.addr());
    let mut lab =
        Lab::start_with_zone(kind, WEB1, |zone| zone.notify(bind_addr).notify(knot_addr)).await;
    let bind = bind.start(ZONE, lab.server.addr());
    let mut knot = knot.start(ZONE, lab.server.addr());
    let hook = WebhookReceiver::start(WebhookMode::Accept).await;
    let extra = format!(
        "http:\n  listen: 0\n\
         notify:\n  webhooks:\n    - url: \"{url}\"\n\
         propagation:\n  nameservers: [\"{bind_addr}\", \"{knot_addr}\"]\n  lagging_after: 3s\n",
        url = hook.url()
    );
    let agent = lab.agent(&lab.http_config_with(&extra));
    let address = agent.listener_address(DEADLINE);

    // web1 dies: the record moves, and both secondaries get the move.
    lab.wait_for_www(&agent, WEB1);
    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    let serial = lab.serial();
    let synced = wait_for_states(
        &agent,
        address,
        &[(bind_addr, "in_sync"), (knot_addr, "in_sync")],
        "both secondaries serve the failover",
    );
    assert_eq!(primary_serial_in_status(&synced), Some(u64::from(serial)));
    for (secondary, addr) in [(&bind, bind_addr), (&knot, knot_addr)] {
        assert_eq!(secondary.soa_serial(ZONE), Some(serial));
        assert_eq!(secondary.query(RECORD, "A"), [WEB2]);
        let seen = follower(&synced, addr).unwrap();
        assert_eq!(seen["serial"], serial);
        let took = seen["last_seconds"].as_f64().expect("timed");
        assert!((0.0..DEADLINE.as_secs_f64()).contains(&took), "{seen}");
        assert_eq!(seen["behind_since"], Value::Null);
    }
    let text = client::get(address, "/metrics");
    let metrics = exposition::parse(&text).unwrap_or_else(|why| panic!("{why}\n{text}"));
    assert_eq!(
        metrics
            .types
            .get("dnsfailover_propagation_duration_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    for addr in [bind_addr, knot_addr] {
        let labels = [("zone", ZONE), ("nameserver", &addr.to_string())];
        assert_eq!(
            metrics.value("dnsfailover_propagation_in_sync", &labels),
            Some(1.0)
        );
        assert_eq!(
            metrics.value("dnsfailover_propagation_lagging", &labels),
            Some(0.0)
        );
        assert_eq!(
            metrics.value("dnsfailover_propagation_serial", &labels),
            Some(f64::from(serial))
        );
        assert!(metrics
            .value("dnsfailover_propagation_duration_seconds_count", &labels)
            .is_some_and(|count| count >= 1.0));
    }
    assert_eq!(status_exit_code(address), Some(0));

    // The Knot secondary stops; web1 comes back: BIND's copy follows, Knot's lags.
    knot.stop();
    lab.web1.revive().await;
    lab.wait_for_www(&agent, WEB1);
    let lagging = wait_for_states(
        &agent,
        address,
        &[(bind_addr, "in_sync"), (knot_addr, "lagging")],
        "the stopped secondary lags",
    );
    let behind = follower(&lagging, knot_addr).unwrap();
    assert!(behind["behind_since"].is_string(), "{behind}");
    assert!(behind["last_error"].is_string(), "{behind}");
    assert_eq!(status_exit_code(address), Some(1), "a lagging nameserver");
    wait_until(
        DEADLINE,
        || hook.events().iter().any(|e| e == "propagation_lagging"),
        || format!("events: {:?}", hook.events()),
    );
    let event = hook
        .bodies()
        .into_iter()
        .find(|body| body["event"] == "propagation_lagging")
        .unwrap();
    assert_eq!(event["server"], knot_addr.to_string());
    assert!(event["text"].as_str().unwrap().contains(ZONE), "{event}");

    // Started again, it fetches the zone and is in sync again; one event only.
    knot.start_again();
    wait_for_states(
        &agent,
        address,
        &[(bind_addr, "in_sync"), (knot_addr, "in_sync")],
        "the restarted secondary catches up",
    );
    assert_eq!(knot.query(RECORD, "A"), [WEB1]);
    assert_eq!(status_exit_code(address), Some(0));
    let lagging_events = hook
        .events()
        .iter()
        .filter(|e| *e == "propagation_lagging")
        .count();
    assert_eq!(lagging_events, 1, "{:?}", hook.events());
}

/// Without a list, the followers are the addresses of the zone's NS RRset
/// without the primary's: here a second NS whose address nobody serves,
/// so it is found, asked, and lags.
async fn the_ns_rrset_names_the_nameservers_to_follow(kind: ServerKind) {
    const SILENT_NS: &str = "127.0.0.9";
    let mut lab = Lab::start_with_zone(kind, WEB1, |zone| {
        zone.record("@ 300 IN NS ns2")
            .record(&format!("ns2 300 IN A {SILENT_NS}"))
    })
    .await;
    let extra = "http:\n  listen: 0\npropagation:\n  lagging_after: 2s\n";
    let agent = lab.agent(&lab.http_config_with(extra));
    let address = agent.listener_address(DEADLINE);
    lab.wait_for_www(&agent, WEB1);
    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    let silent: SocketAddr = format!("{SILENT_NS}:53").parse().unwrap();
    let lagging = wait_for_states(&agent, address, &[(silent, "lagging")], "ns2 lags");
    let zone = zone_propagation(&lagging).expect("the zone is followed");
    let listed: Vec<&str> = zone["nameservers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ns| ns["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [silent.to_string()],
        "the primary (127.0.0.1) is left out"
    );
    agent.wait_for_log("has not served the update of example.test.", 1, DEADLINE);
}
