//! The command line: `dnsfailover [--config FILE] run | check-config | plan`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::check::TlsContexts;
use crate::config::{self, Config, DEFAULT_CONFIG_PATH};
use crate::dns::{Client, TsigKey};
use crate::logging::{self, LogFormat};
use crate::open_files;

/// DNS failover for your own BIND or Knot: health checks, then TSIG-signed
/// RFC 2136 updates of the A/AAAA records.
#[derive(Debug, Parser)]
#[command(name = "dnsfailover", version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, short, global = true, value_name = "FILE", default_value = DEFAULT_CONFIG_PATH, env = "DNSFAILOVER_CONFIG")]
    pub config: PathBuf,
    /// Log level (error, warn, info, debug, trace) or tracing directives; RUST_LOG wins when set.
    #[arg(long, global = true, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the servers and keep DNS pointed at the first healthy one, until SIGTERM/SIGINT.
    Run,
    /// Validate the configuration and the TSIG key; print every problem as FILE:LINE:COLUMN: field: message.
    CheckConfig,
    /// Run one round of checks, read DNS, and print the decision and the UPDATE that would be sent (sends nothing).
    Plan,
}

/// Parses the command line, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(message) = logging::init(&cli.log_level, cli.log_format) {
        eprintln!("dnsfailover: {message}");
        return ExitCode::from(2);
    }
    let config = match load(&cli.config) {
        Ok(config) => config,
        Err(problems) => {
            eprint!("{problems}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::CheckConfig => {
            println!(
                "{}: ok ({} records, {} addresses)",
                cli.config.display(),
                config.records.len(),
                config.address_count()
            );
            ExitCode::SUCCESS
        }
        Command::Run => run_async(|| run(config)),
        Command::Plan => run_async(|| plan(config)),
    }
}

/// Loads and validates the configuration and its TSIG key; every problem
/// comes back at once, one per line.
fn load(path: &Path) -> Result<Config, config::ConfigError> {
    config::load(path, &|source| {
        TsigKey::load(source)
            .map(|_| ())
            .map_err(|error| error.to_string())
    })
}

/// Runs `command` on a single-threaded runtime.
///
/// The agent waits on sockets and timers; its own work per check is a few
/// microseconds. One thread checks 10,000 addresses a second with about a
/// third of a core, most of it in the kernel's TCP code, whereas the
/// multi-threaded scheduler spent a quarter more CPU waking its idle
/// workers (twice the context switches) for no gain, and could take every
/// core of a host whose services it is meant to watch. The cost: TLS
/// handshakes of HTTPS checks share one core (thousands per second).
fn run_async<F, Fut>(command: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dnsfailover: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("dnsfailover: {message}");
            ExitCode::FAILURE
        }
    }
}

fn client(config: &Config) -> Result<Client, String> {
    let key = TsigKey::load(&config.nameserver.key).map_err(|error| error.to_string())?;
    let nameserver = &config.nameserver;
    Ok(Client::new(
        nameserver.address,
        nameserver.transport,
        nameserver.timeout,
        Arc::new(key),
    ))
}

/// Raises the open-file limit and warns when it is still too low for the
/// addresses to check.
fn raise_open_file_limit(config: &Config) {
    let addresses = config.address_count();
    let need = open_files::need(addresses);
    match open_files::raise() {
        Ok(limit) if limit.now < need => tracing::warn!(
            limit = limit.now,
            need,
            "the open-file limit is {}, but checking {addresses} addresses takes about {need} descriptors: raise the hard limit (LimitNOFILE= in the systemd unit, ulimit -Hn)",
            limit.now
        ),
        Ok(limit) if limit.now > limit.before => {
            tracing::debug!(from = limit.before, to = limit.now, "raised the open-file limit");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!("cannot raise the open-file limit: {error}"),
    }
}

async fn run(config: Config) -> Result<(), String> {
    raise_open_file_limit(&config);
    let client = client(&config)?;
    let shutdown =
        crate::shutdown::on_signals().map_err(|error| format!("cannot watch signals: {error}"))?;
    crate::agent::run(&config, client, &TlsContexts::new(), shutdown)
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn plan(config: Config) -> Result<(), String> {
    raise_open_file_limit(&config);
    let client = client(&config)?;
    let report = crate::plan::plan(&config, &client, &TlsContexts::new())
        .await
        .map_err(|error| error.to_string())?;
    print!("{report}");
    Ok(())
}
