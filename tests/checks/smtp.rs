//! SMTP checks: against an in-test SMTP server that speaks the protocol
//! (STARTTLS with a generated certificate included) and misbehaves on
//! demand, and against Python's own SMTP server (`smtpd`), an independent
//! implementation.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dnsfailover::check::{Outcome, TlsContexts};
use dnsfailover::config::{CheckSpec, SmtpCheck};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::pki::{self, Pki};
use crate::{checker_with, GENEROUS, V4};

/// How the in-test server behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Speaks SMTP and offers STARTTLS.
    Correct,
    /// Greets with 554 (no service).
    Refusing,
    /// Does not offer STARTTLS.
    NoStartTls,
    /// Sends more after its STARTTLS reply, before the handshake.
    InjectsAfterStartTls,
    /// Greets, then never answers EHLO.
    HangsAfterGreeting,
}

async fn smtp_server(behaviour: Behaviour, acceptor: Option<TlsAcceptor>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut session = BufReader::new(stream);
                let greeting: &[u8] = if behaviour == Behaviour::Refusing {
                    b"554 mx.example.test no service here\r\n"
                } else {
                    b"220-mx.example.test ESMTP test server\r\n220 ready\r\n"
                };
                if session.get_mut().write_all(greeting).await.is_err() {
                    return;
                }
                if behaviour == Behaviour::HangsAfterGreeting {
                    std::future::pending::<()>().await;
                }
                if converse(&mut session, behaviour, true).await != Some(true) {
                    return;
                }
                let Some(acceptor) = acceptor else { return };
                let Ok(tls) = acceptor.accept(session.into_inner()).await else {
                    return;
                };
                converse(&mut BufReader::new(tls), behaviour, false).await;
            });
        }
    });
    address
}

/// Answers commands until QUIT (`Some(false)`), STARTTLS (`Some(true)`)
/// or the end of the connection (`None`).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut BufReader<S>,
    behaviour: Behaviour,
    plain: bool,
) -> Option<bool> {
    loop {
        let mut line = String::new();
        if session.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO ") {
            if plain && behaviour != Behaviour::NoStartTls {
                b"250-mx.example.test\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n"
            } else {
                b"250-mx.example.test\r\n250 SIZE 10240000\r\n"
            }
        } else if command == "STARTTLS" && plain {
            let reply: &[u8] = if behaviour == Behaviour::InjectsAfterStartTls {
                b"220 go ahead\r\n250 injected\r\n"
            } else {
                b"220 go ahead\r\n"
            };
            session.get_mut().write_all(reply).await.ok()?;
            return Some(true);
        } else if command == "QUIT" {
            session.get_mut().write_all(b"221 bye\r\n").await.ok()?;
            return Some(false);
        } else {
            b"500 unknown command\r\n"
        };
        session.get_mut().write_all(reply).await.ok()?;
    }
}

fn smtp_check(port: u16, change: impl FnOnce(&mut SmtpCheck)) -> CheckSpec {
    let mut check = SmtpCheck {
        port,
        ehlo_name: "checker.example.test".to_owned(),
        starttls: false,
        tls_verify: true,
        tls_server_name: Some("localhost".to_owned()),
        tls_ca_file: None,
        expiry_warning_days: None,
    };
    change(&mut check);
    CheckSpec::Smtp(check)
}

async fn run(check: CheckSpec, timeout: Duration) -> Outcome {
    checker_with(V4, check, timeout, &TlsContexts::new())
        .check()
        .await
}

fn starttls_with(pki: &Pki) -> impl FnOnce(&mut SmtpCheck) + '_ {
    |check| {
        check.starttls = true;
        check.tls_ca_file = Some(pki.ca_file.path().to_owned());
    }
}

#[tokio::test]
async fn a_plain_conversation_passes() {
    let server = smtp_server(Behaviour::Correct, None).await;
    let outcome = run(smtp_check(server.port(), |_| {}), GENEROUS).await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "220 mx.example.test ESMTP test server");
}

