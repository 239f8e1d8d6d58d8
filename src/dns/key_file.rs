//! BIND `key` statements, as `tsig-keygen` and `ddns-confgen` write them.
//!
//! ```text
//! key "update-key" {
//!     algorithm hmac-sha256;
//!     secret "AevIgbGFv4w8geUyeBrIF9Q+1YdQ1JGVfuzb/eqKlFY=";
//! };
//! ```
//!
//! The syntax is BIND's named.conf syntax: the key name and the algorithm
//! quoted or not, the secret quoted, the clauses in any order, comments
//! (`//`, `#`, `/* ... */`) and whitespace anywhere, several keys per file.
//!
//! Any other top-level statement (`zone`, `options`, the `update-policy`
//! block ddns-confgen prints) is skipped up to its `;`, with its braces
//! balanced; a last statement that reaches the end of the file without `;`
//! (ddns-confgen's closing `nsupdate -k <keyfile>` line) is skipped too.
//! Keys inside other statements (a `view`) are not read.
//!
//! Errors give line and column and say what was expected. They describe the
//! token that was found ("a quoted string"), never its text, because that
//! text may be a secret.

mod lexer;

use std::fmt;

use lexer::{unescape, Lexer, Located, Token};

use super::Secret;

/// One `key` statement as written in the file, not yet checked.
///
/// `Debug` redacts the secret, and the algorithm too unless it is shaped like
/// an algorithm name: a secret written in the wrong clause must not show.
#[derive(Clone)]
pub struct KeyEntry {
    /// The key name as written, without quotes (e.g. `update-key` or `ddns-key.example.test`).
    pub name: String,
    /// The algorithm name as written (e.g. `hmac-sha256`). It is whatever the
    /// file holds in that place: check [`looks_like_algorithm_name`] before showing it.
    pub algorithm: String,
    /// The base64 text of the secret, undecoded ([`Secret::decode_base64`] decodes it).
    pub secret: Secret,
    /// Line of the `key` keyword (1-based).
    pub line: usize,
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = format_args!("<hidden: not an algorithm name>");
        let algorithm: &dyn fmt::Debug = if looks_like_algorithm_name(&self.algorithm) {
            &self.algorithm
        } else {
            &hidden
        };
        formatter
            .debug_struct("KeyEntry")
            .field("name", &self.name)
            .field("algorithm", algorithm)
            .field("secret", &self.secret)
            .field("line", &self.line)
            .finish()
    }
}

/// Whether `text` is shaped like a TSIG algorithm name (`hmac-…`, `gss-tsig`),
/// accepted or not. Other text is never shown: it may be a misplaced secret.
pub fn looks_like_algorithm_name(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("hmac-") || lower.starts_with("gss-tsig") || lower == "gss.microsoft.com"
}

/// A syntax error in a key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct KeyFileError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Reads every top-level `key` statement of `text`, in file order.
pub fn parse_key_file(text: &str) -> Result<Vec<KeyEntry>, KeyFileError> {
    let mut parser = Parser {
        lexer: Lexer::new(text),
    };
    let mut entries = Vec::new();
    loop {
        let first = parser.lexer.next_token()?;
        match first.token {
            Token::End => return Ok(entries),
            Token::Word(word) if word.eq_ignore_ascii_case("key") => {
                entries.push(parser.key_statement(&first)?);
            }
            Token::Word(_) | Token::Quoted(_) => parser.skip_statement(&first)?,
            Token::Semicolon => {}
            Token::Open => {
                return Err(
                    first.error("a block `{` must follow a statement name, e.g. `key \"name\" {`")
                )
            }
            Token::Close => return Err(first.error("unexpected `}`: no block is open here")),
        }
    }
}

/// The clauses of one key statement, as they are found.
#[derive(Default)]
struct Clauses {
    algorithm: Option<String>,
    secret: Option<Secret>,
}

struct Parser<'a> {
    lexer: Lexer<'a>,
}

impl<'a> Parser<'a> {
    /// `key NAME { algorithm ALG; secret "BASE64"; };` after the `key` keyword.
    fn key_statement(&mut self, start: &Located<'a>) -> Result<KeyEntry, KeyFileError> {
        let name = self.key_name()?;
        self.expect(
            Token::Open,
            &format!("`{{` after the name of key \"{name}\""),
        )?;
        let mut clauses = Clauses::default();
        loop {
            let token = self.lexer.next_token()?;
            match token.token {
                Token::Close => break,
                Token::Word(word) if word.eq_ignore_ascii_case("algorithm") => {
                    refuse_repeat(clauses.algorithm.is_some(), &token, "algorithm", &name)?;
                    clauses.algorithm = Some(self.algorithm_value(&name)?);
                }
                Token::Word(word) if word.eq_ignore_ascii_case("secret") => {
                    refuse_repeat(clauses.secret.is_some(), &token, "secret", &name)?;
                    clauses.secret = Some(self.secret_value(&name)?);
                }
                Token::Word(_) => {
                    return Err(token.error(format!(
                    "unknown clause in key \"{name}\": a key holds only `algorithm` and `secret`"
                )))
                }
                other => {
                    return Err(token.error(format!(
                        "expected `algorithm`, `secret` or the closing `}}` of key \"{name}\" \
                         (opened on line {}), found {}",
                        start.line,
                        other.description()
                    )))
                }
            }
        }
        self.expect(
            Token::Semicolon,
            &format!("`;` after the `}}` that closes key \"{name}\""),
        )?;
        finish_entry(name, clauses, start)
    }

