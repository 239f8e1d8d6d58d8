//! The `dns` check: one query to the address over UDP, asked again over TCP
//! when the answer is truncated; up when the response code is the expected
//! one and, if configured, an answer record holds the expected value.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::Record;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

use super::outcome::Step;
use super::passed::Passed;
use super::tcp::{connect, describe_io_error, Then};
use crate::config::DnsCheck;
use crate::vocabulary::rcode_name;

/// The largest UDP answer read. Without EDNS a server sends at most 512
/// octets over UDP; a larger datagram is cut here and refused as malformed.
const MAX_UDP_ANSWER: usize = 4096;
/// How many answer values a failed check's detail lists.
const SHOWN_VALUES: usize = 4;
/// How many characters of one value a detail shows.
const SHOWN_VALUE_CHARS: usize = 64;

/// A prepared `dns` check.
#[derive(Debug)]
pub(crate) struct DnsProbe {
    spec: DnsCheck,
}

impl DnsProbe {
    /// The probe for `spec`.
    pub(crate) fn new(spec: &DnsCheck) -> DnsProbe {
        DnsProbe { spec: spec.clone() }
    }

    /// Asks `address` once; the caller bounds the time.
    pub(crate) async fn run(&self, address: IpAddr, step: &mut Step) -> Result<Passed, String> {
        let server = SocketAddr::new(address, self.spec.port);
        let id = random_id();
        let query = self.query(id)?;
        *step = Step::AwaitingResponse;
        let mut answer = ask_over_udp(server, &query, id).await?;
        let mut over = "";
        if answer.metadata.truncation {
            *step = Step::Connecting;
            let stream = connect(server, Then::Talk).await?;
            *step = Step::AwaitingResponse;
            answer = ask_over_tcp(stream, &query, id).await?;
            over = " over TCP";
        }
        self.matches(&answer, id)?;
        let detail = self.judge(&answer)?;
        Ok(Passed {
            detail: format!("{detail}{over}"),
            kept: None,
            certificate_expires: None,
        })
    }

