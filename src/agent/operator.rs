//! Applying an operator's request from the control socket to the engine's
//! overrides, with one audit log line per change: what, who, until when, why.

use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use hickory_proto::rr::Name;

use crate::control::{Request, Response};
use crate::engine::{Engine, Override, OverrideKind};
use crate::snapshot::{OverrideKindStatus, OverrideStatus, Timestamp};

/// What a request did.
pub struct Outcome {
    /// The answer for the client.
    pub response: Response,
    /// Records whose decision may change.
    pub affected: Vec<Name>,
    /// The overrides changed (the state file must be written).
    pub changed: bool,
}

/// The longest an override may be set for.
const MAX_FOR: Duration = Duration::from_secs(366 * 24 * 3600);

/// Applies `request` from `uid` at `now` (`wall`: the same moment on the wall clock).
pub fn apply(
    engine: &mut Engine,
    request: Request,
    uid: u32,
    now: Instant,
    wall: SystemTime,
) -> Outcome {
    let result = match request {
        Request::Drain {
            server,
            record,
            for_seconds,
            reason,
        } => record
            .map(|text| known_record(engine, &text))
            .transpose()
            .and_then(|record| {
                let kind = OverrideKind::Drain { server, record };
                set(engine, kind, for_seconds, reason, uid, now, wall)
            }),
        Request::Pin {
            record,
            server,
            for_seconds,
            reason,
        } => known_record(engine, &record).and_then(|record| {
            let kind = OverrideKind::Pin { record, server };
            set(engine, kind, for_seconds, reason, uid, now, wall)
        }),
        Request::Release { target } => release(engine, &target, uid),
        Request::Failback { record } => failback(engine, &record, uid),
        Request::Overrides => Ok((String::new(), Vec::new(), false)),
        Request::Reload => Err("reload is not handled here".to_owned()),
    };
    let (mut response, affected, changed) = match result {
        Ok((message, affected, changed)) => (Response::done(message), affected, changed),
        Err(message) => (Response::refused(message), Vec::new(), false),
    };
    response.overrides = engine
        .overrides()
        .entries()
        .iter()
        .map(override_status)
        .collect();
    Outcome {
        response,
        affected,
        changed,
    }
}

type Applied = Result<(String, Vec<Name>, bool), String>;

/// Sets an override of `kind` from `uid`, for `for_seconds` (or until
/// released), after checking that it names a configured server; logs it.
fn set(
    engine: &mut Engine,
    kind: OverrideKind,
    for_seconds: Option<f64>,
    reason: String,
    uid: u32,
    now: Instant,
    wall: SystemTime,
) -> Applied {
    let mut entry = Override {
        kind,
        by: uid,
        reason,
        set_at: wall,
        until: None,
        expires: None,
    };
    if let Some(seconds) = for_seconds {
        let lasting = Duration::try_from_secs_f64(seconds)
            .ok()
            .filter(|d| !d.is_zero() && *d <= MAX_FOR)
            .ok_or_else(|| format!("--for {seconds} s: give a duration between 1s and 366d"))?;
        entry.until = Some(wall + lasting);
        entry.expires = Some(now + lasting);
    }
    let affected = affected_by(engine, &entry);
    if affected.is_empty() {
        return Err(match entry.record() {
            Some(record) => format!("record {record} has no server {}", entry.server()),
            None => format!("no record has a server {}", entry.server()),
        });
    }
    let message = describe(&entry);
    audit(&format!("set: {message}"), &entry);
    engine.overrides_mut().set(entry);
    Ok((message, affected, true))
}

/// Removes the drains of a server, or else the pin of a record.
fn release(engine: &mut Engine, target: &str, uid: u32) -> Applied {
    let mut removed = engine.overrides_mut().release_server(target);
    if removed.is_empty() {
        if let Ok(record) = parse_name(target) {
            removed = engine.overrides_mut().release_pin(&record);
        }
    }
    if removed.is_empty() {
        return Err(format!(
            "no drain of a server {target} and no pin of a record {target} is in force (see dnsfailover overrides)"
        ));
    }
    let mut affected = Vec::new();
    for entry in &removed {
        affected.extend(affected_by(engine, entry));
        tracing::info!(
            audit = true,
            uid,
            kind = entry.kind_label(),
            server = entry.server(),
            "override released by uid {uid}: {}",
            describe(entry)
        );
    }
    let message = format!("released {} override(s) of {target}", removed.len());
    Ok((message, affected, true))
}

