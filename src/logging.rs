//! Log output: human-readable lines or JSON, filtered by `RUST_LOG` when set,
//! else by `--log-level`.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::EnvFilter;

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// A single word is meant as a level: tracing would take an unknown word
/// for a module name and log nothing, so it is refused here.
fn check_bare_level(level: &str) -> Result<(), String> {
    let is_directive_list = level.contains(['=', ',', '[', ':']);
    if is_directive_list
        || level
            .parse::<tracing_subscriber::filter::LevelFilter>()
            .is_ok()
    {
        return Ok(());
    }
    Err(format!(
        "--log-level {level:?}: expected error, warn, info, debug, trace or off, or tracing directives such as dnsfailover=debug"
    ))
}

/// Installs the global subscriber. `RUST_LOG`, when set, wins over `level`.
pub fn init(level: &str, format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => {
            EnvFilter::try_new(directives).map_err(|e| format!("RUST_LOG: {e}"))?
        }
        _ => {
            check_bare_level(level)?;
            EnvFilter::try_new(level).map_err(|e| format!("--log-level {level:?}: {e}"))?
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_target(false).fmt_fields(SentenceFields).init(),
        LogFormat::Json => builder.json().with_current_span(false).init(),
    }
    Ok(())
}

/// Text lines say each fact once: the message, then only those fields whose
/// value the message does not already contain. (The JSON format keeps every
/// field as a key, for log collectors.)
#[derive(Debug, Clone, Copy, Default)]
pub struct SentenceFields;

impl<'writer> FormatFields<'writer> for SentenceFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut collected = CollectedFields::default();
        fields.record(&mut collected);
        writer.write_str(&sentence(&collected.message, &collected.others))
    }
}

/// The message followed by ` name=value` for each field it lacks.
fn sentence(message: &str, fields: &[(&'static str, String)]) -> String {
    let mut line = message.to_owned();
    for (name, value) in fields {
        if value.is_empty() || message.contains(value.as_str()) {
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        let _ = write!(line, "{name}={value}");
    }
    line
}

/// The fields of one event: its message and the rest, in order.
#[derive(Default)]
struct CollectedFields {
    message: String,
    others: Vec<(&'static str, String)>,
}

impl Visit for CollectedFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }
}

impl CollectedFields {
    fn record(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.others.push((field.name(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_the_sentence_already_says_are_left_out() {
        let fields = [
            ("record", "www.example.test.".to_owned()),
            ("address", "192.0.2.1".to_owned()),
            ("to", "up".to_owned()),
            ("exit_code", "3".to_owned()),
        ];
        assert_eq!(
            sentence(
                "www.example.test. address 192.0.2.1: unknown -> up",
                &fields
            ),
            "www.example.test. address 192.0.2.1: unknown -> up exit_code=3"
        );
        assert_eq!(sentence("", &fields[..1]), "record=www.example.test.");
    }
}
