//! A nameserver that breaks the conversation itself, over TCP byte by byte
//! and over UDP datagram by datagram: a reset in the middle of an answer,
//! an answer trickling one byte a second, a length prefix of 65,535 and
//! then nothing, garbage (with and without the request's ID), a TSIG
//! record that is not the last record, a truncated datagram. Queries are
//! answered honestly with the RRset unchanged, so every UPDATE here ends
//! as the client's error about that answer, found not applied by reading
//! back, within the request timeout; and the client's memory stays bounded
//! by what actually arrives. (Two TSIG records, a TSIG record in the answer
//! section and trailing data are in `hostile_responder.rs`.)

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dnsfailover::dns::{Client, DnsError, RrsetChange, TransportError, TsigKey, ZoneUpdate};
use dnsfailover::vocabulary::{AddressRrset, Family, Transport, TsigAlgorithm};
use hickory_proto::op::{OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use support::{
    framed, is_update, serve_scripted, serve_tcp_script, signed_answer, trickle, unsigned_request,
    Handler, Step, TcpScript,
};

/// The request timeout of these clients.
const TIMEOUT: Duration = Duration::from_millis(1500);

/// What an error may take beyond the timeout: the reads that settle it,
/// on a loaded machine.
const MARGIN: Duration = Duration::from_millis(500);

// The client's largest single allocation, per thread: a length prefix must
// not make it reserve 64 KiB before the bytes arrive.

struct Measuring;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Measuring = Measuring;

fn key() -> TsigKey {
    TsigKey::new(
        Name::from_ascii("update-key.").unwrap(),
        TsigAlgorithm::HmacSha256,
        b"secret-secret-secret-secret-32by".to_vec(),
        "test",
    )
    .unwrap()
}

fn www() -> Name {
    Name::from_ascii("www.example.test.").unwrap()
}

fn rrset(address: &str) -> AddressRrset {
    AddressRrset::new([address.parse().unwrap()], 30)
}

fn update() -> ZoneUpdate {
    ZoneUpdate {
        zone: Name::from_ascii("example.test.").unwrap(),
        changes: vec![RrsetChange {
            name: www(),
            family: Family::V4,
            expected: Some(rrset("192.0.2.10")),
            desired: rrset("192.0.2.11"),
        }],
    }
}

/// The honest, signed answer: NOERROR, and to queries the unchanged RRset
/// or the zone's SOA (which the client reads before every UPDATE).
fn honest(request: &[u8]) -> Vec<u8> {
    let (message, _) = unsigned_request(request);
    let asks = |name: &Name, record_type: RecordType| {
        message.op_code == OpCode::Query
            && message
                .queries
                .iter()
                .any(|q| q.name() == name && q.query_type() == record_type)
    };
    let zone = Name::from_ascii("example.test.").unwrap();
    let records = if asks(&www(), RecordType::A) {
        vec![Record::from_rdata(
            www(),
            30,
            RData::A(A("192.0.2.10".parse().unwrap())),
        )]
    } else if asks(&zone, RecordType::SOA) {
        let host = |text: &str| Name::from_ascii(text).unwrap();
        let soa = SOA::new(
            host("ns.example.test."),
            host("hostmaster.example.test."),
            1,
            3600,
            600,
            86_400,
            60,
        );
        vec![Record::from_rdata(zone, 300, RData::SOA(soa))]
    } else {
        vec![]
    };
    signed_answer(request, &key(), ResponseCode::NoError, records)
}

/// Random bytes starting with the request's ID, or with another ID.
fn garbage(len: usize, request: &[u8], same_id: bool) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).unwrap();
    let flip = if same_id { 0 } else { 0xff };
    bytes[0] = request[0] ^ flip;
    bytes[1] = request[1];
    bytes
}

/// The honest answer with a record after its TSIG record.
fn tsig_not_last(request: &[u8]) -> Vec<u8> {
    let mut answer = honest(request);
    answer[11] += 1; // ARCOUNT
    answer.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 66]); // . A 192.0.2.66
    answer
}

