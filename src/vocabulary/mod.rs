//! The shared vocabulary: the few types that several layers name.
//!
//! A leaf: it imports no other module of the crate, so that `config`,
//! `check`, `engine` and `dns` can all use it without importing each other.

mod address_list;
mod algorithm;
mod family;
mod key_source;
mod published;
mod rcode;
mod rrset;
mod transport;
mod zone_route;

pub use address_list::AddressList;
pub use algorithm::{AlgorithmError, TsigAlgorithm};
pub use family::Family;
pub use key_source::KeySource;
pub use published::Published;
pub use rcode::{rcode_mnemonic, rcode_name};
pub use rrset::AddressRrset;
pub use transport::Transport;
pub use zone_route::serving_primary;
