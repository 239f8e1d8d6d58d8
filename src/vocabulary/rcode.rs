//! Response codes by the names operators know from dig and server logs.

use hickory_proto::op::ResponseCode;

/// The RFC mnemonic of the response codes an UPDATE or query is answered
/// with (RFC 1035, RFC 2136); `None` for the others.
pub fn rcode_mnemonic(rcode: ResponseCode) -> Option<&'static str> {
    Some(match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::YXRRSet => "YXRRSET",
        ResponseCode::NXRRSet => "NXRRSET",
        ResponseCode::NotAuth => "NOTAUTH",
        ResponseCode::NotZone => "NOTZONE",
        _ => return None,
    })
}

/// The mnemonic of a response code, or `RCODE N` for a code without one.
pub fn rcode_name(rcode: ResponseCode) -> String {
    rcode_mnemonic(rcode).map_or_else(|| format!("RCODE {}", u16::from(rcode)), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_known_codes_and_numbers_the_rest() {
        assert_eq!(rcode_name(ResponseCode::NotAuth), "NOTAUTH");
        assert_eq!(rcode_name(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode_name(ResponseCode::from_low(12)), "RCODE 12");
    }
}
