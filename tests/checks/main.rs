//! Health checks against in-process servers on loopback.

mod exec;
mod http;
mod https;
mod pki;
mod server;
mod smtp;
mod tcp;
mod tls;
mod watch;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use dnsfailover::check::{Checker, Target, TargetNames, TlsContexts};
use dnsfailover::config::{CheckSpec, HttpCheck, HttpScheme};

/// 127.0.0.1
pub const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// ::1
pub const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
/// The record name the checks use as their default Host.
pub const RECORD_HOST: &str = "www.example.test";
/// A timeout long enough that only a hanging server reaches it.
pub const GENEROUS: Duration = Duration::from_secs(10);

/// A plain HTTP check of `GET /health` expecting 200.
pub fn http_check(port: u16) -> HttpCheck {
    HttpCheck {
        scheme: HttpScheme::Http,
        port,
        path: "/health".to_owned(),
        host: None,
        expect_status: vec![200],
        expect_body: None,
        tls_verify: true,
        tls_server_name: None,
        tls_ca_file: None,
        expiry_warning_days: None,
    }
}

/// A checker for `address` with the given check and timeout.
pub fn checker(address: IpAddr, check: CheckSpec, timeout: Duration) -> Checker {
    checker_with(address, check, timeout, &TlsContexts::new())
}

/// A checker using the given TLS contexts.
pub fn checker_with(
    address: IpAddr,
    check: CheckSpec,
    timeout: Duration,
    tls: &TlsContexts,
) -> Checker {
    let target = Target {
        address,
        check: Arc::new(check),
        default_host: RECORD_HOST.to_owned(),
        names: Arc::new(TargetNames {
            record: format!("{RECORD_HOST}."),
            server: "web1".to_owned(),
        }),
        timeout,
    };
    Checker::new(target, tls).expect("valid check")
}

/// Asserts that `connection_lost` does not resolve within a short while.
pub async fn assert_still_watching_quietly(checker: &mut Checker) {
    let fired = tokio::time::timeout(Duration::from_millis(50), checker.connection_lost()).await;
    assert!(fired.is_err(), "connection_lost fired unexpectedly");
}

/// Asserts that `connection_lost` resolves, within 5 s.
pub async fn assert_connection_lost(checker: &mut Checker) {
    tokio::time::timeout(Duration::from_secs(5), checker.connection_lost())
        .await
        .expect("connection_lost did not fire within 5 s");
}

#[test]
fn checker_and_its_futures_can_move_between_threads() {
    fn assert_send<T: Send>(_: &T) {}
    let mut checker = checker(V4, CheckSpec::Tcp { port: 9 }, GENEROUS);
    assert_send(&checker.check());
    assert_send(&checker.connection_lost());
    assert_send(&checker);
}
