//! Why an RRset has to be published: one phrase for the log and `plan` output.

use std::fmt;
use std::net::IpAddr;

use crate::vocabulary::AddressList;

/// Why the published RRset differs from the one that should be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishReason {
    /// No RRset of this family is published yet.
    Missing,
    /// The published server is down; `to` is the first server that is up.
    /// `down` lists the servers before it that are down, in order.
    Failover { down: Vec<String>, to: String },
    /// A server earlier in the list than the published one is up again.
    Failback { to: String },
    /// The same server stays, but the set of its up addresses changed.
    AddressesChanged { server: String },
    /// The published addresses belong to several servers, not to one.
    Mixed,
    /// The published RRset holds addresses not in the configuration and
    /// `takeover` allows replacing them.
    Takeover { foreign: Vec<IpAddr> },
    /// Every server is down and `when_all_down: first` publishes the first one.
    AllDownFirst { server: String },
    /// The addresses are right but the TTL is not.
    TtlDiffers { published: u32, configured: u32 },
    /// An operator pinned the record to this server (`dnsfailover pin`).
    Pinned { by: u32, reason: String },
    /// `mode: all`: servers join the published pool (`added`, up again)
    /// or leave it (`removed`, down).
    PoolChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
}

impl fmt::Display for PublishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishReason::Missing => f.write_str("RRset missing"),
            PublishReason::Failover { down, to } => {
                let verb = if down.len() == 1 { "is" } else { "are" };
                write!(
                    f,
                    "{} {verb} down, {to} is the first server up",
                    down.join(", ")
                )
            }
            PublishReason::Failback { to } => write!(f, "failback: {to} is up again"),
            PublishReason::PoolChanged { added, removed } => {
                let mut parts = Vec::new();
                if !removed.is_empty() {
                    parts.push(format!(
                        "{} left out of the pool (down)",
                        removed.join(", ")
                    ));
                }
                if !added.is_empty() {
                    parts.push(format!("{} back in the pool (up)", added.join(", ")));
                }
                f.write_str(&parts.join("; "))
            }
            PublishReason::AddressesChanged { server } => {
                write!(f, "the up addresses of {server} changed")
            }
            PublishReason::Mixed => {
                f.write_str("the published addresses belong to more than one server")
            }
            PublishReason::Takeover { foreign } => {
                write!(
                    f,
                    "takeover: replacing addresses not in the configuration: {}",
                    AddressList(foreign)
                )
            }
            PublishReason::AllDownFirst { server } => write!(
                f,
                "every server is down; when_all_down: first publishes {server}"
            ),
            PublishReason::TtlDiffers {
                published,
                configured,
            } => write!(
                f,
                "ttl differs: published {published}, configured {configured}"
            ),
            PublishReason::Pinned { by, reason } if reason.is_empty() => {
                write!(f, "pinned by uid {by}")
            }
            PublishReason::Pinned { by, reason } => write!(f, "pinned by uid {by}: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_sentences() {
        let cases = [
            (PublishReason::Missing, "RRset missing"),
            (
                PublishReason::Failover {
                    down: vec!["web1".into()],
                    to: "web2".into(),
                },
                "web1 is down, web2 is the first server up",
            ),
            (
                PublishReason::Failover {
                    down: vec!["web1".into(), "web2".into()],
                    to: "web3".into(),
                },
                "web1, web2 are down, web3 is the first server up",
            ),
            (
                PublishReason::Failback { to: "web1".into() },
                "failback: web1 is up again",
            ),
            (
                PublishReason::AddressesChanged {
                    server: "web1".into(),
                },
                "the up addresses of web1 changed",
            ),
            (
                PublishReason::Mixed,
                "the published addresses belong to more than one server",
            ),
            (
                PublishReason::Takeover {
                    foreign: vec!["192.0.2.9".parse().unwrap(), "2001:db8::9".parse().unwrap()],
                },
                "takeover: replacing addresses not in the configuration: 192.0.2.9, 2001:db8::9",
            ),
            (
                PublishReason::AllDownFirst {
                    server: "web1".into(),
                },
                "every server is down; when_all_down: first publishes web1",
            ),
            (
                PublishReason::TtlDiffers {
                    published: 300,
                    configured: 60,
                },
                "ttl differs: published 300, configured 60",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }
}
