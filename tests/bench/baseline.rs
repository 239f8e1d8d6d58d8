//! The baseline: the shell loop many operators start with. Every second it
//! fetches the preferred server's health page with `curl --max-time`; when
//! that fails it points the record at the other server with `nsupdate`, and
//! back when it passes again. No threshold: one failed check moves DNS.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::children::ChildProcess;
use crate::lab::{Lab, NAME, PRIMARY, SECONDARY, TTL, ZONE};

/// Iterations after which the loop ends by itself (one hour at 1 s).
const MAX_ITERATIONS: u32 = 3_600;

/// Starts the loop; `timeout` is curl's `--max-time`.
pub fn start(lab: &Lab, timeout: Duration) -> ChildProcess {
    let path = lab.dir.path().join("baseline.sh");
    std::fs::write(&path, script(lab, timeout)).expect("writing the baseline script");
    let log = std::fs::File::create(lab.dir.path().join("baseline.log"))
        .expect("creating the baseline log");
    ChildProcess::spawn(
        "baseline shell loop",
        Command::new("bash")
            .arg(&path)
            .stdout(Stdio::from(log.try_clone().expect("a log handle")))
            .stderr(Stdio::from(log)),
    )
}

fn script(lab: &Lab, timeout: Duration) -> String {
    let server = lab.server.addr();
    format!(
        r#"#!/usr/bin/env bash
# Naive DNS failover: check every second, move on the first failure.
primary={PRIMARY}
secondary={SECONDARY}
current=$primary
for ((i = 0; i < {MAX_ITERATIONS}; i++)); do
  if curl -fsS -o /dev/null --max-time {timeout} "http://$primary:{port}/health"; then
    want=$primary
  else
    want=$secondary
  fi
  echo "$EPOCHREALTIME checked: $want"
  if [ "$want" != "$current" ]; then
    printf 'server {ip} {dns_port}\nzone {ZONE}\nupdate delete {NAME} A\nupdate add {NAME} {TTL} A %s\nsend\n' "$want" \
      | nsupdate -k {key} -t 2 && current=$want
  fi
  sleep 1
done
"#,
        timeout = timeout.as_secs_f64(),
        port = lab.port(),
        ip = server.ip(),
        dns_port = server.port(),
        key = lab.key_path().display(),
    )
}
