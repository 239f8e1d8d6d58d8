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
pub use crate::vocabulary::rcode_mnemonic;
use crate::vocabulary::{rcode_name, AddressList, AddressRrset, Family};

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
    /// An unsigned answer claims BADSIG. It cannot be verified, but it is
    /// what BIND and Knot answer when the secret differs from theirs.
    #[error("an unsigned answer from {server} claims BADSIG for key {key}, i.e. that our signature is wrong: it cannot be verified (the nameserver or anyone else may have sent it), so it was discarded; but it is how a nameserver answers when its secret for that key differs from ours: if this persists, check that the secret in {origin} is the one the nameserver has for that key (copy the key file the nameserver uses)")]
    ClaimedBadSig {
        server: SocketAddr,
        key: Name,
        origin: String,
    },
    /// An unsigned answer claims BADKEY. It cannot be verified, but it is
    /// what a nameserver answers when it does not know the key, and what
    /// Knot answers when its ACL does not allow it.
    #[error("an unsigned answer from {server} claims BADKEY for key {key}, i.e. that the nameserver does not accept that key: it cannot be verified (the nameserver or anyone else may have sent it), so it was discarded; but it is how a nameserver answers when it has no key of that name and algorithm ({algorithm}), and Knot also when its ACL does not allow this key to update this name and type: if this persists, check the key's name and algorithm on the nameserver, and Knot's acl key, update-type and update-owner settings")]
    ClaimedBadKey {
        server: SocketAddr,
        key: Name,
        algorithm: &'static str,
    },
    /// BADTIME: the server says our clocks differ by more than the fudge.
    #[error("clock skew between this host and {server}: the server's time is {server_time} and ours is {local_time} (unix seconds), {skew} s apart, more than the {fudge} s TSIG allows; fix the clock (NTP) on whichever host is wrong")]
    ClockSkew {
        server: SocketAddr,
        server_time: u64,
        local_time: u64,
        skew: u64,
        fudge: u16,
    },
    /// A correctly signed answer whose signing time is outside its fudge as
    /// our clock sees it (RFC 8945 §5.4.3). It is not believed, but the
    /// request did reach the server: an UPDATE may have been applied.
    #[error("the answer from {server} is correctly signed, but at {signed} while our clock says {local_time} (unix seconds), {skew} s apart, more than the {fudge} s it allows: one of the clocks is wrong (fix it with NTP) or the answer was held back on the way; the answer is not believed, and whether an update it answers was applied is learned by reading back")]
    AnswerOutsideFudge {
        server: SocketAddr,
        signed: u64,
        local_time: u64,
        skew: u64,
        fudge: u16,
    },
    /// An answer carried no TSIG although the request was signed.
    #[error(
        "an answer from {server} ({}) carried no TSIG signature although the request was signed, so it cannot be trusted and was discarded{hint}", rcode_name(*.rcode)
    )]
    Unsigned {
        server: SocketAddr,
        rcode: ResponseCode,
        hint: &'static str,
    },
    /// An answer's TSIG did not verify.
    #[error("an answer from {server} failed TSIG verification ({reason}) and was discarded")]
    Unverifiable { server: SocketAddr, reason: String },
    /// Answers arrived, but none passed TSIG verification before the
    /// exchange ended: `first` says what was wrong with the first of them.
    #[error("{first}{}; no answer that passes TSIG verification followed: {end}", more_discarded(*.more))]
    NoVerifiedAnswer {
        first: Box<DnsError>,
        more: usize,
        end: TransportError,
    },
    /// REFUSED: the zone is frozen, or the update policy does not allow this
    /// key to change these records. Both servers answer a frozen zone so
    /// (BIND 9.18 and Knot 3.2, at once and without queueing the update), and
    /// nothing in the answer tells the two apart.
    #[error("{server} refused the update of zone {zone} (REFUSED): either the zone is frozen, so thaw it (BIND `rndc thaw {zone}`, Knot `knotc zone-thaw {zone}`), or the update policy does not allow key {key} to change these names/types, so grant it (BIND e.g. `update-policy {{ grant {key} name NAME A AAAA; }};`, Knot an acl with update-type [A, AAAA] for the owner); retried with a backoff")]
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
    /// Every UPDATE sent failed only its SOA prerequisite: the zone changed
    /// between reading its SOA and updating, each time, while the RRsets to
    /// change still held what was expected. Nothing was applied.
    #[error("the update of zone {zone} on {server} was not applied: the zone's SOA changed between reading it and updating, {attempts} times in a row, while the records still held what was expected; something else keeps editing the zone (will retry)")]
    ZoneKeptChanging {
        server: SocketAddr,
        zone: Name,
        attempts: usize,
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
            | DnsError::ClaimedBadSig { .. }
            | DnsError::ClaimedBadKey { .. }
            | DnsError::NoVerifiedAnswer { .. }
            | DnsError::AnswerOutsideFudge { .. }
            | DnsError::Malformed { .. } => true,
            _ => false,
        }
    }

    /// True for failures that may pass by themselves (network, server load,
    /// forged answers), as opposed to ones an operator must fix (policy,
    /// clocks, zones). An unsigned BADSIG or BADKEY is transient: anyone can
    /// send one, so it is not taken as the server's word on the key.
    pub fn is_transient(&self) -> bool {
        match self {
            DnsError::Transport(_)
            | DnsError::Unsigned { .. }
            | DnsError::Unverifiable { .. }
            | DnsError::ClaimedBadSig { .. }
            | DnsError::ClaimedBadKey { .. }
            | DnsError::NoVerifiedAnswer { .. }
            | DnsError::Malformed { .. }
            | DnsError::ZoneKeptChanging { .. }
            | DnsError::Unconfirmed { .. } => true,
            DnsError::ServerError { rcode, .. } => {
                matches!(rcode, ResponseCode::ServFail | ResponseCode::NotImp)
            }
            _ => false,
        }
    }
}

fn more_discarded(more: usize) -> String {
    match more {
        0 => String::new(),
        1 => " (and 1 more answer that failed verification)".to_string(),
        n => format!(" (and {n} more answers that failed verification)"),
    }
}

fn show(rrset: Option<&AddressRrset>) -> String {
    match rrset {
        None => "nothing".to_string(),
        Some(rrset) => format!("[{}] ttl {}", AddressList(&rrset.addresses), rrset.ttl),
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
