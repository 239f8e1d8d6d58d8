//! TSIG (RFC 8945) for a client: sign requests, verify responses.
//!
//! A request is signed over the message plus the TSIG variables (§4.3.3).
//! A response is verified over the request MAC, the response as the server
//! signed it (original ID, ARCOUNT without the TSIG record) and its TSIG
//! variables (§4.3.2, §5.3.1): that chaining is what ties an answer to the
//! question we asked. Nothing is believed before [`verify_response`] says so.

use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::rr::Name;

use super::key::TsigKey;
use super::wire::{self, LocatedTsig, WireError, CLASS_ANY, TYPE_TSIG};

/// Fudge sent with every request: how far apart, in seconds, the agent's
/// and the server's clocks may be. BIND and Knot check a request's time
/// against the fudge the request carries, so this is also how long a
/// captured request stays acceptable to them. RFC 8945 §10 suggests 300 s;
/// 60 s assumes both hosts keep time with NTP (which keeps them within
/// milliseconds; a clock left free drifts about a second a day) and makes a
/// held-back UPDATE useless a minute after it was signed. Every UPDATE also
/// carries an SOA prerequisite, so a captured one that was applied cannot
/// apply again at all (see [`super::ZoneUpdate::to_message`]).
pub const FUDGE_SECONDS: u16 = 60;

/// TSIG error codes (RFC 8945 §3).
pub mod codes {
    /// The MAC did not verify: the secrets differ.
    pub const BADSIG: u16 = 16;
    /// The server does not know the key (Knot also says so when its ACL denies the key).
    pub const BADKEY: u16 = 17;
    /// The clocks differ by more than the fudge.
    pub const BADTIME: u16 = 18;
    /// The MAC was truncated too much.
    pub const BADTRUNC: u16 = 22;
}

/// A signed request and the MAC the response must chain to.
pub struct SignedRequest {
    /// The message with its TSIG record appended.
    pub bytes: Vec<u8>,
    /// The request's MAC (RFC 8945 §5.1: kept until the answer arrives).
    pub mac: Vec<u8>,
}

/// Seconds since the epoch for a point in time (0 before 1970).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs an encoded message (without TSIG) at `time` and appends the TSIG record.
pub fn sign_request(message: &[u8], key: &TsigKey, time: u64) -> Result<SignedRequest, WireError> {
    let variables = tsig_variables(key, time, FUDGE_SECONDS, 0, &[]);
    let mac = key.sign(&mac_input(None, message, &variables));
    let bytes = append_tsig(message, key, time, &mac, 0, &[])?;
    Ok(SignedRequest { bytes, mac })
}

/// What a MAC covers (RFC 8945 §4.3): the MAC it answers, if any, as
/// length and bytes; the message without its TSIG record; the TSIG variables.
fn mac_input(prior_mac: Option<&[u8]>, message: &[u8], variables: &[u8]) -> Vec<u8> {
    let prior_len = prior_mac.map_or(0, |mac| 2 + mac.len());
    let mut input = Vec::with_capacity(prior_len + message.len() + variables.len());
    if let Some(mac) = prior_mac {
        input.extend_from_slice(&(mac.len() as u16).to_be_bytes());
        input.extend_from_slice(mac);
    }
    input.extend_from_slice(message);
    input.extend_from_slice(variables);
    input
}

