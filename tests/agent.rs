//! The real `dnsfailover` binary against real BIND and Knot, watching
//! in-process web servers on 127.0.0.x. Every outcome is read with `dig`.

#[macro_use]
mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine;

use support::{
    wait_until, AgentProcess, Lab, ServerKind, TestKey, WebTarget, WebhookMode, WebhookReceiver,
    MOVE_DEADLINE, WEB1, WEB2,
};

const SETTLE: &str = "nothing to send";

async fn fails_over_when_the_primary_dies_and_fails_back(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let agent = lab.agent(&lab.http_config());
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();

    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    assert_eq!(
        lab.server.query_ttl("www.example.test.", "A"),
        Some(15),
        "the configured TTL"
    );
    lab.web1.revive().await;
    lab.wait_for_www(&agent, WEB1);
    assert_eq!(lab.serial(), serial + 2, "exactly one update each way");
    let log = agent.log();
    assert!(log.contains("failback"), "the reason is logged:\n{log}");
    // Each text line says each fact once: no field repeats the sentence.
    let moved = log
        .lines()
        .find(|line| line.contains("updated www.example.test. A"))
        .expect("an update line");
    assert!(
        moved.contains("server web2") && !moved.contains("record="),
        "{moved}"
    );
    let changed = log
        .lines()
        .find(|line| line.contains("health changed"))
        .expect("a health line");
    assert!(
        !changed.contains("address=") && !changed.contains("to="),
        "{changed}"
    );
}

async fn the_failover_ttl_is_published_while_failed_over(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let config = lab.config(
        "{ type: http, port: PORT, path: /health, expect_body: ok }",
        "    failover_ttl: 5\n",
    );
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();
    let ttl = || lab.server.query_ttl("www.example.test.", "A");
    assert_eq!(ttl(), Some(15), "the first server at the normal TTL");

    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    assert_eq!(ttl(), Some(5), "failed over: the failover TTL");
    lab.web1.revive().await;
    lab.wait_for_www(&agent, WEB1);
    assert_eq!(ttl(), Some(15), "failed back: the normal TTL again");
    assert_eq!(lab.serial(), serial + 2, "the TTL rides with each move");
}

async fn a_frozen_server_is_caught_by_the_http_check(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let agent = lab.agent(&lab.http_config());
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    lab.web1.freeze();
    lab.wait_for_www(&agent, WEB2);
}

async fn all_down_keeps_dns_as_it_is(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let agent = lab.agent(&lab.http_config());
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();
    lab.web2.kill();
    agent.wait_for_log("web2 address 127.0.0.3: up -> down", 1, MOVE_DEADLINE);
    lab.web1.kill();
    agent.wait_for_log("every server is down", 1, MOVE_DEADLINE);
    assert_eq!(lab.www(), [WEB1]);
    assert_eq!(lab.serial(), serial);
}

async fn a_restart_with_correct_dns_sends_nothing(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let config = lab.http_config();
    let serial = lab.serial();
    let mut first = lab.agent(&config);
    first.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    assert!(
        first.terminate().success(),
        "SIGTERM ends the agent with status 0"
    );
    let second = lab.agent(&config);
    second.wait_for_log(SETTLE, 2, MOVE_DEADLINE);
    assert_eq!(
        lab.serial(),
        serial,
        "no update was sent:\n{}",
        second.log()
    );
}

async fn converges_with_one_update_after_a_nameserver_outage(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let agent = lab.agent(&lab.http_config());
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();
    lab.server.stop();
    lab.web1.kill();
    agent.wait_for_log("failed, will retry", 1, MOVE_DEADLINE);
    lab.server.restart();
    lab.wait_for_www(&agent, WEB2);
    assert_eq!(
        lab.serial(),
        serial + 1,
        "exactly one effective update:\n{}",
        agent.log()
    );
}

