//! The command line: `dnsfailover [--config FILE] run | check-config | plan | status`.
//!
//! Exit codes: 0 success; 1 failure at run time; 2 the command line or the
//! configuration is invalid; 3 the TSIG key cannot be loaded; 4 a check
//! cannot be prepared (e.g. an unreadable `tls_ca_file`); 5 the status
//! listener (`http.listen`) cannot be bound. `status` has its own: 0 all in
//! sync, 1 not, 2 no usable answer from the agent.

mod control;
mod failure;
mod status;
mod status_table;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

pub use failure::Failure;

use crate::agent::{Agent, DnsFollowers, Nameservers};
use crate::check::TlsContexts;
use crate::config::{self, Config, ConfigError, DEFAULT_CONFIG_PATH};
use crate::dns::{Client, Primaries, TsigKey};
use crate::http::StatusListener;
use crate::logging::{self, LogFormat};
use crate::notify::Notifier;
use crate::open_files;

/// What `--help` adds after the options.
const EXIT_CODES: &str = "Exit codes: 0 success, 1 failure at run time, 2 invalid command line or \
configuration, 3 the TSIG key cannot be loaded, 4 a check cannot be prepared, 5 the status listener cannot be bound. \
`status`: 0 every record in sync without alarms and no nameserver lagging, 1 not, 2 the agent cannot be reached or answers garbage.";

/// DNS failover for your own BIND or Knot: health checks, then TSIG-signed
/// RFC 2136 updates of the A/AAAA records.
#[derive(Debug, Parser)]
#[command(name = "dnsfailover", version, about, after_help = EXIT_CODES)]
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
    /// Validate the configuration, load the TSIG key and prepare every check as `run` does; print every problem as FILE:LINE:COLUMN: field: message.
    CheckConfig,
    /// Run one round of checks, read DNS, and print the decision and the UPDATE that would be sent (sends nothing).
    Plan,
    /// Prove the key, clock, primary, update policy (with UPDATEs that change nothing) and check targets; exit 0 only when nothing fails.
    Preflight {
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running agent for its status and print it; exit 0 when every record is in sync without alarms and no nameserver lags, 1 otherwise, 2 when the agent cannot be reached.
    Status {
        /// The agent's listener, e.g. http://127.0.0.1:9153 (default: http.listen from the configuration).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Print the agent's JSON as it is.
        #[arg(long)]
        json: bool,
    },
    /// Treat SERVER as down for the decisions while its checks go on (over the control socket).
    Drain {
        /// The server's name.
        server: String,
        /// Only in this record (default: every record that has the server).
        #[arg(long, value_name = "NAME")]
        record: Option<String>,
        /// How long, e.g. 30m (default: until released).
        #[arg(long = "for", value_name = "DURATION")]
        for_: Option<String>,
        /// Why, for the audit log and status.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Publish SERVER for RECORD whatever the checks say (over the control socket).
    Pin {
        /// The record's name.
        record: String,
        /// The server's name.
        server: String,
        /// How long, e.g. 30m (default: until released).
        #[arg(long = "for", value_name = "DURATION")]
        for_: Option<String>,
        /// Why, for the audit log and status.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Remove the drains of a server or the pin of a record.
    Release {
        /// A server name or a record name.
        target: String,
    },
    /// List the overrides in force, with expiry, who and why.
    Overrides,
    /// With failback: manual, send RECORD back to its first server up now.
    Failback {
        /// The record's name.
        record: String,
    },
    /// Ask the running agent to reload its configuration; print whether it was applied.
    Reload,
}

/// Parses the command line, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format;
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report(&failure, format);
            failure.exit_code()
        }
    }
}

/// Prints a failure once: as located problems, one per line, or as one
/// line; through the JSON log when that is the chosen format.
fn report(failure: &Failure, format: LogFormat) {
    let logging_ready = !matches!(failure, Failure::Usage(_));
    if logging_ready && format == LogFormat::Json {
        tracing::error!(exit_code = failure.code(), "{failure}");
    } else if failure.is_problem_list() {
        eprintln!("{failure}");
    } else {
        eprintln!("dnsfailover: {failure}");
    }
}

