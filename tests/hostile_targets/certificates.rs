//! Certificates that must not be trusted: self-signed, expired, not yet valid.

use std::sync::Arc;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A server configuration presenting one certificate, and the PEM file of
/// the CA that issued it (`None` for a self-signed certificate).
pub struct Presented {
    pub config: Arc<rustls::ServerConfig>,
    pub ca_file: Option<tempfile::NamedTempFile>,
}

/// The validity of the server certificate.
#[derive(Clone, Copy)]
pub enum Validity {
    /// Valid from 1975 to 4096.
    Current,
    /// Ended on 1 January 2020.
    Expired,
    /// Starts on 1 January 4000.
    NotYetValid,
}

/// A certificate for `localhost` signed by itself.
pub fn self_signed() -> Presented {
    let key = KeyPair::generate().expect("server key");
    let certificate = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server parameters")
        .self_signed(&key)
        .expect("self-signed certificate");
    Presented {
        config: server_config(certificate.der().clone(), &key),
        ca_file: None,
    }
}

/// A certificate for `localhost` with `validity`, issued by a fresh CA whose
/// PEM file is returned for the check to trust.
pub fn issued(validity: Validity) -> Presented {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned()]).expect("server parameters");
    match validity {
        Validity::Current => {}
        Validity::Expired => {
            params.not_before = date_time_ymd(2019, 1, 1);
            params.not_after = date_time_ymd(2020, 1, 1);
        }
        Validity::NotYetValid => {
            params.not_before = date_time_ymd(4000, 1, 1);
            params.not_after = date_time_ymd(4001, 1, 1);
        }
    }
    let key = KeyPair::generate().expect("server key");
    let certificate = params.signed_by(&key, &ca).expect("server certificate");
    let ca_file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(ca_file.path(), ca.pem()).expect("write CA file");
    Presented {
        config: server_config(certificate.der().clone(), &key),
        ca_file: Some(ca_file),
    }
}

fn server_config(
    certificate: rustls::pki_types::CertificateDer<'static>,
    key: &KeyPair,
) -> Arc<rustls::ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .expect("server TLS configuration");
    Arc::new(config)
}
