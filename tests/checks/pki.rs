//! A throw-away certificate authority and server certificate for HTTPS tests.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// A CA (its PEM in a temporary file) and a TLS acceptor presenting a
/// certificate it issued.
pub struct Pki {
    pub ca_file: tempfile::NamedTempFile,
    pub acceptor: TlsAcceptor,
}

/// A fresh CA and a server certificate for `names` (DNS names or IP addresses).
pub fn issue(names: &[&str]) -> Pki {
    let defaults = CertificateParams::default();
    issue_valid(names, defaults.not_before, defaults.not_after)
}

/// Like [`issue`], the server certificate valid from `not_before` to `not_after`.
pub fn issue_valid(
    names: &[&str],
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "dnsfailover test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");

    let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    let server_key = KeyPair::generate().expect("server key");
    let mut server_params = CertificateParams::new(names).expect("server parameters");
    server_params.not_before = not_before;
    server_params.not_after = not_after;
    let server_cert = server_params
        .signed_by(&server_key, &ca)
        .expect("server certificate");

    let ca_file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(ca_file.path(), ca.pem()).expect("write CA file");

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone()], key)
        .expect("server TLS configuration");
    Pki {
        ca_file,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    }
}
