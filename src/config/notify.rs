//! The `notify:` section: webhooks and a command that receive every event.

use std::time::Duration;

use super::node::Node;
use super::report::{item_path, Report};
use super::scalar;
use super::table::Table;
use super::{HookCommand, HttpScheme, Notify, Webhook, WebhookUrl};

/// Keys of the `notify:` table.
const NOTIFY_KEYS: &[&str] = &["webhooks", "command", "queue"];
/// Keys of one webhook.
const WEBHOOK_KEYS: &[&str] = &["url", "timeout", "retries", "tls_ca_file"];
/// Keys of `command:`.
const COMMAND_KEYS: &[&str] = &["run", "timeout"];
/// Time allowed for one webhook POST when none is given.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// Further attempts after a failed POST when none is given.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 3;
/// Most further attempts after a failed POST.
pub const MAX_WEBHOOK_RETRIES: u32 = 10;
/// Time a command may run when none is given.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Events a destination may hold when `queue` is not given.
pub const DEFAULT_QUEUE: usize = 100;
/// Most events a destination may hold.
pub const MAX_QUEUE: u32 = 100_000;

/// Validates the `notify:` section at `path`.
pub(super) fn read_notify(node: &Node, path: &str, report: &mut Report) -> Option<Notify> {
    let table = Table::read(node, path, NOTIFY_KEYS, report)?;
    let queue = table
        .optional("queue", report, |node| scalar::integer(node, 1, MAX_QUEUE))
        .map_or(DEFAULT_QUEUE, |queue: u32| queue as usize);
    let webhooks = match table.get("webhooks") {
        None => Some(Vec::new()),
        Some(node) => read_webhooks(node, &table.field("webhooks"), report),
    };
    let command = match table.get("command") {
        None => Some(None),
        Some(node) => read_command(node, &table.field("command"), report).map(Some),
    };
    Some(Notify {
        webhooks: webhooks?,
        command: command?,
        queue,
    })
}

fn read_webhooks(node: &Node, path: &str, report: &mut Report) -> Option<Vec<Webhook>> {
    let nodes = match scalar::sequence(node) {
        Ok(nodes) => nodes,
        Err(message) => {
            report.add(node.position, path, message);
            return None;
        }
    };
    let webhooks: Vec<Option<Webhook>> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| read_webhook(node, &item_path(path, index), report))
        .collect();
    webhooks.into_iter().collect()
}

fn read_webhook(node: &Node, path: &str, report: &mut Report) -> Option<Webhook> {
    let table = Table::read(node, path, WEBHOOK_KEYS, report)?;
    let url = table.required(
        "url",
        "give the http:// or https:// URL that receives the events",
        report,
        |node| parse_url(&scalar::non_empty_string(node)?),
    );
    let timeout = table
        .optional("timeout", report, scalar::duration)
        .unwrap_or(DEFAULT_WEBHOOK_TIMEOUT);
    let retries = table
        .optional("retries", report, |node| {
            scalar::integer(node, 0, MAX_WEBHOOK_RETRIES)
        })
        .unwrap_or(DEFAULT_WEBHOOK_RETRIES);
    let tls_ca_file = table.optional("tls_ca_file", report, scalar::path);
    let url = url?;
    if tls_ca_file.is_some() && url.scheme == HttpScheme::Http {
        let position = table
            .key_position("tls_ca_file")
            .unwrap_or(table.position());
        let message = "tls_ca_file is for https:// URLs; this one is http://";
        report.add(position, &table.field("tls_ca_file"), message);
        return None;
    }
    Some(Webhook {
        url,
        timeout,
        retries,
        tls_ca_file,
    })
}

fn read_command(node: &Node, path: &str, report: &mut Report) -> Option<HookCommand> {
    let table = Table::read(node, path, COMMAND_KEYS, report)?;
    let argv = table.required(
        "run",
        "give the program and its arguments as a list, e.g. [/usr/local/bin/notify, --urgent]",
        report,
        scalar::command,
    );
    let timeout = table
        .optional("timeout", report, scalar::duration)
        .unwrap_or(DEFAULT_COMMAND_TIMEOUT);
    Some(HookCommand {
        argv: argv?,
        timeout,
    })
}

/// Parses `http[s]://host[:port][/path][?query]`.
pub(super) fn parse_url(text: &str) -> Result<WebhookUrl, String> {
    let (scheme, rest) = if let Some(rest) = text.strip_prefix("https://") {
        (HttpScheme::Https, rest)
    } else if let Some(rest) = text.strip_prefix("http://") {
        (HttpScheme::Http, rest)
    } else {
        return Err(format!("{text:?} is no http:// or https:// URL"));
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.contains('@') {
        return Err("user names and passwords in the URL are not supported; put a token in the path or query".to_owned());
    }
    let default_port = match scheme {
        HttpScheme::Http => 80,
        HttpScheme::Https => 443,
    };
    let (host, port) = split_host_port(authority, default_port)
        .ok_or_else(|| format!("{text:?}: cannot read the host and port"))?;
    if host.is_empty() {
        return Err(format!("{text:?} names no host"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{text:?}: the path holds spaces or control characters; percent-encode them"
        ));
    }
    let path_and_query = match path {
        "" => "/".to_owned(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_owned(),
    };
    Ok(WebhookUrl {
        scheme,
        host,
        port,
        path_and_query,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => default_port,
            p => p.strip_prefix(':')?.parse().ok().filter(|p| *p != 0)?,
        };
        host.parse::<std::net::Ipv6Addr>().ok()?;
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            let port = port.parse().ok().filter(|p| *p != 0)?;
            (!host.contains(':')).then(|| (host.to_owned(), port))
        }
        None => Some((authority.to_owned(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_with_their_defaults() {
        let url = parse_url("https://hooks.example.test/services/T0/B0?token=s3cret").unwrap();
        assert_eq!(url.scheme, HttpScheme::Https);
        assert_eq!((url.host.as_str(), url.port), ("hooks.example.test", 443));
        assert_eq!(url.path_and_query, "/services/T0/B0?token=s3cret");
        assert_eq!(
            url.redacted(),
            "https://hooks.example.test:443/services/T0/B0"
        );
        let url = parse_url("http://[::1]:8080").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 8080));
        assert_eq!(url.path_and_query, "/");
        assert_eq!(url.redacted(), "http://[::1]:8080/");
        assert_eq!(parse_url("http://127.0.0.1:9/x").unwrap().port, 9);
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (text, expected) in [
            ("ftp://x/", "no http:// or https:// URL"),
            ("http:///path", "names no host"),
            ("http://host:0/", "cannot read the host and port"),
            ("http://host:99999/", "cannot read the host and port"),
            ("http://user:pw@host/", "passwords"),
            ("http://[zz]/", "cannot read the host"),
            ("http://h/a b", "percent-encode"),
        ] {
            let error = parse_url(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
