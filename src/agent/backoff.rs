//! Exponential backoff with jitter for retries against the nameserver.

use std::time::Duration;

/// First retry delay.
pub const INITIAL_DELAY: Duration = Duration::from_millis(500);
/// Longest delay between two attempts: a nameserver that is back is noticed
/// within this time.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// The delay before attempt number `failures + 1`: doubling from
/// [`INITIAL_DELAY`] up to [`MAX_DELAY`], of which a random half is waited
/// ("equal jitter"), so that many agents do not retry in step.
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let ceiling = INITIAL_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY);
    let half = ceiling / 2;
    half + half.mul_f64(random_fraction())
}

/// A uniformly random number in [0, 1).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("system random source");
    f64::from(u32::from_be_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_the_initial_delay_to_the_cap_with_jitter() {
        for failures in 1..40 {
            let delay = retry_delay(failures);
            let doublings = (failures - 1).min(16);
            let ceiling = INITIAL_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{failures}: {delay:?}"
            );
        }
        assert!(retry_delay(1) <= INITIAL_DELAY);
        assert!(retry_delay(100) >= MAX_DELAY / 2);
    }
}
