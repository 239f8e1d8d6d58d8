//! The limits of the timing keys `fall` and `rise`, shared by the settings
//! of a table and the items of a `checks:` list.

use super::node::Node;
use super::scalar;

/// Largest `fall` and `rise` allowed.
pub const MAX_THRESHOLD: u32 = 100;

/// A `fall` or `rise`: consecutive results, 1 to [`MAX_THRESHOLD`].
pub(super) fn threshold(node: &Node) -> Result<u32, String> {
    scalar::integer(node, 1u32, MAX_THRESHOLD)
}
