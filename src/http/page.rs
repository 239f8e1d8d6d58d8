//! `/`: the status page, rendered on the server, readable without
//! JavaScript, refreshing itself every [`REFRESH_SECONDS`]. Every value
//! that comes from the configuration, the nameserver or a check goes
//! through [`escape`].

use std::fmt::{self, Write};
use std::net::IpAddr;

use hyper::{Response, StatusCode};

use super::{ok, plain, Body};
use crate::snapshot::{FamilyStatus, HealthState, PropagationState, RecordStatus, Snapshot};
use crate::vocabulary::AddressList;

/// How often the page reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 5;

/// The page's style: no external resources, so it renders offline.
const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#eee}.up{color:#060;font-weight:bold}.down{color:#b00;font-weight:bold}\
.unknown{color:#777}.override{background:#ffd;border:1px solid #aa0;padding:.4em;margin:.3em 0}.alarm{background:#fdd;border:2px solid #b00;padding:.4em;margin:.3em 0}\
.ok{color:#060}.bad{color:#b00;font-weight:bold}small{color:#666}";

/// The HTML answer.
pub fn respond(snapshot: &Snapshot) -> Response<Body> {
    let mut html = String::new();
    match render(&mut html, snapshot) {
        Ok(()) => {
            let mut response = ok("text/html; charset=utf-8", html);
            response.headers_mut().insert(
                hyper::header::CONTENT_SECURITY_POLICY,
                hyper::header::HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            );
            response
        }
        Err(fmt::Error) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot render the page\n",
        ),
    }
}

/// Writes the whole page for `snapshot`.
pub fn render(out: &mut String, snapshot: &Snapshot) -> fmt::Result {
    let verdict = if snapshot.all_in_sync() {
        "<p class=\"ok\">Every record publishes what it should; no alarm.</p>"
    } else {
        "<p class=\"bad\">Some record is out of sync or has an alarm, or a nameserver lags behind the updates.</p>"
    };
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <title>dnsfailover status</title><style>{STYLE}</style></head><body>\n\
         <h1>dnsfailover status</h1>\n<p>Agent {version}, updating nameserver {nameserver}; \
         as of {taken_at}. <small>This page reloads every {REFRESH_SECONDS} s; \
         <a href=\"/status\">JSON</a>, <a href=\"/metrics\">metrics</a>.</small></p>\n{verdict}\n",
        version = escape(&snapshot.agent_version),
        nameserver = escape(&snapshot.nameserver),
        taken_at = snapshot.taken_at,
    )?;
    if snapshot.records.is_empty() {
        out.push_str("<p>No record known yet: the agent is starting.</p>\n");
    }
    for record in &snapshot.records {
        render_record(out, record)?;
    }
    render_propagation(out, snapshot)?;
    out.push_str("</body></html>\n");
    Ok(())
}

