//! [`KeyError`]: why a TSIG key could not be loaded, and what to do about it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::user::User;
use crate::dns::{KeyFileError, SecretError};
use crate::vocabulary::AlgorithmError;

/// Which kind of file a [`KeyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// A BIND key file (`key "name" { ... };`).
    KeyFile,
    /// A file holding only the base64 secret.
    SecretFile,
}

impl fmt::Display for FileRole {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            FileRole::KeyFile => "key file",
            FileRole::SecretFile => "secret file",
        })
    }
}

/// Why a TSIG key could not be loaded. Every message names the file (or the
/// key and its file) and says what to do; none contains any part of a secret.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be opened or read.
    #[error(
        "cannot read {role} {path}: {source}; check the path and that the user dnsfailover \
         runs as may read the file"
    )]
    Read {
        /// Key file or secret file.
        role: FileRole,
        /// The path as configured.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The path is a directory, a device or similar.
    #[error("{role} {path} is not a regular file: point the configuration at the file itself")]
    NotAFile {
        /// Key file or secret file.
        role: FileRole,
        /// The path as configured.
        path: PathBuf,
    },
    /// Group or others may read or write the file.
    #[error(
        "{role} {path}{} can be read or written by group or others (mode {mode:04o}): \
         run `chmod 600 {path}` and make the file owned by the user dnsfailover runs as",
        symlink_note(target)
    )]
    Permissions {
        /// Key file or secret file.
        role: FileRole,
        /// The path as configured.
        path: PathBuf,
        /// Where the path leads when it is a symlink (whose target's mode was checked).
        target: Option<PathBuf>,
        /// The permission bits found.
        mode: u32,
    },
    /// Owned by a user other than root and the one the agent runs as, who
    /// could therefore replace the key.
    #[error(
        "{role} {path}{} is owned by {owner}, but dnsfailover runs as {agent}: that user could \
         replace the key; run `chown {} {path}` (root may own it too)",
        symlink_note(target),
        agent.chown_name()
    )]
    Owner {
        /// Key file or secret file.
        role: FileRole,
        /// The path as configured.
        path: PathBuf,
        /// Where the path leads when it is a symlink (whose target's owner was checked).
        target: Option<PathBuf>,
        /// The file's owner.
        owner: User,
        /// The user the agent runs as (its effective user).
        agent: User,
    },
    /// Larger than any key file could be.
    #[error(
        "{role} {path} is larger than {limit} bytes, far more than a key needs: point the \
         configuration at a file holding only the key"
    )]
    TooLarge {
        /// Key file or secret file.
        role: FileRole,
        /// The path as configured.
        path: PathBuf,
        /// The size limit in bytes.
        limit: u64,
    },
    /// Bytes that are not UTF-8 text.
    #[error(
        "{role} {path} is not text (byte {position} is not UTF-8): write it again with \
         tsig-keygen, or as plain ASCII"
    )]
    NotText {
        /// Key file or secret file.
        role: FileRole,
        /// The path as configured.
        path: PathBuf,
        /// 1-based offset of the first byte that is not UTF-8.
        position: usize,
    },
    /// A syntax error in a key file.
    #[error("{path}:{}:{}: {}", error.line, error.column, error.message)]
    Syntax {
        /// The key file.
        path: PathBuf,
        /// Line, column and message.
        error: KeyFileError,
    },
    /// The key file holds no `key` statement.
    #[error(
        "key file {path} holds no `key \"name\" {{ algorithm ...; secret \"...\"; }};` statement: \
         write one with `tsig-keygen -a hmac-sha256 NAME > {path}` (a file holding only the \
         base64 secret belongs in secret_file, with the key name and algorithm in the configuration)"
    )]
    NoKeys {
        /// The key file.
        path: PathBuf,
    },
    /// Several keys and no name to pick one.
    #[error(
        "key file {path} holds several keys ({}): set key_name to the one dnsfailover should use",
        quoted_list(names)
    )]
    SeveralKeys {
        /// The key file.
        path: PathBuf,
        /// The names of the keys in the file, in file order.
        names: Vec<String>,
    },
    /// The configured key name is not in the file.
    #[error(
        "key file {path} holds no key named \"{wanted}\"; it holds {}: correct key_name or the file",
        quoted_list(names)
    )]
    NotFound {
        /// The key file.
        path: PathBuf,
        /// The configured name.
        wanted: String,
        /// The names of the keys in the file, in file order.
        names: Vec<String>,
    },
    /// The same key name twice in one file.
    #[error(
        "key file {path} defines key \"{name}\" twice (lines {first_line} and {second_line}): \
         remove one of them"
    )]
    DuplicateKey {
        /// The key file.
        path: PathBuf,
        /// The repeated name.
        name: String,
        /// Line of the first definition.
        first_line: usize,
        /// Line of the second definition.
        second_line: usize,
    },
    /// An algorithm that is refused (MD5, SHA-1) or unknown.
    #[error("{origin}: {source}")]
    Algorithm {
        /// The key and its file, e.g. `key "k" from /etc/k.key, line 3`.
        origin: String,
        /// Why the algorithm is refused.
        source: AlgorithmError,
    },
    /// The algorithm text is no algorithm name; it is not shown, in case it is
    /// a secret written in the wrong place.
    #[error(
        "{origin}: the algorithm is not a TSIG algorithm name (not shown, in case it is the \
         secret in the wrong clause): write `algorithm hmac-sha256;`"
    )]
    UnrecognisedAlgorithm {
        /// The key and its file.
        origin: String,
    },
    /// The secret is not valid base64, or empty.
    #[error("{origin}: {source}")]
    Secret {
        /// The key and its file.
        origin: String,
        /// What is wrong, by position only.
        source: SecretError,
    },
    /// A secret file that holds a whole BIND key statement instead of the bare secret.
    #[error(
        "secret file {path} looks like a BIND key file (it contains `{{`), but a secret file \
         holds only the base64 secret: configure {path} as the key file instead"
    )]
    SecretFileHoldsKeyStatement {
        /// The secret file.
        path: PathBuf,
    },
    /// The key name is not a valid DNS name.
    #[error(
        "{origin}: the key name is not a valid DNS name ({reason}): rename the key, on the \
         nameserver too"
    )]
    InvalidName {
        /// The key and its file.
        origin: String,
        /// What the DNS name parser objected to.
        reason: String,
    },
}

/// " (a symlink to TARGET)" when the configured path is a symlink.
fn symlink_note(target: &Option<PathBuf>) -> String {
    target
        .as_ref()
        .map(|target| format!(" (a symlink to {})", target.display()))
        .unwrap_or_default()
}

/// `"a", "b"` for error messages.
fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("\"{name}\"")).collect();
    quoted.join(", ")
}
