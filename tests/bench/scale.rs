//! The scale benchmark (`--only scale`): N addresses × one port, unlike the
//! capacity benchmark's 2 addresses × N ports (see [`crate::scale_rig`]).
//!
//! 1. **Beside gdnsd**: 10,000 addresses (5,000 records), TCP every 2 s,
//!    timeout 1 s, fall 2, rise 2: the agent, then gdnsd 3.8's
//!    `tcp_connect` monitor ([`crate::gdnsd`]) checking the same addresses
//!    at the same interval, then `connect-floor` ([`crate::floor`]), one
//!    after the other against the same listener. Each: CPU over the window,
//!    checks the listener accepted meanwhile, hence CPU microseconds per
//!    check; VmRSS and VmHWM; system calls per check (strace, afterwards).
//! 2. **Scaling**: the agent alone at `--sizes` addresses (default 1,000,
//!    10,000, 100,000), TCP every 10 s: start-up (every record decided),
//!    CPU, µs per check, RSS per address, start lateness per address
//!    p50/p99, addresses not checked in the window (at least two intervals)
//!    and servers that went down.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::capacity::{hard_nofile, tail};
use crate::children::ChildProcess;
use crate::gdnsd::{self, Monitoring};
use crate::lab::start_agent;
use crate::options::Options;
use crate::procstat::{mib, open_files};
use crate::report::Table;
use crate::scale_rig::{Rig, Window};
use crate::syscalls::SyscallCounts;

/// Addresses of the comparison with gdnsd.
const VERSUS_ADDRESSES: usize = 10_000;
/// Interval of the comparison with gdnsd.
const VERSUS_INTERVAL: Duration = Duration::from_secs(2);
/// Interval of the scaling runs.
const SCALING_INTERVAL: Duration = Duration::from_secs(10);
/// Default measurement window of this benchmark.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30);
/// Longest wait for gdnsd's first round to reach every address.
const GDNSD_DEADLINE: Duration = Duration::from_secs(60);
/// Most called system calls shown.
const TOP_SYSCALLS: usize = 5;
/// Addresses per server when one address per server makes a configuration
/// the agent refuses (its YAML parser allows 250,000 nodes: about 13,000
/// records of two one-address servers): 10 per server, 20 per record.
const COMPACT_PER_SERVER: usize = 10;
/// How often the agent's log is read while waiting for decisions.
const POLL: Duration = Duration::from_millis(200);

/// What one contender measured.
struct Run {
    /// Start until every record was decided (agent) or every address seen (gdnsd, floor).
    ready_in: Option<Duration>,
    window: Window,
    syscalls: Option<(SyscallCounts, u64)>,
    /// Addresses that went down during the window.
    downs: usize,
    /// Addresses that went down since start (the agent's `-> down` lines).
    downs_total: usize,
    open_files: usize,
}

/// Runs both parts and adds their rows.
pub fn run(options: &Options, table: &mut Table) {
    let window = options.window.unwrap_or(DEFAULT_WINDOW);
    println!(
        "\n== Scale: N addresses × 1 port, one wildcard listener, open-file limit {} (shared machine: other work runs beside)",
        hard_nofile()
    );
    versus(window, table);
    for &addresses in &options.scale_sizes() {
        scaling(addresses, window.max(2 * SCALING_INTERVAL), table);
    }
}

