//! Faults of the nameserver itself, against real BIND and Knot and the real
//! agent: its zone frozen, the server killed with an UPDATE in flight, its
//! key changed, its clock two hours off either way. Each time the agent
//! changes nothing while the fault lasts, says what is wrong and how to fix
//! it, and converges with exactly one change once it is fixed. Every outcome
//! is read with `dig`; the time to converge is printed as a `figure:` line.

// Shared with tests/observe.rs, which uses all of it.
#[allow(dead_code)]
#[path = "observe/client.rs"]
mod client;
#[path = "observe/exposition.rs"]
mod exposition;
#[macro_use]
mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    binary, wait_until, AgentProcess, Lab, ServerKind, TestKey, WebhookMode, WebhookReceiver,
    MOVE_DEADLINE, WEB1, WEB2,
};

const SETTLE: &str = "nothing to send";
const RECORD: &str = "www.example.test.";
const ZONE: &str = "example.test.";
const HTTP_CHECK: &str = "{ type: http, port: PORT, path: /health, expect_body: ok }";
/// The agent retries with a backoff that doubles up to 30 s: once a fault is
/// fixed, the next attempt may be that far away (plus a loaded machine).
const CONVERGE_DEADLINE: Duration = Duration::from_secs(45);
/// Two hours: far outside TSIG's fudge, whether that is 300 s or 60 s.
const TWO_HOURS: i64 = 2 * 3600;

/// The lab's agent with the zone named (preflight reads it), the status
/// listener on a port the system picks and `extra` top-level settings;
/// returns it and the listener.
fn observed_agent_with(lab: &Lab, extra: &str) -> (AgentProcess, SocketAddr) {
    let config = lab.config(
        HTTP_CHECK,
        &format!("    zone: {ZONE}\nhttp:\n  listen: 0\n{extra}"),
    );
    let agent = lab.agent(&config);
    let listener = agent.listener_address(MOVE_DEADLINE);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    (agent, listener)
}

fn observed_agent(lab: &Lab) -> (AgentProcess, SocketAddr) {
    observed_agent_with(lab, "")
}

fn status(listener: SocketAddr) -> Value {
    serde_json::from_str(&client::get(listener, "/status")).expect("/status is JSON")
}

fn metric(listener: SocketAddr, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = client::get(listener, "/metrics");
    exposition::parse(&text)
        .unwrap_or_else(|why| panic!("{why}\n{text}"))
        .value(name, labels)
}

/// The record's `nameserver_failing` alarm in /status, once it is raised.
fn wait_for_failing_alarm(agent: &AgentProcess, listener: SocketAddr) -> Value {
    let alarm = || {
        status(listener)["records"][0]["alarms"]
            .as_array()
            .and_then(|alarms| {
                alarms
                    .iter()
                    .find(|alarm| alarm["kind"] == "nameserver_failing")
                    .cloned()
            })
    };
    wait_until(
        MOVE_DEADLINE,
        || alarm().is_some(),
        || format!("no nameserver_failing alarm; log:\n{}", agent.log()),
    );
    let alarm = alarm().expect("raised");
    let raised = metric(
        listener,
        "dnsfailover_alarm",
        &[("record", RECORD), ("kind", "nameserver_failing")],
    );
    assert_eq!(raised, Some(1.0), "the alarm is a metric too");
    alarm
}

fn wait_for_alarms_cleared(agent: &AgentProcess, listener: SocketAddr) {
    wait_until(
        MOVE_DEADLINE,
        || status(listener)["records"][0]["alarms"] == serde_json::json!([]),
        || format!("alarms stay: {}; log:\n{}", status(listener), agent.log()),
    );
}

/// The first line of the agent's log that contains `text`.
fn log_line(agent: &AgentProcess, text: &str) -> String {
    let log = agent.log();
    log.lines()
        .find(|line| line.contains(text))
        .unwrap_or_else(|| panic!("no log line with {text:?}:\n{log}"))
        .to_owned()
}

/// Asserts that DNS is as it was: web1 published, the serial unmoved, and no
/// update taken for applied.
fn assert_unchanged(lab: &Lab, agent: &AgentProcess, serial: u32) {
    assert_eq!(lab.www(), [WEB1], "log:\n{}", agent.log());
    assert_eq!(
        lab.serial(),
        serial,
        "nothing applied; log:\n{}",
        agent.log()
    );
    assert!(
        !agent.log().contains("updated www.example.test."),
        "no update is taken for applied:\n{}",
        agent.log()
    );
}

