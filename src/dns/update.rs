//! RFC 2136 UPDATE messages that replace A/AAAA RRsets atomically and only
//! if they still hold what was last read (a compare-and-swap).
//!
//! Every message also requires the zone's SOA to be exactly as last read.
//! The serial moves with every change applied to the zone, so a message can
//! apply at most once: a captured UPDATE replayed to the server (within the
//! TSIG fudge, which is all TSIG checks) fails its prerequisites instead of
//! bringing back an old state after A→B→A. It needs no grant in the update
//! policy, as prerequisites are not subject to it.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{A, AAAA, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::vocabulary::{AddressRrset, Family};

/// Replace one name's RRset of one family, if it still is `expected`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrsetChange {
    /// Owner name, fully qualified.
    pub name: Name,
    /// A or AAAA.
    pub family: Family,
    /// What the nameserver published when last read (`None`: no RRset).
    pub expected: Option<AddressRrset>,
    /// What it should publish; never empty.
    pub desired: AddressRrset,
}

/// The most bytes of changes to put in one UPDATE: a DNS message over TCP
/// holds at most 65,535 bytes, and its header, zone section, SOA
/// prerequisite and TSIG record need at most about 1,450 of them (every name
/// 255 bytes long), usually under 200.
pub const MAX_CHANGE_BYTES: usize = 64_000;

/// Bytes of a resource record besides its owner name and data: type, class,
/// TTL and data length (RFC 1035 §4.1.3).
const RR_FIXED_BYTES: usize = 10;

impl RrsetChange {
    /// True when applying the change would alter nothing.
    pub fn is_noop(&self) -> bool {
        self.expected.as_ref() == Some(&self.desired)
    }

    /// The most bytes this change can take in an UPDATE message, counting
    /// every owner name uncompressed: prerequisites, the deletion and the
    /// added records.
    pub fn max_wire_size(&self) -> usize {
        let rdata = match self.family {
            Family::V4 => 4,
            Family::V6 => 16,
        };
        let bare = self.name.len() + RR_FIXED_BYTES;
        let prerequisites = match &self.expected {
            Some(expected) => expected.addresses.len() * (bare + rdata),
            None => bare,
        };
        prerequisites + bare + self.desired.addresses.len() * (bare + rdata)
    }
}

/// A change set refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUpdate {
    /// RFC 2136 §3.4.1.3: every owner name must be inside the zone.
    #[error("{name} is not inside zone {zone}: set the record's zone, or fix its name")]
    NameOutsideZone { name: String, zone: String },
    /// Publishing nothing is never allowed (RFC 2308: negative answers get cached).
    #[error("refusing to publish an empty {family} RRset for {name}")]
    EmptyRrset { name: String, family: Family },
    /// An IPv6 address in an A RRset or the reverse.
    #[error("{address} cannot be published in the {family} RRset of {name}")]
    WrongFamily {
        name: String,
        family: Family,
        address: IpAddr,
    },
    /// The same RRset changed twice in one message.
    #[error("the {family} RRset of {name} appears twice in one update")]
    Duplicate { name: String, family: Family },
}

/// The changes of one zone, sent as one UPDATE message (RFC 2136 §3.7: the
/// server applies it atomically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneUpdate {
    /// The zone; the message's zone section names its SOA.
    pub zone: Name,
    /// The RRsets to replace.
    pub changes: Vec<RrsetChange>,
}

impl ZoneUpdate {
    /// Checks the change set; nothing is sent when this fails.
    pub fn validate(&self) -> Result<(), InvalidUpdate> {
        let mut seen = Vec::new();
        for change in &self.changes {
            let name = &change.name;
            if !self.zone.zone_of(name) {
                return Err(InvalidUpdate::NameOutsideZone {
                    name: name.to_string(),
                    zone: self.zone.to_string(),
                });
            }
            if change.desired.addresses.is_empty() {
                return Err(InvalidUpdate::EmptyRrset {
                    name: name.to_string(),
                    family: change.family,
                });
            }
            if let Some(address) = change
                .desired
                .addresses
                .iter()
                .find(|a| Family::of(a) != change.family)
            {
                return Err(InvalidUpdate::WrongFamily {
                    name: name.to_string(),
                    family: change.family,
                    address: *address,
                });
            }
            let key = (name.to_lowercase(), change.family);
            if seen.contains(&key) {
                return Err(InvalidUpdate::Duplicate {
                    name: name.to_string(),
                    family: change.family,
                });
            }
            seen.push(key);
        }
        Ok(())
    }

