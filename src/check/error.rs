//! Why a check could not be set up from its configuration.

use std::io;
use std::path::PathBuf;

/// A check's configuration that cannot be turned into a working check.
///
/// These are found once, when the [`super::Checker`] is built, never during a check.
#[derive(Debug, thiserror::Error)]
pub enum CheckSetupError {
    /// The `tls_ca_file` could not be read.
    #[error("tls_ca_file {}: cannot read it: {source}; make it readable by the agent or remove the option", path.display())]
    CaFileUnreadable {
        /// The configured path.
        path: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
    /// The `tls_ca_file` holds no usable certificate.
    #[error("tls_ca_file {}: {problem}; it must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----)", path.display())]
    CaFileInvalid {
        /// The configured path.
        path: PathBuf,
        /// What is wrong with its content.
        problem: String,
    },
    /// The name for TLS (`tls_server_name`, or the Host value) is neither a DNS name nor an IP address.
    #[error("TLS server name {name:?} is neither a DNS name nor an IP address; set tls_server_name to the name the certificate is issued for")]
    ServerName {
        /// The offending name.
        name: String,
    },
    /// The `host` value cannot be sent as an HTTP header.
    #[error("host {host:?} cannot be sent as an HTTP Host header; use a plain host name, optionally with :port")]
    Host {
        /// The offending value.
        host: String,
    },
    /// The `path` is not a valid request target.
    #[error(
        "path {path:?} is not a valid HTTP request path; write it like /health or /status?full=1"
    )]
    Path {
        /// The offending value.
        path: String,
    },
}
