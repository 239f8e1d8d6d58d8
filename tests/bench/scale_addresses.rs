//! The addresses of the scale benchmark: one per checked server, 127.1.0.1
//! onward, 250 to a /24 (`.1`–`.250`) and 64,000 to a /16, continuing in
//! 127.2.0.0/16 past 64,000. Every one of them is a loopback address on
//! Linux, so one wildcard listener receives the connections to all.

use std::net::Ipv4Addr;

/// Addresses used in each /24.
const PER_24: usize = 250;
/// Addresses used in each /16.
const PER_16: usize = 256 * PER_24;

/// The address with number `index` (from 0).
pub fn address(index: usize) -> Ipv4Addr {
    let block = index / PER_16;
    assert!(block < 254, "address {index} is past 127.254.0.0/16");
    let rest = index % PER_16;
    Ipv4Addr::new(
        127,
        1 + block as u8,
        (rest / PER_24) as u8,
        (rest % PER_24 + 1) as u8,
    )
}

/// The number of `address`, if it is one of this scheme's.
pub fn index(address: Ipv4Addr) -> Option<usize> {
    let [first, block, third, fourth] = address.octets();
    if first != 127 || block == 0 || block == 255 || fourth == 0 || usize::from(fourth) > PER_24 {
        return None;
    }
    Some(usize::from(block - 1) * PER_16 + usize::from(third) * PER_24 + usize::from(fourth) - 1)
}

/// The /16 subnets holding the first `count` addresses, as an nftables set
/// (`{ 127.1.0.0/16, 127.2.0.0/16 }`).
pub fn subnets(count: usize) -> String {
    let blocks = count.div_ceil(PER_16).max(1);
    let list: Vec<String> = (0..blocks)
        .map(|block| format!("127.{}.0.0/16", block + 1))
        .collect();
    format!("{{ {} }}", list.join(", "))
}