fn versus(window: Duration, table: &mut Table) {
    println!(
        "-- beside gdnsd: {VERSUS_ADDRESSES} addresses, TCP every {VERSUS_INTERVAL:?}, timeout 1 s, fall/rise 2, window {window:?}"
    );
    let mut rig = Rig::start(VERSUS_ADDRESSES, 1, VERSUS_INTERVAL);
    let name = format!("{VERSUS_ADDRESSES} addresses, TCP every 2 s");
    let agent = match run_agent(&mut rig, window, true) {
        Ok(agent) => agent,
        Err(reason) => {
            table.add(&format!("{name}: dnsfailover"), &reason, "-", "-");
            return;
        }
    };
    print_run("dnsfailover", &agent, rig.addresses);
    let gdnsd = run_gdnsd(&mut rig, window);
    if let Some(gdnsd) = &gdnsd {
        print_run("gdnsd", gdnsd, rig.addresses);
    }
    let floor = run_floor(&mut rig, window);
    print_run("connect/close floor", &floor, rig.addresses);
    let (agent_us, floor_us) = (
        agent.window.micros_per_check(),
        floor.window.micros_per_check(),
    );
    let Some(gdnsd) = gdnsd else {
        println!("   gdnsd did not check every address: no ratios");
        table.add(
            &format!("{name}: CPU per check"),
            &format!("{agent_us:.1} µs"),
            "gdnsd failed",
            "≤ gdnsd",
        );
        return;
    };
    let gdnsd_us = gdnsd.window.micros_per_check();
    let (agent_rss, gdnsd_rss) = (agent.window.memory.rss_kib, gdnsd.window.memory.rss_kib);
    let rss_ratio = agent_rss as f64 / gdnsd_rss.max(1) as f64;
    println!(
        "   per-check CPU: dnsfailover {agent_us:.1} µs, gdnsd {gdnsd_us:.1} µs, floor {floor_us:.1} µs; agent/gdnsd {:.2}×; RSS agent/gdnsd {rss_ratio:.2}×",
        agent_us / gdnsd_us
    );
    table.add(
        &format!("{name}: CPU per check (% of one core)"),
        &format!("{agent_us:.1} µs ({:.1} %)", agent.window.cpu_percent),
        &format!(
            "gdnsd 3.8: {gdnsd_us:.1} µs ({:.1} %), agent/gdnsd {:.2}×; bare connect/close: {floor_us:.1} µs ({:.1} %)",
            gdnsd.window.cpu_percent,
            agent_us / gdnsd_us,
            floor.window.cpu_percent
        ),
        "≤ gdnsd",
    );
    table.add(
        &format!("{name}: memory VmRSS (VmHWM)"),
        &format!("{} ({})", mib(agent_rss), mib(agent.window.memory.peak_kib)),
        &format!(
            "gdnsd 3.8: {} ({}), agent/gdnsd {rss_ratio:.2}×",
            mib(gdnsd_rss),
            mib(gdnsd.window.memory.peak_kib)
        ),
        "≤ 2× gdnsd",
    );
    if let (Some((a, a_checks)), Some((g, g_checks))) = (&agent.syscalls, &gdnsd.syscalls) {
        table.add(
            &format!("{name}: system calls per check (strace -c)"),
            &a.per_check(*a_checks, 3),
            &format!("gdnsd 3.8: {}", g.per_check(*g_checks, 3)),
            "-",
        );
    }
}

fn scaling(addresses: usize, window: Duration, table: &mut Table) {
    let mut per_server = 1;
    let (rig, run) = loop {
        println!(
            "-- scaling: {addresses} addresses ({per_server} per server, 2 servers a record), TCP every {SCALING_INTERVAL:?}, timeout 1 s, window {window:?}"
        );
        let mut rig = Rig::start(addresses, per_server, SCALING_INTERVAL);
        match run_agent(&mut rig, window, false) {
            Ok(run) => break (rig, run),
            Err(reason) => {
                table.add(
                    &format!(
                        "{} addresses as {} records: dnsfailover",
                        rig.addresses,
                        rig.records()
                    ),
                    &reason,
                    "-",
                    "-",
                );
                if per_server == COMPACT_PER_SERVER {
                    return;
                }
                per_server = COMPACT_PER_SERVER;
            }
        }
    };
    print_run("dnsfailover", &run, rig.addresses);
    let w = &run.window;
    let a = &w.arrivals;
    let name = match rig.per_server {
        1 => format!("{} addresses, TCP every 10 s", rig.addresses),
        n => format!(
            "{} addresses ({} records × 2 servers × {n}), TCP every 10 s",
            rig.addresses,
            rig.records()
        ),
    };
    let big = rig.addresses >= 100_000;
    table.add(
        &format!("{name}: CPU, % of one core (per check)"),
        &format!("{:.1} % ({:.1} µs)", w.cpu_percent, w.micros_per_check()),
        &format!("{:.0} checks/s", w.checks_per_second()),
        "linear in addresses",
    );
    table.add(
        &format!("{name}: memory VmRSS (VmHWM), per address"),
        &format!(
            "{} ({}), {:.2} KiB",
            mib(w.memory.rss_kib),
            mib(w.memory.peak_kib),
            w.memory.rss_kib as f64 / rig.addresses as f64
        ),
        "-",
        if big { "< 300 MiB" } else { "-" },
    );
    table.add(
        &format!("{name}: check start lateness p50 / p99"),
        &format!(
            "{:.1} ms / {:.1} ms",
            ms(a["late_p50_us"]),
            ms(a["late_p99_us"])
        ),
        &format!("gap − 10 s: p99 {:.1} ms", ms(a["gap_p99_us"])),
        if big { "p99 < 100 ms" } else { "-" },
    );
    table.add(
        &format!("{name}: start-up, {} records decided", rig.records()),
        &run.ready_in.map_or("not within the deadline".into(), |t| {
            format!("{:.1} s", t.as_secs_f64())
        }),
        "-",
        "-",
    );
    table.add(
        &format!(
            "{name}: addresses not checked in the {} s window / gone down in it / since start",
            window.as_secs()
        ),
        &format!("{} / {} / {}", a["silent"], run.downs, run.downs_total),
        "-",
        "0 / 0 / 0",
    );
}

