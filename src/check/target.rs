//! [`Target`]: one address to check, with the check and whose address it is.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{CheckSpec, Record};

/// Everything needed to check one address.
#[derive(Debug, Clone)]
pub struct Target {
    /// The address to connect to, IPv4 or IPv6.
    pub address: IpAddr,
    /// How to check it (shared by all addresses with this check).
    pub check: Arc<CheckSpec>,
    /// The Host header when the check names none: the record name without its trailing dot.
    pub default_host: String,
    /// The record's name and the server's, for programs of exec checks.
    pub names: Arc<TargetNames>,
    /// The most one check may take, connecting and TLS included.
    pub timeout: Duration,
}

/// Whose address a target is: shared by the addresses of one server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetNames {
    /// The record's owner name, with its trailing dot.
    pub record: String,
    /// The server's name from the configuration.
    pub server: String,
}

impl Target {
    /// The target for one address of `server` of `record` and one of its
    /// checks (`check` shared between addresses, with the check's
    /// `timeout`); the default Host header is the record name without its
    /// trailing dot.
    pub fn of_record(
        record: &Record,
        names: Arc<TargetNames>,
        address: IpAddr,
        check: Arc<CheckSpec>,
        timeout: Duration,
    ) -> Target {
        Target {
            address,
            check,
            default_host: record.name.to_ascii().trim_end_matches('.').to_string(),
            names,
            timeout,
        }
    }
}
