//! The `nameservers:` list: several primaries, each serving the zones it
//! lists. The alternative to the single `nameserver:`, which serves every zone.

use super::nameserver::read_nameserver;
use super::node::Node;
use super::report::{item_path, Report};
use super::scalar;
use super::zones::ZonesTaken;
use super::Nameserver;
use crate::vocabulary::KeySource;

/// Validates the `nameservers:` list at `path`: a non-empty list of
/// nameservers, no zone listed twice.
pub(super) fn read_nameservers(
    node: &Node,
    path: &str,
    check_key: &dyn Fn(&KeySource) -> Result<(), String>,
    report: &mut Report,
) -> Option<Vec<Nameserver>> {
    let hint = "list the primaries, each { address, key_file, zones: [example.com] }";
    let items = match scalar::sequence(node) {
        Ok(items) => items,
        Err(message) => {
            report.add(node.position, path, format!("{message}; {hint}"));
            return None;
        }
    };
    if items.is_empty() {
        report.add(node.position, path, format!("must not be empty; {hint}"));
        return None;
    }
    let mut taken = ZonesTaken::default();
    let read: Vec<Option<Nameserver>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            read_nameserver(
                item,
                &item_path(path, index),
                Some(&mut taken),
                check_key,
                report,
            )
        })
        .collect();
    read.into_iter().collect()
}
