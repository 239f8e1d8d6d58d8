//! Update throughput: N record changes applied to `named` through the
//! agent's update path (`Client::apply`: TSIG-signed UPDATE guarded by
//! prerequisites, then read back) and through `nsupdate`, with the same
//! prerequisites and changes (`ZoneUpdate::to_nsupdate`).
//!
//! Each method moves every record between two addresses, so every change is
//! a real one, and every method's result is verified with plain queries.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use dnsfailover::dns::{Client, RrsetChange, TsigKey, ZoneUpdate};
use dnsfailover::vocabulary::{AddressRrset, Family, Transport, TsigAlgorithm};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::Name;
use tokio::task::JoinSet;

use crate::children::start_bind;
use crate::dnswatch::DnsWatch;
use crate::options::Options;
use crate::report::Table;
use crate::support::NameServer;

const ZONE: &str = "upd.test.";
/// The two addresses every record moves between.
const ADDRESSES: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(127, 0, 99, 1)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 99, 2)),
];
const TTL: u32 = 30;
/// UPDATEs in flight at once in the concurrent run.
const CONCURRENCY: usize = 16;
/// The most a DNS message over TCP can hold.
const MAX_MESSAGE: usize = 65_535;
/// Time allowed for one request.
const TIMEOUT: Duration = Duration::from_secs(5);

/// How the changes are sent.
#[derive(Debug, Clone, Copy)]
enum Method {
    AgentSequential,
    AgentConcurrent,
    AgentBatched,
    NsupdatePerChange,
    NsupdateBatched,
}

impl Method {
    const ALL: [Method; 5] = [
        Method::AgentSequential,
        Method::AgentConcurrent,
        Method::AgentBatched,
        Method::NsupdatePerChange,
        Method::NsupdateBatched,
    ];

    fn describe(self) -> String {
        match self {
            Method::AgentSequential => "Client::apply, one change per UPDATE, one at a time".into(),
            Method::AgentConcurrent => {
                format!("Client::apply, one change per UPDATE, {CONCURRENCY} in flight")
            }
            Method::AgentBatched => "Client::apply, changes batched per zone".into(),
            Method::NsupdatePerChange => "nsupdate, one process per change".into(),
            Method::NsupdateBatched => "nsupdate, one process, changes batched".into(),
        }
    }
}

/// The nameserver, the key and the records.
struct Setup {
    server: NameServer,
    client: Client,
    key_file: tempfile::NamedTempFile,
    names: Vec<Name>,
}

/// Measures every method and adds the rows.
pub fn run(options: &Options, table: &mut Table) {
    let changes = options.changes;
    println!(
        "\n== Update throughput: {changes} record changes, TCP, TSIG hmac-sha256, prerequisites on"
    );
    let setup = Setup::start(changes);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut took = Vec::new();
    for (round, method) in Method::ALL.into_iter().enumerate() {
        let from = ADDRESSES[round % 2];
        let to = ADDRESSES[(round + 1) % 2];
        let updates = setup.updates(from, to, method);
        let started = Instant::now();
        match method {
            Method::AgentSequential | Method::AgentBatched => {
                runtime.block_on(setup.apply_in_turn(&updates))
            }
            Method::AgentConcurrent => runtime.block_on(setup.apply_concurrently(&updates)),
            Method::NsupdatePerChange | Method::NsupdateBatched => setup.nsupdate(&updates),
        }
        let elapsed = started.elapsed();
        setup.verify(to);
        println!(
            "   {}: {:.3} s ({:.0} changes/s, {} UPDATE messages)",
            method.describe(),
            elapsed.as_secs_f64(),
            changes as f64 / elapsed.as_secs_f64(),
            updates.len()
        );
        took.push((method, elapsed, updates.len()));
    }
    add_rows(table, changes, &took);
}

impl Setup {
    fn start(count: usize) -> Setup {
        let (server, key) = start_bind(
            ZONE,
            "update-key",
            (0..count).map(|record| format!("u{record} {TTL} IN A {}", ADDRESSES[0])),
        );
        let key_file = tempfile::NamedTempFile::new().expect("a temporary key file");
        let key_path = key_file.path().to_path_buf();
        key.write_bind_key_file(&key_path);
        let secret = base64::engine::general_purpose::STANDARD
            .decode(&key.secret)
            .expect("a base64 secret");
        let tsig = TsigKey::new(
            name(&format!("{}.", key.name)),
            TsigAlgorithm::HmacSha256,
            secret,
            "benchmark key",
        )
        .expect("a valid key");
        let client = Client::new(server.addr(), Transport::Tcp, TIMEOUT, Arc::new(tsig));
        let names = (0..count)
            .map(|record| name(&format!("u{record}.{ZONE}")))
            .collect();
        Setup {
            server,
            client,
            key_file,
            names,
        }
    }

    /// The UPDATEs moving every record from `from` to `to`: one per change,
    /// or as few as fit in a message when `method` batches.
    fn updates(&self, from: IpAddr, to: IpAddr, method: Method) -> Vec<ZoneUpdate> {
        let changes: Vec<RrsetChange> = self
            .names
            .iter()
            .map(|name| RrsetChange {
                name: name.clone(),
                family: Family::V4,
                expected: Some(AddressRrset::new([from], TTL)),
                desired: AddressRrset::new([to], TTL),
            })
            .collect();
        let per_message = match method {
            Method::AgentBatched | Method::NsupdateBatched => batch_size(&changes),
            _ => 1,
        };
        changes
            .chunks(per_message)
            .map(|chunk| ZoneUpdate {
                zone: name(ZONE),
                changes: chunk.to_vec(),
            })
            .collect()
    }

