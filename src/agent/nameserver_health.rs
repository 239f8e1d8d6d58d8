//! Whether the nameserver is failing the agent: reads that fail, and records
//! whose UPDATE failed. A read that works does not end an update's failure:
//! a frozen zone, a policy or a full update quota turns updates away while
//! reads work, and taking such a read for a recovery would reset the backoff
//! and announce a recovery on every retry.

use std::collections::BTreeSet;

use hickory_proto::rr::Name;

/// What failed since it last worked.
#[derive(Debug, Default)]
pub struct NameserverHealth {
    /// The latest read failed.
    reads_failing: bool,
    /// Records whose latest UPDATE failed and is still to be retried.
    updates_failing: BTreeSet<Name>,
}

impl NameserverHealth {
    /// True while a read or an update is failing.
    pub fn is_failing(&self) -> bool {
        self.reads_failing || !self.updates_failing.is_empty()
    }

    /// True while reads are failing.
    pub fn reads_failing(&self) -> bool {
        self.reads_failing
    }

    /// True while the UPDATE of `record` is failing.
    pub fn is_update_failing(&self, record: &Name) -> bool {
        self.updates_failing.contains(record)
    }

    /// A read failed.
    pub fn read_failed(&mut self) {
        self.reads_failing = true;
    }

    /// An UPDATE carrying `record` failed.
    pub fn update_failed(&mut self, record: Name) {
        self.updates_failing.insert(record);
    }

    /// A read worked; true when that ends a failure (a recovery).
    pub fn read_worked(&mut self) -> bool {
        self.end(|health| health.reads_failing = false)
    }

    /// The UPDATE of `record` needs no retry any more: it was applied, DNS
    /// already is as decided, or the record is gone. True when that ends a
    /// failure; an applied update also shows that reads work.
    pub fn update_settled(&mut self, record: &Name, applied: bool) -> bool {
        self.end(|health| {
            health.updates_failing.remove(record);
            health.reads_failing &= !applied;
        })
    }

    fn end(&mut self, change: impl FnOnce(&mut Self)) -> bool {
        let was_failing = self.is_failing();
        change(self);
        was_failing && !self.is_failing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn a_working_read_does_not_end_a_failing_update() {
        let mut health = NameserverHealth::default();
        health.update_failed(name("www.example.test."));
        assert!(!health.read_worked(), "updates are still refused");
        assert!(health.is_update_failing(&name("www.example.test.")));
        assert!(!health.update_settled(&name("api.example.test."), true));
        assert!(health.update_settled(&name("www.example.test."), true));
        assert!(!health.is_failing());
        assert!(
            !health.update_settled(&name("www.example.test."), true),
            "once"
        );
    }

    #[test]
    fn reads_recover_by_a_read_or_an_applied_update() {
        let mut health = NameserverHealth::default();
        health.read_failed();
        assert!(!health.update_settled(&name("www.example.test."), false));
        assert!(health.read_worked());
        health.read_failed();
        assert!(health.update_settled(&name("www.example.test."), true));
    }
}
