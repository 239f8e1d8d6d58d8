//! When the next check of one address is due.
//!
//! Users judge failover by the time from a server dying to DNS moving, so the
//! schedule has two speeds:
//!
//! - **Cadence.** While the health is settled, checks start one `interval`
//!   apart, measured from the slot the previous check started in. Neither the
//!   check's duration nor a late timer wake-up shifts later checks; a check
//!   that overran skips the slots it missed instead of running twice in a row.
//! - **Confirmation.** While evidence toward a change accumulates (health
//!   unknown, failures while up, successes while down), the next check runs
//!   [`confirm_delay`] after the previous one *finished*, so `fall` failures
//!   cost roughly `fall` check timeouts instead of `fall` intervals.
//!
//! A kept connection that the server resets is a hint that the server may be
//! going away: [`Schedule::on_connection_lost`] makes a check due at once, but
//! at most once per interval so that a server closing idle connections cannot
//! cause a storm of checks.

use std::time::{Duration, Instant};

/// Confirmation checks run at most this many times as often as cadence checks.
pub const CONFIRM_DELAY_DIVISOR: u32 = 20;

/// Shortest pause between confirmation checks: even with a tiny interval a
/// failing address is not hammered in a tight loop.
pub const MIN_CONFIRM_DELAY: Duration = Duration::from_millis(10);

/// Longest pause between confirmation checks: with `fall: 3` the pauses add at
/// most half a second to the detection time, which stays dominated by the
/// check timeout, whatever the interval.
pub const MAX_CONFIRM_DELAY: Duration = Duration::from_millis(250);

/// The time over which the first checks of a few addresses are spread:
/// long enough to smooth them out, short enough that a restarted agent has
/// a verdict on every address soon, whatever the interval.
pub const MAX_START_SPREAD: Duration = Duration::from_secs(1);

/// The most first checks started per second. Beyond it the first checks
/// are spread over longer than [`MAX_START_SPREAD`], up to the interval:
/// each address keeps the cadence of its first check, so 10,000 addresses
/// started within one second of a 2-second interval would check in bursts
/// (10,000 in one second, none in the next) for as long as the agent runs.
pub const MAX_START_RATE: u32 = 2_000;

/// The time over which the first checks of `count` addresses are spread:
/// [`MAX_START_SPREAD`], longer when that would start more than
/// [`MAX_START_RATE`] a second, never longer than the interval.
pub fn start_spread(interval: Duration, count: usize) -> Duration {
    let at_most_rate =
        Duration::from_secs(1) * u32::try_from(count).unwrap_or(u32::MAX) / MAX_START_RATE;
    interval.min(MAX_START_SPREAD.max(at_most_rate))
}

/// How long after start-up the first check of address number `index` (of
/// `count`) is due: `index / count` of [`start_spread`], so the addresses
/// start evenly spaced and, their cadence being anchored to their own
/// checks, stay spaced.
pub fn first_check_offset(index: usize, count: usize, interval: Duration) -> Duration {
    if count == 0 {
        return Duration::ZERO;
    }
    let spread = start_spread(interval, count).as_nanos();
    let offset = spread * (index % count) as u128 / count as u128;
    Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
}

/// The pause between a finished check and the next one while a verdict is
/// pending: `interval / 20`, clamped to 10 ms ..= 250 ms.
///
/// The divisor bounds the extra load on a struggling server to twenty checks
/// per interval; the clamp keeps that pause long enough to let a brief blip
/// (a dropped packet, a restarting worker) pass and short enough that the
/// user-visible failover time does not grow with long intervals.
pub fn confirm_delay(interval: Duration) -> Duration {
    (interval / CONFIRM_DELAY_DIVISOR).clamp(MIN_CONFIRM_DELAY, MAX_CONFIRM_DELAY)
}

/// The check timetable of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    interval: Duration,
    next_due: Instant,
    /// The cadence slot `next_due` stands for, when the cadence set it.
    cadence_slot: Option<Instant>,
    /// When a lost connection last made a check due early.
    last_forced: Option<Instant>,
}

impl Schedule {
    /// A schedule whose first check is due at `first_due`. A zero interval is
    /// treated as one millisecond (the configuration never contains one).
    pub fn new(interval: Duration, first_due: Instant) -> Self {
        Schedule {
            interval: interval.max(Duration::from_millis(1)),
            next_due: first_due,
            cadence_slot: None,
            last_forced: None,
        }
    }

