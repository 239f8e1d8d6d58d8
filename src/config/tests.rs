//! Unit tests of configuration validation. The sample files under
//! `tests/configs/` cover every kind of mistake line by line; these tests
//! check the validated values and the rules behind the messages.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::*;
use crate::vocabulary::{KeySource, Transport, TsigAlgorithm};

/// Accepts every key.
fn any_key(_: &KeySource) -> Result<(), String> {
    Ok(())
}

fn parse_ok(text: &str) -> Config {
    parse(text, Path::new("test.yaml"), &any_key).unwrap_or_else(|error| panic!("{error}"))
}

fn problems(text: &str) -> Vec<Problem> {
    match parse(text, Path::new("test.yaml"), &any_key) {
        Ok(config) => panic!("should not load: {config:?}"),
        Err(error) => error.problems,
    }
}

fn name(text: &str) -> Name {
    Name::from_str(text).expect("test name")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

const ISSUE_EXAMPLE: &str = include_str!("../../tests/configs/valid/issue-example.yaml");
const ANNOTATED_EXAMPLE: &str = include_str!("../../deploy/dnsfailover.example.yaml");

/// The head of a file with a valid nameserver; records follow.
const NAMESERVER: &str = "nameserver: { address: 127.0.0.1, key_file: /k }\n";

#[test]
fn the_issue_example_becomes_exactly_this_config() {
    let server = |label: &str, addresses: &[&str]| Server {
        name: label.to_string(),
        addresses: addresses.iter().map(|text| ip(text)).collect(),
        checks: None,
    };
    let expected = Config {
        nameservers: vec![Nameserver {
            address: "127.0.0.1:53".parse().unwrap(),
            key: KeySource::File {
                path: PathBuf::from("/etc/dnsfailover/update.key"),
                name: None,
            },
            transport: Transport::Tcp,
            timeout: Duration::from_secs(2),
            zones: None,
        }],
        records: vec![Record {
            name: name("www.example.test."),
            zone: None,
            ttl: 30,
            failover_ttl: None,
            mode: PoolMode::Failover,
            max_addresses: 8,
            servers: vec![
                server("web1", &["192.0.2.10", "2001:db8::10"]),
                server("web2", &["192.0.2.11", "2001:db8::11"]),
                server("web3", &["192.0.2.12"]),
            ],
            checks: vec![Check {
                label: "http:80".to_string(),
                spec: CheckSpec::Http(HttpCheck {
                    scheme: HttpScheme::Http,
                    port: 80,
                    path: "/health".to_string(),
                    host: None,
                    expect_status: vec![200],
                    expect_body: Some("ok".to_string()),
                    tls_verify: true,
                    tls_server_name: None,
                    tls_ca_file: None,
                    expiry_warning_days: None,
                }),
                timing: Timing {
                    interval: Duration::from_secs(1),
                    timeout: Duration::from_millis(500),
                    fall: 2,
                    rise: 2,
                },
            }],
            when_all_down: AllDownPolicy::Keep,
            takeover: false,
            failback: FailbackPolicy::Auto,
        }],
        http: None,
        notify: Notify {
            queue: DEFAULT_QUEUE,
            ..Notify::default()
        },
        propagation: Propagation::default(),
        control: Control::default(),
    };
    assert_eq!(parse_ok(ISSUE_EXAMPLE), expected);
}

#[test]
fn built_in_defaults_apply_without_a_defaults_section() {
    let config = parse_ok(&format!(
        "{NAMESERVER}records:\n  - name: www.example.test\n    check: {{ type: https }}\n    \
         servers: [{{ name: a, addresses: [192.0.2.1] }}]\n"
    ));
    let record = &config.records[0];
    assert_eq!(record.name, name("www.example.test."));
    assert!(record.name.is_fqdn());
    assert_eq!(record.ttl, DEFAULT_TTL);
    assert_eq!(
        record.first_check().timing,
        Timing {
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_CHECK_TIMEOUT,
            fall: DEFAULT_FALL,
            rise: DEFAULT_RISE,
        }
    );
    assert_eq!(record.when_all_down, AllDownPolicy::Keep);
    let CheckSpec::Http(check) = &record.first_check().spec else {
        panic!("an https check: {:?}", record.first_check().spec);
    };
    assert_eq!(check.scheme, HttpScheme::Https);
    assert_eq!(check.port, DEFAULT_HTTPS_PORT);
    assert_eq!(check.path, DEFAULT_HTTP_PATH);
    assert_eq!(check.expect_status, DEFAULT_EXPECT_STATUS);
    assert!(check.tls_verify);
    assert_eq!(config.nameservers[0].transport, Transport::Tcp);
    assert_eq!(config.nameservers[0].timeout, DEFAULT_NAMESERVER_TIMEOUT);
}

#[test]
fn a_record_overrides_each_default_and_inherits_the_rest() {
    let config = parse_ok(&format!(
        "{NAMESERVER}defaults:\n  ttl: 60\n  interval: 10s\n  timeout: 3s\n  fall: 4\n  rise: 5\n  \
         when_all_down: first\n  check: {{ type: tcp, port: 22 }}\n\
         records:\n  - name: a.example.test\n    servers: [{{ name: a, addresses: [192.0.2.1] }}]\n  \
         - name: b.example.test\n    ttl: 5\n    interval: 1m30s\n    rise: 1\n    when_all_down: keep\n    \
         servers: [{{ name: b, addresses: [192.0.2.2] }}]\n"
    ));
    let (a, b) = (&config.records[0], &config.records[1]);
    assert_eq!((a.ttl, b.ttl), (60, 5));
    assert_eq!(a.first_check().timing.interval, Duration::from_secs(10));
    assert_eq!(b.first_check().timing.interval, Duration::from_secs(90));
    assert_eq!(
        (
            a.first_check().timing.timeout,
            b.first_check().timing.timeout
        ),
        (Duration::from_secs(3), Duration::from_secs(3))
    );
    assert_eq!(
        (a.first_check().timing.fall, b.first_check().timing.fall),
        (4, 4)
    );
    assert_eq!(
        (a.first_check().timing.rise, b.first_check().timing.rise),
        (5, 1)
    );
    assert_eq!(
        (a.when_all_down, b.when_all_down),
        (AllDownPolicy::First, AllDownPolicy::Keep)
    );
    assert_eq!(a.first_check().spec, CheckSpec::Tcp { port: 22 });
    assert_eq!(b.first_check().spec, CheckSpec::Tcp { port: 22 });
}

#[test]
fn a_record_check_replaces_the_default_check_without_merging_fields() {
    let config = parse_ok(&format!(
        "{NAMESERVER}defaults:\n  check: {{ type: http, port: 8080, path: /health, expect_body: ok }}\n\
         records:\n  - name: www.example.test\n    check: {{ type: http }}\n    \
         servers: [{{ name: a, addresses: [192.0.2.1] }}]\n"
    ));
    let CheckSpec::Http(check) = &config.records[0].first_check().spec else {
        panic!("an http check");
    };
    assert_eq!((check.port, check.path.as_str()), (DEFAULT_HTTP_PORT, "/"));
    assert_eq!(check.expect_body, None);
}

#[test]
fn anchors_aliases_and_merge_keys_are_resolved() {
    let config = parse_ok(include_str!("../../tests/configs/valid/anchors.yaml"));
    let (www, stat) = (&config.records[0], &config.records[1]);
    assert_eq!(www.servers, stat.servers);
    let CheckSpec::Http(check) = &stat.first_check().spec else {
        panic!("an http check");
    };
    assert_eq!((check.port, check.path.as_str()), (8080, "/health"));
    assert_eq!(
        config.nameservers[0].key,
        KeySource::File {
            path: PathBuf::from("/etc/dnsfailover/update.key"),
            name: Some(name("failover-key.")),
        }
    );
}

#[test]
fn an_inline_key_and_every_https_option_are_read() {
    let config = parse_ok(include_str!(
        "../../tests/configs/valid/inline-key-https.yaml"
    ));
    assert_eq!(
        config.nameservers[0].key,
        KeySource::Inline {
            name: name("update-key."),
            algorithm: TsigAlgorithm::HmacSha512,
            secret_file: PathBuf::from("/etc/dnsfailover/update.secret"),
        }
    );
    assert_eq!(
        config.nameservers[0].address,
        "[2001:db8::53]:5353".parse().unwrap()
    );
    assert_eq!(config.nameservers[0].transport, Transport::Udp);
    let record = &config.records[0];
    assert!(record.takeover);
    assert_eq!(record.zone, Some(name("example.test.")));
    assert_eq!(
        record.name.to_ascii(),
        "API.Example.Test.",
        "case is kept as written"
    );
    let CheckSpec::Http(check) = &record.first_check().spec else {
        panic!("an https check");
    };
    assert_eq!(check.path, "/healthz?full=1");
    assert_eq!(check.host.as_deref(), Some("api.example.test"));
    assert_eq!(check.expect_status, vec![200, 204]);
    assert!(!check.tls_verify);
    assert_eq!(
        check.tls_server_name.as_deref(),
        Some("api.internal.example.test")
    );
    assert_eq!(
        check.tls_ca_file.as_deref(),
        Some(Path::new("/etc/dnsfailover/ca.pem"))
    );
}

#[test]
fn nameserver_addresses_take_every_documented_form() {
    let cases = [
        ("127.0.0.1", "127.0.0.1:53"),
        ("127.0.0.1:5353", "127.0.0.1:5353"),
        ("::1", "[::1]:53"),
        ("2001:db8::53", "[2001:db8::53]:53"),
        ("[2001:db8::53]", "[2001:db8::53]:53"),
        ("[2001:db8::53]:5353", "[2001:db8::53]:5353"),
    ];
    for (text, expected) in cases {
        let expected: SocketAddr = expected.parse().unwrap();
        assert_eq!(nameserver::socket_address(text), Ok(expected), "{text}");
    }
}

#[test]
fn nameserver_addresses_that_are_refused_say_why() {
    let cases = [
        ("ns1.example.test", "the agent does not resolve names"),
        ("ns1.example.test:53", "the agent does not resolve names"),
        ("192.0.2.256", "is not a valid IP address"),
        ("127.0.0.1:65536", "between 1 and 65535"),
        ("127.0.0.1:0", "between 1 and 65535"),
        ("127.0.0.1:dns", "between 1 and 65535"),
        ("[2001:db8::53]:", "between 1 and 65535"),
    ];
    for (text, reason) in cases {
        let message = nameserver::socket_address(text).expect_err(text);
        assert!(message.contains(reason), "{text}: {message}");
    }
}

/// Every table of the file, in flow style, with a `{path}` slot where a key can be added.
const EVERY_TABLE: &str = "\
nameserver: { address: 127.0.0.1, key: { name: k, algorithm: hmac-sha256, secret_file: /s{nameserver.key} }{nameserver} }
defaults: { check: { type: https{defaults.check} }{defaults} }
records: [ { name: www.example.test, check: { type: https{records[0].check} }, servers: [ { name: w, addresses: [192.0.2.1]{records[0].servers[0]} } ]{records[0]} } ]
http: { listen: 9153{http} }
notify: { webhooks: [ { url: \"http://127.0.0.1:9/h\"{notify.webhooks[0]} } ], command: { run: [/bin/true]{notify.command} }{notify} }
propagation: { lagging_after: 10s{propagation} }
control: { socket: /run/x.sock{control} }
{}
";

/// The table paths that have a slot in [`EVERY_TABLE`] (`""` is the top level).
const TABLE_PATHS: &[&str] = &[
    "",
    "nameserver",
    "nameserver.key",
    "defaults",
    "defaults.check",
    "records[0]",
    "records[0].check",
    "records[0].servers[0]",
    "http",
    "notify",
    "notify.webhooks[0]",
    "notify.command",
    "propagation",
    "control",
];

/// [`EVERY_TABLE`] with `bogus: 1` added to the table at `target` (none when `None`).
fn every_table_with_bogus_key_in(target: Option<&str>) -> String {
    let mut text = EVERY_TABLE.to_string();
    for path in TABLE_PATHS {
        let slot = format!("{{{path}}}");
        let addition = match (target == Some(path), path.is_empty()) {
            (false, _) => "",
            (true, true) => "bogus: 1",
            (true, false) => ", bogus: 1",
        };
        text = text.replace(&slot, addition);
    }
    text
}

#[test]
fn a_bogus_key_is_refused_in_every_table() {
    parse_ok(&every_table_with_bogus_key_in(None));
    for path in TABLE_PATHS {
        let found = problems(&every_table_with_bogus_key_in(Some(path)));
        assert_eq!(found.len(), 1, "{path}: {found:?}");
        assert_eq!(found[0].field, report::child_path(path, "bogus"));
        assert!(
            found[0]
                .message
                .starts_with("unknown field `bogus`; expected one of: "),
            "{path}: {}",
            found[0].message
        );
    }
}

#[test]
fn the_key_check_gets_the_validated_key_once() {
    let seen = RefCell::new(Vec::new());
    let record = |key: &KeySource| {
        seen.borrow_mut().push(key.clone());
        Ok(())
    };
    parse(ISSUE_EXAMPLE, Path::new("test.yaml"), &record).expect("loads");
    let expected = KeySource::File {
        path: PathBuf::from("/etc/dnsfailover/update.key"),
        name: None,
    };
    assert_eq!(seen.into_inner(), vec![expected]);
}

#[test]
fn a_refused_inline_key_is_reported_at_the_key_table_along_with_other_problems() {
    let text = every_table_with_bogus_key_in(Some("records[0]"));
    let refuse = |_: &KeySource| Err("cannot read /s: no such file".to_string());
    let error = parse(&text, Path::new("test.yaml"), &refuse).expect_err("refused");
    let lines: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        "test.yaml:1:40: nameserver.key: cannot read /s: no such file"
    );
    assert!(lines[1].starts_with("test.yaml:3:"), "{}", lines[1]);
    assert!(lines[1].contains("records[0].bogus"), "{}", lines[1]);
}

#[test]
fn the_key_check_is_skipped_when_the_key_itself_is_invalid() {
    let text = ISSUE_EXAMPLE.replace("key_file: /etc/dnsfailover/update.key", "key_file: 7");
    let called = RefCell::new(false);
    let check = |_: &KeySource| {
        *called.borrow_mut() = true;
        Ok(())
    };
    let error = parse(&text, Path::new("test.yaml"), &check).expect_err("invalid key_file");
    assert!(!*called.borrow());
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].field, "nameserver.key_file");
}

#[test]
fn problems_display_as_file_line_column_field_message_one_per_line() {
    let error = ConfigError {
        problems: vec![
            Problem {
                file: PathBuf::from("/etc/dnsfailover/dnsfailover.yaml"),
                line: 4,
                column: 11,
                field: "records[0].servers".to_string(),
                message: "must not be empty".to_string(),
            },
            Problem {
                file: PathBuf::from("/missing.yaml"),
                line: 0,
                column: 0,
                field: String::new(),
                message: "cannot read the configuration file: denied".to_string(),
            },
        ],
    };
    assert_eq!(
        error.to_string(),
        "/etc/dnsfailover/dnsfailover.yaml:4:11: records[0].servers: must not be empty\n\
         /missing.yaml: cannot read the configuration file: denied"
    );
}

#[test]
fn problems_come_in_file_order() {
    let text = format!(
        "records:\n  - name: x.example.test\n    servers: []\n    ttl: 0\n{NAMESERVER}defaults: {{ fall: 0 }}\n"
    );
    let found = problems(&text);
    let positions: Vec<(u64, u64)> = found.iter().map(|p| (p.line, p.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
    assert_eq!(found.len(), 4, "{found:?}");
}

#[test]
fn the_annotated_example_mentions_every_key_of_every_table() {
    let record_keys = record::record_keys();
    let tables: [(&str, &[&str]); 12] = [
        ("top level", document::TOP_KEYS),
        ("nameserver", nameserver::NAMESERVER_KEYS),
        ("nameservers[]", nameserver::LISTED_NAMESERVER_KEYS),
        ("nameserver.key", nameserver::INLINE_KEY_KEYS),
        ("defaults", settings::SETTING_KEYS),
        ("check", check::CHECK_KEYS),
        ("checks item", check_list::ITEM_KEYS),
        ("record", &record_keys),
        ("server", record::SERVER_KEYS),
        ("http", http::HTTP_KEYS),
        ("propagation", propagation::PROPAGATION_KEYS),
        ("control", control::CONTROL_KEYS),
    ];
    for (table, keys) in tables {
        for key in keys {
            assert!(
                ANNOTATED_EXAMPLE.contains(&format!("{key}:")),
                "the example does not show {table} key {key}"
            );
        }
    }
    parse_ok(ANNOTATED_EXAMPLE);
}

#[test]
fn an_alias_bomb_is_stopped_by_the_parsing_budget() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        let items = vec![previous; 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "(document)");
    assert!(found[0].line > 1, "{found:?}");
    assert!(found[0].message.contains("too complex"), "{found:?}");
}

#[test]
fn durations_take_units_and_refuse_zero_and_more_than_a_day() {
    let with_interval = |interval: &str| {
        format!(
            "{NAMESERVER}defaults: {{ interval: {interval}, timeout: 1ms, check: {{ type: tcp, port: 1 }} }}\n\
             records: [{{ name: a.example.test, servers: [{{ name: a, addresses: [192.0.2.1] }}] }}]\n"
        )
    };
    let interval = |text: &str| {
        parse_ok(&with_interval(text)).records[0]
            .first_check()
            .timing
            .interval
    };
    assert_eq!(interval("250ms"), Duration::from_millis(250));
    assert_eq!(interval("2m"), Duration::from_secs(120));
    assert_eq!(interval("1day"), MAX_DURATION);
    for (text, reason) in [
        ("0s", "greater than zero"),
        ("25h", "too long"),
        ("1", "unit"),
    ] {
        let found = problems(&with_interval(text));
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert_eq!(found[0].field, "defaults.interval");
        assert!(
            found[0].message.contains(reason),
            "{text}: {}",
            found[0].message
        );
    }
}

#[test]
fn every_problem_stays_on_one_line() {
    let text = format!("{NAMESERVER}\"rec\\nords\": []\n");
    let refuse = |_: &KeySource| Err("bad key\nsecond line".to_string());
    let error = parse(&text, Path::new("test.yaml"), &refuse).expect_err("invalid");
    assert_eq!(error.to_string().lines().count(), error.problems.len());
    assert!(
        error.to_string().contains("bad key\\nsecond line"),
        "{error}"
    );
}

/// A valid file whose `http:` section is `section`.
fn with_http(section: &str) -> String {
    format!(
        "{NAMESERVER}records: [ {{ name: www.example.test, check: {{ type: tcp, port: 80 }}, \
         servers: [ {{ name: w, addresses: [192.0.2.1] }} ] }} ]\nhttp: {section}\n"
    )
}

#[test]
fn the_http_listener_is_off_without_an_http_section() {
    assert_eq!(parse_ok(ISSUE_EXAMPLE).http, None);
}

#[test]
fn http_listen_takes_a_bare_port_an_ipv4_and_an_ipv6_address() {
    let cases = [
        ("{ listen: 9153 }", "127.0.0.1:9153", false),
        ("{ listen: 0 }", "127.0.0.1:0", false),
        ("{ listen: 127.0.0.5:80 }", "127.0.0.5:80", false),
        ("{ listen: \"[::1]:9153\" }", "[::1]:9153", false),
        (
            "{ listen: 192.0.2.1:9153, allow_remote: true }",
            "192.0.2.1:9153",
            true,
        ),
        (
            "{ listen: \"[::]:9153\", allow_remote: true }",
            "[::]:9153",
            true,
        ),
    ];
    for (section, listen, allow_remote) in cases {
        let http = parse_ok(&with_http(section)).http.expect(section);
        assert_eq!(
            http.listen,
            listen.parse::<SocketAddr>().unwrap(),
            "{section}"
        );
        assert_eq!(http.allow_remote, allow_remote, "{section}");
    }
}

#[test]
fn http_sections_that_are_refused_say_why_at_the_field() {
    let cases = [
        (
            "{ listen: 0.0.0.0:9153 }",
            "http.listen",
            "set allow_remote: true",
        ),
        (
            "{ listen: 192.0.2.1:9153, allow_remote: false }",
            "http.listen",
            "not a loopback address",
        ),
        (
            "{ listen: \"[2001:db8::1]:9153\" }",
            "http.listen",
            "no authentication",
        ),
        ("{ listen: 127.0.0.1 }", "http.listen", "has no port"),
        ("{ listen: \"9153\" }", "http.listen", "without quotes"),
        ("{ listen: 70000 }", "http.listen", "between 0 and 65535"),
        (
            "{ listen: localhost:9153 }",
            "http.listen",
            "not an address with a port",
        ),
        (
            "{ listen: [9153] }",
            "http.listen",
            "expected IP:PORT or a port",
        ),
        (
            "{ listen: 9153, allow_remote: yes }",
            "http.allow_remote",
            "expected true or false",
        ),
        ("{ allow_remote: true }", "http.listen", "missing;"),
        ("9153", "http", "expected a mapping"),
    ];
    for (section, field, reason) in cases {
        let found = problems(&with_http(section));
        assert_eq!(found.len(), 1, "{section}: {found:?}");
        assert_eq!(found[0].field, field, "{section}");
        assert!(
            found[0].message.contains(reason),
            "{section}: {}",
            found[0].message
        );
        assert_eq!(found[0].line, 3, "{section}");
    }
}

fn with_propagation(section: &str) -> String {
    format!("{NAMESERVER}records: [ {{ name: www.example.test, check: {{ type: tcp, port: 80 }}, servers: [ {{ name: w, addresses: [192.0.2.1] }} ] }} ]\npropagation: {section}\n")
}

#[test]
fn propagation_follows_the_ns_rrset_for_30_seconds_by_default() {
    let config = parse_ok(&with_propagation("{}"));
    assert_eq!(config.propagation, Propagation::default());
    assert!(config.propagation.enabled);
    assert_eq!(config.propagation.nameservers, None);
    assert_eq!(config.propagation.lagging_after, Duration::from_secs(30));
    assert!(!config.propagation.signed);
}

#[test]
fn propagation_takes_a_list_of_nameservers_with_or_without_ports() {
    let config = parse_ok(&with_propagation(
        "{ nameservers: [192.0.2.2, 127.0.0.1:5301, \"[::1]:5302\"], lagging_after: 5s, signed: true, enabled: true }",
    ));
    let expected: Vec<SocketAddr> = ["192.0.2.2:53", "127.0.0.1:5301", "[::1]:5302"]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
    assert_eq!(config.propagation.nameservers, Some(expected));
    assert_eq!(config.propagation.lagging_after, Duration::from_secs(5));
    assert!(config.propagation.signed);
}

#[test]
fn propagation_sections_that_are_refused_say_why_at_the_field() {
    let cases = [
        (
            "{ nameservers: [] }",
            "propagation.nameservers",
            "must not be empty",
        ),
        (
            "{ nameservers: 192.0.2.2 }",
            "propagation.nameservers",
            "expected a list",
        ),
        (
            "{ nameservers: [ns2.example.test] }",
            "propagation.nameservers[0]",
            "must be an IP address",
        ),
        (
            "{ nameservers: [192.0.2.2, 192.0.2.2:53] }",
            "propagation.nameservers[1]",
            "listed twice",
        ),
        ("{ lagging_after: 0s }", "propagation.lagging_after", ""),
        ("{ signed: yes please }", "propagation.signed", ""),
    ];
    for (section, field, message) in cases {
        let found = problems(&with_propagation(section));
        assert_eq!(found.len(), 1, "{section}: {found:?}");
        assert_eq!(found[0].field, field, "{section}");
        assert!(
            found[0].message.contains(message),
            "{section}: {}",
            found[0].message
        );
    }
}

#[test]
fn control_and_failback_are_read_with_their_defaults() {
    let record = "records: [{ name: a.example.test, check: { type: tcp, port: 1 }, servers: [{ name: a, addresses: [192.0.2.1] }] }]\n";
    let plain = parse_ok(&format!("{NAMESERVER}{record}"));
    assert_eq!(plain.control, Control::default());
    assert_eq!(plain.records[0].failback, FailbackPolicy::Auto);
    let text = format!(
        "{NAMESERVER}defaults: {{ failback: manual }}\n{record}control: {{ socket: /tmp/c.sock, group: ops, state_file: /tmp/s.json }}\n"
    );
    let config = parse_ok(&text);
    assert_eq!(config.records[0].failback, FailbackPolicy::Manual);
    assert_eq!(config.control.socket, PathBuf::from("/tmp/c.sock"));
    assert_eq!(config.control.group.as_deref(), Some("ops"));
    assert_eq!(config.control.state_file, PathBuf::from("/tmp/s.json"));
}

#[test]
fn control_problems_are_reported_at_their_field() {
    let record = "records: [{ name: a.example.test, check: { type: tcp, port: 1 }, servers: [{ name: a, addresses: [192.0.2.1] }], failback: sometimes }]\n";
    let text = format!(
        "{NAMESERVER}{record}control: {{ socket: run/c.sock, group: \"o p\", state_file: 3 }}\n"
    );
    let found = problems(&text);
    let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "records[0].failback",
            "control.socket",
            "control.group",
            "control.state_file"
        ],
        "{found:?}"
    );
    assert!(found[1].message.contains("absolute"), "{found:?}");
}