fn execute(cli: Cli) -> Result<(), Failure> {
    logging::init(&cli.log_level, cli.log_format).map_err(Failure::Usage)?;
    if let Command::Status { url, json } = &cli.command {
        let url = match url {
            Some(url) => url.clone(),
            // The key is not needed to ask the agent, so it is not loaded.
            None => {
                let config = config::load(&cli.config, &|_| Ok(())).map_err(Failure::Config)?;
                status::url_from_config(config.http.as_ref())?
            }
        };
        return run_async(|| status::status(&url, *json));
    }
    if let Some(request) = control_request(&cli.command)? {
        let socket = control::socket_from_config(&cli.config)?;
        return run_async(|| control::send(socket, request));
    }
    let (config, primaries) = load(&cli.config)?;
    match cli.command {
        Command::CheckConfig => {
            let tls = TlsContexts::new();
            let agent = Agent::prepare(&config, &tls)?;
            Notifier::prepare(&config.notify, &tls)?;
            println!(
                "{}: ok ({} records, {} addresses, {} {})",
                cli.config.display(),
                config.records.len(),
                agent.address_count(),
                if config.nameservers.len() == 1 {
                    "key"
                } else {
                    "keys"
                },
                key_names(&primaries)
            );
            Ok(())
        }
        Command::Run => {
            let tls = TlsContexts::new();
            let agent = Agent::prepare(&config, &tls)?;
            let notifier = Notifier::prepare(&config.notify, &tls)?;
            run_async(|| run(cli.config.clone(), config, primaries, agent, notifier))
        }
        Command::Preflight { json } => {
            Agent::prepare(&config, &TlsContexts::new())?;
            run_async(|| preflight(config, primaries, json))
        }
        Command::Plan => {
            // Fail on the checks before touching the nameserver, as `run` does.
            Agent::prepare(&config, &TlsContexts::new())?;
            run_async(|| plan(config, primaries))
        }
        _ => unreachable!("answered above"),
    }
}

/// The request a control subcommand sends; `None` for the others.
fn control_request(command: &Command) -> Result<Option<crate::control::Request>, Failure> {
    use crate::control::Request;
    Ok(Some(match command {
        Command::Drain {
            server,
            record,
            for_,
            reason,
        } => Request::Drain {
            server: server.clone(),
            record: record.clone(),
            for_seconds: control::seconds(for_.as_deref())?,
            reason: reason.clone(),
        },
        Command::Pin {
            record,
            server,
            for_,
            reason,
        } => Request::Pin {
            record: record.clone(),
            server: server.clone(),
            for_seconds: control::seconds(for_.as_deref())?,
            reason: reason.clone(),
        },
        Command::Release { target } => Request::Release {
            target: target.clone(),
        },
        Command::Overrides => Request::Overrides,
        Command::Failback { record } => Request::Failback {
            record: record.clone(),
        },
        Command::Reload => Request::Reload,
        _ => return Ok(None),
    }))
}

/// Loads and validates the configuration and loads the TSIG key of each
/// primary, once; returns the configuration and a client per primary.
/// Every problem comes back at once, one per line, each key's at its field.
fn load(path: &Path) -> Result<(Config, Primaries), Failure> {
    let keys = RefCell::new(Vec::new());
    let key_failed = Cell::new(false);
    let result = config::load(path, &|source| match TsigKey::load(source) {
        Ok(loaded) => {
            keys.borrow_mut().push(loaded);
            Ok(())
        }
        Err(error) => {
            key_failed.set(true);
            Err(error.to_string())
        }
    });
    let keys = keys.into_inner();
    match result {
        Ok(config) if keys.len() == config.nameservers.len() => {
            let primaries = primaries(&config, keys);
            Ok((config, primaries))
        }
        Ok(_) => Err(Failure::Runtime(
            "the configuration was read but its keys were not all loaded".to_owned(),
        )),
        Err(error) => Err(classify(error, key_failed.get())),
    }
}

/// The names of the primaries' keys, joined by `, `.
fn key_names(primaries: &Primaries) -> String {
    let names: Vec<String> = primaries
        .iter()
        .map(|primary| primary.client.key().name().to_string())
        .collect();
    names.join(", ")
}

