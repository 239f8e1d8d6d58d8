//! Check capacity: the agent checking 1,000 and 10,000 addresses with TCP
//! checks every second. Measured: its CPU (% of one core, from
//! /proc/PID/stat over the window), its memory (VmRSS, VmHWM), and how
//! evenly checks start, seen at the listener (see [`crate::listener`]);
//! then again while a monitoring system requests `/metrics` and `/status`
//! ten times a second (see [`crate::scraper`]), timing those answers.
//!
//! The agent starts with a soft open-file limit of 1024, the default of
//! systemd services and login shells, and the hard limit this process has
//! (systemd's default is 524288): one kept connection per address plus the
//! checks being made need far more than 1024 descriptors.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Lines, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::children::{start_bind, ChildProcess};
use crate::firewall;
use crate::lab::start_agent;
use crate::options::Options;
use crate::procstat::{context_switches, mib, open_files, CpuSample, Memory};
use crate::report::Table;
use crate::scraper::{self, PathFigures};
use crate::stats::percentile;
use crate::support::NameServer;

/// Every record has one server on each of these addresses, all on its own port.
pub const ADDRESSES: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(127, 0, 88, 1)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 88, 2)),
];
/// The subnet of [`ADDRESSES`], exempted from connection tracking.
const SUBNET: &str = "127.0.88.0/24";
const ZONE: &str = "cap.test.";
/// The soft open-file limit the agent starts with.
pub const AGENT_SOFT_NOFILE: u64 = 1024;
/// Ports tried for the listeners: below Linux's ephemeral range.
const PORTS: std::ops::Range<u16> = 20_000..32_768;
/// Longest wait for the agent to have decided every record.
const SETTLE_DEADLINE: Duration = Duration::from_secs(120);
/// The measurement window unless `--window` is given.
const DEFAULT_WINDOW: Duration = Duration::from_secs(20);
/// Checks after start-up before measuring.
const WARM_UP: Duration = Duration::from_secs(5);
/// What the monitoring system asks for, in turn.
const SCRAPED: [&str; 2] = ["/metrics", "/status"];
/// Requests a second during the scraped window.
const SCRAPES_PER_SECOND: u32 = 10;

/// What one size measured.
struct Figures {
    agent_cpu: f64,
    listener_cpu: f64,
    memory: Memory,
    open_files: usize,
    settled_in: Option<Duration>,
    listener: HashMap<String, u64>,
    downs: usize,
    switches_per_second: f64,
    floor_cpu: f64,
    /// The same window again under scrapes: its figures and each path's.
    scraped: Option<(Box<Figures>, Vec<PathFigures>)>,
}

/// Measures every size and adds the rows.
pub fn run(options: &Options, table: &mut Table) {
    let window = options.window.unwrap_or(DEFAULT_WINDOW);
    println!(
        "\n== Check capacity: TCP checks every 1 s, timeout 500 ms, agent open-file limit {AGENT_SOFT_NOFILE}:{}, window {:?}",
        hard_nofile(),
        window
    );
    firewall::delete_leftover();
    let untracked = firewall::untracked(SUBNET);
    println!("   connections to {SUBNET} bypass connection tracking (nftables notrack)");
    for &targets in &options.capacity_sizes() {
        let figures = measure(targets, window);
        add_rows(table, targets, &figures);
    }
    untracked.remove();
}

