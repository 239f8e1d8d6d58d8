//! Failover latency: the time from a fault of the preferred server to the
//! authoritative answer changing, and back after the fault is removed, for
//! the agent and for the shell-loop baseline.
//!
//! The agent checks every 1 s with `fall: 2`, `rise: 2` and a [`CHECK_TIMEOUT`]
//! HTTP check. Each fault is injected at a chosen phase of the check cycle:
//! the web server reports when each check arrives, and the phases are drawn
//! at random, one from each tenth of the cycle (see
//! [`crate::stats::stratified_phases`]).

use std::time::{Duration, Instant, SystemTime};

use crate::baseline;
use crate::children::ChildProcess;
use crate::firewall::{self, Rules};
use crate::lab::{Lab, PRIMARY, SECONDARY};
use crate::options::Options;
use crate::report::Table;
use crate::stats::{seconds, stratified_phases, Summary};
use crate::target::WebTarget;

/// The check timeout of both contenders: a loopback or LAN health endpoint
/// answers in about a millisecond, so 150 ms leaves a wide margin while two
/// timed-out checks (`fall: 2`) still fit well within the 1 s interval.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(150);

/// The check interval of both contenders.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Longest wait for the answer to change; a run that takes longer failed.
const MOVE_DEADLINE: Duration = Duration::from_secs(15);

/// Pause after a failback before the next fault: lets the rise complete and
/// keeps faults more than one interval apart.
const SETTLE: Duration = Duration::from_millis(1_500);

/// How the preferred server fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The process is SIGKILLed: connections are refused.
    Refused,
    /// nftables drops every packet to and from it.
    Blackhole,
    /// The process is SIGSTOPped: connections are accepted, nothing answers.
    Frozen,
}

impl Fault {
    const ALL: [Fault; 3] = [Fault::Refused, Fault::Blackhole, Fault::Frozen];

    fn describe(self) -> &'static str {
        match self {
            Fault::Refused => "server killed (refused)",
            Fault::Blackhole => "packets dropped (blackhole)",
            Fault::Frozen => "server frozen (SIGSTOP)",
        }
    }

    /// The agent's target for the median detection time.
    fn target(self) -> &'static str {
        match self {
            Fault::Refused => "≤ 0.150 s",
            Fault::Blackhole | Fault::Frozen => "≤ 1.000 s",
        }
    }
}

/// Who moves the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    Agent,
    Baseline,
}

impl Contender {
    fn start(self, lab: &Lab) -> ChildProcess {
        match self {
            Contender::Agent => lab.start_agent(&lab.agent_config(CHECK_TIMEOUT)),
            Contender::Baseline => baseline::start(lab, CHECK_TIMEOUT),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Contender::Agent => "dnsfailover",
            Contender::Baseline => "shell loop",
        }
    }
}

/// Detection and failback times of one contender under one fault.
#[derive(Debug, Default)]
struct Times {
    detection: Vec<Duration>,
    failback: Vec<Duration>,
    failed_runs: usize,
}

/// Runs every fault against both contenders and adds the rows.
pub fn run(options: &Options, table: &mut Table) {
    println!("\n== Failover latency: interval 1 s, fall 2, rise 2, check timeout {CHECK_TIMEOUT:?}, {} runs each", options.runs);
    firewall::delete_leftover();
    let mut lab = Lab::start();
    for fault in Fault::ALL {
        let agent = measure(&mut lab, Contender::Agent, fault, options.runs);
        let baseline = measure(&mut lab, Contender::Baseline, fault, options.runs);
        add_rows(table, fault, &agent, &baseline);
    }
}

fn measure(lab: &mut Lab, contender: Contender, fault: Fault, runs: usize) -> Times {
    println!("-- {}: {}", contender.name(), fault.describe());
    let started = SystemTime::now();
    let mut process = contender.start(lab);
    let mut watch = lab.watch();
    let mut times = Times::default();
    wait_settled(lab, &mut watch, &mut process, contender, started);
    let fault_phases = stratified_phases(runs);
    let repair_phases = stratified_phases(runs);
    for run in 0..runs {
        let at = wait_for_phase(lab, fault_phases[run]);
        let (injected, blackhole) = inject(lab, fault);
        let late = injected.duration_since(at);
        let detected = watch.wait_for(SECONDARY, MOVE_DEADLINE);
        let Some(detected) = detected else {
            times.failed_runs += 1;
            println!("   run {run}: not moved within {MOVE_DEADLINE:?}");
            remove(lab, fault, blackhole);
            wait_settled(lab, &mut watch, &mut process, contender, SystemTime::now());
            continue;
        };
        std::thread::sleep(INTERVAL.mul_f64(repair_phases[run]));
        let repaired = remove(lab, fault, blackhole);
        let back = watch.wait_for(PRIMARY, MOVE_DEADLINE);
        let detection = detected - injected;
        times.detection.push(detection);
        match back {
            Some(back) => times.failback.push(back - repaired),
            None => times.failed_runs += 1,
        }
        println!(
            "   run {run}: phase {:.2} (+{}ms late), detected in {} s, failback in {} s",
            fault_phases[run],
            late.as_millis(),
            seconds(detection),
            back.map_or("-".into(), |back| seconds(back - repaired)),
        );
        let repaired_at = SystemTime::now();
        std::thread::sleep(SETTLE);
        wait_settled(lab, &mut watch, &mut process, contender, repaired_at);
    }
    let status = process.terminate();
    if contender == Contender::Agent && !status.is_some_and(|s| s.success()) {
        println!(
            "   the agent exited with {status:?}; its log:\n{}",
            lab.agent_log()
        );
    }
    times
}