    /// The query's wire form.
    fn query(&self, id: u16) -> Result<Vec<u8>, String> {
        let mut message = Message::new(id, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = self.spec.recursion_desired;
        message.add_query(Query::query(
            self.spec.query_name.clone(),
            self.spec.query_type,
        ));
        message
            .to_vec()
            .map_err(|error| format!("cannot encode the query: {error}"))
    }

    /// Refuses an answer to another question than ours.
    fn matches(&self, answer: &Message, id: u16) -> Result<(), String> {
        let question = answer.queries.first();
        let same_question = question.is_some_and(|question| {
            question.query_type() == self.spec.query_type
                && question.name().eq_ignore_root(&self.spec.query_name)
        });
        if answer.metadata.id != id || answer.metadata.message_type != MessageType::Response {
            return Err("answered with a message that is not the answer to the query".into());
        }
        if !same_question {
            return Err(format!(
                "answered another question than {} {}",
                self.spec.query_name, self.spec.query_type
            ));
        }
        Ok(())
    }

    /// The detail of an answer that passes, or why it does not.
    fn judge(&self, answer: &Message) -> Result<String, String> {
        let rcode = answer.metadata.response_code;
        if rcode != self.spec.expect_rcode {
            return Err(format!(
                "answered {}, expected {}",
                rcode_name(rcode),
                rcode_name(self.spec.expect_rcode)
            ));
        }
        let values: Vec<String> = answer
            .answers
            .iter()
            .filter(|record| self.is_answer(record))
            .map(|record| record.data.to_string())
            .collect();
        let Some(expected) = &self.spec.expect_answer else {
            return Ok(format!("{}, {} answer(s)", rcode_name(rcode), values.len()));
        };
        if values.iter().any(|value| same_value(value, expected)) {
            return Ok(format!("{}, answer {expected} found", rcode_name(rcode)));
        }
        Err(format!(
            "answered {} without {expected}: {}",
            rcode_name(rcode),
            excerpt(&values)
        ))
    }

    /// Whether `record` answers our question: the asked type, at the asked
    /// name or at the end of a CNAME chain (so any name, as resolvers answer).
    fn is_answer(&self, record: &Record) -> bool {
        record.record_type() == self.spec.query_type
    }
}

/// Whether an answer value is the expected one: addresses compared as
/// addresses, names and text without regard to case or a trailing dot.
fn same_value(value: &str, expected: &str) -> bool {
    if let (Ok(value), Ok(expected)) = (value.parse::<IpAddr>(), expected.parse::<IpAddr>()) {
        return value == expected;
    }
    let trim = |text: &str| text.strip_suffix('.').unwrap_or(text).to_owned();
    trim(value).eq_ignore_ascii_case(&trim(expected))
}

/// The first few values, each cut short, for a failed check's detail.
fn excerpt(values: &[String]) -> String {
    if values.is_empty() {
        return "no answer of that type".to_owned();
    }
    let shown: Vec<String> = values
        .iter()
        .take(SHOWN_VALUES)
        .map(|value| {
            let mut shown: String = value.chars().take(SHOWN_VALUE_CHARS).collect();
            if shown.len() < value.len() {
                shown.push('…');
            }
            shown
        })
        .collect();
    let more = values.len().saturating_sub(SHOWN_VALUES);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("answers are {}{more}", shown.join(", "))
}

/// Sends `query` over UDP and returns the first answer with our ID.
/// Datagrams with another ID are ignored (a late answer to someone else).
async fn ask_over_udp(server: SocketAddr, query: &[u8], id: u16) -> Result<Message, String> {
    let local: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let io = |error: std::io::Error| describe_io_error(&error);
    let socket = UdpSocket::bind(SocketAddr::new(local, 0))
        .await
        .map_err(io)?;
    // Connected: only the server's datagrams arrive, and an ICMP port
    // unreachable comes back as "connection refused".
    socket.connect(server).await.map_err(io)?;
    socket.send(query).await.map_err(io)?;
    let mut buffer = vec![0u8; MAX_UDP_ANSWER];
    loop {
        let len = socket.recv(&mut buffer).await.map_err(io)?;
        let datagram = &buffer[..len];
        if datagram.len() >= 2 && u16::from_be_bytes([datagram[0], datagram[1]]) != id {
            continue;
        }
        return parse(datagram);
    }
}

/// Sends `query` over `stream` and reads one length-prefixed answer.
async fn ask_over_tcp(
    mut stream: tokio::net::TcpStream,
    query: &[u8],
    id: u16,
) -> Result<Message, String> {
    let io = |error: std::io::Error| describe_io_error(&error);
    let length = u16::try_from(query.len()).map_err(|_| "the query is too long".to_owned())?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(io)?;
    let length = stream.read_u16().await.map_err(io)?;
    let mut answer = vec![0u8; usize::from(length)];
    stream.read_exact(&mut answer).await.map_err(io)?;
    let message = parse(&answer)?;
    if message.metadata.id != id {
        return Err("answered over TCP with another query's ID".into());
    }
    Ok(message)
}

/// Decodes an answer; the error is a detail for the outcome.
fn parse(bytes: &[u8]) -> Result<Message, String> {
    Message::from_vec(bytes).map_err(|error| format!("answered with a malformed message: {error}"))
}

/// A random query ID, so that a stray datagram is not taken for the answer.
fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("system random source");
    u16::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::{Name, RData, RecordType};
    use std::net::Ipv4Addr;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn spec(expect_answer: Option<&str>) -> DnsCheck {
        DnsCheck {
            port: 53,
            query_name: name("www.example.test."),
            query_type: RecordType::A,
            expect_rcode: ResponseCode::NoError,
            expect_answer: expect_answer.map(str::to_owned),
            recursion_desired: false,
        }
    }

