//! `check:` or `checks:` of a table: the checks an address must all pass.
//!
//! `check: {...}` is a list of one. Each item of `checks: [...]` is a check
//! table that may also carry a `name:` (its label; by default its type and
//! port, e.g. `https:443`) and `interval`, `timeout`, `fall` and `rise` for
//! that check alone. A table's `check`/`checks` replaces an inherited one
//! as a whole.

use std::collections::HashMap;
use std::time::Duration;

use humantime::format_duration;

use super::check::{default_label, read_check, read_check_of, CHECK_KEYS};
use super::node::{Node, Position};
use super::report::{child_path, item_path, Report};
use super::scalar;
use super::table::Table;
use super::timing::threshold;
use super::{Check, CheckSpec, Timing};

/// Keys an item of `checks:` takes besides those of a check.
pub(super) const ITEM_KEYS: &[&str] = &["name", "interval", "timeout", "fall", "rise"];

/// The checks a table ends up with.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CheckSetting {
    /// Neither this table nor the one it inherits from gives a check.
    Absent,
    /// A check is given but wrong (already reported).
    Invalid,
    /// Valid checks, in the order given; never empty.
    Valid(Vec<CheckItem>),
}

impl CheckSetting {
    /// The checks with `timing` filled in where an item gives none of its own.
    pub fn resolved(&self, timing: Timing) -> Option<Vec<Check>> {
        match self {
            CheckSetting::Valid(items) => Some(
                items
                    .iter()
                    .map(|item| Check {
                        label: item.label.clone(),
                        spec: item.spec.clone(),
                        timing: item.timing.over(timing),
                    })
                    .collect(),
            ),
            CheckSetting::Absent | CheckSetting::Invalid => None,
        }
    }
}

/// One check as read, before the timing of the table using it is known.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CheckItem {
    label: String,
    spec: CheckSpec,
    timing: TimingOverrides,
    /// The item's field path, e.g. `records[0].checks[1]`.
    path: String,
    /// Where the item writes `interval` and `timeout`, if it does.
    interval_at: Option<Position>,
    timeout_at: Option<Position>,
}

/// The timing keys one item of `checks:` gives (`None`: not given or invalid).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TimingOverrides {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    fall: Option<u32>,
    rise: Option<u32>,
}

impl TimingOverrides {
    /// `base` with the values given here in its place.
    fn over(&self, base: Timing) -> Timing {
        Timing {
            interval: self.interval.unwrap_or(base.interval),
            timeout: self.timeout.unwrap_or(base.timeout),
            fall: self.fall.unwrap_or(base.fall),
            rise: self.rise.unwrap_or(base.rise),
        }
    }
}

/// The `check` or `checks` that `table` gives itself; `None` when it gives
/// neither. Giving both is reported.
pub(super) fn read_checks(table: &Table, report: &mut Report) -> Option<CheckSetting> {
    match (table.get("check"), table.get("checks")) {
        (None, None) => None,
        (Some(_), Some(_)) => {
            let position = table.key_position("checks").unwrap_or(table.position());
            report.add(
                position,
                &table.field("checks"),
                "give either check (one check) or checks (a list of checks), not both",
            );
            Some(CheckSetting::Invalid)
        }
        (Some(node), None) => Some(match read_check(node, &table.field("check"), report) {
            Some(spec) => CheckSetting::Valid(vec![CheckItem {
                label: default_label(&spec),
                spec,
                timing: TimingOverrides::default(),
                path: table.field("check"),
                interval_at: None,
                timeout_at: None,
            }]),
            None => CheckSetting::Invalid,
        }),
        (None, Some(node)) => Some(read_check_list(node, &table.field("checks"), report)),
    }
}

