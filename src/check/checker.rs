//! The checker of one address: runs its check again and again and watches the
//! connection of the last passed check.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use tokio::time::Instant;

use super::dns::DnsProbe;
use super::error::CheckSetupError;
use super::exec::ExecProbe;
use super::http::HttpProbe;
use super::kept_budget::{process_budget, KeptSlot};
use super::outcome::{timed_out, Outcome, Step};
use super::passed::Passed;
use super::smtp::SmtpProbe;
use super::target::Target;
use super::tcp;
use super::tls::TlsContexts;
use super::tls_probe::TlsProbe;
use super::watch::{FalseAlarms, KeptConnection};
use crate::config::CheckSpec;

/// A check prepared from its configuration.
enum Probe {
    Tcp { port: u16 },
    Http(Box<HttpProbe>),
    Dns(DnsProbe),
    Tls(Box<TlsProbe>),
    Smtp(Box<SmtpProbe>),
    Exec(ExecProbe),
}

/// Checks one address again and again. Keeps the connection of the last passed
/// check open, so that a crash of the server is noticed at once (see
/// [`Checker::connection_lost`]).
///
/// A checker spawns no task: dropping it closes everything it holds.
pub struct Checker {
    target: Target,
    probe: Probe,
    /// The kept connection and its share of the process's budget.
    kept: Option<(KeptConnection, KeptSlot)>,
    false_alarms: FalseAlarms,
}

impl Checker {
    /// Prepares the checks of `target`; fails when the configuration cannot work,
    /// e.g. an unreadable `tls_ca_file`.
    pub fn new(target: Target, tls: &TlsContexts) -> Result<Checker, CheckSetupError> {
        let probe = match target.check.as_ref() {
            CheckSpec::Tcp { port } => Probe::Tcp { port: *port },
            CheckSpec::Http(spec) => {
                Probe::Http(Box::new(HttpProbe::new(spec, &target.default_host, tls)?))
            }
            CheckSpec::Dns(spec) => Probe::Dns(DnsProbe::new(spec)),
            CheckSpec::Tls(spec) => {
                Probe::Tls(Box::new(TlsProbe::new(spec, &target.default_host, tls)?))
            }
            CheckSpec::Smtp(spec) => {
                Probe::Smtp(Box::new(SmtpProbe::new(spec, &target.default_host, tls)?))
            }
            CheckSpec::Exec(spec) => Probe::Exec(ExecProbe::new(spec, &target.names)),
        };
        Ok(Checker {
            target,
            probe,
            kept: None,
            false_alarms: FalseAlarms::default(),
        })
    }

    /// Runs one check on a new connection, dropping the connection kept from the
    /// previous one. Takes at most the target's timeout; never panics.
    pub async fn check(&mut self) -> Outcome {
        let kept_survived = self.kept.take().is_some();
        self.false_alarms.check_started(kept_survived);
        let started = Instant::now();
        let timeout = self.target.timeout;
        let mut step = Step::Connecting;
        let result =
            tokio::time::timeout(timeout, self.probe.run(self.target.address, &mut step)).await;
        let elapsed = started.elapsed();
        let outcome = match result {
            Ok(Ok(passed)) => {
                self.kept = passed
                    .kept
                    .and_then(|connection| Some((connection, process_budget().take()?)));
                let mut outcome = Outcome::healthy(passed.detail, elapsed);
                outcome.certificate_expires = passed.certificate_expires;
                outcome.warning = passed.certificate_expires.and_then(|expires| {
                    expiry_warning(expires, self.expiry_warning_days()?, SystemTime::now())
                });
                outcome
            }
            Ok(Err(detail)) => Outcome::unhealthy(detail, elapsed),
            Err(_) => Outcome::unhealthy(timed_out(timeout, step), elapsed),
        };
        if self.false_alarms.check_finished(outcome.healthy) {
            tracing::info!(
                address = %self.target.address,
                "{} closes idle connections by itself; no longer watching them, crashes are noticed by the regular checks",
                self.target.address,
            );
        }
        if !self.false_alarms.watching() {
            self.kept = None;
        }
        outcome
    }