/// A TCP server that answers queries honestly and UPDATEs with `fault`.
async fn tcp_server(fault: impl Fn(&[u8]) -> Vec<Step> + Send + Sync + 'static) -> SocketAddr {
    let script: TcpScript = Arc::new(move |request: &[u8]| {
        if is_update(request) {
            fault(request)
        } else {
            vec![Step::Send(framed(&honest(request)))]
        }
    });
    serve_tcp_script(script).await
}

/// A UDP server that answers queries honestly and UPDATEs with `fault`.
async fn udp_server(fault: impl Fn(&[u8]) -> Vec<Vec<u8>> + Send + Sync + 'static) -> SocketAddr {
    let handler: Handler = Arc::new(move |request: &[u8]| {
        if is_update(request) {
            fault(request)
        } else {
            vec![honest(request)]
        }
    });
    serve_scripted(Transport::Udp, handler).await
}

/// Applies the update; it must fail (the read back finds it not applied)
/// within the timeout plus the margin. Returns the error and the time.
async fn apply_fails(server: SocketAddr, transport: Transport, what: &str) -> (DnsError, Duration) {
    let client = Client::new(server, transport, TIMEOUT, Arc::new(key()));
    let started = Instant::now();
    let outcome = client.apply(&update()).await;
    let elapsed = started.elapsed();
    let error = match outcome {
        Ok(outcome) => panic!("{what}: taken as success: {outcome:?}"),
        Err(error) => error,
    };
    eprintln!("{what} ({transport}): {elapsed:?}: {error}");
    assert!(elapsed <= TIMEOUT + MARGIN, "{what}: took {elapsed:?}");
    assert!(error.is_transient(), "{what}: retried: {error}");
    assert!(
        !error.to_string().chars().any(char::is_control),
        "{what}: {error:?}"
    );
    (error, elapsed)
}

#[tokio::test]
async fn the_honest_answers_verify() {
    for transport in [Transport::Tcp, Transport::Udp] {
        let server = match transport {
            Transport::Tcp => {
                tcp_server(|request| vec![Step::Send(framed(&honest(request)))]).await
            }
            Transport::Udp => udp_server(|request| vec![honest(request)]).await,
        };
        let client = Client::new(server, transport, TIMEOUT, Arc::new(key()));
        let error = client.apply(&update()).await.unwrap_err();
        // Verified and believed: NOERROR, but the reads show the RRset unchanged.
        assert!(matches!(error, DnsError::NotApplied { .. }), "{error}");
    }
}

#[tokio::test]
async fn a_reset_in_the_middle_of_an_answer_is_a_clean_error() {
    let server = tcp_server(|request| {
        let answer = framed(&honest(request));
        vec![Step::Send(answer[..answer.len() / 2].to_vec()), Step::Reset]
    })
    .await;
    let (error, elapsed) = apply_fails(server, Transport::Tcp, "reset mid-answer").await;
    assert!(
        matches!(error, DnsError::Transport(TransportError::Cut { received, announced, .. }) if received > 0 && received < announced),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("in the middle of an answer") && message.contains("nameserver's log"),
        "{message}"
    );
    assert!(elapsed < TIMEOUT, "no wait for the timeout: {elapsed:?}");
}

#[tokio::test]
async fn an_answer_trickling_a_byte_a_second_ends_at_the_timeout() {
    let server =
        tcp_server(|request| trickle(&framed(&honest(request)), Duration::from_secs(1))).await;
    let (error, elapsed) = apply_fails(server, Transport::Tcp, "trickle").await;
    assert!(
        matches!(error, DnsError::Transport(TransportError::Timeout { .. })),
        "{error}"
    );
    assert!(elapsed >= TIMEOUT, "{elapsed:?}");
    assert!(
        error.to_string().contains("no answer from") && error.to_string().contains("within 1.5s"),
        "{error}"
    );
}

