//! The `smtp` check: the 220 greeting, EHLO, optionally STARTTLS with a
//! verified certificate (and EHLO again), then QUIT; up when every reply
//! has its expected code (RFC 5321 §4.2, RFC 3207).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::TlsConnector;

use super::error::CheckSetupError;
use super::outcome::Step;
use super::passed::Passed;
use super::tcp::{self, describe_io_error};
use super::tls::{self, TlsContexts};
use super::tls_probe;
use crate::config::SmtpCheck;

/// The longest reply line read (RFC 5321 §4.5.3.1.5 allows 512 octets;
/// servers in the field go beyond that a little).
const MAX_LINE: u64 = 1000;
/// The most lines one reply may have (EHLO lists one per extension).
const MAX_LINES: usize = 100;
/// How many characters of a reply a detail shows.
const SHOWN_CHARS: usize = 80;

/// A prepared `smtp` check.
pub(crate) struct SmtpProbe {
    port: u16,
    ehlo: String,
    starttls: Option<StartTls>,
}

/// How the check starts TLS after STARTTLS.
struct StartTls {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

/// One reply: its code and the text of its lines.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl SmtpProbe {
    /// Prepares the check; `default_name` (the record's name) is the TLS
    /// server name when the check names none.
    pub(crate) fn new(
        spec: &SmtpCheck,
        default_name: &str,
        contexts: &TlsContexts,
    ) -> Result<SmtpProbe, CheckSetupError> {
        let starttls = match spec.starttls {
            false => None,
            true => {
                let config =
                    contexts.client_config(spec.tls_verify, spec.tls_ca_file.as_deref())?;
                let mut config = rustls::ClientConfig::clone(&config);
                config.alpn_protocols.clear();
                Some(StartTls {
                    connector: TlsConnector::from(Arc::new(config)),
                    server_name: tls::server_name(spec.tls_server_name.as_deref(), default_name)?,
                })
            }
        };
        Ok(SmtpProbe {
            port: spec.port,
            ehlo: format!("EHLO {}\r\n", spec.ehlo_name),
            starttls,
        })
    }

    /// Speaks SMTP with `address` up to QUIT; the caller bounds the time.
    pub(crate) async fn run(&self, address: IpAddr, step: &mut Step) -> Result<Passed, String> {
        *step = Step::Connecting;
        let stream = tcp::connect(SocketAddr::new(address, self.port), tcp::Then::Talk).await?;
        *step = Step::AwaitingResponse;
        let mut session = BufReader::new(stream);
        let greeting = expect(&mut session, 220, "the greeting").await?;
        let offers = self.hello(&mut session).await?;
        let Some(starttls) = &self.starttls else {
            self.quit(&mut session).await?;
            return Ok(passed(&greeting, None, None));
        };
        if !offers.lines.iter().any(|line| offers_starttls(line)) {
            return Err(format!(
                "does not offer STARTTLS (its EHLO reply: {})",
                excerpt(&offers.lines.join("; "))
            ));
        }
        send(&mut session, "STARTTLS\r\n").await?;
        expect(&mut session, 220, "STARTTLS").await?;
        // Anything already sent after the 220 would be read as if it came
        // over TLS: a server (or a man in the middle) injecting it is refused.
        if !session.buffer().is_empty() {
            return Err("sent data after its STARTTLS reply, before the TLS handshake".into());
        }
        *step = Step::TlsHandshake;
        let stream = tls_probe::handshake(
            &starttls.connector,
            &starttls.server_name,
            session.into_inner(),
        )
        .await?;
        let certificate_expires = tls_probe::peer_certificate_expiry(&stream);
        let protocol = stream
            .get_ref()
            .1
            .protocol_version()
            .and_then(|version| version.as_str())
            .unwrap_or("TLS");
        *step = Step::AwaitingResponse;
        let mut session = BufReader::new(stream);
        self.hello(&mut session).await?;
        self.quit(&mut session).await?;
        Ok(passed(&greeting, Some(protocol), certificate_expires))
    }

    /// EHLO, answered 250.
    async fn hello<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        session: &mut BufReader<S>,
    ) -> Result<Reply, String> {
        send(session, &self.ehlo).await?;
        expect(session, 250, "EHLO").await
    }

    /// QUIT, answered 221.
    async fn quit<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        session: &mut BufReader<S>,
    ) -> Result<(), String> {
        send(session, "QUIT\r\n").await?;
        expect(session, 221, "QUIT").await.map(drop)
    }
}

/// The passed check's detail: the greeting, and how TLS went.
fn passed(greeting: &Reply, tls: Option<&str>, certificate_expires: Option<SystemTime>) -> Passed {
    let first = greeting.lines.first().map(String::as_str).unwrap_or("");
    let tls = tls
        .map(|protocol| format!(", STARTTLS {protocol}"))
        .unwrap_or_default();
    Passed {
        detail: format!("220 {}{tls}", excerpt(first)),
        kept: None,
        certificate_expires,
    }
}

/// Whether an EHLO reply line names the STARTTLS extension.
fn offers_starttls(line: &str) -> bool {
    line.split_ascii_whitespace()
        .next()
        .is_some_and(|keyword| keyword.eq_ignore_ascii_case("STARTTLS"))
}

