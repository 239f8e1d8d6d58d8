//! The decision engine: check outcomes in, health and desired RRsets out.
//!
//! Pure state, no I/O: the caller runs the checks, passes each result with
//! the [`std::time::Instant`]s it started and finished at, and asks when each
//! address is due next.
//!
//! - [`HealthTracker`]: rise/fall hysteresis per address.
//! - [`Schedule`]: fixed cadence while settled, quick confirmation (see
//!   [`confirm_delay`]) while a change is pending.

mod health;
mod schedule;

pub use health::{Health, HealthTracker, Transition};
pub use schedule::{
    confirm_delay, Schedule, CONFIRM_DELAY_DIVISOR, MAX_CONFIRM_DELAY, MIN_CONFIRM_DELAY,
};
