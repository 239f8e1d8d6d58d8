//! What the nameserver publishes for one name: its A and AAAA RRsets.

use super::family::Family;
use super::rrset::AddressRrset;

/// What a name publishes in both families.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// The A RRset, if any.
    pub v4: Option<AddressRrset>,
    /// The AAAA RRset, if any.
    pub v6: Option<AddressRrset>,
}

impl Published {
    /// The RRset of one family.
    pub fn get(&self, family: Family) -> Option<&AddressRrset> {
        match family {
            Family::V4 => self.v4.as_ref(),
            Family::V6 => self.v6.as_ref(),
        }
    }

    /// Replaces the RRset of one family.
    pub fn set(&mut self, family: Family, rrset: Option<AddressRrset>) {
        match family {
            Family::V4 => self.v4 = rrset,
            Family::V6 => self.v6 = rrset,
        }
    }
}