#[tokio::test]
async fn starttls_with_a_verified_certificate_passes() {
    let pki = pki::issue(&["localhost"]);
    let server = smtp_server(Behaviour::Correct, Some(pki.acceptor.clone())).await;
    let outcome = run(smtp_check(server.port(), starttls_with(&pki)), GENEROUS).await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "220 mx.example.test ESMTP test server, STARTTLS TLSv1_3"
    );
    assert!(outcome.certificate_expires.is_some());
}

#[tokio::test]
async fn starttls_with_an_untrusted_certificate_fails() {
    let pki = pki::issue(&["localhost"]);
    let server = smtp_server(Behaviour::Correct, Some(pki.acceptor.clone())).await;
    let check = smtp_check(server.port(), |check| check.starttls = true);
    let outcome = run(check, GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "TLS: invalid peer certificate: UnknownIssuer"
    );
}

#[tokio::test]
async fn a_server_without_starttls_fails_when_it_is_required() {
    let pki = pki::issue(&["localhost"]);
    let server = smtp_server(Behaviour::NoStartTls, Some(pki.acceptor.clone())).await;
    let outcome = run(smtp_check(server.port(), starttls_with(&pki)), GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "does not offer STARTTLS (its EHLO reply: mx.example.test; SIZE 10240000)"
    );
}

#[tokio::test]
async fn data_injected_before_the_handshake_is_refused() {
    let pki = pki::issue(&["localhost"]);
    let server = smtp_server(Behaviour::InjectsAfterStartTls, Some(pki.acceptor.clone())).await;
    let outcome = run(smtp_check(server.port(), starttls_with(&pki)), GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "sent data after its STARTTLS reply, before the TLS handshake"
    );
}

#[tokio::test]
async fn a_refusing_greeting_fails() {
    let server = smtp_server(Behaviour::Refusing, None).await;
    let outcome = run(smtp_check(server.port(), |_| {}), GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "answered the greeting with 554 mx.example.test no service here, expected 220"
    );
}

#[tokio::test]
async fn a_server_that_stops_answering_times_out() {
    let server = smtp_server(Behaviour::HangsAfterGreeting, None).await;
    let outcome = run(
        smtp_check(server.port(), |_| {}),
        Duration::from_millis(300),
    )
    .await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "timed out after 300ms waiting for the response"
    );
}

#[tokio::test]
async fn something_that_is_not_smtp_fails() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        }
    });
    let outcome = run(smtp_check(port, |_| {}), GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "sent something that is not an SMTP reply: SSH-2.0-OpenSSH_9.2"
    );
}

/// Python's `smtpd` (in the standard library up to 3.11, Debian bookworm's).
struct PythonSmtpd {
    child: Child,
    port: u16,
}

impl PythonSmtpd {
    /// Starts it on a free loopback port, or `None` when this Python has no smtpd.
    fn start() -> Option<PythonSmtpd> {
        let probe = Command::new("python3")
            .args(["-W", "ignore", "-c", "import smtpd"])
            .status()
            .ok()?;
        if !probe.success() {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args(["-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "smtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(PythonSmtpd { child, port })
    }
}

impl Drop for PythonSmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn pythons_smtp_server_passes_and_fails_once_stopped() {
    let Some(mut smtpd) = PythonSmtpd::start() else {
        assert!(
            std::env::var("CI").is_err(),
            "python3 with smtpd is needed in CI (Debian bookworm's python3 has it)"
        );
        eprintln!("SKIPPED: python3 has no smtpd module");
        return;
    };
    let port = smtpd.port;
    let outcome = run(smtp_check(port, |_| {}), GENEROUS).await;
    assert!(outcome.healthy, "{outcome}");
    assert!(outcome.detail.starts_with("220 "), "{}", outcome.detail);
    let _ = smtpd.child.kill();
    let _ = smtpd.child.wait();
    let outcome = run(smtp_check(port, |_| {}), GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "connection refused");
}