    /// The interval between settled checks.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Changes the interval (a new configuration). The check already planned
    /// stays where it is unless the new interval brings it closer.
    pub fn set_interval(&mut self, interval: Duration, now: Instant) {
        let interval = interval.max(Duration::from_millis(1));
        if interval == self.interval {
            return;
        }
        self.interval = interval;
        if self.next_due > now + interval {
            self.next_due = now + interval;
            self.cadence_slot = None;
        }
    }

    /// When the next check should start.
    pub fn next_due(&self) -> Instant {
        self.next_due
    }

    /// Plans the next check after one that ran from `started` to `finished`.
    /// `confirming` comes from [`super::HealthTracker::is_confirming`] after
    /// the check's result was recorded.
    pub fn on_check_finished(&mut self, started: Instant, finished: Instant, confirming: bool) {
        let finished = finished.max(started);
        if confirming {
            self.next_due = finished + confirm_delay(self.interval);
            self.cadence_slot = None;
            return;
        }
        let anchor = match self.cadence_slot {
            Some(slot) if slot <= started && started < slot + self.interval => slot,
            _ => started,
        };
        let next = self.first_slot_not_before(anchor, finished);
        self.next_due = next;
        self.cadence_slot = Some(next);
    }

    /// A kept connection to the address was reset by the server at `now`:
    /// makes a check due now unless one already is, or one was forced less
    /// than an interval ago. Returns whether the schedule changed.
    pub fn on_connection_lost(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last_forced {
            if now < last + self.interval {
                return false;
            }
        }
        if self.next_due <= now {
            return false;
        }
        self.next_due = now;
        self.cadence_slot = None;
        self.last_forced = Some(now);
        true
    }

