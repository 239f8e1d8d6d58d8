//! TLS client configurations for HTTPS checks, and the name a check verifies.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use super::accept_any::AcceptAnyCertificate;
use super::error::CheckSetupError;

/// Shared TLS client configurations, built once per process and cloned cheaply.
///
/// Loading the system's trusted roots reads a few hundred files, so it is done
/// here once; every HTTPS check reuses the result.
#[derive(Clone)]
pub struct TlsContexts {
    provider: Arc<CryptoProvider>,
    system_roots: Arc<RootCertStore>,
    verifying: Arc<ClientConfig>,
    accepting_any: Arc<ClientConfig>,
}

impl TlsContexts {
    /// Loads the system's trusted roots and builds the shared configurations.
    ///
    /// Roots that cannot be loaded are logged and skipped: a check whose
    /// certificate cannot be verified then fails with a clear detail.
    pub fn new() -> TlsContexts {
        TlsContexts::with_roots(load_system_roots())
    }

    /// Configurations that trust `roots` instead of the system's roots.
    pub fn with_roots(roots: RootCertStore) -> TlsContexts {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let system_roots = Arc::new(roots);
        let verifying = with_http1_alpn(
            builder(&provider)
                .with_root_certificates(Arc::clone(&system_roots))
                .with_no_client_auth(),
        );
        let accepting_any = with_http1_alpn(
            builder(&provider)
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(Arc::clone(
                    &provider,
                ))))
                .with_no_client_auth(),
        );
        TlsContexts {
            provider,
            system_roots,
            verifying,
            accepting_any,
        }
    }

    /// The configuration for one HTTPS check.
    ///
    /// With `verify` false any certificate is accepted and `ca_file` is not
    /// needed. A `ca_file` adds its certificates to the system roots; the file
    /// is read now, once per check set-up, so a reload picks up a new file.
    pub(crate) fn client_config(
        &self,
        verify: bool,
        ca_file: Option<&Path>,
    ) -> Result<Arc<ClientConfig>, CheckSetupError> {
        match (verify, ca_file) {
            (false, _) => Ok(Arc::clone(&self.accepting_any)),
            (true, None) => Ok(Arc::clone(&self.verifying)),
            (true, Some(path)) => {
                let mut roots = RootCertStore::clone(&self.system_roots);
                for certificate in read_ca_file(path)? {
                    roots
                        .add(certificate)
                        .map_err(|error| CheckSetupError::CaFileInvalid {
                            path: path.to_owned(),
                            problem: format!("a certificate is not a usable CA: {error}"),
                        })?;
                }
                Ok(with_http1_alpn(
                    builder(&self.provider)
                        .with_root_certificates(roots)
                        .with_no_client_auth(),
                ))
            }
        }
    }
}

impl Default for TlsContexts {
    fn default() -> TlsContexts {
        TlsContexts::new()
    }
}

/// A client configuration builder for TLS 1.2 and 1.3 with the ring provider.
fn builder(
    provider: &Arc<CryptoProvider>,
) -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
    ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
}

/// Offers HTTP/1.1 by ALPN, the only protocol the checks speak.
fn with_http1_alpn(mut config: ClientConfig) -> Arc<ClientConfig> {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The operating system's trusted roots; problems are logged, not fatal.
fn load_system_roots() -> RootCertStore {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::warn!(%error, "skipping part of the system's trusted certificates: {error}");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "skipped {ignored} unparsable system root certificates"
        );
    }
    if added == 0 {
        tracing::warn!("no system root certificates found; HTTPS checks with tls_verify will fail unless tls_ca_file is set");
    }
    tracing::debug!(added, "loaded {added} system root certificates");
    roots
}

/// The PEM certificates of a `tls_ca_file`; at least one.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CheckSetupError> {
    let pem = std::fs::read(path).map_err(|source| CheckSetupError::CaFileUnreadable {
        path: path.to_owned(),
        source,
    })?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| CheckSetupError::CaFileInvalid {
            path: path.to_owned(),
            problem: format!("malformed PEM: {error}"),
        })?;
    if certificates.is_empty() {
        return Err(CheckSetupError::CaFileInvalid {
            path: path.to_owned(),
            problem: "no certificate found".to_owned(),
        });
    }
    Ok(certificates)
}

/// The name sent by SNI and verified against the certificate: `tls_server_name`
/// if set, else the Host value without its port. IP literals become
/// [`ServerName::IpAddress`].
pub(crate) fn server_name(
    tls_server_name: Option<&str>,
    host: &str,
) -> Result<ServerName<'static>, CheckSetupError> {
    let name = tls_server_name.unwrap_or_else(|| strip_port(host));
    ServerName::try_from(name.to_owned()).map_err(|_| CheckSetupError::ServerName {
        name: name.to_owned(),
    })
}

/// `example.com:8443` -> `example.com`, `[2001:db8::1]:8443` -> `2001:db8::1`;
/// a bare IPv6 literal is left as it is.
fn strip_port(host: &str) -> &str {
    if let Some(bracketed) = host.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    match host.split_once(':') {
        Some((name, port)) if !port.contains(':') => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_prefers_tls_server_name() {
        let name = server_name(Some("api.example.test"), "www.example.test").unwrap();
        assert_eq!(name.to_str(), "api.example.test");
    }

    #[test]
    fn server_name_drops_the_port_of_the_host() {
        let name = server_name(None, "www.example.test:8443").unwrap();
        assert_eq!(name.to_str(), "www.example.test");
    }

    #[test]
    fn ip_literals_become_ip_server_names() {
        for host in [
            "192.0.2.7",
            "192.0.2.7:443",
            "2001:db8::1",
            "[2001:db8::1]:8443",
        ] {
            let name = server_name(None, host).unwrap();
            assert!(
                matches!(name, ServerName::IpAddress(_)),
                "{host} gave {name:?}"
            );
        }
    }

    #[test]
    fn invalid_server_name_is_a_setup_error() {
        let error = server_name(Some("bad name!"), "x").unwrap_err();
        assert!(error.to_string().contains("tls_server_name"), "{error}");
    }

    #[test]
    fn missing_ca_file_names_the_path() {
        let contexts = TlsContexts::with_roots(RootCertStore::empty());
        let path = Path::new("/nonexistent/ca.pem");
        let error = contexts.client_config(true, Some(path)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
        assert!(message.contains("tls_ca_file"), "{message}");
    }

    #[test]
    fn ca_file_without_certificates_is_rejected() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a certificate\n").unwrap();
        let contexts = TlsContexts::with_roots(RootCertStore::empty());
        let error = contexts.client_config(true, Some(file.path())).unwrap_err();
        assert!(
            error.to_string().contains("no certificate found"),
            "{error}"
        );
    }

    #[test]
    fn ca_file_is_ignored_without_verification() {
        let contexts = TlsContexts::with_roots(RootCertStore::empty());
        let path = Path::new("/nonexistent/ca.pem");
        assert!(contexts.client_config(false, Some(path)).is_ok());
    }
}
