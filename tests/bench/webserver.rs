//! The `serve-http ADDRESS:PORT` child: a minimal HTTP/1.1 server with
//! keep-alive, answering every request with `200 ok`.
//!
//! It prints `listening` once bound and `request MICROS` (wall clock, in
//! microseconds since the Unix epoch) for every request, so the benchmark
//! knows the phase of the agent's check cycle. It exits when its stdout is
//! closed (the benchmark is gone).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The answer to every request.
const REPLY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

/// Largest request head accepted; more closes the connection.
const MAX_REQUEST: usize = 8192;

/// Serves on `address` until killed.
pub fn main(address: SocketAddr) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let listener = match TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("serve-http: cannot listen on {address}: {error}");
                return ExitCode::FAILURE;
            }
        };
        if say("listening").is_err() {
            return ExitCode::FAILURE;
        }
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(answer(stream));
                }
                Err(error) => eprintln!("serve-http: accept: {error}"),
            }
        }
    })
}

/// Answers requests on one connection until the client closes it.
async fn answer(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        let read = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        request.extend_from_slice(&buffer[..read]);
        if request.len() > MAX_REQUEST {
            return;
        }
        while let Some(end) = head_end(&request) {
            request.drain(..end);
            let micros = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_micros());
            if say(&format!("request {micros}")).is_err() {
                std::process::exit(0);
            }
            if stream.write_all(REPLY).await.is_err() {
                return;
            }
        }
    }
}

/// Where the first request head in `bytes` ends (after its blank line).
fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// One line to the benchmark.
fn say(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}
