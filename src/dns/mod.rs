//! The DNS layer: TSIG keys, reading RRsets from the primary, and RFC 2136
//! UPDATEs whose answers are verified before anything is believed.

mod algorithm;
mod rrset;
mod transport_kind;

pub use algorithm::{AlgorithmError, TsigAlgorithm};
pub use rrset::AddressRrset;
pub use transport_kind::Transport;