    async fn apply_in_turn(&self, updates: &[ZoneUpdate]) {
        for update in updates {
            self.client
                .apply(update)
                .await
                .unwrap_or_else(|e| panic!("update failed: {e}"));
        }
    }

    async fn apply_concurrently(&self, updates: &[ZoneUpdate]) {
        let mut in_flight = JoinSet::new();
        for update in updates {
            if in_flight.len() == CONCURRENCY {
                finish_one(&mut in_flight).await;
            }
            let client = self.client.clone();
            let update = update.clone();
            in_flight.spawn(async move {
                client
                    .apply(&update)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
        }
        while !in_flight.is_empty() {
            finish_one(&mut in_flight).await;
        }
    }

    /// Runs nsupdate once per update (a batched method has few updates, each
    /// of which becomes one `send` of a single nsupdate run).
    fn nsupdate(&self, updates: &[ZoneUpdate]) {
        let server = self.server.addr();
        if updates
            .first()
            .is_some_and(|update| update.changes.len() > 1)
        {
            let script: String = updates.iter().map(|u| u.to_nsupdate(server)).collect();
            run_nsupdate(self.key_file.path(), &script);
            return;
        }
        for update in updates {
            run_nsupdate(self.key_file.path(), &update.to_nsupdate(server));
        }
    }

    /// Panics unless every record publishes exactly `address`.
    fn verify(&self, address: IpAddr) {
        for name in &self.names {
            let mut watch = DnsWatch::new(self.server.addr(), &name.to_ascii());
            let published = watch.addresses();
            assert_eq!(
                published.as_deref(),
                Some(&[address][..]),
                "{name} after the updates"
            );
        }
    }
}

async fn finish_one(in_flight: &mut JoinSet<Result<(), String>>) {
    if let Some(done) = in_flight.join_next().await {
        done.expect("the update task")
            .unwrap_or_else(|e| panic!("update failed: {e}"));
    }
}

/// The most changes per UPDATE message that keep every message under 64 KiB.
fn batch_size(changes: &[RrsetChange]) -> usize {
    let size_of = |count: usize| {
        let update = ZoneUpdate {
            zone: name(ZONE),
            changes: changes[..count].to_vec(),
        };
        // An SOA prerequisite as long as the zone's own takes.
        let soa = SOA::new(
            name(&format!("harness-ns.{ZONE}")),
            name(&format!("hostmaster.{ZONE}")),
            u32::MAX,
            i32::MAX,
            i32::MAX,
            i32::MAX,
            u32::MAX,
        );
        update
            .to_message(0, Some(&soa))
            .to_vec()
            .map_or(usize::MAX, |bytes| bytes.len())
    };
    let mut count = changes.len();
    // Leave room for the TSIG record; halve until it fits (bounded by log2(n) steps).
    while count > 1 && size_of(count) > MAX_MESSAGE - 512 {
        count = count.div_ceil(2);
    }
    count
}

fn run_nsupdate(key: &Path, script: &str) {
    let mut child = Command::new("nsupdate")
        .arg("-k")
        .arg(key)
        .args(["-t", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running nsupdate (apt-get install bind9-dnsutils): {e}"));
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())
        .expect("writing the nsupdate script");
    let output = child.wait_with_output().expect("waiting for nsupdate");
    assert!(
        output.status.success(),
        "nsupdate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A table row: what, which method, the nsupdate time it is compared with, the target.
type Row = (&'static str, fn(&Method) -> bool, Duration, &'static str);

fn add_rows(table: &mut Table, changes: usize, took: &[(Method, Duration, usize)]) {
    let time = |wanted: fn(&Method) -> bool| {
        took.iter()
            .find(|(method, _, _)| wanted(method))
            .map(|(_, elapsed, messages)| (*elapsed, *messages))
            .expect("every method ran")
    };
    let per_change = time(|m| matches!(m, Method::NsupdatePerChange)).0;
    let batched = time(|m| matches!(m, Method::NsupdateBatched));
    let rows: [Row; 3] = [
        (
            "one change per UPDATE, sequential",
            |m| matches!(m, Method::AgentSequential),
            per_change,
            "≥ 10× nsupdate",
        ),
        (
            "one change per UPDATE, 16 in flight",
            |m| matches!(m, Method::AgentConcurrent),
            per_change,
            "-",
        ),
        (
            "batched per zone",
            |m| matches!(m, Method::AgentBatched),
            batched.0,
            "-",
        ),
    ];
    for (what, method, reference, target) in rows {
        let (elapsed, messages) = time(method);
        let reference_name = if what.starts_with("batched") {
            format!("nsupdate batched ({} messages)", batched.1)
        } else {
            "nsupdate per change".to_string()
        };
        let comparison = format!(
            "{reference_name}: {:.3} s; dnsfailover {}",
            reference.as_secs_f64(),
            speed(elapsed, reference)
        );
        table.add(
            &format!("{changes} changes, {what} ({messages} messages)"),
            &format!(
                "{:.3} s ({:.0}/s)",
                elapsed.as_secs_f64(),
                changes as f64 / elapsed.as_secs_f64()
            ),
            &comparison,
            target,
        );
    }
}

/// `12.3× faster` or `3.4× slower`: `took` compared with `reference`.
fn speed(took: Duration, reference: Duration) -> String {
    let ratio = reference.as_secs_f64() / took.as_secs_f64();
    if ratio >= 1.0 {
        format!("{ratio:.1}× faster")
    } else {
        format!("{:.1}× slower", 1.0 / ratio)
    }
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("a valid name")
}