/// Waits until www publishes web2 after the fault was fixed at `fixed`;
/// asserts exactly one change and prints the time it took.
fn converges_once(lab: &Lab, agent: &AgentProcess, serial: u32, fixed: Instant, fault: &str) {
    wait_until(
        CONVERGE_DEADLINE,
        || lab.www() == [WEB2],
        || format!("www is {:?}; log:\n{}", lab.www(), agent.log()),
    );
    let took = fixed.elapsed();
    assert_eq!(
        lab.serial(),
        serial + 1,
        "exactly one change; log:\n{}",
        agent.log()
    );
    println!(
        "figure: {} {fault}: converged {:.1} s after the fix",
        lab.server.kind(),
        took.as_secs_f64()
    );
}

async fn a_frozen_zone_refuses_the_failover_until_it_is_thawed(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let webhook = WebhookReceiver::start(WebhookMode::Accept).await;
    let notify = format!(
        "notify:\n  webhooks:\n    - {{ url: \"{}\" }}\n",
        webhook.url()
    );
    let (agent, listener) = observed_agent_with(&lab, &notify);
    let serial = lab.serial();
    lab.server.freeze_zone(ZONE);
    lab.web1.kill();
    // Refused at once, not queued, by both (Knot 3.2 too, with one update
    // waiting); and again on each retry.
    agent.wait_for_log("(REFUSED)", 3, MOVE_DEADLINE);
    let refused = log_line(&agent, "(REFUSED)");
    assert!(
        refused.contains("ERROR") && refused.contains("frozen") && refused.contains("thaw"),
        "the message names the frozen zone and the fix: {refused}"
    );
    let alarm = wait_for_failing_alarm(&agent, listener);
    assert!(
        alarm["detail"]
            .as_str()
            .is_some_and(|d| d.contains("REFUSED")),
        "{alarm}"
    );
    // The reads between the attempts work, but do not end the streak: the
    // backoff grows and the alarm counts the refusals.
    let counted = || {
        let alarms = status(listener)["records"][0]["alarms"].to_string();
        ["2 failure(s)", "3 failure(s)", "4 failure(s)"]
            .iter()
            .any(|count| alarms.contains(count))
    };
    wait_until(MOVE_DEADLINE, counted, || {
        format!("{}; log:\n{}", status(listener), agent.log())
    });
    let refusals = metric(
        listener,
        "dnsfailover_updates_total",
        &[("zone", ZONE), ("result", "REFUSED")],
    );
    assert!(refusals.is_some_and(|n| n >= 2.0), "{refusals:?}");
    assert_eq!(
        status(listener)["records"][0]["last_update"]["succeeded"],
        false
    );
    assert_unchanged(&lab, &agent, serial);

    lab.server.thaw_zone(ZONE);
    converges_once(&lab, &agent, serial, Instant::now(), "zone frozen");
    wait_for_alarms_cleared(&agent, listener);
    wait_until(
        MOVE_DEADLINE,
        || {
            webhook
                .events()
                .last()
                .is_some_and(|kind| kind == "failover")
        },
        || format!("events {:?}; log:\n{}", webhook.events(), agent.log()),
    );
    assert_eq!(
        webhook.events(),
        ["update_failed", "nameserver_recovered", "failover"],
        "one failure event, one recovery, once the update works"
    );
}

/// Bytes that reached `server`'s TCP port and that no process has read.
fn bytes_waiting_at(server: SocketAddr) -> usize {
    let output = Command::new("ss")
        .args(["-Htn", "state", "established", "sport", "="])
        .arg(format!(":{}", server.port()))
        .output()
        .expect("ss (iproute2) runs");
    // With a state given, the first column is Recv-Q.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.parse::<usize>().ok())
        .sum()
}

async fn a_server_killed_with_the_request_unanswered_converges_once(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let agent = lab.agent(&lab.http_config());
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();
    // Paused, the server's kernel still takes the agent's request (the SOA
    // query every UPDATE starts with, or the UPDATE); then it dies without
    // reading it, so the answer never comes.
    lab.server.pause();
    lab.web1.kill();
    wait_until(
        MOVE_DEADLINE,
        || bytes_waiting_at(lab.server.addr()) > 0,
        || format!("no request reached the server; log:\n{}", agent.log()),
    );
    lab.server.kill();
    agent.wait_for_log("failed, will retry", 1, MOVE_DEADLINE);
    let failed = log_line(&agent, "failed, will retry");
    assert!(
        failed.contains("closed the tcp connection before answering"),
        "the request died with the server: {failed}"
    );
    lab.server.restart();
    assert_eq!(lab.www(), [WEB1], "the server never applied it");
    assert_eq!(lab.serial(), serial);
    converges_once(&lab, &agent, serial, Instant::now(), "server killed");
}

