//! The DNS layer against real BIND and Knot: every scenario runs against
//! both servers, and every outcome is checked with `dig` (the harness's
//! oracle), never with the code under test.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use dnsfailover::dns::{ApplyOutcome, Client, DnsError, RrsetChange, TsigKey, ZoneUpdate};
use dnsfailover::vocabulary::{AddressRrset, Family, Transport, TsigAlgorithm};
use hickory_proto::rr::Name;
use support::{Grant, NameServer, ServerKind, TestKey, ZoneSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(3);

/// For requests that get only answers failing verification: the client
/// discards them and waits for a genuine answer until its timeout, so a
/// shorter one keeps these tests quick.
const SHORT_TIMEOUT: Duration = Duration::from_millis(800);

/// A server for `example.test.` with a key that may change A/AAAA anywhere
/// in the zone and a key that may change only `www`.
struct Setup {
    server: NameServer,
    zone_key: TestKey,
    www_key: TestKey,
}

fn start(kind: ServerKind) -> Setup {
    let zone_key = TestKey::generate("zone-key");
    let www_key = TestKey::generate("www-key");
    let zone = ZoneSpec::new("example.test.", 2024_0101)
        .record("www 300 IN A 192.0.2.10")
        .record("www 300 IN AAAA 2001:db8::10")
        .record("alias 300 IN CNAME www")
        .grant(Grant::ZoneSubAddress {
            key: zone_key.name.clone(),
        })
        .grant(Grant::Name {
            key: www_key.name.clone(),
            name: "www".into(),
            types: vec!["A".into(), "AAAA".into()],
        });
    let server = NameServer::start(kind, vec![zone], vec![zone_key.clone(), www_key.clone()]);
    Setup {
        server,
        zone_key,
        www_key,
    }
}

fn tsig_key(test_key: &TestKey) -> Arc<TsigKey> {
    let secret = base64::engine::general_purpose::STANDARD
        .decode(&test_key.secret)
        .unwrap();
    Arc::new(
        TsigKey::new(
            name(&format!("{}.", test_key.name)),
            TsigAlgorithm::HmacSha256,
            secret,
            "test key",
        )
        .unwrap(),
    )
}

fn client(address: SocketAddr, key: &TestKey) -> Client {
    Client::new(address, Transport::Tcp, TIMEOUT, tsig_key(key))
}

/// A client for a server whose answers will all fail verification.
fn impatient_client(address: SocketAddr, key: &TestKey) -> Client {
    Client::new(address, Transport::Tcp, SHORT_TIMEOUT, tsig_key(key))
}

/// An error about answers that could not be verified: it must say so, and
/// must not be taken as the server's definitive word (retry, read back).
fn assert_unauthenticated(error: &DnsError) {
    let message = error.to_string();
    assert!(
        matches!(error, DnsError::NoVerifiedAnswer { .. }),
        "{message}"
    );
    assert!(
        message.contains("cannot be verified") || message.contains("cannot be trusted"),
        "{message}"
    );
    assert!(error.is_transient(), "retried: {message}");
    assert!(error.is_ambiguous(), "read back: {message}");
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn rrset(addresses: &[&str], ttl: u32) -> AddressRrset {
    AddressRrset::new(addresses.iter().map(|a| a.parse().unwrap()), ttl)
}

fn change(
    owner: &str,
    family: Family,
    expected: Option<AddressRrset>,
    desired: AddressRrset,
) -> RrsetChange {
    RrsetChange {
        name: name(owner),
        family,
        expected,
        desired,
    }
}

fn zone_update(changes: Vec<RrsetChange>) -> ZoneUpdate {
    ZoneUpdate {
        zone: name("example.test."),
        changes,
    }
}

/// Moving www from web1 to web2: both families, the server's original TTL 300.
fn move_www() -> ZoneUpdate {
    zone_update(vec![
        change(
            "www.example.test.",
            Family::V4,
            Some(rrset(&["192.0.2.10"], 300)),
            rrset(&["192.0.2.11"], 30),
        ),
        change(
            "www.example.test.",
            Family::V6,
            Some(rrset(&["2001:db8::10"], 300)),
            rrset(&["2001:db8::11"], 30),
        ),
    ])
}

fn assert_www_untouched(setup: &Setup) {
    assert_eq!(
        setup.server.query("www.example.test.", "A"),
        vec!["192.0.2.10"]
    );
    assert_eq!(
        setup.server.query("www.example.test.", "AAAA"),
        vec!["2001:db8::10"]
    );
}

async fn replaces_both_families_atomically_with_the_ttl(kind: ServerKind) {
    let setup = start(kind);
    let serial = setup.server.soa_serial("example.test.");
    let outcome = client(setup.server.addr(), &setup.zone_key)
        .apply(&move_www())
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Applied);
    assert_eq!(
        setup.server.query("www.example.test.", "A"),
        vec!["192.0.2.11"]
    );
    assert_eq!(
        setup.server.query("www.example.test.", "AAAA"),
        vec!["2001:db8::11"]
    );
    assert_eq!(setup.server.query_ttl("www.example.test.", "A"), Some(30));
    assert_eq!(
        setup.server.query_ttl("www.example.test.", "AAAA"),
        Some(30)
    );
    assert_eq!(
        setup.server.soa_serial("example.test."),
        serial + 1,
        "one message, one serial step"
    );
}

async fn reads_what_the_server_publishes(kind: ServerKind) {
    let setup = start(kind);
    let client = client(setup.server.addr(), &setup.zone_key);
    let published = client
        .read_addresses(&name("www.example.test."))
        .await
        .unwrap();
    assert_eq!(published.v4, Some(rrset(&["192.0.2.10"], 300)));
    assert_eq!(published.v6, Some(rrset(&["2001:db8::10"], 300)));
    let nothing = client
        .read_addresses(&name("absent.example.test."))
        .await
        .unwrap();
    assert_eq!((nothing.v4, nothing.v6), (None, None));
    assert_eq!(
        client.find_zone(&name("www.example.test.")).await.unwrap(),
        name("example.test.")
    );
    assert_eq!(
        client
            .find_zone(&name("absent.example.test."))
            .await
            .unwrap(),
        name("example.test.")
    );
    assert_eq!(
        client.soa_serial(&name("example.test.")).await.unwrap(),
        setup.server.soa_serial("example.test.")
    );
    let error = client
        .read_addresses(&name("alias.example.test."))
        .await
        .unwrap_err();
    assert!(matches!(error, DnsError::CnameAtName { .. }), "{error}");
}

async fn compare_and_swap_never_overwrites_a_concurrent_change(kind: ServerKind) {
    let setup = start(kind);
    let edit = "update delete www.example.test. A\nupdate add www.example.test. 60 A 198.51.100.7";
    assert!(setup
        .server
        .nsupdate(&setup.zone_key, edit)
        .status
        .success());
    let serial = setup.server.soa_serial("example.test.");
    let error = client(setup.server.addr(), &setup.zone_key)
        .apply(&move_www())
        .await
        .unwrap_err();
    let DnsError::Conflict { conflicts, .. } = &error else {
        panic!("expected a conflict, got {error}")
    };
    assert_eq!(
        conflicts.len(),
        1,
        "only A was changed behind our back: {error}"
    );
    assert_eq!(conflicts[0].published, Some(rrset(&["198.51.100.7"], 60)));
    assert!(error.to_string().contains("198.51.100.7"), "{error}");
    assert_eq!(
        setup.server.query("www.example.test.", "A"),
        vec!["198.51.100.7"]
    );
    assert_eq!(
        setup.server.query("www.example.test.", "AAAA"),
        vec!["2001:db8::10"],
        "all or nothing"
    );
    assert_eq!(setup.server.soa_serial("example.test."), serial);
}

async fn creates_a_missing_rrset_only_while_it_is_missing(kind: ServerKind) {
    let setup = start(kind);
    let client = client(setup.server.addr(), &setup.zone_key);
    let create = zone_update(vec![change(
        "new.example.test.",
        Family::V4,
        None,
        rrset(&["192.0.2.50"], 20),
    )]);
    assert_eq!(client.apply(&create).await.unwrap(), ApplyOutcome::Applied);
    assert_eq!(
        setup.server.query("new.example.test.", "A"),
        vec!["192.0.2.50"]
    );
    let again = zone_update(vec![change(
        "new.example.test.",
        Family::V4,
        None,
        rrset(&["192.0.2.51"], 20),
    )]);
    let error = client.apply(&again).await.unwrap_err();
    assert!(matches!(error, DnsError::Conflict { .. }), "{error}");
    assert_eq!(
        setup.server.query("new.example.test.", "A"),
        vec!["192.0.2.50"]
    );
}

async fn an_update_that_changes_nothing_is_not_sent(kind: ServerKind) {
    let setup = start(kind);
    let serial = setup.server.soa_serial("example.test.");
    let same = rrset(&["192.0.2.10"], 300);
    let noop = zone_update(vec![change(
        "www.example.test.",
        Family::V4,
        Some(same.clone()),
        same,
    )]);
    // Nothing listens at a dead address: had anything been sent, this would fail.
    let dead = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    assert_eq!(
        client(dead, &setup.zone_key).apply(&noop).await.unwrap(),
        ApplyOutcome::Unchanged
    );
    assert_eq!(
        client(setup.server.addr(), &setup.zone_key)
            .apply(&noop)
            .await
            .unwrap(),
        ApplyOutcome::Unchanged
    );
    assert_eq!(setup.server.soa_serial("example.test."), serial);
}

/// BIND and Knot answer a wrong secret with an unsigned BADSIG: the client
/// cannot verify it, so it says so, but still tells what to check.
async fn wrong_secret_is_reported_as_a_claimed_badsig(kind: ServerKind) {
    let setup = start(kind);
    let mut wrong = TestKey::generate(&setup.zone_key.name);
    wrong.name = setup.zone_key.name.clone();
    let error = impatient_client(setup.server.addr(), &wrong)
        .apply(&move_www())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("unsigned answer")
            && message.contains("claims BADSIG")
            && message.contains("zone-key")
            && message.contains("the secret in test key"),
        "{message}"
    );
    assert_unauthenticated(&error);
    assert_www_untouched(&setup);
}

