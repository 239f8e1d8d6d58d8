//! Collects problems while the configuration is validated, so that all of them
//! can be reported at once.

use std::path::Path;

use super::node::Position;
use super::problem::Problem;

/// Problems found so far, each with its position and field path.
#[derive(Debug, Default)]
pub(super) struct Report {
    findings: Vec<(Position, String, String)>,
}

impl Report {
    /// Records that `field` at `position` is wrong, and why. Control characters
    /// are escaped so that every problem stays on one line.
    pub fn add(&mut self, position: Position, field: &str, message: impl Into<String>) {
        let (field, message) = (one_line(field), one_line(&message.into()));
        self.findings.push((position, field, message));
    }

    /// Whether nothing has been found wrong.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The problems in file order (position, then the order they were found).
    pub fn into_problems(mut self, file: &Path) -> Vec<Problem> {
        self.findings.sort_by_key(|(position, _, _)| *position);
        self.findings
            .into_iter()
            .map(|(position, field, message)| Problem {
                file: file.to_path_buf(),
                line: position.line,
                column: position.column,
                field,
                message,
            })
            .collect()
    }
}

/// The path of `key` inside the table at `parent` (`parent.key`, or `key` at the top).
pub(super) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of list item `index` of the list at `parent` (`parent[index]`).
pub(super) fn item_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// `text` with control characters (line breaks included) escaped.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
