//! Self-tests of the test harness in `tests/support`, against real BIND and Knot servers.

mod support;

use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

use support::{free_port, query_at, Grant, NameServer, ServerKind, TestKey, ZoneSpec};

/// Zone whose names the address key may update and whose `status` TXT the status key may.
const ZONE: &str = "example.test.";

/// Zone without grants: no update is accepted.
const LOCKED_ZONE: &str = "locked.test.";

/// Keys of the standard fixture: one for addresses anywhere in `ZONE`, one for a single TXT.
struct Keys {
    address: TestKey,
    status: TestKey,
}

/// A server of `kind` with `ZONE` (serial `serial`) and `LOCKED_ZONE` (serial `serial + 1000`).
fn start_fixture(kind: ServerKind, serial: u32) -> (NameServer, Keys) {
    let keys = Keys {
        address: TestKey::generate("address-updater."),
        status: TestKey::generate("status-updater."),
    };
    let zone = ZoneSpec::new(ZONE, serial)
        .record("www 300 IN A 192.0.2.10")
        .record("www 300 IN AAAA 2001:db8::10")
        .record("mail.example.test. 600 IN A 192.0.2.25")
        .grant(Grant::ZoneSubAddress {
            key: keys.address.name.clone(),
        })
        .grant(Grant::Name {
            key: keys.status.name.clone(),
            name: "status".to_string(),
            types: vec!["TXT".to_string()],
        });
    let locked = ZoneSpec::new(LOCKED_ZONE, serial + 1000).record("@ 300 IN A 192.0.2.99");
    let server = NameServer::start(
        kind,
        vec![zone, locked],
        vec![keys.address.clone(), keys.status.clone()],
    );
    (server, keys)
}

