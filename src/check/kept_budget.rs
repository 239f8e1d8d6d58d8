//! How many connections of passed checks the agent keeps open at once.
//!
//! A kept connection costs a descriptor for as long as it is watched. With
//! more addresses than the open-file limit allows, keeping one for every
//! address would leave no descriptor for the next check, and checks would
//! fail with "too many open files" — a local shortage reported as a dead
//! server. So the process has a budget: while it is spent, a passed check
//! closes its connection like any other, and a crash of that server is
//! noticed by its next check instead of at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Descriptors left for checks in flight, DNS, HTTP and logs: a quarter of
/// the limit, and never fewer than this.
const MIN_RESERVE: u64 = 256;

/// The budget of this process; unlimited until [`limit_kept_connections`].
static PROCESS: KeptBudget = KeptBudget::unlimited();

/// A count of kept connections and the most there may be.
#[derive(Debug)]
pub(crate) struct KeptBudget {
    limit: AtomicUsize,
    kept: AtomicUsize,
    exhausted_reported: AtomicBool,
}

/// One kept connection's share of the budget, given back when dropped.
#[derive(Debug)]
pub(crate) struct KeptSlot {
    budget: &'static KeptBudget,
}

impl KeptBudget {
    /// A budget without limit.
    pub(crate) const fn unlimited() -> KeptBudget {
        KeptBudget {
            limit: AtomicUsize::new(usize::MAX),
            kept: AtomicUsize::new(0),
            exhausted_reported: AtomicBool::new(false),
        }
    }

    /// A slot, or `None` when `limit` connections are kept already.
    pub(crate) fn take(&'static self) -> Option<KeptSlot> {
        let limit = self.limit.load(Ordering::Relaxed);
        self.kept
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |kept| {
                (kept < limit).then_some(kept + 1)
            })
            .ok()
            .map(|_| KeptSlot { budget: self })
            .or_else(|| {
                if !self.exhausted_reported.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        limit,
                        "{limit} connections are kept open, all the open-file limit allows: the servers of further addresses are watched only by their regular checks (a crash is noticed at the next check, not at once); raise LimitNOFILE to watch every one"
                    );
                }
                None
            })
    }

    /// Connections kept now.
    pub(crate) fn kept(&self) -> usize {
        self.kept.load(Ordering::Relaxed)
    }

    /// The most there may be; `None`: no limit.
    fn limit(&self) -> Option<usize> {
        Some(self.limit.load(Ordering::Relaxed)).filter(|limit| *limit != usize::MAX)
    }

    fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }
}

impl Drop for KeptSlot {
    fn drop(&mut self) {
        self.budget.kept.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The process's budget.
pub(crate) fn process_budget() -> &'static KeptBudget {
    &PROCESS
}

/// Sets the budget from the soft open-file limit: everything but a reserve
/// of a quarter (at least 256 descriptors). Returns the budget.
pub fn limit_kept_connections(open_file_limit: u64) -> usize {
    let budget = kept_connections_for(open_file_limit);
    PROCESS.set_limit(budget);
    budget
}

/// Connections of passed checks kept open now, and the budget (`None`: no
/// limit set).
pub fn kept_connections() -> (usize, Option<usize>) {
    (PROCESS.kept(), PROCESS.limit())
}

/// The kept connections an open-file limit leaves room for.
pub fn kept_connections_for(open_file_limit: u64) -> usize {
    let reserve = (open_file_limit / 4).max(MIN_RESERVE);
    usize::try_from(open_file_limit.saturating_sub(reserve)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_the_limit_and_at_least_256_descriptors_stay_free() {
        assert_eq!(kept_connections_for(20_000), 15_000);
        assert_eq!(kept_connections_for(1024), 768);
        assert_eq!(kept_connections_for(300), 44);
        assert_eq!(kept_connections_for(100), 0);
    }

    #[test]
    fn slots_run_out_at_the_limit_and_come_back_when_dropped() {
        static BUDGET: KeptBudget = KeptBudget::unlimited();
        BUDGET.set_limit(2);
        let first = BUDGET.take().expect("a first slot");
        let second = BUDGET.take().expect("a second slot");
        assert!(BUDGET.take().is_none(), "a third slot beyond the limit");
        assert_eq!(BUDGET.kept(), 2);
        drop(first);
        let third = BUDGET.take().expect("the slot given back");
        drop((second, third));
        assert_eq!(BUDGET.kept(), 0);
    }
}