/// An unknown key gets an unsigned BADKEY from both servers.
async fn unknown_key_is_reported_as_a_claimed_badkey(kind: ServerKind) {
    let setup = start(kind);
    let stranger = TestKey::generate("stranger-key");
    let error = impatient_client(setup.server.addr(), &stranger)
        .apply(&move_www())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("unsigned answer")
            && message.contains("claims BADKEY")
            && message.contains("stranger-key")
            && message.contains("hmac-sha256"),
        "{message}"
    );
    assert_unauthenticated(&error);
    assert_www_untouched(&setup);
}

async fn policy_denial_is_reported_with_the_fix(kind: ServerKind) {
    let setup = start(kind);
    let other = zone_update(vec![change(
        "other.example.test.",
        Family::V4,
        None,
        rrset(&["192.0.2.99"], 30),
    )]);
    let error = impatient_client(setup.server.addr(), &setup.www_key)
        .apply(&other)
        .await
        .unwrap_err();
    let message = error.to_string();
    match kind {
        // BIND answers a signed REFUSED (RFC 3007 §2).
        ServerKind::Bind => assert!(
            matches!(error, DnsError::Refused { .. }) && message.contains("update-policy"),
            "{message}"
        ),
        // Knot reports an ACL denial as an unsigned BADKEY.
        ServerKind::Knot => {
            assert!(
                message.contains("claims BADKEY") && message.contains("acl"),
                "{message}"
            );
            assert_unauthenticated(&error);
        }
    }
    assert!(setup.server.query("other.example.test.", "A").is_empty());
}

