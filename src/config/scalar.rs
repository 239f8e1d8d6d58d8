//! Conversions from YAML nodes to the values the configuration holds. Each
//! returns the message to report at the node when the value does not fit.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::node::{Node, Value};

/// The longest interval or timeout accepted; longer ones are almost certainly typos
/// (and would overflow timer arithmetic far enough out).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// A string scalar.
pub(super) fn string(node: &Node) -> Result<&str, String> {
    match &node.value {
        Value::String(text) => Ok(text),
        _ => Err(format!("expected a string, found {}", node.describe())),
    }
}

/// A string scalar that is not empty.
pub(super) fn non_empty_string(node: &Node) -> Result<String, String> {
    let text = string(node)?;
    if text.is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(text.to_string())
}

/// A file path (a non-empty string).
pub(super) fn path(node: &Node) -> Result<PathBuf, String> {
    non_empty_string(node).map(PathBuf::from)
}

/// A boolean (`true` or `false`).
pub(super) fn boolean(node: &Node) -> Result<bool, String> {
    match node.value {
        Value::Bool(value) => Ok(value),
        _ => Err(format!("expected true or false, found {}", node.describe())),
    }
}

/// An integer in `min..=max`.
pub(super) fn integer<T: TryFrom<i128>>(node: &Node, min: T, max: T) -> Result<T, String>
where
    i128: From<T>,
{
    let (min, max) = (i128::from(min), i128::from(max));
    match node.value {
        Value::Integer(value) if (min..=max).contains(&value) => {
            T::try_from(value).map_err(|_| format!("must be between {min} and {max}"))
        }
        Value::Integer(value) => Err(format!("must be between {min} and {max}, found {value}")),
        _ => Err(format!(
            "expected an integer between {min} and {max}, found {}",
            node.describe()
        )),
    }
}

/// A positive duration with a unit, such as `1s`, `500ms` or `2m`, at most [`MAX_DURATION`].
pub(super) fn duration(node: &Node) -> Result<Duration, String> {
    let text = match &node.value {
        Value::String(text) => text,
        Value::Integer(_) | Value::Float(_) => {
            return Err(format!(
                "expected a duration with a unit such as 1s, 500ms or 2m, found {} without a unit",
                node.describe()
            ))
        }
        _ => {
            return Err(format!(
                "expected a duration such as 1s, 500ms or 2m, found {}",
                node.describe()
            ))
        }
    };
    let duration = humantime::parse_duration(text).map_err(|error| {
        format!("invalid duration {text:?}: {error}; write e.g. 1s, 500ms or 2m")
    })?;
    if duration.is_zero() {
        return Err("must be greater than zero".to_string());
    }
    if duration > MAX_DURATION {
        return Err(format!(
            "{text} is too long: at most {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

/// One of a fixed set of words.
pub(super) fn keyword<T: Copy>(node: &Node, choices: &[(&str, T)]) -> Result<T, String> {
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let expected = names.join(", ");
    let text = match &node.value {
        Value::String(text) => text,
        _ => {
            return Err(format!(
                "expected one of {expected}, found {}",
                node.describe()
            ))
        }
    };
    choices
        .iter()
        .find(|(name, _)| name == text)
        .map(|(_, value)| *value)
        .ok_or_else(|| format!("unknown value {text:?}: expected one of {expected}"))
}

/// An IPv4 or IPv6 address literal.
pub(super) fn ip_address(node: &Node) -> Result<IpAddr, String> {
    let text = string(node)?;
    text.parse().map_err(|_| {
        format!("{text:?} is not an IP address: write an IPv4 or IPv6 literal such as 192.0.2.10 or 2001:db8::10")
    })
}

/// A list.
pub(super) fn sequence(node: &Node) -> Result<&[Node], String> {
    match &node.value {
        Value::Sequence(items) => Ok(items),
        _ => Err(format!("expected a list, found {}", node.describe())),
    }
}

/// A domain name, with or without its trailing dot, made fully qualified. Labels
/// hold letters, digits, `-` and `_`; wildcards are refused.
pub(super) fn domain_name(node: &Node) -> Result<Name, String> {
    let text = string(node)?;
    let labels = text.strip_suffix('.').unwrap_or(text);
    if labels.is_empty() {
        return Err("must be a domain name, not the root or empty".to_string());
    }
    for label in labels.split('.') {
        check_label(text, label)?;
    }
    let mut name = Name::from_ascii(text)
        .map_err(|error| format!("{text:?} is not a valid domain name: {error}"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// One label of the domain name `text`.
fn check_label(text: &str, label: &str) -> Result<(), String> {
    const MAX_LABEL_LENGTH: usize = 63;
    if label.is_empty() {
        return Err(format!(
            "{text:?} has an empty label (two dots in a row or a leading dot)"
        ));
    }
    if label == "*" {
        return Err(format!(
            "{text:?} is a wildcard; wildcard names are not supported: list each name"
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "{text:?} holds {c:?}, which a domain name may not: use letters, digits, - and _"
        ));
    }
    if label.len() > MAX_LABEL_LENGTH {
        return Err(format!(
            "{text:?} has a label longer than {MAX_LABEL_LENGTH} characters"
        ));
    }
    Ok(())
}

/// A program and its arguments: a non-empty list whose first item is an
/// absolute path (it is run without a shell and without searching PATH).
pub(super) fn command(node: &Node) -> Result<Vec<String>, String> {
    let items = sequence(node)?;
    if items.is_empty() {
        return Err("the list is empty: give at least the program".to_owned());
    }
    let argv = items
        .iter()
        .map(non_empty_string)
        .collect::<Result<Vec<String>, String>>()?;
    if !argv[0].starts_with('/') {
        return Err(format!(
            "{:?} is not an absolute path: give the program's full path (it is run without a shell and without searching PATH)",
            argv[0]
        ));
    }
    Ok(argv)
}
