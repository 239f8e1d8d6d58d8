//! `dnsfailover preflight` against real BIND and Knot: a verdict per line,
//! exit 0 only when nothing fails, and the zone's serial never moves.

#[macro_use]
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dnsfailover::check::TlsContexts;
use dnsfailover::config;
use dnsfailover::dns::{Client, Primaries, TsigKey};
use dnsfailover::preflight::{preflight, Report, Verdict};
use dnsfailover::vocabulary::Transport;
use support::{Grant, NameServer, ServerKind, TestKey, WebTarget, ZoneSpec};

const ZONE: &str = "example.test.";

/// A nameserver whose zone grants the key `www` (A, AAAA) but not `api`,
/// a web target on 127.0.0.2, and the agent's files.
struct Setup {
    server: NameServer,
    key: TestKey,
    _web: WebTarget,
    web: SocketAddr,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn start(kind: ServerKind, primary: Option<&str>) -> Setup {
        let key = TestKey::generate("agent-key");
        let mut zone = ZoneSpec::new(ZONE, 41)
            .record("www 15 IN A 127.0.0.2")
            .record("api 15 IN A 127.0.0.2")
            .record("elsewhere 15 IN A 127.0.0.9")
            .grant(Grant::Name {
                key: key.name.clone(),
                name: "www".into(),
                types: vec!["A".into(), "AAAA".into()],
            });
        if let Some(primary) = primary {
            zone = zone.primary(primary);
        }
        let server = NameServer::start(kind, vec![zone], vec![key.clone()]);
        let address = "127.0.0.2".parse().unwrap();
        let port = support::common_port(&[address]).await;
        let web = WebTarget::start(SocketAddr::new(address, port)).await;
        let dir = tempfile::tempdir().unwrap();
        key.write_bind_key_file(&dir.path().join("agent.key"));
        Setup {
            server,
            key,
            web: web.address(),
            _web: web,
            dir,
        }
    }

    /// A configuration with these record names, each on the web target.
    fn config(&self, names: &[&str]) -> PathBuf {
        let mut text = format!(
            "nameserver:\n  address: {}\n  key_file: {}\n  timeout: 1s\ndefaults:\n  ttl: 15\n  check: {{ type: tcp, port: {} }}\nrecords:\n",
            self.server.addr(),
            self.dir.path().join("agent.key").display(),
            self.web.port()
        );
        for name in names {
            text.push_str(&format!(
                "  - name: {name}.{ZONE}\n    zone: {ZONE}\n    servers:\n      - {{ name: web1, addresses: [127.0.0.2] }}\n"
            ));
        }
        let path = self.dir.path().join("dnsfailover.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn run(&self, names: &[&str], json: bool) -> Output {
        let mut command = Command::new(support::binary());
        command
            .arg("preflight")
            .arg("--config")
            .arg(self.config(names));
        if json {
            command.arg("--json");
        }
        command.output().unwrap()
    }

    fn serial(&self) -> u32 {
        self.server.soa_serial(ZONE)
    }

    /// The library's report with a clock `offset` seconds ahead of ours.
    async fn report_with_clock_ahead(&self, offset: u64) -> Report {
        let path = self.config(&["www"]);
        let source_key = std::cell::OnceCell::new();
        let config = config::load(&path, &|source| {
            let _ = source_key.set(TsigKey::load(source).map_err(|e| e.to_string())?);
            Ok(())
        })
        .unwrap();
        let key = source_key.into_inner().unwrap();
        let client = Client::new(
            config.nameservers[0].address,
            Transport::Tcp,
            Duration::from_secs(1),
            Arc::new(key),
        )
        .with_clock(Arc::new(move || {
            SystemTime::now() + Duration::from_secs(offset)
        }));
        preflight(&config, &Primaries::single(client), &TlsContexts::new()).await
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The line whose check is `check`.
fn line<'a>(output: &'a str, scope: &str, check: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.contains(&format!(" {scope} {check}:")))
        .unwrap_or_else(|| panic!("no line for {scope} {check}:\n{output}"))
}

async fn a_good_key_and_policy_pass_and_change_nothing(kind: ServerKind) {
    let setup = Setup::start(kind, None).await;
    let serial = setup.serial();
    let output = setup.run(&["www"], false);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    for (scope, check) in [
        (ZONE, "key"),
        (ZONE, "clock"),
        (ZONE, "primary"),
        ("www.example.test.", "policy A"),
        ("www.example.test.", "ttl A"),
        ("www.example.test.", "check web1 127.0.0.2"),
    ] {
        assert!(line(&report, scope, check).starts_with("PASS"), "{report}");
    }
    assert_eq!(setup.serial(), serial, "the probes change nothing");
    let json = setup.run(&["www"], true);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(parsed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["verdict"] == "pass"));
    assert_eq!(setup.serial(), serial);
}

