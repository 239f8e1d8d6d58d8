//! A scripted nameserver that answers the way an attacker or a broken
//! middlebox might. An answer that fails TSIG verification must never be
//! taken as success, and must not end the exchange either: the client
//! discards it and waits for the genuine answer (RFC 8945 §5.4). When only
//! such answers arrive, the error says what was wrong with them.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dnsfailover::dns::tsig::{self, codes};
use dnsfailover::dns::wire;
use dnsfailover::dns::{ApplyOutcome, Client, DnsError, RrsetChange, TsigKey, ZoneUpdate};
use dnsfailover::vocabulary::{AddressRrset, Family, Transport, TsigAlgorithm};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use support::{serve_scripted, Handler};

/// How long the client waits when no genuine answer will come.
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

const SECRET: &[u8] = b"secret-secret-secret-secret-32by";

fn key_named(name: &str, algorithm: TsigAlgorithm, secret: &[u8]) -> TsigKey {
    TsigKey::new(
        Name::from_ascii(name).unwrap(),
        algorithm,
        secret.to_vec(),
        "test",
    )
    .unwrap()
}

fn our_key() -> TsigKey {
    key_named("update-key.", TsigAlgorithm::HmacSha256, SECRET)
}

/// The fields of a TSIG record, to build forgeries from.
#[derive(Clone)]
struct TsigParts {
    key_name: Vec<u8>,
    algorithm: Vec<u8>,
    time: u64,
    fudge: u16,
    mac: Vec<u8>,
    original_id: u16,
    error: u16,
    other: Vec<u8>,
}

