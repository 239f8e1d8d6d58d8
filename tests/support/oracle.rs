//! The independent oracle: `dig` and `nsupdate`, never this crate's own DNS code.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::key::TestKey;
use super::process::INSTALL_HINT;

/// Seconds `dig` waits for one answer; a local server answers in milliseconds.
const DIG_TIMEOUT_SECS: &str = "2";

/// Seconds `nsupdate` waits for the answer to an update.
const NSUPDATE_TIMEOUT_SECS: &str = "5";

/// Why `dig` gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleError {
    /// What `dig` printed (its diagnostics go to stdout).
    pub output: String,
}

impl fmt::Display for OracleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dig got no answer: {}", self.output.trim())
    }
}

/// Runs `dig` against `addr` without recursion; the stdout of a query that got an answer.
///
/// An answer with no records (NXDOMAIN, NODATA, REFUSED) is still an answer.
fn dig(addr: SocketAddr, name: &str, rtype: &str, format: &[&str]) -> Result<String, OracleError> {
    let output = Command::new("dig")
        .args(format)
        .args(["+norecurse", "+tries=1"])
        .arg(format!("+time={DIG_TIMEOUT_SECS}"))
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string(), name, rtype])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| match e.kind() {
            ErrorKind::NotFound => panic!("dig not found: {INSTALL_HINT}"),
            _ => panic!("running dig: {e}"),
        });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(OracleError {
            output: format!("{stdout}{stderr}"),
        })
    }
}

/// Lines of `dig` output that carry data, not `;;` diagnostics.
fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(';'))
}

/// The rdata strings of `name`/`rtype` at `addr`, sorted; empty when the answer has none.
pub fn query_at(addr: SocketAddr, name: &str, rtype: &str) -> Result<Vec<String>, OracleError> {
    let text = dig(addr, name, rtype, &["+short"])?;
    let mut rdata: Vec<String> = data_lines(&text).map(str::to_string).collect();
    rdata.sort();
    Ok(rdata)
}

/// The TTL of the first `rtype` record in the answer for `name` at `addr`.
pub fn ttl_at(addr: SocketAddr, name: &str, rtype: &str) -> Result<Option<u32>, OracleError> {
    let text = dig(addr, name, rtype, &["+noall", "+answer"])?;
    let ttl = data_lines(&text).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, ttl, _, found_type, ..] if found_type.eq_ignore_ascii_case(rtype) => {
                ttl.parse().ok()
            }
            _ => None,
        }
    });
    Ok(ttl)
}

/// The serial field of SOA rdata in `dig +short` form.
pub fn serial_of(soa_rdata: &str) -> Option<u32> {
    soa_rdata.split_whitespace().nth(2)?.parse().ok()
}

/// Runs `nsupdate -k KEYFILE` against `addr` with `script` between `server` and `send`.
///
/// The key file is written to `key_path` (mode 0600) so the secret never appears on a command
/// line. Returns the raw output; `status.success()` tells whether the server accepted it.
pub fn nsupdate_at(addr: SocketAddr, key: &TestKey, key_path: &Path, script: &str) -> Output {
    key.write_bind_key_file(key_path);
    let mut child = Command::new("nsupdate")
        .arg("-k")
        .arg(key_path)
        .args(["-t", NSUPDATE_TIMEOUT_SECS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| match e.kind() {
            ErrorKind::NotFound => panic!("nsupdate not found: {INSTALL_HINT}"),
            _ => panic!("running nsupdate: {e}"),
        });
    let full_script = format!(
        "server {} {}\n{}\nsend\n",
        addr.ip(),
        addr.port(),
        script.trim_end()
    );
    let mut stdin = child.stdin.take().expect("nsupdate stdin is piped");
    stdin
        .write_all(full_script.as_bytes())
        .unwrap_or_else(|e| panic!("writing the nsupdate script: {e}"));
    drop(stdin);
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for nsupdate: {e}"))
}