async fn a_name_the_policy_does_not_grant_fails(kind: ServerKind) {
    let setup = Setup::start(kind, None).await;
    let serial = setup.serial();
    let output = setup.run(&["www", "api"], false);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(line(&report, "www.example.test.", "policy A").starts_with("PASS"));
    let denied = line(&report, "api.example.test.", "policy A");
    assert!(denied.starts_with("FAIL"), "{report}");
    let expected = match kind {
        ServerKind::Bind => "REFUSED",
        ServerKind::Knot => "BADKEY",
    };
    assert!(denied.contains(expected), "{denied}");
    assert_eq!(setup.serial(), serial);
}

async fn a_wrong_secret_fails_the_key(kind: ServerKind) {
    let setup = Setup::start(kind, None).await;
    let serial = setup.serial();
    TestKey::generate(&setup.key.name).write_bind_key_file(&setup.dir.path().join("agent.key"));
    let output = setup.run(&["www"], false);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    let key = line(&report, ZONE, "key");
    assert!(key.starts_with("FAIL") && key.contains("BADSIG"), "{key}");
    assert_eq!(setup.serial(), serial);
}

async fn a_secondary_is_not_taken_for_the_primary(kind: ServerKind) {
    let setup = Setup::start(kind, Some("elsewhere")).await;
    let output = setup.run(&["www"], false);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    let primary = line(&report, ZONE, "primary");
    assert!(
        primary.starts_with("FAIL")
            && primary.contains("elsewhere.example.test.")
            && primary.contains("127.0.0.9"),
        "{primary}"
    );
}

/// The seconds of skew a clock finding reports.
fn reported_skew(report: &Report) -> (Verdict, u64, String) {
    let clock = report.findings.iter().find(|f| f.check == "clock").unwrap();
    let skew = clock
        .detail
        .split(" s from ours")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or(u64::MAX);
    (clock.verdict, skew, clock.detail.clone())
}

/// TSIG's fudge is 60 s: up to 15 s passes, up to 60 s warns, beyond it the
/// servers answer BADTIME (they check the fudge the request carries, so
/// 100 s fails although RFC 8945 suggests 300 s).
async fn the_clock_skew_is_measured_and_too_much_fails(kind: ServerKind) {
    let setup = Setup::start(kind, None).await;
    let serial = setup.serial();
    let (verdict, skew, detail) = reported_skew(&setup.report_with_clock_ahead(10).await);
    assert_eq!(verdict, Verdict::Pass, "{detail}");
    assert!((8..=12).contains(&skew), "about 10 s: {detail}");
    let (verdict, skew, detail) = reported_skew(&setup.report_with_clock_ahead(40).await);
    assert_eq!(verdict, Verdict::Warn, "{detail}");
    assert!((38..=42).contains(&skew), "about 40 s: {detail}");
    assert!(detail.contains("TSIG allows 60 s"), "{detail}");
    let far = setup.report_with_clock_ahead(100).await;
    let clock = far.findings.iter().find(|f| f.check == "clock").unwrap();
    assert_eq!(clock.verdict, Verdict::Fail, "{far:?}");
    assert!(
        clock.detail.contains("clock skew") && clock.detail.contains("more than the 60 s"),
        "{}",
        clock.detail
    );
    assert!(!far.passed());
    assert_eq!(setup.serial(), serial);
}

against_both_servers!(
    a_good_key_and_policy_pass_and_change_nothing,
    a_name_the_policy_does_not_grant_fails,
    a_wrong_secret_fails_the_key,
    a_secondary_is_not_taken_for_the_primary,
    the_clock_skew_is_measured_and_too_much_fails,
);
