//! Where the TSIG key comes from, as the configuration names it.

use std::path::PathBuf;

use hickory_proto::rr::Name;

use super::algorithm::TsigAlgorithm;

/// Where the TSIG key comes from. Only paths are held here; the secret is read
/// by `dns::TsigKey` so that it never sits in the configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// A BIND key file as written by `tsig-keygen`. `name` picks one key when the
    /// file holds several; `None` means the file must hold exactly one.
    File { path: PathBuf, name: Option<Name> },
    /// Key name and algorithm in the YAML, the base64 secret alone in `secret_file`.
    Inline {
        name: Name,
        algorithm: TsigAlgorithm,
        secret_file: PathBuf,
    },
}
