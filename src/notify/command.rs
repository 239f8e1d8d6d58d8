//! The command hook: a program run once per event, one at a time, in order.

use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::queue::DropQueue;
use crate::config::HookCommand;
use crate::event::Event;

/// How much of the program's output reaches the log.
const OUTPUT_EXCERPT: usize = 512;

/// Runs the hook for each event of `queue` until it is closed and empty.
pub async fn run(hook: HookCommand, queue: Arc<DropQueue<Arc<Event>>>) {
    while let Some(event) = queue.pop().await {
        run_once(&hook, &event).await;
    }
}

/// Runs the program for one event: the event in `DNSFAILOVER_*` variables
/// and as JSON on its standard input; killed at the timeout.
async fn run_once(hook: &HookCommand, event: &Event) {
    let program = &hook.argv[0];
    let kind = event.event.as_str();
    let mut command = Command::new(program);
    command
        .args(&hook.argv[1..])
        .envs(event.environment())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            tracing::error!(command = %program, event = kind, "cannot run the notify command {program} for the {kind} event: {error}");
            return;
        }
    };
    let json = serde_json::to_vec(event).expect("an event serializes");
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let finished = tokio::time::timeout(hook.timeout, async {
        if let Some(stdin) = &mut stdin {
            // A program that does not read its input is fine.
            let _ = stdin.write_all(&json).await;
        }
        drop(stdin.take());
        let (out, err) = tokio::join!(excerpt(stdout.as_mut()), excerpt(stderr.as_mut()));
        (child.wait().await, out, err)
    })
    .await;
    match finished {
        Ok((Ok(status), out, err)) if status.success() => {
            tracing::debug!(command = %program, event = kind, "notify command {program} ran for the {kind} event{}", output_note(&out, &err));
        }
        Ok((Ok(status), out, err)) => {
            tracing::warn!(command = %program, event = kind, "notify command {program} failed for the {kind} event: {status}{}", output_note(&out, &err));
        }
        Ok((Err(error), _, _)) => {
            tracing::error!(command = %program, event = kind, "cannot wait for the notify command {program}: {error}");
        }
        Err(_) => {
            // Dropping the future dropped nothing of the child: kill it now.
            let _ = child.kill().await;
            tracing::warn!(command = %program, event = kind, "notify command {program} was killed after {:?} while handling the {kind} event", hook.timeout);
        }
    }
}

/// Reads all of a pipe, keeping its first bytes.
async fn excerpt<R: tokio::io::AsyncRead + Unpin>(pipe: Option<&mut R>) -> String {
    let Some(pipe) = pipe else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_EXCERPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).escape_debug().to_string()
}

fn output_note(out: &str, err: &str) -> String {
    let mut note = String::new();
    if !out.is_empty() {
        note.push_str(&format!("; stdout: {out}"));
    }
    if !err.is_empty() {
        note.push_str(&format!("; stderr: {err}"));
    }
    note
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::event::EventKind;
    use crate::snapshot::Timestamp;

    fn event() -> Event {
        Event::new(
            EventKind::Failover,
            "www failed over".into(),
            "web1 is down".into(),
            Timestamp::now(),
            "test-agent",
        )
    }

    fn hook(script: &str, timeout: Duration) -> HookCommand {
        HookCommand {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            timeout,
        }
    }

    #[tokio::test]
    async fn a_hanging_command_is_killed_at_its_timeout() {
        let started = Instant::now();
        run_once(&hook("sleep 30", Duration::from_millis(200)), &event()).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn megabytes_of_output_are_drained_not_kept() {
        let started = Instant::now();
        run_once(
            &hook(
                "head -c 5000000 /dev/zero; head -c 5000000 /dev/zero >&2",
                Duration::from_secs(20),
            ),
            &event(),
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[tokio::test]
    async fn the_event_arrives_in_the_environment_and_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!(
            "echo \"$DNSFAILOVER_EVENT|$DNSFAILOVER_AGENT|$DNSFAILOVER_REASON\" > {0}; cat >> {0}",
            out.display()
        );
        run_once(&hook(&script, Duration::from_secs(10)), &event()).await;
        let text = std::fs::read_to_string(&out).unwrap();
        let (first, json) = text.split_once('\n').unwrap();
        assert_eq!(first, "failover|test-agent|web1 is down");
        let read: Event = serde_json::from_str(json).unwrap();
        assert_eq!(read.text, "www failed over");
    }
}
