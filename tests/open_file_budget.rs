//! More addresses than the open-file limit has room to keep connections
//! for: the agent keeps as many as its budget allows and checks the others
//! without keeping theirs, so that no check fails for want of a descriptor
//! (which would report a healthy server as down). Real binary, real BIND.

// Only part of the client is used here.
#[allow(dead_code)]
#[path = "observe/client.rs"]
mod client;
#[path = "observe/exposition.rs"]
mod exposition;
#[macro_use]
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::{wait_until, AgentProcess, Lab, ServerKind, WEB1};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Servers of the record, each with one address of its own.
const SERVERS: usize = 600;
/// The agent's soft and hard open-file limits: room for fewer kept
/// connections (400 less the 256-descriptor reserve) than addresses.
const OPEN_FILE_LIMIT: u64 = 400;
const KEPT_BUDGET: f64 = 144.0;
const DEADLINE: Duration = Duration::from_secs(30);

fn address(index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        91 + (index / 250) as u8,
        1 + (index % 250) as u8,
    ))
}

/// Accepts on every address at `port` and holds each connection until the
/// agent closes it, as a server does.
async fn listen_everywhere(port: u16) {
    for index in 0..SERVERS {
        let listener = TcpListener::bind(SocketAddr::new(address(index), port))
            .await
            .expect("a listener on a loopback address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 64];
                    while matches!(stream.read(&mut buffer).await, Ok(read) if read > 0) {}
                });
            }
        });
    }
}

fn config(lab: &Lab, port: u16) -> std::path::PathBuf {
    let servers: String = (0..SERVERS)
        .map(|index| {
            format!(
                "      - {{ name: s{index}, addresses: [{}] }}\n",
                address(index)
            )
        })
        .collect();
    let path = lab.dir.path().join("many.yaml");
    let text = format!(
        "nameserver:\n  address: {server}\n  key_file: {key}\n  timeout: 1s\n\
         defaults:\n  ttl: 15\n  interval: 1s\n  timeout: 500ms\n  fall: 1\n  rise: 1\n\
         records:\n  - name: www.example.test.\n    takeover: true\n    check: {{ type: tcp, port: {port} }}\n\
         \x20   servers:\n{servers}\
         http:\n  listen: 127.0.0.1:0\n\
         control:\n  socket: {socket}\n  state_file: {state}\n",
        server = lab.server.addr(),
        key = lab.dir.path().join("agent.key").display(),
        socket = lab.socket().display(),
        state = lab.state_file().display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn kept(listen: SocketAddr) -> (Option<f64>, Option<f64>) {
    let text = client::get(listen, "/metrics");
    let metrics = exposition::parse(&text).unwrap_or_else(|why| panic!("{why}\n{text}"));
    (
        metrics.value("dnsfailover_kept_connections", &[]),
        metrics.value("dnsfailover_kept_connections_limit", &[]),
    )
}

async fn connections_beyond_the_budget_are_not_kept(kind: ServerKind) {
    let lab = Lab::start(kind, WEB1).await;
    let addresses: Vec<IpAddr> = (0..SERVERS).map(address).collect();
    let port = support::common_port(&addresses).await;
    listen_everywhere(port).await;
    let log = lab.dir.path().join("many.log");
    let agent =
        AgentProcess::start_with_open_file_limit(&config(&lab, port), &log, OPEN_FILE_LIMIT);
    let first = address(0).to_string();
    lab.wait_for_www(&agent, &first);
    let listen = agent.listener_address(DEADLINE);
    // The budget fills up and stays full.
    wait_until(
        DEADLINE,
        || kept(listen).0 == Some(KEPT_BUDGET),
        || format!("kept connections {:?}; log:\n{}", kept(listen), agent.log()),
    );
    agent.wait_for_log(
        "connections are kept open for at most 144 of them",
        1,
        DEADLINE,
    );
    // Three more rounds of checks of every address.
    let before = checks_passed(listen);
    wait_until(
        DEADLINE,
        || checks_passed(listen) >= before + 3.0 * SERVERS as f64,
        || format!("checks did not go on; log:\n{}", agent.log()),
    );
    let log = agent.log();
    assert!(!log.contains("-> down"), "no address may go down:\n{log}");
    assert!(
        !log.contains("open files"),
        "no check may run out of descriptors:\n{log}"
    );
    assert_eq!(kept(listen), (Some(KEPT_BUDGET), Some(KEPT_BUDGET)));
    assert_eq!(lab.www(), vec![first]);
}

/// Checks passed so far, summed over every server of the record.
fn checks_passed(listen: SocketAddr) -> f64 {
    let text = client::get(listen, "/metrics");
    let metrics = exposition::parse(&text).unwrap_or_else(|why| panic!("{why}\n{text}"));
    (0..SERVERS)
        .filter_map(|index| {
            let server = format!("s{index}");
            metrics.value(
                "dnsfailover_checks_total",
                &[
                    ("record", "www.example.test."),
                    ("server", &server),
                    ("result", "passed"),
                ],
            )
        })
        .sum()
}

against_both_servers!(connections_beyond_the_budget_are_not_kept);