fn measure(targets: usize, window: Duration) -> Figures {
    let records = targets.div_ceil(ADDRESSES.len());
    println!(
        "-- {} targets ({records} records × {} addresses)",
        records * ADDRESSES.len(),
        ADDRESSES.len()
    );
    let mut rig = Rig::start(records);
    let started = Instant::now();
    let mut agent = start_agent(
        &rig.config,
        &rig.log_path,
        Some((AGENT_SOFT_NOFILE, hard_nofile())),
    );
    println!("   agent PID {}", agent.pid());
    let log = || std::fs::read_to_string(&rig.log_path).unwrap_or_default();
    let settled_in =
        wait_for_count(&log, "nothing to send", records, &mut agent).then(|| started.elapsed());
    match settled_in {
        Some(took) => println!(
            "   every record decided {:.1} s after start",
            took.as_secs_f64()
        ),
        None => println!("   not every record was decided within {SETTLE_DEADLINE:?}"),
    }
    std::thread::sleep(WARM_UP);
    let downs_before = log().matches("-> down").count();
    let mut figures = measure_window(&agent, &mut rig.listeners, window);
    figures.settled_in = settled_in;
    figures.downs = log().matches("-> down").count() - downs_before;
    let scrapes = scraper::start(rig.listen, &SCRAPED, SCRAPES_PER_SECOND, window);
    let under_scrapes = measure_window(&agent, &mut rig.listeners, window);
    let paths = scrapes.join().expect("the scraper thread");
    figures.scraped = Some((Box::new(under_scrapes), paths));
    agent.terminate();
    figures.floor_cpu = floor_cpu(&rig.ports_file, window);
    print_figures(&figures, targets, &log());
    figures
}

/// Everything the agent checks and talks to, with its files.
struct Rig {
    listeners: Vec<Listener>,
    ports_file: std::path::PathBuf,
    config: std::path::PathBuf,
    log_path: std::path::PathBuf,
    /// The agent's status listener.
    listen: std::net::SocketAddr,
    _server: NameServer,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Listeners for `records` records, `named` serving them (each at the
    /// first address), and the agent's configuration.
    fn start(records: usize) -> Rig {
        let ports = pick_ports(records);
        let dir = tempfile::Builder::new()
            .prefix("dnsfailover-capacity-")
            .tempdir()
            .expect("a temporary directory");
        let ports_file = dir.path().join("ports");
        let list: Vec<String> = ports.iter().map(u16::to_string).collect();
        std::fs::write(&ports_file, list.join(",")).expect("writing the ports file");
        let listeners = ADDRESSES
            .iter()
            .map(|address| Listener::start(*address, &ports_file))
            .collect();
        let (server, key) = start_bind(
            ZONE,
            "capacity-key",
            (0..records).map(|record| format!("r{record} 30 IN A {}", ADDRESSES[0])),
        );
        let key_path = dir.path().join("capacity.key");
        key.write_bind_key_file(&key_path);
        let config = dir.path().join("dnsfailover.yaml");
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], crate::support::free_port()));
        std::fs::write(&config, config_text(&server, &key_path, &ports, listen))
            .expect("writing the configuration");
        Rig {
            listeners,
            ports_file,
            config,
            log_path: dir.path().join("agent.log"),
            listen,
            _server: server,
            _dir: dir,
        }
    }
}

/// CPU, context switches, memory and arrivals over `window`.
fn measure_window(agent: &ChildProcess, listeners: &mut [Listener], window: Duration) -> Figures {
    for listener in listeners.iter_mut() {
        listener.command("mark");
    }
    let listener_pids: Vec<u32> = listeners.iter().map(Listener::pid).collect();
    let switches_start = context_switches(agent.pid());
    let agent_start = CpuSample::take(agent.pid());
    let listeners_start: Vec<CpuSample> = listener_pids
        .iter()
        .map(|pid| CpuSample::take(*pid))
        .collect();
    std::thread::sleep(window);
    let agent_end = CpuSample::take(agent.pid());
    let switches = context_switches(agent.pid()) - switches_start;
    let listener_cpu = listener_pids
        .iter()
        .zip(&listeners_start)
        .map(|(pid, start)| CpuSample::take(*pid).percent_since(start))
        .sum();
    let mut report = Arrivals::default();
    for listener in listeners.iter_mut() {
        listener.command("report");
        report.merge(listener.read_report());
    }
    Figures {
        agent_cpu: agent_end.percent_since(&agent_start),
        listener_cpu,
        memory: Memory::of(agent.pid()),
        open_files: open_files(agent.pid()),
        settled_in: None,
        listener: report.summary(),
        downs: 0,
        switches_per_second: switches as f64 / window.as_secs_f64(),
        floor_cpu: 0.0,
        scraped: None,
    }
}

