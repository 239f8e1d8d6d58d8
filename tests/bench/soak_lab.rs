//! The soak's lab: a real `named` primary for `soak.test.`, four records
//! with three servers each, every server with an IPv4 and an IPv6 address
//! and a web server (child process) behind each address, background records
//! checked over TCP, and the agent, which can be killed and started again.
//!
//! IPv6 addresses are IPv4-mapped (`::ffff:127.0.91.x`): each server gets an
//! AAAA address of its own that reaches loopback without adding addresses to
//! `lo`. The agent decides the AAAA RRsets on their own, as for any IPv6
//! address; its checks connect from IPv6 sockets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::capacity::{self, Listener};
use crate::children::{register_pid, start_bind, ChildProcess};
use crate::firewall::Blackholes;
use crate::lab::{common_port, start_agent};
use crate::support::NameServer;
use crate::target::WebTarget;

/// The zone of every soak record.
pub const ZONE: &str = "soak.test.";
/// The records whose servers are faulted.
pub const NAMES: [&str; 4] = ["a", "b", "c", "d"];
/// Servers per record, in order of preference.
pub const SERVERS: usize = 3;
/// TTL of every record.
const TTL: u32 = 30;

/// What a fault did to a web server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Up,
    Killed,
    Frozen,
    Blackholed,
}

/// The web server behind one address of one server of one record.
pub struct SoakTarget {
    /// Index into [`NAMES`].
    pub record: usize,
    /// Index of the server in the record's list.
    pub server: usize,
    /// The address in the configuration and in DNS.
    pub dns_address: IpAddr,
    pub state: TargetState,
    web: WebTarget,
}

impl SoakTarget {
    /// Whether the address is IPv6 (AAAA).
    pub fn is_v6(&self) -> bool {
        self.dns_address.is_ipv6()
    }
}

/// Everything the soak runs.
pub struct SoakLab {
    pub server: NameServer,
    pub targets: Vec<SoakTarget>,
    pub background_records: usize,
    nameserver_frozen: bool,
    nameserver_stopped: bool,
    blackholes: Blackholes,
    agent: Option<ChildProcess>,
    /// When each agent process started.
    pub agent_starts: Vec<Instant>,
    _background: Vec<Listener>,
    dir: tempfile::TempDir,
}

/// The address of server `server` of record `record`; the IPv6 one is
/// IPv4-mapped. Also returns where its web server listens.
fn address_of(record: usize, server: usize, v6: bool) -> (IpAddr, Ipv4Addr) {
    let host = (record * 10 + server + 1) as u8;
    let listen = Ipv4Addr::new(127, 0, if v6 { 91 } else { 90 }, host);
    let dns = if v6 {
        IpAddr::V6(listen.to_ipv6_mapped())
    } else {
        IpAddr::V4(listen)
    };
    (dns, listen)
}