async fn someone_elses_address_is_not_overwritten_without_takeover(kind: ServerKind) {
    let lab = Lab::start(kind, "198.51.100.7").await;
    let check = "{ type: tcp, port: PORT }";
    let agent = lab.agent(&lab.config(check, ""));
    agent.wait_for_log("someone else edited it", 1, MOVE_DEADLINE);
    assert_eq!(lab.www(), ["198.51.100.7"]);
    drop(agent);
    let agent = lab.agent(&lab.config(check, "    takeover: true\n"));
    lab.wait_for_www(&agent, WEB1);
}

async fn each_family_follows_its_own_addresses(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let v6_address = SocketAddr::new("::1".parse().unwrap(), lab.web1.address().port());
    let _web1_v6 = WebTarget::start(v6_address).await;
    assert!(lab
        .server
        .nsupdate(&lab.key, "update add www.example.test. 15 AAAA ::1")
        .status
        .success());
    let path = lab.config("{ type: tcp, port: PORT }", "");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[127.0.0.2]", "[127.0.0.2, \"::1\"]");
    std::fs::write(&path, text).unwrap();
    let agent = lab.agent(&path);
    agent.wait_for_log(SETTLE, 2, MOVE_DEADLINE);
    let serial = lab.serial();
    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    assert_eq!(
        lab.server.query("www.example.test.", "AAAA"),
        ["::1"],
        "web1's IPv6 side is still up"
    );
    assert_eq!(lab.serial(), serial + 1);
}

async fn the_secret_never_reaches_the_log_even_at_trace_level(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let log = lab.dir.path().join("trace.log");
    let agent = AgentProcess::start_logging(&lab.http_config(), &log, "trace");
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    let text = agent.log();
    assert!(text.contains("TRACE"), "trace logging was on");
    assert!(!text.contains(&lab.key.secret), "the base64 secret leaked");
    let secret = base64::engine::general_purpose::STANDARD
        .decode(&lab.key.secret)
        .unwrap();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        !text.to_lowercase().contains(&hex),
        "the secret leaked as hex"
    );
}

async fn plan_prints_the_update_and_sends_nothing(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    lab.web1.kill();
    let serial = lab.serial();
    let output = Command::new(support::binary())
        .arg("plan")
        .arg("--config")
        .arg(lab.http_config())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("web1 127.0.0.2: down"), "{stdout}");
    assert!(
        stdout.contains("prereq yxrrset www.example.test. IN A 127.0.0.2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("update add www.example.test. 15 IN A 127.0.0.3"),
        "{stdout}"
    );
    assert_eq!(lab.serial(), serial, "plan sends nothing");
    assert_eq!(lab.www(), [WEB1]);
}

/// The `api` record, after the `www` record of [`Lab::config`].
fn api_record(servers: &str, extra: &str) -> String {
    format!("  - name: api.example.test.\n    check: {{ type: http, port: PORT, path: /health, expect_body: ok }}\n    servers: {servers}\n{extra}")
}

async fn a_reload_with_a_broken_file_keeps_the_running_configuration(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let config = lab.http_config();
    let mut agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("timeout: 1s", "timeout: soon")).unwrap();
    agent.hang_up();
    agent.wait_for_log("reload refused", 1, MOVE_DEADLINE);
    let log = agent.log();
    let refused = log.lines().find(|l| l.contains("reload refused")).unwrap();
    assert!(
        refused.contains("nameserver.timeout"),
        "the problem is located: {refused}"
    );
    assert_eq!(lab.serial(), serial, "nothing sent");
    // The running configuration still works.
    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    assert_eq!(lab.serial(), serial + 1);
}

