//! Propagation: how long a failover or failback takes to be served by a
//! BIND and a Knot secondary of the zone, fed by NOTIFY and IXFR from a
//! BIND primary. The agent follows each update itself and reports the time
//! from the update's confirmation on the primary to the first answer from
//! the secondary with the new serial and RRset (its questions start 20 ms
//! apart and double, so a figure is at most that much late); `/status` is
//! read after each move.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http_client;
use crate::options::Options;
use crate::report::Table;
use crate::stats::Summary;
use crate::support::secondary::Secondary;
use crate::support::{Lab, ServerKind, WEB1, WEB2};

const ZONE: &str = "example.test.";
/// Time for one move to reach both secondaries.
const DEADLINE: Duration = Duration::from_secs(30);

/// Measures `options.runs` failovers and as many failbacks.
pub fn run(options: &Options, table: &mut Table) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(measure(options, table));
}

async fn measure(options: &Options, table: &mut Table) {
    println!(
        "\n== propagation to a BIND and a Knot secondary ({} failovers and failbacks)",
        options.runs
    );
    let bind = Secondary::reserve(ServerKind::Bind);
    let knot = Secondary::reserve(ServerKind::Knot);
    let (bind_addr, knot_addr) = (bind.addr(), knot.addr());
    let mut lab = Lab::start_with_zone(ServerKind::Bind, WEB1, |zone| {
        zone.notify(bind_addr).notify(knot_addr)
    })
    .await;
    let _bind = bind.start(ZONE, lab.server.addr());
    let _knot = knot.start(ZONE, lab.server.addr());
    let extra = format!(
        "http:\n  listen: 0\npropagation:\n  nameservers: [\"{bind_addr}\", \"{knot_addr}\"]\n"
    );
    let agent = lab.agent(&lab.http_config_with(&extra));
    let address = agent.listener_address(DEADLINE);
    lab.wait_for_www(&agent, WEB1);
    let mut bind_times = Vec::new();
    let mut knot_times = Vec::new();
    for run in 0..options.runs * 2 {
        let expected = if run % 2 == 0 {
            lab.web1.kill();
            WEB2
        } else {
            lab.web1.revive().await;
            WEB1
        };
        lab.wait_for_www(&agent, expected);
        let serial = lab.serial();
        let [bind_took, knot_took] = wait_in_sync(address, serial, [bind_addr, knot_addr]);
        println!(
            "  {} {run:2}: BIND secondary {bind_took:.3} s, Knot secondary {knot_took:.3} s",
            if run % 2 == 0 { "failover" } else { "failback" }
        );
        bind_times.push(Duration::from_secs_f64(bind_took));
        knot_times.push(Duration::from_secs_f64(knot_took));
    }
    for (what, times) in [("a BIND", &bind_times), ("a Knot", &knot_times)] {
        let Some(summary) = Summary::of(times) else {
            continue;
        };
        println!("propagation to {what} secondary: {summary}");
        table.add(
            &format!("propagation to {what} secondary (NOTIFY + IXFR), median (min–max)"),
            &format!(
                "{:.3} s ({:.3}–{:.3})",
                summary.median.as_secs_f64(),
                summary.min.as_secs_f64(),
                summary.max.as_secs_f64()
            ),
            "-",
            "-",
        );
    }
}

/// The seconds each follower took to serve `serial`, as the agent reports them.
fn wait_in_sync(address: SocketAddr, serial: u32, followers: [SocketAddr; 2]) -> [f64; 2] {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let status: Value =
            serde_json::from_str(&http_client::get(address, "/status")).expect("/status is JSON");
        let zone = status["propagation"]
            .as_array()
            .and_then(|zones| zones.iter().find(|zone| zone["zone"] == ZONE));
        let took = |follower: SocketAddr| {
            let zone = zone?;
            if zone["serial"] != serial {
                return None;
            }
            let ns = zone["nameservers"]
                .as_array()?
                .iter()
                .find(|ns| ns["address"] == follower.to_string())?;
            (ns["state"] == "in_sync").then(|| ns["last_seconds"].as_f64())?
        };
        if let (Some(a), Some(b)) = (took(followers[0]), took(followers[1])) {
            return [a, b];
        }
        assert!(
            Instant::now() < deadline,
            "the secondaries did not serve serial {serial} within {DEADLINE:?}: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
