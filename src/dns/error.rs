//! Errors of the DNS layer, each saying what the operator can do about it.
//!
//! Transport failures, answers that could not be verified, and answers in
//! which the server reported an error are kept apart: only the last kind is
//! known to come from the server, and only verified answers are believed.

use std::fmt;
use std::net::SocketAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;

use super::transport::TransportError;
use super::update::InvalidUpdate;
use crate::vocabulary::{AddressRrset, Family};

/// One RRset that did not hold what the update expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrsetConflict {
    /// Owner name.
    pub name: Name,
    /// A or AAAA.
    pub family: Family,
    /// What the update expected.
    pub expected: Option<AddressRrset>,
    /// What the server publishes now.
    pub published: Option<AddressRrset>,
}

/// Everything that can go wrong between the agent and the nameserver.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// Refused before sending.
    #[error(transparent)]
    Invalid(#[from] InvalidUpdate),
    /// No usable answer arrived.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// BADSIG: the server knows the key name but the secret differs.
    #[error("{server} rejected the signature of key {key} (TSIG BADSIG): the secret in {origin} differs from the one the nameserver has for that key; copy the key file the nameserver uses")]
    BadSignature {
        server: SocketAddr,
        key: Name,
        origin: String,
    },
    /// BADKEY: the server does not know the key, or (Knot) its ACL does not allow it.
    #[error("{server} does not accept key {key} (TSIG BADKEY): the nameserver has no key of that name and algorithm ({algorithm}); Knot also answers BADKEY when its ACL does not allow this key to update this name and type, so check the acl's key, update-type and update-owner settings")]
    BadKey {
        server: SocketAddr,
        key: Name,
        algorithm: &'static str,
    },
    /// BADTIME, or a response signed outside the fudge: the clocks differ.
    #[error("clock skew between this host and {server}: the server's time is {server_time} and ours is {local_time} (unix seconds), {skew} s apart, more than the {fudge} s TSIG allows; fix the clock (NTP) on whichever host is wrong")]
    ClockSkew {
        server: SocketAddr,
        server_time: u64,
        local_time: u64,
        skew: u64,
        fudge: u16,
    },
    /// The answer carried no TSIG although the request was signed.
    #[error(
        "{server} answered {} without a TSIG signature, so the answer cannot be trusted{hint}", rcode_name(*.rcode)
    )]
    Unsigned {
        server: SocketAddr,
        rcode: ResponseCode,
        hint: &'static str,
    },
    /// The answer's TSIG did not verify.
    #[error("the answer from {server} failed TSIG verification ({reason}); it was ignored")]
    Unverifiable { server: SocketAddr, reason: String },
    /// REFUSED: the update policy does not allow this key to change these records.
    #[error("{server} refused the update of zone {zone} (REFUSED): the update policy does not allow key {key} to change these names/types, or the zone is frozen; grant it, e.g. BIND `update-policy {{ grant {key} name NAME A AAAA; }};`")]
    Refused {
        server: SocketAddr,
        zone: Name,
        key: Name,
    },
    /// The server is not authoritative for a name or zone (NOTAUTH, REFUSED
    /// or a non-authoritative answer to a query).
    #[error(
        "{server} is not authoritative for {name}: point nameserver.address at the zone's primary"
    )]
    NotAuthoritative { server: SocketAddr, name: Name },
    /// NOTZONE: a name is outside the zone the server knows.
    #[error("{server} says a name is outside zone {zone} (NOTZONE): check the record's zone")]
    NotZone { server: SocketAddr, zone: Name },
    /// A prerequisite failed: someone else changed the RRsets since they were read.
    #[error("conflict in zone {zone}: {}", describe_conflicts(.conflicts))]
    Conflict {
        zone: Name,
        conflicts: Vec<RrsetConflict>,
    },
    /// The server said NOERROR but publishes something else (RFC 2136 §3.4.2.7).
    #[error("{server} accepted the update but publishes {} for {name} {family} instead of {}: is there a CNAME at {name}?", show(.published.as_ref()), show(Some(.desired)))]
    NotApplied {
        server: SocketAddr,
        name: Name,
        family: Family,
        desired: AddressRrset,
        published: Option<AddressRrset>,
    },
    /// The name is an alias: A/AAAA records cannot be published beside a CNAME.
    #[error("{name} is a CNAME on {server}: A/AAAA records cannot be published beside it; remove the CNAME or configure the name it points to")]
    CnameAtName { server: SocketAddr, name: Name },
    /// Another error code from the server.
    #[error("{server} answered {} to {what}", rcode_name(*.rcode))]
    ServerError {
        server: SocketAddr,
        rcode: ResponseCode,
        what: String,
    },
    /// The answer was not a well-formed answer to our question.
    #[error("malformed answer from {server}: {reason}")]
    Malformed { server: SocketAddr, reason: String },
    /// An update's outcome was unclear and reading back failed too.
    #[error("{cause}; reading back to learn whether it was applied failed too: {reread}")]
    Unconfirmed {
        cause: Box<DnsError>,
        reread: Box<DnsError>,
    },
}

