//! Webhooks: each event as a JSON POST, retried with doubling pauses.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::queue::DropQueue;
use crate::check::{CheckSetupError, TlsContexts};
use crate::config::{HttpScheme, Webhook};
use crate::event::Event;

/// The first pause before a retry; it doubles up to [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two attempts.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);
/// How much of an answer's body is read (and thrown away).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The User-Agent of every POST.
const USER_AGENT_VALUE: &str = concat!("dnsfailover/", env!("CARGO_PKG_VERSION"));

/// One webhook, ready to post.
pub struct WebhookSender {
    config: Webhook,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    host_header: HeaderValue,
}

impl WebhookSender {
    /// Prepares the webhook; fails when its TLS settings cannot work.
    pub fn new(config: &Webhook, contexts: &TlsContexts) -> Result<WebhookSender, CheckSetupError> {
        let url = &config.url;
        let tls = match url.scheme {
            HttpScheme::Http => None,
            HttpScheme::Https => Some((
                TlsConnector::from(contexts.client_config(true, config.tls_ca_file.as_deref())?),
                crate::check::tls_server_name(None, &url.host)?,
            )),
        };
        let host = if url.host.contains(':') {
            format!("[{}]:{}", url.host, url.port)
        } else {
            format!("{}:{}", url.host, url.port)
        };
        let host_header =
            HeaderValue::from_str(&host).map_err(|_| CheckSetupError::Host { host })?;
        Ok(WebhookSender {
            config: config.clone(),
            tls,
            host_header,
        })
    }

    /// The URL without its query, for logs.
    pub fn name(&self) -> String {
        self.config.url.redacted()
    }

    /// Posts the events of `queue` in order until it is closed and empty.
    pub async fn run(self, queue: Arc<DropQueue<Arc<Event>>>) {
        while let Some(event) = queue.pop().await {
            self.deliver(&event).await;
        }
    }

    /// Posts one event, retrying; logs the outcome.
    async fn deliver(&self, event: &Event) {
        let body = Bytes::from(serde_json::to_vec(event).expect("an event serializes"));
        let mut pause = FIRST_RETRY_PAUSE;
        for attempt in 0..=self.config.retries {
            match tokio::time::timeout(self.config.timeout, self.post(body.clone())).await {
                Ok(Ok(())) => {
                    tracing::debug!(webhook = %self.name(), event = event.event.as_str(), "webhook {} received the {} event", self.name(), event.event.as_str());
                    return;
                }
                Ok(Err(problem)) => self.log_failure(event, attempt, &problem),
                Err(_) => self.log_failure(
                    event,
                    attempt,
                    &format!("no answer within {:?}", self.config.timeout),
                ),
            }
            if attempt < self.config.retries {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
        }
    }

    fn log_failure(&self, event: &Event, attempt: u32, problem: &str) {
        let name = self.name();
        let kind = event.event.as_str();
        if attempt < self.config.retries {
            tracing::warn!(webhook = %name, event = kind, "webhook {name} did not take the {kind} event (attempt {}): {problem}; trying again", attempt + 1);
        } else {
            tracing::error!(webhook = %name, event = kind, "webhook {name} did not take the {kind} event after {} attempts: {problem}; giving up on this event", attempt + 1);
        }
    }

    /// One POST; `Ok` on a 2xx answer.
    async fn post(&self, body: Bytes) -> Result<(), String> {
        let url = &self.config.url;
        let stream = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|error| format!("cannot connect: {error}"))?;
        match &self.tls {
            None => self.exchange(stream, body).await,
            Some((connector, server_name)) => {
                let stream = connector
                    .connect(server_name.clone(), stream)
                    .await
                    .map_err(|error| format!("TLS: {error}"))?;
                self.exchange(stream, body).await
            }
        }
    }

    async fn exchange<S>(&self, stream: S, body: Bytes) -> Result<(), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|error| format!("HTTP: {error}"))?;
        let connection = tokio::spawn(connection);
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.config.url.path_and_query.as_str())
            .header(HOST, self.host_header.clone())
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|error| format!("cannot build the request: {error}"))?;
        let answer = sender.send_request(request).await;
        let result = match answer {
            Ok(response) => {
                let status = response.status();
                // Read a bounded part of the answer so the server can finish.
                let _ = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                    .collect()
                    .await;
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("answered {status}"))
                }
            }
            Err(error) => Err(format!("HTTP: {error}")),
        };
        connection.abort();
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::config::WebhookUrl;
    use crate::event::EventKind;
    use crate::snapshot::Timestamp;

    /// A server that answers 503 to the first `failures` requests, then 204;
    /// returns its port and the count of requests.
    async fn flaky(failures: usize) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = vec![0u8; 65536];
                let _ = stream.read(&mut buffer).await;
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let answer: &[u8] = if n < failures {
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"
                } else {
                    b"HTTP/1.1 204 No Content\r\n\r\n"
                };
                let _ = stream.write_all(answer).await;
            }
        });
        (port, count)
    }

    fn webhook(port: u16, retries: u32) -> WebhookSender {
        let config = Webhook {
            url: WebhookUrl {
                scheme: HttpScheme::Http,
                host: "127.0.0.1".into(),
                port,
                path_and_query: "/hook".into(),
            },
            timeout: Duration::from_secs(2),
            retries,
            tls_ca_file: None,
        };
        WebhookSender::new(
            &config,
            &TlsContexts::with_roots(rustls::RootCertStore::empty()),
        )
        .unwrap()
    }

    fn event() -> Event {
        Event::new(
            EventKind::AllDown,
            "all down".into(),
            "every server is down".into(),
            Timestamp::now(),
            "test",
        )
    }

    #[tokio::test]
    async fn a_failed_post_is_retried() {
        let (port, count) = flaky(1).await;
        webhook(port, 2).deliver(&event()).await;
        assert_eq!(count.load(Ordering::SeqCst), 2, "503, then 204");
    }

    #[tokio::test]
    async fn retries_stop_at_the_configured_count() {
        let (port, count) = flaky(10).await;
        webhook(port, 0).deliver(&event()).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_sink_never_waits_for_a_stuck_destination() {
        // Nothing takes from the queue: emitting still returns at once and
        // the oldest events make room.
        let queue = Arc::new(DropQueue::new(10));
        let sink = crate::notify::EventSink::with_queues(vec![("stuck".into(), queue.clone())]);
        for _ in 0..1000 {
            sink.emit(event());
        }
        assert_eq!(queue.len(), 10);
        assert_eq!(sink.dropped(), 990);
    }
}
