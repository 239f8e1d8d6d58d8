//! Entry points for the fuzz targets in `fuzz/`: the code that reads what a
//! nameserver sent, reachable without a network. Hidden from the docs; not
//! a stable API.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};

use super::exchange::{Clock, Endpoint, Judged};
use super::key::TsigKey;
use super::tsig;
use crate::vocabulary::{Transport, TsigAlgorithm};

/// When the fixed request is signed, and the client's clock when it judges
/// the answer (unix seconds: 2026-12-03T09:32:29Z, when the BIND and Knot
/// answers in `fuzz/corpus/dns_answer` were captured).
pub const SIGNED_AT: u64 = 1_796_290_349;
/// The fixed request's message ID.
pub const REQUEST_ID: u16 = 0x2a2a;
/// The name of the fixed test key.
pub const KEY_NAME: &str = "fuzz-key.";
/// The fixed test key's secret, base64 (hmac-sha256).
pub const KEY_SECRET: &str = "ZnV6emluZy1vbmx5LWZ1enppbmctb25seS1mdXp6aW4=";

/// An SOA query for `example.test.` signed with a fixed hmac-sha256 test key
/// at [`SIGNED_AT`]: the request whose answers the fuzz target judges.
pub struct SignedQuery {
    key: TsigKey,
    request: Message,
    signed: tsig::SignedRequest,
    clock: Clock,
}

/// What the client made of one answer.
#[derive(Debug)]
pub enum Verdict {
    /// Verified and decoded: it ends the exchange with this message.
    Accepted(Box<Message>),
    /// Verified, but it ends the exchange with this error.
    Failed(String),
    /// Not verified: discarded, the wait goes on; the error says why.
    Discarded(String),
}

impl SignedQuery {
    /// The fixed request, signed.
    pub fn new() -> SignedQuery {
        let secret = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, KEY_SECRET)
            .expect("the test secret is base64");
        let key = TsigKey::new(
            Name::from_ascii(KEY_NAME).expect("a valid key name"),
            TsigAlgorithm::HmacSha256,
            secret,
            "the fuzzing test key",
        )
        .expect("a non-empty secret");
        let mut request = Message::new(REQUEST_ID, MessageType::Query, OpCode::Query);
        request.metadata.recursion_desired = false;
        let zone = Name::from_ascii("example.test.").expect("a valid name");
        request.add_query(Query::query(zone, RecordType::SOA));
        let bytes = request.to_vec().expect("the request encodes");
        let signed = tsig::sign_request(&bytes, &key, SIGNED_AT).expect("the request signs");
        SignedQuery {
            key,
            request,
            signed,
            clock: Arc::new(|| UNIX_EPOCH + Duration::from_secs(SIGNED_AT)),
        }
    }

    /// The request as it goes on the wire, TSIG record included.
    pub fn request_bytes(&self) -> &[u8] {
        &self.signed.bytes
    }

    /// Judges `answer` exactly as the client judges an answer to this
    /// request: TSIG located and verified, then the message decoded.
    pub fn judge(&self, answer: &[u8]) -> Verdict {
        let endpoint = Endpoint {
            server: SocketAddr::from((Ipv4Addr::LOCALHOST, 53)),
            transport: Transport::Tcp,
            timeout: Duration::from_secs(1),
            key: Some(&self.key),
            clock: &self.clock,
        };
        match endpoint.judge(answer, &self.key, &self.signed.mac, &self.request) {
            Judged::Final(Ok((message, _))) => Verdict::Accepted(Box::new(message)),
            Judged::Final(Err(error)) => Verdict::Failed(error.to_string()),
            Judged::Discarded(error) => Verdict::Discarded(error.to_string()),
        }
    }

    /// `response` with a TSIG record appended as the nameserver would sign
    /// it (TSIG `error` and `other` data), so that a fuzzer reaches what lies
    /// behind the MAC check. `None` when `response` is shorter than a header.
    pub fn sign_as_server(&self, response: &[u8], error: u16, other: &[u8]) -> Option<Vec<u8>> {
        tsig::sign_response(
            response,
            &self.key,
            &self.signed.mac,
            SIGNED_AT,
            error,
            other,
        )
        .ok()
    }
}

impl Default for SignedQuery {
    fn default() -> Self {
        SignedQuery::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::ResponseCode;

    fn answer_header(query: &SignedQuery) -> Vec<u8> {
        let mut answer = query.request.clone();
        answer.metadata.message_type = MessageType::Response;
        answer.metadata.authoritative = true;
        answer.metadata.response_code = ResponseCode::NoError;
        answer.to_vec().unwrap()
    }

    #[test]
    fn an_answer_signed_by_the_key_holder_is_accepted() {
        let query = SignedQuery::new();
        let signed = query
            .sign_as_server(&answer_header(&query), 0, &[])
            .unwrap();
        match query.judge(&signed) {
            Verdict::Accepted(message) => assert_eq!(message.queries.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    /// Answers BIND 9.18 and Knot 3.2 gave to the request, seeds of the fuzz target.
    fn captured(seed: &[u8]) -> &[u8] {
        assert_eq!(seed[0], 0, "a seed of an answer as it arrived");
        &seed[1..]
    }

    #[test]
    fn real_answers_verify_and_decode() {
        let query = SignedQuery::new();
        for seed in [
            &include_bytes!("../../fuzz/corpus/dns_answer/bind-soa")[..],
            &include_bytes!("../../fuzz/corpus/dns_answer/knot-soa")[..],
        ] {
            match query.judge(captured(seed)) {
                Verdict::Accepted(message) => {
                    assert_eq!(message.answers.len(), 1);
                    assert_eq!(message.answers[0].record_type(), RecordType::SOA);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn real_unsigned_tsig_errors_are_discarded() {
        let query = SignedQuery::new();
        for (seed, said) in [
            (
                &include_bytes!("../../fuzz/corpus/dns_answer/bind-badsig")[..],
                "BADSIG",
            ),
            (
                &include_bytes!("../../fuzz/corpus/dns_answer/knot-badkey")[..],
                "BADKEY",
            ),
        ] {
            match query.judge(captured(seed)) {
                Verdict::Discarded(error) => assert!(error.contains(said), "{error}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn an_unsigned_answer_is_discarded_and_a_signed_badtime_ends_the_exchange() {
        let query = SignedQuery::new();
        let answer = answer_header(&query);
        assert!(matches!(query.judge(&answer), Verdict::Discarded(_)));
        let badtime = query
            .sign_as_server(&answer, tsig::codes::BADTIME, &[0, 0, 0, 0, 0, 1])
            .unwrap();
        match query.judge(&badtime) {
            Verdict::Failed(error) => assert!(error.contains("clock"), "{error}"),
            other => panic!("{other:?}"),
        }
    }
}
