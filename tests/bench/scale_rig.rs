//! What the scale benchmark's contenders check and how they are measured:
//! N addresses (see [`crate::scale_addresses`]), two to a record, all on one
//! TCP port served by one wildcard listener ([`crate::wildcard`]), the
//! records in a zone of a real `named` (each at its first address), and
//! nftables rules that keep the port to loopback and the check traffic out
//! of connection tracking.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::capacity::{hard_nofile, Arrivals, Listener};
use crate::children::{start_bind, ChildProcess};
use crate::firewall::{self, Rules};
use crate::lab::common_port;
use crate::procstat::{CpuSample, Memory};
use crate::scale_addresses::{address, subnets};
use crate::support::NameServer;
use crate::syscalls::{self, SyscallCounts};

const ZONE: &str = "scale.test.";
/// How long strace counts system calls.
const TRACE: Duration = Duration::from_secs(10);

/// The listener, `named`, the rules and the agent's configuration for one size.
pub struct Rig {
    pub listener: Listener,
    pub port: u16,
    pub addresses: usize,
    /// Addresses of each server (two servers to a record).
    pub per_server: usize,
    pub interval: Duration,
    pub config: PathBuf,
    pub log_path: PathBuf,
    pub dir: tempfile::TempDir,
    _server: NameServer,
    _rules: Rules,
}

impl Rig {
    /// Everything for `addresses` addresses (rounded up to whole records)
    /// checked every `interval`, with a 1 s timeout, fall 2 and rise 2; each
    /// record has two servers of `per_server` addresses, and `named` holds
    /// each record at its first server's addresses.
    pub fn start(addresses: usize, per_server: usize, interval: Duration) -> Rig {
        let records = addresses.div_ceil(2 * per_server);
        let addresses = records * 2 * per_server;
        firewall::delete_leftover();
        let port = common_port(&[IpAddr::V4(Ipv4Addr::UNSPECIFIED)]);
        let rules = firewall::untracked_and_guarded(&subnets(addresses), port);
        let exe = std::env::current_exe().expect("the benchmark knows its own path");
        let limit = hard_nofile();
        let listener = Listener::spawn(
            "wildcard listener",
            Command::new("prlimit")
                .arg(format!("--nofile={limit}:{limit}"))
                .arg("--")
                .arg(exe)
                .arg("serve-any")
                .arg(port.to_string())
                .arg(interval.as_millis().to_string())
                .arg(addresses.to_string()),
        );
        let (server, key) = start_bind(
            ZONE,
            "scale-key",
            (0..records).flat_map(|record| {
                server_addresses(record, 0, per_server)
                    .map(move |first| format!("r{record} 30 IN A {first}"))
            }),
        );
        let dir = tempfile::Builder::new()
            .prefix("dnsfailover-scale-")
            .tempdir()
            .expect("a temporary directory");
        let key_path = dir.path().join("scale.key");
        key.write_bind_key_file(&key_path);
        let config = dir.path().join("dnsfailover.yaml");
        std::fs::write(
            &config,
            config_text(&server, &key_path, records, per_server, port, interval),
        )
        .expect("writing the configuration");
        Rig {
            listener,
            port,
            addresses,
            per_server,
            interval,
            config,
            log_path: dir.path().join("agent.log"),
            dir,
            _server: server,
            _rules: rules,
        }
    }

    /// Records: two servers each.
    pub fn records(&self) -> usize {
        self.addresses / (2 * self.per_server)
    }

    /// Each record's primary and secondary address (one address per server).
    pub fn pairs(&self) -> Vec<(Ipv4Addr, Ipv4Addr)> {
        assert_eq!(self.per_server, 1, "pairs of servers with one address each");
        (0..self.records())
            .map(|record| (address(2 * record), address(2 * record + 1)))
            .collect()
    }

