//! The status listener of the real binary, watching in-process web servers
//! and updating a real BIND: `/metrics` parsed as Prometheus text, `/status`
//! as JSON, the page as HTML, and `dnsfailover status` with its exit codes,
//! while a failover happens.

#[path = "observe/browser.rs"]
mod browser;
#[path = "observe/client.rs"]
mod client;
#[path = "observe/exposition.rs"]
mod exposition;
#[macro_use]
mod support;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::{wait_until, AgentProcess, Lab, ServerKind, WEB1, WEB2};

const RECORD: &str = "www.example.test.";
const ZONE: &str = "example.test.";
/// Long enough for a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(20);

/// The agent of the shared lab, with the listener on a port the
/// system picks.
fn observed_agent(lab: &Lab) -> AgentProcess {
    lab.agent(&lab.config("{ type: tcp, port: PORT }", "http:\n  listen: 0\n"))
}

fn metrics(address: SocketAddr) -> exposition::Exposition {
    let text = client::get(address, "/metrics");
    exposition::parse(&text).unwrap_or_else(|why| panic!("{why}\n{text}"))
}

fn status_json(address: SocketAddr) -> Value {
    serde_json::from_str(&client::get(address, "/status")).expect("/status is JSON")
}

fn status_command(url: &str, extra: &[&str]) -> Output {
    Command::new(support::binary())
        .args(["status", "--url", url])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Polls the metrics until `ready` holds for them; panics with the last
/// scrape and the agent's log after [`DEADLINE`].
fn wait_for_metrics(
    agent: &AgentProcess,
    address: SocketAddr,
    what: &str,
    ready: impl Fn(&exposition::Exposition) -> bool,
) {
    wait_until(
        DEADLINE,
        || ready(&metrics(address)),
        || {
            let text = client::get(address, "/metrics");
            format!("{what}; metrics:\n{text}\nagent log:\n{}", agent.log())
        },
    );
}

fn up(metrics: &exposition::Exposition, server: &str, address: &str) -> Option<f64> {
    metrics.value(
        "dnsfailover_address_up",
        &[("record", RECORD), ("server", server), ("address", address)],
    )
}

fn published_server(metrics: &exposition::Exposition, server: &str) -> Option<f64> {
    metrics.value(
        "dnsfailover_record_published",
        &[("record", RECORD), ("family", "A"), ("server", server)],
    )
}

against_both_servers!(the_listener_follows_a_failover_and_the_status_command_reports_it);

async fn the_listener_follows_a_failover_and_the_status_command_reports_it(kind: ServerKind) {
    let mut lab = Lab::start(kind, WEB1).await;
    let mut agent = observed_agent(&lab);
    let address = agent.listener_address(DEADLINE);
    let url = format!("http://{address}");

    // Healthy: web1 published, every address up, in sync, no alarm.
    wait_for_metrics(&agent, address, "web1 up and published, in sync", |m| {
        up(m, "web1", WEB1) == Some(1.0)
            && up(m, "web2", WEB2) == Some(1.0)
            && published_server(m, "web1") == Some(1.0)
            && m.value(
                "dnsfailover_record_in_sync",
                &[("record", RECORD), ("family", "A")],
            ) == Some(1.0)
    });
    let healthy = metrics(address);
    for (family, kind) in [
        ("dnsfailover_build_info", "gauge"),
        ("dnsfailover_address_up", "gauge"),
        ("dnsfailover_address_state", "gauge"),
        ("dnsfailover_checks_total", "counter"),
        ("dnsfailover_record_published", "gauge"),
        ("dnsfailover_record_in_sync", "gauge"),
        ("dnsfailover_last_update_timestamp_seconds", "gauge"),
        ("dnsfailover_alarm", "gauge"),
    ] {
        assert_eq!(
            healthy.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        healthy.value("dnsfailover_build_info", &[("version", version)]),
        Some(1.0)
    );
    let passed = [("record", RECORD), ("server", "web1"), ("result", "passed")];
    assert!(healthy.value("dnsfailover_checks_total", &passed).unwrap() >= 2.0);
    let state = |state| [("server", "web1"), ("address", WEB1), ("state", state)];
    assert_eq!(
        healthy.value("dnsfailover_address_state", &state("up")),
        Some(1.0)
    );
    assert_eq!(
        healthy.value("dnsfailover_address_state", &state("down")),
        Some(0.0)
    );
    assert_eq!(
        healthy.value(
            "dnsfailover_alarm",
            &[("record", RECORD), ("kind", "all_down")]
        ),
        Some(0.0)
    );
    let output = status_command(&url, &[]);
    assert_eq!(output.status.code(), Some(0), "all in sync: {output:?}");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains(RECORD) && table.contains("web1 127.0.0.2"),
        "{table}"
    );

    // web1 dies: its gauge goes to 0 and the record moves to web2.
    lab.web1.kill();
    wait_for_metrics(&agent, address, "web1 down, web2 published", |m| {
        up(m, "web1", WEB1) == Some(0.0)
            && published_server(m, "web2") == Some(1.0)
            && published_server(m, "web1").is_none()
            && m.value(
                "dnsfailover_record_in_sync",
                &[("record", RECORD), ("family", "A")],
            ) == Some(1.0)
    });
    assert!(metrics(address)
        .value(
            "dnsfailover_last_update_timestamp_seconds",
            &[("record", RECORD)]
        )
        .is_some_and(|at| at > 1.7e9));
    // The move was one UPDATE answered NOERROR, timed; every check is timed.
    let moved = metrics(address);
    for (family, kind) in [
        ("dnsfailover_updates_total", "counter"),
        ("dnsfailover_update_duration_seconds", "histogram"),
        ("dnsfailover_check_duration_seconds", "histogram"),
    ] {
        assert_eq!(
            moved.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let zone = [("zone", ZONE)];
    assert_eq!(
        moved.value(
            "dnsfailover_updates_total",
            &[("zone", ZONE), ("result", "NOERROR")]
        ),
        Some(1.0),
        "one update, answered NOERROR"
    );
    assert_eq!(
        moved.value("dnsfailover_update_duration_seconds_count", &zone),
        Some(1.0)
    );
    let checks = moved
        .value(
            "dnsfailover_check_duration_seconds_count",
            &[("record", RECORD)],
        )
        .expect("check durations of the record");
    assert!(checks >= 3.0, "{checks} checks timed");

    // /status: the known situation, one address down.
    let json = status_json(address);
    assert_eq!(json["version"], 1);
    let record = &json["records"][0];
    assert_eq!(record["name"], RECORD);
    assert_eq!(record["alarms"], serde_json::json!([]));
    let family = &record["families"][0];
    assert_eq!(family["family"], "A");
    assert_eq!(family["in_sync"], true);
    assert_eq!(family["published"]["state"], "present");
    assert_eq!(family["published"]["server"], "web2");
    assert_eq!(family["published"]["addresses"], serde_json::json!([WEB2]));
    assert_eq!(family["desired"]["server"], "web2");
    let servers = &record["servers"];
    assert_eq!(servers[0]["name"], "web1");
    assert_eq!(servers[0]["addresses"][0]["address"], WEB1);
    assert_eq!(servers[0]["addresses"][0]["health"], "down");
    assert_eq!(servers[0]["addresses"][0]["last_check"]["passed"], false);
    assert_eq!(servers[1]["name"], "web2");
    assert_eq!(servers[1]["addresses"][0]["health"], "up");
    assert_eq!(record["last_update"]["succeeded"], true);

    // The page names the record, both servers and the down address.
    let page = client::request(address, "GET", "/").unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    for text in [
        RECORD,
        "web1",
        "web2",
        WEB1,
        WEB2,
        "class=\"down\">down<",
        "http-equiv=\"refresh\"",
    ] {
        assert!(
            page.body.contains(text),
            "the page lacks {text:?}:\n{}",
            page.body
        );
    }
    // What a person reads in a real browser: the record, both servers, the
    // down address with its state, and what DNS publishes and why.
    let seen = browser::visible_text(&format!("{url}/"));
    for text in [RECORD, "web1", "web2", WEB1, WEB2, "down", "up"] {
        assert!(seen.contains(text), "the page shows no {text:?}: {seen}");
    }
    let json_output = status_command(&url, &["--json"]);
    assert_eq!(json_output.status.code(), Some(0), "{json_output:?}");
    let printed: Value = serde_json::from_slice(&json_output.stdout).expect("--json prints JSON");
    assert_eq!(printed["records"][0]["name"], RECORD);

    // Read-only and strict about what it serves.
    assert_eq!(
        client::request(address, "GET", "/nope").unwrap().status,
        404
    );
    let post = client::request(address, "POST", "/status").unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    // Both down: an alarm, and the status command says so.
    lab.web2.kill();
    wait_for_metrics(&agent, address, "the all_down alarm", |m| {
        m.value(
            "dnsfailover_alarm",
            &[("record", RECORD), ("kind", "all_down")],
        ) == Some(1.0)
    });
    let output = status_command(&url, &[]);
    assert_eq!(output.status.code(), Some(1), "an alarm: {output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("all_down"));

    // Stopped: nothing listens any more.
    assert!(agent.terminate().success());
    let output = status_command(&url, &[]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "nothing listening: {output:?}"
    );
}

#[test]
fn the_status_command_exits_2_on_an_answer_that_is_no_status() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request);
        let body = "<html>not the agent</html>";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let output = status_command(&format!("http://{address}"), &[]);
    server.join().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an agent's status"));
}

#[test]
fn the_status_command_refuses_a_configuration_without_http() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(
        &config,
        "nameserver: { address: 127.0.0.1, key_file: /nonexistent }\nrecords: [ { name: www.example.test, \
         check: { type: tcp, port: 80 }, servers: [ { name: w, addresses: [127.0.0.2] } ] } ]\n",
    )
    .unwrap();
    let output = Command::new(support::binary())
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("no http: section"));
}
