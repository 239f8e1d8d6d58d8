//! nftables rules of the benchmark, all in the table `inet dnsfailover_bench`
//! (deleted when the rules are removed or dropped, and by `tests/bench/run`
//! on exit should this process die). Nothing else is ever touched.
//!
//! - [`blackhole`]: every packet to or from one address and port is dropped
//!   on input, as if the network between agent and server had failed.
//! - [`Blackholes`]: the soak's blackholes, any number at once, in a table of
//!   their own, `inet dnsfailover_soak`.
//! - [`untracked`]: connections to a loopback subnet bypass connection
//!   tracking. At 10,000 checks a second the kernel would otherwise track
//!   1.2 million closed connections (TIME_WAIT lasts 120 s there), far over
//!   the default `nf_conntrack_max`, and drop new connections once full.
//! - [`untracked_and_guarded`]: the same for the scale benchmark's subnets,
//!   and its wildcard listener's port closed to packets not arriving on `lo`.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

/// The only table the benchmark creates.
pub const TABLE: &str = "dnsfailover_bench";

/// Installed rules; the table is deleted when they are removed or dropped.
pub struct Rules {
    installed: bool,
}

impl Rules {
    /// Removes the rules (deletes the table).
    pub fn remove(mut self) {
        self.delete();
    }

    fn delete(&mut self) {
        if std::mem::take(&mut self.installed) {
            delete_table();
        }
    }
}

impl Drop for Rules {
    fn drop(&mut self) {
        self.delete();
    }
}

/// Drops every TCP packet to and from `target` from now on.
pub fn blackhole(target: SocketAddr) -> Rules {
    let (ip, port) = (target.ip(), target.port());
    let family = if ip.is_ipv4() { "ip" } else { "ip6" };
    install(&format!(
        "table inet {TABLE} {{\n\
         \tchain input {{\n\
         \t\ttype filter hook input priority -10; policy accept;\n\
         \t\t{family} daddr {ip} tcp dport {port} drop\n\
         \t\t{family} saddr {ip} tcp sport {port} drop\n\
         \t}}\n\
         }}\n"
    ))
}

/// The soak's table, so that its blackholes never touch the benchmarks' rules.
pub const SOAK_TABLE: &str = "dnsfailover_soak";

/// The targets whose TCP packets are dropped now; the table is deleted when
/// this is dropped.
pub struct Blackholes {
    targets: BTreeSet<SocketAddr>,
}

impl Blackholes {
    /// None yet; deletes a table a previous run left behind.
    pub fn new() -> Blackholes {
        delete_named_if_present(SOAK_TABLE);
        Blackholes {
            targets: BTreeSet::new(),
        }
    }

    /// Drops every TCP packet to and from `target` on input from now on.
    pub fn add(&mut self, target: SocketAddr) {
        self.targets.insert(target);
        self.apply();
    }

    /// Lets `target`'s packets through again.
    pub fn remove(&mut self, target: SocketAddr) {
        self.targets.remove(&target);
        self.apply();
    }

    /// Replaces the table's rules with one pair per blackholed target.
    fn apply(&self) {
        let mut rules = String::new();
        for target in &self.targets {
            let (ip, port) = (target.ip(), target.port());
            let family = if ip.is_ipv4() { "ip" } else { "ip6" };
            rules.push_str(&format!(
                "\t\t{family} daddr {ip} tcp dport {port} drop\n\
                 \t\t{family} saddr {ip} tcp sport {port} drop\n"
            ));
        }
        nft_script(&format!(
            "table inet {SOAK_TABLE} {{}}\n\
             delete table inet {SOAK_TABLE}\n\
             table inet {SOAK_TABLE} {{\n\
             \tchain input {{\n\
             \t\ttype filter hook input priority -10; policy accept;\n\
             {rules}\t}}\n\
             }}\n"
        ));
    }
}

impl Drop for Blackholes {
    fn drop(&mut self) {
        delete_named_if_present(SOAK_TABLE);
    }
}

/// Exempts all traffic to and from the IPv4 `subnet` (e.g. `127.0.88.0/24`)
/// from connection tracking.
pub fn untracked(subnet: &str) -> Rules {
    install(&format!(
        "table inet {TABLE} {{\n{}}}\n",
        untracked_chains(subnet)
    ))
}

/// Exempts traffic to and from `subnets` (an nftables set, e.g.
/// `{ 127.1.0.0/16 }`) from connection tracking, and drops TCP packets to
/// `port` that do not arrive on `lo`: the wildcard listener there listens
/// on every address of the host, and only loopback may reach it.
pub fn untracked_and_guarded(subnets: &str, port: u16) -> Rules {
    install(&format!(
        "table inet {TABLE} {{\n{}\tchain guard {{\n\
         \t\ttype filter hook input priority -10; policy accept;\n\
         \t\tiifname != \"lo\" tcp dport {port} drop\n\
         \t}}\n}}\n",
        untracked_chains(subnets)
    ))
}

/// The raw chains (output and prerouting) that exempt `addresses` (a
/// subnet or an nftables set of them) from connection tracking.
fn untracked_chains(addresses: &str) -> String {
    let chain = |name: &str, hook: &str| {
        format!(
            "\tchain {name} {{\n\
             \t\ttype filter hook {hook} priority raw; policy accept;\n\
             \t\tip daddr {addresses} notrack\n\
             \t\tip saddr {addresses} notrack\n\
             \t}}\n"
        )
    };
    chain("untracked_out", "output") + &chain("untracked_in", "prerouting")
}

fn install(ruleset: &str) -> Rules {
    nft_script(ruleset);
    Rules { installed: true }
}

/// Deletes the benchmark's table if a previous run left it behind.
pub fn delete_leftover() {
    delete_named_if_present(TABLE);
}

/// Deletes the table `inet NAME` if it exists.
fn delete_named_if_present(name: &str) {
    let exists = Command::new("nft")
        .args(["list", "table", "inet", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if exists {
        delete_named(name);
    }
}

fn delete_table() {
    delete_named(TABLE);
}

fn delete_named(name: &str) {
    let status = Command::new("nft")
        .args(["delete", "table", "inet", name])
        .status();
    if !status.is_ok_and(|status| status.success()) {
        eprintln!(
            "could not delete nftables table inet {name}: run `nft delete table inet {name}`"
        );
    }
}

/// Runs `nft -f -` with `script`; panics (naming nft) when it fails.
fn nft_script(script: &str) {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running nft (apt-get install nftables): {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .expect("writing the nft script");
    let status = child.wait().expect("waiting for nft");
    assert!(status.success(), "nft refused:\n{script}");
}
