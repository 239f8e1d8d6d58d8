//! An in-process nameserver that answers UPDATEs the way an attacker or a
//! broken middlebox might. None of its answers may be taken as success:
//! every one of them must end in an error, because reading back (which this
//! responder also answers falsely) cannot confirm the update either.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use dnsfailover::dns::tsig;
use dnsfailover::dns::{Client, DnsError, RrsetChange, TsigKey, ZoneUpdate};
use dnsfailover::vocabulary::{AddressRrset, Family, Transport, TsigAlgorithm};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::Name;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the responder answers every request.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
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
}

fn key(secret: &[u8]) -> TsigKey {
    TsigKey::new(
        Name::from_ascii("update-key.").unwrap(),
        TsigAlgorithm::HmacSha256,
        secret.to_vec(),
        "test",
    )
    .unwrap()
}

/// Parses the request's MAC from its TSIG record.
fn request_mac(request: &[u8]) -> Vec<u8> {
    dnsfailover::dns::wire::locate_tsig(request)
        .unwrap()
        .expect("requests are signed")
        .rdata
        .mac
        .to_vec()
}

fn answer(request: &[u8], behaviour: Behaviour, server_key: &TsigKey) -> Vec<u8> {
    let tsig_at = dnsfailover::dns::wire::locate_tsig(request)
        .unwrap()
        .unwrap()
        .offset;
    let mut unsigned_request = request[..tsig_at].to_vec();
    unsigned_request[11] -= 1;
    let parsed = Message::from_vec(&unsigned_request).unwrap();
    let mut response = Message::new(parsed.id, MessageType::Response, parsed.op_code);
    response.metadata.authoritative = true;
    response.metadata.response_code = ResponseCode::NoError;
    response.add_queries(parsed.queries.clone());
    let body = response.to_vec().unwrap();
    let now = tsig::unix_seconds(std::time::SystemTime::now());
    let mac = request_mac(request);
    match behaviour {
        Behaviour::Unsigned => body,
        Behaviour::TamperedMac => {
            let mut signed = tsig::sign_response(&body, server_key, &mac, now, 0, &[]).unwrap();
            let located = dnsfailover::dns::wire::locate_tsig(&signed)
                .unwrap()
                .unwrap();
            // The MAC sits after owner, type/class/ttl/rdlen, algorithm name, time, fudge, mac size.
            let last_mac_byte = signed.len() - 6 - 1;
            assert!(!located.rdata.mac.is_empty());
            signed[last_mac_byte] ^= 0xff;
            signed
        }
        Behaviour::NotChained => {
            tsig::sign_response(&body, server_key, &[0u8; 32], now, 0, &[]).unwrap()
        }
        Behaviour::TamperedBody => {
            let mut signed = tsig::sign_response(&body, server_key, &mac, now, 0, &[]).unwrap();
            signed[2] ^= 0x04; // flip the AA bit after signing
            signed
        }
        Behaviour::OtherSecret => {
            let other = key(b"a different secret of enough length!");
            tsig::sign_response(&body, &other, &mac, now, 0, &[]).unwrap()
        }
    }
}

/// Serves `behaviour` over TCP until the test ends; returns the address.
async fn hostile_server(behaviour: Behaviour, server_key: Arc<TsigKey>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let server_key = server_key.clone();
            tokio::spawn(async move {
                while let Ok(len) = stream.read_u16().await {
                    let mut request = vec![0u8; usize::from(len)];
                    if stream.read_exact(&mut request).await.is_err() {
                        return;
                    }
                    let reply = answer(&request, behaviour, &server_key);
                    let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&reply);
                    if stream.write_all(&framed).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
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

async fn apply_against(behaviour: Behaviour) -> DnsError {
    let secret = base64::engine::general_purpose::STANDARD
        .decode("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnk=")
        .unwrap();
    let server_key = Arc::new(key(&secret));
    let address = hostile_server(behaviour, server_key).await;
    let client = Client::new(
        address,
        Transport::Tcp,
        Duration::from_secs(2),
        Arc::new(key(&secret)),
    );
    match client.apply(&update()).await {
        Ok(outcome) => panic!("{behaviour:?} was taken as success: {outcome:?}"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn unsigned_noerror_is_not_success() {
    let error = apply_against(Behaviour::Unsigned).await;
    assert!(
        error.to_string().contains("without a TSIG signature"),
        "{error}"
    );
}

#[tokio::test]
async fn tampered_mac_is_not_success() {
    let error = apply_against(Behaviour::TamperedMac).await;
    assert!(
        error.to_string().contains("failed TSIG verification"),
        "{error}"
    );
}

#[tokio::test]
async fn mac_not_chained_to_the_request_is_not_success() {
    let error = apply_against(Behaviour::NotChained).await;
    assert!(
        error.to_string().contains("not an answer to our request"),
        "{error}"
    );
}

#[tokio::test]
async fn body_altered_after_signing_is_not_success() {
    let error = apply_against(Behaviour::TamperedBody).await;
    assert!(
        error.to_string().contains("failed TSIG verification"),
        "{error}"
    );
}

#[tokio::test]
async fn answer_signed_with_another_secret_is_not_success() {
    let error = apply_against(Behaviour::OtherSecret).await;
    assert!(
        error.to_string().contains("failed TSIG verification"),
        "{error}"
    );
}
