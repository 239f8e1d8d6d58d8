//! One agent, two primaries: a zone on a real BIND and another on a real
//! Knot, each with its own TSIG key. With one primary stopped, the other's
//! record still fails over promptly, while the stopped one's record is
//! reported failing at that primary in `/status` and `/metrics`; once it is
//! back, its record is read and settled again. Preflight and plan work per
//! primary, and a key problem names the item of `nameservers:` it is in.

// Only part of the client is used here.
#[allow(dead_code)]
#[path = "observe/client.rs"]
mod client;
#[path = "observe/exposition.rs"]
mod exposition;
mod support;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{
    common_port, wait_until, AgentProcess, Grant, NameServer, ServerKind, TestKey, WebTarget,
    ZoneSpec, MOVE_DEADLINE,
};

const BIND_ZONE: &str = "bind.test.";
const KNOT_ZONE: &str = "knot.test.";
const BIND_RECORD: &str = "www.bind.test.";
const KNOT_RECORD: &str = "www.knot.test.";
/// The web servers of the BIND zone's record, and of the Knot zone's.
const BIND_WEB: [&str; 2] = ["127.0.0.2", "127.0.0.3"];
const KNOT_WEB: [&str; 2] = ["127.0.0.4", "127.0.0.5"];
/// A record whose primary is back waits out its back-off (at most 30 s).
const RECOVERY_DEADLINE: Duration = Duration::from_secs(60);

/// A primary: its nameserver, key and the record's two web servers.
struct Primary {
    server: NameServer,
    web: [WebTarget; 2],
}

/// Both primaries and the agent's files.
struct Scene {
    bind: Primary,
    knot: Primary,
    dir: tempfile::TempDir,
}

fn zone(origin: &str, key: &TestKey, initial: &str) -> ZoneSpec {
    ZoneSpec::new(origin, 11)
        .record(&format!("www 15 IN A {initial}"))
        .grant(Grant::Name {
            key: key.name.clone(),
            name: "www".into(),
            types: vec!["A".into(), "AAAA".into()],
        })
}

impl Scene {
    async fn start() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let bind_key = TestKey::generate("bind-agent-key");
        let knot_key = TestKey::generate("knot-agent-key");
        bind_key.write_bind_key_file(&dir.path().join("bind.key"));
        knot_key.write_bind_key_file(&dir.path().join("knot.key"));
        let bind = NameServer::start(
            ServerKind::Bind,
            vec![zone(BIND_ZONE, &bind_key, BIND_WEB[0])],
            vec![bind_key],
        );
        let knot = NameServer::start(
            ServerKind::Knot,
            vec![zone(KNOT_ZONE, &knot_key, KNOT_WEB[0])],
            vec![knot_key],
        );
        let addresses: Vec<IpAddr> = BIND_WEB
            .iter()
            .chain(&KNOT_WEB)
            .map(|a| a.parse().unwrap())
            .collect();
        let port = common_port(&addresses).await;
        let mut targets = Vec::new();
        for address in addresses {
            targets.push(WebTarget::start(SocketAddr::new(address, port)).await);
        }
        let mut targets = targets.into_iter();
        let mut two = || [targets.next().unwrap(), targets.next().unwrap()];
        Scene {
            bind: Primary {
                server: bind,
                web: two(),
            },
            knot: Primary {
                server: knot,
                web: two(),
            },
            dir,
        }
    }

    /// The agent's configuration, written to `file`: the BIND zone's
    /// primary first, the Knot zone's second (with `knot_key_file` as its
    /// key), each with a record.
    fn config_with_knot_key(&self, file: &str, knot_key_file: &str) -> PathBuf {
        let path = self.dir.path().join(file);
        let port = self.bind.web[0].address().port();
        let record = |name: &str, zone: Option<&str>, web: [&str; 2]| {
            let zone = zone.map(|z| format!("    zone: {z}\n")).unwrap_or_default();
            format!(
                "  - name: {name}\n{zone}    servers:\n\
                 \x20     - {{ name: web1, addresses: [{}] }}\n\
                 \x20     - {{ name: web2, addresses: [{}] }}\n",
                web[0], web[1]
            )
        };
        let text = format!(
            "nameservers:\n\
             \x20 - address: {bind}\n    key_file: {dir}/bind.key\n    timeout: 1s\n    zones: [bind.test]\n\
             \x20 - address: {knot}\n    key_file: {knot_key_file}\n    timeout: 2s\n    zones: [knot.test.]\n\
             defaults:\n  ttl: 15\n  interval: 200ms\n  timeout: 150ms\n  fall: 2\n  rise: 2\n\
             \x20 check: {{ type: tcp, port: {port} }}\n\
             records:\n{bind_record}{knot_record}\
             http:\n  listen: 0\n\
             control:\n  socket: {dir}/control.sock\n  state_file: {dir}/state.json\n",
            bind = self.bind.server.addr(),
            knot = self.knot.server.addr(),
            dir = self.dir.path().display(),
            bind_record = record(BIND_RECORD, None, BIND_WEB),
            knot_record = record(KNOT_RECORD, Some(KNOT_ZONE), KNOT_WEB),
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    fn config(&self) -> PathBuf {
        let key = self.dir.path().join("knot.key");
        self.config_with_knot_key("dnsfailover.yaml", &key.display().to_string())
    }

    fn agent(&self) -> AgentProcess {
        AgentProcess::start(&self.config(), &self.dir.path().join("agent.log"))
    }

    fn primary(&self, kind: ServerKind) -> &Primary {
        match kind {
            ServerKind::Bind => &self.bind,
            ServerKind::Knot => &self.knot,
        }
    }

    fn primary_mut(&mut self, kind: ServerKind) -> &mut Primary {
        match kind {
            ServerKind::Bind => &mut self.bind,
            ServerKind::Knot => &mut self.knot,
        }
    }
}

fn record_of(kind: ServerKind) -> &'static str {
    match kind {
        ServerKind::Bind => BIND_RECORD,
        ServerKind::Knot => KNOT_RECORD,
    }
}

