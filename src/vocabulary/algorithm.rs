//! TSIG algorithms accepted by dnsfailover (RFC 8945 §6).

use std::fmt;
use std::str::FromStr;

/// A TSIG HMAC algorithm. Only the SHA-2 family is accepted: RFC 8945 §6 says
/// HMAC-MD5 MUST NOT be used and HMAC-SHA1 is not recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsigAlgorithm {
    /// `hmac-sha256` (recommended, what `tsig-keygen` writes by default).
    HmacSha256,
    /// `hmac-sha384`.
    HmacSha384,
    /// `hmac-sha512`.
    HmacSha512,
}

impl TsigAlgorithm {
    /// The algorithm's name as BIND writes it and as it goes on the wire.
    pub fn name(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// The matching HMAC in `ring`.
    pub fn hmac(self) -> ring::hmac::Algorithm {
        match self {
            TsigAlgorithm::HmacSha256 => ring::hmac::HMAC_SHA256,
            TsigAlgorithm::HmacSha384 => ring::hmac::HMAC_SHA384,
            TsigAlgorithm::HmacSha512 => ring::hmac::HMAC_SHA512,
        }
    }

    /// Length of an untruncated MAC in bytes.
    pub fn mac_len(self) -> usize {
        match self {
            TsigAlgorithm::HmacSha256 => 32,
            TsigAlgorithm::HmacSha384 => 48,
            TsigAlgorithm::HmacSha512 => 64,
        }
    }
}

impl fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an algorithm name was not accepted; the message says what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgorithmError {
    /// HMAC-MD5 is forbidden by RFC 8945 §6.
    #[error("algorithm {0} is refused: RFC 8945 forbids HMAC-MD5 for TSIG; generate a new key with `tsig-keygen -a hmac-sha256 NAME`")]
    Md5(String),
    /// SHA-1 and SHA-224 are not accepted.
    #[error("algorithm {0} is refused: use hmac-sha256 (recommended by RFC 8945), hmac-sha384 or hmac-sha512; generate a new key with `tsig-keygen -a hmac-sha256 NAME`")]
    Weak(String),
    /// A name that is no TSIG algorithm at all.
    #[error("unknown algorithm {0:?}: expected hmac-sha256, hmac-sha384 or hmac-sha512")]
    Unknown(String),
}

impl FromStr for TsigAlgorithm {
    type Err = AlgorithmError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim_end_matches('.').to_ascii_lowercase();
        match lower.as_str() {
            "hmac-sha256" => Ok(TsigAlgorithm::HmacSha256),
            "hmac-sha384" => Ok(TsigAlgorithm::HmacSha384),
            "hmac-sha512" => Ok(TsigAlgorithm::HmacSha512),
            "hmac-md5" | "hmac-md5.sig-alg.reg.int" => Err(AlgorithmError::Md5(text.to_string())),
            "hmac-sha1" | "hmac-sha224" => Err(AlgorithmError::Weak(text.to_string())),
            _ => Err(AlgorithmError::Unknown(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sha2_names_in_any_case() {
        assert_eq!("HMAC-SHA256".parse(), Ok(TsigAlgorithm::HmacSha256));
        assert_eq!("hmac-sha384.".parse(), Ok(TsigAlgorithm::HmacSha384));
        assert_eq!("hmac-sha512".parse(), Ok(TsigAlgorithm::HmacSha512));
    }

    #[test]
    fn refuses_md5_with_the_reason_and_the_fix() {
        let error = "hmac-md5".parse::<TsigAlgorithm>().unwrap_err();
        let message = error.to_string();
        assert!(message.contains("RFC 8945"), "{message}");
        assert!(message.contains("tsig-keygen -a hmac-sha256"), "{message}");
    }
}
