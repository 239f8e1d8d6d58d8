//! The state file: the overrides in force, kept across restarts.
//!
//! Written atomically (a temporary file beside it, fsync, rename, fsync of
//! the directory) after every change, so a crash leaves the old or the new
//! file, never half of one. A file that cannot be read or parsed is
//! reported (naming the file and what is wrong) and ignored: the agent
//! starts without overrides rather than not at all.

use std::io::Write;
use std::path::Path;
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::operator::{from_status, override_status};
use crate::engine::Override;
use crate::snapshot::OverrideStatus;

/// The version of the file's form.
const STATE_VERSION: u32 = 1;

/// The file's content.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    overrides: Vec<OverrideStatus>,
}

/// Writes `overrides` to `path` atomically.
pub fn save(path: &Path, overrides: &[Override]) -> std::io::Result<()> {
    let state = StateFile {
        version: STATE_VERSION,
        overrides: overrides.iter().map(override_status).collect(),
    };
    let mut text = serde_json::to_vec_pretty(&state)?;
    text.push(b'\n');
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(directory)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temporary = directory.join(name);
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(&text)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(directory)?.sync_all()
}

/// Reads the overrides kept at `path`, dropping those expired by `wall`.
/// No file: none. An unreadable or corrupt file: logged as an error, none.
pub fn load(path: &Path, now: Instant, wall: SystemTime) -> Vec<Override> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => {
            tracing::error!(file = %path.display(), "cannot read the state file {}: {error}; starting without overrides", path.display());
            return Vec::new();
        }
    };
    let state: StateFile = match serde_json::from_slice(&text) {
        Ok(state) => state,
        Err(error) => {
            tracing::error!(file = %path.display(), "the state file {} is corrupt ({error}); ignoring it, starting without overrides", path.display());
            return Vec::new();
        }
    };
    if state.version != STATE_VERSION {
        tracing::error!(file = %path.display(), "the state file {} has version {}, this agent reads {STATE_VERSION}; ignoring it", path.display(), state.version);
        return Vec::new();
    }
    let total = state.overrides.len();
    let kept: Vec<Override> = state
        .overrides
        .iter()
        .filter_map(|status| from_status(status, now, wall))
        .collect();
    if kept.len() < total {
        tracing::info!(file = %path.display(), "state file {}: dropped {} expired override(s)", path.display(), total - kept.len());
    }
    kept
}

#[cfg(test)]
#[path = "state_file_tests.rs"]
mod tests;