#[test]
fn a_single_check_is_a_list_of_one_labelled_by_type_and_port() {
    let config = parse_ok(&format!(
        "{NAMESERVER}records:\n  - name: www.example.test\n    interval: 3s\n    \
         check: {{ type: https }}\n    servers: [{{ name: a, addresses: [192.0.2.1] }}]\n"
    ));
    let record = &config.records[0];
    assert_eq!(record.checks.len(), 1);
    assert_eq!(record.first_check().label, "https:443");
    assert_eq!(record.first_check().timing.interval, Duration::from_secs(3));
    assert_eq!(
        record.checks_of(&record.servers[0]),
        record.checks.as_slice()
    );
}

#[test]
fn checks_take_their_own_timing_over_the_records() {
    let config = parse_ok(&format!(
        "{NAMESERVER}defaults: {{ fall: 4 }}\nrecords:\n  - name: www.example.test\n    \
         interval: 5s\n    timeout: 1s\n    rise: 3\n    checks:\n      \
         - {{ type: tcp, port: 443 }}\n      \
         - {{ type: smtp, name: mail, interval: 20s, timeout: 4s, fall: 1, rise: 7 }}\n    \
         servers: [{{ name: a, addresses: [192.0.2.1] }}]\n"
    ));
    let checks = &config.records[0].checks;
    let labels: Vec<&str> = checks.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["tcp:443", "mail"]);
    assert_eq!(checks[0].spec, CheckSpec::Tcp { port: 443 });
    assert!(matches!(
        checks[1].spec,
        CheckSpec::Smtp(SmtpCheck { port: 25, .. })
    ));
    let secs = Duration::from_secs;
    assert_eq!(
        checks[0].timing,
        Timing {
            interval: secs(5),
            timeout: secs(1),
            fall: 4,
            rise: 3
        }
    );
    assert_eq!(
        checks[1].timing,
        Timing {
            interval: secs(20),
            timeout: secs(4),
            fall: 1,
            rise: 7
        }
    );
}

