//! The soak's watcher: a thread that asks `named` for every watched RRset
//! every [`ROUND`] over UDP for the whole run and judges each answer.
//!
//! An answer is bad when it is empty (NOERROR without data, or NXDOMAIN:
//! the agent never removes a managed RRset) or holds an address that is not
//! configured. A query without an answer (`named` stopped or frozen) is not
//! bad; such stretches are counted as no-answer periods.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

/// Time between the starts of two rounds of queries.
pub const ROUND: Duration = Duration::from_millis(20);

/// How long a round waits for its answers.
const ROUND_TIMEOUT: Duration = Duration::from_millis(200);

/// Bad answers described in full; the rest are only counted.
const DESCRIBED: usize = 20;

/// One watched RRset and the addresses it may hold.
#[derive(Debug, Clone)]
pub struct Watched {
    pub name: String,
    pub v6: bool,
    pub configured: Vec<IpAddr>,
}

/// What the watcher saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub rounds: u64,
    /// Answers judged (NOERROR or NXDOMAIN).
    pub answers_checked: u64,
    pub bad_answers: u64,
    pub bad_described: Vec<String>,
    /// Queries that got no answer.
    pub unanswered: u64,
    /// Maximal stretches of rounds in which nothing was answered.
    pub no_answer_periods: u64,
    pub longest_no_answer: Duration,
    /// Answers with another response code (SERVFAIL, REFUSED, ...).
    pub other_codes: u64,
}

/// The latest answers: the time the round ended and, per watched RRset, its
/// addresses (`None`: no NOERROR answer in that round).
pub type Latest = (Instant, Vec<Option<Vec<IpAddr>>>);

/// A running watcher.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    latest: Arc<Mutex<Option<Latest>>>,
    thread: JoinHandle<Tally>,
}

impl Watcher {
    /// Starts watching `watched` at `server`.
    pub fn start(server: SocketAddr, watched: Vec<Watched>) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let latest = Arc::new(Mutex::new(None));
        let (stop_seen, latest_written) = (stop.clone(), latest.clone());
        let thread = thread::spawn(move || watch(server, &watched, &stop_seen, &latest_written));
        Watcher {
            stop,
            latest,
            thread,
        }
    }

    /// The answers of the last round that ended.
    pub fn latest(&self) -> Option<Latest> {
        self.latest.lock().unwrap().clone()
    }

    /// Stops the watcher and returns what it saw.
    pub fn finish(self) -> Tally {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the watcher thread")
    }
}

fn watch(
    server: SocketAddr,
    watched: &[Watched],
    stop: &AtomicBool,
    latest: &Mutex<Option<Latest>>,
) -> Tally {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
    socket.connect(server).expect("connecting the UDP socket");
    let queries: Vec<(Name, RecordType)> = watched
        .iter()
        .map(|w| {
            let name = Name::from_ascii(&w.name).expect("a valid name");
            (
                name,
                if w.v6 {
                    RecordType::AAAA
                } else {
                    RecordType::A
                },
            )
        })
        .collect();
    let mut tally = Tally::default();
    let mut next_id: u16 = 0;
    let mut silent_since: Option<Instant> = None;
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let first_id = next_id;
        for (offset, (name, rtype)) in queries.iter().enumerate() {
            let mut query = Message::new(
                first_id.wrapping_add(offset as u16),
                MessageType::Query,
                OpCode::Query,
            );
            query.metadata.recursion_desired = false;
            query.add_query(Query::query(name.clone(), *rtype));
            let _ = socket.send(&query.to_vec().expect("a query"));
        }
        next_id = next_id.wrapping_add(queries.len() as u16);
        let answers = collect(&socket, first_id, queries.len());
        let mut round: Vec<Option<Vec<IpAddr>>> = vec![None; queries.len()];
        let mut answered = 0;
        for (index, answer) in answers.into_iter().enumerate() {
            let Some(answer) = answer else {
                tally.unanswered += 1;
                continue;
            };
            answered += 1;
            if let Some(addresses) = judge(&watched[index], &answer, &mut tally) {
                round[index] = Some(addresses);
            }
        }
        tally.rounds += 1;
        match (answered, silent_since) {
            (0, None) => {
                silent_since = Some(started);
                tally.no_answer_periods += 1;
            }
            (0, Some(_)) => {}
            (_, Some(since)) => {
                tally.longest_no_answer = tally.longest_no_answer.max(started - since);
                silent_since = None;
            }
            (_, None) => {}
        }
        *latest.lock().unwrap() = Some((Instant::now(), round));
        next += ROUND;
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    if let Some(since) = silent_since {
        tally.longest_no_answer = tally.longest_no_answer.max(since.elapsed());
    }
    tally
}

/// Reads the answers to the `count` queries from `first_id` on, waiting at
/// most [`ROUND_TIMEOUT`] in all; stale answers of earlier rounds are skipped.
fn collect(socket: &UdpSocket, first_id: u16, count: usize) -> Vec<Option<Message>> {
    let mut answers: Vec<Option<Message>> = vec![None; count];
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let mut buffer = [0u8; 4096];
    // Bounded: every read waits at most until the deadline.
    for _ in 0..count * 4 {
        if answers.iter().all(Option::is_some) {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            break;
        }
        let Ok(len) = socket.recv(&mut buffer) else {
            // Timed out, or refused: named is not running.
            break;
        };
        let Ok(answer) = Message::from_vec(&buffer[..len]) else {
            continue;
        };
        let index = answer.metadata.id.wrapping_sub(first_id) as usize;
        if index < count {
            answers[index] = Some(answer);
        }
    }
    answers
}

/// Judges one answer; returns its addresses when it is a NOERROR answer.
fn judge(watched: &Watched, answer: &Message, tally: &mut Tally) -> Option<Vec<IpAddr>> {
    let code = answer.metadata.response_code;
    if code != ResponseCode::NoError && code != ResponseCode::NXDomain {
        tally.other_codes += 1;
        return None;
    }
    tally.answers_checked += 1;
    let mut addresses: Vec<IpAddr> = answer
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) if !watched.v6 => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) if watched.v6 => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .collect();
    addresses.sort();
    let rtype = if watched.v6 { "AAAA" } else { "A" };
    let problem = if code == ResponseCode::NXDomain {
        Some("NXDOMAIN".to_owned())
    } else if addresses.is_empty() {
        Some("no addresses (NOERROR, no data)".to_owned())
    } else {
        let foreign: Vec<String> = addresses
            .iter()
            .filter(|a| !watched.configured.contains(a))
            .map(IpAddr::to_string)
            .collect();
        (!foreign.is_empty()).then(|| format!("addresses not configured: {}", foreign.join(", ")))
    };
    if let Some(problem) = problem {
        tally.bad_answers += 1;
        if tally.bad_described.len() < DESCRIBED {
            tally
                .bad_described
                .push(format!("{} {rtype}: {problem}", watched.name));
        }
    }
    Some(addresses)
}