async fn clock_skew_beyond_the_fudge_names_both_clocks(kind: ServerKind) {
    let setup = start(kind);
    let skewed = client(setup.server.addr(), &setup.zone_key)
        .with_clock(Arc::new(|| SystemTime::now() + Duration::from_secs(3600)));
    let error = skewed.apply(&move_www()).await.unwrap_err();
    let DnsError::ClockSkew { skew, .. } = &error else {
        panic!("expected clock skew, got {error}")
    };
    assert!((3590..=3610).contains(skew), "{error}");
    assert!(error.to_string().contains("NTP"), "{error}");
    assert_www_untouched(&setup);
}

/// The server accepts the UPDATE (signed by a correct clock) and signs its
/// NOERROR, but our clock jumps an hour ahead just as the answer is checked:
/// the answer's time is outside its fudge. That is neither success nor a
/// plain failure: the update is read back, and found applied.
async fn a_signed_noerror_outside_the_fudge_is_settled_by_reading_back(kind: ServerKind) {
    let setup = start(kind);
    let serial = setup.server.soa_serial("example.test.");
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Calls 0 and 1 sign the SOA query and check its answer, call 2 signs
    // the UPDATE, call 3 checks its answer, later calls are the reads.
    let jumpy =
        client(setup.server.addr(), &setup.zone_key).with_clock(Arc::new(move || {
            match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                3 => SystemTime::now() + Duration::from_secs(3600),
                _ => SystemTime::now(),
            }
        }));
    let outcome = jumpy.apply(&move_www()).await.unwrap();
    let ApplyOutcome::AppliedUnconfirmedAnswer { cause } = outcome else {
        panic!("expected an outcome settled by reading back: {outcome:?}")
    };
    assert!(
        cause.contains("correctly signed") && cause.contains("more than the 300 s"),
        "{cause}"
    );
    assert_eq!(
        setup.server.query("www.example.test.", "A"),
        vec!["192.0.2.11"]
    );
    assert_eq!(setup.server.soa_serial("example.test."), serial + 1);
}