    /// The changes that would alter something.
    pub fn effective_changes(&self) -> impl Iterator<Item = &RrsetChange> {
        self.changes.iter().filter(|change| !change.is_noop())
    }

    /// The UPDATE message for the effective changes (RFC 2136 §2):
    /// zone section = the zone's SOA; prerequisites = the zone's SOA RRset
    /// exactly as `zone_soa` (§2.4.2, value dependent: applies once; left
    /// out only where the server cannot check it), then each RRset exactly
    /// as expected (§2.4.2) or absent (§2.4.3); updates = delete the RRset
    /// (§2.5.2) and add the desired records (§2.5.1).
    pub fn to_message(&self, id: u16, zone_soa: Option<&SOA>) -> Message {
        let mut message = Message::new(id, MessageType::Query, OpCode::Update);
        let mut zone = Query::query(self.zone.clone(), RecordType::SOA);
        zone.set_query_class(DNSClass::IN);
        message.add_query(zone);
        if let Some(soa) = zone_soa {
            message.add_answer(Record::from_rdata(
                self.zone.clone(),
                0,
                RData::SOA(soa.clone()),
            ));
        }
        for change in self.effective_changes() {
            let record_type = change.family.record_type();
            match &change.expected {
                Some(expected) => {
                    for address in &expected.addresses {
                        message.add_answer(address_record(&change.name, 0, *address));
                    }
                }
                None => {
                    let mut absent = Record::update0(change.name.clone(), 0, record_type);
                    absent.dns_class = DNSClass::NONE;
                    message.add_answer(absent);
                }
            }
            let mut delete = Record::update0(change.name.clone(), 0, record_type);
            delete.dns_class = DNSClass::ANY;
            message.add_authority(delete);
            for address in &change.desired.addresses {
                message.add_authority(address_record(&change.name, change.desired.ttl, *address));
            }
        }
        message
    }

    /// The same update as `nsupdate` commands, for `plan` output and for
    /// operators who want to apply it by hand; without the SOA prerequisite,
    /// which holds only for the serial read just before sending.
    pub fn to_nsupdate(&self, server: SocketAddr) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "server {} {}", server.ip(), server.port());
        let _ = writeln!(out, "zone {}", self.zone);
        for change in self.effective_changes() {
            let (name, family) = (&change.name, change.family);
            match &change.expected {
                Some(expected) => {
                    for address in &expected.addresses {
                        let _ = writeln!(out, "prereq yxrrset {name} IN {family} {address}");
                    }
                }
                None => {
                    let _ = writeln!(out, "prereq nxrrset {name} IN {family}");
                }
            }
            let _ = writeln!(out, "update delete {name} IN {family}");
            for address in &change.desired.addresses {
                let _ = writeln!(
                    out,
                    "update add {name} {} IN {family} {address}",
                    change.desired.ttl
                );
            }
        }
        out.push_str("send\n");
        out
    }
}

