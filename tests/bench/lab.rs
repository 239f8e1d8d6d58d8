//! The failover lab: a real `named` serving `www.bench.test.`, two web
//! servers (child processes) on 127.0.77.2 and 127.0.77.3 sharing one port,
//! and the files the agent and the baseline script need.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::children::{register_pid, ChildProcess};
use crate::dnswatch::DnsWatch;
use crate::support::{Grant, NameServer, ServerKind, TestKey, ZoneSpec};
use crate::target::WebTarget;

/// The preferred server.
pub const PRIMARY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 77, 2));
/// The fallback server.
pub const SECONDARY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 77, 3));
/// The record that fails over.
pub const NAME: &str = "www.bench.test.";
/// The zone it lives in.
pub const ZONE: &str = "bench.test.";
/// TTL of the record.
pub const TTL: u32 = 15;

/// Ports tried for the web servers: below Linux's ephemeral range.
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// Everything a failover run needs.
pub struct Lab {
    pub server: NameServer,
    pub primary: WebTarget,
    pub secondary: WebTarget,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// Starts `named` (www at the primary) and both web servers.
    pub fn start() -> Lab {
        let key = TestKey::generate("bench-key");
        let zone = ZoneSpec::new(ZONE, 1)
            .record(&format!("www {TTL} IN A {PRIMARY}"))
            .grant(Grant::Name {
                key: key.name.clone(),
                name: "www".into(),
                types: vec!["A".into(), "AAAA".into()],
            });
        let server = NameServer::start(ServerKind::Bind, vec![zone], vec![key.clone()]);
        if let Some(pid) = server.pid() {
            register_pid(pid);
        }
        let port = common_port(&[PRIMARY, SECONDARY]);
        let dir = tempfile::Builder::new()
            .prefix("dnsfailover-bench-")
            .tempdir()
            .expect("a temporary directory");
        key.write_bind_key_file(&dir.path().join("bench.key"));
        Lab {
            server,
            primary: WebTarget::start(SocketAddr::new(PRIMARY, port)),
            secondary: WebTarget::start(SocketAddr::new(SECONDARY, port)),
            dir,
        }
    }

    /// The BIND key file both contenders sign with.
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("bench.key")
    }

    /// The port both web servers listen on.
    pub fn port(&self) -> u16 {
        self.primary.address().port()
    }

    /// A fresh watch of the record.
    pub fn watch(&self) -> DnsWatch {
        DnsWatch::new(self.server.addr(), NAME)
    }

    /// Writes the agent's configuration: interval 1 s, fall 2, rise 2, an
    /// HTTP check of `/health` with `timeout`.
    pub fn agent_config(&self, timeout: Duration) -> PathBuf {
        let path = self.dir.path().join("dnsfailover.yaml");
        let text = format!(
            "nameserver:\n  address: {server}\n  key_file: {key}\n  timeout: 2s\n\
             defaults:\n  ttl: {TTL}\n  interval: 1s\n  timeout: {timeout}ms\n  fall: 2\n  rise: 2\n\
             records:\n  - name: {NAME}\n    zone: {ZONE}\n    servers:\n\
             \x20     - {{ name: primary, addresses: [{PRIMARY}] }}\n\
             \x20     - {{ name: secondary, addresses: [{SECONDARY}] }}\n\
             \x20   check: {{ type: http, port: {port}, path: /health, expect_body: ok }}\n\
             control: {{ socket: {dir}/control.sock, state_file: {dir}/state.json }}\n",
            server = self.server.addr(),
            key = self.key_path().display(),
            timeout = timeout.as_millis(),
            port = self.port(),
            dir = self.dir.path().display(),
        );
        std::fs::write(&path, text).expect("writing the agent configuration");
        path
    }

    /// Starts `dnsfailover run` with info logs into a fresh `agent.log`.
    pub fn start_agent(&self, config: &Path) -> ChildProcess {
        let _ = std::fs::remove_file(self.agent_log_path());
        start_agent(config, &self.agent_log_path(), None)
    }

    /// The agent's log so far.
    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.agent_log_path()).unwrap_or_default()
    }

    fn agent_log_path(&self) -> PathBuf {
        self.dir.path().join("agent.log")
    }
}

/// Starts the release `dnsfailover run --config CONFIG`, logging (info) to
/// `log`; with `nofile`, under `prlimit --nofile=SOFT:HARD`.
pub fn start_agent(config: &Path, log: &Path, nofile: Option<(u64, u64)>) -> ChildProcess {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("opening the agent log");
    let mut command = match nofile {
        Some((soft, hard)) => {
            let mut command = Command::new("prlimit");
            command
                .arg(format!("--nofile={soft}:{hard}"))
                .arg("--")
                .arg(crate::support::binary());
            command
        }
        None => Command::new(crate::support::binary()),
    };
    command
        .args(["run", "--log-level", "info", "--config"])
        .arg(config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(log_file.try_clone().expect("a log handle")))
        .stderr(Stdio::from(log_file));
    ChildProcess::spawn("dnsfailover", &mut command)
}

/// A TCP port free on every one of `addresses`, tried in a bounded sweep
/// from a random start.
pub fn common_port(addresses: &[IpAddr]) -> u16 {
    let span = PORTS.end - PORTS.start;
    let start = crate::stats::random_below(u64::from(span)) as u16;
    for offset in 0..span {
        let port = PORTS.start + (start + offset) % span;
        let free = addresses
            .iter()
            .all(|address| TcpListener::bind((*address, port)).is_ok());
        if free {
            return port;
        }
    }
    panic!("no port in {PORTS:?} is free on all of {addresses:?}");
}