#[test]
fn inherited_checks_take_the_timing_of_the_record_that_inherits_them() {
    let config = parse_ok(&format!(
        "{NAMESERVER}defaults:\n  checks: [{{ type: tcp, port: 80 }}, {{ type: tcp, port: 81, rise: 9 }}]\n\
         records:\n  - name: www.example.test\n    rise: 4\n    \
         servers: [{{ name: a, addresses: [192.0.2.1] }}]\n"
    ));
    let checks = &config.records[0].checks;
    assert_eq!((checks[0].timing.rise, checks[1].timing.rise), (4, 9));
}

#[test]
fn a_server_may_replace_the_records_checks() {
    let config = parse_ok(&format!(
        "{NAMESERVER}records:\n  - name: mail.example.test\n    fall: 5\n    \
         checks: [{{ type: tcp, port: 443 }}, {{ type: smtp }}]\n    servers:\n      \
         - {{ name: mx1, addresses: [192.0.2.1] }}\n      \
         - {{ name: mx2, addresses: [192.0.2.2], checks: [{{ type: smtp, port: 2525 }}] }}\n"
    ));
    let record = &config.records[0];
    assert_eq!(record.checks_of(&record.servers[0]).len(), 2);
    let own = record.checks_of(&record.servers[1]);
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].label, "smtp:2525");
    assert_eq!(own[0].timing.fall, 5, "the record's timing");
}

