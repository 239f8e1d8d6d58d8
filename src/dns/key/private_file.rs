//! Reading a file that holds a secret: only if no one but its owner may read
//! or write it, and straight into a [`Secret`] so the contents are wiped.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::{FileRole, KeyError};
use super::user::User;
use crate::dns::Secret;

/// The largest key or secret file read. A named.conf fragment with a few
/// keys is a few kilobytes; anything near this size is the wrong file.
pub(super) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Permission bits that give group or others any access.
const GROUP_AND_OTHER_BITS: u32 = 0o077;

/// Reads `path` (following symlinks) if its mode gives group and others no
/// access and it is owned by root or by the user the agent runs as.
///
/// Mode and owner are checked on the opened file, so they are those of the
/// file actually read, the symlink's target included.
pub(super) fn read_private_file(path: &Path, role: FileRole) -> Result<Secret, KeyError> {
    let read_error = |source| KeyError::Read {
        role,
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    if !metadata.is_file() {
        return Err(KeyError::NotAFile {
            role,
            path: path.to_path_buf(),
        });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & GROUP_AND_OTHER_BITS != 0 {
        return Err(KeyError::Permissions {
            role,
            path: path.to_path_buf(),
            target: symlink_target(path),
            mode,
        });
    }
    let agent = rustix::process::geteuid().as_raw();
    if !may_own_secret(metadata.uid(), agent) {
        return Err(KeyError::Owner {
            role,
            path: path.to_path_buf(),
            target: symlink_target(path),
            owner: User::with_uid(metadata.uid()),
            agent: User::effective(),
        });
    }
    let too_large = || KeyError::TooLarge {
        role,
        path: path.to_path_buf(),
        limit: MAX_FILE_BYTES,
    };
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    // Room for the whole file plus one byte, so reading it never reallocates.
    let mut contents = Secret::with_capacity(metadata.len() as usize + 1);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(contents.buffer_mut())
        .map_err(read_error)?;
    if contents.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(contents)
}

/// Whether a file owned by `owner` may hold a secret for an agent running
/// as `agent`: root and the agent's own user are trusted, no one else.
fn may_own_secret(owner: u32, agent: u32) -> bool {
    owner == 0 || owner == agent
}

/// The fully resolved target when `path` is a symlink.
fn symlink_target(path: &Path) -> Option<PathBuf> {
    let is_symlink = fs::symlink_metadata(path).is_ok_and(|metadata| metadata.is_symlink());
    if is_symlink {
        fs::canonicalize(path).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::symlink;

    fn write_with_mode(path: &Path, contents: &str, mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn reads_an_owner_only_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("update.key");
        write_with_mode(&path, "key contents", 0o600);
        let contents = read_private_file(&path, FileRole::KeyFile).unwrap();
        assert_eq!(contents.expose(), b"key contents");
        write_with_mode(&path, "read only", 0o400);
        assert!(read_private_file(&path, FileRole::KeyFile).is_ok());
    }

    #[test]
    fn refuses_group_or_other_access_with_the_chmod_fix() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("update.key");
        for mode in [0o640, 0o604, 0o620, 0o602, 0o644, 0o610] {
            write_with_mode(&path, "x", mode);
            let error = read_private_file(&path, FileRole::KeyFile).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, KeyError::Permissions { mode: found, .. } if found == mode));
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
            assert!(message.contains(&format!("mode {mode:04o}")), "{message}");
            assert!(
                message.contains("owned by the user dnsfailover runs as"),
                "{message}"
            );
        }
    }

    #[test]
    fn checks_the_mode_of_a_symlink_target_and_names_the_target() {
        let directory = tempfile::tempdir().unwrap();
        let target = directory.path().join("real.key");
        let link = directory.path().join("link.key");
        write_with_mode(&target, "secret", 0o644);
        symlink(&target, &link).unwrap();
        let message = read_private_file(&link, FileRole::SecretFile)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("secret file "), "{message}");
        assert!(message.contains("a symlink to"), "{message}");
        assert!(message.contains("real.key"), "{message}");
        fs::set_permissions(&target, Permissions::from_mode(0o600)).unwrap();
        assert!(read_private_file(&link, FileRole::SecretFile).is_ok());
    }

    #[test]
    fn trusts_root_and_the_agent_user_only() {
        assert!(may_own_secret(0, 0));
        assert!(may_own_secret(0, 998));
        assert!(may_own_secret(998, 998));
        assert!(!may_own_secret(1000, 998));
        assert!(!may_own_secret(1000, 0));
    }

    #[test]
    fn refuses_a_file_owned_by_another_user_with_the_chown_fix() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("update.key");
        write_with_mode(&path, "x", 0o600);
        assert!(read_private_file(&path, FileRole::KeyFile).is_ok());
        if !rustix::process::geteuid().is_root() {
            // Only root can give a file away; the decision itself is tested above.
            return;
        }
        let other = 4242;
        std::os::unix::fs::chown(&path, Some(other), None).unwrap();
        let error = read_private_file(&path, FileRole::KeyFile).unwrap_err();
        assert!(matches!(&error, KeyError::Owner { owner, .. } if owner.uid == other));
        let message = error.to_string();
        assert!(message.contains("is owned by uid 4242"), "{message}");
        assert!(message.contains("dnsfailover runs as uid 0"), "{message}");
        assert!(
            message.contains(&format!("chown root {}", path.display())),
            "{message}"
        );
    }

    #[test]
    fn refuses_missing_files_directories_and_huge_files() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("missing.key");
        let error = read_private_file(&missing, FileRole::KeyFile).unwrap_err();
        assert!(matches!(error, KeyError::Read { .. }), "{error}");
        assert!(error.to_string().contains("missing.key"), "{error}");
        let error = read_private_file(directory.path(), FileRole::KeyFile).unwrap_err();
        assert!(matches!(error, KeyError::NotAFile { .. }), "{error}");
        let huge = directory.path().join("huge.key");
        let file = File::create(&huge).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        fs::set_permissions(&huge, Permissions::from_mode(0o600)).unwrap();
        let error = read_private_file(&huge, FileRole::KeyFile).unwrap_err();
        assert!(matches!(error, KeyError::TooLarge { .. }), "{error}");
    }
}
