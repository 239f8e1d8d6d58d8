//! Exec checks: the operator's program, with the address in its
//! environment; killed with its process group at the timeout; its output
//! kept to an excerpt; a bounded number running at once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dnsfailover::check::{Outcome, TlsContexts};
use dnsfailover::config::{CheckSpec, ExecCheck};

use crate::{checker_with, GENEROUS, V4, V6};

/// A shell script at `dir/name` with `body`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn exec_check(program: &Path, port: Option<u16>) -> CheckSpec {
    CheckSpec::Exec(ExecCheck {
        argv: vec![program.display().to_string(), "--flag".to_owned()],
        port,
    })
}

async fn run(check: CheckSpec, address: std::net::IpAddr, timeout: Duration) -> Outcome {
    checker_with(address, check, timeout, &TlsContexts::new())
        .check()
        .await
}

fn is_running(pid: &str) -> bool {
    Path::new("/proc").join(pid.trim()).exists()
}

#[tokio::test]
async fn the_program_gets_the_address_and_exit_zero_passes() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "check",
        r#"echo "$DNSFAILOVER_ADDRESS $DNSFAILOVER_FAMILY $DNSFAILOVER_PORT $DNSFAILOVER_RECORD $DNSFAILOVER_SERVER $1""#,
    );
    let outcome = run(exec_check(&program, Some(5432)), V4, GENEROUS).await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "exited 0: 127.0.0.1 A 5432 www.example.test. web1 --flag"
    );
    let outcome = run(exec_check(&program, None), V6, GENEROUS).await;
    assert_eq!(
        outcome.detail,
        "exited 0: ::1 AAAA www.example.test. web1 --flag"
    );
}

#[tokio::test]
async fn another_exit_status_fails_with_what_the_program_said() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "check",
        "echo 'all fine' ; echo 'replica lag 93 s' >&2; exit 3",
    );
    let outcome = run(exec_check(&program, None), V4, GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "exited 3: replica lag 93 s");
    let missing = Path::new("/nonexistent/check-program");
    let outcome = run(exec_check(missing, None), V4, GENEROUS).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "cannot run /nonexistent/check-program: No such file or directory (os error 2)"
    );
}

#[tokio::test]
async fn a_hanging_program_is_killed_with_its_children_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let program = script(
        dir.path(),
        "hang",
        &format!("sleep 30 &\necho $$ $! > {}\nsleep 30", pids.display()),
    );
    let started = Instant::now();
    let outcome = run(exec_check(&program, None), V4, Duration::from_millis(500)).await;
    assert!(!outcome.healthy, "{outcome}");
    assert_eq!(
        outcome.detail,
        "timed out after 500ms waiting for the program to exit"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{outcome}");
    let pids = std::fs::read_to_string(&pids).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.split_whitespace().any(is_running) {
        assert!(Instant::now() < deadline, "still running: {pids}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn children_left_behind_do_not_hold_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(dir.path(), "daemon", "sleep 30 &\necho started");
    let started = Instant::now();
    let outcome = run(exec_check(&program, None), V4, Duration::from_secs(10)).await;
    assert!(outcome.healthy, "{outcome}");
    assert_eq!(outcome.detail, "exited 0: started");
    assert!(started.elapsed() < Duration::from_secs(5), "{outcome}");
}

#[tokio::test]
async fn megabytes_of_output_are_read_and_cut_to_an_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "chatty",
        "head -c 8000000 /dev/zero | tr '\\0' 'x'; exit 1",
    );
    let outcome = run(exec_check(&program, None), V4, Duration::from_secs(20)).await;
    assert!(!outcome.healthy, "{outcome}");
    assert!(
        outcome.detail.starts_with("exited 1: xxxx"),
        "{}",
        outcome.detail
    );
    assert!(outcome.detail.len() < 300, "{}", outcome.detail.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_32_programs_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let running = dir.path().join("running");
    std::fs::create_dir(&running).unwrap();
    let most = dir.path().join("most");
    let program = script(
        dir.path(),
        "count",
        &format!(
            "touch {running}/$$\nls {running} | wc -l >> {most}\nsleep 0.3\nrm {running}/$$",
            running = running.display(),
            most = most.display()
        ),
    );
    let mut checks = tokio::task::JoinSet::new();
    for _ in 0..48 {
        let check = exec_check(&program, None);
        checks.spawn(async move { run(check, V4, Duration::from_secs(20)).await });
    }
    while let Some(outcome) = checks.join_next().await {
        let outcome = outcome.unwrap();
        assert!(outcome.healthy, "{outcome}");
    }
    let counts: Vec<usize> = std::fs::read_to_string(&most)
        .unwrap()
        .lines()
        .map(|line| line.trim().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 48);
    let max = counts.iter().max().copied().unwrap();
    assert!(max <= 32, "{max} ran at once");
    assert!(max > 1, "they ran one by one: {counts:?}");
}
