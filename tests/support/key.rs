//! TSIG keys shared between a test server and the clients under test.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

/// Algorithm of every generated key: the one both servers and the agent support.
const GENERATED_ALGORITHM: &str = "hmac-sha256";

/// Length of a generated secret in bytes (the HMAC-SHA256 output length).
const SECRET_LEN: usize = 32;

/// A TSIG key known to a test server.
#[derive(Clone, PartialEq, Eq)]
pub struct TestKey {
    /// Key name as it appears on the wire, e.g. `"agent.example.test."`.
    pub name: String,
    /// Algorithm name in BIND/Knot spelling, e.g. `"hmac-sha256"`.
    pub algorithm: String,
    /// Base64 secret.
    pub secret: String,
}

impl std::fmt::Debug for TestKey {
    /// Shows name and algorithm only, so assertion messages never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TestKey {
    /// Creates an `hmac-sha256` key with a random 32-byte secret.
    pub fn generate(name: &str) -> TestKey {
        TestKey {
            name: name.to_string(),
            algorithm: GENERATED_ALGORITHM.to_string(),
            secret: base64::engine::general_purpose::STANDARD.encode(random_bytes::<SECRET_LEN>()),
        }
    }

    /// The key as a BIND `key` statement (also the format `nsupdate -k` reads).
    pub fn bind_statement(&self) -> String {
        format!(
            "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
            self.name, self.algorithm, self.secret
        )
    }

    /// Writes the key as a BIND key file readable by its owner only (mode 0600).
    pub fn write_bind_key_file(&self, path: &Path) {
        if path.exists() {
            fs::remove_file(path)
                .unwrap_or_else(|e| panic!("removing old key file {}: {e}", path.display()));
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .unwrap_or_else(|e| panic!("creating key file {}: {e}", path.display()));
        file.write_all(self.bind_statement().as_bytes())
            .unwrap_or_else(|e| panic!("writing key file {}: {e}", path.display()));
    }
}

/// Returns `N` bytes from the operating system's random source.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source failed");
    bytes
}