impl SoakLab {
    /// Starts `named`, every web server, `background` TCP addresses (two per
    /// record), and writes the agent's configuration. Every record is at its
    /// first server at the start.
    pub fn start(background: usize) -> SoakLab {
        let background_records = background / 2;
        let mut zone_lines = Vec::new();
        for (record, name) in NAMES.iter().enumerate() {
            for v6 in [false, true] {
                let (address, _) = address_of(record, 0, v6);
                let rtype = if v6 { "AAAA" } else { "A" };
                zone_lines.push(format!("{name} {TTL} IN {rtype} {address}"));
            }
        }
        for record in 0..background_records {
            zone_lines.push(format!("r{record} {TTL} IN A {}", capacity::ADDRESSES[0]));
        }
        let (server, key) = start_bind(ZONE, "soak-key", zone_lines);
        let dir = tempfile::Builder::new()
            .prefix("dnsfailover-soak-")
            .tempdir()
            .expect("a temporary directory");
        key.write_bind_key_file(&dir.path().join("soak.key"));

        let mut slots = Vec::new();
        for record in 0..NAMES.len() {
            for server in 0..SERVERS {
                for v6 in [false, true] {
                    slots.push((record, server, address_of(record, server, v6)));
                }
            }
        }
        let listen: Vec<IpAddr> = slots.iter().map(|(_, _, (_, l))| IpAddr::V4(*l)).collect();
        let port = common_port(&listen);
        let targets = slots
            .into_iter()
            .map(|(record, server, (dns_address, listen))| SoakTarget {
                record,
                server,
                dns_address,
                state: TargetState::Up,
                web: WebTarget::start(SocketAddr::new(IpAddr::V4(listen), port)),
            })
            .collect();

        let ports = capacity::pick_ports(background_records);
        let ports_file = dir.path().join("ports");
        let list: Vec<String> = ports.iter().map(u16::to_string).collect();
        std::fs::write(&ports_file, list.join(",")).expect("writing the ports file");
        let background_listeners = if background_records == 0 {
            Vec::new()
        } else {
            capacity::ADDRESSES
                .iter()
                .map(|address| Listener::start(*address, &ports_file))
                .collect()
        };
        let config = config_text(
            &server,
            &dir.path().join("soak.key"),
            port,
            &ports,
            dir.path(),
        );
        std::fs::write(dir.path().join("dnsfailover.yaml"), config)
            .expect("writing the agent configuration");
        SoakLab {
            server,
            targets,
            background_records,
            nameserver_frozen: false,
            nameserver_stopped: false,
            blackholes: Blackholes::new(),
            agent: None,
            agent_starts: Vec::new(),
            _background: background_listeners,
            dir,
        }
    }

    /// The configured addresses of record `record` in one family, in order.
    pub fn configured(&self, record: usize, v6: bool) -> Vec<IpAddr> {
        (0..SERVERS)
            .map(|server| address_of(record, server, v6).0)
            .collect()
    }

    /// What DNS must converge to for `record` in one family: the first
    /// server whose web server is up; `None` when none is (the agent then
    /// leaves DNS as it is).
    pub fn expected(&self, record: usize, v6: bool) -> Option<IpAddr> {
        let mut servers: Vec<&SoakTarget> = self
            .targets
            .iter()
            .filter(|t| t.record == record && t.is_v6() == v6 && t.state == TargetState::Up)
            .collect();
        servers.sort_by_key(|t| t.server);
        servers.first().map(|t| t.dns_address)
    }

    /// SIGKILLs web server `index`.
    pub fn kill_target(&mut self, index: usize) {
        self.targets[index].web.kill();
        self.targets[index].state = TargetState::Killed;
    }

    /// SIGSTOPs web server `index`.
    pub fn freeze_target(&mut self, index: usize) {
        self.targets[index].web.freeze();
        self.targets[index].state = TargetState::Frozen;
    }

    /// Drops every packet of web server `index`.
    pub fn blackhole_target(&mut self, index: usize) {
        self.blackholes.add(self.targets[index].web.address());
        self.targets[index].state = TargetState::Blackholed;
    }

    /// Undoes whatever was done to web server `index`.
    pub fn restore_target(&mut self, index: usize) {
        let target = &mut self.targets[index];
        match target.state {
            TargetState::Up => {}
            TargetState::Killed => target.web.revive(),
            TargetState::Frozen => target.web.thaw(),
            TargetState::Blackholed => self.blackholes.remove(target.web.address()),
        }
        target.state = TargetState::Up;
    }

    /// Stops `named` (SIGTERM); its journal is kept.
    pub fn stop_nameserver(&mut self) {
        self.server.stop();
        self.nameserver_stopped = true;
    }

    /// SIGSTOPs `named`.
    pub fn freeze_nameserver(&mut self) {
        if let Some(pid) = self.server.pid() {
            signal(pid, "STOP");
            self.nameserver_frozen = true;
        }
    }

