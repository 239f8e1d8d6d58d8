//! Records waiting to be read, one queue per primary, and the reads in
//! flight at each: every primary has its own slots, so reads waiting out the
//! timeout of a primary that does not answer never hold up another's.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hickory_proto::rr::Name;

/// The read queue of each primary, by its label.
#[derive(Debug, Default)]
pub struct ReadQueues {
    queues: BTreeMap<String, VecDeque<Name>>,
    in_flight: HashMap<String, usize>,
}

impl ReadQueues {
    /// Queues `record` for a read from `primary`.
    pub fn push(&mut self, primary: &str, record: Name) {
        self.queues
            .entry(primary.to_owned())
            .or_default()
            .push_back(record);
    }

    /// The next record of a primary with fewer than `limit` reads in
    /// flight, and that primary; `None` when every such queue is empty.
    pub fn next(&mut self, limit: usize) -> Option<(String, Name)> {
        let in_flight = &self.in_flight;
        let (primary, queue) = self.queues.iter_mut().find(|(primary, queue)| {
            !queue.is_empty() && in_flight.get(*primary).copied().unwrap_or(0) < limit
        })?;
        let record = queue.pop_front()?;
        Some((primary.clone(), record))
    }

    /// A read from `primary` started.
    pub fn started(&mut self, primary: &str) {
        *self.in_flight.entry(primary.to_owned()).or_default() += 1;
    }

    /// A read from `primary` ended.
    pub fn finished(&mut self, primary: &str) {
        if let Some(count) = self.in_flight.get_mut(primary) {
            *count = count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn a_primary_with_its_slots_taken_leaves_the_others_free() {
        let mut queues = ReadQueues::default();
        queues.push("knot", name("a.example.org."));
        queues.push("knot", name("b.example.org."));
        queues.push("bind", name("a.example.com."));
        let (primary, _) = queues.next(1).unwrap();
        assert_eq!(primary, "bind");
        queues.started("bind");
        assert_eq!(queues.next(1).unwrap().0, "knot");
        queues.started("knot");
        assert_eq!(queues.next(1), None, "both at their limit");
        queues.finished("knot");
        assert_eq!(queues.next(1).unwrap().1, name("b.example.org."));
    }
}
