//! What the nameserver publishes for one name and address family.

use std::net::IpAddr;

/// An A or AAAA RRset as published: its addresses and its TTL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressRrset {
    /// The addresses, sorted and without duplicates; never empty.
    pub addresses: Vec<IpAddr>,
    /// The RRset's TTL in seconds.
    pub ttl: u32,
}

impl AddressRrset {
    /// An RRset of these addresses (sorted and deduplicated here) with this TTL.
    pub fn new(addresses: impl IntoIterator<Item = IpAddr>, ttl: u32) -> Self {
        let mut addresses: Vec<IpAddr> = addresses.into_iter().collect();
        addresses.sort();
        addresses.dedup();
        AddressRrset { addresses, ttl }
    }
}
