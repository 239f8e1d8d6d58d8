//! Several checks per address with the real binary against real BIND and
//! Knot: web1 and web2 each answer a `tcp` check on one port and an `http`
//! check (labelled `app`) on another. Stopping only web1's `app` listener
//! fails the record over although its TCP port still answers; /status, the
//! metrics, the log and `dnsfailover status` name `app` as the check that
//! failed; restarting it fails back. A reload that gives web2 a check of
//! its own keeps what is known of every other check, and web2 then counts
//! as up with its app dead.

// Shared with tests/observe.rs, which uses all of it.
#[allow(dead_code)]
#[path = "observe/client.rs"]
mod client;
#[path = "observe/exposition.rs"]
mod exposition;
#[macro_use]
mod support;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::{common_port, wait_until, Lab, ServerKind, WebTarget, MOVE_DEADLINE, WEB1, WEB2};

const RECORD: &str = "www.example.test.";

/// The agent's configuration: www with web1 then web2, both checked by
/// `tcp` on the lab's port and `http` on `app_port`, labelled `app`, with a
/// rise of its own; `web2_extra` is appended to web2's entry.
fn write_config(lab: &Lab, app_port: u16, web2_extra: &str) -> PathBuf {
    let path = lab.dir.path().join("checks.yaml");
    let text = format!(
        "nameserver:\n  address: {server}\n  key_file: {key}\n  timeout: 1s\n\
         defaults:\n  ttl: 15\n  interval: 200ms\n  timeout: 150ms\n  fall: 2\n  rise: 2\n\
         records:\n  - name: {RECORD}\n\
         \x20   checks:\n\
         \x20     - {{ type: tcp, port: {tcp_port} }}\n\
         \x20     - {{ type: http, port: {app_port}, path: /health, expect_body: ok, name: app, rise: 3 }}\n\
         \x20   servers:\n\
         \x20     - {{ name: web1, addresses: [{WEB1}] }}\n\
         \x20     - {{ name: web2, addresses: [{WEB2}]{web2_extra} }}\n\
         http:\n  listen: 0\n\
         control:\n  socket: {socket}\n  state_file: {state}\n",
        server = lab.server.addr(),
        key = lab.dir.path().join("agent.key").display(),
        tcp_port = lab.web1.address().port(),
        socket = lab.socket().display(),
        state = lab.state_file().display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// web1's address entry in /status.
fn web1_status(listener: SocketAddr) -> Value {
    let status: Value =
        serde_json::from_str(&client::get(listener, "/status")).expect("/status is JSON");
    status["records"][0]["servers"][0]["addresses"][0].clone()
}

/// The health of each check of web1's address in /status, by label.
fn web1_checks(address: &Value) -> Vec<(String, String)> {
    address["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|check| {
                    (
                        check["label"].as_str().unwrap_or_default().to_owned(),
                        check["health"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check_up(listener: SocketAddr, label: &str) -> Option<f64> {
    let text = client::get(listener, "/metrics");
    let metrics = exposition::parse(&text).unwrap_or_else(|why| panic!("{why}\n{text}"));
    metrics.value(
        "dnsfailover_address_check_up",
        &[
            ("record", RECORD),
            ("server", "web1"),
            ("address", WEB1),
            ("check", label),
        ],
    )
}

async fn one_failing_check_of_two_fails_the_record_over_and_back(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let addresses: Vec<IpAddr> = [WEB1, WEB2].iter().map(|a| a.parse().unwrap()).collect();
    let app_port = common_port(&addresses).await;
    let mut app1 = WebTarget::start(SocketAddr::new(addresses[0], app_port)).await;
    let mut app2 = WebTarget::start(SocketAddr::new(addresses[1], app_port)).await;
    let config = write_config(&lab, app_port, "");
    let tcp = format!("tcp:{}", lab.web1.address().port());

    // plan lists both checks and the result of each per address.
    let plan = Command::new(support::binary())
        .args(["plan", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(plan.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "checks, all must pass: {tcp} (every 200ms, timeout 150ms, fall 2, rise 2), \
             app (every 200ms, timeout 150ms, fall 2, rise 3)"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("web1 {WEB1}: up ({tcp}: ")) && stdout.contains("; app: "),
        "{stdout}"
    );

    let agent = lab.agent(&config);
    let listener = agent.listener_address(MOVE_DEADLINE);
    lab.wait_for_www(&agent, WEB1);
    wait_until(
        MOVE_DEADLINE,
        || web1_status(listener)["health"] == "up",
        || format!("web1 is not up: {}", web1_status(listener)),
    );

    // web1's app dies; its TCP port still answers.
    app1.kill();
    lab.wait_for_www(&agent, WEB2);
    let serial_after_failover = lab.serial();
    wait_until(
        MOVE_DEADLINE,
        || web1_status(listener)["health"] == "down",
        || format!("web1 is not down: {}", web1_status(listener)),
    );
    let address = web1_status(listener);
    assert_eq!(address["health"], "down", "{address}");
    assert_eq!(
        web1_checks(&address),
        [(tcp.clone(), "up".into()), ("app".into(), "down".into())],
        "{address}"
    );
    assert_eq!(address["last_check"]["passed"], false, "{address}");
    assert_eq!(check_up(listener, "app"), Some(0.0));
    assert_eq!(check_up(listener, &tcp), Some(1.0));
    let log = agent.log();
    assert!(
        log.contains(&format!(
            "health changed: {RECORD} server web1 address {WEB1}: up -> down (app failed: "
        )),
        "{log}"
    );
    let table = Command::new(support::binary())
        .args(["status", "--url", &format!("http://{listener}")])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("down (app)"), "{table}");
    assert!(table.contains("app failed: "), "{table}");

    // The app comes back: after its own rise of 3, web1 is up and takes
    // the traffic back.
    app1.revive().await;
    lab.wait_for_www(&agent, WEB1);
    assert_eq!(lab.serial(), serial_after_failover + 1, "one UPDATE back");
    wait_until(
        MOVE_DEADLINE,
        || web1_status(listener)["health"] == "up",
        || format!("web1 is not up: {}", web1_status(listener)),
    );
    let address = web1_status(listener);
    assert_eq!(address["health"], "up", "{address}");
    assert_eq!(
        web1_checks(&address),
        [(tcp, "up".into()), ("app".into(), "up".into())]
    );
    let checks = &address["checks"][1];
    let passed = checks["checks_passed"].as_u64().unwrap_or_default();
    assert!(passed >= 5, "2 + 3 rises of app at least: {address}");

    // Reload: web2 gets a tcp check of its own instead of the record's two.
    // Every check still listed keeps its state; web2's app check stops.
    let mut agent = agent;
    let own = format!(
        ", check: {{ type: tcp, port: {} }}",
        lab.web1.address().port()
    );
    write_config(&lab, app_port, &own);
    agent.hang_up();
    agent.wait_for_log("configuration reloaded", 1, MOVE_DEADLINE);
    let log = agent.log();
    assert!(
        log.contains("2 addresses, 3 checks of addresses (0 new, 1 no longer run)"),
        "only web2's app check goes: {log}"
    );
    assert_eq!(web1_status(listener)["health"], "up", "no new warm-up");
    // web2's app dies too: web2 no longer checks it, so when web1's app
    // dies again, the record still fails over to web2.
    app2.kill();
    app1.kill();
    lab.wait_for_www(&agent, WEB2);
}

against_both_servers!(one_failing_check_of_two_fails_the_record_over_and_back);
