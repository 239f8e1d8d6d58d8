//! TLS checks: a verified handshake whatever protocol runs on top, and the
//! warning for a certificate that expires soon (https checks too).

use std::time::{Duration, SystemTime};

use dnsfailover::check::{Checker, Outcome, TlsContexts};
use dnsfailover::config::{CheckSpec, HttpScheme, TlsCheck};

use crate::pki::{self, Pki};
use crate::server::{silent_listener, Reply, Server};
use crate::{checker_with, http_check, GENEROUS, V4};

/// A TLS server for `localhost` and 127.0.0.1 whose certificate expires at
/// `not_after` (and became valid a year before).
async fn tls_server(not_after: time::OffsetDateTime) -> (Server, Pki) {
    let not_before = not_after - time::Duration::days(365);
    let pki = pki::issue_valid(&["localhost", "127.0.0.1"], not_before, not_after);
    let server = Server::start_with(
        V4,
        Reply::answer("200 OK", "ok"),
        Some(pki.acceptor.clone()),
    )
    .await;
    (server, pki)
}

fn in_days(days: i64) -> time::OffsetDateTime {
    // Whole seconds: certificates carry no fractions.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    now + time::Duration::days(days)
}

fn tls_check(port: u16, pki: &Pki, change: impl FnOnce(&mut TlsCheck)) -> CheckSpec {
    let mut check = TlsCheck {
        port,
        tls_verify: true,
        tls_server_name: Some("localhost".to_owned()),
        tls_ca_file: Some(pki.ca_file.path().to_owned()),
        expiry_warning_days: None,
    };
    change(&mut check);
    CheckSpec::Tls(check)
}

async fn run(check: CheckSpec) -> (Outcome, Checker) {
    let mut checker = checker_with(V4, check, GENEROUS, &TlsContexts::new());
    let outcome = checker.check().await;
    (outcome, checker)
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_verified_handshake_passes_and_reports_the_expiry() {
    let not_after = in_days(90);
    let (server, pki) = tls_server(not_after).await;
    let (outcome, checker) = run(tls_check(server.port(), &pki, |_| {})).await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "TLSv1_3 handshake completed");
    let expires = outcome.certificate_expires.expect("expiry read");
    assert_eq!(unix(expires), not_after.unix_timestamp() as u64);
    assert_eq!(outcome.warning, None, "no warning configured");
    assert!(checker.is_watching(), "the connection is kept and watched");
}

#[tokio::test]
async fn a_certificate_expiring_within_the_warning_passes_with_a_warning() {
    let (server, pki) = tls_server(in_days(5)).await;
    let check = tls_check(server.port(), &pki, |c| c.expiry_warning_days = Some(14));
    let (outcome, _) = run(check).await;
    assert!(outcome.healthy, "{outcome}");
    let warning = outcome.warning.expect("a warning");
    assert!(
        warning.starts_with("the certificate expires in 4 day(s), at "),
        "{warning}"
    );
    assert!(warning.ends_with("within the 14-day warning"), "{warning}");
    let check = tls_check(server.port(), &pki, |c| c.expiry_warning_days = Some(3));
    assert_eq!(run(check).await.0.warning, None, "outside a 3-day warning");
}

#[tokio::test]
async fn an_expired_certificate_fails_and_without_verification_warns() {
    let (server, pki) = tls_server(in_days(-2)).await;
    let (outcome, _) = run(tls_check(server.port(), &pki, |_| {})).await;
    assert!(!outcome.healthy, "{outcome}");
    assert!(
        outcome
            .detail
            .starts_with("TLS: invalid peer certificate: certificate expired"),
        "{}",
        outcome.detail
    );
    let unverified = tls_check(server.port(), &pki, |c| {
        c.tls_verify = false;
        c.expiry_warning_days = Some(14);
    });
    let (outcome, _) = run(unverified).await;
    assert!(outcome.healthy, "{outcome}");
    let warning = outcome.warning.expect("a warning");
    assert!(
        warning.starts_with("the certificate expired at "),
        "{warning}"
    );
}

#[tokio::test]
async fn a_wrong_name_or_an_unknown_issuer_fails() {
    let (server, pki) = tls_server(in_days(90)).await;
    let wrong_name = tls_check(server.port(), &pki, |c| {
        c.tls_server_name = Some("www.example.test".to_owned())
    });
    let (outcome, _) = run(wrong_name).await;
    assert!(!outcome.healthy, "{outcome}");
    assert!(
        outcome
            .detail
            .starts_with("TLS: invalid peer certificate: certificate not valid for name"),
        "{}",
        outcome.detail
    );
    let system_roots_only = tls_check(server.port(), &pki, |c| c.tls_ca_file = None);
    let (outcome, _) = run(system_roots_only).await;
    assert_eq!(
        outcome.detail,
        "TLS: invalid peer certificate: UnknownIssuer"
    );
}

#[tokio::test]
async fn a_server_that_never_shakes_hands_times_out_in_the_handshake() {
    let listener = silent_listener(V4).await;
    let pki = pki::issue(&["localhost"]);
    let check = tls_check(listener.local_addr().unwrap().port(), &pki, |_| {});
    let mut checker = checker_with(V4, check, Duration::from_millis(300), &TlsContexts::new());
    let outcome = checker.check().await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "timed out after 300ms in the TLS handshake");
}

#[tokio::test]
async fn an_https_check_warns_of_expiry_too() {
    let (server, pki) = tls_server(in_days(2)).await;
    let mut check = http_check(server.port());
    check.scheme = HttpScheme::Https;
    check.path = "/".to_owned();
    check.host = Some("localhost".to_owned());
    check.tls_ca_file = Some(pki.ca_file.path().to_owned());
    check.expiry_warning_days = Some(30);
    let (outcome, _) = run(CheckSpec::Http(check)).await;
    assert!(outcome.healthy, "{outcome}");
    assert!(outcome.certificate_expires.is_some());
    let warning = outcome.warning.expect("a warning");
    assert!(warning.contains("expires in 1 day(s)"), "{warning}");
}