/// Runs `connect-floor` against the same listeners for `window` after it has
/// connected everything; returns its CPU in % of one core.
fn floor_cpu(ports_file: &std::path::Path, window: Duration) -> f64 {
    let exe = std::env::current_exe().expect("the benchmark knows its own path");
    let limit = hard_nofile();
    let addresses: Vec<String> = ADDRESSES.iter().map(ToString::to_string).collect();
    let mut floor = ChildProcess::spawn(
        "reference checker",
        Command::new("prlimit")
            .arg(format!("--nofile={limit}:{limit}"))
            .arg("--")
            .arg(exe)
            .arg("connect-floor")
            .arg(addresses.join(","))
            .arg(ports_file)
            .arg((window + WARM_UP + WARM_UP).as_secs().to_string())
            .stdout(Stdio::piped()),
    );
    let mut lines = BufReader::new(floor.take_stdout().expect("piped")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(first, "connected", "the reference checker did not start");
    std::thread::sleep(WARM_UP);
    let start = CpuSample::take(floor.pid());
    std::thread::sleep(window);
    let percent = CpuSample::take(floor.pid()).percent_since(&start);
    floor.kill();
    percent
}

/// `count` ports free on every address, in a bounded sweep.
pub fn pick_ports(count: usize) -> Vec<u16> {
    let free = |port: u16| {
        ADDRESSES
            .iter()
            .all(|address| std::net::TcpListener::bind((*address, port)).is_ok())
    };
    let ports: Vec<u16> = PORTS.filter(|port| free(*port)).take(count).collect();
    assert_eq!(ports.len(), count, "not enough free ports in {PORTS:?}");
    ports
}

/// The hard open-file limit of this process (from /proc/self/limits).
pub fn hard_nofile() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(4))
        .and_then(|hard| hard.parse().ok())
        .unwrap_or(AGENT_SOFT_NOFILE)
}

/// One `serve-tcp` child.
pub struct Listener {
    process: ChildProcess,
    lines: Lines<BufReader<ChildStdout>>,
    input: ChildStdin,
}

impl Listener {
    /// Starts listening on `address` at every port of `ports_file`, with the
    /// soft open-file limit raised to the hard one.
    pub fn start(address: IpAddr, ports_file: &std::path::Path) -> Listener {
        let exe = std::env::current_exe().expect("the benchmark knows its own path");
        let limit = hard_nofile();
        Listener::spawn(
            &format!("listener on {address}"),
            Command::new("prlimit")
                .arg(format!("--nofile={limit}:{limit}"))
                .arg("--")
                .arg(exe)
                .arg("serve-tcp")
                .arg(address.to_string())
                .arg(ports_file)
                .arg("1000"),
        )
    }

    /// Starts a listener child (`serve-tcp` or `serve-any`) with `command`
    /// and waits for it to say `listening`.
    pub fn spawn(name: &str, command: &mut Command) -> Listener {
        let mut process = ChildProcess::spawn_with_input(name, command.stdout(Stdio::piped()));
        let mut lines = BufReader::new(process.take_stdout().expect("piped")).lines();
        let input = process.take_stdin().expect("piped");
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        assert_eq!(first, "listening", "the {name} did not start");
        Listener {
            process,
            lines,
            input,
        }
    }

    /// The listener's process ID.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The next line the listener prints.
    pub fn read_line(&mut self) -> String {
        self.lines.next().and_then(Result::ok).unwrap_or_default()
    }

    /// Sends a command (`mark`, `report`, `seen`).
    pub fn command(&mut self, command: &str) {
        writeln!(self.input, "{command}").expect("talking to a listener");
    }

