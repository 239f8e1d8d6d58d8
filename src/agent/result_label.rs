//! Short labels for the outcome of an UPDATE, as status and metrics show them.

use crate::dns::{rcode_mnemonic, ApplyOutcome, DnsError, TransportError};

/// The label of a successful update.
pub fn of_outcome(outcome: &ApplyOutcome) -> &'static str {
    match outcome {
        ApplyOutcome::Unchanged => "unchanged",
        ApplyOutcome::Applied => "NOERROR",
        ApplyOutcome::AppliedUnconfirmedAnswer { .. } => "applied_unconfirmed",
    }
}

/// The label of a failed update: the response code where the server gave
/// one, else what kind of failure it was. A small fixed set, fit for a
/// metric label.
pub fn of_error(error: &DnsError) -> &'static str {
    match error {
        DnsError::Invalid(_) => "invalid",
        DnsError::Transport(TransportError::Timeout { .. }) => "timeout",
        DnsError::Transport(_) => "unreachable",
        DnsError::ClaimedBadSig { .. } => "BADSIG",
        DnsError::ClaimedBadKey { .. } => "BADKEY",
        DnsError::ClockSkew { .. } => "BADTIME",
        DnsError::AnswerOutsideFudge { .. } => "outside_fudge",
        DnsError::Unsigned { .. }
        | DnsError::Unverifiable { .. }
        | DnsError::NoVerifiedAnswer { .. } => "unverified",
        DnsError::Refused { .. } => "REFUSED",
        DnsError::NotAuthoritative { .. } => "NOTAUTH",
        DnsError::NotZone { .. } => "NOTZONE",
        DnsError::Conflict { .. } => "conflict",
        DnsError::ZoneKeptChanging { .. } => "zone_kept_changing",
        DnsError::NotApplied { .. } => "not_applied",
        DnsError::CnameAtName { .. } => "cname",
        DnsError::ServerError { rcode, .. } => rcode_mnemonic(*rcode).unwrap_or("other_rcode"),
        DnsError::Malformed { .. } => "malformed",
        DnsError::Unconfirmed { .. } => "unconfirmed",
    }
}
