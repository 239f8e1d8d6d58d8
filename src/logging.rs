//! Log output: human-readable lines or JSON, filtered by `RUST_LOG` when set,
//! else by `--log-level`.

use std::io::IsTerminal;

use clap::ValueEnum;
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
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().with_current_span(false).init(),
    }
    Ok(())
}