    /// The agent's log so far.
    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Polls the listener until every address has had a connection since
    /// the last `mark`; false after `deadline` or when `contender` exits.
    pub fn wait_until_all_seen(
        &mut self,
        contender: &mut ChildProcess,
        deadline: Duration,
    ) -> bool {
        let started = std::time::Instant::now();
        while started.elapsed() < deadline && !contender.has_exited() {
            self.listener.command("seen");
            let line = self.listener.read_line();
            let seen: usize = line
                .strip_prefix("seen ")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if seen >= self.addresses {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    /// Whatever is connected measured over `window` (see [`Window`]).
    pub fn measure(&mut self, pid: u32, window: Duration) -> Window {
        self.listener.command("mark");
        let start = CpuSample::take(pid);
        let listener_start = CpuSample::take(self.listener.pid());
        std::thread::sleep(window);
        let end = CpuSample::take(pid);
        let listener_cpu = CpuSample::take(self.listener.pid()).percent_since(&listener_start);
        let arrivals = self.report();
        Window {
            cpu_percent: end.percent_since(&start),
            seconds: end.seconds_since(&start),
            checks: arrivals["connections"],
            memory: Memory::of(pid),
            arrivals,
            listener_cpu,
        }
    }

    /// System calls of `pid` over [`TRACE`] and the checks made meanwhile;
    /// `None` when strace gave no summary.
    pub fn trace(&mut self, pid: u32, name: &str) -> Option<(SyscallCounts, u64)> {
        let output = self.dir.path().join(format!("strace-{name}.txt"));
        self.listener.command("mark");
        let strace = syscalls::attach(pid, &output);
        std::thread::sleep(TRACE);
        let counts = syscalls::detach(strace, &output);
        let checks = self.report()["connections"];
        counts.map(|counts| (counts, checks))
    }

    fn report(&mut self) -> HashMap<String, u64> {
        self.listener.command("report");
        let mut arrivals = Arrivals::default();
        arrivals.merge(self.listener.read_report());
        arrivals.summary()
    }

    /// A file listing every address, comma-separated, for `connect-floor`.
    pub fn addresses_file(&self) -> PathBuf {
        let path = self.dir.path().join("addresses");
        let list: Vec<String> = (0..self.addresses)
            .map(|i| address(i).to_string())
            .collect();
        std::fs::write(&path, list.join(",")).expect("writing the address list");
        path
    }

    /// A ports file holding the one port, for `connect-floor`.
    pub fn ports_file(&self) -> PathBuf {
        let path = self.dir.path().join("ports");
        std::fs::write(&path, self.port.to_string()).expect("writing the ports file");
        path
    }
}

/// What one contender did over a measurement window.
pub struct Window {
    /// CPU (utime + stime) in % of one core.
    pub cpu_percent: f64,
    pub seconds: f64,
    /// Connections the listener accepted.
    pub checks: u64,
    pub memory: Memory,
    /// The listener's summary (see [`Arrivals::summary`]).
    pub arrivals: HashMap<String, u64>,
    /// The listener's own CPU, % of one core.
    pub listener_cpu: f64,
}

impl Window {
    /// CPU microseconds per check.
    pub fn micros_per_check(&self) -> f64 {
        self.cpu_percent / 100.0 * self.seconds * 1e6 / self.checks.max(1) as f64
    }

    /// Checks a second.
    pub fn checks_per_second(&self) -> f64 {
        self.checks as f64 / self.seconds.max(0.001)
    }
}

/// The addresses of server `server` (0 or 1) of `record`.
fn server_addresses(
    record: usize,
    server: usize,
    per_server: usize,
) -> impl Iterator<Item = Ipv4Addr> {
    let first = (2 * record + server) * per_server;
    (first..first + per_server).map(address)
}

/// The agent's configuration, one line per record.
fn config_text(
    server: &NameServer,
    key: &Path,
    records: usize,
    per_server: usize,
    port: u16,
    interval: Duration,
) -> String {
    let mut text = format!(
        "nameserver:\n  address: {}\n  key_file: {}\n\
         defaults:\n  ttl: 30\n  interval: {}ms\n  timeout: 1s\n  fall: 2\n  rise: 2\nrecords:\n",
        server.addr(),
        key.display(),
        interval.as_millis()
    );
    let list = |record: usize, which: usize| {
        let addresses: Vec<String> = server_addresses(record, which, per_server)
            .map(|a| a.to_string())
            .collect();
        addresses.join(", ")
    };
    for record in 0..records {
        text.push_str(&format!(
            "  - {{ name: r{record}.{ZONE}, zone: {ZONE}, servers: [\
             {{ name: a, addresses: [{}] }}, {{ name: b, addresses: [{}] }}], \
             check: {{ type: tcp, port: {port} }} }}\n",
            list(record, 0),
            list(record, 1)
        ));
    }
    text
}