    /// Reads the answer to `report`.
    pub fn read_report(&mut self) -> Arrivals {
        let line = self.read_line();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, connections, silent, gaps, late] = fields[..] else {
            panic!("the listener did not report: {line:?}");
        };
        let list = |text: &str| -> Vec<u64> {
            text.split(',')
                .filter_map(|value| value.parse().ok())
                .collect()
        };
        Arrivals {
            connections: connections.parse().unwrap_or(0),
            silent: silent.parse().unwrap_or(0),
            gaps: list(gaps),
            lateness: list(late),
        }
    }
}

/// What the listeners saw, merged.
#[derive(Default)]
pub struct Arrivals {
    connections: u64,
    silent: u64,
    gaps: Vec<u64>,
    lateness: Vec<u64>,
}

impl Arrivals {
    /// Adds another listener's report.
    pub fn merge(&mut self, other: Arrivals) {
        self.connections += other.connections;
        self.silent += other.silent;
        self.gaps.extend(other.gaps);
        self.lateness.extend(other.lateness);
    }

    /// Counts and percentiles (in microseconds) by name.
    pub fn summary(mut self) -> HashMap<String, u64> {
        self.gaps.sort_unstable();
        self.lateness.sort_unstable();
        let p = |sorted: &[u64], q: f64| percentile(sorted, q).unwrap_or(0);
        HashMap::from([
            ("connections".into(), self.connections),
            ("silent".into(), self.silent),
            ("gap_p50_us".into(), p(&self.gaps, 50.0)),
            ("gap_p99_us".into(), p(&self.gaps, 99.0)),
            ("gap_max_us".into(), p(&self.gaps, 100.0)),
            ("late_p50_us".into(), p(&self.lateness, 50.0)),
            ("late_p99_us".into(), p(&self.lateness, 99.0)),
            ("late_max_us".into(), p(&self.lateness, 100.0)),
        ])
    }
}

fn config_text(
    server: &NameServer,
    key: &std::path::Path,
    ports: &[u16],
    listen: std::net::SocketAddr,
) -> String {
    let mut text = format!(
        "nameserver:\n  address: {}\n  key_file: {}\nhttp:\n  listen: {listen}\n\
         defaults:\n  ttl: 30\n  interval: 1s\n  timeout: 500ms\n  fall: 2\n  rise: 2\nrecords:\n",
        server.addr(),
        key.display()
    );
    for (record, port) in ports.iter().enumerate() {
        text.push_str(&format!(
            "  - name: r{record}.{ZONE}\n    zone: {ZONE}\n    servers:\n\
             \x20     - {{ name: a, addresses: [{}] }}\n\
             \x20     - {{ name: b, addresses: [{}] }}\n\
             \x20   check: {{ type: tcp, port: {port} }}\n",
            ADDRESSES[0], ADDRESSES[1]
        ));
    }
    text
}

/// Polls `log` until it holds `text` `count` times; false after the deadline
/// or when the agent exits.
pub fn wait_for_count(
    log: &dyn Fn() -> String,
    text: &str,
    count: usize,
    agent: &mut ChildProcess,
) -> bool {
    wait_for_count_within(log, text, count, agent, SETTLE_DEADLINE)
}

