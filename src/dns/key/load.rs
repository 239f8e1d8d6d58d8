//! Loading a [`TsigKey`] from a BIND key file or from a secret file.

use std::path::Path;

use hickory_proto::rr::Name;

use super::error::{FileRole, KeyError};
use super::private_file::read_private_file;
use super::TsigKey;
use crate::dns::{looks_like_algorithm_name, parse_key_file, KeyEntry};
use crate::vocabulary::{AlgorithmError, TsigAlgorithm};

/// The key named `wanted` (or the only key) of the BIND key file at `path`.
pub(super) fn from_key_file(path: &Path, wanted: Option<&Name>) -> Result<TsigKey, KeyError> {
    let contents = read_private_file(path, FileRole::KeyFile)?;
    from_key_file_contents(contents.expose(), path, wanted)
}

/// The key named `wanted` (or the only key) of a BIND key file's contents;
/// `path` only names the file in errors.
pub(super) fn from_key_file_contents(
    contents: &[u8],
    path: &Path,
    wanted: Option<&Name>,
) -> Result<TsigKey, KeyError> {
    let text = std::str::from_utf8(contents).map_err(|error| KeyError::NotText {
        role: FileRole::KeyFile,
        path: path.to_path_buf(),
        position: error.valid_up_to() + 1,
    })?;
    let entries = parse_key_file(text).map_err(|error| KeyError::Syntax {
        path: path.to_path_buf(),
        error,
    })?;
    refuse_duplicates(&entries, path)?;
    let entry = pick(entries, wanted, path)?;
    let origin = format!("key \"{}\" from {}", entry.name, path.display());
    let located = format!("{origin}, line {}", entry.line);
    let algorithm = parse_algorithm(&entry.algorithm, &located)?;
    let name = Name::from_ascii(&entry.name).map_err(|error| KeyError::InvalidName {
        origin: located.clone(),
        reason: error.to_string(),
    })?;
    let secret = entry
        .secret
        .decode_base64()
        .map_err(|source| KeyError::Secret {
            origin: located,
            source,
        })?;
    TsigKey::from_secret(name, algorithm, secret, origin)
}

/// The key `name` with `algorithm`, its secret alone (base64) in the file at `path`.
pub(super) fn from_secret_file(
    name: &Name,
    algorithm: TsigAlgorithm,
    path: &Path,
) -> Result<TsigKey, KeyError> {
    let contents = read_private_file(path, FileRole::SecretFile)?;
    let shown_name = name.to_string();
    let origin = format!(
        "key \"{}\" with its secret in {}",
        shown_name.trim_end_matches('.'),
        path.display()
    );
    let secret = contents.decode_base64().map_err(|source| {
        if contents.expose().contains(&b'{') {
            KeyError::SecretFileHoldsKeyStatement {
                path: path.to_path_buf(),
            }
        } else {
            KeyError::Secret {
                origin: origin.clone(),
                source,
            }
        }
    })?;
    TsigKey::from_secret(name.clone(), algorithm, secret, origin)
}

/// Refuses a file that defines one key name twice (BIND refuses it too).
fn refuse_duplicates(entries: &[KeyEntry], path: &Path) -> Result<(), KeyError> {
    for (index, later) in entries.iter().enumerate() {
        let earlier = entries[..index]
            .iter()
            .find(|earlier| same_key_name(&earlier.name, &later.name));
        if let Some(earlier) = earlier {
            return Err(KeyError::DuplicateKey {
                path: path.to_path_buf(),
                name: later.name.clone(),
                first_line: earlier.line,
                second_line: later.line,
            });
        }
    }
    Ok(())
}

/// The entry named `wanted`, or the only entry when no name is configured.
fn pick(
    mut entries: Vec<KeyEntry>,
    wanted: Option<&Name>,
    path: &Path,
) -> Result<KeyEntry, KeyError> {
    let names = |entries: &[KeyEntry]| entries.iter().map(|entry| entry.name.clone()).collect();
    if entries.is_empty() {
        return Err(KeyError::NoKeys {
            path: path.to_path_buf(),
        });
    }
    match wanted {
        None if entries.len() == 1 => Ok(entries.remove(0)),
        None => Err(KeyError::SeveralKeys {
            path: path.to_path_buf(),
            names: names(&entries),
        }),
        Some(wanted) => {
            let wanted = wanted.to_string();
            match entries
                .iter()
                .position(|entry| same_key_name(&entry.name, &wanted))
            {
                Some(index) => Ok(entries.swap_remove(index)),
                None => Err(KeyError::NotFound {
                    path: path.to_path_buf(),
                    wanted: wanted.trim_end_matches('.').to_string(),
                    names: names(&entries),
                }),
            }
        }
    }
}

/// Key names compare like DNS names: case-insensitively, a trailing dot ignored.
fn same_key_name(left: &str, right: &str) -> bool {
    left.trim_end_matches('.')
        .eq_ignore_ascii_case(right.trim_end_matches('.'))
}

/// The algorithm, or an error naming the key. Text that is not even shaped
/// like an algorithm name is not repeated: it may be a misplaced secret.
fn parse_algorithm(text: &str, origin: &str) -> Result<TsigAlgorithm, KeyError> {
    text.parse().map_err(|source| match source {
        AlgorithmError::Unknown(_) if !looks_like_algorithm_name(text) => {
            KeyError::UnrecognisedAlgorithm {
                origin: origin.to_string(),
            }
        }
        source => KeyError::Algorithm {
            origin: origin.to_string(),
            source,
        },
    })
}

#[cfg(test)]
mod tests;
