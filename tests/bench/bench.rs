//! Benchmarks of the real `dnsfailover` binary against a real `named` on
//! loopback: failover latency, check capacity, update throughput,
//! propagation to a BIND and a Knot secondary, a chaos soak, and scale
//! (10,000 addresses beside gdnsd; 1,000 to 100,000 addresses).
//!
//! Run them with `tests/bench/run` (it builds with `--release`). The same
//! executable also plays the servers being watched: `serve-http` (one web
//! server the benchmark kills, blackholes and freezes) and `serve-tcp` (many
//! listeners for the capacity benchmark), `serve-any` (one wildcard listener
//! for the scale benchmark) and `connect-floor` (the least a
//! TCP checker must do, for reference), started as child processes.
//!
//! Under `cargo test` (no `--bench` argument) nothing is measured.

#[path = "../support/mod.rs"]
mod support;
// Only part of the client is used here.
#[allow(dead_code)]
#[path = "../observe/client.rs"]
mod http_client;

mod baseline;
mod capacity;
mod chaos;
mod children;
mod dnswatch;
mod failover;
mod firewall;
mod floor;
mod gdnsd;
mod lab;
mod listener;
mod options;
mod procstat;
mod propagation;
mod report;
mod scale;
mod scale_addresses;
mod scale_rig;
mod scraper;
mod seeded;
mod soak;
mod soak_lab;
mod soak_ledger;
mod soak_resources;
mod soak_watch;
mod stats;
mod syscalls;
mod target;
mod updates;
mod webserver;
mod wildcard;

use std::process::ExitCode;

use options::{Mode, Options};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match options::parse(&args) {
        Ok(mode) => mode,
        Err(message) => {
            eprintln!("failover bench: {message}\n{}", options::USAGE);
            return ExitCode::from(2);
        }
    };
    match mode {
        Mode::NotBenchmarking => {
            println!("failover bench: measures nothing under `cargo test`; run tests/bench/run");
            ExitCode::SUCCESS
        }
        Mode::ServeHttp { address } => webserver::main(address),
        Mode::ServeTcp(spec) => listener::main(spec),
        Mode::ServeAny(spec) => wildcard::main(spec),
        Mode::ConnectFloor(spec) => floor::main(spec),
        Mode::Bench(options) => bench(&options),
        Mode::Help => {
            println!("{}", options::USAGE);
            ExitCode::SUCCESS
        }
    }
}

/// Runs the selected benchmarks and prints every figure, then the table.
fn bench(options: &Options) -> ExitCode {
    let mut table = report::Table::default();
    if options.failover {
        failover::run(options, &mut table);
    }
    if options.capacity {
        capacity::run(options, &mut table);
    }
    if options.updates {
        updates::run(options, &mut table);
    }
    if options.propagation {
        propagation::run(options, &mut table);
    }
    if options.scale {
        scale::run(options, &mut table);
    }
    let soak_held = !options.soak || soak::run(options, &mut table);
    println!("\n{}", table.markdown());
    if soak_held {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
