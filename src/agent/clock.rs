//! The agent's one clock: tokio's, so that tests can pause and advance it.
//!
//! The engine works with [`std::time::Instant`]s handed in by its caller; the
//! agent takes every one of them from here, never from `Instant::now()`, so
//! that `tokio::time::pause()` drives checks, backoff and refreshes alike.

use std::time::{Instant, SystemTime};

use crate::snapshot::Timestamp;

/// Now, on tokio's clock.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Sleeps until `deadline` on tokio's clock.
pub async fn sleep_until(deadline: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
}

/// Turns the agent's monotonic instants into wall-clock times, as of one moment.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    monotonic: Instant,
    wall: SystemTime,
}

impl WallClock {
    /// The correspondence between both clocks now.
    pub fn now() -> WallClock {
        WallClock {
            monotonic: now(),
            wall: SystemTime::now(),
        }
    }

    /// The wall-clock time of `instant` (not later than now).
    pub fn timestamp(&self, instant: Instant) -> Timestamp {
        let now = Timestamp::from(self.wall);
        now.minus(self.monotonic.saturating_duration_since(instant))
    }

    /// The wall-clock time of this correspondence.
    pub fn wall(&self) -> Timestamp {
        Timestamp::from(self.wall)
    }
}