/// The agent on `rig`: started with the open-file limit at the hard limit,
/// measured once every record is decided and two intervals have passed.
/// `Err` names why not when the agent exited (refusing its configuration).
fn run_agent(rig: &mut Rig, window: Duration, trace: bool) -> Result<Run, String> {
    let nofile = hard_nofile();
    let started = Instant::now();
    let mut agent = start_agent(&rig.config, &rig.log_path, Some((nofile, nofile)));
    println!(
        "   dnsfailover PID {}, {} records",
        agent.pid(),
        rig.records()
    );
    // Two minutes, and 2 ms more for every record.
    let deadline = Duration::from_secs(120) + Duration::from_millis(2 * rig.records() as u64);
    let ready_in = wait_for_decisions(rig, &mut agent, deadline)?.then(|| started.elapsed());
    let counts = |text: &str| {
        format!(
            "{} \"nothing to send\", {} updates, {} \"-> down\"",
            text.matches("nothing to send").count(),
            text.matches("updated ").count(),
            text.matches("-> down").count()
        )
    };
    match ready_in {
        Some(took) => println!(
            "   every record decided {:.1} s after start ({})",
            took.as_secs_f64(),
            counts(&rig.agent_log())
        ),
        None => println!(
            "   not every record decided within {deadline:?}: {}",
            counts(&rig.agent_log())
        ),
    }
    std::thread::sleep(2 * rig.interval);
    if agent.has_exited() {
        return Err(exited(&rig.agent_log()));
    }
    let downs_before = rig.agent_log().matches("-> down").count();
    let window = rig.measure(agent.pid(), window);
    let downs_total = rig.agent_log().matches("-> down").count();
    let downs = downs_total - downs_before;
    let open_files = open_files(agent.pid());
    let syscalls = if trace {
        rig.trace(agent.pid(), "dnsfailover")
    } else {
        None
    };
    agent.terminate();
    print_problems(&rig.agent_log());
    Ok(Run {
        ready_in,
        window,
        syscalls,
        downs,
        downs_total,
        open_files,
    })
}

/// Polls the agent's log until it holds a decision (an RRset found right,
/// "nothing to send", or updated) for every record; `Ok(false)` after
/// `deadline`, `Err` when the agent exits.
fn wait_for_decisions(
    rig: &Rig,
    agent: &mut ChildProcess,
    deadline: Duration,
) -> Result<bool, String> {
    let started = Instant::now();
    while started.elapsed() < deadline {
        let log = rig.agent_log();
        let decided = log.matches("nothing to send").count() + log.matches("updated ").count();
        if decided >= rig.records() {
            return Ok(true);
        }
        if agent.has_exited() {
            return Err(exited(&rig.agent_log()));
        }
        std::thread::sleep(POLL);
    }
    Ok(false)
}

/// The reason an exited agent gives: its log's last line.
fn exited(log: &str) -> String {
    let last = log.lines().last().unwrap_or("(empty log)").to_string();
    println!("   the agent exited; its log ends:\n{}", tail(log, 5));
    let short = match last.rsplit_once(": invalid YAML: ") {
        Some((_, reason)) => format!("refuses the configuration: invalid YAML: {reason}"),
        None => format!("exited: {last}"),
    };
    short.replace('|', "/")
}