fn web_of(kind: ServerKind) -> [&'static str; 2] {
    match kind {
        ServerKind::Bind => BIND_WEB,
        ServerKind::Knot => KNOT_WEB,
    }
}

fn other(kind: ServerKind) -> ServerKind {
    match kind {
        ServerKind::Bind => ServerKind::Knot,
        ServerKind::Knot => ServerKind::Bind,
    }
}

fn status(address: SocketAddr) -> Value {
    serde_json::from_str(&client::get(address, "/status")).expect("/status is JSON")
}

/// The status of `record` in `status`, if it is there.
fn find_record<'a>(status: &'a Value, record: &str) -> Option<&'a Value> {
    status["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["name"] == record)
}

/// The status of `record` in `status`.
fn record<'a>(status: &'a Value, record: &str) -> &'a Value {
    find_record(status, record).unwrap_or_else(|| panic!("no {record} in {status}"))
}

fn has_alarm(record: &Value, kind: &str) -> bool {
    record["alarms"]
        .as_array()
        .is_some_and(|alarms| alarms.iter().any(|a| a["kind"] == kind))
}

/// In sync, read, and without alarm.
fn settled(record: &Value) -> bool {
    record["families"][0]["in_sync"] == true
        && record["alarms"].as_array().is_some_and(Vec::is_empty)
        && record["last_error"].is_null()
}

fn nameserver_failing(address: SocketAddr, primary: SocketAddr) -> Option<f64> {
    let text = client::get(address, "/metrics");
    let metrics = exposition::parse(&text).unwrap_or_else(|why| panic!("{why}\n{text}"));
    let label = primary.to_string();
    metrics.value(
        "dnsfailover_nameserver_failing",
        &[("nameserver", label.as_str())],
    )
}

