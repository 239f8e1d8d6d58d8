//! A real BIND or Knot server on a free loopback port, for one test.

use std::fmt;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::config_bind::{named_conf, RndcChannel};
use super::config_knot::{knot_conf, DATABASE_DIR};
use super::key::{random_bytes, TestKey};
use super::oracle::{nsupdate_at, query_at, serial_of, ttl_at, OracleError};
use super::port::free_port;
use super::process::{read_log, spawn_logged, terminate};
use super::server_faults::clock_offset_env;
use super::zone::{zone_file_name, ZoneSpec, NONCE_OWNER};

/// How long a server gets to answer for all its zones after it was started.
const READY_DEADLINE: Duration = Duration::from_secs(10);

/// Interval between readiness checks.
const READY_POLL: Duration = Duration::from_millis(20);

/// Name of the server log inside the server directory.
const LOG_FILE: &str = "server.log";

/// Which server software to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// ISC BIND 9 (`named`).
    Bind,
    /// CZ.NIC Knot DNS (`knotd`).
    Knot,
}

impl ServerKind {
    /// Both kinds, for tests that run against each.
    pub const ALL: [ServerKind; 2] = [ServerKind::Bind, ServerKind::Knot];

    /// Executable name.
    pub(super) fn program(self) -> &'static str {
        match self {
            ServerKind::Bind => "named",
            ServerKind::Knot => "knotd",
        }
    }

    /// Configuration file name inside the server directory.
    pub(super) fn config_file(self) -> &'static str {
        match self {
            ServerKind::Bind => "named.conf",
            ServerKind::Knot => "knot.conf",
        }
    }

    /// Command-line arguments: foreground, logging to stderr, the given configuration.
    pub(super) fn args(self, config: &str) -> Vec<&str> {
        match self {
            ServerKind::Bind => vec!["-g", "-n", "1", "-c", config],
            ServerKind::Knot => vec!["-c", config],
        }
    }

    /// Log lines showing that a zone will never load, so waiting longer is pointless.
    fn fatal_log_markers(self) -> &'static [&'static str] {
        match self {
            ServerKind::Bind => &["not loaded due to errors", "loading configuration: failure"],
            ServerKind::Knot => &[
                "failed to load",
                "zone event 'load' failed",
                "failed to open configuration",
            ],
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerKind::Bind => "bind",
            ServerKind::Knot => "knot",
        })
    }
}

/// One running (or stopped, restartable) name server with its own directory and port.
///
/// Dropping it stops the process and removes the directory.
pub struct NameServer {
    pub(super) kind: ServerKind,
    port: u16,
    zones: Vec<ZoneSpec>,
    pub(super) keys: Vec<TestKey>,
    /// BIND's `rndc` channel (unused by Knot, whose `knotc` talks over a socket in `dir`).
    pub(super) rndc: RndcChannel,
    /// Seconds added to the wall clock the server sees, from its next start.
    pub(super) clock_offset: i64,
    nonce: String,
    pub(super) child: Option<Child>,
    starts: u32,
    dir: TempDir,
}