    /// The key name, quoted or not, non-empty.
    fn key_name(&mut self) -> Result<String, KeyFileError> {
        let token = self.lexer.next_token()?;
        let name = match token.token {
            Token::Word(word) => word.to_string(),
            Token::Quoted(raw) => unescape(raw),
            other => {
                return Err(token.error(format!(
                    "expected the key name after `key`, e.g. `key \"update-key\" {{`, found {}",
                    other.description()
                )))
            }
        };
        if name.trim().is_empty() {
            return Err(token
                .error("the key name is empty: give the key a name, e.g. `key \"update-key\"`"));
        }
        Ok(name)
    }

    /// `ALG;` after `algorithm`, the name quoted or not.
    fn algorithm_value(&mut self, key: &str) -> Result<String, KeyFileError> {
        let token = self.lexer.next_token()?;
        let algorithm = match token.token {
            Token::Word(word) => word.to_string(),
            Token::Quoted(raw) => unescape(raw),
            other => {
                return Err(token.error(format!(
                    "expected the algorithm name (e.g. hmac-sha256) after `algorithm` in key \"{key}\", found {}",
                    other.description()
                )))
            }
        };
        self.expect(
            Token::Semicolon,
            &format!("`;` after the algorithm of key \"{key}\""),
        )?;
        Ok(algorithm)
    }

    /// `"BASE64";` after `secret`. The text goes straight into a [`Secret`].
    fn secret_value(&mut self, key: &str) -> Result<Secret, KeyFileError> {
        let token = self.lexer.next_token()?;
        let Token::Quoted(raw) = token.token else {
            return Err(token.error(format!(
                "expected the secret as a quoted base64 string after `secret` in key \"{key}\", found {}",
                token.token.description()
            )));
        };
        let secret = Secret::new(raw.as_bytes().to_vec());
        self.expect(
            Token::Semicolon,
            &format!("`;` after the secret of key \"{key}\""),
        )?;
        Ok(secret)
    }

    /// Reads one token and fails unless it is `wanted` (a punctuation token).
    fn expect(&mut self, wanted: Token<'_>, what: &str) -> Result<(), KeyFileError> {
        let token = self.lexer.next_token()?;
        if token.token == wanted {
            Ok(())
        } else {
            Err(token.error(format!(
                "expected {what}, found {}",
                token.token.description()
            )))
        }
    }

    /// Skips a statement that is not `key`: up to its `;`, braces balanced.
    fn skip_statement(&mut self, first: &Located<'a>) -> Result<(), KeyFileError> {
        let mut open_blocks: Vec<Located<'a>> = Vec::new();
        loop {
            let token = self.lexer.next_token()?;
            match token.token {
                Token::End => {
                    return match open_blocks.last() {
                        None => Ok(()),
                        Some(block) => Err(block.error(
                            "the block opened here with `{` is never closed: add the matching `};`",
                        )),
                    }
                }
                Token::Open => open_blocks.push(token),
                Token::Close if open_blocks.pop().is_none() => {
                    return Err(token.error("unexpected `}`: no block is open here"))
                }
                Token::Semicolon if open_blocks.is_empty() => return Ok(()),
                Token::Word(word)
                    if open_blocks.is_empty()
                        && word.eq_ignore_ascii_case("key")
                        && self.key_statement_follows() =>
                {
                    return Err(first.error(format!(
                        "the statement starting here has no closing `;` before the `key` \
                         statement on line {}: add `;`",
                        token.line
                    )))
                }
                _ => {}
            }
        }
    }

    /// Whether the next tokens are `NAME {`, i.e. a `key` keyword starts a key statement.
    fn key_statement_follows(&self) -> bool {
        let mut ahead = self.lexer.clone();
        let name = ahead.next_token().map(|located| located.token);
        let open = ahead.next_token().map(|located| located.token);
        matches!(name, Ok(Token::Word(_) | Token::Quoted(_))) && open == Ok(Token::Open)
    }
}

/// Fails on a second `algorithm` or `secret` clause.
fn refuse_repeat(
    seen: bool,
    token: &Located<'_>,
    clause: &str,
    key: &str,
) -> Result<(), KeyFileError> {
    if seen {
        Err(token.error(format!(
            "key \"{key}\" has a second `{clause}` clause: keep only one"
        )))
    } else {
        Ok(())
    }
}

/// A [`KeyEntry`] once both clauses are there.
fn finish_entry(
    name: String,
    clauses: Clauses,
    start: &Located<'_>,
) -> Result<KeyEntry, KeyFileError> {
    let Some(algorithm) = clauses.algorithm else {
        return Err(start.error(format!(
            "key \"{name}\" has no `algorithm` clause: add `algorithm hmac-sha256;`"
        )));
    };
    let Some(secret) = clauses.secret else {
        return Err(start.error(format!(
            "key \"{name}\" has no `secret` clause: add `secret \"...\";` with the base64 secret \
             tsig-keygen wrote"
        )));
    };
    Ok(KeyEntry {
        name,
        algorithm,
        secret,
        line: start.line,
    })
}

#[cfg(test)]
mod tests;