async fn a_reload_adds_removes_and_changes_exactly_what_it_says(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let mut agent = lab.agent(&lab.http_config());
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();
    let api = || lab.server.query("api.example.test.", "A");

    // Add api, web2 first: one update, www untouched and not warmed up again.
    let servers =
        format!("[{{ name: web2, addresses: [{WEB2}] }}, {{ name: web1, addresses: [{WEB1}] }}]");
    let port = lab.web1.address().port().to_string();
    lab.config(
        "{ type: http, port: PORT, path: /health, expect_body: ok }",
        &api_record(&servers, "").replace("PORT", &port),
    );
    agent.hang_up();
    agent.wait_for_log("configuration reloaded", 1, MOVE_DEADLINE);
    wait_until(
        MOVE_DEADLINE,
        || api() == [WEB2],
        || format!("api is {:?}; log:\n{}", api(), agent.log()),
    );
    assert_eq!(lab.serial(), serial + 1, "one update, for api");
    let www_warmups = agent
        .log()
        .matches("www.example.test. server web1 address 127.0.0.2: unknown -> up")
        .count();
    assert_eq!(www_warmups, 1, "www kept its health");

    // Remove www; move api's web2 to another address (taking over the old one).
    let path = lab.dir.path().join("dnsfailover.yaml");
    let text = format!(
        "nameserver:\n  address: {}\n  key_file: {}\n  timeout: 1s\ndefaults:\n  ttl: 15\n  interval: 200ms\n  timeout: 150ms\n  fall: 2\n  rise: 2\nrecords:\n{}",
        lab.server.addr(),
        lab.dir.path().join("agent.key").display(),
        api_record(&format!("[{{ name: web2, addresses: [{WEB1}] }}]"), "    takeover: true\n")
            .replace("PORT", &lab.web1.address().port().to_string()),
    );
    std::fs::write(&path, text).unwrap();
    agent.hang_up();
    agent.wait_for_log("configuration reloaded", 2, MOVE_DEADLINE);
    wait_until(
        MOVE_DEADLINE,
        || api() == [WEB1],
        || format!("api is {:?}; log:\n{}", api(), agent.log()),
    );
    assert_eq!(
        lab.serial(),
        serial + 2,
        "one update, for api's new address"
    );

    // www is no longer managed: its server dying changes nothing.
    lab.web1.kill();
    agent.wait_for_log("every server is down", 1, MOVE_DEADLINE);
    assert_eq!(lab.www(), [WEB1]);
    assert_eq!(lab.serial(), serial + 2);
}

async fn a_reload_rereads_the_key(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let key_path = lab.dir.path().join("agent.key");
    TestKey::generate(&lab.key.name).write_bind_key_file(&key_path);
    let serial = lab.serial();
    lab.web1.kill();
    let mut agent = lab.agent(&lab.http_config());
    agent.wait_for_log("BADSIG", 2, MOVE_DEADLINE);
    assert_eq!(lab.www(), [WEB1], "the wrong secret changes nothing");
    lab.key.write_bind_key_file(&key_path);
    agent.hang_up();
    lab.wait_for_www(&agent, WEB2);
    assert_eq!(lab.serial(), serial + 1);
}

/// A command hook that appends one line per event (from its environment)
/// and the JSON it reads on its standard input.
fn hook_script(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let script = dir.join("hook.sh");
    let lines = dir.join("hook.lines");
    let json = dir.join("hook.json");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$DNSFAILOVER_EVENT $DNSFAILOVER_RECORD $DNSFAILOVER_FAMILY from=$DNSFAILOVER_FROM to=$DNSFAILOVER_TO\" >> {}\ncat >> {}\necho >> {}\n",
            lines.display(),
            json.display(),
            json.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();
    (script, lines, json)
}

