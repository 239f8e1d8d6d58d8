//! The nameserver as the coordinator sees it: read a record, apply an update.
//!
//! A trait so that the coordinator's tests can script the nameserver; the
//! agent uses [`Primaries`], which hands each request to the [`Client`] of
//! the record's primary, which signs, verifies and reads back.

use std::future::Future;

use hickory_proto::rr::Name;

use crate::dns::{ApplyOutcome, Client, DnsError, Primaries, ZoneUpdate};
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

    /// The label of the primary that serves `record`; each primary's reads
    /// and updates fail and recover on their own. Empty (the default) for a
    /// nameserver that is one primary without a name of its own.
    fn primary_of(&self, record: &Name) -> String {
        let _ = record;
        String::new()
    }
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

    fn primary_of(&self, _record: &Name) -> String {
        self.server().to_string()
    }
}

impl Nameserver for Primaries {
    fn read(
        &self,
        name: Name,
        zone: Option<Name>,
    ) -> impl Future<Output = Result<(Name, Published), DnsError>> + Send + 'static {
        Nameserver::read(&self.for_name(&name).client, name, zone)
    }

    /// Goes to the primary of the update's first record: a zone's records
    /// all have one primary.
    fn apply(
        &self,
        update: ZoneUpdate,
    ) -> impl Future<Output = Result<ApplyOutcome, DnsError>> + Send + 'static {
        let routed_by = update
            .changes
            .first()
            .map_or(&update.zone, |change| &change.name);
        let client = self.for_name(routed_by).client.clone();
        async move { client.apply(&update).await }
    }

    fn primary_of(&self, record: &Name) -> String {
        self.for_name(record).label.clone()
    }
}