#[tokio::test]
async fn a_length_prefix_of_65535_then_close_is_a_clean_error() {
    let server = tcp_server(|_| vec![Step::Send(vec![0xff, 0xff]), Step::Close]).await;
    let (error, elapsed) = apply_fails(server, Transport::Tcp, "65,535 then close").await;
    assert!(
        matches!(
            error,
            DnsError::Transport(TransportError::Cut {
                received: 0,
                announced: 65_535,
                ..
            })
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("after 0 of the 65535 bytes"),
        "{error}"
    );
    assert!(elapsed < TIMEOUT, "no wait for the timeout: {elapsed:?}");
}

/// The client on this thread (current-thread runtime), the server on its
/// own: the largest block the client allocates while a 65,535-byte answer
/// is announced and never sent, or sent a byte at a time, stays small.
#[test]
fn a_length_prefix_does_not_reserve_memory_before_the_bytes_arrive() {
    for (what, steps) in [
        (
            "65,535 announced, nothing sent",
            vec![Step::Send(vec![0xff, 0xff])],
        ),
        (
            "65,535 announced, 100 bytes trickled",
            [
                vec![Step::Send(vec![0xff, 0xff])],
                trickle(&[0u8; 100], Duration::from_millis(5)),
            ]
            .concat(),
        ),
    ] {
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let address = tcp_server(move |_| steps.clone()).await;
                address_tx.send(address).unwrap();
                let _ = done_rx.await;
            });
        });
        let address = address_rx.recv().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = Client::new(
            address,
            Transport::Tcp,
            Duration::from_millis(800),
            Arc::new(key()),
        );
        LARGEST.with(|largest| largest.set(0));
        let error = runtime.block_on(client.apply(&update())).unwrap_err();
        let largest = LARGEST.with(Cell::get);
        done_tx.send(()).unwrap();
        eprintln!("{what}: largest allocation {largest} bytes; {error}");
        assert!(largest < 16 * 1024, "{what}: {largest} bytes at once");
        server.join().unwrap();
    }
}

#[tokio::test]
async fn garbage_over_tcp_is_ignored_until_the_timeout() {
    let server =
        tcp_server(|request| vec![Step::Send(framed(&garbage(300, request, false)))]).await;
    let (error, elapsed) = apply_fails(server, Transport::Tcp, "garbage").await;
    assert!(elapsed >= TIMEOUT, "{elapsed:?}");
    let message = error.to_string();
    assert!(
        matches!(
            error,
            DnsError::Transport(TransportError::Timeout { ignored: 1, .. })
        ),
        "{message}"
    );
    assert!(
        message.contains("1 message with another ID arrived and was ignored"),
        "{message}"
    );
}

#[tokio::test]
async fn garbage_with_the_right_id_fails_verification_and_is_discarded() {
    let tcp = tcp_server(|request| vec![Step::Send(framed(&garbage(300, request, true)))]).await;
    let udp = udp_server(|request| vec![garbage(300, request, true)]).await;
    for (server, transport) in [(tcp, Transport::Tcp), (udp, Transport::Udp)] {
        let (error, elapsed) = apply_fails(server, transport, "garbage with the ID").await;
        assert!(elapsed >= TIMEOUT, "{elapsed:?}");
        let message = error.to_string();
        assert!(
            matches!(error, DnsError::NoVerifiedAnswer { .. }) && error.is_ambiguous(),
            "{message}"
        );
        assert!(
            message.contains("failed TSIG verification") || message.contains("carried no TSIG"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_tsig_record_that_is_not_last_is_discarded() {
    let tcp = tcp_server(|request| vec![Step::Send(framed(&tsig_not_last(request)))]).await;
    let udp = udp_server(|request| vec![tsig_not_last(request)]).await;
    for (server, transport) in [(tcp, Transport::Tcp), (udp, Transport::Udp)] {
        let (error, _) = apply_fails(server, transport, "TSIG not last").await;
        assert!(
            matches!(error, DnsError::NoVerifiedAnswer { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("not the last record"), "{error}");
    }
}

#[tokio::test]
async fn garbage_and_truncated_datagrams_are_discarded() {
    let udp = udp_server(|request| {
        let genuine = honest(request);
        vec![
            garbage(200, request, false),
            vec![request[0]],
            genuine[..genuine.len() / 2].to_vec(),
        ]
    })
    .await;
    let (error, elapsed) = apply_fails(udp, Transport::Udp, "garbage and truncated").await;
    assert!(elapsed >= TIMEOUT, "{elapsed:?}");
    let message = error.to_string();
    assert!(
        matches!(error, DnsError::NoVerifiedAnswer { more: 0, .. }),
        "only the truncated one has our ID: {message}"
    );
    assert!(message.contains("message ends inside a field"), "{message}");
}