    /// Thaws or starts `named` again; returns once it answers.
    pub fn restore_nameserver(&mut self) {
        if std::mem::take(&mut self.nameserver_frozen) {
            if let Some(pid) = self.server.pid() {
                signal(pid, "CONT");
            }
        }
        if std::mem::take(&mut self.nameserver_stopped) {
            self.server.restart();
            if let Some(pid) = self.server.pid() {
                register_pid(pid);
            }
        }
    }

    /// Starts the agent (soft open-file limit 1024, as under systemd), its
    /// log in a file of its own.
    pub fn start_agent(&mut self) {
        let log = self.agent_log_path(self.agent_starts.len());
        let config = self.dir.path().join("dnsfailover.yaml");
        let nofile = (capacity::AGENT_SOFT_NOFILE, capacity::hard_nofile());
        self.agent = Some(start_agent(&config, &log, Some(nofile)));
        self.agent_starts.push(Instant::now());
    }

    /// SIGKILLs the agent.
    pub fn kill_agent(&mut self) {
        if let Some(mut agent) = self.agent.take() {
            agent.kill();
        }
    }

    /// The running agent.
    pub fn agent(&mut self) -> Option<&mut ChildProcess> {
        self.agent.as_mut()
    }

    /// The PID of the running agent.
    pub fn agent_pid(&self) -> Option<u32> {
        self.agent.as_ref().map(ChildProcess::pid)
    }

    /// The log of agent process number `start` (from 0).
    pub fn agent_log(&self, start: usize) -> String {
        std::fs::read_to_string(self.agent_log_path(start)).unwrap_or_default()
    }

    /// The log file of agent process number `start`.
    pub fn agent_log_path(&self, start: usize) -> PathBuf {
        self.dir.path().join(format!("agent-{start}.log"))
    }
}

impl Drop for SoakLab {
    fn drop(&mut self) {
        // A stopped named would wait for SIGCONT before it could exit.
        if self.nameserver_frozen {
            if let Some(pid) = self.server.pid() {
                signal(pid, "CONT");
            }
        }
    }
}

/// Sends `signal` (`STOP`, `CONT`) to `pid` with kill(1).
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
    assert!(
        status.is_ok_and(|status| status.success()),
        "kill -{signal} {pid} failed"
    );
}

/// The agent's configuration: interval 1 s, timeout 300 ms, fall 2, rise 2;
/// HTTP checks of `/health` for the soak records, TCP for the background.
fn config_text(
    server: &NameServer,
    key: &std::path::Path,
    port: u16,
    background_ports: &[u16],
    dir: &std::path::Path,
) -> String {
    let mut text = format!(
        "nameserver:\n  address: {}\n  key_file: {}\n  timeout: 1s\n\
         defaults:\n  ttl: {TTL}\n  interval: 1s\n  timeout: 300ms\n  fall: 2\n  rise: 2\n\
         control: {{ socket: {dir}/control.sock, state_file: {dir}/state.json }}\n\
         records:\n",
        server.addr(),
        key.display(),
        dir = dir.display(),
    );
    for (record, name) in NAMES.iter().enumerate() {
        text.push_str(&format!(
            "  - name: {name}.{ZONE}\n    zone: {ZONE}\n    servers:\n"
        ));
        for server in 0..SERVERS {
            let (v4, _) = address_of(record, server, false);
            let (v6, _) = address_of(record, server, true);
            text.push_str(&format!(
                "      - {{ name: s{}, addresses: [\"{v4}\", \"{v6}\"] }}\n",
                server + 1
            ));
        }
        text.push_str(&format!(
            "    check: {{ type: http, port: {port}, path: /health, expect_body: ok }}\n"
        ));
    }
    for (record, port) in background_ports.iter().enumerate() {
        text.push_str(&format!(
            "  - name: r{record}.{ZONE}\n    zone: {ZONE}\n    servers:\n\
             \x20     - {{ name: a, addresses: [{}] }}\n\
             \x20     - {{ name: b, addresses: [{}] }}\n\
             \x20   check: {{ type: tcp, port: {port} }}\n",
            capacity::ADDRESSES[0],
            capacity::ADDRESSES[1]
        ));
    }
    text
}