/// Waits until the record points at the primary and the contender has
/// checked the primary since `since` and within the last interval and a half.
fn wait_settled(
    lab: &Lab,
    watch: &mut crate::dnswatch::DnsWatch,
    process: &mut ChildProcess,
    contender: Contender,
    since: SystemTime,
) {
    let started = Instant::now();
    while started.elapsed() < MOVE_DEADLINE {
        assert!(
            !process.has_exited(),
            "{} exited; agent log:\n{}",
            contender.name(),
            lab.agent_log()
        );
        let recent = |target: &WebTarget| {
            target.last_request().is_some_and(|at| {
                at >= since && at.elapsed().is_ok_and(|age| age < INTERVAL + INTERVAL / 2)
            })
        };
        // The agent also checks the secondary, and has decided once.
        let agent_ready = || {
            let log = lab.agent_log();
            recent(&lab.secondary) && (log.contains("nothing to send") || log.contains("updated"))
        };
        let ready = recent(&lab.primary) && (contender == Contender::Baseline || agent_ready());
        if ready && watch.addresses().as_deref() == Some(&[PRIMARY]) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{} did not settle on the primary within {MOVE_DEADLINE:?}; agent log:\n{}",
        contender.name(),
        lab.agent_log()
    );
}

/// Sleeps until `phase` (0..1) of the check cycle, measured from the last
/// check the primary saw; returns the planned instant.
fn wait_for_phase(lab: &Lab, phase: f64) -> Instant {
    let last = lab.primary.last_request().expect("the primary was checked");
    let now = SystemTime::now();
    let mut at = last + INTERVAL.mul_f64(phase);
    while at < now + Duration::from_millis(20) {
        at += INTERVAL;
    }
    let wait = at.duration_since(now).unwrap_or_default();
    let planned = Instant::now() + wait;
    std::thread::sleep(wait);
    planned
}

/// Injects `fault`; returns when it took effect.
fn inject(lab: &mut Lab, fault: Fault) -> (Instant, Option<Rules>) {
    match fault {
        Fault::Refused => lab.primary.kill(),
        Fault::Frozen => lab.primary.freeze(),
        Fault::Blackhole => {
            let blackhole = firewall::blackhole(lab.primary.address());
            return (Instant::now(), Some(blackhole));
        }
    }
    (Instant::now(), None)
}

/// Removes `fault`; returns when the server could answer again.
fn remove(lab: &mut Lab, fault: Fault, blackhole: Option<Rules>) -> Instant {
    match fault {
        Fault::Refused => lab.primary.revive(),
        Fault::Frozen => lab.primary.thaw(),
        Fault::Blackhole => {
            if let Some(blackhole) = blackhole {
                blackhole.remove();
            }
        }
    }
    Instant::now()
}

fn add_rows(table: &mut Table, fault: Fault, agent: &Times, baseline: &Times) {
    let show = |samples: &[Duration], failed: usize| {
        let text = Summary::of(samples).map_or("no data".into(), |s| {
            format!(
                "{} s ({}–{})",
                seconds(s.median),
                seconds(s.min),
                seconds(s.max)
            )
        });
        if failed > 0 {
            format!("{text}, {failed} failed runs")
        } else {
            text
        }
    };
    for (what, pick, target) in [
        ("detection", Pick::Detection, fault.target()),
        ("failback", Pick::Failback, "-"),
    ] {
        let agent_text = show(pick.of(agent), agent.failed_runs);
        let baseline_text = show(pick.of(baseline), baseline.failed_runs);
        println!(
            "   {} {what}: dnsfailover {agent_text}; shell loop {baseline_text}",
            fault.describe()
        );
        table.add(
            &format!("{}: {what}, median (min–max)", fault.describe()),
            &agent_text,
            &format!("shell loop: {baseline_text}"),
            target,
        );
    }
}

#[derive(Clone, Copy)]
enum Pick {
    Detection,
    Failback,
}

impl Pick {
    fn of(self, times: &Times) -> &[Duration] {
        match self {
            Pick::Detection => &times.detection,
            Pick::Failback => &times.failback,
        }
    }
}
