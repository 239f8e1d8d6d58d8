//! [`TsigKey`]: a TSIG key (RFC 8945) ready to sign, loaded from a BIND key
//! file or from a name, an algorithm and a file holding only the secret.

mod error;
mod load;
mod private_file;
mod user;

use std::fmt;

use hickory_proto::rr::Name;
use ring::hmac;

pub use error::{FileRole, KeyError};

use crate::dns::{Secret, SecretError};
use crate::vocabulary::{KeySource, TsigAlgorithm};

/// A TSIG key ready to sign.
///
/// `Debug` shows the name, algorithm and origin and `<redacted>` for the
/// secret; the secret is wiped from memory when the key is dropped.
#[derive(Clone)]
pub struct TsigKey {
    name: Name,
    algorithm: TsigAlgorithm,
    secret: Secret,
    origin: String,
}

impl TsigKey {
    /// Loads the key the configuration points at: the file (and the secret
    /// file) must be readable by their owner only; the algorithm must be one
    /// of the SHA-2 HMACs; the secret must be non-empty base64.
    pub fn load(source: &KeySource) -> Result<TsigKey, KeyError> {
        let key = match source {
            KeySource::File { path, name } => load::from_key_file(path, name.as_ref())?,
            KeySource::Inline {
                name,
                algorithm,
                secret_file,
            } => load::from_secret_file(name, *algorithm, secret_file)?,
        };
        tracing::debug!(key = %key.origin, algorithm = %key.algorithm, "TSIG key loaded: {} ({})", key.origin, key.algorithm);
        Ok(key)
    }

    /// The key named `wanted` (or the only key) of a BIND key file's
    /// contents, checked as [`TsigKey::load`] checks a key file's; `path`
    /// only names the file in errors.
    pub fn from_key_file_contents(
        contents: &[u8],
        path: &std::path::Path,
        wanted: Option<&Name>,
    ) -> Result<TsigKey, KeyError> {
        load::from_key_file_contents(contents, path, wanted)
    }

    /// A key from its parts; `origin` says where it came from, for messages
    /// (e.g. `key "update-key" from /etc/dnsfailover/update.key`). An empty
    /// secret is refused.
    pub fn new(
        name: Name,
        algorithm: TsigAlgorithm,
        secret: Vec<u8>,
        origin: impl Into<String>,
    ) -> Result<TsigKey, KeyError> {
        TsigKey::from_secret(name, algorithm, Secret::new(secret), origin.into())
    }

    /// A key from an already wrapped secret; the name is made fully qualified.
    fn from_secret(
        mut name: Name,
        algorithm: TsigAlgorithm,
        secret: Secret,
        origin: String,
    ) -> Result<TsigKey, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Secret {
                origin,
                source: SecretError::Empty,
            });
        }
        name.set_fqdn(true);
        Ok(TsigKey {
            name,
            algorithm,
            secret,
            origin,
        })
    }

    /// The key name, fully qualified; it goes on the wire in every TSIG record.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The HMAC algorithm.
    pub fn algorithm(&self) -> TsigAlgorithm {
        self.algorithm
    }

    /// Where the key came from, for messages: `key "update-key" from /etc/dnsfailover/update.key`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The secret, for a TSIG implementation that needs the raw key bytes.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The full-length HMAC of `data`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.hmac_key(), data).as_ref().to_vec()
    }

    /// Whether `mac` is the full-length HMAC of `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], mac: &[u8]) -> bool {
        hmac::verify(&self.hmac_key(), data, mac).is_ok()
    }

    /// The HMAC key, derived per call: the derived state is as good as the
    /// secret, and ring does not wipe it, so it is kept no longer than needed.
    fn hmac_key(&self) -> hmac::Key {
        hmac::Key::new(self.algorithm.hmac(), self.secret.expose())
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TsigKey")
            .field("name", &self.name.to_string())
            .field("algorithm", &self.algorithm)
            .field("origin", &self.origin)
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const RFC4231_DATA: &[u8] = b"what do ya want for nothing?";
    const RFC4231_SHA256: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn jefe(algorithm: TsigAlgorithm) -> TsigKey {
        let name = Name::from_ascii("jefe").unwrap();
        TsigKey::new(
            name,
            algorithm,
            b"Jefe".to_vec(),
            "key \"jefe\" from a test",
        )
        .unwrap()
    }

    #[test]
    fn signs_like_rfc_4231_and_verifies_only_the_exact_mac() {
        let key = jefe(TsigAlgorithm::HmacSha256);
        let mac = key.sign(RFC4231_DATA);
        assert_eq!(hex(&mac), RFC4231_SHA256);
        assert!(key.verify(RFC4231_DATA, &mac));
        assert!(!key.verify(b"what do ya want for something?", &mac));
        assert!(
            !key.verify(RFC4231_DATA, &mac[..16]),
            "truncated MACs are not accepted"
        );
        let mut tampered = mac.clone();
        tampered[31] ^= 1;
        assert!(!key.verify(RFC4231_DATA, &tampered));
    }

    #[test]
    fn mac_length_follows_the_algorithm() {
        for algorithm in [
            TsigAlgorithm::HmacSha256,
            TsigAlgorithm::HmacSha384,
            TsigAlgorithm::HmacSha512,
        ] {
            assert_eq!(jefe(algorithm).sign(b"x").len(), algorithm.mac_len());
        }
    }

    #[test]
    fn new_refuses_an_empty_secret_and_qualifies_the_name() {
        let name = Name::from_ascii("update-key").unwrap();
        let error = TsigKey::new(
            name.clone(),
            TsigAlgorithm::HmacSha256,
            Vec::new(),
            "key \"update-key\"",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("key \"update-key\": the secret is empty"),
            "{error}"
        );
        let key = TsigKey::new(name, TsigAlgorithm::HmacSha256, vec![7; 32], "here").unwrap();
        assert!(key.name().is_fqdn());
        assert_eq!(key.name().to_string(), "update-key.");
        assert_eq!(key.algorithm(), TsigAlgorithm::HmacSha256);
        assert_eq!(key.origin(), "here");
        assert_eq!(key.secret().expose(), &[7; 32]);
    }

    #[test]
    fn debug_shows_name_algorithm_origin_and_hides_the_secret() {
        let key = jefe(TsigAlgorithm::HmacSha512);
        let debug = format!("{key:?}");
        assert!(debug.contains("jefe."), "{debug}");
        assert!(debug.contains("HmacSha512"), "{debug}");
        assert!(debug.contains("from a test"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains("Jefe"), "{debug}");
        assert!(!debug.contains(&hex(b"Jefe")), "{debug}");
    }
}
