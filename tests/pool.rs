//! `mode: all` with the real binary against real BIND and Knot: three web
//! servers published together; a dead one leaves the RRset in one UPDATE,
//! comes back in one when revived, and with all down the policy applies.

#[macro_use]
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use support::{wait_until, AgentProcess, Lab, ServerKind, WebTarget, MOVE_DEADLINE, WEB1, WEB2};

const WEB3: &str = "127.0.0.4";

/// The agent's configuration: www with web1..web3 in `mode: all`, and
/// `policy` for all down.
fn pool_config(lab: &Lab, policy: &str) -> PathBuf {
    let path = lab.dir.path().join("pool.yaml");
    let port = lab.web1.address().port();
    let text = format!(
        "nameserver:\n  address: {server}\n  key_file: {key}\n  timeout: 1s\n\
         defaults:\n  ttl: 15\n  interval: 200ms\n  timeout: 150ms\n  fall: 2\n  rise: 2\n\
         records:\n  - name: www.example.test.\n    mode: all\n    when_all_down: {policy}\n\
         \x20   check: {{ type: http, port: {port}, path: /health, expect_body: ok }}\n\
         \x20   servers:\n\
         \x20     - {{ name: web1, addresses: [{WEB1}] }}\n\
         \x20     - {{ name: web2, addresses: [{WEB2}] }}\n\
         \x20     - {{ name: web3, addresses: [{WEB3}] }}\n\
         control:\n  socket: {socket}\n  state_file: {state}\n",
        server = lab.server.addr(),
        key = lab.dir.path().join("agent.key").display(),
        socket = lab.socket().display(),
        state = lab.state_file().display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn wait_for_pool(lab: &Lab, agent: &AgentProcess, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|a| a.to_string()).collect();
    expected.sort();
    wait_until(
        MOVE_DEADLINE,
        || {
            let mut now = lab.www();
            now.sort();
            now == expected
        },
        || {
            format!(
                "www is {:?}, not {expected:?}; log:\n{}",
                lab.www(),
                agent.log()
            )
        },
    );
}

async fn a_dead_server_leaves_the_pool_in_one_update_and_comes_back(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let port = lab.web1.address().port();
    let mut web3 = WebTarget::start(SocketAddr::new(WEB3.parse().unwrap(), port)).await;
    let agent = lab.agent(&pool_config(&lab, "keep"));
    wait_for_pool(&lab, &agent, &[WEB1, WEB2, WEB3]);
    let serial = lab.serial();

    lab.web2.kill();
    wait_for_pool(&lab, &agent, &[WEB1, WEB3]);
    assert_eq!(lab.serial(), serial + 1, "one UPDATE takes web2 out");
    let log = agent.log();
    assert!(log.contains("web2 left out of the pool (down)"), "{log}");

    lab.web2.revive().await;
    wait_for_pool(&lab, &agent, &[WEB1, WEB2, WEB3]);
    assert_eq!(lab.serial(), serial + 2, "one UPDATE brings it back");

    // All down: keep leaves the last pool in DNS (what it was when the
    // last server died), and the first server back is published alone.
    lab.web1.kill();
    lab.web2.kill();
    web3.kill();
    agent.wait_for_log(
        "leaving DNS as it is (when_all_down: keep)",
        1,
        MOVE_DEADLINE,
    );
    let kept = lab.www();
    let all_down_serial = lab.serial();
    assert!(!kept.is_empty(), "never an empty RRset");
    assert!(
        kept.iter()
            .all(|a| [WEB1, WEB2, WEB3].contains(&a.as_str())),
        "{kept:?}"
    );
    lab.web1.revive().await;
    wait_for_pool(&lab, &agent, &[WEB1]);
    // (Whichever died last stayed published; if that was web1, its return
    // needs no UPDATE at all.)
    let one_if_moved = u32::from(kept != [WEB1]);
    assert_eq!(
        lab.serial(),
        all_down_serial + one_if_moved,
        "nothing sent while all down, at most one UPDATE for the first back"
    );
}

async fn all_down_first_publishes_the_first_server(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let port = lab.web1.address().port();
    let mut web3 = WebTarget::start(SocketAddr::new(WEB3.parse().unwrap(), port)).await;
    let config = pool_config(&lab, "first");
    // plan shows the whole pool and sends nothing.
    let serial = lab.serial();
    let output = Command::new(support::binary())
        .args(["plan", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for web in [WEB2, WEB3] {
        let add = format!("update add www.example.test. 15 IN A {web}");
        assert!(stdout.contains(&add), "{stdout}");
    }
    assert_eq!(lab.serial(), serial, "plan sends nothing");
    let agent = lab.agent(&config);
    wait_for_pool(&lab, &agent, &[WEB1, WEB2, WEB3]);
    lab.web1.kill();
    lab.web2.kill();
    web3.kill();
    wait_for_pool(&lab, &agent, &[WEB1]);
}

against_both_servers!(
    a_dead_server_leaves_the_pool_in_one_update_and_comes_back,
    all_down_first_publishes_the_first_server,
);