impl DnsError {
    /// True when the request may have reached the server but its answer
    /// cannot be trusted: an UPDATE may or may not have been applied.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            DnsError::Transport(error) => error.may_have_been_delivered(),
            DnsError::Unsigned { .. }
            | DnsError::Unverifiable { .. }
            | DnsError::BadSignature { .. }
            | DnsError::BadKey { .. }
            | DnsError::Malformed { .. } => true,
            _ => false,
        }
    }

    /// True for failures that may pass by themselves (network, server load),
    /// as opposed to ones an operator must fix (keys, policy, clocks, zones).
    pub fn is_transient(&self) -> bool {
        match self {
            DnsError::Transport(_)
            | DnsError::Unsigned { .. }
            | DnsError::Unverifiable { .. }
            | DnsError::Malformed { .. }
            | DnsError::Unconfirmed { .. } => true,
            DnsError::ServerError { rcode, .. } => {
                matches!(rcode, ResponseCode::ServFail | ResponseCode::NotImp)
            }
            _ => false,
        }
    }
}

/// The RFC mnemonic of a response code, as operators know it from dig and
/// logs, or `RCODE N` for a code without one here.
fn rcode_name(rcode: ResponseCode) -> String {
    rcode_mnemonic(rcode).map_or_else(|| format!("RCODE {}", u16::from(rcode)), str::to_owned)
}

/// The RFC mnemonic of the response codes an UPDATE or query is answered
/// with (RFC 1035, RFC 2136); `None` for the others.
pub fn rcode_mnemonic(rcode: ResponseCode) -> Option<&'static str> {
    Some(match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::YXRRSet => "YXRRSET",
        ResponseCode::NXRRSet => "NXRRSET",
        ResponseCode::NotAuth => "NOTAUTH",
        ResponseCode::NotZone => "NOTZONE",
        _ => return None,
    })
}

fn show(rrset: Option<&AddressRrset>) -> String {
    match rrset {
        None => "nothing".to_string(),
        Some(rrset) => {
            let addresses: Vec<String> = rrset.addresses.iter().map(ToString::to_string).collect();
            format!("[{}] ttl {}", addresses.join(", "), rrset.ttl)
        }
    }
}

fn describe_conflicts(conflicts: &[RrsetConflict]) -> String {
    let parts: Vec<String> = conflicts
        .iter()
        .map(|c| {
            format!(
                "{} {} was expected to be {} but is {}",
                c.name,
                c.family,
                show(c.expected.as_ref()),
                show(c.published.as_ref())
            )
        })
        .collect();
    format!(
        "{} (changed by someone else since it was read; nothing was overwritten)",
        parts.join("; ")
    )
}

impl fmt::Display for RrsetConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe_conflicts(std::slice::from_ref(self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes_read_as_their_mnemonics() {
        assert_eq!(rcode_name(ResponseCode::NotAuth), "NOTAUTH");
        assert_eq!(rcode_name(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode_name(ResponseCode::from_low(12)), "RCODE 12");
    }
}
