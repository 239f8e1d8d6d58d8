//! A real BIND or Knot secondary of one zone, fed by NOTIFY and IXFR/AXFR from a test primary.
//!
//! The primary has to know where to send NOTIFY before it starts, and the secondary needs the
//! primary's address to start, so a secondary is made in two steps: [`Secondary::reserve`] picks
//! its port and directory, the primary is started with
//! [`ZoneSpec::notify`](super::ZoneSpec::notify)`(pending.addr())`, then
//! [`PendingSecondary::start`] starts the secondary and waits until it serves the zone:
//!
//! ```ignore
//! let pending = Secondary::reserve(ServerKind::Knot);
//! let zone = ZoneSpec::new("example.test.", 10).notify(pending.addr());
//! let primary = NameServer::start(ServerKind::Bind, vec![zone], keys);
//! let secondary = pending.start("example.test.", primary.addr());
//! secondary.wait_for_serial("example.test.", 10, Duration::from_secs(10));
//! ```
//!
//! Like [`NameServer`](super::NameServer), it listens on 127.0.0.1 on a port from
//! [`free_port`], keeps every file in its own temporary directory, logs into `server.log`
//! there, and is stopped by PID (only the process it started) when dropped.
//!
//! How soon a change reaches a secondary (measured on a 2-core VM, from `nsupdate` returning to
//! `dig` seeing the new serial): from a BIND primary 30–45 ms, to either kind; from a Knot
//! primary about 1 s, because Knot sends NOTIFY one second after it applied an update (fixed in
//! its code, no option). A Knot secondary also waits until one second after its previous
//! transfer when a NOTIFY comes sooner (its own event timers), about one change in four when
//! updates follow each other every ~150 ms. Wait with a deadline of seconds, not milliseconds.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::agent::wait_until;
use super::config_bind::named_secondary_conf;
use super::config_knot::{knot_secondary_conf, DATABASE_DIR};
use super::oracle::{query_at, serial_of, OracleError};
use super::port::free_port;
use super::process::{read_log, spawn_logged, terminate};
use super::server::{write, ServerKind};

/// How long a secondary gets to serve its zone after it was started.
const READY_DEADLINE: Duration = Duration::from_secs(10);

/// Interval between readiness checks.
const READY_POLL: Duration = Duration::from_millis(20);

/// Name of the log inside the secondary's directory.
const LOG_FILE: &str = "server.log";

/// The secondary's copy of the zone, inside its directory (text for both kinds).
const ZONE_FILE: &str = "secondary.db";

/// A secondary whose port and directory are chosen but which is not running yet.
pub struct PendingSecondary {
    kind: ServerKind,
    port: u16,
    dir: TempDir,
}

impl PendingSecondary {
    /// The address the secondary will listen on (UDP and TCP): give it to
    /// [`ZoneSpec::notify`](super::ZoneSpec::notify) of the primary's zone.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Which server software it will run.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// Starts the secondary of `origin` (absolute, with the trailing dot) transferring from
    /// `primary`, and waits until it serves the zone's SOA. Panics with its log if that does
    /// not happen within [`READY_DEADLINE`].
    pub fn start(self, origin: &str, primary: SocketAddr) -> Secondary {
        assert!(
            origin.ends_with('.'),
            "zone origin {origin:?} must be absolute (end with a dot)"
        );
        let mut secondary = Secondary {
            kind: self.kind,
            port: self.port,
            origin: origin.to_string(),
            primary,
            child: None,
            starts: 0,
            dir: self.dir,
        };
        secondary.write_config();
        secondary.launch();
        secondary
    }
}

/// One running (or stopped, restartable) secondary of one zone.
///
/// Dropping it stops the process and removes its directory.
pub struct Secondary {
    kind: ServerKind,
    port: u16,
    origin: String,
    primary: SocketAddr,
    child: Option<Child>,
    starts: u32,
    dir: TempDir,
}

impl Secondary {
    /// Picks a free port and a directory for a secondary of `kind`; see [`PendingSecondary`].
    pub fn reserve(kind: ServerKind) -> PendingSecondary {
        let dir = tempfile::Builder::new()
            .prefix(&format!("dnsfailover-{kind}-secondary-"))
            .tempdir()
            .unwrap_or_else(|e| {
                panic!("creating a temporary directory for a {kind} secondary: {e}")
            });
        PendingSecondary {
            kind,
            port: free_port(),
            dir,
        }
    }

    /// Reserves and starts at once, for a primary that need not notify this secondary (it then
    /// learns of changes only by its SOA refresh timer, i.e. in the tests not at all).
    pub fn start(kind: ServerKind, origin: &str, primary: SocketAddr) -> Secondary {
        Secondary::reserve(kind).start(origin, primary)
    }

    /// Address the secondary listens on, UDP and TCP: 127.0.0.1 and its port.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Which server software this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The zone it is a secondary of.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The primary it transfers from.
    pub fn primary(&self) -> SocketAddr {
        self.primary
    }

    /// The secondary's directory (configuration, zone copy, journal, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// PID of the running process; `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SOA serial it serves for `zone`; `None` while it does not answer (stopped) or answers
    /// without an SOA (zone not loaded yet: SERVFAIL; not its zone: REFUSED).
    pub fn soa_serial(&self, zone: &str) -> Option<u32> {
        let soa = self.try_query(zone, "SOA").ok()?;
        soa.first().and_then(|rdata| serial_of(rdata))
    }

    /// Rdata strings of `name`/`rtype` (`dig +short` form), sorted; empty when there are none.
    /// Panics with the log if the secondary does not answer.
    pub fn query(&self, name: &str, rtype: &str) -> Vec<String> {
        self.try_query(name, rtype)
            .unwrap_or_else(|e| self.fail(&format!("query {name} {rtype}: {e}")))
    }

