//! Replayed UPDATEs against real BIND and Knot. Every UPDATE requires the
//! zone's SOA as the client read it just before, so a captured UPDATE can
//! apply at most once: replayed within the TSIG fudge (which is all the
//! server checks of a request's age), it fails its prerequisite instead of
//! bringing back an old state after A→B→A. An edit of the zone by someone
//! else between the client's SOA read and its UPDATE costs one retry, not a
//! conflict; a change of the record itself is still a conflict. The servers
//! run the least-privilege policy of `deploy/` for the agent's key: the SOA
//! prerequisite needs no grant.

#[macro_use]
mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dnsfailover::dns::tsig::FUDGE_SECONDS;
use dnsfailover::dns::{ApplyOutcome, Client, DnsError, RrsetChange, ZoneUpdate};
use dnsfailover::vocabulary::{AddressRrset, Family, Transport};
use hickory_proto::rr::Name;
use support::{framed, is_update, tsig_key_of, Grant, NameServer, ServerKind, TestKey, ZoneSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ZONE: &str = "example.test.";
const TIMEOUT: Duration = Duration::from_secs(3);
const RCODE_NXRRSET: u8 = 8;

/// A server with the agent's key granted A/AAAA of `www` only (the deployed
/// snippets) and an administrator's key that may change any address record.
struct Setup {
    server: NameServer,
    agent_key: TestKey,
    admin_key: TestKey,
}

fn start(kind: ServerKind) -> Setup {
    start_zone(kind, ZoneSpec::new(ZONE, 2026120301))
}

fn start_zone(kind: ServerKind, zone: ZoneSpec) -> Setup {
    let agent_key = TestKey::generate("dnsfailover");
    let admin_key = TestKey::generate("admin");
    let zone = zone
        .record("www 300 IN A 192.0.2.10")
        .record("other 300 IN A 192.0.2.20")
        .grant(Grant::Deployed {
            key: agent_key.name.clone(),
            names: vec!["www".into()],
        })
        .grant(Grant::ZoneSubAddress {
            key: admin_key.name.clone(),
        });
    let server = NameServer::start(kind, vec![zone], vec![agent_key.clone(), admin_key.clone()]);
    Setup {
        server,
        agent_key,
        admin_key,
    }
}

impl Setup {
    /// An edit by someone else, with `nsupdate`.
    fn edit(&self, script: &str) {
        let output = self
            .server
            .nsupdate(&self.admin_key, &format!("zone {ZONE}\n{script}"));
        assert!(output.status.success(), "{output:?}");
    }

    fn www(&self) -> Vec<String> {
        self.server.query("www.example.test.", "A")
    }

    fn serial(&self) -> u32 {
        self.server.soa_serial(ZONE)
    }
}

fn client(address: SocketAddr, key: &TestKey) -> Client {
    Client::new(address, Transport::Tcp, TIMEOUT, Arc::new(tsig_key_of(key)))
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn rrset(address: &str) -> AddressRrset {
    AddressRrset::new([address.parse().unwrap()], 300)
}

/// Moves `owner`'s A RRset from `from` to `to`.
fn move_a(owner: &str, from: &str, to: &str) -> ZoneUpdate {
    ZoneUpdate {
        zone: name(ZONE),
        changes: vec![RrsetChange {
            name: name(owner),
            family: Family::V4,
            expected: Some(rrset(from)),
            desired: rrset(to),
        }],
    }
}

/// Runs before the proxy forwards an UPDATE, with the UPDATE's number (from 0).
type BeforeUpdate = Arc<dyn Fn(usize) + Send + Sync>;

/// A TCP proxy in front of the server that keeps a copy of every UPDATE it
/// relays (the signed bytes, as an eavesdropper would capture them) and can
/// run something just before an UPDATE reaches the server: after the
/// client read the zone's SOA, before its UPDATE is applied.
struct CapturingProxy {
    address: SocketAddr,
    updates: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl CapturingProxy {
    async fn start(upstream: SocketAddr, before_update: Option<BeforeUpdate>) -> CapturingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let updates = Arc::new(Mutex::new(Vec::new()));
        let captured = Arc::clone(&updates);
        tokio::spawn(async move {
            while let Ok((downstream, _)) = listener.accept().await {
                let (captured, before_update) = (Arc::clone(&captured), before_update.clone());
                tokio::spawn(relay(downstream, upstream, captured, before_update));
            }
        });
        CapturingProxy { address, updates }
    }

    fn updates(&self) -> Vec<Vec<u8>> {
        self.updates.lock().unwrap().clone()
    }
}

/// Relays one connection's requests and answers, one at a time.
async fn relay(
    mut downstream: TcpStream,
    upstream: SocketAddr,
    captured: Arc<Mutex<Vec<Vec<u8>>>>,
    before_update: Option<BeforeUpdate>,
) {
    let mut server = TcpStream::connect(upstream).await.unwrap();
    while let Some(request) = read_message(&mut downstream).await {
        if is_update(&request) {
            let number = {
                let mut updates = captured.lock().unwrap();
                updates.push(request.clone());
                updates.len() - 1
            };
            if let Some(hook) = &before_update {
                let hook = Arc::clone(hook);
                tokio::task::spawn_blocking(move || hook(number))
                    .await
                    .unwrap();
            }
        }
        write_message(&mut server, &request).await;
        let Some(answer) = read_message(&mut server).await else {
            return;
        };
        write_message(&mut downstream, &answer).await;
    }
}

async fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let len = stream.read_u16().await.ok()?;
    let mut message = vec![0u8; usize::from(len)];
    stream.read_exact(&mut message).await.ok()?;
    Some(message)
}

async fn write_message(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(&framed(message)).await.unwrap();
}

/// Sends captured bytes to the server as they are, over TCP, and returns
/// the server's answer.
async fn replay(server: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server).await.unwrap();
    write_message(&mut stream, request).await;
    tokio::time::timeout(TIMEOUT, read_message(&mut stream))
        .await
        .expect("the server answers a replay")
        .expect("a whole answer")
}

