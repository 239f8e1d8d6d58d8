//! dnsfailover: DNS failover for operators who run their own BIND or Knot.
//!
//! Data flows through the crate in one direction; each module imports only
//! those above it:
//!
//! 1. [`vocabulary`]: the few types every layer names (address family, the
//!    RRset of addresses, transport, TSIG algorithm, key source). A leaf.
//! 2. [`config`] reads the YAML file into a validated [`config::Config`].
//! 3. [`check`] probes one address of one server (TCP connect, HTTP, HTTPS).
//! 4. [`engine`] turns check outcomes into per-address health (rise/fall
//!    hysteresis) and, per record and address family, into the RRset that
//!    should be published. Pure state, no I/O.
//! 5. [`dns`] reads what the primary nameserver publishes and, when it
//!    differs, sends one TSIG-signed RFC 2136 UPDATE that replaces the A/AAAA
//!    RRsets atomically, guarded by prerequisites (compare-and-swap).
//! 6. [`snapshot`]: what the agent knows at one moment, immutable, for status;
//!    [`event`]: what it did or saw that an operator must be told, which
//!    [`notify`] delivers to webhooks and a command.
//! 7. [`http`] serves the latest snapshot, read-only: an HTML page,
//!    `/status` (JSON) and `/metrics` (Prometheus). [`control`] is the
//!    local Unix socket through which operators drain, pin, release, fail
//!    back and reload (its protocol, and both of its ends).
//! 8. [`agent`] runs it all: one prober per address and one coordinator that
//!    owns the engine, talks to the nameserver and publishes snapshots.
//!    [`plan`] is the one-shot variant that sends nothing; [`preflight`]
//!    proves the key, clock, primary, policy and targets without changing DNS.
//! 9. [`cli`] is the edge: arguments, logging ([`logging`]), the open-file
//!    limit ([`open_files`]), signals ([`shutdown`]), errors and exit codes; it
//!    wires the listener to the agent's snapshots.

pub mod agent;
pub mod check;
pub mod cli;
pub mod config;
pub mod control;
pub mod dns;
pub mod engine;
pub mod event;
pub mod http;
pub mod logging;
pub mod notify;
pub mod open_files;
pub mod plan;
pub mod preflight;
pub mod shutdown;
pub mod snapshot;
pub mod statistics;
pub mod vocabulary;
