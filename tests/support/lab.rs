//! The usual scene of an agent test: a nameserver whose zone has `www` (and
//! `api`) granted to the agent's key, two web targets on 127.0.0.2 and
//! 127.0.0.3 sharing one port, and a directory for the agent's files.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    wait_until, AgentProcess, Grant, NameServer, ServerKind, TestKey, WebTarget, ZoneSpec,
};

/// web1's address.
pub const WEB1: &str = "127.0.0.2";
/// web2's address.
pub const WEB2: &str = "127.0.0.3";
/// Long enough for a loaded 2-core machine; the figures that matter are in the benchmarks.
pub const MOVE_DEADLINE: Duration = Duration::from_secs(20);

/// A nameserver, two web targets sharing one port, and the agent's files.
pub struct Lab {
    pub server: NameServer,
    pub key: TestKey,
    pub web1: WebTarget,
    pub web2: WebTarget,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// `www` starts out at `initial` (web1's address unless a test says otherwise).
    pub async fn start(kind: ServerKind, initial: &str) -> Lab {
        Lab::start_with_zone(kind, initial, |zone| zone).await
    }

    /// Like [`Lab::start`], with the zone changed by `adapt` before the
    /// nameserver starts (more records, secondaries to notify).
    pub async fn start_with_zone(
        kind: ServerKind,
        initial: &str,
        adapt: impl FnOnce(ZoneSpec) -> ZoneSpec,
    ) -> Lab {
        let key = TestKey::generate("agent-key");
        let zone = ZoneSpec::new("example.test.", 7)
            .record(&format!("www 15 IN A {initial}"))
            .grant(Grant::Name {
                key: key.name.clone(),
                name: "www".into(),
                types: vec!["A".into(), "AAAA".into()],
            })
            .grant(Grant::Name {
                key: key.name.clone(),
                name: "api".into(),
                types: vec!["A".into(), "AAAA".into()],
            });
        let server = NameServer::start(kind, vec![adapt(zone)], vec![key.clone()]);
        // ::1 too: a test may serve web1's IPv6 side on the same port.
        let addresses: Vec<IpAddr> = [WEB1, WEB2, "::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let port = super::common_port(&addresses).await;
        let web1 = WebTarget::start(SocketAddr::new(addresses[0], port)).await;
        let web2 = WebTarget::start(SocketAddr::new(addresses[1], port)).await;
        let dir = tempfile::tempdir().unwrap();
        key.write_bind_key_file(&dir.path().join("agent.key"));
        Lab {
            server,
            key,
            web1,
            web2,
            dir,
        }
    }

    /// Writes the agent's configuration; `extra` is appended to the record.
    pub fn config(&self, check: &str, extra: &str) -> PathBuf {
        let path = self.dir.path().join("dnsfailover.yaml");
        let text = format!(
            "nameserver:\n  address: {server}\n  key_file: {key}\n  timeout: 1s\n\
             defaults:\n  ttl: 15\n  interval: 200ms\n  timeout: 150ms\n  fall: 2\n  rise: 2\n\
             records:\n  - name: www.example.test.\n    servers:\n\
             \x20     - {{ name: web1, addresses: [{web1}] }}\n\
             \x20     - {{ name: web2, addresses: [{web2}] }}\n\
             \x20   check: {check}\n{extra}\n\
             control:\n  socket: {socket}\n  state_file: {state}\n",
            server = self.server.addr(),
            key = self.dir.path().join("agent.key").display(),
            web1 = WEB1,
            web2 = WEB2,
            check = check.replace("PORT", &self.web1.address().port().to_string()),
            socket = self.socket().display(),
            state = self.state_file().display(),
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The agent's control socket, inside the lab's directory.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("control.sock")
    }

    /// The agent's state file, inside the lab's directory.
    pub fn state_file(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    pub fn http_config(&self) -> PathBuf {
        self.http_config_with("")
    }

    /// The HTTP check's configuration with `extra` at the top level.
    pub fn http_config_with(&self, extra: &str) -> PathBuf {
        self.config(
            "{ type: http, port: PORT, path: /health, expect_body: ok }",
            extra,
        )
    }

    pub fn agent(&self, config: &Path) -> AgentProcess {
        AgentProcess::start(config, &self.dir.path().join("agent.log"))
    }

    pub fn www(&self) -> Vec<String> {
        self.server.query("www.example.test.", "A")
    }

    pub fn wait_for_www(&self, agent: &AgentProcess, address: &str) -> Duration {
        wait_until(
            MOVE_DEADLINE,
            || self.www() == [address],
            || {
                format!(
                    "www is {:?}, not {address}; agent log:\n{}",
                    self.www(),
                    agent.log()
                )
            },
        )
    }

    pub fn serial(&self) -> u32 {
        self.server.soa_serial("example.test.")
    }
}