/// The replayed UPDATE is still within the fudge, correctly signed, and
/// the server says so by answering with a signed NXRRSET: only the SOA
/// prerequisite stops it.
fn assert_refused_by_its_prerequisite(answer: &[u8]) {
    assert_eq!(
        answer[3] & 0x0F,
        RCODE_NXRRSET,
        "a replay must fail its prerequisite: {answer:02x?}"
    );
    let tsig = dnsfailover::dns::wire::locate_tsig(answer)
        .unwrap()
        .expect("the server signs its answer: it accepted the replay's TSIG");
    assert!(!tsig.rdata.mac.is_empty(), "signed, not an error answer");
    assert_eq!(
        tsig.rdata.error, 0,
        "no TSIG error: the replay's time was fine"
    );
}

/// A→B captured, then B→A; the captured A→B replayed at once (well within
/// the fudge) must not move the record back to B. The last UPDATE replayed
/// right after it applied fails too: its own change moved the serial.
async fn a_replayed_update_fails_its_soa_prerequisite(kind: ServerKind) {
    let setup = start(kind);
    let proxy = CapturingProxy::start(setup.server.addr(), None).await;
    let agent = client(proxy.address, &setup.agent_key);
    let captured_at = Instant::now();
    let there = move_a("www.example.test.", "192.0.2.10", "192.0.2.11");
    assert_eq!(agent.apply(&there).await.unwrap(), ApplyOutcome::Applied);
    let back = move_a("www.example.test.", "192.0.2.11", "192.0.2.10");
    assert_eq!(agent.apply(&back).await.unwrap(), ApplyOutcome::Applied);
    let updates = proxy.updates();
    assert_eq!(updates.len(), 2, "one UPDATE per change");
    let serial = setup.serial();

    let answer = replay(setup.server.addr(), &updates[0]).await;
    assert!(
        captured_at.elapsed() < Duration::from_secs(u64::from(FUDGE_SECONDS) / 2),
        "the replay must be well within the fudge to prove anything"
    );
    assert_refused_by_its_prerequisite(&answer);
    assert_eq!(setup.www(), ["192.0.2.10"], "A→B→A stays A");
    assert_eq!(setup.serial(), serial, "the replay changed nothing");

    let answer = replay(setup.server.addr(), &updates[1]).await;
    assert_refused_by_its_prerequisite(&answer);
    assert_eq!(setup.serial(), serial);
}