    /// Resolves when the server closes or resets the connection kept from the
    /// last passed check; stays pending forever when no connection is kept.
    ///
    /// Meant to be raced (`select!`) against the check interval: when it
    /// resolves, check again at once. Cancel-safe. It resolves once per kept
    /// connection; afterwards it stays pending until a check keeps a new one.
    pub async fn connection_lost(&mut self) {
        let Some((kept, _)) = &mut self.kept else {
            return std::future::pending().await;
        };
        kept.closed().await;
        self.kept = None;
        self.false_alarms.connection_lost();
    }

    /// How many days before a certificate expires the check warns, if it does.
    fn expiry_warning_days(&self) -> Option<u32> {
        match self.target.check.as_ref() {
            CheckSpec::Http(spec) => spec.expiry_warning_days,
            CheckSpec::Tls(spec) => spec.expiry_warning_days,
            CheckSpec::Smtp(spec) => spec.expiry_warning_days,
            CheckSpec::Tcp { .. } | CheckSpec::Dns(_) | CheckSpec::Exec(_) => None,
        }
    }

    /// Whether a connection from the last passed check is kept and watched.
    pub fn is_watching(&self) -> bool {
        self.kept.is_some()
    }
}

impl fmt::Debug for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checker")
            .field("target", &self.target)
            .field("watching", &self.is_watching())
            .finish_non_exhaustive()
    }
}

impl Probe {
    /// Runs one check against `address`; the caller bounds the time.
    ///
    /// Every address has a task that awaits this future, and a future is as
    /// large as the largest state it can be in: the HTTP, TLS, SMTP, DNS and
    /// exec checks run boxed, so that the task of a TCP check (the common
    /// case at thousands of addresses) holds no TLS handshake's worth of
    /// space while it waits for its next check.
    async fn run(&self, address: IpAddr, step: &mut Step) -> Result<Passed, String> {
        match self {
            Probe::Tcp { port } => {
                let stream = tcp::connect(SocketAddr::new(address, *port)).await?;
                Ok(Passed {
                    detail: "connected".to_owned(),
                    kept: Some(KeptConnection::Tcp(stream)),
                    certificate_expires: None,
                })
            }
            Probe::Http(probe) => Box::pin(probe.run(address, step)).await,
            Probe::Dns(probe) => Box::pin(probe.run(address, step)).await,
            Probe::Tls(probe) => Box::pin(probe.run(address, step)).await,
            Probe::Smtp(probe) => Box::pin(probe.run(address, step)).await,
            Probe::Exec(probe) => Box::pin(probe.run(address, step)).await,
        }
    }
}

/// The warning for a certificate that expires at `expires`, when that is
/// within `days` days of `now` (or already past).
fn expiry_warning(expires: SystemTime, days: u32, now: SystemTime) -> Option<String> {
    const DAY: u64 = 86_400;
    let at = humantime::format_rfc3339_seconds(expires);
    match expires.duration_since(now) {
        Ok(left) if left.as_secs() >= u64::from(days) * DAY => None,
        Ok(left) => Some(format!(
            "the certificate expires in {} day(s), at {at}, within the {days}-day warning",
            left.as_secs() / DAY
        )),
        Err(_) => Some(format!("the certificate expired at {at}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn warns_within_the_configured_days_and_after_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let day = Duration::from_secs(86_400);
        assert_eq!(expiry_warning(now + day * 30, 14, now), None);
        assert_eq!(expiry_warning(now + day * 14, 14, now), None);
        let soon = expiry_warning(now + day * 5 + day / 2, 14, now).unwrap();
        assert_eq!(
            soon,
            "the certificate expires in 5 day(s), at 2027-01-20T20:00:00Z, within the 14-day warning"
        );
        let past = expiry_warning(now - day, 14, now).unwrap();
        assert_eq!(past, "the certificate expired at 2027-01-14T08:00:00Z");
    }
}