pub(super) fn address_record(name: &Name, ttl: u32, address: IpAddr) -> Record {
    let data = match address {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    };
    Record::from_rdata(name.clone(), ttl, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::{self, Reader};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn change(owner: &str, expected: Option<&[&str]>, desired: &[&str]) -> RrsetChange {
        let parse = |list: &[&str]| {
            list.iter()
                .map(|a| a.parse::<IpAddr>().unwrap())
                .collect::<Vec<_>>()
        };
        RrsetChange {
            name: name(owner),
            family: Family::V4,
            expected: expected.map(|e| AddressRrset::new(parse(e), 30)),
            desired: AddressRrset::new(parse(desired), 30),
        }
    }

    /// The zone's SOA as the tests' server would publish it.
    fn soa() -> SOA {
        SOA::new(
            name("ns.example.test."),
            name("hostmaster.example.test."),
            2024_0101,
            3600,
            600,
            86_400,
            60,
        )
    }

    /// The update of www.example.test.'s A RRset from 192.0.2.10 to .11.
    fn www_moves_from_10_to_11() -> ZoneUpdate {
        ZoneUpdate {
            zone: name("example.test."),
            changes: vec![change(
                "www.example.test.",
                Some(&["192.0.2.10"]),
                &["192.0.2.11"],
            )],
        }
    }

    #[test]
    fn message_has_zone_prerequisites_delete_and_add() {
        let update = www_moves_from_10_to_11();
        let message = update.to_message(7, Some(&soa()));
        assert_eq!(message.op_code, OpCode::Update);
        assert_eq!(message.queries.len(), 1);
        assert_eq!(message.queries[0].query_type(), RecordType::SOA);
        assert_eq!(
            message.answers.len(),
            2,
            "the SOA and one address: value-dependent prerequisites"
        );
        assert_eq!(message.answers[0].data, RData::SOA(soa()));
        assert!(message
            .answers
            .iter()
            .all(|r| r.dns_class == DNSClass::IN && r.ttl == 0));
        assert_eq!(message.authorities.len(), 2, "delete RRset + add");
        assert_eq!(message.authorities[0].dns_class, DNSClass::ANY);
        assert_eq!(message.authorities[1].ttl, 30);
        let bytes = message.to_vec().unwrap();
        let decoded = Message::from_vec(&bytes).unwrap();
        assert_eq!(decoded.authorities.len(), 2);
    }

    /// One resource record as it is on the wire.
    #[derive(Debug, PartialEq, Eq)]
    struct WireRecord {
        owner: String,
        rr_type: u16,
        class: u16,
        ttl: u32,
        rdata: Vec<u8>,
    }

    fn record(owner: &str, rr_type: u16, class: u16, ttl: u32, rdata: &[u8]) -> WireRecord {
        WireRecord {
            owner: owner.to_string(),
            rr_type,
            class,
            ttl,
            rdata: rdata.to_vec(),
        }
    }

    fn read_record(reader: &mut Reader<'_>) -> WireRecord {
        let owner = reader.name().unwrap().to_string();
        let rr_type = reader.u16().unwrap();
        let class = reader.u16().unwrap();
        let ttl = reader.u32().unwrap();
        let len = usize::from(reader.u16().unwrap());
        let rdata = reader.take(len).unwrap().to_vec();
        WireRecord {
            owner,
            rr_type,
            class,
            ttl,
            rdata,
        }
    }

    /// The encoded message, read back field by field with this crate's own
    /// wire reader (not hickory's decoder), against RFC 2136's tables.
    #[test]
    fn wire_bytes_follow_the_rfc_2136_encodings() {
        let (type_a, type_aaaa, type_soa) = (1, 28, 6);
        let (class_in, class_none, class_any) = (1, 254, 255);
        let mut v6 = change("new.example.test.", None, &[]);
        v6.family = Family::V6;
        v6.desired = AddressRrset::new(["2001:db8::1".parse::<IpAddr>().unwrap()], 60);
        let update = ZoneUpdate {
            zone: name("example.test."),
            changes: vec![
                change(
                    "www.example.test.",
                    Some(&["192.0.2.10"]),
                    &["192.0.2.11", "192.0.2.12"],
                ),
                v6,
            ],
        };
        let bytes = update.to_message(0xBEEF, Some(&soa())).to_vec().unwrap();

        // §2.2: ID, QR 0, opcode UPDATE (5), Z and RCODE 0; ZO/PR/UP/AD counts.
        assert_eq!(&bytes[..4], &[0xBE, 0xEF, 5 << 3, 0]);
        let counts = wire::section_counts(&bytes).unwrap();
        assert_eq!(
            (
                counts.questions,
                counts.answers,
                counts.authorities,
                counts.additionals
            ),
            (1, 3, 5, 0)
        );
        let mut reader = Reader::new(&bytes, wire::HEADER_LEN);
        // §2.3: the zone section is the zone's name, type SOA, class IN.
        assert_eq!(reader.name().unwrap().to_string(), "example.test.");
        assert_eq!(
            (reader.u16().unwrap(), reader.u16().unwrap()),
            (type_soa, class_in)
        );
        // §2.4.2 for the zone's SOA RRset: class IN, TTL 0, the whole SOA
        // rdata (RFC 1035 §3.3.13: MNAME, RNAME, then five 32-bit fields).
        assert_eq!(reader.name().unwrap().to_string(), "example.test.");
        assert_eq!(
            (
                reader.u16().unwrap(),
                reader.u16().unwrap(),
                reader.u32().unwrap()
            ),
            (type_soa, class_in, 0)
        );
        let rdlength = usize::from(reader.u16().unwrap());
        let rdata_start = reader.position();
        assert_eq!(reader.name().unwrap().to_string(), "ns.example.test.");
        assert_eq!(
            reader.name().unwrap().to_string(),
            "hostmaster.example.test."
        );
        let fields: Vec<u32> = (0..5).map(|_| reader.u32().unwrap()).collect();
        assert_eq!(fields, [2024_0101, 3600, 600, 86_400, 60]);
        assert_eq!(reader.position() - rdata_start, rdlength);
        let mut records = Vec::new();
        for _ in 0..7 {
            records.push(read_record(&mut reader));
        }
        assert_eq!(reader.position(), bytes.len(), "nothing after the updates");
        let v6_address = "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        assert_eq!(
            records,
            vec![
                // §2.4.2 RRset exists (value dependent): class IN, TTL 0, the rdata.
                record("www.example.test.", type_a, class_in, 0, &[192, 0, 2, 10]),
                // §2.4.3 RRset does not exist: class NONE, TTL 0, RDLENGTH 0.
                record("new.example.test.", type_aaaa, class_none, 0, &[]),
                // §2.5.2 delete an RRset: class ANY, TTL 0, RDLENGTH 0.
                record("www.example.test.", type_a, class_any, 0, &[]),
                // §2.5.1 add to an RRset: class IN, the TTL, the rdata.
                record("www.example.test.", type_a, class_in, 30, &[192, 0, 2, 11]),
                record("www.example.test.", type_a, class_in, 30, &[192, 0, 2, 12]),
                record("new.example.test.", type_aaaa, class_any, 0, &[]),
                record("new.example.test.", type_aaaa, class_in, 60, &v6_address),
            ]
        );
    }

    #[test]
    fn without_the_zone_soa_only_the_rrsets_are_prerequisites() {
        let update = www_moves_from_10_to_11();
        let message = update.to_message(7, None);
        assert_eq!(message.answers.len(), 1);
        assert_eq!(message.answers[0].record_type(), RecordType::A);
    }

    #[test]
    fn absent_rrset_becomes_an_nxrrset_prerequisite() {
        let update = ZoneUpdate {
            zone: name("example.test."),
            changes: vec![change("www.example.test.", None, &["192.0.2.11"])],
        };
        let message = update.to_message(1, Some(&soa()));
        assert_eq!(message.answers[1].dns_class, DNSClass::NONE);
        assert!(update
            .to_nsupdate("127.0.0.1:53".parse().unwrap())
            .contains("prereq nxrrset www.example.test. IN A"));
    }

    #[test]
    fn noop_changes_are_left_out() {
        let update = ZoneUpdate {
            zone: name("example.test."),
            changes: vec![change(
                "www.example.test.",
                Some(&["192.0.2.10"]),
                &["192.0.2.10"],
            )],
        };
        assert_eq!(update.effective_changes().count(), 0);
    }

    #[test]
    fn names_outside_the_zone_are_refused() {
        let update = ZoneUpdate {
            zone: name("example.test."),
            changes: vec![change("www.other.test.", None, &["192.0.2.10"])],
        };
        assert!(matches!(
            update.validate(),
            Err(InvalidUpdate::NameOutsideZone { .. })
        ));
    }

    #[test]
    fn wrong_family_and_duplicates_are_refused() {
        let mut wrong = change("www.example.test.", None, &["2001:db8::1"]);
        wrong.family = Family::V4;
        let update = ZoneUpdate {
            zone: name("example.test."),
            changes: vec![wrong],
        };
        assert!(matches!(
            update.validate(),
            Err(InvalidUpdate::WrongFamily { .. })
        ));
        let twice = change("www.example.test.", None, &["192.0.2.1"]);
        let update = ZoneUpdate {
            zone: name("example.test."),
            changes: vec![twice.clone(), twice],
        };
        assert!(matches!(
            update.validate(),
            Err(InvalidUpdate::Duplicate { .. })
        ));
    }

    #[test]
    fn max_wire_size_bounds_the_encoded_message() {
        let changes: Vec<RrsetChange> = (0..50)
            .map(|i| {
                let owner = format!("host-{i}.example.test.");
                if i % 2 == 0 {
                    change(&owner, Some(&["192.0.2.1", "192.0.2.2"]), &["192.0.2.3"])
                } else {
                    let mut v6 = change(&owner, None, &["2001:db8::1"]);
                    v6.family = Family::V6;
                    v6
                }
            })
            .collect();
        let bound: usize = changes.iter().map(RrsetChange::max_wire_size).sum();
        let update = ZoneUpdate {
            zone: name("example.test."),
            changes,
        };
        let encoded = update.to_message(1, Some(&soa())).to_vec().unwrap().len();
        assert!(encoded <= bound + 512, "{encoded} bytes, bound {bound}");
        assert!(
            bound <= 4 * encoded,
            "the bound is not absurdly loose: {bound}"
        );
    }
}