/// Someone edits another name of the zone after the client read the SOA:
/// the UPDATE fails on the SOA alone, and is sent once more with the new
/// SOA; no conflict is reported.
async fn an_edit_between_the_soa_read_and_the_update_costs_one_retry(kind: ServerKind) {
    let setup = Arc::new(start(kind));
    let serial = setup.serial();
    let editor = Arc::clone(&setup);
    let hook: BeforeUpdate = Arc::new(move |number| {
        if number == 0 {
            editor.edit("update delete other.example.test. A\nupdate add other.example.test. 300 A 192.0.2.21");
        }
    });
    let proxy = CapturingProxy::start(setup.server.addr(), Some(hook)).await;
    let agent = client(proxy.address, &setup.agent_key);
    let outcome = agent
        .apply(&move_a("www.example.test.", "192.0.2.10", "192.0.2.11"))
        .await
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Applied);
    assert_eq!(proxy.updates().len(), 2, "sent once more, and once only");
    assert_eq!(setup.www(), ["192.0.2.11"]);
    assert_eq!(
        setup.server.query("other.example.test.", "A"),
        ["192.0.2.21"]
    );
    assert_eq!(setup.serial(), serial + 2, "the edit, then the update");
}

/// Someone changes the record itself after the client read the SOA: that
/// is a conflict, as before, and nothing of theirs is overwritten.
async fn a_change_of_the_record_itself_is_still_a_conflict(kind: ServerKind) {
    let setup = Arc::new(start(kind));
    let serial = setup.serial();
    let editor = Arc::clone(&setup);
    let hook: BeforeUpdate = Arc::new(move |number| {
        if number == 0 {
            editor.edit(
                "update delete www.example.test. A\nupdate add www.example.test. 60 A 198.51.100.7",
            );
        }
    });
    let proxy = CapturingProxy::start(setup.server.addr(), Some(hook)).await;
    let agent = client(proxy.address, &setup.agent_key);
    let error = agent
        .apply(&move_a("www.example.test.", "192.0.2.10", "192.0.2.11"))
        .await
        .unwrap_err();
    let DnsError::Conflict { conflicts, .. } = &error else {
        panic!("expected a conflict, got {error}")
    };
    assert_eq!(conflicts.len(), 1, "{error}");
    assert_eq!(
        conflicts[0].published,
        Some(AddressRrset::new(["198.51.100.7".parse().unwrap()], 60))
    );
    assert!(proxy.updates().len() <= 2, "{}", proxy.updates().len());
    assert_eq!(setup.www(), ["198.51.100.7"]);
    assert_eq!(setup.serial(), serial + 1, "only their edit");
}

/// A zone edited before every one of the client's UPDATEs: the client gives
/// up after a bounded number of them, with an error that is neither a
/// conflict nor final (it is retried later), and changes nothing.
async fn a_zone_that_keeps_changing_is_retried_a_bounded_number_of_times(kind: ServerKind) {
    let setup = Arc::new(start(kind));
    let editor = Arc::clone(&setup);
    let hook: BeforeUpdate = Arc::new(move |number| {
        editor.edit(&format!(
            "update delete other.example.test. A\nupdate add other.example.test. 300 A 192.0.2.{}",
            30 + number
        ));
    });
    let proxy = CapturingProxy::start(setup.server.addr(), Some(hook)).await;
    let agent = client(proxy.address, &setup.agent_key);
    let error = agent
        .apply(&move_a("www.example.test.", "192.0.2.10", "192.0.2.11"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DnsError::ZoneKeptChanging { attempts: 3, .. }),
        "{error}"
    );
    assert!(error.is_transient() && !error.is_ambiguous(), "{error}");
    assert!(error.to_string().contains("example.test."), "{error}");
    assert_eq!(proxy.updates().len(), 3);
    assert_eq!(setup.www(), ["192.0.2.10"]);
}

