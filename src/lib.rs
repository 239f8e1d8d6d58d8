//! dnsfailover: DNS failover for operators who run their own BIND or Knot.
//!
//! Data flows through the crate in one direction:
//!
//! 1. [`config`] reads the YAML file into a validated [`config::Config`].
//! 2. [`check`] probes every address of every server (TCP connect, HTTP, HTTPS).
//! 3. [`engine`] turns check outcomes into per-address health (rise/fall hysteresis)
//!    and, per record and address family, into the RRset that should be published.
//! 4. [`dns`] reads what the primary nameserver publishes and, when it differs,
//!    sends one TSIG-signed RFC 2136 UPDATE that replaces the A/AAAA RRsets
//!    atomically, guarded by prerequisites (compare-and-swap).

pub mod agent;
pub mod check;
pub mod cli;
pub mod config;
pub mod dns;
pub mod engine;
pub mod logging;
pub mod open_files;
pub mod plan;
pub mod shutdown;
pub mod vocabulary;
