//! One signed exchange with the nameserver: sign the request, send it, and
//! wait for an answer whose TSIG verifies.
//!
//! An answer that fails verification could have been sent by anyone who can
//! guess the ID, so it is discarded and the wait goes on until the request's
//! timeout (RFC 8945 §5.4): an injected packet cannot hide the genuine
//! answer. If only such answers arrive, the error says what was wrong with
//! them. Only an answer whose MAC verified ends the exchange with an error
//! (BADTIME, another signed TSIG error, a time outside the fudge).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hickory_proto::op::{Message, MessageType, ResponseCode};

use super::error::DnsError;
use super::key::TsigKey;
use super::transport;
use super::tsig::{self, TsigFailure};
use crate::vocabulary::Transport;

/// Where the wall-clock time for TSIG comes from (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Where and how one request goes.
pub(super) struct Endpoint<'a> {
    /// The nameserver.
    pub server: SocketAddr,
    /// TCP or UDP.
    pub transport: Transport,
    /// How long to wait for a verified answer, all answers included.
    pub timeout: Duration,
    /// The key that signs the request and must sign the answer; `None`
    /// only for lookups at other nameservers, whose answers are never
    /// acted on.
    pub key: Option<&'a TsigKey>,
    /// The wall clock for TSIG times.
    pub clock: &'a Clock,
}

/// What one answer to a signed request means.
pub(super) enum Judged {
    /// Its MAC verified, so it ends the exchange: the decoded answer and when
    /// the server signed it, or the error the server signed.
    Final(Result<(Message, u64), DnsError>),
    /// It failed verification: anyone could have sent it, so it is discarded.
    Discarded(DnsError),
}

/// The answers discarded so far in one exchange.
struct Discarded {
    first: DnsError,
    more: usize,
}