async fn events_reach_a_webhook_and_a_command_in_order(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let receiver = WebhookReceiver::start(WebhookMode::Accept).await;
    let (script, lines, json) = hook_script(lab.dir.path());
    let notify = format!(
        "notify:\n  webhooks:\n    - {{ url: \"{}\", timeout: 2s }}\n  command:\n    run: [{}]\n    timeout: 5s\n",
        receiver.url(),
        script.display()
    );
    let config = lab.http_config_with(&notify);
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);

    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    lab.web2.kill();
    agent.wait_for_log("every server is down", 1, MOVE_DEADLINE);
    lab.web2.revive().await;
    agent.wait_for_log("no longer all down", 1, MOVE_DEADLINE);
    lab.web1.revive().await;
    lab.wait_for_www(&agent, WEB1);

    let expected = ["failover", "all_down", "recovered", "failback"];
    wait_until(
        MOVE_DEADLINE,
        || receiver.events() == expected,
        || format!("webhook got {:?}; log:\n{}", receiver.events(), agent.log()),
    );
    let bodies = receiver.bodies();
    let failover = &bodies[0];
    assert_eq!(failover["record"], "www.example.test.");
    assert_eq!(failover["family"], "A");
    assert_eq!(
        (failover["from"].as_str(), failover["to"].as_str()),
        (Some("web1"), Some("web2"))
    );
    assert!(
        failover["text"]
            .as_str()
            .is_some_and(|text| text.contains("failed over from web1 to web2")),
        "{failover}"
    );
    assert!(failover["time"].is_string() && failover["agent"].is_string());
    let hook_lines = || std::fs::read_to_string(&lines).unwrap_or_default();
    wait_until(
        MOVE_DEADLINE,
        || hook_lines().lines().count() == expected.len(),
        || format!("hook wrote:\n{}", hook_lines()),
    );
    let seen: Vec<String> = hook_lines()
        .lines()
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected, "the hook sees the events in order");
    assert!(hook_lines().starts_with("failover www.example.test. A from=web1 to=web2"));
    let first_json = std::fs::read_to_string(&json).unwrap();
    let first: serde_json::Value =
        serde_json::from_str(first_json.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "failover");
    assert!(
        !agent.log().contains("not-logged"),
        "the webhook's query (a token) is never logged"
    );
}

async fn a_hanging_webhook_does_not_delay_failover(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let mut plain = lab.agent(&lab.http_config());
    plain.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    lab.web1.kill();
    let without = lab.wait_for_www(&plain, WEB2);
    lab.web1.revive().await;
    lab.wait_for_www(&plain, WEB1);
    plain.terminate();

    let receiver = WebhookReceiver::start(WebhookMode::Hang).await;
    let notify = format!(
        "notify:\n  webhooks:\n    - {{ url: \"{}\", timeout: 30s, retries: 0 }}\n",
        receiver.url()
    );
    let config = lab.http_config_with(&notify);
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 2, MOVE_DEADLINE);
    lab.web1.kill();
    let with = lab.wait_for_www(&agent, WEB2);
    lab.web1.revive().await;
    let back = lab.wait_for_www(&agent, WEB1);
    assert!(
        with < without + Duration::from_secs(1),
        "failover took {with:?} with a hanging webhook, {without:?} without"
    );
    assert!(back < Duration::from_secs(10), "failback took {back:?}");
}

against_both_servers!(
    fails_over_when_the_primary_dies_and_fails_back,
    the_failover_ttl_is_published_while_failed_over,
    a_frozen_server_is_caught_by_the_http_check,
    all_down_keeps_dns_as_it_is,
    a_restart_with_correct_dns_sends_nothing,
    converges_with_one_update_after_a_nameserver_outage,
    someone_elses_address_is_not_overwritten_without_takeover,
    each_family_follows_its_own_addresses,
    the_secret_never_reaches_the_log_even_at_trace_level,
    plan_prints_the_update_and_sends_nothing,
    events_reach_a_webhook_and_a_command_in_order,
    a_reload_with_a_broken_file_keeps_the_running_configuration,
    a_reload_adds_removes_and_changes_exactly_what_it_says,
    a_reload_rereads_the_key,
    a_hanging_webhook_does_not_delay_failover,
);

#[test]
fn check_config_reports_each_problem_with_its_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        "nameserver:\n  address: ns.example.test\n  key_file: /nonexistent.key\nrecords:\n  - name: www.example.test.\n    servers: []\n    check: { type: tcp, port: 80 }\n",
    )
    .unwrap();
    let output = Command::new(support::binary())
        .arg("check-config")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = path.display().to_string();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&format!("{file}:2:")) && l.contains("nameserver.address")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&format!("{file}:6:")) && l.contains("records[0].servers")),
        "{stderr}"
    );
}