    fn answer(rcode: ResponseCode, addresses: &[Ipv4Addr]) -> Message {
        let mut message = Message::new(7, MessageType::Response, OpCode::Query);
        message.metadata.response_code = rcode;
        message.add_query(Query::query(name("WWW.example.test."), RecordType::A));
        for address in addresses {
            message.add_answer(Record::from_rdata(
                name("www.example.test."),
                60,
                RData::A((*address).into()),
            ));
        }
        message
    }

    #[test]
    fn passes_on_the_expected_rcode_and_counts_answers() {
        let probe = DnsProbe::new(&spec(None));
        let ok = answer(ResponseCode::NoError, &[Ipv4Addr::new(192, 0, 2, 1)]);
        assert_eq!(probe.judge(&ok).unwrap(), "NOERROR, 1 answer(s)");
        let failed = answer(ResponseCode::ServFail, &[]);
        assert_eq!(
            probe.judge(&failed).unwrap_err(),
            "answered SERVFAIL, expected NOERROR"
        );
    }

    #[test]
    fn expected_answers_are_compared_as_values_not_substrings() {
        let probe = DnsProbe::new(&spec(Some("192.0.2.1")));
        let ten = answer(ResponseCode::NoError, &[Ipv4Addr::new(192, 0, 2, 10)]);
        assert_eq!(
            probe.judge(&ten).unwrap_err(),
            "answered NOERROR without 192.0.2.1: answers are 192.0.2.10"
        );
        let both = answer(
            ResponseCode::NoError,
            &[Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 1)],
        );
        assert_eq!(
            probe.judge(&both).unwrap(),
            "NOERROR, answer 192.0.2.1 found"
        );
        let none = answer(ResponseCode::NoError, &[]);
        assert!(probe
            .judge(&none)
            .unwrap_err()
            .ends_with("no answer of that type"));
    }

    #[test]
    fn values_match_without_case_or_trailing_dot_and_addresses_canonically() {
        assert!(same_value("ns1.example.test.", "NS1.Example.Test"));
        assert!(same_value("2001:db8::1", "2001:DB8:0:0::1"));
        assert!(!same_value("192.0.2.10", "192.0.2.1"));
        assert!(same_value("v=spf1 -all", "V=SPF1 -ALL"));
    }

    #[test]
    fn a_long_list_of_values_is_cut_short() {
        let values: Vec<String> = (0..10).map(|n| format!("{n}").repeat(100)).collect();
        let text = excerpt(&values);
        assert!(text.ends_with(" and 6 more"), "{text}");
        assert!(text.len() < 4 * (SHOWN_VALUE_CHARS + 8) + 40, "{text}");
    }

    #[test]
    fn an_answer_to_another_question_or_id_is_refused() {
        let probe = DnsProbe::new(&spec(None));
        let ok = answer(ResponseCode::NoError, &[]);
        assert!(
            probe.matches(&ok, 7).is_ok(),
            "the name's case does not matter"
        );
        assert!(probe.matches(&ok, 8).is_err());
        let mut other = Message::new(7, MessageType::Response, OpCode::Query);
        other.add_query(Query::query(name("mail.example.test."), RecordType::A));
        assert!(probe
            .matches(&other, 7)
            .unwrap_err()
            .contains("another question"));
    }

    #[test]
    fn the_query_asks_what_is_configured() {
        let mut spec = spec(None);
        spec.recursion_desired = true;
        spec.query_type = RecordType::SOA;
        let bytes = DnsProbe::new(&spec).query(42).unwrap();
        let query = Message::from_vec(&bytes).unwrap();
        assert_eq!(query.metadata.id, 42);
        assert!(query.metadata.recursion_desired);
        assert_eq!(query.queries[0].query_type(), RecordType::SOA);
        assert_eq!(query.queries[0].name(), &name("www.example.test."));
    }
}
