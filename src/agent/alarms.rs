//! Conditions an operator must hear about once, not on every decision: all
//! servers of a family down, or an RRset edited by someone else.

use std::net::IpAddr;
use std::time::Instant;

use crate::engine::FamilyDecision;
use crate::vocabulary::Family;

/// The last reported condition of one record family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Condition {
    /// Nothing unusual (or nothing decided yet).
    #[default]
    Normal,
    /// Every server of this family is down and DNS is left as it is.
    AllDown,
    /// The RRset holds addresses not in the configuration.
    Conflict(Vec<IpAddr>),
}

/// What changed in a record family's condition, to be logged once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionChange {
    /// Entered a condition.
    Entered(Condition),
    /// Left a condition.
    Cleared(Condition),
}

/// Conditions of one record, per family, with the time each began.
#[derive(Debug, Clone, Default)]
pub struct Alarms {
    conditions: [(Condition, Option<Instant>); 2],
}

impl Alarms {
    /// The conditions other than normal, with their family and since when.
    pub fn active(&self) -> impl Iterator<Item = (Family, &Condition, Instant)> {
        Family::ALL
            .into_iter()
            .zip(&self.conditions)
            .filter_map(|(family, (condition, since))| Some((family, condition, (*since)?)))
    }

    /// Notes the condition a decision implies at `now`; returns a change
    /// worth logging.
    pub fn note(
        &mut self,
        family: Family,
        decision: &FamilyDecision,
        now: Instant,
    ) -> Option<ConditionChange> {
        let condition = match decision {
            FamilyDecision::AllDownKeep => Condition::AllDown,
            FamilyDecision::Conflict { foreign } => Condition::Conflict(foreign.clone()),
            FamilyDecision::WarmingUp { .. } => return None,
            _ => Condition::Normal,
        };
        let (slot, since) = &mut self.conditions[family as usize];
        if *slot == condition {
            return None;
        }
        *since = (condition != Condition::Normal).then_some(now);
        let before = std::mem::replace(slot, condition.clone());
        Some(match condition {
            Condition::Normal => ConditionChange::Cleared(before),
            condition => ConditionChange::Entered(condition),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_entering_and_leaving_once() {
        let now = Instant::now();
        let mut alarms = Alarms::default();
        assert_eq!(
            alarms.note(Family::V4, &FamilyDecision::AllDownKeep, now),
            Some(ConditionChange::Entered(Condition::AllDown))
        );
        assert_eq!(
            alarms.note(Family::V4, &FamilyDecision::AllDownKeep, now),
            None
        );
        assert_eq!(
            alarms.note(Family::V6, &FamilyDecision::Unmanaged, now),
            None,
            "V6 is apart"
        );
        let in_sync = FamilyDecision::InSync {
            server: "web1".into(),
            note: None,
        };
        assert_eq!(
            alarms.note(Family::V4, &in_sync, now),
            Some(ConditionChange::Cleared(Condition::AllDown))
        );
        assert_eq!(alarms.note(Family::V4, &in_sync, now), None);
    }

    #[test]
    fn a_different_foreign_set_is_a_new_conflict() {
        let now = Instant::now();
        let mut alarms = Alarms::default();
        let first = FamilyDecision::Conflict {
            foreign: vec!["198.51.100.1".parse().unwrap()],
        };
        let second = FamilyDecision::Conflict {
            foreign: vec!["198.51.100.2".parse().unwrap()],
        };
        assert!(alarms.note(Family::V6, &first, now).is_some());
        assert!(alarms.note(Family::V6, &first, now).is_none());
        assert!(matches!(
            alarms.note(Family::V6, &second, now),
            Some(ConditionChange::Entered(_))
        ));
    }
}
