//! A `tls` check with an expiry warning, run by the real binary against TLS
//! servers whose certificate expires in five days, with a real BIND: the
//! warning is logged and sent once per address, and the expiry time is in
//! `/metrics` and `/status`, while the record stays where it is.

// Only part of the client is used here.
#[allow(dead_code)]
#[path = "observe/client.rs"]
mod client;
#[path = "observe/exposition.rs"]
mod exposition;
#[macro_use]
mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use support::{common_port, wait_until, Lab, ServerKind, WebhookMode, WebhookReceiver, WEB1, WEB2};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const DEADLINE: Duration = Duration::from_secs(20);

/// A CA (as PEM) and an acceptor whose certificate for `localhost`, issued
/// by it, expires at `not_after`.
fn pki(not_after: time::OffsetDateTime) -> (String, TlsAcceptor) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = not_after - time::Duration::days(90);
    params.not_after = not_after;
    let certificate = params.signed_by(&key, &ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (ca.pem(), TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TLS connections at `address` and holds each until the client closes it.
async fn serve_tls(address: SocketAddr, acceptor: TlsAcceptor) {
    let listener = TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut stream) = acceptor.accept(stream).await {
                    let mut buffer = [0u8; 256];
                    while let Ok(n) = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer).await
                    {
                        if n == 0 {
                            break;
                        }
                    }
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_certificate_is_reported_once_per_address() {
    let lab = Lab::start(ServerKind::Bind, WEB1).await;
    let webs: Vec<IpAddr> = [WEB1, WEB2].iter().map(|a| a.parse().unwrap()).collect();
    let port = common_port(&webs).await;
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let not_after = now + time::Duration::days(5);
    let (ca_pem, acceptor) = pki(not_after);
    for web in [WEB1, WEB2] {
        serve_tls(
            SocketAddr::new(web.parse().unwrap(), port),
            acceptor.clone(),
        )
        .await;
    }
    let ca_file = lab.dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let hook = WebhookReceiver::start(WebhookMode::Accept).await;
    let check = format!(
        "{{ type: tls, port: {port}, tls_server_name: localhost, tls_ca_file: {}, expiry_warning_days: 14 }}",
        ca_file.display()
    );
    let extra = format!(
        "http:\n  listen: 0\nnotify:\n  webhooks:\n    - url: \"{}\"\n",
        hook.url()
    );
    let agent = lab.agent(&lab.config(&check, &extra));
    let address = agent.listener_address(DEADLINE);

    let certificate_events = || {
        hook.bodies()
            .into_iter()
            .filter(|body| body["event"] == "certificate_expiring")
            .collect::<Vec<_>>()
    };
    wait_until(
        DEADLINE,
        || certificate_events().len() >= 2,
        || {
            format!(
                "two certificate events; got {:?}\n{}",
                hook.bodies(),
                agent.log()
            )
        },
    );
    let metrics = || exposition::parse(&client::get(address, "/metrics")).unwrap();
    let expiry = |server: &str, web: &str| {
        let labels = [
            ("record", "www.example.test."),
            ("server", server),
            ("address", web),
        ];
        metrics().value("dnsfailover_certificate_expiry_timestamp_seconds", &labels)
    };
    let expected = Some(not_after.unix_timestamp() as f64);
    wait_until(
        DEADLINE,
        || expiry("web1", WEB1) == expected && expiry("web2", WEB2) == expected,
        || client::get(address, "/metrics"),
    );
    // Many more checks pass (interval 200 ms) without another event.
    std::thread::sleep(Duration::from_millis(1000));
    let bodies = certificate_events();
    assert_eq!(bodies.len(), 2, "{:?}", hook.bodies());
    let mut servers: Vec<&str> = bodies
        .iter()
        .map(|body| {
            assert_eq!(body["event"], "certificate_expiring", "{body}");
            assert_eq!(body["record"], "www.example.test.", "{body}");
            let reason = body["reason"].as_str().unwrap();
            assert!(
                reason.starts_with("the certificate expires in 4 day(s)"),
                "{reason}"
            );
            body["server"].as_str().unwrap()
        })
        .collect();
    servers.sort_unstable();
    assert_eq!(servers, ["web1", "web2"]);
    let log = agent.log();
    assert_eq!(log.matches("within the 14-day warning").count(), 2, "{log}");

    let status: Value = serde_json::from_str(&client::get(address, "/status")).unwrap();
    let last_check = &status["records"][0]["servers"][0]["addresses"][0]["last_check"];
    assert_eq!(last_check["passed"], true, "{status}");
    assert!(
        last_check["certificate_expires"].is_string(),
        "{last_check}"
    );
    assert_eq!(lab.www(), vec![WEB1.to_owned()], "the record stays on web1");
}