/// A key problem alone is a key failure; any other problem makes the
/// configuration invalid.
fn classify(error: ConfigError, key_failed: bool) -> Failure {
    if key_failed && error.problems.len() == 1 {
        Failure::Key(error)
    } else {
        Failure::Config(error)
    }
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
fn run_async<F, Fut>(command: F) -> Result<(), Failure>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Runtime(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(command())
}

/// A client per primary of `config`, with its key from `keys` (in the
/// order of `config.nameservers`).
fn primaries(config: &Config, keys: Vec<TsigKey>) -> Primaries {
    let clients = config
        .nameservers
        .iter()
        .zip(keys)
        .map(|(nameserver, key)| {
            let client = Client::new(
                nameserver.address,
                nameserver.transport,
                nameserver.timeout,
                Arc::new(key),
            );
            (client, nameserver.zones.clone())
        })
        .collect();
    Primaries::new(clients)
}

/// Raises the open-file limit and warns when it is still too low for the
/// addresses to check (each check of an address may keep a connection).
fn raise_open_file_limit(config: &Config) {
    let addresses = config.address_count();
    let checks = config.check_count();
    let need = open_files::need(checks);
    let raised = open_files::raise();
    let soft = match &raised {
        Ok(limit) => limit.now,
        Err(_) => open_files::soft_limit(),
    };
    let kept = crate::check::limit_kept_connections(soft);
    match raised {
        Ok(limit) if limit.now < need => tracing::warn!(
            limit = limit.now,
            need,
            "the open-file limit is {}, but checking {addresses} addresses ({checks} checks) takes about {need} descriptors: connections are kept open for at most {kept} of them (a crash of the other servers is noticed by their next check, not at once); raise the hard limit (LimitNOFILE= in the systemd unit, ulimit -Hn)",
            limit.now
        ),
        Ok(limit) if limit.now > limit.before => {
            tracing::debug!(from = limit.before, to = limit.now, "raised the open-file limit from {} to {}", limit.before, limit.now);
        }
        Ok(_) => {}
        Err(error) => tracing::warn!("cannot raise the open-file limit: {error}"),
    }
}

/// How long queued notifications may take to go out at shutdown.
const NOTIFY_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// On each SIGHUP, the configuration at `path` read and validated again and
/// its key re-read: the agent applies the result, or logs its problems and
/// keeps running as it is.
fn reload_requests(path: PathBuf) -> Result<ReloadChannel, Failure> {
    let mut hangups = crate::shutdown::on_reload_signal()
        .map_err(|error| Failure::Runtime(format!("cannot watch SIGHUP: {error}")))?;
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let requests = sender.clone();
    let reload_path = path.clone();
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP received: reloading {}", path.display());
            let request = crate::agent::ReloadRequest {
                reload: read_reload(&path),
                reply: None,
            };
            if sender.send(request).await.is_err() {
                return;
            }
        }
    });
    Ok(ReloadChannel {
        receiver,
        sender: requests,
        path: reload_path,
    })
}

/// The reloads for the agent, and how the control socket adds its own.
struct ReloadChannel {
    receiver: tokio::sync::mpsc::Receiver<crate::agent::ReloadRequest<Primaries>>,
    sender: tokio::sync::mpsc::Sender<crate::agent::ReloadRequest<Primaries>>,
    path: PathBuf,
}

/// The configuration at `path` with its key, or every problem.
fn read_reload(path: &Path) -> crate::agent::Reload<Primaries> {
    load(path)
        .map(|(config, primaries)| crate::agent::NewConfig {
            nameserver: primaries,
            config,
        })
        .map_err(|failure| failure.to_string())
}

/// Binds the control socket before any check starts; a live agent's socket
/// is not taken over.
fn bind_control(config: &Config) -> Result<crate::control::ControlListener, Failure> {
    let control = &config.control;
    let listener = crate::control::ControlListener::bind(&control.socket, control.group.as_deref())
        .map_err(|error| {
            Failure::Runtime(format!(
                "cannot open the control socket: {error} (set control.socket in the configuration to a path this user may create, e.g. under /run/user/UID; the systemd unit creates /run/dnsfailover)"
            ))
        })?;
    tracing::info!(socket = %listener.path().display(), "control socket on {}", listener.path().display());
    Ok(listener)
}