/// gdnsd on the same addresses; `None` when it did not reach every address.
fn run_gdnsd(rig: &mut Rig, window: Duration) -> Option<Run> {
    let dir = rig.dir.path().join("gdnsd");
    let monitoring = Monitoring {
        port: rig.port,
        interval: rig.interval,
        timeout: Duration::from_secs(1),
        threshold: 2,
    };
    rig.listener.command("mark");
    let started = Instant::now();
    let mut gdnsd = gdnsd::start(&dir, &rig.pairs(), &monitoring, hard_nofile());
    println!("   gdnsd PID {}", gdnsd.pid());
    if !rig.wait_until_all_seen(&mut gdnsd, GDNSD_DEADLINE) {
        println!(
            "   gdnsd did not check every address within {GDNSD_DEADLINE:?}; its log ends:\n{}",
            tail(&gdnsd::log(&dir), 10)
        );
        return None;
    }
    let ready_in = Some(started.elapsed());
    std::thread::sleep(2 * rig.interval);
    let downs_before = gdnsd::log(&dir).matches(" to DOWN").count();
    let measured = rig.measure(gdnsd.pid(), window);
    let downs_total = gdnsd::log(&dir).matches(" to DOWN").count();
    let downs = downs_total - downs_before;
    let open_files = open_files(gdnsd.pid());
    let syscalls = rig.trace(gdnsd.pid(), "gdnsd");
    gdnsd.terminate();
    Some(Run {
        ready_in,
        window: measured,
        syscalls,
        downs,
        downs_total,
        open_files,
    })
}

/// `connect-floor` on the same addresses at the same interval.
fn run_floor(rig: &mut Rig, window: Duration) -> Run {
    let exe = std::env::current_exe().expect("the benchmark knows its own path");
    let limit = hard_nofile();
    let runs_for = window + 4 * rig.interval;
    let started = Instant::now();
    let mut floor = ChildProcess::spawn(
        "reference checker",
        Command::new("prlimit")
            .arg(format!("--nofile={limit}:{limit}"))
            .arg("--")
            .arg(exe)
            .arg("connect-floor")
            .arg(format!("@{}", rig.addresses_file().display()))
            .arg(rig.ports_file())
            .arg(runs_for.as_secs().to_string())
            .arg(rig.interval.as_millis().to_string())
            .stdout(Stdio::piped()),
    );
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(floor.take_stdout().expect("piped")));
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(first, "connected", "the reference checker did not start");
    let ready_in = Some(started.elapsed());
    std::thread::sleep(2 * rig.interval);
    let measured = rig.measure(floor.pid(), window);
    let open_files = open_files(floor.pid());
    floor.kill();
    Run {
        ready_in,
        window: measured,
        syscalls: None,
        downs: 0,
        downs_total: 0,
        open_files,
    }
}

fn print_run(name: &str, run: &Run, addresses: usize) {
    let w = &run.window;
    let a = &w.arrivals;
    println!(
        "   {name}: ready {}; CPU {:.1} % of one core, {} checks in {:.1} s ({:.0}/s), {:.1} µs per check; VmRSS {}, VmHWM {} ({:.2} KiB per address); {} open files; listener CPU {:.1} %",
        run.ready_in.map_or("never".into(), |t| format!("after {:.1} s", t.as_secs_f64())),
        w.cpu_percent,
        w.checks,
        w.seconds,
        w.checks_per_second(),
        w.micros_per_check(),
        mib(w.memory.rss_kib),
        mib(w.memory.peak_kib),
        w.memory.rss_kib as f64 / addresses as f64,
        run.open_files,
        w.listener_cpu,
    );
    println!(
        "   {name}: {} of {addresses} addresses not checked in the window, {} went down in it ({} since start); start lateness p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; |gap - interval| p50 {:.1} ms, p99 {:.1} ms",
        a["silent"],
        run.downs,
        run.downs_total,
        ms(a["late_p50_us"]),
        ms(a["late_p99_us"]),
        ms(a["late_max_us"]),
        ms(a["gap_p50_us"]),
        ms(a["gap_p99_us"]),
    );
    if let Some((counts, checks)) = &run.syscalls {
        println!(
            "   {name}: system calls (strace -c -f, {checks} checks): {}",
            counts.per_check(*checks, TOP_SYSCALLS)
        );
    }
}

fn print_problems(log: &str) {
    let problems: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
        .collect();
    if !problems.is_empty() {
        let last = &problems[problems.len().saturating_sub(3)..];
        println!(
            "   the agent logged {} warnings/errors; the last ones:\n{}",
            problems.len(),
            last.join("\n")
        );
    }
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}
