//! The subcommands that talk to the running agent's control socket:
//! `drain`, `pin`, `release`, `overrides`, `failback` and `reload`.
//! Exit codes: 0 done, 1 refused by the agent, 2 usage or the socket
//! cannot be reached.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Failure;
use crate::control::{ask, Request, Response};
use crate::snapshot::OverrideStatus;

/// `--for` as seconds, from a humantime duration such as `10m` or `2h30m`.
pub fn seconds(text: Option<&str>) -> Result<Option<f64>, Failure> {
    let Some(text) = text else {
        return Ok(None);
    };
    let duration: Duration = humantime::parse_duration(text).map_err(|error| {
        Failure::Usage(format!(
            "--for {text:?}: {error}; write a duration such as 90s, 10m or 2h"
        ))
    })?;
    Ok(Some(duration.as_secs_f64()))
}

/// Sends `request` to the agent at `socket` and prints its answer; a
/// refusal becomes exit code 1, an unreachable socket 2.
pub async fn send(socket: PathBuf, request: Request) -> Result<(), Failure> {
    let listing = matches!(request, Request::Overrides);
    let response = ask(&socket, &request)
        .await
        .map_err(|error| Failure::Unreachable(error.to_string()))?;
    if !response.ok {
        return Err(Failure::Runtime(format!(
            "the agent refused: {}",
            response.message
        )));
    }
    if listing {
        print!("{}", table(&response));
    } else {
        println!("{}", response.message);
    }
    Ok(())
}

/// The socket path from the configuration (its key is not needed).
pub fn socket_from_config(path: &Path) -> Result<PathBuf, Failure> {
    let config = crate::config::load(path, &|_| Ok(())).map_err(Failure::Config)?;
    Ok(config.control.socket)
}

/// The overrides in force, one line each.
fn table(response: &Response) -> String {
    if response.overrides.is_empty() {
        return "no overrides\n".to_owned();
    }
    let mut text = format!(
        "{:<6} {:<28} {:<12} {:<26} {:<6} {}\n",
        "KIND", "RECORD", "SERVER", "UNTIL", "BY", "REASON"
    );
    for entry in &response.overrides {
        text.push_str(&line(entry));
    }
    text
}

fn line(entry: &OverrideStatus) -> String {
    format!(
        "{:<6} {:<28} {:<12} {:<26} {:<6} {}\n",
        entry.kind.as_str(),
        entry.record.as_deref().unwrap_or("(every record)"),
        entry.server,
        entry
            .until
            .map_or_else(|| "until released".to_owned(), |t| t.to_string()),
        format!("uid {}", entry.by),
        entry.reason
    )
}
