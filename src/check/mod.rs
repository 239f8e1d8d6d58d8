//! Health checks: is one address of one server answering?
//!
//! A [`Checker`] owns the checks of one address. Each [`Checker::check`] opens
//! a new connection, so the whole path is tested every time, and is bounded by
//! the target's timeout:
//!
//! - **tcp**: the connection is accepted.
//! - **http / https**: a `GET` whose status is one of the expected codes and
//!   whose body (its first [`crate::config::MAX_BODY_BYTES`]) contains the
//!   expected text, if any. HTTPS uses rustls with the system's trusted roots,
//!   plus a `tls_ca_file`, or accepts any certificate with `tls_verify: false`.
//! - **tls**: a TLS handshake on the port, verified like https, whatever
//!   protocol runs on top.
//! - **smtp**: the 220 greeting, EHLO, optionally STARTTLS with a verified
//!   certificate, and QUIT, each answered with its expected code.
//! - **exec**: the operator's program, with the address in its environment,
//!   exits 0; killed with its process group at the timeout.
//! - **dns**: a query over UDP (again over TCP when truncated) answered with
//!   the expected response code and, if configured, the expected value.
//!
//! The connection of a passed check is kept open and watched
//! ([`Checker::connection_lost`]): a crashed server's kernel closes it at once,
//! which is noticed well before the next check is due.

mod accept_any;
mod body;
mod certificate;
mod checker;
mod dns;
mod error;
mod exec;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod kept_budget;
mod outcome;
mod passed;
mod smtp;
mod target;
mod tcp;
mod tls;
mod tls_probe;
mod watch;

pub use checker::Checker;
pub use error::CheckSetupError;
pub use kept_budget::{kept_connections, kept_connections_for, limit_kept_connections};
pub use outcome::Outcome;
pub use target::{Target, TargetNames};
pub(crate) use tls::server_name as tls_server_name;
pub use tls::TlsContexts;