#[test]
fn check_list_mistakes_are_reported_at_their_fields() {
    let record = |checks: &str| {
        format!(
            "{NAMESERVER}records:\n  - name: www.example.test\n    {checks}\n    \
             servers: [{{ name: a, addresses: [192.0.2.1] }}]\n"
        )
    };
    let fields =
        |text: &str| -> Vec<String> { problems(text).into_iter().map(|p| p.field).collect() };
    assert_eq!(fields(&record("checks: []")), ["records[0].checks"]);
    assert_eq!(
        fields(&record(
            "check: { type: tcp, port: 1 }\n    checks: [{ type: tcp, port: 2 }]"
        )),
        ["records[0].checks"]
    );
    assert_eq!(
        fields(&record(
            "checks: [{ type: tcp, port: 1 }, { type: tcp, port: 2, rise: 0 }]"
        )),
        ["records[0].checks[1].rise"]
    );
    assert_eq!(
        fields(&record(
            "checks: [{ type: tcp, port: 1 }, { type: tcp, port: 1 }]"
        )),
        ["records[0].checks[1]"]
    );
    let duplicate = problems(&record(
        "checks: [{ type: tcp, port: 1, name: x }, { type: tcp, port: 2, name: x }]",
    ));
    assert_eq!(duplicate.len(), 1);
    assert_eq!(duplicate[0].field, "records[0].checks[1].name");
    assert!(
        duplicate[0]
            .message
            .contains("already used at records[0].checks[0]"),
        "{}",
        duplicate[0].message
    );
}

