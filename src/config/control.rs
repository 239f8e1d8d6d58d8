//! The optional `control:` section: the local control socket that
//! `dnsfailover drain`, `pin`, `release`, `failback` and `reload` talk to,
//! and the state file that keeps overrides across restarts.

use std::path::PathBuf;

use super::node::Node;
use super::report::Report;
use super::scalar;
use super::table::Table;
use super::Control;

/// Keys of the `control:` section.
pub(super) const CONTROL_KEYS: &[&str] = &["socket", "group", "state_file"];
/// Where the control socket is created when `control.socket` is not given.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/dnsfailover/control.sock";
/// Where overrides are kept when `control.state_file` is not given.
pub const DEFAULT_STATE_FILE: &str = "/var/lib/dnsfailover/state.json";

impl Default for Control {
    fn default() -> Self {
        Control {
            socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            group: None,
            state_file: PathBuf::from(DEFAULT_STATE_FILE),
        }
    }
}

/// Validates the `control:` section at `path`.
pub(super) fn read_control(node: &Node, path: &str, report: &mut Report) -> Option<Control> {
    let table = Table::read(node, path, CONTROL_KEYS, report)?;
    let defaults = Control::default();
    let socket = table.parse("socket", report, absolute_path);
    let group = table.parse("group", report, group_name);
    let state_file = table.parse("state_file", report, absolute_path);
    Some(Control {
        socket: socket.ok()?.unwrap_or(defaults.socket),
        group: group.ok()?,
        state_file: state_file.ok()?.unwrap_or(defaults.state_file),
    })
}

/// A path that does not depend on the agent's working directory.
fn absolute_path(node: &Node) -> Result<PathBuf, String> {
    let path = scalar::path(node)?;
    if !path.is_absolute() {
        return Err(format!(
            "{} is relative: give an absolute path, e.g. /run/dnsfailover/control.sock",
            path.display()
        ));
    }
    Ok(path)
}

/// A Unix group name (looked up in /etc/group when the socket is made).
fn group_name(node: &Node) -> Result<String, String> {
    let name = scalar::non_empty_string(node)?;
    let valid = name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
    if !valid {
        return Err(format!(
            "{name:?} is not a group name: letters, digits, _, - and . only, e.g. dnsfailover"
        ));
    }
    Ok(name)
}
