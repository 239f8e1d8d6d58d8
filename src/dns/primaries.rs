//! The agent's primaries: one [`Client`] per primary nameserver, each with
//! the zones it serves, and the routing of a name to its primary.

use std::sync::Arc;

use hickory_proto::rr::Name;

use super::Client;
use crate::vocabulary::serving_primary;

/// One primary: its client (address, transport, timeout, key) and zones.
#[derive(Clone)]
pub struct Primary {
    /// How it is named in logs, status and metrics: its address, with the
    /// key's name when another primary has the same address.
    pub label: String,
    /// The client that talks to it.
    pub client: Client,
    /// The zones it serves; `None`: every zone.
    pub zones: Option<Vec<Name>>,
}

/// Every primary of the agent, in configuration order; never empty.
#[derive(Clone)]
pub struct Primaries {
    primaries: Arc<[Primary]>,
}

impl Primaries {
    /// The primaries of `clients`, each with the zones it serves (`None`:
    /// every zone). Panics when `clients` is empty.
    pub fn new(clients: Vec<(Client, Option<Vec<Name>>)>) -> Primaries {
        assert!(!clients.is_empty(), "an agent has at least one primary");
        let shared_address = |client: &Client| {
            clients
                .iter()
                .filter(|(other, _)| other.server() == client.server())
                .count()
                > 1
        };
        let primaries: Vec<Primary> = clients
            .iter()
            .map(|(client, zones)| Primary {
                label: if shared_address(client) {
                    format!("{} key {}", client.server(), client.key().name())
                } else {
                    client.server().to_string()
                },
                client: client.clone(),
                zones: zones.clone(),
            })
            .collect();
        Primaries {
            primaries: primaries.into(),
        }
    }

    /// One primary serving every zone.
    pub fn single(client: Client) -> Primaries {
        Primaries::new(vec![(client, None)])
    }

    /// The primary serving `name` (a record's name or a zone): the one
    /// listing the longest zone holding it. A name no primary lists (not
    /// one of a validated configuration's records) goes to the first.
    pub fn for_name(&self, name: &Name) -> &Primary {
        &self.primaries[self.index_for(name)]
    }

    /// The index of [`Primaries::for_name`]'s primary, in configuration order.
    pub fn index_for(&self, name: &Name) -> usize {
        let zones = self.primaries.iter().map(|p| p.zones.as_deref());
        serving_primary(zones, name).unwrap_or(0)
    }

    /// Every primary, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Primary> {
        self.primaries.iter()
    }

    /// The labels of every primary, joined by `, `.
    pub fn label(&self) -> String {
        let labels: Vec<&str> = self.iter().map(|p| p.label.as_str()).collect();
        labels.join(", ")
    }
}