/// `checks:` at `path`: a non-empty list of checks with unique labels.
fn read_check_list(node: &Node, path: &str, report: &mut Report) -> CheckSetting {
    let nodes = match scalar::sequence(node) {
        Ok(nodes) => nodes,
        Err(message) => {
            report.add(node.position, path, message);
            return CheckSetting::Invalid;
        }
    };
    if nodes.is_empty() {
        report.add(
            node.position,
            path,
            "must list at least one check, e.g. [{ type: tcp, port: 443 }]",
        );
        return CheckSetting::Invalid;
    }
    let keys: Vec<&str> = CHECK_KEYS.iter().chain(ITEM_KEYS).copied().collect();
    let mut labels: HashMap<String, String> = HashMap::new();
    let mut items = Vec::with_capacity(nodes.len());
    let mut complete = true;
    for (index, node) in nodes.iter().enumerate() {
        let item_path = item_path(path, index);
        let item = Table::read(node, &item_path, &keys, report)
            .and_then(|table| read_item(&table, &item_path, &mut labels, report));
        match item {
            Some(item) => items.push(item),
            None => complete = false,
        }
    }
    if complete {
        CheckSetting::Valid(items)
    } else {
        CheckSetting::Invalid
    }
}

/// One item of `checks:`; a label already in `labels` is reported.
fn read_item(
    table: &Table,
    path: &str,
    labels: &mut HashMap<String, String>,
    report: &mut Report,
) -> Option<CheckItem> {
    let spec = read_check_of(table, report);
    let name = table.parse("name", report, check_name);
    let interval = table.parse("interval", report, scalar::duration);
    let timeout = table.parse("timeout", report, scalar::duration);
    let fall = table.parse("fall", report, threshold);
    let rise = table.parse("rise", report, threshold);
    let spec = spec?;
    let name = name.ok()?;
    let label = name.unwrap_or_else(|| default_label(&spec));
    let label_field = table.field("name");
    if let Some(first) = labels.get(&label) {
        let position = table.key_position("name").unwrap_or(table.position());
        let field = if table.get("name").is_some() {
            label_field
        } else {
            path.to_string()
        };
        let message = format!(
            "check label {label:?} is already used at {first}; give each check a distinct name:"
        );
        report.add(position, &field, message);
        return None;
    }
    labels.insert(label.clone(), path.to_string());
    Some(CheckItem {
        label,
        spec,
        timing: TimingOverrides {
            interval: interval.ok()?,
            timeout: timeout.ok()?,
            fall: fall.ok()?,
            rise: rise.ok()?,
        },
        path: path.to_string(),
        interval_at: table.key_position("interval"),
        timeout_at: table.key_position("timeout"),
    })
}

/// A check's `name:`: a non-empty label without spaces or control characters.
fn check_name(node: &Node) -> Result<String, String> {
    let name = scalar::non_empty_string(node)?;
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{name:?} is not a check name: give a short label without spaces, e.g. smtp"
        ));
    }
    Ok(name)
}

/// Reports each check whose timeout is longer than its interval with the
/// table's `timing`. A table's own checks are reported at the key the item
/// gives; checks a table inherits (`inherited_by`) at the `timeout` or
/// `interval` that table gives, which made them so. The table's own timing
/// is checked where it is set.
pub(super) fn check_item_timing(
    setting: &CheckSetting,
    timing: Timing,
    inherited_by: Option<&Table>,
    report: &mut Report,
) {
    let CheckSetting::Valid(items) = setting else {
        return;
    };
    for item in items {
        if item.timing.interval.is_none() && item.timing.timeout.is_none() {
            continue;
        }
        let resolved = item.timing.over(timing);
        if resolved.timeout <= resolved.interval {
            continue;
        }
        let at = match inherited_by {
            None => match (item.timeout_at, item.interval_at) {
                (Some(position), _) if item.timing.timeout.is_some() => {
                    Some((position, child_path(&item.path, "timeout")))
                }
                (_, Some(position)) if item.timing.interval.is_some() => {
                    Some((position, child_path(&item.path, "interval")))
                }
                _ => None,
            },
            Some(table) => ["timeout", "interval"]
                .into_iter()
                .find_map(|key| Some((table.key_position(key)?, table.field(key)))),
        };
        let Some((position, field)) = at else {
            continue;
        };
        let message = format!(
            "timeout {} is longer than interval {} of check {:?}: a check must finish before \
             the next one starts, so make timeout at most the interval",
            format_duration(resolved.timeout),
            format_duration(resolved.interval),
            item.label,
        );
        report.add(position, &field, message);
    }
}