/// Sends a command.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut BufReader<S>,
    command: &str,
) -> Result<(), String> {
    session
        .get_mut()
        .write_all(command.as_bytes())
        .await
        .map_err(|error| describe_io_error(&error))
}

/// Reads one reply and requires `code`; `what` names the step in errors.
async fn expect<S: AsyncRead + Unpin>(
    session: &mut BufReader<S>,
    code: u16,
    what: &str,
) -> Result<Reply, String> {
    let reply = read_reply(session).await?;
    if reply.code != code {
        let text = reply.lines.first().map(String::as_str).unwrap_or("");
        return Err(format!(
            "answered {what} with {} {}, expected {code}",
            reply.code,
            excerpt(text)
        ));
    }
    Ok(reply)
}

/// Reads one possibly multi-line reply (`250-...` lines, then `250 ...`).
async fn read_reply<S: AsyncRead + Unpin>(session: &mut BufReader<S>) -> Result<Reply, String> {
    let mut lines = Vec::new();
    let mut first_code = None;
    loop {
        let line = read_line(session).await?;
        let (code, last, text) = parse_line(&line)?;
        if *first_code.get_or_insert(code) != code {
            return Err(format!(
                "changed the code in the middle of a reply: {}",
                excerpt(&line)
            ));
        }
        lines.push(text.to_owned());
        if lines.len() > MAX_LINES {
            return Err(format!("sent a reply of more than {MAX_LINES} lines"));
        }
        if last {
            return Ok(Reply { code, lines });
        }
    }
}

/// One CRLF- (or LF-) terminated line, at most [`MAX_LINE`] octets.
async fn read_line<S: AsyncRead + Unpin>(session: &mut BufReader<S>) -> Result<String, String> {
    let mut line = Vec::new();
    let read = (&mut *session)
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|error| describe_io_error(&error))?;
    if read == 0 {
        return Err("closed the connection instead of replying".into());
    }
    if line.last() != Some(&b'\n') {
        return Err(if read as u64 >= MAX_LINE {
            format!("sent a reply line longer than {MAX_LINE} octets")
        } else {
            "closed the connection in the middle of a reply".into()
        });
    }
    let text = String::from_utf8_lossy(&line);
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// A reply line's code, whether it is the last line, and its text.
fn parse_line(line: &str) -> Result<(u16, bool, &str), String> {
    let malformed = || {
        format!(
            "sent something that is not an SMTP reply: {}",
            excerpt(line)
        )
    };
    let code = line.get(..3).ok_or_else(malformed)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'5').contains(&code.as_bytes()[0]) {
        return Err(malformed());
    }
    let code: u16 = code.parse().map_err(|_| malformed())?;
    match line.as_bytes().get(3) {
        None => Ok((code, true, "")),
        Some(b' ') => Ok((code, true, &line[4..])),
        Some(b'-') => Ok((code, false, &line[4..])),
        Some(_) => Err(malformed()),
    }
}

/// `text` cut to [`SHOWN_CHARS`] characters, control characters escaped.
fn excerpt(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(SHOWN_CHARS)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().count() > SHOWN_CHARS {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_are_parsed_with_their_continuation_mark() {
        assert_eq!(
            parse_line("250-mx.example.test").unwrap(),
            (250, false, "mx.example.test")
        );
        assert_eq!(parse_line("250 STARTTLS").unwrap(), (250, true, "STARTTLS"));
        assert_eq!(parse_line("221").unwrap(), (221, true, ""));
        for bad in ["", "25", "HTTP/1.1 200 OK", "250x", "650 no", "2a0 x"] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn starttls_is_found_among_extensions_in_any_case() {
        assert!(offers_starttls("STARTTLS"));
        assert!(offers_starttls("starttls"));
        assert!(!offers_starttls("SIZE 10240000"));
        assert!(!offers_starttls("STARTTLSX"));
    }

    #[tokio::test]
    async fn a_multi_line_reply_is_read_whole_and_bounded() {
        let mut session =
            BufReader::new(&b"250-first\r\n250-SIZE 1000\r\n250 STARTTLS\r\nnext"[..]);
        let reply = read_reply(&mut session).await.unwrap();
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines, ["first", "SIZE 1000", "STARTTLS"]);
        let long = format!("220 {}\r\n", "x".repeat(2000));
        let mut session = BufReader::new(long.as_bytes());
        let error = read_reply(&mut session).await.unwrap_err();
        assert_eq!(error, "sent a reply line longer than 1000 octets");
        let endless = "250-x\r\n".repeat(200);
        let mut session = BufReader::new(endless.as_bytes());
        let error = read_reply(&mut session).await.unwrap_err();
        assert_eq!(error, "sent a reply of more than 100 lines");
        let mut session = BufReader::new(&b"220 half"[..]);
        let error = read_reply(&mut session).await.unwrap_err();
        assert_eq!(error, "closed the connection in the middle of a reply");
    }

    #[test]
    fn excerpts_escape_and_cut() {
        assert_eq!(excerpt("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert!(excerpt(&"y".repeat(200)).ends_with('…'));
    }
}
