//! The operator's BIND and Knot snippets in `deploy/` (rendered into the test servers'
//! configurations by `tests/support`): the key may change A and AAAA of the failover
//! name, and nothing else, on a real `named` and `knotd`.

#[macro_use]
mod support;

use support::{Grant, NameServer, ServerKind, TestKey, ZoneSpec};

const ZONE: &str = "example.test.";

fn server(kind: ServerKind) -> (NameServer, TestKey) {
    let key = TestKey::generate("dnsfailover");
    let zone = ZoneSpec::new(ZONE, 2026120201)
        .record("www 300 IN A 192.0.2.10")
        .record("www 300 IN AAAA 2001:db8::10")
        .record("www 300 IN TXT \"before\"")
        .record("other 300 IN A 192.0.2.20")
        .grant(Grant::Deployed {
            key: key.name.clone(),
            names: vec!["www".to_string()],
        });
    (NameServer::start(kind, vec![zone], vec![key.clone()]), key)
}

/// Sends `script` and returns whether the server accepted it.
fn update(server: &NameServer, key: &TestKey, script: &str) -> bool {
    let output = server.nsupdate(key, &format!("zone {ZONE}\n{script}"));
    output.status.success()
}

async fn the_key_may_change_a_and_aaaa_of_the_failover_name(kind: ServerKind) {
    let (server, key) = server(kind);
    assert!(update(
        &server,
        &key,
        "update delete www.example.test. A\nupdate add www.example.test. 30 A 192.0.2.11"
    ));
    assert!(update(
        &server,
        &key,
        "update delete www.example.test. AAAA\nupdate add www.example.test. 30 AAAA 2001:db8::11"
    ));
    assert_eq!(server.query("www.example.test.", "A"), ["192.0.2.11"]);
    assert_eq!(server.query("www.example.test.", "AAAA"), ["2001:db8::11"]);
}

async fn the_key_may_not_change_other_types_or_names(kind: ServerKind) {
    let (server, key) = server(kind);
    let serial = server.soa_serial(ZONE);
    assert!(!update(
        &server,
        &key,
        "update delete www.example.test. TXT\nupdate add www.example.test. 30 TXT \"after\""
    ));
    assert!(!update(
        &server,
        &key,
        "update delete other.example.test. A\nupdate add other.example.test. 30 A 192.0.2.21"
    ));
    assert!(!update(
        &server,
        &key,
        "update add new.example.test. 30 A 192.0.2.22"
    ));
    assert_eq!(server.query("www.example.test.", "TXT"), ["\"before\""]);
    assert_eq!(server.query("other.example.test.", "A"), ["192.0.2.20"]);
    assert!(server.query("new.example.test.", "A").is_empty());
    assert_eq!(
        server.soa_serial(ZONE),
        serial,
        "a refused update changed the zone"
    );
}

against_both_servers!(
    the_key_may_change_a_and_aaaa_of_the_failover_name,
    the_key_may_not_change_other_types_or_names,
);
