//! The [`NameserverHealth`] of each primary, by its label: one primary's
//! failures neither stall nor announce anything about another's records.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::Name;

use super::nameserver_health::NameserverHealth;

/// What failed at each primary since it last worked.
#[derive(Debug, Default)]
pub struct PrimariesHealth {
    by_primary: BTreeMap<String, NameserverHealth>,
}

impl PrimariesHealth {
    /// The health of `primary`, to change it.
    pub fn of(&mut self, primary: &str) -> &mut NameserverHealth {
        self.by_primary.entry(primary.to_owned()).or_default()
    }

    /// True while reads from `primary` are failing.
    pub fn reads_failing(&self, primary: &str) -> bool {
        self.by_primary
            .get(primary)
            .is_some_and(NameserverHealth::reads_failing)
    }

    /// True while the UPDATE of `record` at `primary` is failing.
    pub fn is_update_failing(&self, primary: &str, record: &Name) -> bool {
        self.by_primary
            .get(primary)
            .is_some_and(|health| health.is_update_failing(record))
    }

    /// `record` now goes to primary `to` instead of `from` (a reload): a
    /// failing update of it fails at `to` now. True when that ends the
    /// failure of `from`.
    pub fn moved(&mut self, record: &Name, from: &str, to: &str) -> bool {
        if !self.is_update_failing(from, record) {
            return false;
        }
        self.of(to).update_failed(record.clone());
        self.of(from).update_settled(record, false)
    }

    /// Forgets the primaries not in `kept` (gone with a reload).
    pub fn retain(&mut self, kept: &BTreeSet<String>) {
        self.by_primary.retain(|primary, _| kept.contains(primary));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn one_primary_failing_leaves_the_other_healthy() {
        let mut health = PrimariesHealth::default();
        health.of("knot").read_failed();
        health.of("knot").update_failed(name("www.example.org."));
        assert!(!health.of("bind").read_worked(), "bind never failed");
        assert!(health.reads_failing("knot"));
        assert!(!health.reads_failing("bind"));
        assert!(health.is_update_failing("knot", &name("www.example.org.")));
        assert!(!health.is_update_failing("bind", &name("www.example.org.")));
    }

    #[test]
    fn a_record_moved_to_another_primary_takes_its_failure_along() {
        let mut health = PrimariesHealth::default();
        health.of("old").update_failed(name("www.example.org."));
        assert!(health.moved(&name("www.example.org."), "old", "new"));
        assert!(!health.of("old").is_failing());
        assert!(health.is_update_failing("new", &name("www.example.org.")));
        health.retain(&BTreeSet::from(["new".to_owned()]));
        assert!(health.is_update_failing("new", &name("www.example.org.")));
    }
}
