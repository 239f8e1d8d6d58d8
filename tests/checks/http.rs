//! Plain HTTP checks: status, body, Host header, time limits.

use std::time::{Duration, Instant};

use dnsfailover::config::{CheckSpec, HttpCheck, MAX_BODY_BYTES};

use crate::server::{closed_port, header, Event, Reply, Server};
use crate::{checker, http_check, GENEROUS, RECORD_HOST, V4, V6};

fn spec(server: &Server, change: impl FnOnce(&mut HttpCheck)) -> CheckSpec {
    let mut check = http_check(server.port());
    change(&mut check);
    CheckSpec::Http(check)
}

#[tokio::test]
async fn expected_status_and_body_pass() {
    let server = Server::start(V4, Reply::answer("200 OK", "status: ok\n")).await;
    let check = spec(&server, |check| check.expect_body = Some("ok".to_owned()));
    let outcome = checker(V4, check, GENEROUS).check().await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "200 OK");
}

#[tokio::test]
async fn unexpected_status_fails() {
    let server = Server::start(V4, Reply::answer("503 Service Unavailable", "ok")).await;
    let outcome = checker(V4, spec(&server, |_| {}), GENEROUS).check().await;
    assert!(!outcome.healthy);
    assert_eq!(outcome.detail, "status 503 not in [200]");
}

#[tokio::test]
async fn any_listed_status_passes() {
    let server = Server::start(V4, Reply::answer("204 No Content", "")).await;
    let check = spec(&server, |check| check.expect_status = vec![200, 204]);
    let outcome = checker(V4, check, GENEROUS).check().await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "204 No Content");
}

#[tokio::test]
async fn missing_body_text_fails() {
    let server = Server::start(V4, Reply::answer("200 OK", "status: degraded")).await;
    let check = spec(&server, |check| check.expect_body = Some("ok".to_owned()));
    let outcome = checker(V4, check, GENEROUS).check().await;
    assert!(!outcome.healthy);
    assert_eq!(outcome.detail, "body does not contain \"ok\"");
}

/// A body far larger than the limit with the expected text just past the limit.
fn huge_reply(needle_at: usize) -> Reply {
    let mut prefix = vec![b'x'; needle_at];
    prefix.extend_from_slice(b"needle");
    Reply::Huge {
        prefix,
        total: 64 * 1024 * 1024,
    }
}

#[tokio::test]
async fn text_beyond_the_limit_is_not_found_and_the_body_not_read_whole() {
    let mut server = Server::start(V4, huge_reply(MAX_BODY_BYTES)).await;
    let check = spec(&server, |check| {
        check.expect_body = Some("needle".to_owned())
    });
    let mut checker = checker(V4, check, GENEROUS);
    let outcome = checker.check().await;
    assert!(!outcome.healthy);
    assert_eq!(outcome.detail, "body does not contain \"needle\"");
    assert!(outcome.elapsed < Duration::from_secs(5), "{outcome}");
    loop {
        if let Event::BodyStopped { written, total } = server.next_event().await {
            assert!(written < total / 2, "{written} of {total} bytes sent");
            break;
        }
    }
}

#[tokio::test]
async fn text_within_the_limit_of_a_huge_body_is_found() {
    let server = Server::start(V4, huge_reply(MAX_BODY_BYTES - "needle".len())).await;
    let check = spec(&server, |check| {
        check.expect_body = Some("needle".to_owned())
    });
    let mut checker = checker(V4, check, GENEROUS);
    let outcome = checker.check().await;
    assert!(outcome.healthy, "{outcome}");
    assert!(
        !checker.is_watching(),
        "a half-read connection cannot be kept"
    );
}

#[tokio::test]
async fn request_carries_default_host_and_identifies_itself() {
    let mut server = Server::start(V4, Reply::answer("200 OK", "")).await;
    assert!(
        checker(V4, spec(&server, |_| {}), GENEROUS)
            .check()
            .await
            .healthy
    );
    let head = server.next_request().await;
    assert!(head.starts_with("GET /health HTTP/1.1\r\n"), "{head}");
    assert_eq!(header(&head, "host").as_deref(), Some(RECORD_HOST));
    let agent = header(&head, "user-agent").unwrap_or_default();
    assert!(agent.starts_with("dnsfailover/"), "{head}");
    assert_eq!(header(&head, "connection").as_deref(), Some("keep-alive"));
}

#[tokio::test]
async fn explicit_host_and_query_are_sent() {
    let mut server = Server::start(V4, Reply::answer("200 OK", "")).await;
    let check = spec(&server, |check| {
        check.host = Some("status.example.test:8080".to_owned());
        check.path = "/ready?full=1".to_owned();
    });
    assert!(checker(V4, check, GENEROUS).check().await.healthy);
    let head = server.next_request().await;
    assert!(head.starts_with("GET /ready?full=1 HTTP/1.1\r\n"), "{head}");
    assert_eq!(
        header(&head, "host").as_deref(),
        Some("status.example.test:8080")
    );
}

#[tokio::test]
async fn frozen_server_fails_by_timeout() {
    let mut server = Server::start(V4, Reply::Frozen).await;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let outcome = checker(V4, spec(&server, |_| {}), timeout).check().await;
    let took = started.elapsed();
    assert!(!outcome.healthy);
    assert_eq!(
        outcome.detail,
        "timed out after 300ms waiting for the response"
    );
    assert!(took >= timeout, "gave up early: {took:?}");
    assert!(took < timeout + Duration::from_secs(1), "took {took:?}");
    server.next_request().await;
}

#[tokio::test]
async fn refused_http_connection_fails() {
    let port = closed_port(V4).await;
    let outcome = checker(V4, CheckSpec::Http(http_check(port)), GENEROUS)
        .check()
        .await;
    assert_eq!(outcome.detail, "connection refused");
}

#[tokio::test]
async fn malformed_status_line_fails() {
    let server = Server::start(V4, Reply::answer("abc", "")).await;
    let outcome = checker(V4, spec(&server, |_| {}), GENEROUS).check().await;
    assert!(!outcome.healthy);
    assert!(outcome.detail.starts_with("HTTP: "), "{outcome}");
}

#[tokio::test]
async fn ipv6_http_check_passes() {
    let mut server = Server::start(V6, Reply::answer("200 OK", "ok")).await;
    let outcome = checker(V6, spec(&server, |_| {}), GENEROUS).check().await;
    assert!(outcome.healthy, "{outcome}");
    let head = server.next_request().await;
    assert_eq!(header(&head, "host").as_deref(), Some(RECORD_HOST));
}
