//! HTTP and HTTPS checks: one GET on a fresh connection, judged by status and body.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, CONNECTION, HOST, USER_AGENT};
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;

use super::body;
use super::error::CheckSetupError;
use super::outcome::Step;
use super::passed::Passed;
use super::tcp;
use super::tls::{self, TlsContexts};
use super::tls_probe;
use super::watch::{HttpConnection, KeptConnection};
use crate::config::{HttpCheck, HttpScheme, MAX_BODY_BYTES};

/// The User-Agent of every check, so operators can tell checks apart in access logs.
const USER_AGENT_VALUE: &str = concat!("dnsfailover/", env!("CARGO_PKG_VERSION"));

/// An HTTP(S) check prepared from its configuration: everything that can be
/// validated or built ahead of time is, so a check does only network work.
pub(crate) struct HttpProbe {
    port: u16,
    path: Uri,
    host: HeaderValue,
    tls: Option<TlsTarget>,
    expect_status: Vec<u16>,
    expect_body: Option<String>,
}

/// How an HTTPS check starts TLS.
struct TlsTarget {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

/// What the response said, when it passed.
struct Verdict {
    detail: String,
    /// The server will keep the connection open and nothing of the answer is left unread.
    reusable: bool,
}

impl HttpProbe {
    /// Prepares the check; `default_host` is used when the check names no host.
    pub(crate) fn new(
        spec: &HttpCheck,
        default_host: &str,
        contexts: &TlsContexts,
    ) -> Result<HttpProbe, CheckSetupError> {
        let host_text = spec.host.as_deref().unwrap_or(default_host);
        let host = HeaderValue::from_str(host_text).map_err(|_| CheckSetupError::Host {
            host: host_text.to_owned(),
        })?;
        let tls = match spec.scheme {
            HttpScheme::Http => None,
            HttpScheme::Https => Some(TlsTarget {
                connector: TlsConnector::from(
                    contexts.client_config(spec.tls_verify, spec.tls_ca_file.as_deref())?,
                ),
                server_name: tls::server_name(spec.tls_server_name.as_deref(), host_text)?,
            }),
        };
        Ok(HttpProbe {
            port: spec.port,
            path: parse_path(&spec.path)?,
            host,
            tls,
            expect_status: spec.expect_status.clone(),
            expect_body: spec.expect_body.clone(),
        })
    }

    /// Runs one check against `address`, keeping `step` up to date for the
    /// caller's timeout message. The caller bounds the time.
    pub(crate) async fn run(&self, address: IpAddr, step: &mut Step) -> Result<Passed, String> {
        *step = Step::Connecting;
        let stream = tcp::connect(SocketAddr::new(address, self.port), tcp::Then::Talk).await?;
        let Some(tls) = &self.tls else {
            return self.exchange(stream, step).await;
        };
        *step = Step::TlsHandshake;
        let stream = tls_probe::handshake(&tls.connector, &tls.server_name, stream).await?;
        let certificate_expires = tls_probe::peer_certificate_expiry(&stream);
        let mut passed = self.exchange(stream, step).await?;
        passed.certificate_expires = certificate_expires;
        Ok(passed)
    }

