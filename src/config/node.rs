//! The YAML document as a tree of located nodes.
//!
//! The file is first read into this untyped tree (through `serde-saphyr`, which
//! enforces its parsing budgets and resolves anchors, aliases and merge keys),
//! then validated field by field. Going through a tree instead of typed serde
//! structs lets validation report every wrong type, unknown key and duplicate
//! key at once, each at its own line and column.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::options::AliasLimits;
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, Spanned, UserMessageFormatter};

/// A 1-based line and column in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Position {
    pub line: u64,
    pub column: u64,
}

/// One YAML node and where it was written (for an alias: where it is used).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub position: Position,
    pub value: Value,
}

/// The content of a node. Plain scalars are typed the YAML 1.2 core way
/// (`80` is an integer, `"80"` a string, `true` a boolean, `~` null).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Integer(i128),
    Float(f64),
    String(String),
    Sequence(Vec<Node>),
    /// Entries in file order, duplicates included (validation reports them).
    Mapping(Vec<(Node, Node)>),
}

/// A YAML syntax error (or a parsing budget exceeded) with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// Most events that aliases may replay in one file. A configuration sharing a
/// check or a server list between hundreds of records stays far below this; an
/// alias bomb is stopped here quickly instead of after the library's default million.
const MAX_REPLAYED_ALIAS_EVENTS: usize = 100_000;

/// Most YAML nodes and parser events in one file: room for about 200,000
/// checked addresses written out one server per line (the library's
/// defaults, 250,000 nodes and a million events, stopped at about 13,000
/// two-server records).
const MAX_NODES: usize = 2_000_000;
const MAX_EVENTS: usize = 8_000_000;

/// Parses `text` as one YAML document. Repeated keys are passed through so that
/// validation reports them with the other problems; `yes`/`no` stay strings.
pub(super) fn read_document(text: &str) -> Result<Node, SyntaxError> {
    let mut alias_limits = AliasLimits::default();
    alias_limits.max_total_replayed_events = MAX_REPLAYED_ALIAS_EVENTS;
    let options = serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
        with_snippet: false,
        alias_limits: alias_limits,
        budget: serde_saphyr::budget! {
            max_nodes: MAX_NODES,
            max_events: MAX_EVENTS,
        },
    };
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|error| {
        let location = error.location();
        let position = Position {
            line: location.map_or(1, |l| l.line().max(1)),
            column: location.map_or(1, |l| l.column().max(1)),
        };
        let message = UserMessageFormatter.format_message(error.without_snippet());
        SyntaxError {
            position,
            message: format!("invalid YAML: {message}"),
        }
    })
}

impl Node {
    /// What the node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "nothing (null)".to_string(),
            Value::Bool(value) => format!("the boolean {value}"),
            Value::Integer(value) => format!("the integer {value}"),
            Value::Float(value) => format!("the number {value}"),
            Value::String(text) => format!("the string {}", shortened(text)),
            Value::Sequence(_) => "a list".to_string(),
            Value::Mapping(_) => "a mapping".to_string(),
        }
    }
}

/// `text` quoted, cut after 40 characters.
fn shortened(text: &str) -> String {
    const LIMIT: usize = 40;
    if text.chars().count() <= LIMIT {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head:?}...")
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            position: Position {
                line: spanned.referenced.line(),
                column: spanned.referenced.column(),
            },
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Builds a [`Value`] from whatever the YAML deserializer finds.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Integer(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Integer(value.into()))
    }

    fn visit_i128<E>(self, value: i128) -> Result<Value, E> {
        Ok(Value::Integer(value))
    }

    fn visit_u128<E>(self, value: u128) -> Result<Value, E> {
        Ok(Value::Integer(i128::try_from(value).unwrap_or(i128::MAX)))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = access.next_key::<Node>()? {
            let value = access.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Mapping(entries))
    }
}
