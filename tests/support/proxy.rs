//! A proxy in front of a real nameserver that spoils the first UPDATEs it
//! sees, over UDP and TCP on one port: it answers them SERVFAIL itself
//! (signed, as the server would), drops them before they reach the server,
//! forwards them and drops the server's answer, or passes on only the first
//! half of that answer (a truncated datagram; over TCP, half the answer and
//! then a connection reset). Everything else, and
//! every UPDATE after those, is passed through unchanged.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dnsfailover::dns::TsigKey;
use hickory_proto::op::ResponseCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::signed_answer::{is_update, signed_answer};

/// How long the proxy waits for the server's answer to a forwarded request.
const UPSTREAM_WAIT: Duration = Duration::from_secs(5);

/// What happens to a spoiled UPDATE.
#[derive(Clone)]
pub enum Fault {
    /// Not forwarded; answered SERVFAIL, signed with this key.
    ServFail(Arc<TsigKey>),
    /// Not forwarded, not answered: the server never sees it.
    DropRequest,
    /// Forwarded, and the server's answer dropped: applied, answer lost.
    DropAnswer,
    /// Forwarded, and only the first half of the answer passed on; over
    /// TCP the connection is then reset.
    CutAnswer,
}

/// What to do with one request.
enum Action {
    Forward,
    Reply(Vec<u8>),
    DropRequest,
    DropAnswer,
    CutAnswer,
}

struct Shared {
    upstream: SocketAddr,
    fault: Fault,
    state: Mutex<State>,
}

struct State {
    spoil_left: usize,
    updates: Vec<Instant>,
}

/// A running proxy; it lives as long as the test's runtime.
pub struct FaultyProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultyProxy {
    /// Proxies to `upstream`, spoiling the first `spoiled` UPDATEs with `fault`.
    pub async fn start(upstream: SocketAddr, fault: Fault, spoiled: usize) -> FaultyProxy {
        let port = super::free_port();
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        let udp = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).await.unwrap());
        let shared = Arc::new(Shared {
            upstream,
            fault,
            state: Mutex::new(State {
                spoil_left: spoiled,
                updates: Vec::new(),
            }),
        });
        tokio::spawn(serve_udp(udp, shared.clone()));
        tokio::spawn(serve_tcp(tcp, shared.clone()));
        FaultyProxy {
            address: (Ipv4Addr::LOCALHOST, port).into(),
            shared,
        }
    }

    /// Where clients send their requests.
    pub fn addr(&self) -> SocketAddr {
        self.address
    }

    /// When each UPDATE arrived, spoiled or not, in order.
    pub fn updates(&self) -> Vec<Instant> {
        self.shared.state.lock().unwrap().updates.clone()
    }
}

impl Shared {
    fn decide(&self, request: &[u8]) -> Action {
        if !is_update(request) {
            return Action::Forward;
        }
        let mut state = self.state.lock().unwrap();
        state.updates.push(Instant::now());
        if state.spoil_left == 0 {
            return Action::Forward;
        }
        state.spoil_left -= 1;
        match &self.fault {
            Fault::ServFail(key) => {
                Action::Reply(signed_answer(request, key, ResponseCode::ServFail, vec![]))
            }
            Fault::DropRequest => Action::DropRequest,
            Fault::DropAnswer => Action::DropAnswer,
            Fault::CutAnswer => Action::CutAnswer,
        }
    }
}

async fn serve_udp(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut buffer = vec![0u8; 65_535];
    while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
        let request = buffer[..len].to_vec();
        let (socket, shared) = (socket.clone(), shared.clone());
        tokio::spawn(async move {
            let answer = match shared.decide(&request) {
                Action::Forward => forward_udp(shared.upstream, &request).await,
                Action::Reply(answer) => Some(answer),
                Action::DropRequest => None,
                Action::DropAnswer => {
                    let _ = forward_udp(shared.upstream, &request).await;
                    None
                }
                Action::CutAnswer => forward_udp(shared.upstream, &request)
                    .await
                    .map(|answer| answer[..answer.len() / 2].to_vec()),
            };
            if let Some(answer) = answer {
                let _ = socket.send_to(&answer, peer).await;
            }
        });
    }
}

/// One request to the server from a socket of its own; its answer, if any.
async fn forward_udp(upstream: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.ok()?;
    socket.connect(upstream).await.ok()?;
    socket.send(request).await.ok()?;
    let mut answer = vec![0u8; 65_535];
    let len = tokio::time::timeout(UPSTREAM_WAIT, socket.recv(&mut answer))
        .await
        .ok()?
        .ok()?;
    answer.truncate(len);
    Some(answer)
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((downstream, _)) = listener.accept().await {
        tokio::spawn(serve_tcp_connection(downstream, shared.clone()));
    }
}

/// Requests on one client connection, in turn, over one connection to the
/// server; a dropped request or answer leaves the client waiting.
async fn serve_tcp_connection(mut downstream: TcpStream, shared: Arc<Shared>) {
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    while let Ok(request) = read_framed(&mut downstream).await {
        let answer = match shared.decide(&request) {
            Action::Forward => match exchange_tcp(&mut upstream, &request).await {
                Ok(answer) => answer,
                Err(_) => return,
            },
            Action::Reply(answer) => answer,
            Action::DropRequest => continue,
            Action::DropAnswer => {
                let _ = exchange_tcp(&mut upstream, &request).await;
                continue;
            }
            Action::CutAnswer => {
                if let Ok(answer) = exchange_tcp(&mut upstream, &request).await {
                    let framed = super::framed(&answer);
                    let _ = downstream.write_all(&framed[..framed.len() / 2]).await;
                    let _ = downstream.set_zero_linger();
                }
                return;
            }
        };
        if downstream.write_all(&super::framed(&answer)).await.is_err() {
            return;
        }
    }
}

async fn exchange_tcp(upstream: &mut TcpStream, request: &[u8]) -> std::io::Result<Vec<u8>> {
    upstream.write_all(&super::framed(request)).await?;
    tokio::time::timeout(UPSTREAM_WAIT, read_framed(upstream))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

async fn read_framed(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = stream.read_u16().await?;
    let mut message = vec![0u8; usize::from(len)];
    stream.read_exact(&mut message).await?;
    Ok(message)
}
