//! Property tests: whatever the health of the addresses and whatever the
//! nameserver publishes, a decision never asks for an empty RRset, never for
//! an address outside the configuration, and picks the server the rules say.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::config::Server;
use crate::engine::test_support::record;

/// Six IPv4 and six IPv6 addresses the servers are built from.
fn pool() -> Vec<IpAddr> {
    (1..=6u8)
        .flat_map(|i| {
            [
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i))),
            ]
        })
        .collect()
}

/// Addresses that no generated server has.
fn outsiders() -> Vec<IpAddr> {
    vec![
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1)),
    ]
}

fn health_strategy() -> impl Strategy<Value = Health> {
    prop_oneof![Just(Health::Unknown), Just(Health::Up), Just(Health::Down)]
}

/// One to four servers, each with one to three distinct pool addresses and
/// a health per address.
fn servers_strategy() -> impl Strategy<Value = Vec<(Vec<IpAddr>, Vec<Health>)>> {
    let server = proptest::sample::subsequence(pool(), 1..=3)
        .prop_shuffle()
        .prop_flat_map(|addresses| {
            let count = addresses.len();
            (
                Just(addresses),
                proptest::collection::vec(health_strategy(), count),
            )
        });
    proptest::collection::vec(server, 1..=4)
}

/// A published RRset drawn from the pool and the outsiders, or none.
fn published_strategy() -> impl Strategy<Value = Option<(Vec<IpAddr>, u32)>> {
    let candidates: Vec<IpAddr> = pool().into_iter().chain(outsiders()).collect();
    proptest::option::of((
        proptest::sample::subsequence(candidates, 1..=4),
        prop_oneof![Just(60u32), Just(300u32)],
    ))
}

/// The published RRset of one family, as the nameserver would return it.
fn family_rrset(published: &Option<(Vec<IpAddr>, u32)>, family: Family) -> Option<AddressRrset> {
    let (addresses, ttl) = published.as_ref()?;
    let of_family: Vec<IpAddr> = addresses
        .iter()
        .copied()
        .filter(|a| Family::of(a) == family)
        .collect();
    (!of_family.is_empty()).then(|| AddressRrset::new(of_family, *ttl))
}

/// Checks every rule a single family decision must obey.
fn check_family(
    record: &Record,
    health: &[Vec<Health>],
    family: Family,
    published: Option<&AddressRrset>,
    decision: &FamilyDecision,
) -> Result<(), TestCaseError> {
    let entries: Vec<(usize, IpAddr, Health)> = record
        .servers
        .iter()
        .enumerate()
        .flat_map(|(s, server)| {
            server
                .addresses
                .iter()
                .enumerate()
                .map(move |(a, address)| (s, *address, health[s][a]))
        })
        .filter(|(_, address, _)| Family::of(address) == family)
        .collect();
    let managed = !entries.is_empty();
    let warming = entries.iter().any(|e| e.2 == Health::Unknown);
    let first_up = entries.iter().find(|e| e.2 == Health::Up).map(|e| e.0);
    let first_with_family = entries.first().map(|e| e.0);
    let has_foreign = published.is_some_and(|p| {
        p.addresses
            .iter()
            .any(|a| !entries.iter().any(|e| e.1 == *a))
    });

    prop_assert_eq!(matches!(decision, FamilyDecision::Unmanaged), !managed);
    prop_assert_eq!(
        matches!(decision, FamilyDecision::WarmingUp { .. }),
        managed && warming
    );
    let conflict = managed && !warming && has_foreign && !record.takeover;
    prop_assert_eq!(
        matches!(decision, FamilyDecision::Conflict { .. }),
        conflict
    );
    if let FamilyDecision::Conflict { foreign } = decision {
        prop_assert!(!foreign.is_empty());
    }
    let keep = record.when_all_down == AllDownPolicy::Keep;
    let all_down_keep = managed && !warming && !conflict && first_up.is_none() && keep;
    prop_assert_eq!(
        matches!(decision, FamilyDecision::AllDownKeep),
        all_down_keep
    );
    let (server, desired) = match decision {
        FamilyDecision::InSync { server, .. } => {
            let p = published.expect("in sync needs a published RRset");
            prop_assert_eq!(p.ttl, record.ttl);
            (server, p.addresses.clone())
        }
        FamilyDecision::Publish(p) => {
            prop_assert_eq!(p.ttl, record.ttl);
            (&p.server, p.addresses.clone())
        }
        _ => return Ok(()),
    };
    let chosen = first_up.or(first_with_family).expect("managed");
    prop_assert_eq!(server, &record.servers[chosen].name);
    prop_assert!(!desired.is_empty(), "empty RRset");
    prop_assert!(
        desired.windows(2).all(|w| w[0] < w[1]),
        "unsorted or duplicated"
    );
    for address in &desired {
        prop_assert_eq!(Family::of(address), family);
        let entry = entries.iter().find(|e| e.0 == chosen && e.1 == *address);
        prop_assert!(
            entry.is_some(),
            "{} is not an address of {}",
            address,
            server
        );
        let all_down = first_up.is_none();
        prop_assert!(all_down || entry.is_some_and(|e| e.2 == Health::Up));
    }
    Ok(())
}

proptest! {
    #[test]
    fn decisions_never_empty_never_foreign(
        servers in servers_strategy(),
        published in published_strategy(),
        takeover in any::<bool>(),
        first_when_all_down in any::<bool>(),
    ) {
        let mut record = record(
            servers
                .iter()
                .enumerate()
                .map(|(i, (addresses, _))| Server {
                    name: format!("web{}", i + 1),
                    addresses: addresses.clone(),
                    checks: None,
                })
                .collect(),
        );
        record.takeover = takeover;
        record.when_all_down = if first_when_all_down {
            AllDownPolicy::First
        } else {
            AllDownPolicy::Keep
        };
        let health: Vec<Vec<Health>> = servers.iter().map(|(_, h)| h.clone()).collect();
        let a = family_rrset(&published, Family::V4);
        let aaaa = family_rrset(&published, Family::V6);
        let decision = decide_record(&record, &health, [a.as_ref(), aaaa.as_ref()]);
        check_family(&record, &health, Family::V4, a.as_ref(), &decision.v4)?;
        check_family(&record, &health, Family::V6, aaaa.as_ref(), &decision.v6)?;
    }
}
