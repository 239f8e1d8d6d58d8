//! Stopping the real binary while DNS requests hang: SIGTERM waits for them
//! at most the stop deadline (5 s) and logs what it abandons; a second
//! SIGTERM or SIGINT exits at once.

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::{AgentProcess, TestKey};

/// A nameserver that completes TCP handshakes (the kernel does, from the
/// listen backlog) and never reads or answers: every request hangs until
/// the agent's 30 s request timeout.
struct SilentNameserver {
    listener: TcpListener,
}

impl SilentNameserver {
    fn start() -> SilentNameserver {
        SilentNameserver {
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }
}

/// A directory holding a key and a configuration for a record whose reads
/// go to `nameserver`.
fn setup(nameserver: &SilentNameserver) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    TestKey::generate("agent.example.test.").write_bind_key_file(&key);
    let config = dir.path().join("dnsfailover.yaml");
    let text = format!(
        "nameserver:\n  address: {}\n  key_file: {}\n  timeout: 30s\nrecords:\n  - name: www.example.test.\n    zone: example.test.\n    check: {{ type: tcp, port: 9 }}\n    servers:\n      - {{ name: web1, addresses: [127.0.0.2] }}\ncontrol:\n  socket: {}\n  state_file: {}\n",
        nameserver.listener.local_addr().unwrap(),
        key.display(),
        dir.path().join("control.sock").display(),
        dir.path().join("state.json").display()
    );
    std::fs::write(&config, text).unwrap();
    (dir, config)
}

#[test]
fn sigterm_abandons_hanging_requests_after_the_deadline() {
    let nameserver = SilentNameserver::start();
    let (dir, config) = setup(&nameserver);
    let mut agent = AgentProcess::start(&config, &dir.path().join("agent.log"));
    agent.wait_for_log("started: checking", 1, Duration::from_secs(10));
    let signalled = Instant::now();
    agent.signal("TERM");
    let status = agent.wait_for_exit(Duration::from_secs(20));
    let took = signalled.elapsed();
    let log = agent.log();
    assert!(status.success(), "{status:?}; log:\n{log}");
    assert!(
        log.contains("stopping: abandoned a read of www.example.test. after 5 s"),
        "{log}"
    );
    assert!(log.contains("stopped"), "{log}");
    // It waited for the deadline, not for the 30 s request timeout.
    assert!(took >= Duration::from_secs(5), "stopped after {took:?}");
    assert!(took < Duration::from_secs(15), "stopped after {took:?}");
}

#[test]
fn a_second_signal_exits_at_once() {
    for (first, second, code) in [("TERM", "TERM", 143), ("TERM", "INT", 130)] {
        let nameserver = SilentNameserver::start();
        let (dir, config) = setup(&nameserver);
        let mut agent = AgentProcess::start(&config, &dir.path().join("agent.log"));
        agent.wait_for_log("started: checking", 1, Duration::from_secs(10));
        agent.signal(first);
        agent.wait_for_log(
            "finishing DNS requests in flight",
            1,
            Duration::from_secs(10),
        );
        let signalled = Instant::now();
        agent.signal(second);
        let status = agent.wait_for_exit(Duration::from_secs(10));
        let log = agent.log();
        assert_eq!(status.code(), Some(code), "{first}+{second}; log:\n{log}");
        assert!(log.contains("second signal"), "{log}");
        assert!(!log.contains("abandoned a read"), "{log}");
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "{first}+{second} took {:?}",
            signalled.elapsed()
        );
    }
}
