//! Check targets that misbehave on purpose: a 10 MB body, headers that never
//! end, a redirect to itself, certificates that must not be trusted. Each
//! check fails as configured within its timeout, says why, and holds a
//! bounded amount of memory, measured with this binary's counting allocator.
//!
//! A target that accepts and never answers is covered in `tests/checks`
//! (`frozen_server_fails_by_timeout`, `server_that_never_handshakes_fails_by_timeout`),
//! as is a certificate for another name (`certificate_for_another_name_fails`).

mod certificates;
mod meter;
mod server;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use dnsfailover::check::{Checker, Outcome, Target, TargetNames, TlsContexts};
use dnsfailover::config::{CheckSpec, HttpCheck, HttpScheme, MAX_BODY_BYTES};

use certificates::{Presented, Validity};
use server::{Hostile, Misbehaviour};

#[global_allocator]
static GLOBAL: meter::Counting = meter::Counting;

/// The check timeout: far longer than any of these checks may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The most heap one check may hold: the body cap plus hyper's read buffer
/// (at most about 400 KiB) and a margin, far below what the targets send.
const HEAP_LIMIT: usize = 1024 * 1024;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn http_check(target: &Hostile, change: impl FnOnce(&mut HttpCheck)) -> CheckSpec {
    let mut check = HttpCheck {
        scheme: HttpScheme::Http,
        port: target.address.port(),
        path: "/health".to_owned(),
        host: None,
        expect_status: vec![200],
        expect_body: None,
        tls_verify: true,
        tls_server_name: None,
        tls_ca_file: None,
        expiry_warning_days: None,
    };
    change(&mut check);
    CheckSpec::Http(check)
}

/// Runs one check on a current-thread runtime on this thread; returns its
/// outcome and the most heap the check held.
fn check_once(check: CheckSpec) -> (Outcome, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let target = Target {
        address: LOCALHOST,
        check: Arc::new(check),
        default_host: "localhost".to_owned(),
        names: Arc::new(TargetNames {
            record: "localhost.".to_owned(),
            server: "hostile".to_owned(),
        }),
        timeout: TIMEOUT,
    };
    let tls = TlsContexts::new();
    meter::peak_heap_of(|| {
        runtime.block_on(async {
            let mut checker = Checker::new(target, &tls).expect("a valid check");
            checker.check().await
        })
    })
}

fn assert_fails_in_time(outcome: &Outcome, detail: &str) {
    assert!(!outcome.healthy, "{outcome}");
    assert!(
        outcome.detail.starts_with(detail),
        "expected {detail:?}, got {outcome}"
    );
    assert!(outcome.elapsed < TIMEOUT, "{outcome}");
}

#[test]
fn ten_megabyte_body_is_read_up_to_the_cap_only() {
    let target = Hostile::start(Misbehaviour::HugeBody(10 * 1024 * 1024));
    let check = http_check(&target, |check| {
        check.expect_body = Some("needle".to_owned());
    });
    let (outcome, heap) = check_once(check);
    assert_fails_in_time(&outcome, "body does not contain \"needle\"");
    println!(
        "10 MB body: {outcome}; peak heap {heap} bytes; {} bytes accepted by the socket",
        target.sent()
    );
    assert!(heap < HEAP_LIMIT, "the check held {heap} bytes");
    assert!(
        heap > MAX_BODY_BYTES,
        "the body prefix was not read: {heap}"
    );
}

#[test]
fn ten_megabyte_body_without_body_match_passes_on_status() {
    let target = Hostile::start(Misbehaviour::HugeBody(10 * 1024 * 1024));
    let (outcome, heap) = check_once(http_check(&target, |_| {}));
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "200 OK");
    assert!(heap < HEAP_LIMIT, "the check held {heap} bytes");
}

#[test]
fn headers_without_end_fail_at_once_with_bounded_memory() {
    for misbehaviour in [
        Misbehaviour::EndlessHeaders,
        Misbehaviour::EndlessHeaderLine,
    ] {
        let target = Hostile::start(misbehaviour);
        let (outcome, heap) = check_once(http_check(&target, |_| {}));
        println!(
            "endless headers: {outcome}; peak heap {heap} bytes; {} bytes accepted by the socket",
            target.sent()
        );
        assert_fails_in_time(&outcome, "HTTP: message head is too large");
        assert!(heap < HEAP_LIMIT, "the check held {heap} bytes");
    }
}

#[test]
fn redirect_to_itself_is_a_status_and_not_followed() {
    let target = Hostile::start(Misbehaviour::RedirectToItself);
    let (outcome, _) = check_once(http_check(&target, |_| {}));
    assert_fails_in_time(&outcome, "status 301 not in [200]");
    assert_eq!(target.requests(), 1, "the redirect was followed");

    let (outcome, _) = check_once(http_check(&target, |check| {
        check.expect_status = vec![301];
    }));
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "301 Moved Permanently");
    assert_eq!(target.requests(), 2, "the redirect was followed");
}

fn https_check(target: &Hostile, presented: &Presented) -> CheckSpec {
    http_check(target, |check| {
        check.scheme = HttpScheme::Https;
        check.tls_ca_file = presented
            .ca_file
            .as_ref()
            .map(|file| file.path().to_owned());
    })
}

fn https_target(presented: &Presented) -> Hostile {
    Hostile::start_with(
        Misbehaviour::HugeBody(2),
        Some(Arc::clone(&presented.config)),
    )
}

#[test]
fn self_signed_certificate_fails() {
    let presented = certificates::self_signed();
    let target = https_target(&presented);
    let (outcome, _) = check_once(https_check(&target, &presented));
    assert_fails_in_time(&outcome, "TLS: invalid peer certificate: UnknownIssuer");
    assert_eq!(target.requests(), 0, "a request went over untrusted TLS");
}

#[test]
fn expired_and_not_yet_valid_certificates_fail_even_from_a_trusted_ca() {
    for (validity, detail) in [
        (
            Validity::Expired,
            "TLS: invalid peer certificate: certificate expired",
        ),
        (
            Validity::NotYetValid,
            "TLS: invalid peer certificate: certificate not valid yet",
        ),
    ] {
        let presented = certificates::issued(validity);
        let target = https_target(&presented);
        let (outcome, _) = check_once(https_check(&target, &presented));
        assert_fails_in_time(&outcome, detail);
        assert_eq!(target.requests(), 0, "a request went over untrusted TLS");
    }
}

#[test]
fn current_certificate_from_the_trusted_ca_passes() {
    let presented = certificates::issued(Validity::Current);
    let target = https_target(&presented);
    let (outcome, _) = check_once(https_check(&target, &presented));
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(target.requests(), 1);
}
