//! Configuration: the YAML file, validated into [`Config`].
//!
//! Loading goes in two steps. The text is parsed into a tree of located YAML
//! nodes; the tree is then validated table by table into the model types
//! below, applying `defaults:` to every record. Validation does not
//! stop at the first mistake: every problem is collected and reported at once,
//! each as `FILE:LINE:COLUMN: field.path: message` (see [`Problem`]).
//!
//! Rules worth knowing when writing a file (the annotated example
//! `deploy/dnsfailover.example.yaml` documents every key):
//! - unknown keys are errors in every table, so a typo never goes unnoticed;
//! - a record's `check` (or `checks` list) replaces `defaults.check` as a
//!   whole: fields are not merged between the two; a server's own replaces
//!   the record's;
//! - YAML types are not guessed: `port: "80"` is a string and refused.

mod check;
mod check_list;
mod control;
mod document;
mod http;
mod model;
mod nameserver;
mod nameservers;
mod node;
mod notify;
mod notify_model;
mod problem;
mod propagation;
mod record;
mod report;
mod routing;
mod scalar;
mod settings;
mod table;
#[cfg(test)]
mod tests;
mod timing;
mod zones;

use std::path::Path;

use crate::vocabulary::KeySource;

pub use check::{
    default_label, DEFAULT_EXPECT_STATUS, DEFAULT_HTTPS_PORT, DEFAULT_HTTP_PATH, DEFAULT_HTTP_PORT,
    DEFAULT_QUERY_TYPE, DEFAULT_SMTP_PORT,
};
pub use control::{DEFAULT_CONTROL_SOCKET, DEFAULT_STATE_FILE};
pub use http::DEFAULT_HTTP_ADDRESS;
pub use model::*;
pub use nameserver::{DEFAULT_DNS_PORT, DEFAULT_NAMESERVER_TIMEOUT};
pub use notify::{
    DEFAULT_COMMAND_TIMEOUT, DEFAULT_QUEUE, DEFAULT_WEBHOOK_RETRIES, DEFAULT_WEBHOOK_TIMEOUT,
    MAX_QUEUE, MAX_WEBHOOK_RETRIES,
};
pub use notify_model::{HookCommand, Notify, Webhook, WebhookUrl};
pub use problem::{ConfigError, Problem};
pub use propagation::DEFAULT_LAGGING_AFTER;
pub use scalar::MAX_DURATION;
pub use settings::{
    DEFAULT_CHECK_TIMEOUT, DEFAULT_FALL, DEFAULT_INTERVAL, DEFAULT_MAX_ADDRESSES, DEFAULT_RISE,
    DEFAULT_TTL, MAX_MAX_ADDRESSES, MAX_TTL,
};
pub use timing::MAX_THRESHOLD;

use report::Report;

/// Where the configuration is read from when no other path is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/dnsfailover/dnsfailover.yaml";

/// Reads and validates the file at `path`.
///
/// `check_key` is called with the validated [`KeySource`] (the caller loads the
/// TSIG key with it); its `Err` message becomes a [`Problem`] located at the key field.
pub fn load(
    path: &Path,
    check_key: &dyn Fn(&KeySource) -> Result<(), String>,
) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        problems: vec![Problem {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the configuration file: {error}"),
        }],
    })?;
    parse(&text, path, check_key)
}

/// Validates `text`, the contents of `file` (used only to name it in problems).
///
/// `check_key` is called as described for [`load`].
pub fn parse(
    text: &str,
    file: &Path,
    check_key: &dyn Fn(&KeySource) -> Result<(), String>,
) -> Result<Config, ConfigError> {
    let mut report = Report::default();
    let config = match node::read_document(text) {
        Ok(root) => document::read_config(&root, check_key, &mut report),
        Err(syntax) => {
            report.add(syntax.position, "(document)", syntax.message);
            None
        }
    };
    match config {
        Some(config) if report.is_empty() => Ok(config),
        _ => {
            debug_assert!(!report.is_empty(), "an invalid configuration must say why");
            if report.is_empty() {
                let message = "the configuration is incomplete";
                report.add(node::Position { line: 1, column: 1 }, "(document)", message);
            }
            Err(ConfigError {
                problems: report.into_problems(file),
            })
        }
    }
}