/// `stopped` is stopped; its record then needs an update that cannot go
/// out, and is reported failing at its primary. The other primary's
/// record fails over promptly all the same (read back with dig). With
/// `stopped` started again, its record fails over too and settles.
async fn one_primary_down_delays_only_its_own_zone(stopped: ServerKind) {
    let mut scene = Scene::start().await;
    let agent = scene.agent();
    let listener = agent.listener_address(MOVE_DEADLINE);
    let (bind_address, knot_address) = (scene.bind.server.addr(), scene.knot.server.addr());
    let primary_address = |kind| match kind {
        ServerKind::Bind => bind_address,
        ServerKind::Knot => knot_address,
    };
    wait_until(
        MOVE_DEADLINE,
        || {
            let status = status(listener);
            settled(record(&status, BIND_RECORD)) && settled(record(&status, KNOT_RECORD))
        },
        || {
            format!(
                "both records settled: {}\n{}",
                status(listener),
                agent.log()
            )
        },
    );
    let status_now = status(listener);
    for kind in [ServerKind::Bind, ServerKind::Knot] {
        assert_eq!(
            record(&status_now, record_of(kind))["nameserver"],
            primary_address(kind).to_string(),
            "{status_now}"
        );
    }
    assert_eq!(
        nameserver_failing(listener, primary_address(stopped)),
        Some(0.0)
    );

    // The stopped primary's record wants web2 now, and cannot have it.
    scene.primary_mut(stopped).server.stop();
    scene.primary_mut(stopped).web[0].kill();
    let failing_record = record_of(stopped);
    wait_until(
        MOVE_DEADLINE,
        || {
            has_alarm(
                record(&status(listener), failing_record),
                "nameserver_failing",
            )
        },
        || {
            format!(
                "{failing_record} failing: {}\n{}",
                status(listener),
                agent.log()
            )
        },
    );
    assert_eq!(
        nameserver_failing(listener, primary_address(stopped)),
        Some(1.0)
    );

    // The other primary's record fails over as if nothing were wrong.
    let working = other(stopped);
    let (working_record, working_web) = (record_of(working), web_of(working));
    scene.primary_mut(working).web[0].kill();
    let took = wait_until(
        MOVE_DEADLINE,
        || scene.primary(working).server.query(working_record, "A") == [working_web[1]],
        || {
            format!(
                "{working_record} on web2: {:?}\n{}",
                scene.primary(working).server.query(working_record, "A"),
                agent.log()
            )
        },
    );
    eprintln!("{working_record} failed over in {took:?} with {stopped} stopped");
    let status_now = status(listener);
    let working_status = record(&status_now, working_record);
    assert!(
        !has_alarm(working_status, "nameserver_failing"),
        "{status_now}"
    );
    assert!(
        has_alarm(record(&status_now, failing_record), "nameserver_failing"),
        "{status_now}"
    );
    assert_eq!(
        nameserver_failing(listener, primary_address(working)),
        Some(0.0)
    );
    let log = agent.log();
    let named = format!("at the nameserver {}", primary_address(stopped));
    assert!(
        log.contains(&named),
        "the log names the failing primary:\n{log}"
    );
    let page = client::get(listener, "/");
    for kind in [ServerKind::Bind, ServerKind::Knot] {
        let on = format!("on nameserver {}", primary_address(kind));
        assert!(
            page.contains(&on),
            "the page names each record's primary:\n{page}"
        );
    }
    let table = Command::new(support::binary())
        .args(["status", "--url", &format!("http://{listener}")])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let row = table
        .lines()
        .find(|line| line.starts_with(failing_record) && line.contains("nameserver_failing"))
        .unwrap_or_else(|| panic!("a failing row for {failing_record}:\n{table}"));
    assert!(
        table
            .lines()
            .next()
            .is_some_and(|_| table.contains("NAMESERVER")),
        "{table}"
    );
    assert!(
        row.trim_end()
            .ends_with(&primary_address(stopped).to_string()),
        "{row}"
    );
    assert!(
        !log.contains("answers again"),
        "the working primary's updates are no recovery of the stopped one:\n{log}"
    );

    // Back: the record is read again, fails over and settles.
    scene.primary_mut(stopped).server.restart();
    let stopped_web = web_of(stopped);
    wait_until(
        RECOVERY_DEADLINE,
        || {
            scene.primary(stopped).server.query(failing_record, "A") == [stopped_web[1]]
                && settled(record(&status(listener), failing_record))
        },
        || {
            format!(
                "{failing_record} settled again: {}\n{}",
                status(listener),
                agent.log()
            )
        },
    );
    assert_eq!(
        nameserver_failing(listener, primary_address(stopped)),
        Some(0.0)
    );
    agent.wait_for_log(
        &format!("the nameserver {} answers again", primary_address(stopped)),
        1,
        MOVE_DEADLINE,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_down_delays_only_the_knot_zone() {
    one_primary_down_delays_only_its_own_zone(ServerKind::Knot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_down_delays_only_the_bind_zone() {
    one_primary_down_delays_only_its_own_zone(ServerKind::Bind).await;
}

/// Preflight proves each zone's key at its own primary; plan reads each
/// record from its own and shows each UPDATE for its own server; a key
/// that cannot be loaded is reported at its item of `nameservers:`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_plan_and_key_problems_per_primary() {
    let mut scene = Scene::start().await;
    let config = scene.config();
    let run = |command: &str, config: &PathBuf| {
        Command::new(support::binary())
            .arg(command)
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let output = run("preflight", &config);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}");
    for (zone, server) in [
        (BIND_ZONE, scene.bind.server.addr()),
        (KNOT_ZONE, scene.knot.server.addr()),
    ] {
        let key = text
            .lines()
            .find(|line| line.starts_with(&format!("PASS {zone} key:")))
            .unwrap_or_else(|| panic!("no key line for {zone}:\n{text}"));
        assert!(key.contains(&format!("{server} accepts key")), "{key}");
        let primary = format!("PASS {zone} primary:");
        assert!(text.contains(&primary), "{text}");
    }
    for record in [BIND_RECORD, KNOT_RECORD] {
        assert!(text.contains(&format!("PASS {record} policy A:")), "{text}");
    }

    scene.knot.web[0].kill();
    let serials = (
        scene.bind.server.soa_serial(BIND_ZONE),
        scene.knot.server.soa_serial(KNOT_ZONE),
    );
    let output = run("plan", &config);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}");
    let knot_update = format!(
        "server {} {}",
        scene.knot.server.addr().ip(),
        scene.knot.server.addr().port()
    );
    assert!(text.contains(&knot_update), "{text}");
    assert!(
        text.contains(&format!("update add {KNOT_RECORD} 15 IN A {}", KNOT_WEB[1])),
        "{text}"
    );
    assert!(
        !text.contains(&format!("UPDATE for zone {BIND_ZONE}")),
        "{text}"
    );
    assert_eq!(
        (
            scene.bind.server.soa_serial(BIND_ZONE),
            scene.knot.server.soa_serial(KNOT_ZONE)
        ),
        serials,
        "plan sends nothing"
    );

    let missing = scene.dir.path().join("no-such.key");
    let broken = scene.config_with_knot_key("broken.yaml", &missing.display().to_string());
    let output = run("check-config", &broken);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("nameservers[1].key_file:"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let output = run("check-config", &config);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("keys bind-agent-key., knot-agent-key."),
        "{stdout}"
    );
}

/// A reload from the single `nameserver:` form to a list adds the second
/// primary and its record, which then fails over on its own primary; a
/// list that leaves a record without a primary is refused (by the client,
/// and on SIGHUP by the agent, which keeps running as it was), naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_a_primary_and_refuses_a_record_without_one() {
    let mut scene = Scene::start().await;
    let path = scene.dir.path().join("reload.yaml");
    let listed = scene.config_with_knot_key(
        "reload.yaml",
        &scene.dir.path().join("knot.key").display().to_string(),
    );
    let listed = std::fs::read_to_string(listed).unwrap();
    let (records_at, http_at) = (
        listed.find("records:\n").unwrap(),
        listed.find("http:\n").unwrap(),
    );
    let knot_record_at = listed.find(&format!("  - name: {KNOT_RECORD}")).unwrap();
    let single = format!(
        "nameserver:\n  address: {}\n  key_file: {}/bind.key\n  timeout: 1s\n{}{}",
        scene.bind.server.addr(),
        scene.dir.path().display(),
        &listed[listed.find("defaults:\n").unwrap()..knot_record_at],
        &listed[http_at..],
    );
    assert!(records_at < knot_record_at);
    std::fs::write(&path, &single).unwrap();
    let mut agent = AgentProcess::start(&path, &scene.dir.path().join("agent.log"));
    let listener = agent.listener_address(MOVE_DEADLINE);
    wait_until(
        MOVE_DEADLINE,
        || settled(record(&status(listener), BIND_RECORD)),
        || {
            format!(
                "{BIND_RECORD} settled: {}\n{}",
                status(listener),
                agent.log()
            )
        },
    );
    let reload = |text: &str| {
        std::fs::write(&path, text).unwrap();
        Command::new(support::binary())
            .args(["reload", "--config"])
            .arg(&path)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };

    let applied = reload(&listed);
    let said = String::from_utf8_lossy(&applied.stdout).into_owned();
    assert!(
        applied.status.success() && said.contains("applied"),
        "{applied:?}"
    );
    let knot = scene.knot.server.addr().to_string();
    wait_until(
        MOVE_DEADLINE,
        || {
            let status = status(listener);
            find_record(&status, KNOT_RECORD)
                .is_some_and(|r| settled(r) && r["nameserver"] == knot.as_str())
        },
        || {
            format!(
                "{KNOT_RECORD} settled: {}\n{}",
                status(listener),
                agent.log()
            )
        },
    );
    scene.knot.web[0].kill();
    wait_until(
        MOVE_DEADLINE,
        || scene.knot.server.query(KNOT_RECORD, "A") == [KNOT_WEB[1]],
        || format!("{KNOT_RECORD} on web2\n{}", agent.log()),
    );

    let refused = reload(&listed.replace("zones: [knot.test.]", "zones: [other.test]"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    let problem = format!(
        "records[1].name: no nameserver in nameservers lists a zone containing {KNOT_RECORD}"
    );
    // The client validates the file before it asks; SIGHUP asks the agent.
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains(&problem), "{said}");
    agent.hang_up();
    agent.wait_for_log(
        "reload refused, the running configuration stays",
        1,
        MOVE_DEADLINE,
    );
    let log = agent.log();
    assert!(log.contains(&problem), "{log}");
    wait_until(
        MOVE_DEADLINE,
        || status(listener)["last_reload"]["succeeded"] == false,
        || format!("the refusal in status: {}", status(listener)),
    );
    let status_now = status(listener);
    assert_eq!(
        record(&status_now, KNOT_RECORD)["nameserver"],
        knot.as_str()
    );
}
