//! The DNS layer: TSIG keys, reading RRsets from the primary, and RFC 2136
//! UPDATEs whose answers are verified before anything is believed.

mod algorithm;
mod client;
mod error;
mod key;
mod key_file;
mod rrset;
mod secret;
mod transport;
mod transport_kind;
pub mod tsig;
mod update;
pub mod wire;

pub use algorithm::{AlgorithmError, TsigAlgorithm};
pub use client::{ApplyOutcome, Client, Clock, Published};
pub use error::{DnsError, RrsetConflict};
pub use key::{FileRole, KeyError, TsigKey};
pub use key_file::{looks_like_algorithm_name, parse_key_file, KeyEntry, KeyFileError};
pub use rrset::AddressRrset;
pub use secret::{Secret, SecretError};
pub use transport::TransportError;
pub use transport_kind::Transport;
pub use update::{InvalidUpdate, RrsetChange, ZoneUpdate, MAX_CHANGE_BYTES};
