//! TCP checks.

use std::time::Duration;

use dnsfailover::check::Checker;
use dnsfailover::config::CheckSpec;

use crate::server::{accept_one, closed_port, silent_listener};
use crate::{checker, GENEROUS, V4, V6};

async fn tcp_checker(address: std::net::IpAddr, port: u16) -> Checker {
    checker(address, CheckSpec::Tcp { port }, GENEROUS)
}

#[tokio::test]
async fn accepted_connection_is_healthy() {
    let listener = silent_listener(V4).await;
    let mut checker = tcp_checker(V4, listener.local_addr().unwrap().port()).await;
    let outcome = checker.check().await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "connected");
    assert!(outcome.elapsed < GENEROUS);
}

#[tokio::test]
async fn refused_connection_is_unhealthy() {
    let port = closed_port(V4).await;
    let mut checker = tcp_checker(V4, port).await;
    let outcome = checker.check().await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "connection refused");
    assert!(!checker.is_watching());
}

#[tokio::test]
async fn ipv6_loopback_is_checked() {
    let listener = silent_listener(V6).await;
    let mut checker = tcp_checker(V6, listener.local_addr().unwrap().port()).await;
    let outcome = checker.check().await;
    assert!(outcome.healthy, "{outcome}");
    let accepted = accept_one(&listener).await;
    assert!(accepted.peer_addr().unwrap().is_ipv6());
}

#[tokio::test]
async fn refused_ipv6_connection_is_unhealthy() {
    let port = closed_port(V6).await;
    let outcome = tcp_checker(V6, port).await.check().await;
    assert_eq!(outcome.detail, "connection refused");
}

/// The kept connection is reset, not closed with FIN: no TIME_WAIT is left
/// behind for every check.
#[tokio::test]
async fn every_check_opens_a_new_connection_and_resets_the_kept_one() {
    use tokio::io::AsyncReadExt;
    let listener = silent_listener(V4).await;
    let mut checker = tcp_checker(V4, listener.local_addr().unwrap().port()).await;
    assert!(checker.check().await.healthy);
    let mut first = accept_one(&listener).await;
    assert!(checker.check().await.healthy);
    let _second = accept_one(&listener).await;
    let mut buffer = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), first.read(&mut buffer)).await;
    let error = read
        .expect("first connection still open")
        .expect_err("a reset, not an orderly close");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
}