async fn zone_not_served_points_at_the_primary(kind: ServerKind) {
    let setup = start(kind);
    let elsewhere = ZoneUpdate {
        zone: name("other.test."),
        changes: vec![change(
            "www.other.test.",
            Family::V4,
            None,
            rrset(&["192.0.2.1"], 30),
        )],
    };
    let error = impatient_client(setup.server.addr(), &setup.zone_key)
        .apply(&elsewhere)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("zone's primary"), "{error}");
}

async fn udp_transport_replaces_too(kind: ServerKind) {
    let setup = start(kind);
    let udp = Client::new(
        setup.server.addr(),
        Transport::Udp,
        TIMEOUT,
        tsig_key(&setup.zone_key),
    );
    assert_eq!(udp.apply(&move_www()).await.unwrap(), ApplyOutcome::Applied);
    assert_eq!(
        setup.server.query("www.example.test.", "A"),
        vec!["192.0.2.11"]
    );
}

/// A proxy that forwards the first UPDATE to the server and then drops the
/// connection instead of passing the answer on; everything else (the SOA
/// read before it, later requests) is relayed. The update is applied but
/// its answer is lost.
async fn answer_losing_proxy(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut downstream, _)) = listener.accept().await {
            let mut server = TcpStream::connect(upstream).await.unwrap();
            let len = downstream.read_u16().await.unwrap();
            let mut request = vec![0u8; usize::from(len)];
            downstream.read_exact(&mut request).await.unwrap();
            server.write_u16(len).await.unwrap();
            server.write_all(&request).await.unwrap();
            let is_update = (request[2] >> 3) & 0x0F == 5;
            if is_update && std::mem::take(&mut first) {
                let answer_len = server.read_u16().await.unwrap();
                let mut answer = vec![0u8; usize::from(answer_len)];
                server.read_exact(&mut answer).await.unwrap();
                drop(downstream); // the answer never arrives
            } else {
                tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut downstream, &mut server).await;
                });
            }
        }
    });
    address
}

async fn a_lost_answer_is_settled_by_reading_back(kind: ServerKind) {
    let setup = start(kind);
    let proxy = answer_losing_proxy(setup.server.addr()).await;
    let serial = setup.server.soa_serial("example.test.");
    let outcome = client(proxy, &setup.zone_key)
        .apply(&move_www())
        .await
        .unwrap();
    let ApplyOutcome::AppliedUnconfirmedAnswer { cause } = outcome else {
        panic!("expected a settled outcome: {outcome:?}")
    };
    assert!(cause.contains("closed"), "{cause}");
    assert_eq!(
        setup.server.query("www.example.test.", "A"),
        vec!["192.0.2.11"]
    );
    assert_eq!(
        setup.server.soa_serial("example.test."),
        serial + 1,
        "applied exactly once"
    );
}

/// A UDP proxy in front of the server that, for every request, first sends
/// the client a forged answer with the right ID (the request turned into an
/// unsigned NOERROR response, as an off-path attacker racing the server
/// would), and then relays the server's genuine answer.
async fn forging_udp_proxy(upstream: SocketAddr) -> SocketAddr {
    let downstream = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = downstream.local_addr().unwrap();
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    server.connect(upstream).await.unwrap();
    tokio::spawn(async move {
        // Concurrent requests come from different ports: answer each by its ID.
        let mut clients = std::collections::HashMap::new();
        let (mut request, mut answer) = (vec![0u8; 65_535], vec![0u8; 65_535]);
        loop {
            tokio::select! {
                Ok((len, peer)) = downstream.recv_from(&mut request) => {
                    clients.insert([request[0], request[1]], peer);
                    let forged = forged_answer(&request[..len]);
                    downstream.send_to(&forged, peer).await.unwrap();
                    server.send(&request[..len]).await.unwrap();
                }
                Ok(len) = server.recv(&mut answer) => {
                    if let Some(peer) = clients.remove(&[answer[0], answer[1]]) {
                        downstream.send_to(&answer[..len], peer).await.unwrap();
                    }
                }
            }
        }
    });
    address
}

