//! The `dns` check against real BIND and Knot: answers matched by response
//! code and value, a truncated answer asked again over TCP, and a server
//! stopped and started again.

#[macro_use]
mod support;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use dnsfailover::check::{Checker, Outcome, Target, TlsContexts};
use dnsfailover::config::{CheckSpec, DnsCheck};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use support::{NameServer, ServerKind, ZoneSpec};

const ZONE: &str = "example.test.";
const TIMEOUT: Duration = Duration::from_secs(2);

/// A server for `ZONE` with an A record and a TXT RRset too large for a
/// 512-octet UDP answer.
fn start(kind: ServerKind) -> NameServer {
    let mut zone = ZoneSpec::new(ZONE, 1).record("www 300 IN A 192.0.2.1");
    for n in 0..6 {
        zone = zone.record(&format!("big 300 IN TXT \"{n}{}\"", "x".repeat(200)));
    }
    NameServer::start(kind, vec![zone], vec![])
}

/// Runs one dns check of `query_name`/`query_type` against `server`.
async fn check(
    server: &NameServer,
    query_name: &str,
    query_type: &str,
    expect_rcode: ResponseCode,
    expect_answer: Option<&str>,
) -> Outcome {
    let spec = DnsCheck {
        port: server.addr().port(),
        query_name: Name::from_ascii(query_name).unwrap(),
        query_type: RecordType::from_str(query_type).unwrap(),
        expect_rcode,
        expect_answer: expect_answer.map(str::to_owned),
        recursion_desired: false,
    };
    let target = Target {
        address: server.addr().ip(),
        check: Arc::new(CheckSpec::Dns(spec)),
        default_host: "ns.example.test".to_owned(),
        names: Default::default(),
        timeout: TIMEOUT,
    };
    let mut checker = Checker::new(target, &TlsContexts::new()).expect("valid check");
    checker.check().await
}

async fn answers_match_by_rcode_and_value(kind: ServerKind) {
    let server = start(kind);
    let soa = check(&server, ZONE, "SOA", ResponseCode::NoError, None).await;
    assert!(soa.healthy, "{soa}");
    assert_eq!(soa.detail, "NOERROR, 1 answer(s)");
    let www = "www.example.test.";
    let found = check(&server, www, "A", ResponseCode::NoError, Some("192.0.2.1")).await;
    assert!(found.healthy, "{found}");
    assert_eq!(found.detail, "NOERROR, answer 192.0.2.1 found");
    let other = check(&server, www, "A", ResponseCode::NoError, Some("192.0.2.9")).await;
    assert!(!other.healthy, "{other}");
    assert_eq!(
        other.detail,
        "answered NOERROR without 192.0.2.9: answers are 192.0.2.1"
    );
    let missing = "missing.example.test.";
    let nxdomain = check(&server, missing, "A", ResponseCode::NXDomain, None).await;
    assert!(nxdomain.healthy, "{nxdomain}");
    let expected_data = check(&server, missing, "A", ResponseCode::NoError, None).await;
    assert!(!expected_data.healthy, "{expected_data}");
    assert_eq!(expected_data.detail, "answered NXDOMAIN, expected NOERROR");
}

async fn a_truncated_answer_is_asked_again_over_tcp(kind: ServerKind) {
    let server = start(kind);
    let big = check(
        &server,
        "big.example.test.",
        "TXT",
        ResponseCode::NoError,
        None,
    )
    .await;
    assert!(big.healthy, "{big}");
    assert_eq!(big.detail, "NOERROR, 6 answer(s) over TCP");
    let text = format!("3{}", "x".repeat(200));
    let value = check(
        &server,
        "big.example.test.",
        "TXT",
        ResponseCode::NoError,
        Some(&text),
    )
    .await;
    assert!(value.healthy, "{value}");
}

async fn a_stopped_server_fails_and_a_started_one_passes(kind: ServerKind) {
    let mut server = start(kind);
    assert!(
        check(&server, ZONE, "SOA", ResponseCode::NoError, None)
            .await
            .healthy
    );
    server.stop();
    let stopped = check(&server, ZONE, "SOA", ResponseCode::NoError, None).await;
    assert!(!stopped.healthy, "{stopped}");
    assert_eq!(stopped.detail, "connection refused");
    assert!(stopped.elapsed < TIMEOUT, "{stopped}");
    server.restart();
    let started = check(&server, ZONE, "SOA", ResponseCode::NoError, None).await;
    assert!(started.healthy, "{started}");
}

against_both_servers!(
    answers_match_by_rcode_and_value,
    a_truncated_answer_is_asked_again_over_tcp,
    a_stopped_server_fails_and_a_started_one_passes,
);