/// A name in uncompressed wire form from raw labels.
fn wire_name(labels: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for label in labels {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// Splits a signed message into the message without TSIG and the TSIG fields.
fn split_tsig(signed: &[u8]) -> (Vec<u8>, TsigParts) {
    let located = wire::locate_tsig(signed).unwrap().expect("signed");
    let parts = TsigParts {
        key_name: wire_name(&located.key_name.labels().collect::<Vec<_>>()),
        algorithm: wire_name(&located.rdata.algorithm.labels().collect::<Vec<_>>()),
        time: located.rdata.time_signed,
        fudge: located.rdata.fudge,
        mac: located.rdata.mac.to_vec(),
        original_id: located.rdata.original_id,
        error: located.rdata.error,
        other: located.rdata.other.to_vec(),
    };
    let mut body = signed[..located.offset].to_vec();
    body[11] -= 1;
    (body, parts)
}

/// Appends a TSIG record built from `parts` and counts it in ARCOUNT.
fn append_tsig(body: &[u8], parts: &TsigParts) -> Vec<u8> {
    let mut rdata = parts.algorithm.clone();
    rdata.extend_from_slice(&parts.time.to_be_bytes()[2..]);
    rdata.extend_from_slice(&parts.fudge.to_be_bytes());
    rdata.extend_from_slice(&(parts.mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(&parts.mac);
    rdata.extend_from_slice(&parts.original_id.to_be_bytes());
    rdata.extend_from_slice(&parts.error.to_be_bytes());
    rdata.extend_from_slice(&(parts.other.len() as u16).to_be_bytes());
    rdata.extend_from_slice(&parts.other);
    let mut message = body.to_vec();
    message[11] += 1;
    message.extend_from_slice(&parts.key_name);
    message.extend_from_slice(&[0, 250, 0, 255, 0, 0, 0, 0]);
    message.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    message.extend_from_slice(&rdata);
    message
}

fn now() -> u64 {
    tsig::unix_seconds(SystemTime::now())
}

/// The request without its TSIG record, decoded, and the request's MAC.
fn parse_request(request: &[u8]) -> (Message, Vec<u8>) {
    let (body, parts) = split_tsig(request);
    (Message::from_vec(&body).unwrap(), parts.mac)
}

/// What the honest server publishes once the update is applied.
fn published_www() -> Record {
    Record::from_rdata(
        Name::from_ascii("www.example.test.").unwrap(),
        30,
        RData::A(A("192.0.2.11".parse().unwrap())),
    )
}

/// The zone's SOA, which the client reads before every UPDATE.
fn zone_soa() -> Record {
    let zone = Name::from_ascii("example.test.").unwrap();
    let soa = SOA::new(
        Name::from_ascii("ns.example.test.").unwrap(),
        Name::from_ascii("hostmaster.example.test.").unwrap(),
        1,
        3600,
        600,
        86_400,
        60,
    );
    Record::from_rdata(zone, 300, RData::SOA(soa))
}

/// Adds the zone's SOA to the answer to an SOA query.
fn answer_soa_query(request: &Message, response: &mut Message) {
    if request.op_code == OpCode::Query
        && request
            .queries
            .iter()
            .any(|q| q.query_type() == RecordType::SOA)
    {
        response.add_answer(zone_soa());
    }
}

/// The unsigned answer an honest server would sign: NOERROR, authoritative,
/// for an A query of www the updated RRset, for an SOA query the zone's SOA.
fn answer_body(request: &Message) -> Vec<u8> {
    let mut response = Message::new(request.id, MessageType::Response, request.op_code);
    response.metadata.authoritative = true;
    response.metadata.response_code = ResponseCode::NoError;
    response.add_queries(request.queries.clone());
    if request.op_code == OpCode::Query
        && request
            .queries
            .iter()
            .any(|q| q.query_type() == RecordType::A && *q.name() == published_www().name)
    {
        response.add_answer(published_www());
    }
    answer_soa_query(request, &mut response);
    response.to_vec().unwrap()
}

/// The genuine, correctly signed answer to `request`.
fn genuine(request: &[u8]) -> Vec<u8> {
    let (parsed, mac) = parse_request(request);
    tsig::sign_response(&answer_body(&parsed), &our_key(), &mac, now(), 0, &[]).unwrap()
}

/// Ways to forge or break an answer.
#[derive(Clone, Copy, Debug)]
enum Forgery {
    /// NOERROR with no TSIG at all.
    Unsigned,
    /// Correctly signed, then one byte of the MAC flipped.
    TamperedMac,
    /// Signed with the right key but chained to another request's MAC.
    NotChained,
    /// Signed correctly but the body altered after signing.
    TamperedBody,
    /// Signed by a different key with the same name.
    OtherSecret,
    /// The genuine MAC cut to 16 bytes (a truncated MAC, never asked for).
    ShortMac,
    /// The genuine MAC with 32 bytes appended.
    LongMac,
    /// Signed with our secret under another key name.
    WrongKeyName,
    /// Signed with our key name and secret but another algorithm.
    WrongAlgorithm,
    /// The genuine answer with its TSIG record appended a second time.
    TwoTsig,
    /// The genuine answer with its TSIG record counted in the answer section.
    TsigInAnswer,
    /// The genuine answer followed by three stray bytes.
    TrailingData,
    /// NOTAUTH with an unsigned TSIG claiming BADSIG, as BIND and Knot
    /// answer a wrong secret.
    ClaimedBadSig,
    /// An unsigned TSIG whose key and algorithm names hold control characters.
    ControlCharacters,
}

fn forge(request: &[u8], forgery: Forgery) -> Vec<u8> {
    let (parsed, mac) = parse_request(request);
    let body = answer_body(&parsed);
    let signed = genuine(request);
    let (_, parts) = split_tsig(&signed);
    let sign_with = |key: &TsigKey, request_mac: &[u8]| {
        tsig::sign_response(&body, key, request_mac, now(), 0, &[]).unwrap()
    };
    match forgery {
        Forgery::Unsigned => body,
        Forgery::TamperedMac => {
            let mut parts = parts;
            parts.mac[31] ^= 0xff;
            append_tsig(&body, &parts)
        }
        Forgery::NotChained => sign_with(&our_key(), &[0u8; 32]),
        Forgery::TamperedBody => {
            let mut tampered = signed;
            tampered[2] ^= 0x04; // the AA bit, after signing
            tampered
        }
        Forgery::OtherSecret => sign_with(
            &key_named(
                "update-key.",
                TsigAlgorithm::HmacSha256,
                b"a different secret of enough length!",
            ),
            &mac,
        ),
        Forgery::ShortMac => {
            let mut parts = parts;
            parts.mac.truncate(16);
            append_tsig(&body, &parts)
        }
        Forgery::LongMac => {
            let mut parts = parts;
            parts.mac.extend_from_slice(&[0u8; 32]);
            append_tsig(&body, &parts)
        }
        Forgery::WrongKeyName => sign_with(
            &key_named("other-key.", TsigAlgorithm::HmacSha256, SECRET),
            &mac,
        ),
        Forgery::WrongAlgorithm => sign_with(
            &key_named("update-key.", TsigAlgorithm::HmacSha512, SECRET),
            &mac,
        ),
        Forgery::TwoTsig => {
            let mut twice = signed.clone();
            twice.extend_from_slice(&signed[wire::locate_tsig(&signed).unwrap().unwrap().offset..]);
            twice[11] += 1;
            twice
        }
        Forgery::TsigInAnswer => {
            let mut moved = signed;
            assert_eq!((moved[9], moved[11]), (0, 1), "no authority, only TSIG");
            moved[7] += 1; // ANCOUNT
            moved[11] -= 1; // ARCOUNT
            moved
        }
        Forgery::TrailingData => {
            let mut trailing = signed;
            trailing.extend_from_slice(&[0, 0, 0]);
            trailing
        }
        Forgery::ClaimedBadSig => {
            let mut notauth = body;
            notauth[3] = (notauth[3] & 0xF0) | 9;
            let mut parts = parts;
            parts.mac.clear();
            parts.error = codes::BADSIG;
            append_tsig(&notauth, &parts)
        }
        Forgery::ControlCharacters => {
            let mut parts = parts;
            parts.key_name = wire_name(&[b"evil\nkey\x07", b"test"]);
            parts.algorithm = wire_name(&[b"hmac\r\x1b[31m"]);
            parts.mac.clear();
            append_tsig(&body, &parts)
        }
    }
}

/// One reply of a script.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Genuine,
    Forged(Forgery),
}

fn scripted(script: &[Reply]) -> Handler {
    let script = script.to_vec();
    Arc::new(move |request: &[u8]| {
        script
            .iter()
            .map(|reply| match reply {
                Reply::Genuine => genuine(request),
                Reply::Forged(forgery) => forge(request, *forgery),
            })
            .collect()
    })
}

fn update() -> ZoneUpdate {
    ZoneUpdate {
        zone: Name::from_ascii("example.test.").unwrap(),
        changes: vec![RrsetChange {
            name: Name::from_ascii("www.example.test.").unwrap(),
            family: Family::V4,
            expected: Some(AddressRrset::new(["192.0.2.10".parse().unwrap()], 30)),
            desired: AddressRrset::new(["192.0.2.11".parse().unwrap()], 30),
        }],
    }
}

async fn client_for(handler: Handler, transport: Transport, timeout: Duration) -> Client {
    let address = serve_scripted(transport, handler).await;
    Client::new(address, transport, timeout, Arc::new(our_key()))
}

/// Applies the update against a server that only ever sends `forgery`; the
/// error must be about answers that failed verification, and be ambiguous
/// (the update might have been applied) and transient.
async fn apply_against(forgery: Forgery, transport: Transport) -> String {
    let client = client_for(
        scripted(&[Reply::Forged(forgery)]),
        transport,
        SHORT_TIMEOUT,
    )
    .await;
    let error = match client.apply(&update()).await {
        Ok(outcome) => panic!("{forgery:?} was taken as success: {outcome:?}"),
        Err(error) => error,
    };
    let message = error.to_string();
    assert!(
        matches!(error, DnsError::NoVerifiedAnswer { .. }),
        "{forgery:?}: {message}"
    );
    assert!(error.is_ambiguous() && error.is_transient(), "{message}");
    assert!(
        message.contains("no answer that passes TSIG verification followed"),
        "{message}"
    );
    message
}

async fn assert_rejected(forgery: Forgery, expected: &str) {
    let message = apply_against(forgery, Transport::Tcp).await;
    assert!(message.contains(expected), "{forgery:?}: {message}");
}

#[tokio::test]
async fn unsigned_noerror_is_not_success() {
    assert_rejected(Forgery::Unsigned, "carried no TSIG signature").await;
}

#[tokio::test]
async fn tampered_mac_is_not_success() {
    assert_rejected(Forgery::TamperedMac, "the MAC does not match").await;
}

#[tokio::test]
async fn mac_not_chained_to_the_request_is_not_success() {
    assert_rejected(Forgery::NotChained, "not an answer to our request").await;
}

#[tokio::test]
async fn body_altered_after_signing_is_not_success() {
    assert_rejected(Forgery::TamperedBody, "failed TSIG verification").await;
}

#[tokio::test]
async fn answer_signed_with_another_secret_is_not_success() {
    assert_rejected(Forgery::OtherSecret, "the MAC does not match").await;
}

#[tokio::test]
async fn a_truncated_mac_is_not_success() {
    assert_rejected(
        Forgery::ShortMac,
        "a MAC of 16 bytes where hmac-sha256 has 32",
    )
    .await;
}

#[tokio::test]
async fn an_overlong_mac_is_not_success() {
    assert_rejected(
        Forgery::LongMac,
        "a MAC of 64 bytes where hmac-sha256 has 32",
    )
    .await;
}

#[tokio::test]
async fn an_answer_signed_under_another_key_name_is_not_success() {
    assert_rejected(
        Forgery::WrongKeyName,
        "signed with key other-key. (hmac-sha256.), not with ours (update-key., hmac-sha256)",
    )
    .await;
}

#[tokio::test]
async fn an_answer_signed_with_another_algorithm_is_not_success() {
    assert_rejected(
        Forgery::WrongAlgorithm,
        "signed with key update-key. (hmac-sha512.), not with ours",
    )
    .await;
}

#[tokio::test]
async fn two_tsig_records_are_not_success() {
    assert_rejected(Forgery::TwoTsig, "not the last record").await;
}

#[tokio::test]
async fn a_tsig_record_in_the_answer_section_is_not_success() {
    assert_rejected(Forgery::TsigInAnswer, "outside the additional section").await;
}

#[tokio::test]
async fn trailing_data_after_the_tsig_record_is_not_success() {
    assert_rejected(Forgery::TrailingData, "3 bytes of trailing data").await;
}

#[tokio::test]
async fn an_unsigned_badsig_is_reported_as_unauthenticated() {
    let message = apply_against(Forgery::ClaimedBadSig, Transport::Udp).await;
    assert!(
        message.contains("unsigned answer")
            && message.contains("claims BADSIG for key update-key.")
            && message.contains("cannot be verified")
            && message.contains("the secret in test"),
        "{message}"
    );
}

#[tokio::test]
async fn names_from_unauthenticated_answers_are_escaped() {
    let message = apply_against(Forgery::ControlCharacters, Transport::Udp).await;
    assert!(
        message.contains("evil\\010key\\007.test.") && message.contains("hmac\\013\\027[31m."),
        "{message}"
    );
    assert!(!message.chars().any(char::is_control), "{message:?}");
}

/// Every forgery, raced ahead of the genuine answer over UDP, as an
/// off-path attacker who guessed the ID would: the client must discard it
/// and accept the genuine answer that follows, for the UPDATE and for the
/// reads that confirm it.
#[tokio::test]
async fn a_forged_answer_racing_the_genuine_one_does_not_hide_it() {
    for forgery in [
        Forgery::Unsigned,
        Forgery::TamperedMac,
        Forgery::NotChained,
        Forgery::OtherSecret,
        Forgery::WrongKeyName,
        Forgery::TwoTsig,
        Forgery::ClaimedBadSig,
    ] {
        let client = client_for(
            scripted(&[Reply::Forged(forgery), Reply::Genuine]),
            Transport::Udp,
            Duration::from_secs(5),
        )
        .await;
        let outcome = client.apply(&update()).await;
        assert_eq!(
            outcome.as_ref().ok(),
            Some(&ApplyOutcome::Applied),
            "{forgery:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn only_bad_answers_until_the_timeout_are_all_accounted_for() {
    let client = client_for(
        scripted(&[
            Reply::Forged(Forgery::Unsigned),
            Reply::Forged(Forgery::TamperedMac),
            Reply::Forged(Forgery::ClaimedBadSig),
        ]),
        Transport::Udp,
        SHORT_TIMEOUT,
    )
    .await;
    let started = std::time::Instant::now();
    let error = client.apply(&update()).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("an answer from")
            && message.contains("carried no TSIG signature")
            && message.contains("(and 2 more answers that failed verification)")
            && message.contains("no answer from")
            && message.contains("over udp within 300ms"),
        "{message}"
    );
    assert!(
        started.elapsed() >= SHORT_TIMEOUT,
        "waited for a genuine answer until the timeout"
    );
}

/// A genuine earlier answer, replayed to a later request with the ID made
/// to match: its MAC is chained to the earlier request's MAC, not ours.
#[tokio::test]
async fn a_replayed_earlier_answer_is_not_accepted() {
    let first_answer: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let handler: Handler = Arc::new(move |request: &[u8]| {
        let mut first = first_answer.lock().unwrap();
        let reply = match &*first {
            None => {
                let answer = genuine(request);
                *first = Some(answer.clone());
                answer
            }
            Some(earlier) => {
                let mut replayed = earlier.clone();
                replayed[..2].copy_from_slice(&request[..2]);
                replayed
            }
        };
        vec![reply]
    });
    let client = client_for(handler, Transport::Udp, SHORT_TIMEOUT).await;
    let www = Name::from_ascii("www.example.test.").unwrap();
    let read = client.read_rrset(&www, Family::V4).await.unwrap();
    assert_eq!(
        read,
        Some(AddressRrset::new(["192.0.2.11".parse().unwrap()], 30))
    );
    let error = client.read_rrset(&www, Family::V4).await.unwrap_err();
    assert!(
        matches!(error, DnsError::NoVerifiedAnswer { .. })
            && error.to_string().contains("not an answer to our request"),
        "{error}"
    );
}

/// A correctly signed NOERROR to the UPDATE, but signed an hour ago; the
/// reads that follow are answered honestly and show the RRset unchanged.
/// The update is not taken as applied, and the error is the ambiguous one
/// about the answer's time, not a plain failure.
#[tokio::test]
async fn a_signed_noerror_outside_the_fudge_is_not_success() {
    let handler: Handler = Arc::new(|request: &[u8]| {
        let (parsed, mac) = parse_request(request);
        let mut response = Message::new(parsed.id, MessageType::Response, parsed.op_code);
        response.metadata.authoritative = true;
        response.add_queries(parsed.queries.clone());
        let signed_at = if parsed.op_code == OpCode::Update {
            now() - 3600
        } else {
            let mut unchanged = published_www();
            unchanged.data = RData::A(A("192.0.2.10".parse().unwrap()));
            if parsed.queries[0].query_type() == RecordType::A {
                response.add_answer(unchanged);
            }
            answer_soa_query(&parsed, &mut response);
            now()
        };
        let body = response.to_vec().unwrap();
        vec![tsig::sign_response(&body, &our_key(), &mac, signed_at, 0, &[]).unwrap()]
    });
    let client = client_for(handler, Transport::Udp, SHORT_TIMEOUT).await;
    let error = client.apply(&update()).await.unwrap_err();
    assert!(
        matches!(error, DnsError::AnswerOutsideFudge { skew, .. } if (3599..=3601).contains(&skew)),
        "{error}"
    );
    assert!(error.is_ambiguous(), "{error}");
    assert!(error.to_string().contains("reading back"), "{error}");
}

/// The scripted answers are right: an honest script is accepted.
#[tokio::test]
async fn the_genuine_answer_alone_is_accepted_over_tcp() {
    let client = client_for(scripted(&[Reply::Genuine]), Transport::Tcp, SHORT_TIMEOUT).await;
    assert_eq!(
        client.apply(&update()).await.unwrap(),
        ApplyOutcome::Applied
    );
}
