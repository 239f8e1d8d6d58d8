//! The chaos soak: the agent against a real `named` while web servers,
//! `named` and the agent itself are faulted at random (see [`crate::chaos`])
//! for `--duration`, with a watcher asking for every record every 20 ms (see
//! [`crate::soak_watch`]), beside `--background` addresses checked over TCP.
//!
//! Invariants, each printed and failing the run when broken:
//! - no answer is ever empty or holds an address that is not configured;
//! - once the faults stop, DNS converges to the first server up of each
//!   record and family within [`CONVERGENCE_LIMIT`], and again once the
//!   killed web servers are back;
//! - `named` applied no more UPDATEs than the agent had decision changes plus
//!   retries;
//! - the last agent's RSS grows by less than [`RSS_GROWTH_LIMIT`] % after
//!   warm-up, and its open descriptors return to the baseline of the first.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::capacity::{self, wait_for_count};
use crate::chaos::Chaos;
use crate::options::Options;
use crate::procstat::mib;
use crate::report::Table;
use crate::soak_lab::{SoakLab, TargetState, NAMES, ZONE};
use crate::soak_ledger::{self, Managed};
use crate::soak_resources::{self, MemoryFigures, Sample};
use crate::soak_watch::{Watched, Watcher, ROUND};
use crate::stats::random_below;

