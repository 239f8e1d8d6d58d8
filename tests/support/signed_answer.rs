//! Plays the nameserver's part of TSIG for test responders and proxies:
//! a correctly signed answer to a signed request, with the response code
//! and records the test chooses.

use std::time::SystemTime;

use base64::Engine as _;
use dnsfailover::dns::tsig;
use dnsfailover::dns::wire::locate_tsig;
use dnsfailover::dns::TsigKey;
use dnsfailover::vocabulary::TsigAlgorithm;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{Name, Record};

use super::TestKey;

/// The OPCODE of UPDATE (RFC 2136).
const OPCODE_UPDATE: u8 = 5;

/// The agent's view of a test key: what it signs requests with.
pub fn tsig_key_of(key: &TestKey) -> TsigKey {
    assert_eq!(key.algorithm, "hmac-sha256", "test keys are hmac-sha256");
    let secret = base64::engine::general_purpose::STANDARD
        .decode(&key.secret)
        .unwrap();
    let name = if key.name.ends_with('.') {
        key.name.clone()
    } else {
        format!("{}.", key.name)
    };
    TsigKey::new(
        Name::from_ascii(name).unwrap(),
        TsigAlgorithm::HmacSha256,
        secret,
        "test key",
    )
    .unwrap()
}

/// Whether a raw message is an UPDATE (request or answer).
pub fn is_update(message: &[u8]) -> bool {
    message.len() > 2 && (message[2] >> 3) & 0x0F == OPCODE_UPDATE
}

/// A signed request without its TSIG record, decoded, and the request's MAC.
pub fn unsigned_request(request: &[u8]) -> (Message, Vec<u8>) {
    let tsig = locate_tsig(request)
        .unwrap()
        .expect("the request is signed");
    let mut body = request[..tsig.offset].to_vec();
    body[11] -= 1; // ARCOUNT without the TSIG record
    (Message::from_vec(&body).unwrap(), tsig.rdata.mac.to_vec())
}

/// An authoritative answer to `request` with `rcode` and `answers`,
/// repeating its question (or zone), signed with `key` now.
pub fn signed_answer(
    request: &[u8],
    key: &TsigKey,
    rcode: ResponseCode,
    answers: Vec<Record>,
) -> Vec<u8> {
    let (parsed, mac) = unsigned_request(request);
    let mut response = Message::new(parsed.id, MessageType::Response, parsed.op_code);
    response.metadata.authoritative = parsed.op_code == OpCode::Query;
    response.metadata.response_code = rcode;
    response.add_queries(parsed.queries.clone());
    for record in answers {
        response.add_answer(record);
    }
    let body = response.to_vec().unwrap();
    let now = tsig::unix_seconds(SystemTime::now());
    tsig::sign_response(&body, key, &mac, now, 0, &[]).unwrap()
}
