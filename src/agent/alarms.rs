//! Conditions an operator must hear about once, not on every decision: all
//! servers of a family down, or an RRset edited by someone else.

use std::net::IpAddr;

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

/// Conditions of one record, per family.
#[derive(Debug, Clone, Default)]
pub struct Alarms {
    conditions: [Condition; 2],
}

impl Alarms {
    /// Notes the condition a decision implies; returns a change worth logging.
    pub fn note(&mut self, family: Family, decision: &FamilyDecision) -> Option<ConditionChange> {
        let now = match decision {
            FamilyDecision::AllDownKeep => Condition::AllDown,
            FamilyDecision::Conflict { foreign } => Condition::Conflict(foreign.clone()),
            FamilyDecision::WarmingUp { .. } => return None,
            _ => Condition::Normal,
        };
        let slot = &mut self.conditions[family as usize];
        if *slot == now {
            return None;
        }
        let before = std::mem::replace(slot, now.clone());
        Some(match now {
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
        let mut alarms = Alarms::default();
        assert_eq!(
            alarms.note(Family::V4, &FamilyDecision::AllDownKeep),
            Some(ConditionChange::Entered(Condition::AllDown))
        );
        assert_eq!(alarms.note(Family::V4, &FamilyDecision::AllDownKeep), None);
        assert_eq!(
            alarms.note(Family::V6, &FamilyDecision::Unmanaged),
            None,
            "V6 is apart"
        );
        let in_sync = FamilyDecision::InSync {
            server: "web1".into(),
        };
        assert_eq!(
            alarms.note(Family::V4, &in_sync),
            Some(ConditionChange::Cleared(Condition::AllDown))
        );
        assert_eq!(alarms.note(Family::V4, &in_sync), None);
    }

    #[test]
    fn a_different_foreign_set_is_a_new_conflict() {
        let mut alarms = Alarms::default();
        let first = FamilyDecision::Conflict {
            foreign: vec!["198.51.100.1".parse().unwrap()],
        };
        let second = FamilyDecision::Conflict {
            foreign: vec!["198.51.100.2".parse().unwrap()],
        };
        assert!(alarms.note(Family::V6, &first).is_some());
        assert!(alarms.note(Family::V6, &first).is_none());
        assert!(matches!(
            alarms.note(Family::V6, &second),
            Some(ConditionChange::Entered(_))
        ));
    }
}
