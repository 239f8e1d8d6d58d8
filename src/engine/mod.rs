//! The decision engine: check outcomes in, health and desired RRsets out.
//!
//! Pure state, no I/O: the caller runs the checks, passes each result with
//! the [`std::time::Instant`]s it started and finished at, asks when each
//! address is due next, and hands in what the nameserver publishes.
//! Records are known by owner name and addresses by [`AddressKey`], so a new
//! configuration can be applied ([`Engine::reconfigure`]) without losing the
//! health of the addresses it keeps.
//!
//! - [`HealthTracker`]: rise/fall hysteresis per check of an address; an
//!   address is up only when all its checks are.
//! - [`Schedule`]: fixed cadence while settled, quick confirmation (see
//!   [`confirm_delay`]) while a change is pending.
//! - [`decide_family`]: per record and address family, the RRset to publish
//!   ([`FamilyDecision`]) and why ([`PublishReason`]).
//! - [`Overrides`]: drains and pins an operator set, which the decisions
//!   take into account.
//! - [`Engine`]: all of the above for a whole configuration.

mod address_health;
mod decision;
mod health;
mod overrides;
mod reason;
mod schedule;
mod state;

#[cfg(test)]
mod test_support;

pub use decision::{
    decide_family, decide_family_with, decide_record, decide_record_with, FamilyDecision, Publish,
    RecordDecision,
};
pub use health::{Health, HealthTracker, Transition};
pub use overrides::{Override, OverrideKind, Overrides, PinView, RecordOverrides};
pub use reason::PublishReason;
pub use schedule::{
    confirm_delay, first_check_offset, start_spread, Schedule, CONFIRM_DELAY_DIVISOR,
    MAX_CONFIRM_DELAY, MAX_START_RATE, MAX_START_SPREAD, MIN_CONFIRM_DELAY,
};
pub use state::{
    AddressKey, AddressState, CheckResult, CheckState, Engine, HealthChange, Reconfigured, Target,
    TargetId, TargetKey,
};