/// Asserts that `nsupdate` succeeded, showing its output and the server log otherwise.
fn assert_accepted(server: &NameServer, output: &Output) {
    assert!(
        output.status.success(),
        "{} rejected the update: {}{}\n{}",
        server.kind(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
}

/// Polls until `condition` holds, for at most `deadline`; whether it held.
fn eventually(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Defines one `#[test]` per server kind that calls `$check(kind)`.
macro_rules! for_both_kinds {
    ($check:ident: $bind:ident, $knot:ident) => {
        #[test]
        fn $bind() {
            $check(ServerKind::Bind);
        }
        #[test]
        fn $knot() {
            $check(ServerKind::Knot);
        }
    };
}

fn serves_zones_on_its_port(kind: ServerKind) {
    let (server, _keys) = start_fixture(kind, 101);
    assert_eq!(server.kind(), kind);
    assert_eq!(server.soa_serial(ZONE), 101);
    assert_eq!(server.soa_serial(LOCKED_ZONE), 1101);
    assert_eq!(server.query("www.example.test.", "A"), ["192.0.2.10"]);
    assert_eq!(server.query("www.example.test.", "AAAA"), ["2001:db8::10"]);
    assert_eq!(server.query(LOCKED_ZONE, "A"), ["192.0.2.99"]);
    assert_eq!(server.query_ttl("mail.example.test.", "A"), Some(600));
    assert!(server.query("absent.example.test.", "A").is_empty());
    assert_eq!(server.query_ttl("absent.example.test.", "A"), None);

    let addr = server.addr();
    assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
    assert!(
        UdpSocket::bind(addr).is_err(),
        "UDP {addr} should be held by the server"
    );
    TcpStream::connect(addr).unwrap_or_else(|e| panic!("TCP {addr} should accept: {e}"));
    assert_eq!(
        query_at(addr, ZONE, "NS").unwrap(),
        ["harness-ns.example.test."]
    );
}
for_both_kinds!(serves_zones_on_its_port: bind_serves_zones_on_its_port, knot_serves_zones_on_its_port);

fn granted_updates_are_applied(kind: ServerKind) {
    let (server, keys) = start_fixture(kind, 201);
    let replace = "update delete www.example.test. A\nupdate add www.example.test. 60 A 192.0.2.20";
    assert_accepted(&server, &server.nsupdate(&keys.address, replace));
    assert_eq!(server.query("www.example.test.", "A"), ["192.0.2.20"]);
    assert_eq!(server.query_ttl("www.example.test.", "A"), Some(60));
    assert_eq!(server.soa_serial(ZONE), 202);

    let status = "zone example.test.\nupdate add status.example.test. 300 TXT \"up\"";
    assert_accepted(&server, &server.nsupdate(&keys.status, status));
    assert_eq!(server.query("status.example.test.", "TXT"), ["\"up\""]);
    assert_eq!(server.soa_serial(ZONE), 203);
}
for_both_kinds!(granted_updates_are_applied: bind_granted_updates_are_applied, knot_granted_updates_are_applied);

fn updates_outside_grants_change_nothing(kind: ServerKind) {
    let (server, keys) = start_fixture(kind, 301);
    let stranger = TestKey::generate("address-updater.");
    let attempts = [
        (&keys.address, "update add www.example.test. 60 TXT \"x\""),
        (
            &keys.status,
            "update add status.example.test. 60 A 192.0.2.30",
        ),
        (&keys.status, "update add other.example.test. 60 TXT \"x\""),
        (
            &keys.address,
            "zone locked.test.\nupdate add locked.test. 60 A 192.0.2.31",
        ),
        (&stranger, "update add www.example.test. 60 A 192.0.2.32"),
    ];
    for (key, script) in attempts {
        let output = server.nsupdate(key, script);
        assert!(
            !output.status.success(),
            "{kind} accepted {script:?} signed by {key:?}"
        );
    }
    assert_eq!(server.soa_serial(ZONE), 301);
    assert_eq!(server.soa_serial(LOCKED_ZONE), 1301);
    assert_eq!(server.query("www.example.test.", "A"), ["192.0.2.10"]);
    assert!(server.query("www.example.test.", "TXT").is_empty());
    assert!(server.query("status.example.test.", "A").is_empty());
    assert!(server.query("other.example.test.", "TXT").is_empty());
    assert_eq!(server.query(LOCKED_ZONE, "A"), ["192.0.2.99"]);
}
for_both_kinds!(updates_outside_grants_change_nothing: bind_updates_outside_grants_change_nothing, knot_updates_outside_grants_change_nothing);

fn stop_and_restart_keep_port_and_data(kind: ServerKind) {
    let (mut server, keys) = start_fixture(kind, 401);
    let (other, _other_keys) = start_fixture(kind, 501);
    assert_ne!(server.addr().port(), other.addr().port());
    let update = "update add new.example.test. 120 A 192.0.2.40";
    assert_accepted(&server, &server.nsupdate(&keys.address, update));
    let addr = server.addr();

    server.stop();
    assert_eq!(server.pid(), None);
    assert!(!server.is_answering(), "{kind} still answers after stop()");
    assert!(query_at(addr, ZONE, "SOA").is_err());
    assert_eq!(
        other.soa_serial(ZONE),
        501,
        "the other server must keep running"
    );

    server.restart();
    assert!(server.pid().is_some());
    assert_eq!(server.addr(), addr);
    assert_eq!(server.query("new.example.test.", "A"), ["192.0.2.40"]);
    assert_eq!(server.soa_serial(ZONE), 402);
    let second = "update add newer.example.test. 120 A 192.0.2.41";
    assert_accepted(&server, &server.nsupdate(&keys.address, second));
    assert_eq!(server.soa_serial(ZONE), 403);
}
for_both_kinds!(stop_and_restart_keep_port_and_data: bind_stop_and_restart_keep_port_and_data, knot_stop_and_restart_keep_port_and_data);

fn drop_ends_the_process(kind: ServerKind) {
    let (server, _keys) = start_fixture(kind, 601);
    let pid = server.pid().expect("a started server has a PID");
    let addr = server.addr();
    let proc_entry = format!("/proc/{pid}");
    assert!(Path::new(&proc_entry).exists());
    drop(server);
    assert!(
        eventually(Duration::from_secs(15), || !Path::new(&proc_entry).exists()),
        "{kind} process {pid} still exists after drop"
    );
    assert!(query_at(addr, ZONE, "SOA").is_err());
}
for_both_kinds!(drop_ends_the_process: bind_drop_ends_the_process, knot_drop_ends_the_process);

fn broken_zone_fails_start_with_log(kind: ServerKind) {
    let zone = ZoneSpec::new(ZONE, 701).record("www 300 IN A not-an-address");
    let failure = std::panic::catch_unwind(|| NameServer::start(kind, vec![zone], vec![]))
        .err()
        .expect("start must fail on a zone the server cannot load");
    let message = failure
        .downcast_ref::<String>()
        .expect("the panic message is a formatted String");
    assert!(message.contains("---- server log ----"), "{message}");
    assert!(
        message.contains("zone-0.db"),
        "log lacks the zone file: {message}"
    );
}
for_both_kinds!(broken_zone_fails_start_with_log: bind_broken_zone_fails_start_with_log, knot_broken_zone_fails_start_with_log);

#[test]
fn free_ports_differ_and_are_bindable() {
    let first = free_port();
    let second = free_port();
    assert_ne!(first, second);
    for port in [first, second] {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).expect("UDP port is free");
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("TCP port is free");
    }
}

#[test]
fn key_file_is_private_and_debug_hides_the_secret() {
    let key = TestKey::generate("file.key.");
    assert_eq!(key.algorithm, "hmac-sha256");
    assert_ne!(key.secret, TestKey::generate("file.key.").secret);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.key");
    key.write_bind_key_file(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("key \"file.key.\" {"), "{text}");
    assert!(
        text.contains(&format!("secret \"{}\";", key.secret)),
        "{text}"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!format!("{key:?}").contains(&key.secret));
}
