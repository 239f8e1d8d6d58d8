//! Which transport carries requests to the nameserver.

use std::fmt;

/// The transport for requests to the nameserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// TCP (default): RFC 2136 §7.8, only TCP gives an accurate response code.
    #[default]
    Tcp,
    /// UDP: one datagram per request, never retransmitted by this layer.
    Udp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        })
    }
}
