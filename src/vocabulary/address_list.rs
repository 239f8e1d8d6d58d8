//! A list of addresses as logs, errors and pages show it: `192.0.2.1, 2001:db8::1`.

use std::fmt;
use std::net::IpAddr;

/// Shows addresses separated by ", " (nothing for none).
#[derive(Debug, Clone, Copy)]
pub struct AddressList<'a>(pub &'a [IpAddr]);

impl fmt::Display for AddressList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, address) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{address}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_separated_by_commas() {
        let addresses: Vec<IpAddr> =
            vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        assert_eq!(
            AddressList(&addresses).to_string(),
            "192.0.2.1, 2001:db8::1"
        );
        assert_eq!(AddressList(&addresses[..1]).to_string(), "192.0.2.1");
        assert_eq!(AddressList(&[]).to_string(), "");
    }
}