    /// The earliest `anchor + k * interval` (k >= 1) that is not before `finished`.
    fn first_slot_not_before(&self, anchor: Instant, finished: Instant) -> Instant {
        let first = anchor + self.interval;
        if first >= finished {
            return first;
        }
        let interval = self.interval.as_nanos();
        let slots = (finished - anchor).as_nanos().div_ceil(interval);
        let offset = u64::try_from(slots * interval).unwrap_or(u64::MAX);
        anchor + Duration::from_nanos(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn confirm_delay_is_a_twentieth_clamped() {
        let cases = [
            (ms(1), ms(10)),
            (ms(100), ms(10)),
            (ms(200), ms(10)),
            (ms(400), ms(20)),
            (SECOND, ms(50)),
            (ms(5_000), ms(250)),
            (ms(10_000), ms(250)),
            (Duration::from_secs(3600), ms(250)),
        ];
        for (interval, expected) in cases {
            assert_eq!(confirm_delay(interval), expected, "interval {interval:?}");
        }
    }

    #[test]
    fn first_checks_are_spread_evenly_over_the_interval() {
        let offsets: Vec<Duration> = (0..4).map(|i| first_check_offset(i, 4, ms(400))).collect();
        assert_eq!(offsets, [ms(0), ms(100), ms(200), ms(300)]);
        assert_eq!(
            first_check_offset(0, 1, SECOND),
            Duration::ZERO,
            "alone: at once"
        );
        assert_eq!(first_check_offset(0, 0, SECOND), Duration::ZERO);
    }

    #[test]
    fn long_intervals_spread_a_few_first_checks_over_one_second_at_most() {
        let interval = Duration::from_secs(3600);
        let last = first_check_offset(1_999, 2_000, interval);
        assert!(last < MAX_START_SPREAD, "{last:?}");
        assert_eq!(first_check_offset(1_000, 2_000, interval), ms(500));
    }

    #[test]
    fn many_first_checks_are_spread_to_at_most_the_start_rate_within_the_interval() {
        // 10,000 addresses: 5 s at 2,000 a second, within a 10 s interval.
        assert_eq!(start_spread(ms(10_000), 10_000), ms(5_000));
        assert_eq!(first_check_offset(5_000, 10_000, ms(10_000)), ms(2_500));
        // ... but never beyond the interval: every 2 s, evenly over 2 s.
        assert_eq!(start_spread(ms(2_000), 10_000), ms(2_000));
        assert_eq!(first_check_offset(5_000, 10_000, ms(2_000)), ms(1_000));
        // 100,000 addresses every 10 s: over the whole interval.
        assert_eq!(start_spread(ms(10_000), 100_000), ms(10_000));
        // A short interval stays the bound.
        assert_eq!(start_spread(ms(200), 100_000), ms(200));
    }

    #[test]
    fn first_check_is_due_at_start() {
        let base = Instant::now();
        assert_eq!(Schedule::new(SECOND, base).next_due(), base);
    }

    #[test]
    fn settled_cadence_does_not_drift_with_check_duration() {
        let base = Instant::now();
        let interval = ms(10_000);
        let mut schedule = Schedule::new(interval, base);
        // Checks of varying duration, each started exactly when due.
        for (i, duration) in [ms(5), ms(900), ms(20), ms(3_000), ms(1)]
            .into_iter()
            .enumerate()
        {
            let started = schedule.next_due();
            schedule.on_check_finished(started, started + duration, false);
            assert_eq!(schedule.next_due(), base + interval * (i as u32 + 1));
        }
    }

    #[test]
    fn late_wake_ups_do_not_accumulate() {
        let base = Instant::now();
        let interval = ms(10_000);
        let mut schedule = Schedule::new(interval, base);
        schedule.on_check_finished(base, base + ms(10), false);
        for slot in 1..=5u32 {
            let due = schedule.next_due();
            assert_eq!(due, base + interval * slot);
            let started = due + ms(30); // the caller's timer fired late
            schedule.on_check_finished(started, started + ms(10), false);
        }
        assert_eq!(schedule.next_due(), base + interval * 6);
    }

    #[test]
    fn overrunning_check_skips_missed_slots() {
        let base = Instant::now();
        let mut schedule = Schedule::new(SECOND, base);
        schedule.on_check_finished(base, base + ms(2_500), false);
        assert_eq!(schedule.next_due(), base + ms(3_000));
        // A check ending exactly on a slot boundary runs at that slot.
        let started = schedule.next_due();
        schedule.on_check_finished(started, started + ms(2_000), false);
        assert_eq!(schedule.next_due(), base + ms(5_000));
    }

    #[test]
    fn confirming_checks_follow_the_end_of_the_previous_check() {
        let base = Instant::now();
        let interval = ms(10_000);
        let mut schedule = Schedule::new(interval, base);
        schedule.on_check_finished(base, base + ms(10), false);
        let started = schedule.next_due();
        // A failure while up: confirm quickly, measured from the check's end.
        schedule.on_check_finished(started, started + ms(2_000), true);
        assert_eq!(schedule.next_due(), started + ms(2_000) + ms(250));
        // The verdict is reached: back to cadence from that check's start.
        let verdict_start = schedule.next_due();
        schedule.on_check_finished(verdict_start, verdict_start + ms(2_000), false);
        assert_eq!(schedule.next_due(), verdict_start + interval);
    }

    #[test]
    fn finish_before_start_is_treated_as_instant() {
        let base = Instant::now() + SECOND;
        let mut schedule = Schedule::new(SECOND, base);
        schedule.on_check_finished(base, base - ms(5), true);
        assert_eq!(schedule.next_due(), base + ms(50));
    }

    #[test]
    fn connection_lost_makes_a_check_due_now_once_per_interval() {
        let base = Instant::now();
        let interval = ms(10_000);
        let mut schedule = Schedule::new(interval, base);
        schedule.on_check_finished(base, base + ms(10), false);

        let lost = base + ms(3_000);
        assert!(schedule.on_connection_lost(lost));
        assert_eq!(schedule.next_due(), lost);
        schedule.on_check_finished(lost, lost + ms(10), false);
        assert_eq!(schedule.next_due(), lost + interval);

        // The server closes idle connections again and again: no storm.
        for offset in [ms(100), ms(5_000), ms(9_999)] {
            assert!(!schedule.on_connection_lost(lost + offset));
            assert_eq!(schedule.next_due(), lost + interval);
        }
        // An interval later a reset may force a check again.
        let again = lost + ms(10_005);
        schedule.on_check_finished(lost + interval, lost + interval + ms(1), false);
        assert!(schedule.on_connection_lost(again));
        assert_eq!(schedule.next_due(), again);
    }

    #[test]
    fn connection_lost_when_a_check_is_already_due_changes_nothing() {
        let base = Instant::now();
        let mut schedule = Schedule::new(SECOND, base);
        assert!(!schedule.on_connection_lost(base + ms(5)));
        assert_eq!(schedule.next_due(), base);
        // The allowance was not used up.
        schedule.on_check_finished(base + ms(5), base + ms(6), false);
        assert!(schedule.on_connection_lost(base + ms(10)));
    }
}