/// [`wait_for_count`] with its own `deadline`.
pub fn wait_for_count_within(
    log: &dyn Fn() -> String,
    text: &str,
    count: usize,
    agent: &mut ChildProcess,
    deadline: Duration,
) -> bool {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if log().matches(text).count() >= count {
            return true;
        }
        if agent.has_exited() {
            println!(
                "   the agent exited; its log ends with:\n{}",
                tail(&log(), 20)
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn print_figures(figures: &Figures, targets: usize, log: &str) {
    let l = &figures.listener;
    println!(
        "   agent CPU {:.1} % of one core ({:.0} context switches/s), VmRSS {}, VmHWM {}, {} open files; listener CPU {:.1} %",
        figures.agent_cpu,
        figures.switches_per_second,
        mib(figures.memory.rss_kib),
        mib(figures.memory.peak_kib),
        figures.open_files,
        figures.listener_cpu
    );
    println!(
        "   reference checker (one thread, blocking connect/close, no runtime): CPU {:.1} % of one core",
        figures.floor_cpu
    );
    println!(
        "   {} connections in the window ({} targets), {} targets silent, {} went down",
        l["connections"], targets, l["silent"], figures.downs
    );
    println!(
        "   start jitter |gap - 1 s|: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; lateness vs slot: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(l["gap_p50_us"]), ms(l["gap_p99_us"]), ms(l["gap_max_us"]),
        ms(l["late_p50_us"]), ms(l["late_p99_us"]), ms(l["late_max_us"]),
    );
    if let Some((under, paths)) = &figures.scraped {
        let u = &under.listener;
        println!(
            "   under {SCRAPES_PER_SECOND} requests/s of {}: agent CPU {:.1} %, start jitter p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            SCRAPED.join(" and "),
            under.agent_cpu,
            ms(u["gap_p50_us"]),
            ms(u["gap_p99_us"]),
            ms(u["gap_max_us"]),
        );
        for (path, got) in SCRAPED.iter().zip(paths) {
            println!(
                "   {path}: {} answers ({} KiB each), {} failed; time to last byte p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                got.durations.len(),
                got.body_bytes / 1024,
                got.failures,
                got.percentile_ms(50.0),
                got.percentile_ms(99.0),
                got.percentile_ms(100.0),
            );
        }
    }
    let problems: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
        .collect();
    if !problems.is_empty() {
        let last = &problems[problems.len().saturating_sub(5)..];
        println!(
            "   the agent logged {} warnings/errors; the last ones:\n{}",
            problems.len(),
            last.join("\n")
        );
    }
}

fn add_rows(table: &mut Table, targets: usize, figures: &Figures) {
    let l = &figures.listener;
    let big = targets >= 10_000;
    let target = |text: &'static str| if big { text } else { "-" };
    let name = format!("{targets} targets, TCP every 1 s");
    table.add(
        &format!("{name}: CPU, % of one core"),
        &format!("{:.1} %", figures.agent_cpu),
        &format!("bare connect/close loop: {:.1} %", figures.floor_cpu),
        target("< 25 %"),
    );
    table.add(
        &format!("{name}: memory VmRSS (VmHWM)"),
        &format!(
            "{} ({})",
            mib(figures.memory.rss_kib),
            mib(figures.memory.peak_kib)
        ),
        "-",
        target("< 100 MB"),
    );
    table.add(
        &format!("{name}: check start jitter p50 / p99"),
        &format!(
            "{:.1} ms / {:.1} ms",
            ms(l["gap_p50_us"]),
            ms(l["gap_p99_us"])
        ),
        "-",
        target("p99 < 50 ms"),
    );
    if let Some((under, paths)) = &figures.scraped {
        for (path, got) in SCRAPED.iter().zip(paths) {
            table.add(
                &format!(
                    "{name}: `{path}` answer, p50 / p99 ({} KiB)",
                    got.body_bytes / 1024
                ),
                &format!(
                    "{:.1} ms / {:.1} ms",
                    got.percentile_ms(50.0),
                    got.percentile_ms(99.0)
                ),
                &format!(
                    "{} of {} failed",
                    got.failures,
                    got.failures + got.durations.len()
                ),
                target("< 100 ms"),
            );
        }
        table.add(
            &format!("{name}: check start jitter p99 under {SCRAPES_PER_SECOND} scrapes/s"),
            &format!("{:.1} ms", ms(under.listener["gap_p99_us"])),
            &format!("without: {:.1} ms", ms(l["gap_p99_us"])),
            target("p99 < 50 ms"),
        );
    }
    if figures.settled_in.is_none() || figures.downs > 0 || l["silent"] > 0 {
        table.add(
            &format!("{name}: problems"),
            &format!(
                "settled: {}, went down: {}, silent: {}",
                figures.settled_in.is_some(),
                figures.downs,
                l["silent"]
            ),
            "-",
            "none",
        );
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