const SEVERAL_PRIMARIES: &str = include_str!("../../tests/configs/valid/several-primaries.yaml");

#[test]
fn the_single_nameserver_form_is_one_primary_for_every_zone() {
    let config = parse_ok(ISSUE_EXAMPLE);
    assert_eq!(config.nameservers.len(), 1);
    assert_eq!(config.nameservers[0].zones, None);
    assert_eq!(config.nameserver_index(&name("www.example.test.")), Some(0));
    assert_eq!(config.nameserver_index(&name("anything.else.")), Some(0));
}

#[test]
fn a_list_of_nameservers_gives_each_its_zones_and_routes_each_record() {
    let config = parse_ok(SEVERAL_PRIMARIES);
    let [bind, knot] = &config.nameservers[..] else {
        panic!("two nameservers: {:?}", config.nameservers);
    };
    assert_eq!(bind.address, "192.0.2.53:53".parse::<SocketAddr>().unwrap());
    assert_eq!(bind.transport, Transport::Tcp);
    assert_eq!(bind.timeout, DEFAULT_NAMESERVER_TIMEOUT);
    assert_eq!(bind.zones, Some(vec![name("example.com.")]));
    assert_eq!(
        knot.address,
        "[2001:db8::53]:5353".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(knot.transport, Transport::Udp);
    assert_eq!(knot.timeout, Duration::from_secs(1));
    assert_eq!(
        knot.zones,
        Some(vec![name("example.org."), name("eu.example.com.")])
    );
    let routes: Vec<Option<usize>> = config
        .records
        .iter()
        .map(|record| config.nameserver_index(&record.name))
        .collect();
    assert_eq!(routes, [Some(0), Some(1), Some(1)]);
    assert_eq!(
        config
            .nameserver_for(&name("www.example.org."))
            .map(|ns| ns.address),
        Some(knot.address)
    );
}

#[test]
fn the_key_check_gets_each_nameservers_key_in_order_and_its_complaint_lands_there() {
    let seen = RefCell::new(Vec::new());
    let refuse_knot = |key: &KeySource| {
        seen.borrow_mut().push(key.clone());
        match key {
            KeySource::Inline { .. } => Err("cannot read /etc/dnsfailover/knot.secret".to_owned()),
            KeySource::File { .. } => Ok(()),
        }
    };
    let error =
        parse(SEVERAL_PRIMARIES, Path::new("test.yaml"), &refuse_knot).expect_err("refused");
    let seen = seen.into_inner();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(matches!(seen[0], KeySource::File { .. }), "{seen:?}");
    assert_eq!(error.problems.len(), 1, "{:?}", error.problems);
    assert_eq!(error.problems[0].field, "nameservers[1].key");
    let text = SEVERAL_PRIMARIES.replace("key_file: /etc/dnsfailover/bind.key", "key_file: 7");
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "nameservers[0].key_file");
}

