//! HTTPS checks: certificate verification, CA files, server names.

use std::time::Duration;

use dnsfailover::check::{CheckSetupError, Checker, Target, TlsContexts};
use dnsfailover::config::{CheckSpec, HttpCheck, HttpScheme};

use crate::pki::{self, Pki};
use crate::server::{header, silent_listener, Reply, Server};
use crate::{checker_with, http_check, GENEROUS, V4, V6};

/// An HTTPS server for `localhost` and 127.0.0.1/::1, with its CA.
async fn https_server(ip: std::net::IpAddr) -> (Server, Pki) {
    let pki = pki::issue(&["localhost", "127.0.0.1", "::1"]);
    let reply = Reply::answer("200 OK", "ok");
    let server = Server::start_with(ip, reply, Some(pki.acceptor.clone())).await;
    (server, pki)
}

fn https_check(port: u16, change: impl FnOnce(&mut HttpCheck)) -> CheckSpec {
    let mut check = http_check(port);
    check.scheme = HttpScheme::Https;
    check.host = Some("localhost".to_owned());
    change(&mut check);
    CheckSpec::Http(check)
}

#[tokio::test]
async fn unknown_issuer_fails_by_default() {
    let (server, _pki) = https_server(V4).await;
    let check = https_check(server.port(), |_| {});
    let outcome = checker_with(V4, check, GENEROUS, &TlsContexts::new())
        .check()
        .await;
    assert!(!outcome.healthy);
    assert_eq!(
        outcome.detail,
        "TLS: invalid peer certificate: UnknownIssuer"
    );
}

#[tokio::test]
async fn any_certificate_is_accepted_without_verification() {
    let (server, _pki) = https_server(V4).await;
    let check = https_check(server.port(), |check| check.tls_verify = false);
    let mut checker = checker_with(V4, check, GENEROUS, &TlsContexts::new());
    let outcome = checker.check().await;
    assert!(outcome.healthy, "{outcome}");
    assert!(checker.is_watching());
}

#[tokio::test]
async fn ca_file_makes_the_certificate_trusted() {
    let (mut server, pki) = https_server(V4).await;
    let check = https_check(server.port(), |check| {
        check.expect_body = Some("ok".to_owned());
        check.tls_ca_file = Some(pki.ca_file.path().to_owned());
    });
    let outcome = checker_with(V4, check, GENEROUS, &TlsContexts::new())
        .check()
        .await;
    assert!(outcome.healthy, "{outcome}");
    let head = server.next_request().await;
    assert_eq!(header(&head, "host").as_deref(), Some("localhost"));
}

#[tokio::test]
async fn certificate_for_another_name_fails() {
    let (server, pki) = https_server(V4).await;
    let check = https_check(server.port(), |check| {
        check.tls_ca_file = Some(pki.ca_file.path().to_owned());
        check.tls_server_name = Some("other.example.test".to_owned());
    });
    let outcome = checker_with(V4, check, GENEROUS, &TlsContexts::new())
        .check()
        .await;
    assert!(!outcome.healthy);
    assert!(
        outcome.detail.starts_with(
            "TLS: invalid peer certificate: certificate not valid for name \"other.example.test\""
        ),
        "{outcome}"
    );
}

#[tokio::test]
async fn ip_literal_host_is_verified_as_an_address_over_ipv6() {
    let (server, pki) = https_server(V6).await;
    let check = https_check(server.port(), |check| {
        check.host = Some(format!("[::1]:{}", server.port()));
        check.tls_ca_file = Some(pki.ca_file.path().to_owned());
    });
    let outcome = checker_with(V6, check, GENEROUS, &TlsContexts::new())
        .check()
        .await;
    assert!(outcome.healthy, "{outcome}");
}

#[tokio::test]
async fn server_that_never_handshakes_fails_by_timeout() {
    let listener = silent_listener(V4).await;
    let port = listener.local_addr().unwrap().port();
    let check = https_check(port, |check| check.tls_verify = false);
    let timeout = Duration::from_millis(200);
    let outcome = checker_with(V4, check, timeout, &TlsContexts::new())
        .check()
        .await;
    assert!(!outcome.healthy);
    assert_eq!(outcome.detail, "timed out after 200ms in the TLS handshake");
}

#[test]
fn unreadable_ca_file_is_a_setup_error() {
    let target = Target {
        address: V4,
        check: std::sync::Arc::new(https_check(443, |check| {
            check.tls_ca_file = Some("/nonexistent/dnsfailover-ca.pem".into());
        })),
        default_host: "www.example.test".to_owned(),
        names: Default::default(),
        timeout: GENEROUS,
    };
    let error = Checker::new(target, &TlsContexts::new()).unwrap_err();
    assert!(
        matches!(error, CheckSetupError::CaFileUnreadable { .. }),
        "{error}"
    );
    assert!(error
        .to_string()
        .contains("/nonexistent/dnsfailover-ca.pem"));
}
