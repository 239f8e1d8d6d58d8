//! `connection_lost`: the kept connection of a passed check is watched.

use tokio::io::AsyncWriteExt;

use dnsfailover::config::CheckSpec;

use crate::server::{accept_one, silent_listener, Event, Reply, Server};
use crate::{
    assert_connection_lost, assert_still_watching_quietly, checker, http_check, GENEROUS, V4, V6,
};

#[tokio::test]
async fn nothing_kept_before_the_first_check() {
    let mut checker = checker(V4, CheckSpec::Tcp { port: 9 }, GENEROUS);
    assert!(!checker.is_watching());
    assert_still_watching_quietly(&mut checker).await;
}

#[tokio::test]
async fn tcp_server_closing_the_kept_connection_is_noticed() {
    let listener = silent_listener(V4).await;
    let port = listener.local_addr().unwrap().port();
    let mut checker = checker(V4, CheckSpec::Tcp { port }, GENEROUS);
    assert!(checker.check().await.healthy);
    let accepted = accept_one(&listener).await;
    assert!(checker.is_watching());
    assert_still_watching_quietly(&mut checker).await;
    drop(accepted);
    assert_connection_lost(&mut checker).await;
    assert!(!checker.is_watching());
    assert_still_watching_quietly(&mut checker).await;
}

#[tokio::test]
async fn greeting_of_a_tcp_service_is_not_a_loss() {
    let listener = silent_listener(V6).await;
    let port = listener.local_addr().unwrap().port();
    let mut checker = checker(V6, CheckSpec::Tcp { port }, GENEROUS);
    assert!(checker.check().await.healthy);
    let mut accepted = accept_one(&listener).await;
    accepted
        .write_all(b"SSH-2.0-OpenSSH_9.2\r\n")
        .await
        .unwrap();
    assert_still_watching_quietly(&mut checker).await;
    drop(accepted);
    assert_connection_lost(&mut checker).await;
}

#[tokio::test]
async fn http_server_closing_the_kept_connection_is_noticed() {
    let mut server = Server::start(V4, Reply::answer("200 OK", "ok")).await;
    let mut checker = checker(V4, CheckSpec::Http(http_check(server.port())), GENEROUS);
    assert!(checker.check().await.healthy);
    server.next_request().await;
    assert!(checker.is_watching());
    assert_still_watching_quietly(&mut checker).await;
    server.close_connections();
    assert_connection_lost(&mut checker).await;
    assert!(!checker.is_watching());
}

#[tokio::test]
async fn announced_close_leaves_nothing_to_watch() {
    let reply = Reply::Answer {
        status: "200 OK",
        headers: "Connection: close\r\n",
        body: b"ok".to_vec(),
        hang_up: true,
    };
    let server = Server::start(V4, reply).await;
    let mut checker = checker(V4, CheckSpec::Http(http_check(server.port())), GENEROUS);
    assert!(checker.check().await.healthy);
    assert!(!checker.is_watching());
    assert_still_watching_quietly(&mut checker).await;
}

#[tokio::test]
async fn failed_check_keeps_no_connection() {
    let server = Server::start(V4, Reply::answer("503 Service Unavailable", "")).await;
    let mut checker = checker(V4, CheckSpec::Http(http_check(server.port())), GENEROUS);
    assert!(!checker.check().await.healthy);
    assert!(!checker.is_watching());
    assert_still_watching_quietly(&mut checker).await;
}

#[tokio::test]
async fn new_check_and_drop_close_the_kept_http_connection() {
    let mut server = Server::start(V4, Reply::answer("200 OK", "ok")).await;
    let mut checker = checker(V4, CheckSpec::Http(http_check(server.port())), GENEROUS);
    assert!(checker.check().await.healthy);
    assert!(checker.check().await.healthy);
    let mut closed = Vec::new();
    let mut requests = 0;
    while requests < 2 || closed.is_empty() {
        match server.next_event().await {
            Event::Request { .. } => requests += 1,
            Event::ClientClosed { connection } => closed.push(connection),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        closed,
        [0],
        "the first connection is closed by the second check"
    );
    drop(checker);
    assert_eq!(
        server.next_event().await,
        Event::ClientClosed { connection: 1 }
    );
}

#[tokio::test]
async fn server_closing_idle_connections_stops_being_watched() {
    let mut server = Server::start(V4, Reply::answer("200 OK", "ok")).await;
    let mut checker = checker(V4, CheckSpec::Http(http_check(server.port())), GENEROUS);
    // Each loss is followed by a passing check: a false alarm. The third ends the watch.
    for _ in 0..3 {
        assert!(checker.check().await.healthy);
        server.next_request().await;
        assert!(checker.is_watching());
        server.close_connections();
        assert_connection_lost(&mut checker).await;
    }
    assert!(checker.check().await.healthy);
    assert!(!checker.is_watching());
}