#[test]
fn nameserver_and_nameservers_are_exclusive_and_one_is_required() {
    let record = "records: [{ name: a.example.test, check: { type: tcp, port: 1 }, servers: [{ name: a, addresses: [192.0.2.1] }] }]\n";
    let list = "nameservers: [{ address: 127.0.0.2, key_file: /k2, zones: [example.test] }]\n";
    let found = problems(&format!("{NAMESERVER}{list}{record}"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "nameservers");
    assert!(
        found[0].message.contains("either nameserver") && found[0].message.contains("not both"),
        "{}",
        found[0].message
    );
    let found = problems(record);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "nameserver");
    assert!(
        found[0].message.contains("nameservers"),
        "{}",
        found[0].message
    );
    parse_ok(&format!("{list}{record}"));
}

#[test]
fn nameservers_items_are_checked_field_by_field() {
    let record = "records: [{ name: a.example.test, check: { type: tcp, port: 1 }, servers: [{ name: a, addresses: [192.0.2.1] }] }]\n";
    let cases = [
        ("[]", "nameservers", "must not be empty"),
        ("{ address: 127.0.0.1 }", "nameservers", "expected a list"),
        (
            "[{ address: 127.0.0.1, key_file: /k, zones: [example.test] }, { address: nowhere, key_file: /k, zones: [other.test] }]",
            "nameservers[1].address",
            "must be an IP address",
        ),
        (
            "[{ address: 127.0.0.1, key_file: /k, zones: [example.test] }, { address: 127.0.0.2, key_file: /k, zones: [EXAMPLE.test.] }]",
            "nameservers[1].zones[0]",
            "already listed at nameservers[0].zones[0]",
        ),
        (
            "[{ address: 127.0.0.1, key_file: /k, zones: [example.test] }, { address: 127.0.0.2, key_file: /k }]",
            "nameservers[1].zones",
            "missing",
        ),
        (
            "[{ address: 127.0.0.1, key_file: /k, zones: [example.test], timeout: 0s }]",
            "nameservers[0].timeout",
            "",
        ),
        (
            "[{ address: 127.0.0.1, key_file: /k, zones: [example.test], transport: sctp }]",
            "nameservers[0].transport",
            "",
        ),
        (
            "[{ address: 127.0.0.1, key_file: /k, zones: [other.test] }]",
            "records[0].name",
            "no nameserver in nameservers lists a zone containing a.example.test.",
        ),
    ];
    for (list, field, message) in cases {
        let found = problems(&format!("nameservers: {list}\n{record}"));
        assert_eq!(found.len(), 1, "{list}: {found:?}");
        assert_eq!(found[0].field, field, "{list}");
        assert!(
            found[0].message.contains(message),
            "{list}: {}",
            found[0].message
        );
    }
}

#[test]
fn a_records_zone_must_lie_within_the_zone_its_primary_lists() {
    let list = "nameservers: [{ address: 127.0.0.1, key_file: /k, zones: [example.test] }, { address: 127.0.0.2, key_file: /k, zones: [shop.example.test] }]\n";
    let with_zone = |zone: &str| {
        format!("{list}records: [{{ name: www.shop.example.test, zone: {zone}, check: {{ type: tcp, port: 1 }}, servers: [{{ name: a, addresses: [192.0.2.1] }}] }}]\n")
    };
    let found = problems(&with_zone("example.test"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "records[0].zone");
    assert!(
        found[0].message.contains("nameservers[1]"),
        "{}",
        found[0].message
    );
    let config = parse_ok(&with_zone("shop.example.test"));
    assert_eq!(config.nameserver_index(&config.records[0].name), Some(1));
}
