//! The BIND and Knot snippets an operator copies from `deploy/` (key and least-privilege
//! grant), rendered for the test servers so that the shipped files are the tested ones.

use std::fs;
use std::path::Path;

use super::key::TestKey;

/// The text of `deploy/RELATIVE`.
fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The lines of `text` from the first one starting with `first` (after indentation) to the
/// first one after it that `last` accepts, both included, with comments left out.
fn block(text: &str, first: &str, last: impl Fn(&str) -> bool) -> Vec<String> {
    let mut lines = text
        .lines()
        .skip_while(|line| !line.trim_start().starts_with(first));
    let mut out = Vec::new();
    for line in lines.by_ref() {
        let done = !out.is_empty() && last(line);
        out.push(line.to_string());
        if done {
            break;
        }
    }
    assert!(
        !out.is_empty(),
        "the snippet has no block starting with {first:?}"
    );
    out
}

/// Substitutes the key's placeholders.
fn with_key(text: &str, key: &TestKey) -> String {
    assert_eq!(
        key.algorithm, "hmac-sha256",
        "the snippets name hmac-sha256 keys only"
    );
    text.replace("@KEY@", &key.name)
        .replace("@SECRET@", &key.secret)
}

/// `deploy/bind/dnsfailover.conf`'s key statement for `key`.
pub fn bind_key(key: &TestKey) -> String {
    let lines = block(&read("bind/dnsfailover.conf"), "key \"@KEY@\"", |line| {
        line.trim() == "};"
    });
    with_key(&(lines.join("\n") + "\n"), key)
}

/// `deploy/bind/dnsfailover.conf`'s `update-policy` rules (with their `;`) for `names`.
pub fn bind_grants(key: &TestKey, names: &[String]) -> Vec<String> {
    let text = read("bind/dnsfailover.conf");
    let rule = text
        .lines()
        .find(|line| line.contains("@NAME@") && !line.trim_start().starts_with("//"))
        .expect("deploy/bind/dnsfailover.conf has a grant line with @NAME@");
    names
        .iter()
        .map(|name| with_key(rule.trim(), key).replace("@NAME@", name))
        .collect()
}

/// `deploy/knot/dnsfailover.conf`'s key entry (under `key:`) for `key`.
pub fn knot_key(key: &TestKey) -> String {
    let lines = block(&read("knot/dnsfailover.conf"), "- id: @KEY@", |line| {
        line.trim().starts_with("secret:")
    });
    with_key(&(lines.join("\n") + "\n"), key)
}

/// `deploy/knot/dnsfailover.conf`'s ACL entry (under `acl:`) for `names`, as `id`.
pub fn knot_acl(id: &str, key: &TestKey, names: &[String]) -> String {
    let lines = block(
        &read("knot/dnsfailover.conf"),
        "- id: dnsfailover-update",
        |line| line.trim().starts_with("update-owner-name:"),
    );
    with_key(&(lines.join("\n") + "\n"), key)
        .replace("dnsfailover-update", id)
        .replace("@NAMES@", &names.join(", "))
}
