//! Health of one checked address, with rise/fall hysteresis.
//!
//! A single failed check says little: a dropped SYN or a restarting worker
//! looks the same as a dead server. An address therefore changes state only
//! after `fall` consecutive failures (or `rise` consecutive successes), and a
//! result that breaks the streak starts the count again.

use std::fmt;

/// What the checks say about one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Not enough evidence yet (since start-up).
    Unknown,
    /// Answering its checks.
    Up,
    /// Failing its checks.
    Down,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        })
    }
}

/// A change of health caused by one check result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The health before the check.
    pub from: Health,
    /// The health after the check.
    pub to: Health,
}

/// Counts consecutive check results of one address and turns them into [`Health`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTracker {
    health: Health,
    rise: u32,
    fall: u32,
    /// The result the current streak consists of; `None` before any result.
    streak_of: Option<bool>,
    /// How many results in a row were `streak_of`.
    streak: u32,
}

impl HealthTracker {
    /// A tracker in [`Health::Unknown`]. Thresholds below 1 are treated as 1.
    pub fn new(rise: u32, fall: u32) -> Self {
        HealthTracker {
            health: Health::Unknown,
            rise: rise.max(1),
            fall: fall.max(1),
            streak_of: None,
            streak: 0,
        }
    }

    /// Changes the thresholds (a new configuration); the current health and
    /// streak stay. Thresholds below 1 are treated as 1.
    pub fn set_thresholds(&mut self, rise: u32, fall: u32) {
        self.rise = rise.max(1);
        self.fall = fall.max(1);
    }

    /// The current health.
    pub fn health(&self) -> Health {
        self.health
    }

    /// Records one check result; returns the transition when the health changes.
    pub fn observe(&mut self, success: bool) -> Option<Transition> {
        if self.streak_of == Some(success) {
            self.streak = self.streak.saturating_add(1);
        } else {
            self.streak_of = Some(success);
            self.streak = 1;
        }
        let target = if success { Health::Up } else { Health::Down };
        let needed = if success { self.rise } else { self.fall };
        if self.health == target || self.streak < needed {
            return None;
        }
        let from = self.health;
        self.health = target;
        Some(Transition { from, to: target })
    }

    /// True while evidence toward a change is accumulating: the health is
    /// unknown, or the latest results contradict the current health. The
    /// scheduler checks quickly in this state to reach a verdict soon.
    pub fn is_confirming(&self) -> bool {
        match self.health {
            Health::Unknown => true,
            Health::Up => self.streak_of == Some(false),
            Health::Down => self.streak_of == Some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `results` ('+' success, '-' failure) and returns the health after each.
    fn run(rise: u32, fall: u32, results: &str) -> Vec<Health> {
        let mut tracker = HealthTracker::new(rise, fall);
        results
            .chars()
            .map(|c| {
                let before = tracker.health();
                let transition = tracker.observe(c == '+');
                let after = tracker.health();
                match transition {
                    Some(t) => assert_eq!((t.from, t.to), (before, after)),
                    None => assert_eq!(before, after),
                }
                after
            })
            .collect()
    }

    fn states(s: &str) -> Vec<Health> {
        s.chars()
            .map(|c| match c {
                '?' => Health::Unknown,
                'U' => Health::Up,
                'D' => Health::Down,
                other => panic!("bad state letter {other}"),
            })
            .collect()
    }

    #[test]
    fn thresholds_table() {
        // (rise, fall, results, health after each result)
        let cases = [
            (2, 3, "++", "?U"),
            (2, 3, "---", "??D"),
            (2, 3, "+-+-+-", "??????"),
            (2, 3, "--+--", "?????"),
            (2, 3, "--+---", "?????D"),
            (2, 3, "++--+---", "?UUUUUUD"),
            (2, 3, "++---++", "?UUUDDU"),
            (2, 3, "++---+-++", "?UUUDDDDU"),
            (1, 1, "+-+-", "UDUD"),
            (1, 1, "-", "D"),
            (3, 1, "++-+++", "??DDDU"),
            (1, 3, "+--+---", "UUUUUUD"),
        ];
        for (rise, fall, results, expected) in cases {
            assert_eq!(
                run(rise, fall, results),
                states(expected),
                "rise {rise} fall {fall} results {results}"
            );
        }
    }

    #[test]
    fn observe_reports_each_transition_once() {
        let mut tracker = HealthTracker::new(2, 2);
        assert_eq!(tracker.observe(true), None);
        assert_eq!(
            tracker.observe(true),
            Some(Transition {
                from: Health::Unknown,
                to: Health::Up
            })
        );
        assert_eq!(tracker.observe(true), None);
        assert_eq!(tracker.observe(false), None);
        assert_eq!(
            tracker.observe(false),
            Some(Transition {
                from: Health::Up,
                to: Health::Down
            })
        );
        assert_eq!(tracker.observe(false), None);
    }

    #[test]
    fn zero_thresholds_act_as_one() {
        assert_eq!(run(0, 0, "+-"), states("UD"));
    }

    #[test]
    fn confirming_while_evidence_accumulates() {
        let mut tracker = HealthTracker::new(2, 2);
        assert!(tracker.is_confirming(), "unknown needs a verdict");
        tracker.observe(true);
        assert!(tracker.is_confirming());
        tracker.observe(true);
        assert!(!tracker.is_confirming(), "up and settled");
        tracker.observe(false);
        assert!(tracker.is_confirming(), "failure while up");
        tracker.observe(true);
        assert!(!tracker.is_confirming(), "streak broken, settled again");
        tracker.observe(false);
        tracker.observe(false);
        assert_eq!(tracker.health(), Health::Down);
        assert!(!tracker.is_confirming(), "down and settled");
        tracker.observe(true);
        assert!(tracker.is_confirming(), "success while down");
    }
}