/// Many updates of one zone from one client at once: they take turns, so
/// none fails on an SOA another of them moved, and each is one UPDATE.
async fn concurrent_updates_of_one_zone_take_turns(kind: ServerKind) {
    const COUNT: usize = 8;
    let setup = start(kind);
    let serial = setup.serial();
    let proxy = CapturingProxy::start(setup.server.addr(), None).await;
    let admin = client(proxy.address, &setup.admin_key);
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..COUNT {
        let admin = admin.clone();
        tasks.spawn(async move {
            let update = ZoneUpdate {
                zone: name(ZONE),
                changes: vec![RrsetChange {
                    name: name(&format!("n{index}.example.test.")),
                    family: Family::V4,
                    expected: None,
                    desired: rrset(&format!("192.0.2.{}", 100 + index)),
                }],
            };
            admin.apply(&update).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap().unwrap(), ApplyOutcome::Applied);
    }
    assert_eq!(proxy.updates().len(), COUNT, "no UPDATE sent twice");
    assert_eq!(setup.serial(), serial + COUNT as u32);
}

/// A DNSSEC-signed zone. Knot signs in place: the SOA it serves is the one
/// it checks, and replays fail as in an unsigned zone. BIND's inline signing
/// checks updates against the unsigned zone but serves the signed one, whose
/// SOA differs: the client notices that the SOA prerequisite cannot hold
/// (the SOA and the records as required, NXRRSET all the same), and sends
/// this zone's updates without it from then on, instead of reporting a
/// conflict or failing for ever; such a zone has only the short fudge
/// against replays.
async fn a_signed_zone_is_updated(kind: ServerKind) {
    let setup = start_zone(kind, ZoneSpec::new(ZONE, 2026120302).signed());
    let proxy = CapturingProxy::start(setup.server.addr(), None).await;
    let agent = client(proxy.address, &setup.agent_key);
    let there = move_a("www.example.test.", "192.0.2.10", "192.0.2.11");
    assert_eq!(agent.apply(&there).await.unwrap(), ApplyOutcome::Applied);
    let back = move_a("www.example.test.", "192.0.2.11", "192.0.2.10");
    assert_eq!(agent.apply(&back).await.unwrap(), ApplyOutcome::Applied);
    assert_eq!(setup.www(), ["192.0.2.10"]);
    let updates = proxy.updates();
    let prerequisites: Vec<u16> = updates
        .iter()
        .map(|update| u16::from_be_bytes([update[6], update[7]]))
        .collect();
    match kind {
        ServerKind::Knot => {
            assert_eq!(
                prerequisites,
                [2, 2],
                "the SOA and www, one UPDATE per change"
            );
            let serial = setup.serial();
            assert_refused_by_its_prerequisite(&replay(setup.server.addr(), &updates[0]).await);
            assert_eq!(setup.serial(), serial);
        }
        // The first change tried with the SOA prerequisite, then without;
        // the second without. (Such a zone has only the fudge against replays.)
        ServerKind::Bind => assert_eq!(prerequisites, [2, 1, 1]),
    }
    assert_eq!(setup.www(), ["192.0.2.10"]);
}

against_both_servers!(
    a_signed_zone_is_updated,
    a_replayed_update_fails_its_soa_prerequisite,
    an_edit_between_the_soa_read_and_the_update_costs_one_retry,
    a_change_of_the_record_itself_is_still_a_conflict,
    a_zone_that_keeps_changing_is_retried_a_bounded_number_of_times,
    concurrent_updates_of_one_zone_take_turns,
);