    /// Speaks HTTP/1.1 over an open stream.
    pub(super) async fn exchange<S>(&self, stream: S, step: &mut Step) -> Result<Passed, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|error| format!("HTTP: {error}"))?;
        self.converse(sender, Box::pin(connection), step).await
    }

    /// Sends the request and judges the answer while driving the connection;
    /// keeps the connection when the answer passed and it can stay open.
    async fn converse(
        &self,
        mut sender: SendRequest<Empty<Bytes>>,
        mut connection: HttpConnection,
        step: &mut Step,
    ) -> Result<Passed, String> {
        let mut connection_ended = false;
        let verdict = {
            let judged = self.request_and_judge(&mut sender, step);
            tokio::pin!(judged);
            tokio::select! {
                verdict = &mut judged => verdict,
                // The connection ended first; hyper hands its error to the request.
                _ = &mut connection => {
                    connection_ended = true;
                    judged.await
                }
            }
        }?;
        let kept = (verdict.reusable && !connection_ended).then(|| KeptConnection::Http {
            _sender: sender,
            connection,
        });
        Ok(Passed {
            detail: verdict.detail,
            kept,
            certificate_expires: None,
        })
    }

    /// Sends the GET, then checks status and body.
    async fn request_and_judge(
        &self,
        sender: &mut SendRequest<Empty<Bytes>>,
        step: &mut Step,
    ) -> Result<Verdict, String> {
        *step = Step::AwaitingResponse;
        let response = sender
            .send_request(self.request())
            .await
            .map_err(|error| format!("HTTP: {error}"))?;
        let status = response.status();
        if !self.expect_status.contains(&status.as_u16()) {
            return Err(format!(
                "status {} not in {:?}",
                status.as_u16(),
                self.expect_status
            ));
        }
        let keep_alive = keeps_alive(&response);
        *step = Step::ReadingBody;
        let body = body::read_prefix(response.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|error| format!("HTTP: reading the body: {error}"))?;
        if let Some(expected) = &self.expect_body {
            if !body::contains(&body.bytes, expected.as_bytes()) {
                return Err(format!("body does not contain {expected:?}"));
            }
        }
        Ok(Verdict {
            detail: describe_status(status),
            reusable: keep_alive && body.complete,
        })
    }

    /// The GET request of one check.
    fn request(&self) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = self.path.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        request
    }
}

/// Parses the configured path as an origin-form request target (`/health?x=1`).
fn parse_path(path: &str) -> Result<Uri, CheckSetupError> {
    let invalid = || CheckSetupError::Path {
        path: path.to_owned(),
    };
    if !path.starts_with('/') {
        return Err(invalid());
    }
    let uri: Uri = path.parse().map_err(|_| invalid())?;
    if uri.scheme().is_some() || uri.authority().is_some() {
        return Err(invalid());
    }
    Ok(uri)
}

/// Whether the server leaves the connection open after this response
/// (RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`).
fn keeps_alive<B>(response: &Response<B>) -> bool {
    let mut close = false;
    let mut keep_alive = false;
    let tokens = response
        .headers()
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    for token in tokens {
        close |= token.eq_ignore_ascii_case("close");
        keep_alive |= token.eq_ignore_ascii_case("keep-alive");
    }
    !close && (response.version() != Version::HTTP_10 || keep_alive)
}

/// `200 OK`, or just the code when it has no standard reason phrase.
fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(version: Version, connection: Option<&'static str>) -> Response<()> {
        let mut response = Response::new(());
        *response.version_mut() = version;
        if let Some(value) = connection {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static(value));
        }
        response
    }

    #[test]
    fn http11_persists_unless_close() {
        assert!(keeps_alive(&response(Version::HTTP_11, None)));
        assert!(keeps_alive(&response(Version::HTTP_11, Some("keep-alive"))));
        assert!(!keeps_alive(&response(Version::HTTP_11, Some("Close"))));
        assert!(!keeps_alive(&response(
            Version::HTTP_11,
            Some("upgrade, close")
        )));
    }

    #[test]
    fn http10_persists_only_with_keep_alive() {
        assert!(!keeps_alive(&response(Version::HTTP_10, None)));
        assert!(keeps_alive(&response(Version::HTTP_10, Some("Keep-Alive"))));
    }

    #[test]
    fn paths_must_be_origin_form() {
        assert_eq!(parse_path("/health?full=1").unwrap(), "/health?full=1");
        for bad in ["health", "http://example.test/health", "/with space", ""] {
            let error = parse_path(bad).unwrap_err();
            assert!(error.to_string().contains("path"), "{bad}: {error}");
        }
    }

    #[test]
    fn status_is_described_with_its_reason() {
        assert_eq!(describe_status(StatusCode::OK), "200 OK");
        assert_eq!(describe_status(StatusCode::from_u16(599).unwrap()), "599");
    }
}
