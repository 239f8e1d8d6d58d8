//! [`Secret`]: bytes that must never be shown, logged or left behind in memory.

use std::fmt;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::{alphabet, DecodeError, DecodeSliceError, Engine};
use zeroize::Zeroizing;

/// Standard base64 alphabet, padding optional, as BIND accepts a `secret`.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Secret bytes: a TSIG secret, its base64 text, or a file that holds one.
///
/// `Debug` prints `Secret(<redacted>)` and there is deliberately no `Display`,
/// so a secret cannot end up in a log line or an error message by accident.
/// The bytes (the whole allocation) are overwritten with zeros on drop.
#[derive(Clone, Default)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// Takes ownership of `bytes`; they are wiped when the `Secret` is dropped.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// An empty secret that can grow to `capacity` bytes without reallocating
    /// (a reallocation would leave an unwiped copy behind).
    pub(crate) fn with_capacity(capacity: usize) -> Secret {
        Secret::new(Vec::with_capacity(capacity))
    }

    /// The buffer, for filling it in place (e.g. with `Read::read_to_end`).
    pub(crate) fn buffer_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// The secret bytes. Only hand them to code that needs the key itself
    /// (an HMAC); never format them.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Decodes this secret as base64 text the way BIND reads a `secret`:
    /// standard alphabet, padding optional, whitespace anywhere ignored.
    /// Errors say where the problem is, never what the text holds.
    pub fn decode_base64(&self) -> Result<Secret, SecretError> {
        let mut compact = Secret::with_capacity(self.len());
        let symbols = self.bytes.iter().filter(|byte| !byte.is_ascii_whitespace());
        compact.bytes.extend(symbols);
        if compact.is_empty() {
            return Err(SecretError::Empty);
        }
        let estimate = base64::decoded_len_estimate(compact.len());
        let mut decoded = Secret::new(vec![0; estimate]);
        match BASE64.decode_slice(compact.expose(), &mut decoded.bytes) {
            Ok(0) => Err(SecretError::Empty),
            Ok(length) => {
                decoded.bytes.truncate(length);
                Ok(decoded)
            }
            Err(DecodeSliceError::DecodeError(error)) => Err(self.describe(error)),
            Err(DecodeSliceError::OutputSliceTooSmall) => Err(SecretError::InvalidLength),
        }
    }

    /// Turns a decoder error into one that carries positions only.
    fn describe(&self, error: DecodeError) -> SecretError {
        match error {
            DecodeError::InvalidByte(index, _) => SecretError::InvalidCharacter {
                position: self.position_of_symbol(index),
            },
            DecodeError::InvalidLastSymbol(index, _) => SecretError::InvalidEnding {
                position: self.position_of_symbol(index),
            },
            DecodeError::InvalidLength(_) => SecretError::InvalidLength,
            DecodeError::InvalidPadding => SecretError::InvalidPadding,
        }
    }

    /// 1-based position in the original text of the `index`-th non-whitespace byte.
    fn position_of_symbol(&self, index: usize) -> usize {
        self.bytes
            .iter()
            .enumerate()
            .filter(|(_, byte)| !byte.is_ascii_whitespace())
            .nth(index)
            .map_or(self.len(), |(position, _)| position + 1)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

/// Why a base64 secret could not be decoded. Carries positions, never content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Nothing but whitespace.
    #[error("the secret is empty: generate one with `tsig-keygen -a hmac-sha256 NAME`")]
    Empty,
    /// A character outside the standard base64 alphabet, or `=` before the end.
    #[error(
        "the secret is not valid base64: character {position} is not in the standard \
         alphabet (A-Z a-z 0-9 + /, with = only as padding at the end); copy the secret \
         exactly as tsig-keygen wrote it"
    )]
    InvalidCharacter {
        /// 1-based position of the offending character in the secret text.
        position: usize,
    },
    /// The last character carries bits that belong to no byte.
    #[error(
        "the secret is not valid base64: character {position} ends it with bits that \
         belong to no byte; was it cut short? copy the secret exactly as tsig-keygen wrote it"
    )]
    InvalidEnding {
        /// 1-based position of the offending character in the secret text.
        position: usize,
    },
    /// A number of characters no base64 encoding can have.
    #[error(
        "the secret is not valid base64: its length is impossible for base64; was it cut \
         short? copy the secret exactly as tsig-keygen wrote it"
    )]
    InvalidLength,
    /// `=` padding in the wrong amount.
    #[error("the secret is not valid base64: its `=` padding is wrong; copy the secret exactly as tsig-keygen wrote it")]
    InvalidPadding,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Secret {
        Secret::new(value.as_bytes().to_vec())
    }

    #[test]
    fn debug_is_redacted() {
        let secret = text("c2VjcmV0LXZhbHVl");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{secret:#?}"), "Secret(<redacted>)");
    }

    #[test]
    fn decodes_with_or_without_padding_and_with_inner_whitespace() {
        for encoded in ["SmVmZQ==", "SmVmZQ", " SmVm\n ZQ==\n", "Sm\tVm ZQ = ="] {
            let decoded = text(encoded).decode_base64().unwrap();
            assert_eq!(decoded.expose(), b"Jefe", "{encoded:?}");
        }
    }

    #[test]
    fn reports_the_position_of_a_bad_character_counting_whitespace() {
        let error = text("  AB-D").decode_base64().unwrap_err();
        assert_eq!(error, SecretError::InvalidCharacter { position: 5 });
        assert!(error.to_string().contains("character 5"), "{error}");
    }

    #[test]
    fn refuses_empty_truncated_and_badly_padded_text() {
        assert_eq!(
            text(" \n\t").decode_base64().unwrap_err(),
            SecretError::Empty
        );
        assert_eq!(text("").decode_base64().unwrap_err(), SecretError::Empty);
        assert_eq!(
            text("QUJDR").decode_base64().unwrap_err(),
            SecretError::InvalidLength
        );
        for (overpadded, position) in [("QUJD=", 5), ("QQ===", 3)] {
            let error = text(overpadded).decode_base64().unwrap_err();
            assert_eq!(
                error,
                SecretError::InvalidCharacter { position },
                "{overpadded}"
            );
        }
        assert!(matches!(
            text("QR==").decode_base64().unwrap_err(),
            SecretError::InvalidEnding { position: 2 }
        ));
    }

    #[test]
    fn error_messages_hold_no_part_of_the_secret() {
        let secret = "Zm9vYmFy_xqzwkjhQ";
        let message = text(secret).decode_base64().unwrap_err().to_string();
        for window in secret.as_bytes().windows(4) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!message.contains(window), "{message:?} holds {window:?}");
        }
    }

    #[test]
    fn clone_keeps_the_bytes() {
        let secret = Secret::new(vec![1, 2, 3]);
        assert_eq!(secret.clone().expose(), &[1, 2, 3]);
        assert_eq!(secret.len(), 3);
        assert!(!secret.is_empty());
    }
}
