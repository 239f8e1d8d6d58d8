//! A scripted nameserver on a loopback port: for every request it receives,
//! a test's handler decides the replies, sent in order (none, one, or a
//! forgery followed by the genuine answer, as an attacker racing the server
//! would). It knows no DNS itself; tests build the replies.

use std::net::SocketAddr;
use std::sync::Arc;

use dnsfailover::vocabulary::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Decides the replies to one request.
pub type Handler = Arc<dyn Fn(&[u8]) -> Vec<Vec<u8>> + Send + Sync>;

/// Serves `handler` over `transport` on 127.0.0.1 until the test's runtime
/// ends; returns the address.
pub async fn serve_scripted(transport: Transport, handler: Handler) -> SocketAddr {
    match transport {
        Transport::Udp => serve_udp(handler).await,
        Transport::Tcp => serve_tcp(handler).await,
    }
}

async fn serve_udp(handler: Handler) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 65_535];
        while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
            for reply in handler(&buffer[..len]) {
                if socket.send_to(&reply, peer).await.is_err() {
                    break;
                }
            }
        }
    });
    address
}

async fn serve_tcp(handler: Handler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                while let Ok(len) = stream.read_u16().await {
                    let mut request = vec![0u8; usize::from(len)];
                    if stream.read_exact(&mut request).await.is_err() {
                        return;
                    }
                    for reply in handler(&request) {
                        let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                        framed.extend_from_slice(&reply);
                        if stream.write_all(&framed).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    address
}