impl NameServer {
    /// Starts `kind` serving `zones` with `keys`, and waits until every zone answers with its
    /// serial and this server's nonce. Panics (with the server's log) if that does not happen.
    pub fn start(kind: ServerKind, zones: Vec<ZoneSpec>, keys: Vec<TestKey>) -> NameServer {
        check_spec(&zones, &keys);
        let dir = tempfile::Builder::new()
            .prefix(&format!("dnsfailover-{kind}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("creating a temporary directory for {kind}: {e}"));
        let mut server = NameServer {
            kind,
            port: free_port(),
            zones,
            keys,
            rndc: RndcChannel {
                port: free_port(),
                key: TestKey::generate("harness-rndc-key"),
            },
            clock_offset: 0,
            nonce: hex(&random_bytes::<16>()),
            child: None,
            starts: 0,
            dir,
        };
        server.write_files();
        server.launch(true);
        server
    }

    /// Address the server listens on, UDP and TCP: 127.0.0.1 and its port.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Which server software this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The server's directory (configuration, zone files, journals, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// PID of the running process; `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the process (SIGTERM, then SIGKILL after a deadline) and keeps all its files.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }

    /// Starts the server again on the same port with the same files, so updates are kept.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(false);
    }

    /// Everything the server has logged so far, over all its starts.
    pub fn log(&self) -> String {
        read_log(&self.log_path())
    }

    /// Rdata strings of `name`/`rtype` (`dig +short` form), sorted; empty when there are none.
    /// Panics with the server log if the server does not answer.
    pub fn query(&self, name: &str, rtype: &str) -> Vec<String> {
        self.try_query(name, rtype)
            .unwrap_or_else(|e| self.fail(&format!("query {name} {rtype}: {e}")))
    }

    /// Like [`NameServer::query`], but returns an error when the server does not answer.
    pub fn try_query(&self, name: &str, rtype: &str) -> Result<Vec<String>, OracleError> {
        query_at(self.addr(), name, rtype)
    }

    /// Whether the server answers a query for its first zone's SOA.
    pub fn is_answering(&self) -> bool {
        self.try_query(&self.zones[0].origin, "SOA").is_ok()
    }

    /// TTL of the first `rtype` record of `name`; `None` when there is none.
    pub fn query_ttl(&self, name: &str, rtype: &str) -> Option<u32> {
        ttl_at(self.addr(), name, rtype)
            .unwrap_or_else(|e| self.fail(&format!("query TTL of {name} {rtype}: {e}")))
    }

    /// Current SOA serial of `zone`. Panics if the server has no SOA for it.
    pub fn soa_serial(&self, zone: &str) -> u32 {
        let soa = self.query(zone, "SOA");
        soa.first()
            .and_then(|rdata| serial_of(rdata))
            .unwrap_or_else(|| self.fail(&format!("no SOA serial for {zone} in {soa:?}")))
    }

    /// Runs `nsupdate` signed with `key`: `server` is prepended to `script`, `send` appended.
    /// Put a `zone` line in `script` to name the zone explicitly.
    pub fn nsupdate(&self, key: &TestKey, script: &str) -> Output {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let key_path = self.dir().join(format!("nsupdate-{call}.key"));
        let output = nsupdate_at(self.addr(), key, &key_path, script);
        let _ = fs::remove_file(&key_path);
        output
    }

    /// Path of the server log.
    fn log_path(&self) -> PathBuf {
        self.dir().join(LOG_FILE)
    }

    /// Writes configuration and zone files, removing journals or databases left from before.
    fn write_files(&self) {
        let dir = self.dir();
        for (index, zone) in self.zones.iter().enumerate() {
            let path = dir.join(zone_file_name(index));
            write(&path, &zone.zone_file(&self.nonce));
            let _ = fs::remove_file(path.with_extension("db.jnl"));
        }
        if self.kind == ServerKind::Knot {
            // Knot replays its journal over the zone file: start from an empty database.
            let database = dir.join(DATABASE_DIR);
            let _ = fs::remove_dir_all(&database);
            fs::create_dir(&database)
                .unwrap_or_else(|e| panic!("creating {}: {e}", database.display()));
        }
        self.write_config();
    }

    /// Writes the configuration file (the zones, keys and grants as they are now).
    pub(super) fn write_config(&self) {
        let dir = self.dir();
        let config = match self.kind {
            ServerKind::Bind => named_conf(dir, self.port, &self.rndc, &self.zones, &self.keys),
            ServerKind::Knot => knot_conf(dir, self.port, &self.zones, &self.keys),
        };
        write(&dir.join(self.kind.config_file()), &config);
    }

    /// Spawns the process and waits until it serves every zone (with the initial serials when
    /// `check_serials`, i.e. before any update).
    fn launch(&mut self, check_serials: bool) {
        self.starts += 1;
        let config = self.dir().join(self.kind.config_file());
        let config = config.to_str().expect("temporary directory path is UTF-8");
        let log_start = self.log().len();
        let clock = match self.clock_offset {
            0 => String::new(),
            offset => format!(", its clock {offset:+} s off"),
        };
        let banner = format!(
            "start {} of {} on {}{clock}",
            self.starts,
            self.kind,
            self.addr()
        );
        let env = clock_offset_env(self.dir(), self.clock_offset);
        let child = spawn_logged(
            self.kind.program(),
            &self.kind.args(config),
            &env,
            &self.log_path(),
            &banner,
        );
        self.child = Some(child);
        self.wait_ready(check_serials, log_start);
    }

    /// Polls until every zone answers with this server's nonce (and initial serial); panics
    /// with the log if the process exits, logs a fatal error, or the deadline passes.
    fn wait_ready(&mut self, check_serials: bool, log_start: usize) {
        let started = Instant::now();
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                self.fail(&format!("exited during start-up with {status}"));
            }
            let new_log = self.log().get(log_start..).unwrap_or_default().to_string();
            if let Some(marker) = self
                .kind
                .fatal_log_markers()
                .iter()
                .find(|m| new_log.contains(**m))
            {
                self.fail(&format!("logged {marker:?} during start-up"));
            }
            if self
                .zones
                .iter()
                .all(|zone| self.serves(zone, check_serials))
            {
                return;
            }
            if started.elapsed() > READY_DEADLINE {
                self.fail(&format!(
                    "did not serve all zones within {READY_DEADLINE:?}"
                ));
            }
            thread::sleep(READY_POLL);
        }
    }

    /// Whether `zone` answers with this server's nonce and, if asked, its initial serial.
    fn serves(&self, zone: &ZoneSpec, check_serial: bool) -> bool {
        let nonce = format!("\"{}\"", self.nonce);
        let has_nonce = self
            .try_query(&zone.absolute(NONCE_OWNER), "TXT")
            .is_ok_and(|rdata| rdata.contains(&nonce));
        let serial_ok = || {
            // Signing moves the serial on by itself.
            self.try_query(&zone.origin, "SOA").is_ok_and(|soa| {
                soa.first()
                    .and_then(|s| serial_of(s))
                    .is_some_and(|serial| {
                        serial == zone.serial || (zone.signed && serial > zone.serial)
                    })
            })
        };
        has_nonce && (!check_serial || serial_ok())
    }

    /// Panics with `what`, the server's identity and its log.
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{} test server on {} ({}): {what}\n---- server log ----\n{}",
            self.kind,
            self.addr(),
            self.dir().display(),
            self.log()
        )
    }
}

impl Drop for NameServer {
    /// Stops the process; the directory is removed afterwards with the `TempDir`.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Panics unless there is a zone to check readiness with and every grant names a given key.
fn check_spec(zones: &[ZoneSpec], keys: &[TestKey]) {
    assert!(!zones.is_empty(), "a test server needs at least one zone");
    for zone in zones {
        for grant in &zone.grants {
            assert!(
                keys.iter().any(|key| key.name == grant.key()),
                "zone {} grants key {:?}, which is not among the server's keys",
                zone.origin,
                grant.key()
            );
        }
    }
}

/// Writes `text` to `path`, panicking with the path on failure.
pub(super) fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Lower-case hexadecimal form of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