/// Asks a record to go back to its first server up.
fn failback(engine: &mut Engine, record: &str, uid: u32) -> Applied {
    let record = known_record(engine, record)?;
    tracing::info!(audit = true, uid, record = %record, "failback of {record} asked by uid {uid}");
    engine.overrides_mut().request_failback(record.clone());
    Ok((
        format!("{record} goes back to its first server up"),
        vec![record],
        false,
    ))
}

/// The records whose decisions `entry` changes.
pub fn affected_by(engine: &Engine, entry: &Override) -> Vec<Name> {
    engine
        .records()
        .filter(|record| entry.affects(record))
        .map(|record| record.name.clone())
        .collect()
}

fn known_record(engine: &Engine, text: &str) -> Result<Name, String> {
    let name = parse_name(text)?;
    engine
        .record(&name)
        .map(|record| record.name.clone())
        .ok_or_else(|| format!("no record {name} is configured"))
}

fn parse_name(text: &str) -> Result<Name, String> {
    let mut name =
        Name::from_str(text).map_err(|error| format!("{text:?} is not a DNS name: {error}"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// "web1 drained in every record until T (by uid 0: why)".
pub fn describe(entry: &Override) -> String {
    let what = match &entry.kind {
        OverrideKind::Drain { server, record } => match record {
            Some(record) => format!("{server} drained in {record}"),
            None => format!("{server} drained in every record"),
        },
        OverrideKind::Pin { record, server } => format!("{record} pinned to {server}"),
    };
    let until = entry.until.map_or_else(
        || "until released".to_owned(),
        |until| format!("until {}", Timestamp::from(until)),
    );
    let why = if entry.reason.is_empty() {
        "no reason given".to_owned()
    } else {
        entry.reason.clone()
    };
    format!("{what} {until} (by uid {}: {why})", entry.by)
}

/// The audit line of a change.
pub fn audit(change: &str, entry: &Override) {
    tracing::info!(
        audit = true,
        uid = entry.by,
        kind = entry.kind_label(),
        server = entry.server(),
        "override {change}"
    );
}

/// An override as status and the state file show it.
pub fn override_status(entry: &Override) -> OverrideStatus {
    OverrideStatus {
        kind: match entry.kind {
            OverrideKind::Drain { .. } => OverrideKindStatus::Drain,
            OverrideKind::Pin { .. } => OverrideKindStatus::Pin,
        },
        record: entry.record().map(ToString::to_string),
        server: entry.server().to_owned(),
        by: entry.by,
        reason: entry.reason.clone(),
        at: Timestamp::from(entry.set_at),
        until: entry.until.map(Timestamp::from),
    }
}

/// An override read back from the state file; `None` when it has expired
/// by `wall` or names an impossible record.
pub fn from_status(status: &OverrideStatus, now: Instant, wall: SystemTime) -> Option<Override> {
    let record = status.record.as_deref().map(parse_name).transpose().ok()?;
    let server = status.server.clone();
    let kind = match status.kind {
        OverrideKindStatus::Drain => OverrideKind::Drain { server, record },
        OverrideKindStatus::Pin => OverrideKind::Pin {
            record: record?,
            server,
        },
    };
    let (until, expires) = match status.until {
        None => (None, None),
        Some(until) => {
            let left = until.system_time().duration_since(wall).ok()?;
            if left.is_zero() {
                return None;
            }
            (Some(until.system_time()), Some(now + left))
        }
    };
    Some(Override {
        kind,
        by: status.by,
        reason: status.reason.clone(),
        set_at: status.at.system_time(),
        until,
        expires,
    })
}
