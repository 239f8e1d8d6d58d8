//! An in-test webhook receiver on a free loopback port: it keeps the JSON
//! body of every POST, or accepts connections and never answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the receiver behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMode {
    /// Answers 200 and keeps the body.
    Accept,
    /// Reads nothing and never answers.
    Hang,
}

/// A running receiver; stops when dropped.
pub struct WebhookReceiver {
    address: SocketAddr,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    task: JoinHandle<()>,
}

impl WebhookReceiver {
    /// Starts a receiver on 127.0.0.1 and a free port.
    pub async fn start(mode: WebhookMode) -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                match mode {
                    WebhookMode::Hang => held.push(stream),
                    WebhookMode::Accept => {
                        tokio::spawn(serve(stream, kept.clone()));
                    }
                }
            }
        });
        WebhookReceiver {
            address,
            bodies,
            task,
        }
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/hooks/dnsfailover?token=not-logged", self.address)
    }

    /// The bodies received so far, in order.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// The `event` field of every body received so far.
    pub fn events(&self) -> Vec<String> {
        self.bodies()
            .iter()
            .map(|body| body["event"].as_str().unwrap_or("?").to_owned())
            .collect()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (headers, then Content-Length bytes), keeps its body,
/// answers 200.
async fn serve(mut stream: TcpStream, bodies: Arc<Mutex<Vec<serde_json::Value>>>) {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buffer[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if data.len() < end + 4 + length {
            continue;
        }
        let body = &data[end + 4..end + 4 + length];
        if head.starts_with("post ") && head.contains("content-type: application/json") {
            if let Ok(value) = serde_json::from_slice(body) {
                bodies.lock().unwrap().push(value);
            }
        }
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await;
        return;
    }
}
