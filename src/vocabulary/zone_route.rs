//! Which of several primaries serves a name: the one listing the longest
//! zone that holds it; a primary listing no zones serves every name.

use hickory_proto::rr::Name;

/// The index of the primary serving `name`, given each primary's zones
/// (`None`: every zone). The longest listed zone holding the name wins; a
/// primary without a list serves what no list holds. `None` when no
/// primary serves the name.
pub fn serving_primary<'a>(
    zones: impl IntoIterator<Item = Option<&'a [Name]>>,
    name: &Name,
) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (index, listed) in zones.into_iter().enumerate() {
        let depth = match listed {
            None => Some(0),
            Some(listed) => listed
                .iter()
                .filter(|zone| zone.zone_of(name))
                .map(|zone| zone.num_labels() as usize + 1)
                .max(),
        };
        if let Some(depth) = depth {
            if best.is_none_or(|(_, deepest)| depth > deepest) {
                best = Some((index, depth));
            }
        }
    }
    best.map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn the_longest_listed_zone_wins_and_an_unlisted_primary_takes_the_rest() {
        let first = [name("example.com.")];
        let second = [name("sub.example.com."), name("example.org.")];
        let lists = [Some(&first[..]), Some(&second[..])];
        let route = |text: &str| serving_primary(lists, &name(text));
        assert_eq!(route("www.example.com."), Some(0));
        assert_eq!(route("www.sub.example.com."), Some(1));
        assert_eq!(route("WWW.Example.ORG."), Some(1));
        assert_eq!(route("www.example.net."), None);
        let with_default = [None, Some(&second[..])];
        assert_eq!(
            serving_primary(with_default, &name("www.example.net.")),
            Some(0)
        );
        assert_eq!(
            serving_primary(with_default, &name("www.example.org.")),
            Some(1)
        );
    }
}
