//! Lookups at the zone's other nameservers, to follow an update until they
//! serve it. Their answers are reported, never acted on, so they need not be
//! signed: secondaries usually answer anyone, and the agent's key is often
//! unknown to them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{Name, RData, RecordType};

use super::client::Client;
use super::error::DnsError;
use super::key::TsigKey;
use crate::vocabulary::{AddressRrset, Family, Transport};

/// Reads the SOA serial and RRsets that one nameserver serves.
#[derive(Clone)]
pub struct Lookup {
    client: Client,
}

impl Lookup {
    /// Unsigned queries over UDP (TCP when truncated), `timeout` each.
    pub fn unsigned(server: SocketAddr, timeout: Duration) -> Lookup {
        Lookup {
            client: Client::unsigned(server, Transport::Udp, timeout),
        }
    }

    /// Queries signed with `key`, whose answers must verify.
    pub fn signed(server: SocketAddr, timeout: Duration, key: Arc<TsigKey>) -> Lookup {
        Lookup {
            client: Client::new(server, Transport::Udp, timeout, key),
        }
    }

    /// The nameserver asked.
    pub fn server(&self) -> SocketAddr {
        self.client.server()
    }

    /// The zone's SOA serial as this nameserver serves it.
    pub async fn soa_serial(&self, zone: &Name) -> Result<u32, DnsError> {
        self.client.soa_serial(zone).await
    }

    /// One A or AAAA RRset as this nameserver serves it.
    pub async fn read_rrset(
        &self,
        name: &Name,
        family: Family,
    ) -> Result<Option<AddressRrset>, DnsError> {
        self.client.read_rrset(name, family).await
    }
}

impl Client {
    /// The host names of the zone's NS RRset, as the primary serves them.
    pub async fn nameserver_names(&self, zone: &Name) -> Result<Vec<Name>, DnsError> {
        let response = self.query(zone, RecordType::NS).await?;
        Ok(response
            .answers
            .iter()
            .filter(|record| record.name.eq_ignore_root(zone))
            .filter_map(|record| match &record.data {
                RData::NS(ns) => Some(ns.0.clone()),
                _ => None,
            })
            .collect())
    }
}
