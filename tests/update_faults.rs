//! UPDATEs that go wrong between the agent and a real BIND or Knot: a
//! proxy in front of the server answers the first UPDATE SERVFAIL, drops it
//! before the server sees it, or forwards it and drops the answer (as BIND
//! does beyond its `update-quota`, the client sees a timeout). Each ends
//! with exactly one change on the server, counted by its SOA serial and by
//! the UPDATEs the proxy saw; every outcome is read with `dig`.

#[macro_use]
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dnsfailover::dns::{ApplyOutcome, Client, DnsError, RrsetChange, TransportError, ZoneUpdate};
use dnsfailover::vocabulary::{AddressRrset, Family, Transport};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Name;
use support::{
    tsig_key_of, Fault, FaultyProxy, Grant, Lab, NameServer, ServerKind, TestKey, ZoneSpec,
    MOVE_DEADLINE, WEB1, WEB2,
};

/// The client's request timeout in these tests.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Time for the reads that settle an outcome on a loaded machine.
const MARGIN: Duration = Duration::from_millis(700);

/// Half the agent's first retry delay: the least it waits after a failure.
const LEAST_BACKOFF: Duration = Duration::from_millis(250);

struct Setup {
    server: NameServer,
    key: TestKey,
}

fn start(kind: ServerKind) -> Setup {
    let key = TestKey::generate("zone-key");
    let zone = ZoneSpec::new("example.test.", 2024_0101)
        .record("www 300 IN A 192.0.2.10")
        .grant(Grant::ZoneSubAddress {
            key: key.name.clone(),
        });
    let server = NameServer::start(kind, vec![zone], vec![key.clone()]);
    Setup { server, key }
}

fn client(proxy: &FaultyProxy, key: &TestKey, transport: Transport) -> Client {
    Client::new(proxy.addr(), transport, TIMEOUT, Arc::new(tsig_key_of(key)))
}

fn rrset(address: &str, ttl: u32) -> AddressRrset {
    AddressRrset::new([address.parse().unwrap()], ttl)
}

/// Moves www from `from` to 192.0.2.`to` (TTL 30).
fn move_www(from: AddressRrset, to: u8) -> ZoneUpdate {
    ZoneUpdate {
        zone: Name::from_ascii("example.test.").unwrap(),
        changes: vec![RrsetChange {
            name: Name::from_ascii("www.example.test.").unwrap(),
            family: Family::V4,
            expected: Some(from),
            desired: rrset(&format!("192.0.2.{to}"), 30),
        }],
    }
}

/// The first move of www, away from the zone's 192.0.2.10 (TTL 300).
fn first_move() -> ZoneUpdate {
    move_www(rrset("192.0.2.10", 300), 11)
}

fn www(setup: &Setup) -> Vec<String> {
    setup.server.query("www.example.test.", "A")
}

fn serial(setup: &Setup) -> u32 {
    setup.server.soa_serial("example.test.")
}

