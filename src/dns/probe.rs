//! Probes that change nothing, for `preflight`: does the update policy let
//! our key change a name's A or AAAA RRset, how far apart are the clocks,
//! and which host is the zone's primary.
//!
//! BIND and Knot check `update-policy` / ACL rules only for the RRs in an
//! UPDATE's update section, so a prerequisite-only UPDATE proves nothing.
//! The probe therefore carries a compare-and-swap prerequisite on the
//! current RRset and the deletion of one address that RRset does not hold
//! (RFC 2136 §2.5.4): both servers check the policy for it, and applying it
//! changes nothing, so the serial does not move.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::client::{random_id, Client};
use super::error::DnsError;
use super::update::address_record;
use crate::vocabulary::{AddressRrset, Family};

/// What a policy probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyVerdict {
    /// The server accepted the probe: the key may change this RRset.
    Allowed,
    /// The server refused it: the policy does not let the key change it
    /// (or the zone is frozen).
    Refused,
    /// The RRset changed between reading it and probing; try again.
    Raced,
}

/// A probe's verdict and when the server signed its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProbe {
    /// What the server said.
    pub verdict: PolicyVerdict,
    /// The server's clock when it answered, unix seconds.
    pub server_time: u64,
    /// Our clock when the answer was checked, unix seconds.
    pub local_time: u64,
}

/// An address of `family` that `current` does not hold, from the
/// documentation ranges (RFC 5737, RFC 3849).
fn absent_address(family: Family, current: Option<&AddressRrset>) -> IpAddr {
    let holds = |address: &IpAddr| current.is_some_and(|rrset| rrset.addresses.contains(address));
    (0u16..)
        .map(|n| match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 255 - (n % 255) as u8)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0xfffe, n)),
        })
        .find(|address| !holds(address))
        .expect("some documentation address is not published")
}

/// The probe UPDATE: `current` as prerequisite (or its absence), and the
/// deletion of an address it does not hold.
pub fn policy_probe_message(
    zone: &Name,
    name: &Name,
    family: Family,
    current: Option<&AddressRrset>,
    id: u16,
) -> Message {
    let mut message = Message::new(id, MessageType::Query, OpCode::Update);
    let mut zone_query = Query::query(zone.clone(), RecordType::SOA);
    zone_query.set_query_class(DNSClass::IN);
    message.add_query(zone_query);
    match current {
        Some(rrset) => {
            for address in &rrset.addresses {
                message.add_answer(address_record(name, 0, *address));
            }
        }
        None => {
            let mut absent = Record::update0(name.clone(), 0, family.record_type());
            absent.dns_class = DNSClass::NONE;
            message.add_answer(absent);
        }
    }
    let mut delete = address_record(name, 0, absent_address(family, current));
    delete.dns_class = DNSClass::NONE;
    message.add_authority(delete);
    message
}

impl Client {
    /// Asks whether the key may change `name`'s RRset of `family` in `zone`,
    /// with an UPDATE that the policy checks but that changes nothing.
    pub async fn probe_policy(
        &self,
        zone: &Name,
        name: &Name,
        family: Family,
    ) -> Result<PolicyProbe, DnsError> {
        let current = self.read_rrset(name, family).await?;
        let message = policy_probe_message(zone, name, family, current.as_ref(), random_id());
        let endpoint = self.endpoint(crate::vocabulary::Transport::Tcp);
        let (answer, server_time) = endpoint.exchange_timed(&message).await?;
        let verdict = match answer.response_code {
            ResponseCode::NoError => PolicyVerdict::Allowed,
            ResponseCode::Refused => PolicyVerdict::Refused,
            ResponseCode::NXRRSet | ResponseCode::YXRRSet => PolicyVerdict::Raced,
            ResponseCode::NotAuth => {
                return Err(DnsError::NotAuthoritative {
                    server: self.server(),
                    name: zone.clone(),
                })
            }
            ResponseCode::NotZone => {
                return Err(DnsError::NotZone {
                    server: self.server(),
                    zone: zone.clone(),
                })
            }
            rcode => {
                return Err(DnsError::ServerError {
                    server: self.server(),
                    rcode,
                    what: format!("a policy probe of {name} {family}"),
                })
            }
        };
        Ok(PolicyProbe {
            verdict,
            server_time,
            local_time: endpoint.now(),
        })
    }

    /// The zone's primary as its SOA names it (MNAME).
    pub async fn primary_name(&self, zone: &Name) -> Result<Name, DnsError> {
        let response = self.query(zone, RecordType::SOA).await?;
        response
            .answers
            .iter()
            .find_map(|record| match &record.data {
                RData::SOA(soa) if record.name.eq_ignore_root(zone) => Some(soa.mname.clone()),
                _ => None,
            })
            .ok_or_else(|| DnsError::NotAuthoritative {
                server: self.server(),
                name: zone.clone(),
            })
    }

    /// The addresses of `host` as this server publishes them (both families).
    pub async fn addresses_of(&self, host: &Name) -> Result<Vec<IpAddr>, DnsError> {
        let published = self.read_addresses(host).await?;
        Ok(Family::ALL
            .into_iter()
            .filter_map(|family| published.get(family).cloned())
            .flat_map(|rrset| rrset.addresses)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_deletes_an_address_the_rrset_does_not_hold() {
        let name = Name::from_ascii("www.example.test.").unwrap();
        let zone = Name::from_ascii("example.test.").unwrap();
        let current = AddressRrset::new(["192.0.2.255".parse().unwrap()], 60);
        let message = policy_probe_message(&zone, &name, Family::V4, Some(&current), 7);
        assert_eq!(
            message.answers.len(),
            1,
            "the prerequisite: the RRset as it is"
        );
        assert_eq!(message.answers[0].dns_class, DNSClass::IN);
        assert_eq!(message.answers[0].ttl, 0);
        assert_eq!(message.authorities.len(), 1);
        let delete = &message.authorities[0];
        assert_eq!((delete.dns_class, delete.ttl), (DNSClass::NONE, 0));
        assert_eq!(
            delete.data,
            RData::A("192.0.2.254".parse::<Ipv4Addr>().unwrap().into())
        );
        let absent = policy_probe_message(&zone, &name, Family::V6, None, 7);
        assert_eq!(
            absent.answers[0].dns_class,
            DNSClass::NONE,
            "RRset does not exist"
        );
        assert!(matches!(absent.authorities[0].data, RData::AAAA(_)));
    }
}
