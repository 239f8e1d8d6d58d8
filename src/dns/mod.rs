//! The DNS layer: TSIG keys, reading RRsets from the primary, and RFC 2136
//! UPDATEs whose answers are verified before anything is believed.

mod client;
mod error;
mod exchange;
#[doc(hidden)]
pub mod fuzzing;
mod key;
mod key_file;
mod lookup;
mod primaries;
mod probe;
mod secret;
mod transport;
pub mod tsig;
mod update;
pub mod wire;
mod zone_lock;

pub use client::{ApplyOutcome, Client};
pub use error::{rcode_mnemonic, DnsError, RrsetConflict};
pub use exchange::Clock;
pub use key::{FileRole, KeyError, TsigKey};
pub use key_file::{looks_like_algorithm_name, parse_key_file, KeyEntry, KeyFileError};
pub use lookup::Lookup;
pub use primaries::{Primaries, Primary};
pub use probe::{policy_probe_message, PolicyProbe, PolicyVerdict};
pub use secret::{Secret, SecretError};
pub use transport::TransportError;
pub use update::{InvalidUpdate, RrsetChange, ZoneUpdate, MAX_CHANGE_BYTES};
