//! The soak's faults: drawn from a seeded generator, injected into the lab
//! and undone after a random while. Web servers are killed, frozen
//! (SIGSTOP) and blackholed (nftables), up to [`MAX_TARGET_FAULTS`] at once;
//! `named` is stopped and started again, or frozen and thawed; the agent is
//! SIGKILLed and started again (only in the first half of the run, so that
//! the last agent lives long enough to measure its memory).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::seeded::SeededRng;
use crate::soak_lab::{SoakLab, TargetState};

/// Web servers faulted at the same time at most.
const MAX_TARGET_FAULTS: usize = 4;
/// Time between two faults.
const GAP: (Duration, Duration) = (Duration::from_millis(200), Duration::from_millis(2_000));
/// How long a web server stays faulted.
const TARGET_HOLD: (Duration, Duration) = (Duration::from_millis(300), Duration::from_secs(6));
/// How long `named` stays stopped or frozen.
const NAMESERVER_HOLD: (Duration, Duration) =
    (Duration::from_millis(200), Duration::from_millis(3_000));
/// How long the agent stays dead.
const AGENT_HOLD: (Duration, Duration) = (Duration::from_millis(100), Duration::from_millis(2_000));

/// The kinds of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    TargetKilled,
    TargetFrozen,
    TargetBlackholed,
    NameserverRestarted,
    NameserverFrozen,
    AgentKilled,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::TargetKilled => "web server killed (SIGKILL), revived",
            Kind::TargetFrozen => "web server frozen (SIGSTOP), thawed",
            Kind::TargetBlackholed => "web server blackholed (nftables), let through",
            Kind::NameserverRestarted => "named stopped, started again",
            Kind::NameserverFrozen => "named frozen (SIGSTOP), thawed",
            Kind::AgentKilled => "agent killed (SIGKILL), started again",
        })
    }
}

/// One fault in force, undone at `until`.
struct Active {
    kind: Kind,
    target: Option<usize>,
    until: Instant,
}

/// The fault schedule of one run.
pub struct Chaos {
    rng: SeededRng,
    active: Vec<Active>,
    next_at: Instant,
    agent_kills_until: Instant,
    /// Faults injected, by kind.
    pub injected: BTreeMap<Kind, u64>,
}

impl Chaos {
    /// A schedule from `seed` for a run of `duration` from now.
    pub fn new(seed: u64, duration: Duration) -> Chaos {
        let now = Instant::now();
        Chaos {
            rng: SeededRng::new(seed),
            active: Vec::new(),
            next_at: now,
            agent_kills_until: now + duration / 2,
            injected: BTreeMap::new(),
        }
    }

    /// Undoes the faults that are due and injects the next one when it is time.
    pub fn tick(&mut self, lab: &mut SoakLab) {
        let now = Instant::now();
        let (due, rest): (Vec<Active>, Vec<Active>) =
            self.active.drain(..).partition(|fault| fault.until <= now);
        self.active = rest;
        for fault in due {
            undo(lab, &fault);
        }
        if now >= self.next_at {
            self.inject(lab, now);
            self.next_at = now + self.rng.between(GAP.0, GAP.1);
        }
    }

    /// Ends the faults: the preferred web servers of the first record are
    /// killed last, so that the convergence measured afterwards always holds
    /// a failover; then everything is undone except that killed web servers
    /// stay dead, so the answer DNS must converge to depends on the run.
    /// Returns when the last fault took effect.
    pub fn stop(&mut self, lab: &mut SoakLab) -> Instant {
        for index in 0..lab.targets.len() {
            let target = &lab.targets[index];
            if target.record == 0 && target.server == 0 && target.state == TargetState::Up {
                lab.kill_target(index);
                *self.injected.entry(Kind::TargetKilled).or_default() += 1;
            }
        }
        let last_fault = Instant::now();
        for fault in std::mem::take(&mut self.active) {
            if fault.kind != Kind::TargetKilled {
                undo(lab, &fault);
            }
        }
        last_fault
    }

    fn inject(&mut self, lab: &mut SoakLab, now: Instant) {
        let busy = |kind: &[Kind], active: &[Active]| active.iter().any(|a| kind.contains(&a.kind));
        let mut kinds = vec![
            Kind::TargetKilled,
            Kind::TargetFrozen,
            Kind::TargetBlackholed,
        ];
        kinds.extend([
            Kind::TargetKilled,
            Kind::TargetFrozen,
            Kind::TargetBlackholed,
        ]);
        if !busy(
            &[Kind::NameserverRestarted, Kind::NameserverFrozen],
            &self.active,
        ) {
            kinds.extend([Kind::NameserverRestarted, Kind::NameserverFrozen]);
        }
        if now < self.agent_kills_until && !busy(&[Kind::AgentKilled], &self.active) {
            kinds.push(Kind::AgentKilled);
        }
        let kind = kinds[self.rng.below(kinds.len() as u64) as usize];
        let (target, hold) = match kind {
            Kind::TargetKilled | Kind::TargetFrozen | Kind::TargetBlackholed => {
                let faulted = self.active.iter().filter(|a| a.target.is_some()).count();
                let up: Vec<usize> = (0..lab.targets.len())
                    .filter(|i| lab.targets[*i].state == TargetState::Up)
                    .collect();
                if faulted >= MAX_TARGET_FAULTS || up.is_empty() {
                    return;
                }
                let index = up[self.rng.below(up.len() as u64) as usize];
                match kind {
                    Kind::TargetKilled => lab.kill_target(index),
                    Kind::TargetFrozen => lab.freeze_target(index),
                    _ => lab.blackhole_target(index),
                }
                (Some(index), TARGET_HOLD)
            }
            Kind::NameserverRestarted => {
                lab.stop_nameserver();
                (None, NAMESERVER_HOLD)
            }
            Kind::NameserverFrozen => {
                lab.freeze_nameserver();
                (None, NAMESERVER_HOLD)
            }
            Kind::AgentKilled => {
                lab.kill_agent();
                (None, AGENT_HOLD)
            }
        };
        *self.injected.entry(kind).or_default() += 1;
        let until = Instant::now() + self.rng.between(hold.0, hold.1);
        self.active.push(Active {
            kind,
            target,
            until,
        });
    }
}

fn undo(lab: &mut SoakLab, fault: &Active) {
    match fault.kind {
        Kind::NameserverRestarted | Kind::NameserverFrozen => lab.restore_nameserver(),
        Kind::AgentKilled => lab.start_agent(),
        _ => {
            if let Some(index) = fault.target {
                lab.restore_target(index);
            }
        }
    }
}
