//! `dnsfailover status`: asks the running agent's `/status` and prints it.
//!
//! Exit codes follow the monitoring-plugin convention: 0 every record in
//! sync without alarms, 1 otherwise, 2 no agent answered (or it answered
//! something that is not its status).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderValue, CONNECTION, HOST, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::status_table;
use super::Failure;
use crate::config::HttpListener;
use crate::snapshot::Snapshot;

/// How long the whole exchange with the agent may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a `/status` answer read (a very large configuration stays below).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// The URL of the agent's status from its `http:` section: an unspecified
/// listen address (every interface) is asked on loopback.
pub fn url_from_config(http: Option<&HttpListener>) -> Result<String, Failure> {
    let http = http.ok_or_else(|| {
        Failure::Usage(
            "the configuration has no http: section, so the agent serves no status: \
             add http: { listen: 127.0.0.1:9153 } or give --url"
                .to_owned(),
        )
    })?;
    let mut address = http.listen;
    if address.port() == 0 {
        return Err(Failure::Usage(
            "http.listen has port 0, so the agent's port is only in its log: give --url".to_owned(),
        ));
    }
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => address.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => address.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    Ok(format!("http://{address}/status"))
}

/// Fetches the status at `url` and prints it (as JSON with `json`).
pub async fn status(url: &str, json: bool) -> Result<(), Failure> {
    let uri = status_uri(url)?;
    let body = tokio::time::timeout(TIMEOUT, fetch(&uri))
        .await
        .map_err(|_| Failure::Unreachable(format!("{uri}: no answer within {TIMEOUT:?}")))??;
    let snapshot: Snapshot = serde_json::from_slice(&body).map_err(|error| {
        Failure::Unreachable(format!(
            "{uri}: the answer is not an agent's status: {error}"
        ))
    })?;
    if json {
        // Indented for a person; every field kept, known to this version or not.
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|error| {
            Failure::Unreachable(format!("{uri}: the answer is not JSON: {error}"))
        })?;
        let text = serde_json::to_string_pretty(&value)
            .map_err(|error| Failure::Runtime(format!("cannot write JSON: {error}")))?;
        println!("{text}");
    } else {
        print!("{}", status_table::render(&snapshot));
    }
    let troubled = snapshot
        .records
        .iter()
        .filter(|record| !record.in_sync() || !record.alarms.is_empty())
        .count();
    let lagging: Vec<String> = snapshot
        .lagging()
        .map(|(zone, ns)| format!("{} for {zone}", ns.address))
        .collect();
    let mut problems = Vec::new();
    if troubled > 0 {
        problems.push(format!(
            "{troubled} of {} records out of sync or with an alarm",
            snapshot.records.len()
        ));
    }
    if !lagging.is_empty() {
        problems.push(format!(
            "lagging behind the updates: {}",
            lagging.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::NotInSync(problems.join("; ")))
    }
}

/// `url` as an `http://` URI; a URL without a path asks `/status`.
fn status_uri(url: &str) -> Result<Uri, Failure> {
    let usage = |why: &str| Failure::Usage(format!("--url {url:?}: {why}"));
    let uri: Uri = url
        .parse()
        .map_err(|error| usage(&format!("not a URL: {error}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(usage("give an http:// URL, e.g. http://127.0.0.1:9153"));
    }
    if uri.host().is_none() {
        return Err(usage("it names no host"));
    }
    if matches!(uri.path(), "" | "/") {
        let authority = uri.authority().map(ToString::to_string).unwrap_or_default();
        return format!("http://{authority}/status")
            .parse()
            .map_err(|error| usage(&format!("{error}")));
    }
    Ok(uri)
}

/// GETs `uri` and returns the body of a `200 OK` answer.
async fn fetch(uri: &Uri) -> Result<Bytes, Failure> {
    let unreachable = |what: String| Failure::Unreachable(format!("{uri}: {what}"));
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(80);
    let address = resolve(host, port).await.map_err(unreachable)?;
    let stream = TcpStream::connect(address)
        .await
        .map_err(|error| unreachable(format!("cannot connect to {address}: {error}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let driver = tokio::spawn(connection);
    let mut request = Request::get(uri.path_and_query().map_or("/status", |p| p.as_str()))
        .body(Empty::<Bytes>::new())
        .map_err(|error| unreachable(error.to_string()))?;
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let headers = request.headers_mut();
    headers.insert(
        HOST,
        HeaderValue::from_str(authority).map_err(|e| unreachable(e.to_string()))?,
    );
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("dnsfailover/", env!("CARGO_PKG_VERSION"))),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    if response.status() != StatusCode::OK {
        return Err(unreachable(format!("answered {}", response.status())));
    }
    let body = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|error| unreachable(format!("cannot read the answer: {error}")))?
        .to_bytes();
    driver.abort();
    Ok(body)
}

/// The first address of `host` (a literal, or a name such as `localhost`).
async fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| format!("cannot resolve {host}: {error}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}