/// The zones' other nameservers and how they follow the updates.
fn render_propagation(out: &mut String, snapshot: &Snapshot) -> fmt::Result {
    if snapshot.propagation.is_empty() {
        return Ok(());
    }
    out.push_str("<section><h2>Propagation to the other nameservers</h2>\n");
    for zone in &snapshot.propagation {
        let serial = zone.serial.map_or("?".to_owned(), |s| s.to_string());
        writeln!(
            out,
            "<p>Zone {name}: last update (serial {serial}) confirmed on the primary at {at}.</p>",
            name = escape(&zone.zone),
            at = zone.updated_at,
        )?;
        if let Some(problem) = &zone.problem {
            writeln!(out, "<div class=\"alarm\">{}</div>", escape(problem))?;
        }
        if zone.nameservers.is_empty() {
            out.push_str("<p>No other nameserver to follow.</p>\n");
            continue;
        }
        out.push_str(
            "<table><tr><th>Nameserver</th><th>State</th><th>Serial served</th>\
             <th>Last update took</th><th>Behind since</th><th>Last error</th></tr>\n",
        );
        for ns in &zone.nameservers {
            let class = match ns.state {
                PropagationState::InSync => "up",
                PropagationState::CatchingUp => "unknown",
                PropagationState::Lagging => "down",
            };
            let text = |value: Option<String>| value.map_or("-".to_owned(), |v| escape(&v));
            writeln!(
                out,
                "<tr><td>{address}</td><td class=\"{class}\">{state}</td><td>{serial}</td>\
                 <td>{took}</td><td>{since}</td><td>{error}</td></tr>",
                address = escape(&ns.address),
                state = ns.state.as_str().replace('_', " "),
                serial = text(ns.serial.map(|s| s.to_string())),
                took = text(ns.last_seconds.map(|s| format!("{s:.3} s"))),
                since = text(ns.behind_since.map(|t| t.to_string())),
                error = text(ns.last_error.clone()),
            )?;
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

/// One record: its alarms, its families, its servers and their addresses.
fn render_record(out: &mut String, record: &RecordStatus) -> fmt::Result {
    let zone = record.zone.as_deref().unwrap_or("not known yet");
    let primary = record
        .nameserver
        .as_deref()
        .map(|ns| format!(" on nameserver {}", escape(ns)))
        .unwrap_or_default();
    write!(
        out,
        "<section><h2>{name}</h2>\n<p>Zone {zone}{primary}, TTL {ttl} s.</p>\n",
        name = escape(&record.name),
        zone = escape(zone),
        ttl = record.ttl,
    )?;
    for alarm in &record.alarms {
        let family = alarm.family.map(|f| format!(" ({f})")).unwrap_or_default();
        writeln!(
            out,
            "<div class=\"alarm\"><strong>Alarm: {kind}{family}</strong> since {since}: {detail}</div>",
            kind = escape(alarm.kind.as_str()),
            family = escape(&family),
            since = alarm.since,
            detail = escape(&alarm.detail),
        )?;
    }
    render_overrides(out, record)?;
    out.push_str(
        "<table><tr><th>Family</th><th>DNS publishes</th><th>It should publish</th>\
         <th>Why</th><th>In sync</th></tr>\n",
    );
    for family in &record.families {
        render_family(out, family)?;
    }
    out.push_str("</table>\n");
    render_last(out, record)?;
    render_servers(out, record)?;
    out.push_str("</section>\n");
    Ok(())
}

fn render_family(out: &mut String, family: &FamilyStatus) -> fmt::Result {
    let published = match family.published.state {
        crate::snapshot::PublishedState::Unread => "not read yet".to_owned(),
        crate::snapshot::PublishedState::Absent => "nothing".to_owned(),
        crate::snapshot::PublishedState::Present => with_server(
            &family.published.addresses,
            family.published.server.as_deref(),
        ),
    };
    let desired = if family.desired.addresses.is_empty() {
        "no change chosen".to_owned()
    } else {
        with_server(&family.desired.addresses, family.desired.server.as_deref())
    };
    let (class, sync) = if family.in_sync {
        ("ok", "yes")
    } else {
        ("bad", "no")
    };
    writeln!(
        out,
        "<tr><td>{fam}</td><td>{published}</td><td>{desired}</td><td>{reason}</td>\
         <td class=\"{class}\">{sync}</td></tr>",
        fam = family.family,
        published = escape(&published),
        desired = escape(&desired),
        reason = escape(&family.desired.reason),
    )
}

/// `192.0.2.1, 192.0.2.2 (web1)`.
fn with_server(addresses: &[IpAddr], server: Option<&str>) -> String {
    let list = AddressList(addresses);
    match server {
        Some(server) => format!("{list} ({server})"),
        None => format!("{list} (no configured server)"),
    }
}

/// The last update and the last error.
fn render_last(out: &mut String, record: &RecordStatus) -> fmt::Result {
    match &record.last_update {
        Some(update) => writeln!(
            out,
            "<p>Last update: {at}, {result}{failed}: {detail}</p>",
            at = update.at,
            result = escape(&update.result),
            failed = if update.succeeded { "" } else { " (failed)" },
            detail = escape(&update.detail),
        )?,
        None => out.push_str("<p>No update sent since the agent started.</p>\n"),
    }
    if let Some(error) = &record.last_error {
        writeln!(
            out,
            "<p class=\"bad\">Last error ({failures} in a row), {at}: {message}</p>",
            failures = error.failures,
            at = error.at,
            message = escape(&error.message),
        )?;
    }
    Ok(())
}

/// Every server in order of preference, each address on its own row.
/// The record's pin and drained servers, if any.
fn render_overrides(out: &mut String, record: &RecordStatus) -> fmt::Result {
    if let Some(pin) = &record.pinned {
        writeln!(
            out,
            "<div class=\"override\"><strong>Pinned to {server}</strong> {summary}</div>",
            server = escape(&pin.server),
            summary = escape(&pin.summary()),
        )?;
    }
    for server in &record.servers {
        if let Some(drain) = &server.drained {
            writeln!(
                out,
                "<div class=\"override\"><strong>{server} drained</strong> {summary}</div>",
                server = escape(&server.name),
                summary = escape(&drain.summary()),
            )?;
        }
    }
    Ok(())
}

fn render_servers(out: &mut String, record: &RecordStatus) -> fmt::Result {
    out.push_str(
        "<table><tr><th>Server</th><th>Address</th><th>State</th><th>Since</th>\
         <th>Last check</th></tr>\n",
    );
    for server in &record.servers {
        for address in &server.addresses {
            let class = match address.health {
                HealthState::Up => "up",
                HealthState::Down => "down",
                HealthState::Unknown => "unknown",
            };
            let last = match &address.last_check {
                Some(check) => format!(
                    "{} {} ({:.0} ms, {})",
                    if check.passed { "passed:" } else { "failed:" },
                    check.detail,
                    check.duration_seconds * 1000.0,
                    check.at
                ),
                None => "none yet".to_owned(),
            };
            let last = if address.checks.len() > 1 {
                every_check(address)
            } else {
                last
            };
            writeln!(
                out,
                "<tr><td>{server}</td><td>{address}</td><td class=\"{class}\">{state}</td>\
                 <td>{since}</td><td>{last}</td></tr>",
                server = escape(&server.name),
                address = address.address,
                state = match server.drained {
                    Some(_) => format!("{}, drained", address.health_text()),
                    None => address.health_text(),
                },
                since = address.since,
                last = escape(&last),
            )?;
        }
    }
    out.push_str("</table>\n");
    Ok(())
}

/// Each check of an address with its health and last result, e.g.
/// `tcp:80 up (passed: connected); smtp:25 down (failed: connection refused)`.
fn every_check(address: &crate::snapshot::AddressStatus) -> String {
    address
        .checks
        .iter()
        .map(|check| {
            let result = check.last_check.as_ref().map_or_else(
                || "none yet".to_owned(),
                |result| {
                    let verdict = if result.passed { "passed" } else { "failed" };
                    format!("{verdict}: {}", result.detail)
                },
            );
            format!("{} {} ({result})", check.label, check.health.as_str())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `text` with the characters that mean something in HTML replaced.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
