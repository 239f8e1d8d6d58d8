//! A watched web server run as a child process (`serve-http`), so that it can
//! really be killed (SIGKILL) and frozen (SIGSTOP).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::children::ChildProcess;

/// How long a target may take to listen after it was started.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// One web server process on a fixed address and port.
pub struct WebTarget {
    address: SocketAddr,
    process: Option<ChildProcess>,
    last_request: Arc<Mutex<Option<SystemTime>>>,
}

impl WebTarget {
    /// Starts serving on `address` and waits until it listens.
    pub fn start(address: SocketAddr) -> WebTarget {
        let mut target = WebTarget {
            address,
            process: None,
            last_request: Arc::new(Mutex::new(None)),
        };
        target.revive();
        target
    }

    /// Its address and port.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// When it last received a request (wall clock), if ever.
    pub fn last_request(&self) -> Option<SystemTime> {
        *self.last_request.lock().unwrap()
    }

    /// SIGKILL: the kernel closes its connections, new ones are refused.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    /// SIGSTOP: connections are still accepted by the kernel, nothing answers.
    pub fn freeze(&self) {
        self.process().signal("STOP");
    }

    /// SIGCONT after [`WebTarget::freeze`].
    pub fn thaw(&self) {
        self.process().signal("CONT");
    }

    /// Starts the process again (after [`WebTarget::kill`]); returns once it listens.
    pub fn revive(&mut self) {
        self.kill();
        let exe = std::env::current_exe().expect("the benchmark knows its own path");
        let mut process = ChildProcess::spawn(
            &format!("web server {}", self.address),
            Command::new(exe)
                .arg("serve-http")
                .arg(self.address.to_string())
                .stdout(Stdio::piped()),
        );
        let stdout = process.take_stdout().expect("stdout is piped");
        let (ready, listening) = mpsc::channel();
        let last_request = self.last_request.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line == "listening" {
                    let _ = ready.send(());
                } else if let Some(micros) = line.strip_prefix("request ") {
                    if let Ok(micros) = micros.parse::<u64>() {
                        let at = UNIX_EPOCH + Duration::from_micros(micros);
                        *last_request.lock().unwrap() = Some(at);
                    }
                }
            }
        });
        if listening.recv_timeout(START_DEADLINE).is_err() {
            panic!("the web server on {} did not start listening", self.address);
        }
        self.process = Some(process);
    }

    fn process(&self) -> &ChildProcess {
        self.process
            .as_ref()
            .unwrap_or_else(|| panic!("the web server on {} is not running", self.address))
    }
}
