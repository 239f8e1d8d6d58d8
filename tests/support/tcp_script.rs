//! A nameserver over TCP that misbehaves byte by byte: for every request
//! a test's script lists what to do on the connection (send these bytes,
//! pause, reset, close), which the message-level responder in
//! `scripted.rs` cannot express. Like it, it knows no DNS itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One thing the responder does on the connection.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes (a length prefix is not added).
    Send(Vec<u8>),
    /// Wait this long before the next step.
    Pause(Duration),
    /// Reset the connection (RST, by closing with a zero linger).
    Reset,
    /// Close the connection (FIN).
    Close,
}

/// Decides the steps for one request.
pub type TcpScript = Arc<dyn Fn(&[u8]) -> Vec<Step> + Send + Sync>;

/// `answer` with its two-byte length prefix, as DNS over TCP frames it.
pub fn framed(answer: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(answer.len())
        .expect("an answer fits a length prefix")
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(answer);
    out
}

/// Sends `bytes` one at a time, `pause` apart.
pub fn trickle(bytes: &[u8], pause: Duration) -> Vec<Step> {
    bytes
        .iter()
        .flat_map(|byte| [Step::Send(vec![*byte]), Step::Pause(pause)])
        .collect()
}

/// Serves `script` on 127.0.0.1 until the test's runtime ends; returns the
/// address. After the steps of a request the connection stays open for the
/// next request, unless a step ended it.
pub async fn serve_tcp_script(script: TcpScript) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_connection(stream, script.clone()));
        }
    });
    address
}

async fn serve_connection(mut stream: TcpStream, script: TcpScript) {
    while let Ok(len) = stream.read_u16().await {
        let mut request = vec![0u8; usize::from(len)];
        if stream.read_exact(&mut request).await.is_err() {
            return;
        }
        for step in script(&request) {
            match step {
                Step::Send(bytes) => {
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Step::Pause(pause) => tokio::time::sleep(pause).await,
                Step::Reset => {
                    let _ = stream.set_zero_linger();
                    return;
                }
                Step::Close => return,
            }
        }
    }
}
