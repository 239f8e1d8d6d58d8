//! Test support: runs real BIND (`named`) and Knot (`knotd`) servers on free loopback ports.
//!
//! Integration tests start a [`NameServer`] with a few zones, TSIG keys and update grants, point
//! the code under test at [`NameServer::addr`], and check the outcome with an independent oracle
//! (`dig` and `nsupdate`, never this crate's own DNS code). Every file a server uses lives in its
//! own root-owned temporary directory under `std::env::temp_dir()`, removed when the server is
//! dropped. (Where a host enforces Debian's AppArmor profile for `named`, which forbids /tmp,
//! point `TMPDIR` elsewhere.) The servers must run as root; if `named`, `knotd`, `dig` or
//! `nsupdate` is missing, tests panic with the packages to install rather than skip.
//!
//! Each zone also carries two records the tests did not ask for: `@ NS harness-ns` with
//! `harness-ns A 127.0.0.1` (BIND refuses a zone without NS) and `_harness TXT "<nonce>"`, a
//! random value checked at start-up so that only this process's server is taken as ready.

// Every integration test binary compiles this module on its own and uses only part of it; the
// unused rest (items and re-exports) would otherwise warn in each of them.
#![allow(dead_code, unused_imports, unused_macros)]

/// Runs each `async fn NAME(kind: ServerKind)` of the test file once against
/// BIND (`bind::NAME`) and once against Knot (`knot::NAME`).
macro_rules! against_both_servers {
    ($($scenario:ident),* $(,)?) => {
        mod bind {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() { super::$scenario(super::ServerKind::Bind).await })*
        }
        mod knot {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() { super::$scenario(super::ServerKind::Knot).await })*
        }
    };
}

mod agent;
mod config_bind;
mod config_knot;
mod key;
mod lab;
mod oracle;
mod port;
mod process;
mod proxy;
mod scripted;
pub mod secondary;
mod server;
mod server_faults;
mod signed_answer;
mod snippet;
mod target;
mod tcp_script;
mod webhook;
mod zone;

pub use agent::{binary, wait_until, AgentProcess};
pub use key::TestKey;
pub use lab::{Lab, MOVE_DEADLINE, WEB1, WEB2};
pub use oracle::{query_at, OracleError};
pub use port::free_port;
pub use proxy::{Fault, FaultyProxy};
pub use scripted::{serve_scripted, Handler};
pub use server::{NameServer, ServerKind};
pub use signed_answer::{is_update, signed_answer, tsig_key_of, unsigned_request};
pub use target::{common_port, WebTarget};
pub use tcp_script::{framed, serve_tcp_script, trickle, Step, TcpScript};
pub use webhook::{WebhookMode, WebhookReceiver};
pub use zone::{Grant, ZoneSpec};
