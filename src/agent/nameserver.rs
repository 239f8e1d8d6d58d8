//! The nameserver as the coordinator sees it: read a record, apply an update.
//!
//! A trait so that the coordinator's tests can script the nameserver; the
//! agent uses [`Client`], which signs, verifies and reads back.

use std::future::Future;

use hickory_proto::rr::Name;

use crate::dns::{ApplyOutcome, Client, DnsError, ZoneUpdate};
use crate::vocabulary::Published;

/// Reads and updates records on the primary nameserver.
pub trait Nameserver: Clone + Send + Sync + 'static {
    /// The zone of `name` (`zone` when known, else found with an SOA query)
    /// and what the name publishes.
    fn read(
        &self,
        name: Name,
        zone: Option<Name>,
    ) -> impl Future<Output = Result<(Name, Published), DnsError>> + Send + 'static;

    /// Applies one zone's update (see [`Client::apply`]).
    fn apply(
        &self,
        update: ZoneUpdate,
    ) -> impl Future<Output = Result<ApplyOutcome, DnsError>> + Send + 'static;
}

impl Nameserver for Client {
    fn read(
        &self,
        name: Name,
        zone: Option<Name>,
    ) -> impl Future<Output = Result<(Name, Published), DnsError>> + Send + 'static {
        let client = self.clone();
        async move {
            let zone = match zone {
                Some(zone) => zone,
                None => client.find_zone(&name).await?,
            };
            let published = client.read_addresses(&name).await?;
            Ok((zone, published))
        }
    }

    fn apply(
        &self,
        update: ZoneUpdate,
    ) -> impl Future<Output = Result<ApplyOutcome, DnsError>> + Send + 'static {
        let client = self.clone();
        async move { client.apply(&update).await }
    }
}
