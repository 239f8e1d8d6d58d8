//! Entry point for the HTTP fuzz target in `fuzz/`: what a web server sent,
//! read and judged by a check without a network. Hidden from the docs; not
//! a stable API.

use rustls::RootCertStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::HttpProbe;
use super::outcome::Step;
use super::tls::TlsContexts;
use crate::config::{HttpCheck, HttpScheme};

/// An HTTP check (`GET /health`, expecting 200 or 204 and, optionally, the
/// text `ok` in the body) that reads its answer from memory.
pub struct HttpAnswerJudge {
    probe: HttpProbe,
    runtime: tokio::runtime::Runtime,
}

impl HttpAnswerJudge {
    /// The check; `expect_body` adds the body condition.
    pub fn new(expect_body: bool) -> HttpAnswerJudge {
        let spec = HttpCheck {
            scheme: HttpScheme::Http,
            port: 80,
            path: "/health".into(),
            host: None,
            expect_status: vec![200, 204],
            expect_body: expect_body.then(|| "ok".into()),
            tls_verify: true,
            tls_server_name: None,
            tls_ca_file: None,
            expiry_warning_days: None,
        };
        let contexts = TlsContexts::with_roots(RootCertStore::empty());
        let probe =
            HttpProbe::new(&spec, "www.example.test", &contexts).expect("the fixed check is valid");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        HttpAnswerJudge { probe, runtime }
    }

    /// Runs the check against a server that reads the request, sends
    /// `answer` through a pipe that holds at most `chunk` bytes, and closes
    /// the connection. `Ok`: the check passed, with its detail; `Err`: why
    /// it failed.
    pub fn judge(&self, answer: &[u8], chunk: usize) -> Result<String, String> {
        let answer = answer.to_vec();
        self.runtime.block_on(async {
            let (client, server) = tokio::io::duplex(chunk.max(1));
            let serving = tokio::spawn(serve(server, answer));
            let mut step = Step::Connecting;
            // The detail is taken and the kept connection dropped, which ends
            // the server's writing if the check stopped reading.
            let verdict = self
                .probe
                .exchange(client, &mut step)
                .await
                .map(|passed| passed.detail);
            serving.await.expect("the server task never panics");
            verdict
        })
    }
}

/// Reads the request up to its blank line (at most 4 KiB), then writes
/// `answer` and closes.
async fn serve(mut server: tokio::io::DuplexStream, answer: Vec<u8>) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 512];
    while request.len() < 4096 && !request.ends_with(b"\r\n\r\n") {
        match server.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    if server.write_all(&answer).await.is_ok() {
        let _ = server.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_as_a_check_judges_them_whatever_the_pieces() {
        let plain = HttpAnswerJudge::new(false);
        let with_body = HttpAnswerJudge::new(true);
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nstatus ok";
        let degraded = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndegraded";
        let down = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
        for chunk in [1, 7, 65536] {
            assert_eq!(plain.judge(ok, chunk).unwrap(), "200 OK");
            assert_eq!(with_body.judge(ok, chunk).unwrap(), "200 OK");
            assert_eq!(plain.judge(degraded, chunk).unwrap(), "200 OK");
            let error = with_body.judge(degraded, chunk).unwrap_err();
            assert!(error.contains("body does not contain"), "{error}");
            let error = plain.judge(down, chunk).unwrap_err();
            assert!(error.contains("status 503"), "{error}");
            assert!(plain.judge(b"\x16\x03\x01garbage", chunk).is_err());
        }
    }
}
