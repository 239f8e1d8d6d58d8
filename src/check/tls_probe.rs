//! The `tls` check: a TCP connection and a TLS handshake, verified unless
//! configured otherwise, whatever protocol runs on top.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::certificate;
use super::error::CheckSetupError;
use super::outcome::Step;
use super::passed::Passed;
use super::tcp::{self, describe_io_error};
use super::tls::{self, TlsContexts};
use super::watch::KeptConnection;
use crate::config::TlsCheck;

/// A prepared `tls` check.
pub(crate) struct TlsProbe {
    port: u16,
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl TlsProbe {
    /// Prepares the check; `default_name` is the server name when the check
    /// names none (the record's name).
    pub(crate) fn new(
        spec: &TlsCheck,
        default_name: &str,
        contexts: &TlsContexts,
    ) -> Result<TlsProbe, CheckSetupError> {
        let config = contexts.client_config(spec.tls_verify, spec.tls_ca_file.as_deref())?;
        // Any protocol may run on top: offer none by ALPN, so a server that
        // insists on its own does not refuse the handshake.
        let mut config = rustls::ClientConfig::clone(&config);
        config.alpn_protocols.clear();
        Ok(TlsProbe {
            port: spec.port,
            connector: TlsConnector::from(Arc::new(config)),
            server_name: tls::server_name(spec.tls_server_name.as_deref(), default_name)?,
        })
    }

    /// Connects and shakes hands with `address`; the caller bounds the time.
    pub(crate) async fn run(&self, address: IpAddr, step: &mut Step) -> Result<Passed, String> {
        *step = Step::Connecting;
        let stream = tcp::connect(SocketAddr::new(address, self.port), tcp::Then::Talk).await?;
        *step = Step::TlsHandshake;
        let stream = handshake(&self.connector, &self.server_name, stream).await?;
        let certificate_expires = peer_certificate_expiry(&stream);
        let protocol = stream
            .get_ref()
            .1
            .protocol_version()
            .and_then(|version| version.as_str())
            .unwrap_or("TLS");
        let detail = format!("{protocol} handshake completed");
        // Keep the TCP connection: the server's kernel closes it if it dies.
        let (tcp, _) = stream.into_inner();
        Ok(Passed {
            detail,
            kept: Some(KeptConnection::Tcp(tcp)),
            certificate_expires,
        })
    }
}

/// The TLS handshake over `stream`; the error is a detail for the outcome.
pub(crate) async fn handshake(
    connector: &TlsConnector,
    server_name: &ServerName<'static>,
    stream: TcpStream,
) -> Result<TlsStream<TcpStream>, String> {
    connector
        .connect(server_name.clone(), stream)
        .await
        .map_err(|error| format!("TLS: {}", describe_io_error(&error)))
}

/// When the certificate the server presented expires, if it presented one
/// that can be read.
pub(crate) fn peer_certificate_expiry<S>(stream: &TlsStream<S>) -> Option<SystemTime> {
    let certificates = stream.get_ref().1.peer_certificates()?;
    certificate::not_after(certificates.first()?.as_ref())
}