/// How quickly DNS must show the right answer once the faults stop.
const CONVERGENCE_LIMIT: Duration = Duration::from_secs(5);
/// How long convergence is waited for at most, to report how late it was.
const CONVERGENCE_WAIT: Duration = Duration::from_secs(60);
/// Largest RSS growth allowed after warm-up, in %.
const RSS_GROWTH_LIMIT: f64 = 5.0;
/// Time the first agent runs before the descriptor baseline is taken.
const BASELINE_AFTER: Duration = Duration::from_secs(10);
/// Window of each descriptor reading.
const FD_WINDOW: Duration = Duration::from_secs(5);
/// Time between two memory samples.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Runs the soak; returns whether every invariant held.
pub fn run(options: &Options, table: &mut Table) -> bool {
    let seed = options.seed.unwrap_or_else(|| random_below(u64::MAX));
    println!(
        "\n== Chaos soak: seed {seed} (repeat with --seed {seed}), faults for {} s, \
         {} records × 3 servers × A and AAAA, {} background addresses (TCP)",
        options.duration.as_secs(),
        NAMES.len(),
        options.background
    );
    let mut lab = SoakLab::start(options.background);
    let watched = watched(&lab);
    let watcher = Watcher::start(lab.server.addr(), watched.clone());
    let serial_before = lab.server.soa_serial(ZONE);
    let mut failures: Vec<String> = Vec::new();

    lab.start_agent();
    let rrsets = watched.len() + lab.background_records;
    let log_path = lab.agent_log_path(0);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let agent = lab.agent().expect("the agent was started");
    let settled = wait_for_count(&log, "nothing to send", rrsets, agent);
    if !settled {
        failures.push("the first agent did not decide every record".into());
    }
    std::thread::sleep(BASELINE_AFTER);
    let pid = lab.agent_pid().expect("the agent runs");
    let baseline = soak_resources::fd_range(pid, FD_WINDOW);
    println!(
        "   agent PID {pid}: {} open descriptors at rest (lowest–highest over {FD_WINDOW:?}: {}–{})",
        baseline.0, baseline.0, baseline.1
    );

    let mut chaos = Chaos::new(seed, options.duration);
    let mut samples: Vec<Sample> = Vec::new();
    let started = Instant::now();
    let mut next_sample = started;
    while started.elapsed() < options.duration {
        chaos.tick(&mut lab);
        if let Some(agent) = lab.agent() {
            if agent.has_exited() {
                failures.push("the agent exited by itself during the faults".into());
                lab.kill_agent();
                lab.start_agent();
            }
        }
        if Instant::now() >= next_sample {
            let process = lab.agent_starts.len() - 1;
            if let Some(sample) = lab
                .agent_pid()
                .and_then(|p| soak_resources::sample(process, p))
            {
                samples.push(sample);
            }
            next_sample += SAMPLE_EVERY;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The clock runs from the last fault, undoing the others included.
    let stopped = chaos.stop(&mut lab);
    let killed: Vec<usize> = (0..lab.targets.len())
        .filter(|i| lab.targets[*i].state == TargetState::Killed)
        .collect();
    let first = converge(&lab, &watcher, &watched, stopped);
    for index in &killed {
        lab.restore_target(*index);
    }
    let revived = Instant::now();
    let second = converge(&lab, &watcher, &watched, revived);

    let process = lab.agent_starts.len() - 1;
    let pid = lab.agent_pid().expect("the agent runs");
    std::thread::sleep(FD_WINDOW);
    let end_fds = soak_resources::fd_range(pid, FD_WINDOW);
    if let Some(sample) = soak_resources::sample(process, pid) {
        samples.push(sample);
    }
    let tally = watcher.finish();
    let serial_after = lab.server.soa_serial(ZONE);
    let logs: Vec<String> = (0..lab.agent_starts.len())
        .map(|i| lab.agent_log(i))
        .collect();
    let ledger = soak_ledger::replay(&logs, &managed(&lab, &watched));
    let memory = MemoryFigures::of(&samples, process, lab.agent_starts[process]);
    let peak_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let updates = u64::from(serial_after.wrapping_sub(serial_before));

    println!(
        "   faults injected ({} in all):",
        chaos.injected.values().sum::<u64>()
    );
    for (kind, count) in &chaos.injected {
        println!("     {count:>5}  {kind}");
    }
    println!(
        "   watcher: {} rounds every {ROUND:?}, {} answers checked, {} bad, {} unanswered queries \
         in {} no-answer periods (longest {:.2} s), {} other response codes",
        tally.rounds,
        tally.answers_checked,
        tally.bad_answers,
        tally.unanswered,
        tally.no_answer_periods,
        tally.longest_no_answer.as_secs_f64(),
        tally.other_codes
    );
    for bad in &tally.bad_described {
        println!("     bad answer: {bad}");
    }
    if tally.bad_answers > 0 {
        failures.push(format!("{} bad answers", tally.bad_answers));
    }
    if tally.answers_checked == 0 {
        failures.push("the watcher checked no answer".into());
    }
    let killed_names: Vec<String> = killed
        .iter()
        .map(|i| lab.targets[*i].dns_address.to_string())
        .collect();
    report_convergence(
        &format!(
            "after the faults stopped ({} web servers left dead: {})",
            killed.len(),
            killed_names.join(", ")
        ),
        first,
        &mut failures,
    );
    report_convergence(
        "after the dead web servers were revived",
        second,
        &mut failures,
    );
    println!(
        "   updates: named applied {updates} (SOA serial {serial_before} -> {serial_after}); \
         the agents logged {} health changes, {} decision changes, {} retried updates, {} changes applied, {} agent processes",
        ledger.health_changes,
        ledger.decision_changes,
        ledger.retries,
        ledger.applied,
        lab.agent_starts.len()
    );
    if updates > ledger.decision_changes + ledger.retries {
        failures.push(format!(
            "{updates} UPDATEs applied > {} decision changes + {} retries",
            ledger.decision_changes, ledger.retries
        ));
    }
    match memory {
        Some(memory) => {
            println!(
                "   memory of the last agent (PID {pid}) over {:.0} s after its warm-up of {:?}: \
                 VmRSS {} at warm-up, max {} ({:+.1} %), end {} ({:+.1} %)",
                memory.span.as_secs_f64(),
                soak_resources::WARM_UP,
                mib(memory.warm_kib),
                mib(memory.max_kib),
                memory.growth(memory.max_kib),
                mib(memory.end_kib),
                memory.growth(memory.end_kib)
            );
            if memory.growth(memory.max_kib) >= RSS_GROWTH_LIMIT {
                failures.push(format!(
                    "RSS grew by {:.1} % after warm-up",
                    memory.growth(memory.max_kib)
                ));
            }
        }
        None => failures.push("the last agent ran too briefly to measure its memory".into()),
    }
    println!(
        "   open descriptors: baseline {} (first agent at rest), peak {peak_fds} (during the faults), \
         end {} (last agent at rest; highest {})",
        baseline.0, end_fds.0, end_fds.1
    );
    if end_fds.0 > baseline.1 {
        failures.push(format!(
            "open descriptors did not return to the baseline: {} at rest after the faults, {}–{} before",
            end_fds.0, baseline.0, baseline.1
        ));
    }
    add_rows(
        table,
        options,
        &chaos,
        &tally,
        updates,
        &ledger,
        first,
        memory,
        (baseline.0, peak_fds, end_fds.0),
    );
    if failures.is_empty() {
        println!("   soak: every invariant held (seed {seed})");
        true
    } else {
        for failure in &failures {
            println!("   SOAK FAILED: {failure}");
        }
        println!(
            "   repeat with: tests/bench/run --only soak --seed {seed} --duration {}",
            options.duration.as_secs()
        );
        let kept = keep_logs(&lab, seed, &logs);
        println!(
            "   the logs of named and of every agent are kept in {}; the last agent's ends with:\n{}",
            kept.display(),
            capacity::tail(logs.last().map_or("", String::as_str), 20)
        );
        false
    }
}

/// Copies the logs of `named` and of every agent out of the lab's temporary
/// directories, for a failed run; returns where they are.
fn keep_logs(lab: &SoakLab, seed: u64, logs: &[String]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dnsfailover-soak-{seed}"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("named.log"), lab.server.log());
    for (i, log) in logs.iter().enumerate() {
        let _ = std::fs::write(dir.join(format!("agent-{i}.log")), log);
    }
    dir
}

/// Every soak RRset the watcher asks for.
fn watched(lab: &SoakLab) -> Vec<Watched> {
    let mut watched = Vec::new();
    for (record, name) in NAMES.iter().enumerate() {
        for v6 in [false, true] {
            watched.push(Watched {
                name: format!("{name}.{ZONE}"),
                v6,
                configured: lab.configured(record, v6),
            });
        }
    }
    watched
}

/// Every RRset the agent manages, for the ledger.
fn managed(lab: &SoakLab, watched: &[Watched]) -> Vec<Managed> {
    let mut managed: Vec<Managed> = watched
        .iter()
        .map(|w| Managed {
            record: w.name.clone(),
            addresses: w.configured.clone(),
        })
        .collect();
    for record in 0..lab.background_records {
        managed.push(Managed {
            record: format!("r{record}.{ZONE}"),
            addresses: capacity::ADDRESSES.to_vec(),
        });
    }
    managed
}

/// Waits until the watcher's answers, from a round after `since`, are what
/// the lab's state calls for; returns how long that took.
fn converge(
    lab: &SoakLab,
    watcher: &Watcher,
    watched: &[Watched],
    since: Instant,
) -> Option<Duration> {
    let expected: Vec<Option<IpAddr>> = NAMES
        .iter()
        .enumerate()
        .flat_map(|(record, _)| [lab.expected(record, false), lab.expected(record, true)])
        .collect();
    assert_eq!(expected.len(), watched.len());
    while since.elapsed() < CONVERGENCE_WAIT {
        if let Some((at, answers)) = watcher.latest() {
            let right = at > since
                && answers.iter().zip(&expected).all(|(answer, expected)| {
                    match (answer, expected) {
                        (Some(addresses), Some(address)) => addresses == &[*address],
                        // Every server of the family down: DNS stays as it was.
                        (Some(addresses), None) => !addresses.is_empty(),
                        (None, _) => false,
                    }
                });
            if right {
                return Some(at - since);
            }
        }
        std::thread::sleep(ROUND);
    }
    None
}

fn report_convergence(when: &str, took: Option<Duration>, failures: &mut Vec<String>) {
    match took {
        Some(took) => {
            println!("   converged {when}: {:.2} s", took.as_secs_f64());
            if took > CONVERGENCE_LIMIT {
                failures.push(format!(
                    "converged {when} only after {:.2} s",
                    took.as_secs_f64()
                ));
            }
        }
        None => {
            println!("   did not converge {when} within {CONVERGENCE_WAIT:?}");
            failures.push(format!("did not converge {when}"));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn add_rows(
    table: &mut Table,
    options: &Options,
    chaos: &Chaos,
    tally: &crate::soak_watch::Tally,
    updates: u64,
    ledger: &soak_ledger::Ledger,
    convergence: Option<Duration>,
    memory: Option<MemoryFigures>,
    fds: (usize, usize, usize),
) {
    let seconds = options.duration.as_secs();
    let length = if seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    };
    let mut faults = String::new();
    for (kind, count) in &chaos.injected {
        let _ = write!(
            faults,
            "{}{count} {kind}",
            if faults.is_empty() { "" } else { ", " }
        );
    }
    table.add(
        &format!("soak {length}: faults injected"),
        &chaos.injected.values().sum::<u64>().to_string(),
        &faults,
        "-",
    );
    table.add(
        &format!("soak {length}: answers checked / bad"),
        &format!("{} / {}", tally.answers_checked, tally.bad_answers),
        &format!(
            "{} no-answer periods (named stopped or frozen)",
            tally.no_answer_periods
        ),
        "0 bad",
    );
    table.add(
        &format!("soak {length}: convergence after the faults"),
        &convergence.map_or("none".into(), |took| format!("{:.2} s", took.as_secs_f64())),
        "-",
        "≤ 5 s",
    );
    table.add(
        &format!("soak {length}: UPDATEs applied"),
        &updates.to_string(),
        &format!(
            "{} decision changes + {} retries",
            ledger.decision_changes, ledger.retries
        ),
        "≤ decisions + retries",
    );
    if let Some(memory) = memory {
        table.add(
            &format!(
                "soak {length}, {} addresses: VmRSS warm-up / max / end",
                options.background + 24
            ),
            &format!(
                "{} / {} / {}",
                mib(memory.warm_kib),
                mib(memory.max_kib),
                mib(memory.end_kib)
            ),
            &format!("{:+.1} % at most", memory.growth(memory.max_kib)),
            "< +5 %",
        );
    }
    table.add(
        &format!("soak {length}: open descriptors baseline / peak / end"),
        &format!("{} / {} / {}", fds.0, fds.1, fds.2),
        "-",
        "end ≤ baseline",
    );
}