    /// Like [`Secondary::query`], but returns an error when the secondary does not answer.
    pub fn try_query(&self, name: &str, rtype: &str) -> Result<Vec<String>, OracleError> {
        query_at(self.addr(), name, rtype)
    }

    /// Polls until it serves `serial` for `zone`; returns how long that took. Panics with the
    /// log after `deadline`.
    pub fn wait_for_serial(&self, zone: &str, serial: u32, deadline: Duration) -> Duration {
        wait_until(
            deadline,
            || self.soa_serial(zone) == Some(serial),
            || {
                format!(
                    "{} secondary on {} serves serial {:?} for {zone}, not {serial}\n\
                     ---- secondary log ----\n{}",
                    self.kind,
                    self.addr(),
                    self.soa_serial(zone),
                    self.log()
                )
            },
        )
    }

    /// Stops the process (SIGTERM, then SIGKILL after a deadline) and keeps all its files.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }

    /// Starts it again (stopping it first if it runs) on the same port with the same files, and
    /// waits until it serves the zone: at first its own copy, which may be stale. Soon after it
    /// asks the primary for the SOA and transfers what changed meanwhile (IXFR), without a
    /// NOTIFY and long before its SOA refresh timer (an hour): Knot at once, BIND 2 s after
    /// loading (see [`Secondary::forget_timers`]). Poll for the serial you expect.
    pub fn start_again(&mut self) {
        self.stop();
        self.forget_timers();
        self.launch();
    }

    /// Everything it has logged so far, over all its starts.
    pub fn log(&self) -> String {
        read_log(&self.log_path())
    }

    /// How many NOTIFY messages for its zone it has logged receiving, over all its starts.
    pub fn notifies_received(&self) -> usize {
        let marker = match self.kind {
            ServerKind::Bind => "received notify for zone",
            ServerKind::Knot => "notify, incoming",
        };
        self.log().matches(marker).count()
    }

    /// Path of the log.
    fn log_path(&self) -> PathBuf {
        self.dir().join(LOG_FILE)
    }

    /// Writes the configuration (and, for Knot, creates the database directory).
    fn write_config(&self) {
        let dir = self.dir();
        let config = match self.kind {
            ServerKind::Bind => {
                named_secondary_conf(dir, self.port, &self.origin, self.primary, ZONE_FILE)
            }
            ServerKind::Knot => {
                let database = dir.join(DATABASE_DIR);
                fs::create_dir_all(&database)
                    .unwrap_or_else(|e| panic!("creating {}: {e}", database.display()));
                knot_secondary_conf(dir, self.port, &self.origin, self.primary, ZONE_FILE)
            }
        };
        write(&dir.join(self.kind.config_file()), &config);
    }

    /// Makes the next start refresh from the primary soon, not an hour after the last refresh.
    ///
    /// Knot keeps its refresh timers in a timer database and, with it, waits for the SOA refresh
    /// (an hour) to pass since the last transfer; without it, it refreshes at once. BIND keeps no
    /// timers: after loading a secondary zone from its file it refreshes after its retry
    /// interval, 2 s in [`named_secondary_conf`], so nothing is needed. The zone copy and the
    /// journal stay either way, so the refresh is an IXFR.
    fn forget_timers(&self) {
        if self.kind == ServerKind::Knot {
            let timers = self.dir().join(DATABASE_DIR).join("timers");
            if timers.exists() {
                fs::remove_dir_all(&timers)
                    .unwrap_or_else(|e| panic!("removing {}: {e}", timers.display()));
            }
        }
    }

    /// Spawns the process and waits until it serves the zone's SOA.
    fn launch(&mut self) {
        self.starts += 1;
        let config = self.dir().join(self.kind.config_file());
        let config = config.to_str().expect("temporary directory path is UTF-8");
        let log_start = self.log().len();
        let banner = format!(
            "start {} of {} secondary of {} from {} on {}",
            self.starts,
            self.kind,
            self.origin,
            self.primary,
            self.addr()
        );
        let child = spawn_logged(
            self.kind.program(),
            &self.kind.args(config),
            &[],
            &self.log_path(),
            &banner,
        );
        self.child = Some(child);
        self.wait_serving(log_start);
    }

    /// Polls until the zone's SOA is served; panics with the log if the process exits, logs a
    /// fatal error, or the deadline passes.
    fn wait_serving(&mut self, log_start: usize) {
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
            if let Some(marker) = fatal_log_markers(self.kind)
                .iter()
                .find(|m| new_log.contains(**m))
            {
                self.fail(&format!("logged {marker:?} during start-up"));
            }
            if self.soa_serial(&self.origin).is_some() {
                return;
            }
            if started.elapsed() > READY_DEADLINE {
                self.fail(&format!(
                    "did not serve {} within {READY_DEADLINE:?}",
                    self.origin
                ));
            }
            thread::sleep(READY_POLL);
        }
    }

    /// Panics with `what`, the secondary's identity and its log.
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{} test secondary of {} on {} ({}): {what}\n---- secondary log ----\n{}",
            self.kind,
            self.origin,
            self.addr(),
            self.dir().display(),
            self.log()
        )
    }
}

impl Drop for Secondary {
    /// Stops the process; the directory is removed afterwards with the `TempDir`.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Log lines showing that the secondary will never serve on its port, so waiting is pointless:
/// a configuration it rejected, or a port someone else holds (it would then keep running and
/// another server could answer in its place).
fn fatal_log_markers(kind: ServerKind) -> &'static [&'static str] {
    match kind {
        ServerKind::Bind => &[
            "loading configuration: failure",
            "unable to listen on any configured interfaces",
        ],
        ServerKind::Knot => &["failed to open configuration", "cannot bind address"],
    }
}
