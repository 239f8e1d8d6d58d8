//! Manual overrides through the control socket, against real BIND and
//! Knot: drain, pin, release, manual failback, expiry, a restart, the
//! socket's permissions and reload. Every outcome is read with `dig`.

#[macro_use]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::{binary, wait_until, Lab, ServerKind, MOVE_DEADLINE, WEB1, WEB2};

const SETTLE: &str = "nothing to send";
const HTTP_CHECK: &str = "{ type: http, port: PORT, path: /health, expect_body: ok }";

/// Runs `dnsfailover ARGS --config CONFIG` and returns its output.
fn ctl(config: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("dnsfailover runs")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a control command and asserts its exit code.
fn expect(config: &Path, args: &[&str], code: i32) -> Output {
    let output = ctl(config, args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}: {}",
        text(&output)
    );
    output
}

async fn drain_moves_the_record_and_release_brings_it_back(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let config = lab.http_config();
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let serial = lab.serial();
    expect(&config, &["drain", "web1", "--reason", "kernel update"], 0);
    lab.wait_for_www(&agent, WEB2);
    let listed = expect(&config, &["overrides"], 0);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("drain") && listed.contains("web1") && listed.contains("kernel update"),
        "{listed}"
    );
    agent.wait_for_log(
        "override set: web1 drained in every record until released (by uid 0: kernel update)",
        1,
        MOVE_DEADLINE,
    );
    let refused = expect(&config, &["drain", "web9"], 1);
    assert!(
        text(&refused).contains("no record has a server web9"),
        "{}",
        text(&refused)
    );
    expect(&config, &["release", "web1"], 0);
    lab.wait_for_www(&agent, WEB1);
    assert_eq!(lab.serial(), serial + 2, "one update each way");
    expect(&config, &["release", "web1"], 1);
}

async fn a_pin_publishes_its_server_although_the_first_is_up(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let config = lab.http_config();
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    expect(
        &config,
        &["pin", "www.example.test", "web2", "--reason", "test web2"],
        0,
    );
    lab.wait_for_www(&agent, WEB2);
    agent.wait_for_log("pinned by uid 0: test web2", 1, MOVE_DEADLINE);
    expect(&config, &["pin", "nowhere.example.test", "web2"], 1);
    expect(&config, &["release", "www.example.test."], 0);
    lab.wait_for_www(&agent, WEB1);
}

async fn manual_failback_waits_for_the_operator(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let config = lab.config(HTTP_CHECK, "    failback: manual\n");
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    lab.web1.revive().await;
    agent.wait_for_log(
        &format!("web1 address {WEB1}: down -> up"),
        1,
        MOVE_DEADLINE,
    );
    // Decided with web1 up: the record stays where it failed over to, for
    // as long as we look (an automatic failback takes well under a second).
    let watched = std::time::Instant::now();
    while watched.elapsed() < Duration::from_secs(2) {
        assert_eq!(
            lab.www(),
            [WEB2],
            "stays on the backup; log:\n{}",
            agent.log()
        );
    }
    expect(&config, &["failback", "www.example.test"], 0);
    lab.wait_for_www(&agent, WEB1);
}

async fn a_drain_for_two_seconds_ends_by_itself(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let config = lab.http_config();
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    expect(&config, &["drain", "web1", "--for", "2s"], 0);
    lab.wait_for_www(&agent, WEB2);
    lab.wait_for_www(&agent, WEB1);
    agent.wait_for_log("override expired: web1 drained", 1, MOVE_DEADLINE);
    let listed = expect(&config, &["overrides"], 0);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "no overrides\n");
}

async fn overrides_survive_a_restart(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let config = lab.http_config();
    let mut agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    expect(&config, &["drain", "web1", "--reason", "restart test"], 0);
    lab.wait_for_www(&agent, WEB2);
    assert!(agent.terminate().success());
    let state = std::fs::read_to_string(lab.state_file()).expect("state file");
    assert!(state.contains("restart test"), "{state}");
    let serial = lab.serial();
    let agent = lab.agent(&config);
    agent.wait_for_log("override restored from", 1, MOVE_DEADLINE);
    agent.wait_for_log(SETTLE, 2, MOVE_DEADLINE);
    assert_eq!(lab.www(), [WEB2], "still drained after the restart");
    assert_eq!(lab.serial(), serial, "nothing sent");
    expect(&config, &["release", "web1"], 0);
    lab.wait_for_www(&agent, WEB1);
}

async fn reload_over_the_socket_applies_a_changed_file(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let config = lab.http_config();
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, original.replace("ttl: 15", "ttl: 20")).unwrap();
    let applied = expect(&config, &["reload"], 0);
    assert!(text(&applied).contains("applied"), "{}", text(&applied));
    wait_until(
        MOVE_DEADLINE,
        || lab.server.query_ttl("www.example.test.", "A") == Some(20),
        || format!("the TTL did not change; log:\n{}", agent.log()),
    );
    // The client reads only what it needs; the agent also loads the key.
    std::fs::write(&config, original.replace("agent.key", "missing.key")).unwrap();
    let refused = expect(&config, &["reload"], 1);
    assert!(
        text(&refused).contains("reload refused"),
        "{}",
        text(&refused)
    );
    assert!(text(&refused).contains("missing.key"), "{}", text(&refused));
}

against_both_servers!(
    drain_moves_the_record_and_release_brings_it_back,
    a_pin_publishes_its_server_although_the_first_is_up,
    manual_failback_waits_for_the_operator,
    a_drain_for_two_seconds_ends_by_itself,
    overrides_survive_a_restart,
    reload_over_the_socket_applies_a_changed_file,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_uid_is_refused_and_a_live_socket_is_not_taken() {
    let lab = Lab::start(ServerKind::Bind, WEB1).await;
    let config = lab.http_config();
    let agent = lab.agent(&config);
    agent.wait_for_log(SETTLE, 1, MOVE_DEADLINE);
    // Let the other user read the configuration, so that only the socket stops it.
    std::fs::set_permissions(lab.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mode = std::fs::metadata(lab.socket())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660, "the socket's mode");
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", binary()])
        .args(["drain", "web1", "--config"])
        .arg(&config)
        .output()
        .expect("setpriv runs");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("permission denied") && said.contains("control.sock"),
        "{said}"
    );
    assert!(said.contains("group"), "{said}");
    assert_eq!(lab.www(), [WEB1]);
    // A second agent with the same socket refuses to start.
    let second = Command::new(binary())
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        text(&second).contains("in use by a running agent"),
        "{}",
        text(&second)
    );
    expect(&config, &["overrides"], 0);
}

#[test]
fn no_agent_on_the_socket_is_exit_code_two() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dnsfailover.yaml");
    let socket = dir.path().join("control.sock");
    std::fs::write(
        &config,
        format!(
            "nameserver: {{ address: 127.0.0.1, key_file: /nonexistent }}\n\
             records: [{{ name: www.example.test, check: {{ type: tcp, port: 1 }}, servers: [{{ name: a, addresses: [192.0.2.1] }}] }}]\n\
             control: {{ socket: {} }}\n",
            socket.display()
        ),
    )
    .unwrap();
    let output = ctl(&config, &["overrides"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains(&socket.display().to_string()),
        "{}",
        text(&output)
    );
    let output = ctl(&config, &["drain", "a", "--for", "soon"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}