/// The message with a TSIG record carrying `mac` appended and ARCOUNT raised
/// (RFC 8945 §4.2); the original ID is the message's own.
fn append_tsig(
    message: &[u8],
    key: &TsigKey,
    time: u64,
    mac: &[u8],
    error: u16,
    other: &[u8],
) -> Result<Vec<u8>, WireError> {
    let counts = wire::section_counts(message)?;
    let additionals = counts
        .additionals
        .checked_add(1)
        .ok_or_else(|| WireError("no room for a TSIG record".into()))?;
    let mut rdata = Vec::with_capacity(64 + mac.len() + other.len());
    wire::push_canonical_name(&mut rdata, &algorithm_name(key));
    wire::push_u48(&mut rdata, time);
    rdata.extend_from_slice(&FUDGE_SECONDS.to_be_bytes());
    rdata.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(mac);
    rdata.extend_from_slice(&message[0..2]);
    rdata.extend_from_slice(&error.to_be_bytes());
    rdata.extend_from_slice(&(other.len() as u16).to_be_bytes());
    rdata.extend_from_slice(other);

    let mut bytes = message.to_vec();
    bytes[10..12].copy_from_slice(&additionals.to_be_bytes());
    wire::push_canonical_name(&mut bytes, key.name());
    bytes.extend_from_slice(&TYPE_TSIG.to_be_bytes());
    bytes.extend_from_slice(&CLASS_ANY.to_be_bytes());
    bytes.extend_from_slice(&0u32.to_be_bytes());
    bytes.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&rdata);
    Ok(bytes)
}

/// Why a response could not be trusted, or the TSIG error the server reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsigFailure {
    /// The response carries no TSIG record (RFC 8945 §5.4: a format error).
    Unsigned,
    /// Signed with another key or algorithm (§5.4.1); both names in escaped
    /// presentation form, safe to show.
    WrongKey { key_name: String, algorithm: String },
    /// An unsigned answer claims BADSIG: the server could not verify our MAC
    /// (the secrets differ), or someone says so.
    UnsignedBadSig,
    /// An unsigned answer claims BADKEY: the server does not know the key,
    /// or (Knot) does not allow it, or someone says so.
    UnsignedBadKey,
    /// An unsigned answer claims another TSIG error (or none at all).
    UnsignedError(u16),
    /// The MAC is not the full length for the algorithm: truncated
    /// (§5.2.2.1; we never ask for truncation) or padded.
    MacLength { len: usize, expected: usize },
    /// The MAC does not verify: tampered, or not chained to our request.
    MacMismatch,
    /// The message could not be parsed.
    Malformed(WireError),
    /// Signed: the server's clock differs from ours by more than the fudge.
    BadTime { server_time: u64, request_time: u64 },
    /// Signed: the server reported another TSIG error code.
    SignedError(u16),
    /// Signed, but outside time ± fudge as seen by our clock (§5.4.3).
    TimeOutsideFudge { signed: u64, now: u64, fudge: u16 },
}

impl TsigFailure {
    /// True when the MAC verified: the answer comes from the holder of the
    /// key and answers our request, so it ends the exchange. Every other
    /// failure could have been sent by anyone: RFC 8945 §5.4 says to discard
    /// such an answer and to keep waiting for the genuine one.
    pub fn is_authenticated(&self) -> bool {
        matches!(
            self,
            TsigFailure::BadTime { .. }
                | TsigFailure::SignedError(_)
                | TsigFailure::TimeOutsideFudge { .. }
        )
    }
}

/// A response whose TSIG verified, with the TSIG record stripped.
pub struct VerifiedResponse {
    /// The message as the server built it: original ID, no TSIG record.
    pub message: Vec<u8>,
    /// When the server signed it (its clock, unix seconds).
    pub time_signed: u64,
}

