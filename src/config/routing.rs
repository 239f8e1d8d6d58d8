//! Every record must have a primary: with `nameservers:`, one of them must
//! list a zone holding the record's name, and a record's own `zone:` must lie
//! within that listed zone.

use super::node::Position;
use super::report::Report;
use super::{Nameserver, Record};
use crate::vocabulary::serving_primary;

/// Where a record's name and zone are written, and its field path.
pub(super) struct RecordPlace {
    /// `records[i]`.
    pub path: String,
    /// The position of its `name`.
    pub name: Position,
    /// The position of its `zone`, if given.
    pub zone: Option<Position>,
}

/// Reports a record no nameserver serves, or whose `zone:` reaches above
/// the zone its primary lists.
pub(super) fn check_route(
    nameservers: &[Nameserver],
    record: &Record,
    place: &RecordPlace,
    report: &mut Report,
) {
    let zones = nameservers.iter().map(|ns| ns.zones.as_deref());
    let Some(index) = serving_primary(zones, &record.name) else {
        let message = format!(
            "no nameserver in nameservers lists a zone containing {}; add it to the zones of one",
            record.name
        );
        report.add(place.name, &format!("{}.name", place.path), message);
        return;
    };
    let (Some(zone), Some(listed)) = (&record.zone, &nameservers[index].zones) else {
        return;
    };
    let Some(served) = listed
        .iter()
        .filter(|listed| listed.zone_of(&record.name))
        .max_by_key(|listed| listed.num_labels())
    else {
        return;
    };
    if !served.zone_of(zone) {
        let message = format!(
            "zone {zone} reaches above {served}, the zone nameservers[{index}] lists for {}; \
             give zone {served} (or one inside it), or leave zone out",
            record.name
        );
        let position = place.zone.unwrap_or(place.name);
        report.add(position, &format!("{}.zone", place.path), message);
    }
}
