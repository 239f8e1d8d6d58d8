//! One UPDATE of a zone at a time from one client.
//!
//! Every UPDATE requires the zone's SOA as read just before sending it (see
//! [`super::update`]). Two UPDATEs of one zone in flight together would read
//! the same SOA, and the one applied second would fail its prerequisite
//! and have to be sent again: with many in flight, quadratically many
//! UPDATEs. Taking turns per zone keeps it at one UPDATE per change set; the
//! server applies a zone's UPDATEs one after the other anyway.
//!
//! The lock also guards what the client learned about the zone: whether the
//! server checks the SOA prerequisite against the SOA it serves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hickory_proto::rr::Name;
use tokio::sync::OwnedMutexGuard;

/// What the client knows of one zone, behind its lock.
#[derive(Debug)]
pub(super) struct ZoneState {
    /// False once the server rejected an SOA prerequisite equal to the SOA
    /// it serves: BIND with `inline-signing` applies updates to the unsigned
    /// zone but serves the signed one, whose serial moves on its own. Such
    /// a zone's UPDATEs go without it (and without replay protection).
    pub soa_prerequisite: bool,
}

impl Default for ZoneState {
    fn default() -> Self {
        ZoneState {
            soa_prerequisite: true,
        }
    }
}

/// A lock per zone, made when first needed (there are as many as the
/// configuration has zones).
#[derive(Default)]
pub(super) struct ZoneLocks {
    zones: Mutex<HashMap<Name, Arc<tokio::sync::Mutex<ZoneState>>>>,
}

impl ZoneLocks {
    /// Waits until no other UPDATE of `zone` is being sent; the turn lasts
    /// as long as the guard.
    pub async fn turn(&self, zone: &Name) -> OwnedMutexGuard<ZoneState> {
        let lock = {
            let mut zones = self.zones.lock().expect("no panic while held");
            Arc::clone(zones.entry(zone.to_lowercase()).or_default())
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_per_zone_at_a_time_and_zones_do_not_wait_for_each_other() {
        let locks = ZoneLocks::default();
        let zone = Name::from_ascii("Example.test.").unwrap();
        let same = Name::from_ascii("example.TEST.").unwrap();
        let other = Name::from_ascii("other.test.").unwrap();
        let mut held = locks.turn(&zone).await;
        assert!(held.soa_prerequisite, "used until the server rejects it");
        held.soa_prerequisite = false;
        let waiting = locks.turn(&same);
        tokio::pin!(waiting);
        assert!(
            futures_poll_once(waiting.as_mut()).await.is_none(),
            "the same zone, in other letter case, waits"
        );
        let _other = locks.turn(&other).await;
        drop(held);
        assert!(!waiting.await.soa_prerequisite, "what was learned stays");
    }

    /// Polls a future once: `Some` if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            output = future => Some(output),
            () = std::future::ready(()) => None,
        }
    }
}
