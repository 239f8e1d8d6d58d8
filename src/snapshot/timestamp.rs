//! A wall-clock time that reads as RFC 3339 in JSON.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A wall-clock time, serialized as RFC 3339 in UTC with milliseconds
/// (`2026-12-01T21:12:04.123Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    /// This moment.
    pub fn now() -> Timestamp {
        Timestamp(SystemTime::now())
    }

    /// The time as a [`SystemTime`].
    pub fn system_time(self) -> SystemTime {
        self.0
    }

    /// Seconds since the Unix epoch (negative before it).
    pub fn unix_seconds(self) -> f64 {
        match self.0.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        }
    }

    /// This time moved back by `age`.
    pub fn minus(self, age: Duration) -> Timestamp {
        Timestamp(self.0.checked_sub(age).unwrap_or(UNIX_EPOCH))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        Timestamp(time)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_rfc3339(&text)
            .map(Timestamp)
            .map_err(|error| serde::de::Error::custom(format!("{text:?}: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes() {
        let time = Timestamp(UNIX_EPOCH + Duration::from_millis(1_796_159_524_123));
        let json = serde_json::to_string(&time).unwrap();
        assert_eq!(json, "\"2026-12-01T21:12:04.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), time);
        assert_eq!(
            time.minus(Duration::from_secs(4)).to_string(),
            "2026-12-01T21:12:00.123Z"
        );
    }
}
