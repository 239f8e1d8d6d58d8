//! The validated `notify:` section: where events are delivered.

use std::path::PathBuf;
use std::time::Duration;

use super::HttpScheme;

/// Where events (failover, failback, all down, ...) are delivered, besides the log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Notify {
    /// JSON POSTs, each with its own queue.
    pub webhooks: Vec<Webhook>,
    /// A program run once per event, in event order.
    pub command: Option<HookCommand>,
    /// Events each destination may hold before the oldest is dropped.
    pub queue: usize,
}

impl Notify {
    /// True when events go nowhere but the log.
    pub fn is_empty(&self) -> bool {
        self.webhooks.is_empty() && self.command.is_none()
    }
}

/// An HTTP(S) endpoint that receives each event as a JSON POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// The URL as written, for logs (its query may hold a token: never logged whole).
    pub url: WebhookUrl,
    /// Time allowed for one POST, connecting included.
    pub timeout: Duration,
    /// Further attempts after a failed POST, with doubling pauses.
    pub retries: u32,
    /// HTTPS: PEM file of extra trusted CA certificates.
    pub tls_ca_file: Option<PathBuf>,
}

/// A parsed `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// HTTP or HTTPS.
    pub scheme: HttpScheme,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// Port (80 or 443 when the URL names none).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path_and_query: String,
}

impl WebhookUrl {
    /// `scheme://host:port/path` without the query, which may hold a secret token.
    pub fn redacted(&self) -> String {
        let scheme = match self.scheme {
            HttpScheme::Http => "http",
            HttpScheme::Https => "https",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let path = self
            .path_and_query
            .split('?')
            .next()
            .unwrap_or(&self.path_and_query);
        format!("{scheme}://{host}:{}{path}", self.port)
    }
}

/// A program run for each event.
#[derive(Debug, Clone, PartialEq)]
pub struct HookCommand {
    /// The program and its arguments; never run through a shell.
    pub argv: Vec<String>,
    /// Time the program may take before it is killed.
    pub timeout: Duration,
}
