//! The read-only HTTP listener: what the agent knows, for people and
//! monitoring.
//!
//! Every answer is made from the latest [`Snapshot`] on the agent's watch
//! channel (and, for the counters and histograms, its [`Statistics`]); nothing here can change the agent's state. [`listener`] accepts
//! connections and bounds them; [`route`] picks the endpoint, one file each:
//!
//! - `/` ([`page`]): an HTML status page that refreshes itself;
//! - `/status` ([`status`]): the snapshot as JSON;
//! - `/metrics` ([`metrics`]): Prometheus text exposition.

pub mod listener;
pub mod metrics;
pub mod page;
pub mod status;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};

pub use listener::StatusListener;

use crate::snapshot::Snapshot;
use crate::statistics::Statistics;

/// The body of every answer: made in one piece.
pub type Body = Full<Bytes>;

/// The answer to `method` on `path` (query string excluded).
pub fn route(
    method: &Method,
    path: &str,
    snapshot: &Arc<Snapshot>,
    statistics: &Statistics,
) -> Response<Body> {
    let endpoint: fn(&Arc<Snapshot>, &Statistics) -> Response<Body> = match path {
        "/" => |snapshot, _| page::respond(snapshot),
        "/status" => |snapshot, _| status::respond(snapshot),
        "/metrics" => metrics::respond,
        _ => {
            return plain(
                StatusCode::NOT_FOUND,
                "not found: try /, /status or /metrics\n",
            )
        }
    };
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD: this listener is read-only\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    endpoint(snapshot, statistics)
}

/// A `200 OK` answer of `content_type`, never cached.
pub(crate) fn ok(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A plain-text answer with `status`.
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = ok("text/plain; charset=utf-8", text);
    *response.status_mut() = status;
    response
}