/// Verifies the TSIG of `response` to the request whose MAC is `request_mac`,
/// at local time `now`.
pub fn verify_response(
    response: &[u8],
    key: &TsigKey,
    request_mac: &[u8],
    now: u64,
) -> Result<VerifiedResponse, TsigFailure> {
    let tsig = wire::locate_tsig(response)
        .map_err(TsigFailure::Malformed)?
        .ok_or(TsigFailure::Unsigned)?;
    check_key_matches(&tsig, key)?;
    let rdata = &tsig.rdata;
    if rdata.mac.is_empty() {
        return Err(match rdata.error {
            codes::BADSIG => TsigFailure::UnsignedBadSig,
            codes::BADKEY => TsigFailure::UnsignedBadKey,
            other => TsigFailure::UnsignedError(other),
        });
    }
    let expected = key.algorithm().mac_len();
    if rdata.mac.len() != expected {
        return Err(TsigFailure::MacLength {
            len: rdata.mac.len(),
            expected,
        });
    }
    let message = message_without_tsig(response, &tsig);
    let variables = tsig_variables(
        key,
        rdata.time_signed,
        rdata.fudge,
        rdata.error,
        rdata.other,
    );
    let signed_data = mac_input(Some(request_mac), &message, &variables);
    if !key.verify(&signed_data, rdata.mac) {
        return Err(TsigFailure::MacMismatch);
    }
    match rdata.error {
        0 => {}
        codes::BADTIME => {
            let mut reader = wire::Reader::new(rdata.other, 0);
            let server_time = reader.u48().unwrap_or(rdata.time_signed);
            return Err(TsigFailure::BadTime {
                server_time,
                request_time: rdata.time_signed,
            });
        }
        other => return Err(TsigFailure::SignedError(other)),
    }
    if now.abs_diff(rdata.time_signed) > u64::from(rdata.fudge) {
        return Err(TsigFailure::TimeOutsideFudge {
            signed: rdata.time_signed,
            now,
            fudge: rdata.fudge,
        });
    }
    Ok(VerifiedResponse {
        message,
        time_signed: rdata.time_signed,
    })
}

/// RFC 8945 §5.4.1: the answer must be signed with our key name and
/// algorithm; compared in place, without copying the names out. The names
/// of a stranger's key are kept escaped, for the error message.
fn check_key_matches(tsig: &LocatedTsig<'_>, key: &TsigKey) -> Result<(), TsigFailure> {
    let algorithm = key.algorithm().name();
    if !tsig.key_name.is(key.name()) || !tsig.rdata.algorithm.is_text(algorithm) {
        return Err(TsigFailure::WrongKey {
            key_name: tsig.key_name.to_string(),
            algorithm: tsig.rdata.algorithm.to_string(),
        });
    }
    Ok(())
}

/// The response as the server signed it: the TSIG record cut off, ARCOUNT
/// decremented and the ID set back to the original ID (RFC 8945 §4.3.2).
fn message_without_tsig(response: &[u8], tsig: &LocatedTsig<'_>) -> Vec<u8> {
    let mut message = response[..tsig.offset].to_vec();
    let additionals = u16::from_be_bytes([message[10], message[11]]).saturating_sub(1);
    message[10..12].copy_from_slice(&additionals.to_be_bytes());
    message[0..2].copy_from_slice(&tsig.rdata.original_id.to_be_bytes());
    message
}

fn algorithm_name(key: &TsigKey) -> Name {
    Name::from_ascii(format!("{}.", key.algorithm().name()))
        .expect("algorithm names are valid DNS names")
}

/// The TSIG variables of RFC 8945 §4.3.3, in digest order.
fn tsig_variables(key: &TsigKey, time: u64, fudge: u16, error: u16, other: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + other.len());
    wire::push_canonical_name(&mut out, key.name());
    out.extend_from_slice(&CLASS_ANY.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    wire::push_canonical_name(&mut out, &algorithm_name(key));
    wire::push_u48(&mut out, time);
    out.extend_from_slice(&fudge.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
    out.extend_from_slice(&(other.len() as u16).to_be_bytes());
    out.extend_from_slice(other);
    out
}

/// Signs a response as a server would (RFC 8945 §4.3.2): chained to
/// `request_mac`, with `error` and `other` in the TSIG variables. The client
/// never needs this; it lets tests play a nameserver, honest or hostile.
pub fn sign_response(
    response: &[u8],
    key: &TsigKey,
    request_mac: &[u8],
    time: u64,
    error: u16,
    other: &[u8],
) -> Result<Vec<u8>, WireError> {
    let variables = tsig_variables(key, time, FUDGE_SECONDS, error, other);
    let mac = key.sign(&mac_input(Some(request_mac), response, &variables));
    append_tsig(response, key, time, &mac, error, other)
}