/// The request with its TSIG record cut off, marked as an authoritative
/// NOERROR response: "done", without a signature.
fn forged_answer(request: &[u8]) -> Vec<u8> {
    let tsig_at = dnsfailover::dns::wire::locate_tsig(request)
        .unwrap()
        .expect("requests are signed")
        .offset;
    let mut forged = request[..tsig_at].to_vec();
    forged[2] |= 0x84; // QR, AA
    forged[3] &= 0xF0; // NOERROR
    forged[11] -= 1; // the TSIG record is gone
    forged
}

async fn a_forged_udp_answer_does_not_hide_the_genuine_one(kind: ServerKind) {
    let setup = start(kind);
    let serial = setup.server.soa_serial("example.test.");
    let proxy = forging_udp_proxy(setup.server.addr()).await;
    let udp = Client::new(proxy, Transport::Udp, TIMEOUT, tsig_key(&setup.zone_key));
    assert_eq!(udp.apply(&move_www()).await.unwrap(), ApplyOutcome::Applied);
    assert_eq!(
        setup.server.query("www.example.test.", "A"),
        vec!["192.0.2.11"]
    );
    assert_eq!(setup.server.soa_serial("example.test."), serial + 1);
}

macro_rules! against_both_servers {
    ($($scenario:ident),* $(,)?) => {
        mod bind {
            $(#[tokio::test] async fn $scenario() { super::$scenario(super::ServerKind::Bind).await })*
        }
        mod knot {
            $(#[tokio::test] async fn $scenario() { super::$scenario(super::ServerKind::Knot).await })*
        }
    };
}

against_both_servers!(
    replaces_both_families_atomically_with_the_ttl,
    reads_what_the_server_publishes,
    compare_and_swap_never_overwrites_a_concurrent_change,
    creates_a_missing_rrset_only_while_it_is_missing,
    an_update_that_changes_nothing_is_not_sent,
    wrong_secret_is_reported_as_a_claimed_badsig,
    unknown_key_is_reported_as_a_claimed_badkey,
    policy_denial_is_reported_with_the_fix,
    clock_skew_beyond_the_fudge_names_both_clocks,
    a_signed_noerror_outside_the_fudge_is_settled_by_reading_back,
    zone_not_served_points_at_the_primary,
    udp_transport_replaces_too,
    a_lost_answer_is_settled_by_reading_back,
    a_forged_udp_answer_does_not_hide_the_genuine_one,
);

// Failures that need no nameserver at all.

fn any_key() -> TestKey {
    TestKey::generate("any-key")
}

#[tokio::test]
async fn a_dead_server_is_connection_refused_with_its_address() {
    let dead = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let error = client(dead, &any_key())
        .apply(&move_www())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("connection refused") && message.contains(&dead.to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_over_tcp_and_udp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_tcp = listener.local_addr().unwrap();
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let silent_udp = udp.local_addr().unwrap();
    let key = tsig_key(&any_key());
    for (address, transport) in [(silent_tcp, Transport::Tcp), (silent_udp, Transport::Udp)] {
        let client = Client::new(address, transport, Duration::from_millis(300), key.clone());
        let started = std::time::Instant::now();
        let error = client
            .read_addresses(&name("www.example.test."))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "bounded by the timeout"
        );
        let message = error.to_string();
        assert!(
            message.contains("no answer") && message.contains(&transport.to_string()),
            "{message}"
        );
    }
    drop((listener, udp));
}

#[tokio::test]
async fn a_name_outside_its_zone_is_refused_before_sending() {
    let dead = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let outside = zone_update(vec![change(
        "www.example.org.",
        Family::V4,
        None,
        rrset(&["192.0.2.1"], 30),
    )]);
    let error = client(dead, &any_key()).apply(&outside).await.unwrap_err();
    assert!(
        matches!(error, DnsError::Invalid(_)),
        "refused before any connection attempt: {error}"
    );
    assert!(
        error.to_string().contains("not inside zone example.test."),
        "{error}"
    );
}
