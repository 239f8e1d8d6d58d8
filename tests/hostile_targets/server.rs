//! Hostile check targets: blocking servers on loopback, each on a thread of its
//! own, that answer every connection with the same misbehaviour and count
//! what they manage to send.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

/// How a target answers.
#[derive(Clone, Copy)]
pub enum Misbehaviour {
    /// `200 OK` announcing a body of this many bytes, all sent.
    HugeBody(usize),
    /// A status line, then header lines without end.
    EndlessHeaders,
    /// A status line, then one header line that never ends.
    EndlessHeaderLine,
    /// `301 Moved Permanently` to the path that was asked for.
    RedirectToItself,
}

/// Bytes one hostile answer may send at most, so that a client which keeps
/// reading cannot make a test run for ever.
const SEND_LIMIT: usize = 64 * 1024 * 1024;

/// A running hostile target.
pub struct Hostile {
    pub address: SocketAddr,
    sent: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Hostile {
    /// Starts a target on 127.0.0.1, port 0.
    pub fn start(misbehaviour: Misbehaviour) -> Hostile {
        Hostile::start_with(misbehaviour, None)
    }

    /// Starts a target that speaks TLS with `tls` first.
    pub fn start_with(
        misbehaviour: Misbehaviour,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Hostile {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let sent = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (sent_by_server, requests_seen) = (sent.clone(), requests.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (sent, requests, tls) =
                    (sent_by_server.clone(), requests_seen.clone(), tls.clone());
                thread::spawn(move || serve(stream, misbehaviour, tls, &sent, &requests));
            }
        });
        Hostile {
            address,
            sent,
            requests,
        }
    }

    /// Bytes of answers written into the socket so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    /// Request heads received so far, over all connections.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(
    stream: TcpStream,
    misbehaviour: Misbehaviour,
    tls: Option<Arc<rustls::ServerConfig>>,
    sent: &AtomicUsize,
    requests: &AtomicUsize,
) {
    match tls {
        None => answer(stream, misbehaviour, sent, requests),
        Some(config) => {
            let Ok(connection) = rustls::ServerConnection::new(config) else {
                return;
            };
            let stream = rustls::StreamOwned::new(connection, stream);
            answer(stream, misbehaviour, sent, requests);
        }
    }
}

/// Reads request heads and answers each with the misbehaviour, until the
/// client goes away.
fn answer<S: Read + Write>(
    mut stream: S,
    misbehaviour: Misbehaviour,
    sent: &AtomicUsize,
    requests: &AtomicUsize,
) {
    while let Some(head) = read_head(&mut stream) {
        requests.fetch_add(1, Ordering::SeqCst);
        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
        let (head, filler): (String, &[u8]) = match misbehaviour {
            Misbehaviour::HugeBody(total) => (
                format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n"),
                &[b'x'; 1024],
            ),
            Misbehaviour::EndlessHeaders => {
                ("HTTP/1.1 200 OK\r\n".to_owned(), b"X-Filler: xxxxxxxx\r\n")
            }
            Misbehaviour::EndlessHeaderLine => {
                ("HTTP/1.1 200 OK\r\nX-Filler: ".to_owned(), &[b'x'; 1024])
            }
            Misbehaviour::RedirectToItself => (
                format!(
                    "HTTP/1.1 301 Moved Permanently\r\nLocation: {path}\r\nContent-Length: 0\r\n\r\n"
                ),
                b"",
            ),
        };
        if !send(&mut stream, head.as_bytes(), sent) {
            return;
        }
        let budget = match misbehaviour {
            Misbehaviour::HugeBody(total) => total,
            Misbehaviour::RedirectToItself => 0,
            _ => SEND_LIMIT,
        };
        let mut written = 0;
        while written < budget {
            let chunk = &filler[..filler.len().min(budget - written)];
            if !send(&mut stream, chunk, sent) {
                return;
            }
            written += chunk.len();
        }
    }
}

fn send<S: Write>(stream: &mut S, bytes: &[u8], sent: &AtomicUsize) -> bool {
    let ok = stream
        .write_all(bytes)
        .and_then(|()| stream.flush())
        .is_ok();
    if ok {
        sent.fetch_add(bytes.len(), Ordering::SeqCst);
    }
    ok
}

/// One request head, or `None` when the client closed (or it is absurdly long).
fn read_head<S: Read>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}
