//! A YAML mapping read as a table of known keys.

use super::node::{Node, Position, Value};
use super::report::{child_path, Report};

/// A mapping whose keys have been checked: unknown, duplicate and non-string keys
/// are reported when the table is read, so callers only look up known keys.
pub(super) struct Table<'a> {
    path: String,
    position: Position,
    entries: Vec<Entry<'a>>,
}

/// Marks a value that did not convert; the reason is already in the [`Report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reported;

/// One accepted key and its value.
struct Entry<'a> {
    key: &'a str,
    key_position: Position,
    value: &'a Node,
}

impl<'a> Table<'a> {
    /// Reads `node` (at field `path`) as a mapping with keys from `allowed`. Reports a
    /// node that is no mapping, keys that are no strings, unknown keys and repeated
    /// keys (the first occurrence is kept).
    pub fn read(
        node: &'a Node,
        path: &str,
        allowed: &[&str],
        report: &mut Report,
    ) -> Option<Table<'a>> {
        let Value::Mapping(pairs) = &node.value else {
            report.add(
                node.position,
                display_path(path),
                format!("expected a mapping, found {}", node.describe()),
            );
            return None;
        };
        let mut table = Table {
            path: path.to_string(),
            position: node.position,
            entries: Vec::with_capacity(pairs.len()),
        };
        for (key_node, value) in pairs {
            table.accept(key_node, value, allowed, report);
        }
        Some(table)
    }

    /// Adds one entry, or reports why it cannot be accepted.
    fn accept(
        &mut self,
        key_node: &'a Node,
        value: &'a Node,
        allowed: &[&str],
        report: &mut Report,
    ) {
        let Value::String(key) = &key_node.value else {
            report.add(
                key_node.position,
                display_path(&self.path),
                format!("keys must be field names, found {}", key_node.describe()),
            );
            return;
        };
        let field = child_path(&self.path, key);
        if !allowed.contains(&key.as_str()) {
            let message = format!(
                "unknown field `{key}`; expected one of: {}",
                allowed.join(", ")
            );
            report.add(key_node.position, &field, message);
        } else if let Some(first) = self.entries.iter().find(|entry| entry.key == key) {
            let line = first.key_position.line;
            report.add(
                key_node.position,
                &field,
                format!("given twice; the first is on line {line}"),
            );
        } else {
            self.entries.push(Entry {
                key,
                key_position: key_node.position,
                value,
            });
        }
    }

    /// Where the mapping starts: missing fields are reported here.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entry(key).map(|entry| entry.value)
    }

    /// Where `key` is written, if given.
    pub fn key_position(&self, key: &str) -> Option<Position> {
        self.entry(key).map(|entry| entry.key_position)
    }

    fn entry(&self, key: &str) -> Option<&Entry<'a>> {
        self.entries.iter().find(|entry| entry.key == key)
    }

    /// The field path of `key` in this table.
    pub fn field(&self, key: &str) -> String {
        child_path(&self.path, key)
    }

    /// Converts the value of `key`: `Ok(None)` when not given, `Err(Reported)` when the
    /// value does not convert (reported at the value).
    pub fn parse<T>(
        &self,
        key: &str,
        report: &mut Report,
        convert: impl FnOnce(&'a Node) -> Result<T, String>,
    ) -> Result<Option<T>, Reported> {
        let Some(node) = self.get(key) else {
            return Ok(None);
        };
        match convert(node) {
            Ok(value) => Ok(Some(value)),
            Err(message) => {
                report.add(node.position, &self.field(key), message);
                Err(Reported)
            }
        }
    }

    /// Converts the value of `key` if given; a value that does not convert is reported at it.
    pub fn optional<T>(
        &self,
        key: &str,
        report: &mut Report,
        convert: impl FnOnce(&'a Node) -> Result<T, String>,
    ) -> Option<T> {
        self.parse(key, report, convert).ok().flatten()
    }

    /// Like [`Table::optional`], but a missing key is reported at the table with `hint`.
    pub fn required<T>(
        &self,
        key: &str,
        hint: &str,
        report: &mut Report,
        convert: impl FnOnce(&'a Node) -> Result<T, String>,
    ) -> Option<T> {
        if self.get(key).is_none() {
            report.add(self.position, &self.field(key), format!("missing; {hint}"));
            return None;
        }
        self.optional(key, report, convert)
    }
}

/// The path to show for a table: the root has no path of its own.
fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(document)"
    } else {
        path
    }
}