impl Endpoint<'_> {
    /// Signs, sends, verifies and decodes one request.
    pub async fn exchange(&self, message: &Message) -> Result<Message, DnsError> {
        self.exchange_timed(message).await.map(|(answer, _)| answer)
    }

    /// Like [`Endpoint::exchange`], also returning when the server signed
    /// the answer (its clock, unix seconds).
    pub async fn exchange_timed(&self, message: &Message) -> Result<(Message, u64), DnsError> {
        let bytes = message
            .to_vec()
            .map_err(|e| self.malformed(format!("cannot encode request: {e}")))?;
        let Some(key) = self.key else {
            return self.exchange_unsigned(&bytes, message).await;
        };
        let signed = tsig::sign_request(&bytes, key, self.now())
            .map_err(|e| self.malformed(format!("cannot sign request: {e}")))?;
        let mut pending =
            transport::send(self.server, self.transport, &signed.bytes, self.timeout).await?;
        let mut discarded: Option<Discarded> = None;
        loop {
            let answer = match pending.next_answer().await {
                Ok(answer) => answer,
                Err(end) => {
                    return Err(match discarded {
                        None => end.into(),
                        Some(Discarded { first, more }) => DnsError::NoVerifiedAnswer {
                            first: Box::new(first),
                            more,
                            end,
                        },
                    })
                }
            };
            match self.judge(&answer, key, &signed.mac, message) {
                Judged::Final(result) => {
                    if let Some(Discarded { first, more }) = &discarded {
                        tracing::warn!(server = %self.server, discarded = more + 1, "a verified answer arrived after answers that failed verification; the first of those: {first}");
                    }
                    return result;
                }
                Judged::Discarded(error) => {
                    tracing::debug!(server = %self.server, "{error}");
                    match &mut discarded {
                        None => {
                            discarded = Some(Discarded {
                                first: error,
                                more: 0,
                            })
                        }
                        Some(discarded) => discarded.more += 1,
                    }
                }
            }
        }
    }

    /// What one answer to `request` (signed with `key`, its MAC
    /// `request_mac`) means: its TSIG located and verified, then decoded.
    pub(super) fn judge(
        &self,
        answer: &[u8],
        key: &TsigKey,
        request_mac: &[u8],
        request: &Message,
    ) -> Judged {
        match tsig::verify_response(answer, key, request_mac, self.now()) {
            Ok(verified) => Judged::Final(
                decode(&verified.message, request)
                    .map(|decoded| (decoded, verified.time_signed))
                    .map_err(|e| self.malformed(e)),
            ),
            Err(failure) if failure.is_authenticated() => {
                Judged::Final(Err(self.tsig_error(key, failure, answer)))
            }
            Err(failure) => Judged::Discarded(self.tsig_error(key, failure, answer)),
        }
    }

    /// Sends `bytes` as they are and takes the first answer with their ID.
    async fn exchange_unsigned(
        &self,
        bytes: &[u8],
        message: &Message,
    ) -> Result<(Message, u64), DnsError> {
        let mut pending = transport::send(self.server, self.transport, bytes, self.timeout).await?;
        let answer = pending.next_answer().await?;
        let decoded = decode(&answer, message).map_err(|e| self.malformed(e))?;
        Ok((decoded, self.now()))
    }

    fn malformed(&self, reason: String) -> DnsError {
        DnsError::Malformed {
            server: self.server,
            reason,
        }
    }

    /// Our clock's time for TSIG, unix seconds.
    pub fn now(&self) -> u64 {
        tsig::unix_seconds((self.clock)())
    }

    /// What a TSIG failure means for the operator.
    fn tsig_error(&self, key: &TsigKey, failure: TsigFailure, answer: &[u8]) -> DnsError {
        let server = self.server;
        let unverifiable = |reason: String| DnsError::Unverifiable { server, reason };
        match failure {
            TsigFailure::Unsigned => {
                let rcode = rcode_of(answer);
                let hint = if matches!(rcode, ResponseCode::NotAuth | ResponseCode::Refused) {
                    "; Knot answers like this (NOTAUTH to an UPDATE, REFUSED to a query) when it does not serve the zone: point nameserver.address at the zone's primary"
                } else {
                    ""
                };
                DnsError::Unsigned {
                    server,
                    rcode,
                    hint,
                }
            }
            TsigFailure::UnsignedBadSig => DnsError::ClaimedBadSig {
                server,
                key: key.name().clone(),
                origin: key.origin().to_string(),
            },
            TsigFailure::UnsignedBadKey => DnsError::ClaimedBadKey {
                server,
                key: key.name().clone(),
                algorithm: key.algorithm().name(),
            },
            TsigFailure::UnsignedError(code) => unverifiable(format!(
                "an unsigned answer claiming TSIG error code {code}"
            )),
            TsigFailure::WrongKey {
                key_name,
                algorithm,
            } => unverifiable(format!(
                "signed with key {key_name} ({algorithm}), not with ours ({}, {})",
                key.name(),
                key.algorithm()
            )),
            TsigFailure::MacLength { len, expected } => unverifiable(format!(
                "a MAC of {len} bytes where {} has {expected}",
                key.algorithm()
            )),
            TsigFailure::MacMismatch => unverifiable(
                "the MAC does not match: tampered with, or not an answer to our request".into(),
            ),
            TsigFailure::Malformed(error) => unverifiable(error.to_string()),
            TsigFailure::BadTime { server_time, .. } => {
                let local_time = self.now();
                DnsError::ClockSkew {
                    server,
                    server_time,
                    local_time,
                    skew: server_time.abs_diff(local_time),
                    fudge: tsig::FUDGE_SECONDS,
                }
            }
            TsigFailure::TimeOutsideFudge { signed, now, fudge } => DnsError::AnswerOutsideFudge {
                server,
                signed,
                local_time: now,
                skew: signed.abs_diff(now),
                fudge,
            },
            TsigFailure::SignedError(code) => DnsError::ServerError {
                server,
                rcode: rcode_of(answer),
                what: format!("our signed request (TSIG error {code} in its signed answer)"),
            },
        }
    }
}

/// Decodes a verified answer and checks that it answers `request`; the
/// error says why not.
fn decode(verified: &[u8], request: &Message) -> Result<Message, String> {
    let response = Message::from_vec(verified).map_err(|e| e.to_string())?;
    if response.message_type != MessageType::Response || response.op_code != request.op_code {
        return Err("the answer is not a response to our request".into());
    }
    Ok(response)
}

/// The RCODE in an answer's header (unverified: for messages only).
fn rcode_of(answer: &[u8]) -> ResponseCode {
    answer
        .get(3)
        .map(|byte| ResponseCode::from_low(byte & 0x0F))
        .unwrap_or(ResponseCode::ServFail)
}