/// A signed SERVFAIL is the server's word that nothing was applied: an
/// error to retry, not an ambiguous outcome; the retry applies it once.
async fn a_signed_servfail_is_retryable_and_the_retry_applies_once(kind: ServerKind) {
    let setup = start(kind);
    let before = serial(&setup);
    let key = Arc::new(tsig_key_of(&setup.key));
    let proxy = FaultyProxy::start(setup.server.addr(), Fault::ServFail(key), 1).await;
    let client = client(&proxy, &setup.key, Transport::Tcp);
    let error = client.apply(&first_move()).await.unwrap_err();
    assert!(
        matches!(
            error,
            DnsError::ServerError {
                rcode: ResponseCode::ServFail,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.is_transient() && !error.is_ambiguous(), "{error}");
    assert!(
        error
            .to_string()
            .contains("answered SERVFAIL to an update of zone example.test."),
        "{error}"
    );
    assert_eq!(
        (www(&setup), serial(&setup)),
        (vec!["192.0.2.10".into()], before)
    );
    assert_eq!(
        client.apply(&first_move()).await.unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(
        (www(&setup), serial(&setup)),
        (vec!["192.0.2.11".into()], before + 1)
    );
    assert_eq!(proxy.updates().len(), 2);
}

/// The UPDATE never reaches the server: the client times out, reads back,
/// finds nothing changed and reports the timeout (not applied); the next
/// attempt applies it, once.
async fn a_dropped_update_is_found_not_applied(kind: ServerKind) {
    let setup = start(kind);
    let mut published = rrset("192.0.2.10", 300);
    for (transport, to) in [(Transport::Udp, 11), (Transport::Tcp, 12)] {
        let before = serial(&setup);
        let proxy = FaultyProxy::start(setup.server.addr(), Fault::DropRequest, 1).await;
        let client = client(&proxy, &setup.key, transport);
        let update = move_www(published.clone(), to);
        let started = Instant::now();
        let error = client.apply(&update).await.unwrap_err();
        let elapsed = started.elapsed();
        eprintln!("{kind:?} {transport}: dropped UPDATE settled as not applied in {elapsed:?}");
        assert!(
            matches!(error, DnsError::Transport(TransportError::Timeout { .. })),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("no answer from {}", proxy.addr())),
            "{error}"
        );
        assert!(
            elapsed >= TIMEOUT && elapsed <= TIMEOUT + MARGIN,
            "{elapsed:?}"
        );
        assert_eq!(serial(&setup), before, "not applied");
        let outcome = client.apply(&update).await.unwrap();
        assert_eq!(outcome, ApplyOutcome::Applied);
        assert_eq!(serial(&setup), before + 1, "applied once, by the retry");
        assert_eq!(www(&setup), vec![format!("192.0.2.{to}")]);
        assert_eq!(proxy.updates().len(), 2);
        published = update.changes[0].desired.clone();
    }
}

/// The server applies the UPDATE but its answer is lost: the client times
/// out, reads back, finds it applied, and sends nothing more.
async fn a_lost_answer_is_found_applied_without_a_second_update(kind: ServerKind) {
    let setup = start(kind);
    let mut published = rrset("192.0.2.10", 300);
    for (transport, to) in [(Transport::Udp, 11), (Transport::Tcp, 12)] {
        let before = serial(&setup);
        let proxy = FaultyProxy::start(setup.server.addr(), Fault::DropAnswer, 1).await;
        let client = client(&proxy, &setup.key, transport);
        let update = move_www(published.clone(), to);
        let started = Instant::now();
        let outcome = client.apply(&update).await.unwrap();
        let elapsed = started.elapsed();
        eprintln!("{kind:?} {transport}: lost answer settled as applied in {elapsed:?}");
        let ApplyOutcome::AppliedUnconfirmedAnswer { cause } = outcome else {
            panic!("expected an outcome settled by reading back: {outcome:?}")
        };
        assert!(cause.contains("no answer from"), "{cause}");
        assert!(
            elapsed >= TIMEOUT && elapsed <= TIMEOUT + MARGIN,
            "{elapsed:?}"
        );
        assert_eq!(serial(&setup), before + 1, "applied exactly once");
        assert_eq!(www(&setup), vec![format!("192.0.2.{to}")]);
        assert_eq!(proxy.updates().len(), 1, "no second UPDATE");
        published = update.changes[0].desired.clone();
    }
}

/// Half of the server's answer arrives: over UDP a truncated datagram,
/// which fails verification and is discarded until the timeout; over TCP
/// half the answer and a reset. Either way the update was applied, and
/// reading back says so.
async fn a_cut_answer_is_found_applied(kind: ServerKind) {
    let setup = start(kind);
    let mut published = rrset("192.0.2.10", 300);
    for (transport, to, expected) in [
        (Transport::Udp, 11, "message ends inside a field"),
        (Transport::Tcp, 12, "in the middle of an answer"),
    ] {
        let before = serial(&setup);
        let proxy = FaultyProxy::start(setup.server.addr(), Fault::CutAnswer, 1).await;
        let client = client(&proxy, &setup.key, transport);
        let update = move_www(published.clone(), to);
        let started = Instant::now();
        let outcome = client.apply(&update).await.unwrap();
        let elapsed = started.elapsed();
        eprintln!("{kind:?} {transport}: half an answer, settled as applied in {elapsed:?}");
        let ApplyOutcome::AppliedUnconfirmedAnswer { cause } = outcome else {
            panic!("expected an outcome settled by reading back: {outcome:?}")
        };
        assert!(cause.contains(expected), "{transport}: {cause}");
        assert!(elapsed <= TIMEOUT + MARGIN, "{elapsed:?}");
        assert_eq!(serial(&setup), before + 1, "applied exactly once");
        assert_eq!(www(&setup), vec![format!("192.0.2.{to}")]);
        assert_eq!(proxy.updates().len(), 1, "no second UPDATE");
        published = update.changes[0].desired.clone();
    }
}

// The real agent behind the proxy: it must retry with backoff where the
// update failed, and not where reading back showed it applied.

/// The lab's configuration with the agent pointed at `proxy` over `transport`.
fn config_via(lab: &Lab, proxy: &FaultyProxy, transport: Transport) -> PathBuf {
    let path = lab.http_config();
    let text = std::fs::read_to_string(&path).unwrap();
    let server_line = format!("  address: {}\n", lab.server.addr());
    assert!(text.contains(&server_line), "{text}");
    let text = text.replace(
        &server_line,
        &format!("  address: {}\n  transport: {transport}\n", proxy.addr()),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts the agent behind a proxy with `fault`, fails web1, and waits
/// until www has moved to web2 and the agent has logged the update.
/// Returns the proxy, the agent's log, the serial step, and the time from
/// the first UPDATE to the agent's logged outcome (to within 20 ms).
async fn fail_over_through(
    kind: ServerKind,
    fault: impl FnOnce(&Lab) -> Fault,
    transport: Transport,
) -> (FaultyProxy, String, u32, Duration) {
    let mut lab = Lab::start(kind, WEB1).await;
    let proxy = FaultyProxy::start(lab.server.addr(), fault(&lab), 1).await;
    let agent = lab.agent(&config_via(&lab, &proxy, transport));
    agent.wait_for_log("nothing to send", 1, MOVE_DEADLINE);
    let before = lab.serial();
    lab.web1.kill();
    lab.wait_for_www(&agent, WEB2);
    // www may move before the agent knows (an answer lost): wait until it
    // has logged the outcome, after which a duplicate would be a retry.
    agent.wait_for_log("updated www.example.test. A", 1, MOVE_DEADLINE);
    let settled = proxy.updates()[0].elapsed();
    (proxy, agent.log(), lab.serial() - before, settled)
}

async fn the_agent_retries_a_servfail_after_a_backoff(kind: ServerKind) {
    let (proxy, log, step, settled) = fail_over_through(
        kind,
        |lab| Fault::ServFail(Arc::new(tsig_key_of(&lab.key))),
        Transport::Tcp,
    )
    .await;
    let updates = proxy.updates();
    assert_eq!(updates.len(), 2, "one failed, one retried:\n{log}");
    let pause = updates[1] - updates[0];
    eprintln!("{kind:?}: SERVFAIL, retried after {pause:?}, settled in {settled:?}");
    assert!(pause >= LEAST_BACKOFF, "retried after {pause:?}:\n{log}");
    assert_eq!(step, 1, "one change in the end:\n{log}");
    assert!(
        log.contains("failed, will retry") && log.contains("SERVFAIL"),
        "{log}"
    );
}

async fn the_agent_retries_an_update_that_never_arrived(kind: ServerKind) {
    let (proxy, log, step, settled) =
        fail_over_through(kind, |_| Fault::DropRequest, Transport::Udp).await;
    let updates = proxy.updates();
    assert_eq!(updates.len(), 2, "one dropped, one retried:\n{log}");
    let pause = updates[1] - updates[0];
    eprintln!(
        "{kind:?}: UPDATE dropped, retried {pause:?} after the first, settled in {settled:?}"
    );
    assert!(
        pause >= Duration::from_secs(1) + LEAST_BACKOFF,
        "{pause:?}:\n{log}"
    );
    assert_eq!(step, 1, "one change in the end:\n{log}");
    assert!(
        log.contains("failed, will retry") && log.contains("no answer from"),
        "{log}"
    );
}

/// The update is applied but its answer does not arrive whole: the agent
/// reads back, logs the update as applied with what went wrong, and sends
/// no second UPDATE.
async fn settles_without_resending(kind: ServerKind, fault: Fault, what: &str, cause: &str) {
    let (proxy, log, step, settled) = fail_over_through(kind, |_| fault, Transport::Tcp).await;
    eprintln!("{kind:?}: {what}, settled by reading back in {settled:?}");
    assert_eq!(proxy.updates().len(), 1, "no second UPDATE:\n{log}");
    assert_eq!(step, 1, "{log}");
    assert!(
        log.contains("(answer lost: ")
            && log.contains(cause)
            && log.contains("confirmed by reading back"),
        "{log}"
    );
}

async fn the_agent_settles_a_lost_answer_without_resending(kind: ServerKind) {
    settles_without_resending(kind, Fault::DropAnswer, "answer lost", "no answer from").await;
}

async fn the_agent_settles_an_answer_cut_by_a_reset_without_resending(kind: ServerKind) {
    let cause = "closed the tcp connection in the middle of an answer";
    settles_without_resending(kind, Fault::CutAnswer, "answer cut by a reset", cause).await;
}

against_both_servers!(
    a_signed_servfail_is_retryable_and_the_retry_applies_once,
    a_dropped_update_is_found_not_applied,
    a_lost_answer_is_found_applied_without_a_second_update,
    a_cut_answer_is_found_applied,
    the_agent_retries_a_servfail_after_a_backoff,
    the_agent_retries_an_update_that_never_arrived,
    the_agent_settles_a_lost_answer_without_resending,
    the_agent_settles_an_answer_cut_by_a_reset_without_resending,
);