/// Serves the control socket: reloads go to the reloads (answered with
/// their outcome), everything else to the agent.
fn serve_control(
    listener: crate::control::ControlListener,
    reloads: &ReloadChannel,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::sync::mpsc::Receiver<crate::control::Incoming> {
    use crate::control::{Request, Response};
    let (incoming, mut requests) = tokio::sync::mpsc::channel(16);
    let (to_agent, agent_requests) = tokio::sync::mpsc::channel(16);
    tokio::spawn(listener.serve(incoming, shutdown));
    let (sender, path) = (reloads.sender.clone(), reloads.path.clone());
    tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            if request.request != Request::Reload {
                if to_agent.send(request).await.is_err() {
                    return;
                }
                continue;
            }
            tracing::info!(
                audit = true,
                uid = request.uid,
                "reload asked by uid {} over the control socket: reloading {}",
                request.uid,
                path.display()
            );
            let (reply, outcome) = tokio::sync::oneshot::channel();
            let reload = crate::agent::ReloadRequest {
                reload: read_reload(&path),
                reply: Some(reply),
            };
            if sender.send(reload).await.is_err() {
                return;
            }
            let response = match outcome.await {
                Ok(Ok(())) => Response::done(format!("reloaded {}: applied", path.display())),
                Ok(Err(problem)) => Response::refused(format!(
                    "reload refused, the running configuration stays:\n{problem}"
                )),
                Err(_) => Response::refused("the agent is stopping"),
            };
            let _ = request.reply.send(response);
        }
    });
    agent_requests
}

async fn run(
    path: PathBuf,
    config: Config,
    primaries: Primaries,
    agent: Agent,
    notifier: Notifier,
) -> Result<(), Failure> {
    raise_open_file_limit(&config);
    let shutdown = crate::shutdown::on_signals()
        .map_err(|error| Failure::Runtime(format!("cannot watch signals: {error}")))?;
    let reloads = reload_requests(path)?;
    let label = primaries.label();
    let listener = match &config.http {
        Some(http) => Some(bind_status_listener(http.listen).await?),
        None => None,
    };
    let control = bind_control(&config)?;
    let operators = serve_control(control, &reloads, shutdown.clone());
    let agent = agent.with_operator_requests(operators);
    let mut server = None;
    let serve_shutdown = shutdown.clone();
    let (events, delivery) = notifier.start();
    let followers = config
        .propagation
        .enabled
        .then(|| DnsFollowers::new(primaries.clone(), config.propagation.clone()));
    let nameservers = Nameservers {
        primary: primaries,
        label,
        followers,
    };
    agent
        .run(
            nameservers,
            events,
            reloads.receiver,
            shutdown,
            |snapshots, statistics| {
                server = listener.map(|listener| {
                    tokio::spawn(listener.serve(snapshots, statistics, serve_shutdown))
                });
            },
        )
        .await;
    delivery.finish(NOTIFY_GRACE).await;
    if let Some(server) = server {
        if let Err(error) = server.await {
            tracing::error!("the status listener failed: {error}");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

async fn preflight(config: Config, primaries: Primaries, json: bool) -> Result<(), Failure> {
    let report = crate::preflight::preflight(&config, &primaries, &TlsContexts::new()).await;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|error| Failure::Runtime(format!("cannot write JSON: {error}")))?;
        println!("{text}");
    } else {
        print!("{report}");
    }
    if report.passed() {
        Ok(())
    } else {
        let failed = report
            .findings
            .iter()
            .filter(|f| f.verdict == crate::preflight::Verdict::Fail)
            .count();
        Err(Failure::Runtime(format!(
            "preflight: {failed} check(s) failed"
        )))
    }
}

/// Binds the status listener before any check starts, so that a taken port
/// stops the agent at once with its own exit code.
async fn bind_status_listener(address: SocketAddr) -> Result<StatusListener, Failure> {
    let listener = StatusListener::bind(address)
        .await
        .map_err(|source| Failure::Listen { address, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Failure::Listen { address, source })?;
    tracing::info!(address = %bound, "status listener on http://{bound}/ (/status, /metrics)");
    Ok(listener)
}

async fn plan(config: Config, primaries: Primaries) -> Result<(), Failure> {
    raise_open_file_limit(&config);
    let report = crate::plan::plan(&config, &primaries, &TlsContexts::new())
        .await
        .map_err(|error| match error {
            crate::plan::PlanError::Check { record, source } => {
                Failure::Checks(crate::agent::StartError {
                    record: record.to_string(),
                    source,
                })
            }
            dns @ crate::plan::PlanError::Dns { .. } => Failure::Runtime(dns.to_string()),
        })?;
    print!("{report}");
    Ok(())
}