async fn a_key_changed_on_the_server_is_never_taken_for_success(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let (agent, listener) = observed_agent(&lab);
    let serial = lab.serial();
    let rotated = TestKey::generate(&lab.key.name);
    lab.server.replace_key(rotated.clone());
    lab.server.restart();
    lab.web1.kill();
    agent.wait_for_log("claims BADSIG", 2, MOVE_DEADLINE);
    let line = log_line(&agent, "claims BADSIG");
    assert!(
        line.contains("secret") && line.contains("copy the key file"),
        "says the key does not match and how to fix it: {line}"
    );
    let alarm = wait_for_failing_alarm(&agent, listener);
    assert!(
        alarm["detail"]
            .as_str()
            .is_some_and(|d| d.contains("BADSIG")),
        "{alarm}"
    );
    assert_unchanged(&lab, &agent, serial);

    rotated.write_bind_key_file(&lab.dir.path().join("agent.key"));
    let config = lab.dir.path().join("dnsfailover.yaml");
    let reload = Command::new(binary())
        .args(["reload", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(reload.status.success(), "{reload:?}");
    converges_once(&lab, &agent, serial, Instant::now(), "key changed");
    wait_for_alarms_cleared(&agent, listener);
}

/// The seconds after `label` in `line` (`... the server's time is 1796... `).
fn seconds_after(line: &str, label: &str) -> i64 {
    let rest = &line[line
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {line}"))
        + label.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a number after {label:?} in {line}"))
}

/// The server's clock `offset` seconds off: BADTIME with both times on every
/// attempt and in preflight, nothing changed; converges once it is right.
async fn badtime_until_the_clock_is_fixed(kind: ServerKind, offset: i64) {
    let mut lab = Lab::start(kind, WEB1).await;
    let (agent, _listener) = observed_agent(&lab);
    let serial = lab.serial();
    lab.server.set_clock_offset(offset);
    lab.server.restart();
    lab.web1.kill();
    agent.wait_for_log("clock skew between this host and", 2, MOVE_DEADLINE);
    let line = log_line(&agent, "clock skew between this host and");
    let server_time = seconds_after(&line, "the server's time is ");
    let local_time = seconds_after(&line, "ours is ");
    assert!(
        (server_time - local_time - offset).abs() < 60,
        "both times, {offset:+} s apart: {line}"
    );
    assert!(line.contains("NTP"), "the fix: {line}");
    assert_unchanged(&lab, &agent, serial);

    let config = lab.dir.path().join("dnsfailover.yaml");
    let preflight = Command::new(binary())
        .args(["preflight", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&preflight.stdout);
    assert!(!preflight.status.success(), "{report}");
    let clock = report
        .lines()
        .find(|line| line.contains(&format!(" {ZONE} clock:")))
        .unwrap_or_else(|| panic!("no clock line:\n{report}"));
    assert!(
        clock.starts_with("FAIL") && clock.contains("clock skew") && clock.contains("NTP"),
        "{clock}"
    );
    let skew = seconds_after(clock, "the server's time is ") - seconds_after(clock, "ours is ");
    assert!((skew - offset).abs() < 60, "{clock}");
    assert_eq!(lab.serial(), serial, "preflight changes nothing");

    lab.server.set_clock_offset(0);
    lab.server.restart();
    let fault = format!("clock {:+} h", offset / 3600);
    converges_once(&lab, &agent, serial, Instant::now(), &fault);
}

async fn a_server_clock_two_hours_ahead_is_badtime(kind: ServerKind) {
    badtime_until_the_clock_is_fixed(kind, TWO_HOURS).await;
}

async fn a_server_clock_two_hours_behind_is_badtime(kind: ServerKind) {
    badtime_until_the_clock_is_fixed(kind, -TWO_HOURS).await;
}

against_both_servers!(
    a_frozen_zone_refuses_the_failover_until_it_is_thawed,
    a_server_killed_with_the_request_unanswered_converges_once,
    a_key_changed_on_the_server_is_never_taken_for_success,
    a_server_clock_two_hours_ahead_is_badtime,
    a_server_clock_two_hours_behind_is_badtime,
);
