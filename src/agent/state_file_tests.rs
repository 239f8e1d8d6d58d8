//! Tests of the state file: atomic write, corrupt file ignored, expired dropped.

use std::time::Duration;

use super::*;
use crate::engine::OverrideKind;

fn drain(server: &str, lasting: Option<Duration>, now: Instant, wall: SystemTime) -> Override {
    Override {
        kind: OverrideKind::Drain {
            server: server.to_owned(),
            record: None,
        },
        by: 1000,
        reason: "maintenance".to_owned(),
        set_at: wall,
        until: lasting.map(|d| wall + d),
        expires: lasting.map(|d| now + d),
    }
}

#[test]
fn overrides_survive_a_write_and_a_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let (now, wall) = (Instant::now(), SystemTime::now());
    let saved = vec![
        drain("web1", None, now, wall),
        drain("web2", Some(Duration::from_secs(60)), now, wall),
    ];
    save(&path, &saved).expect("saved");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listed")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["state.json"], "no temporary file is left");
    let loaded = load(&path, now, wall);
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].server(), "web1");
    assert_eq!(loaded[0].expires, None);
    let left = loaded[1].expires.expect("expires") - now;
    assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(58));
}

#[test]
fn a_rewrite_replaces_the_file_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let (now, wall) = (Instant::now(), SystemTime::now());
    save(&path, &[drain("web1", None, now, wall)]).expect("saved");
    save(&path, &[]).expect("saved again");
    assert!(load(&path, now, wall).is_empty());
}

#[test]
fn a_corrupt_or_missing_file_is_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let (now, wall) = (Instant::now(), SystemTime::now());
    assert!(load(&path, now, wall).is_empty());
    std::fs::write(&path, "{\"version\": 1, \"overrides\": [tru").expect("written");
    assert!(load(&path, now, wall).is_empty());
    std::fs::write(&path, "{\"version\": 99, \"overrides\": []}").expect("written");
    assert!(load(&path, now, wall).is_empty());
}

#[test]
fn expired_overrides_are_dropped_on_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let (now, wall) = (Instant::now(), SystemTime::now());
    let earlier = wall - Duration::from_secs(120);
    save(
        &path,
        &[
            drain("web1", Some(Duration::from_secs(60)), now, earlier),
            drain("web2", Some(Duration::from_secs(600)), now, earlier),
        ],
    )
    .expect("saved");
    let loaded = load(&path, now, wall);
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].server(), "web2");
}
