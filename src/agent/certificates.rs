//! Which addresses' certificates are within their expiry warning, so that
//! the warning is logged and sent once when it starts and once when it ends.

use std::collections::HashSet;
use std::hash::Hash;

/// A warning that began or ended with a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningChange {
    /// The check warns, and did not before.
    Began(String),
    /// A passed check no longer warns.
    Ended,
}

/// The addresses (by id) whose last passed check warned.
#[derive(Debug)]
pub struct CertificateWarnings<Id> {
    warned: HashSet<Id>,
}

impl<Id> Default for CertificateWarnings<Id> {
    fn default() -> Self {
        CertificateWarnings {
            warned: HashSet::new(),
        }
    }
}

impl<Id: Hash + Eq> CertificateWarnings<Id> {
    /// Notes a finished check of `target`: passed or not, and its warning.
    /// A failed check changes nothing: it says nothing about the certificate.
    pub fn note(
        &mut self,
        target: Id,
        passed: bool,
        warning: Option<String>,
    ) -> Option<WarningChange> {
        match warning {
            Some(text) => self
                .warned
                .insert(target)
                .then_some(WarningChange::Began(text)),
            None if passed && self.warned.remove(&target) => Some(WarningChange::Ended),
            None => None,
        }
    }

    /// Forgets an address no longer checked.
    pub fn forget(&mut self, target: &Id) {
        self.warned.remove(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_reported_once_when_it_begins_and_once_when_it_ends() {
        let mut warnings = CertificateWarnings::default();
        let target = 3;
        assert_eq!(warnings.note(target, true, None), None);
        let began = warnings.note(target, true, Some("expires in 3 day(s)".into()));
        assert_eq!(
            began,
            Some(WarningChange::Began("expires in 3 day(s)".into()))
        );
        assert_eq!(
            warnings.note(target, true, Some("expires in 3 day(s)".into())),
            None
        );
        assert_eq!(
            warnings.note(target, false, None),
            None,
            "a failed check keeps it"
        );
        assert_eq!(
            warnings.note(target, true, None),
            Some(WarningChange::Ended)
        );
        assert_eq!(warnings.note(target, true, None), None);
    }

    #[test]
    fn a_forgotten_address_starts_afresh() {
        let mut warnings = CertificateWarnings::default();
        let target = 1;
        assert!(warnings.note(target, true, Some("x".into())).is_some());
        warnings.forget(&target);
        assert!(warnings.note(target, true, Some("x".into())).is_some());
    }
}
