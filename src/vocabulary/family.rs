//! Address families: IPv4 addresses are published as A records, IPv6 as AAAA.

use std::fmt;
use std::net::IpAddr;

use hickory_proto::rr::RecordType;
use serde::{Deserialize, Serialize};

/// An address family, and with it the record type that publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    /// IPv4, published as A records.
    #[serde(rename = "A")]
    V4,
    /// IPv6, published as AAAA records.
    #[serde(rename = "AAAA")]
    V6,
}

impl Family {
    /// Both families, A first.
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The family of an address.
    pub fn of(address: &IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The record type's name: `A` or `AAAA`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "A",
            Family::V6 => "AAAA",
        }
    }

    /// The record type that publishes addresses of this family.
    pub fn record_type(self) -> RecordType {
        match self {
            Family::V4 => RecordType::A,
            Family::V6 => RecordType::AAAA,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
