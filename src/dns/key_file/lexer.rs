//! Tokens of BIND's configuration syntax, each with its line and column.
//!
//! Comments (`//` and `#` to the end of the line, `/* ... */` over several
//! lines) and whitespace separate tokens and are otherwise dropped.

use super::KeyFileError;

/// The byte-order mark some editors put at the start of a file.
const BYTE_ORDER_MARK: &str = "\u{feff}";

/// One token. Text borrows from the input; nothing is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// An unquoted word such as `key`, `hmac-sha256` or `update-key`.
    Word(&'a str),
    /// The raw text between double quotes; backslash escapes are left in.
    Quoted(&'a str),
    /// `{`
    Open,
    /// `}`
    Close,
    /// `;`
    Semicolon,
    /// The end of the input.
    End,
}

impl Token<'_> {
    /// What the token is, for error messages. Never its text: it may be a secret.
    pub(super) fn description(&self) -> &'static str {
        match self {
            Token::Word(_) => "a word",
            Token::Quoted(_) => "a quoted string",
            Token::Open => "`{`",
            Token::Close => "`}`",
            Token::Semicolon => "`;`",
            Token::End => "the end of the file",
        }
    }
}

/// A token and where it starts (1-based line and column, columns count characters).
#[derive(Debug, Clone, Copy)]
pub(super) struct Located<'a> {
    pub(super) token: Token<'a>,
    pub(super) line: usize,
    pub(super) column: usize,
}

impl Located<'_> {
    /// An error pointing at this token.
    pub(super) fn error(&self, message: impl Into<String>) -> KeyFileError {
        KeyFileError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

/// Splits text into [`Token`]s. Cloning it gives a cheap look-ahead.
#[derive(Debug, Clone)]
pub(super) struct Lexer<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `text` (a leading byte-order mark is skipped).
    pub(super) fn new(text: &'a str) -> Lexer<'a> {
        let offset = if text.starts_with(BYTE_ORDER_MARK) {
            BYTE_ORDER_MARK.len()
        } else {
            0
        };
        Lexer {
            text,
            offset,
            line: 1,
            column: 1,
        }
    }

    /// The next token, [`Token::End`] at the end of the input.
    pub(super) fn next_token(&mut self) -> Result<Located<'a>, KeyFileError> {
        self.skip_blanks_and_comments()?;
        let (line, column) = (self.line, self.column);
        let token = match self.peek(0) {
            None => Token::End,
            Some(b'{') => self.single(Token::Open),
            Some(b'}') => self.single(Token::Close),
            Some(b';') => self.single(Token::Semicolon),
            Some(b'"') => self.quoted(line, column)?,
            Some(_) => self.word(),
        };
        Ok(Located {
            token,
            line,
            column,
        })
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.as_bytes().get(self.offset + ahead).copied()
    }

    /// Moves one byte forward, keeping line and column (in characters) up to date.
    fn advance(&mut self) {
        let byte = self.text.as_bytes()[self.offset];
        self.offset += 1;
        if byte == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if byte & 0xC0 != 0x80 {
            self.column += 1;
        }
    }

    fn single(&mut self, token: Token<'a>) -> Token<'a> {
        self.advance();
        token
    }

    fn skip_blanks_and_comments(&mut self) -> Result<(), KeyFileError> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(byte), _) if byte.is_ascii_whitespace() => self.advance(),
                (Some(b'#'), _) | (Some(b'/'), Some(b'/')) => self.skip_to_end_of_line(),
                (Some(b'/'), Some(b'*')) => self.skip_block_comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn skip_to_end_of_line(&mut self) {
        while self.peek(0).is_some_and(|byte| byte != b'\n') {
            self.advance();
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), KeyFileError> {
        let (line, column) = (self.line, self.column);
        self.advance();
        self.advance();
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(b'*'), Some(b'/')) => {
                    self.advance();
                    self.advance();
                    return Ok(());
                }
                (Some(_), _) => self.advance(),
                (None, _) => {
                    return Err(KeyFileError {
                        line,
                        column,
                        message: "the comment opened here with `/*` is never closed: add `*/`"
                            .to_string(),
                    })
                }
            }
        }
    }

    /// A double-quoted string on one line; `\` escapes the next character.
    fn quoted(&mut self, line: usize, column: usize) -> Result<Token<'a>, KeyFileError> {
        self.advance();
        let start = self.offset;
        loop {
            match self.peek(0) {
                Some(b'"') => {
                    let raw = &self.text[start..self.offset];
                    self.advance();
                    return Ok(Token::Quoted(raw));
                }
                Some(b'\\') if self.peek(1).is_some_and(|byte| byte != b'\n') => {
                    self.advance();
                    self.advance();
                }
                Some(b'\n') | None => {
                    return Err(KeyFileError {
                        line,
                        column,
                        message: "the string opened here with `\"` is not closed on its line: \
                                  add the closing `\"`"
                            .to_string(),
                    })
                }
                Some(_) => self.advance(),
            }
        }
    }

    /// Everything up to whitespace, `{`, `}`, `;`, `"` or the start of a comment.
    fn word(&mut self) -> Token<'a> {
        let start = self.offset;
        while let Some(byte) = self.peek(0) {
            let comment =
                byte == b'#' || (byte == b'/' && matches!(self.peek(1), Some(b'/' | b'*')));
            if byte.is_ascii_whitespace() || b"{};\"".contains(&byte) || comment {
                break;
            }
            self.advance();
        }
        Token::Word(&self.text[start..self.offset])
    }
}

/// The text of a quoted string with its backslash escapes resolved.
pub(super) fn unescape(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    let mut characters = raw.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => text.extend(characters.next()),
            other => text.push(other),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(Token<'_>, usize, usize)> {
        let mut lexer = Lexer::new(text);
        let mut found = Vec::new();
        loop {
            let located = lexer.next_token().unwrap();
            found.push((located.token, located.line, located.column));
            if located.token == Token::End {
                return found;
            }
        }
    }

    #[test]
    fn splits_words_strings_and_punctuation_with_positions() {
        let found = tokens("key \"a b\" {\n\talgorithm x;};");
        assert_eq!(
            found,
            vec![
                (Token::Word("key"), 1, 1),
                (Token::Quoted("a b"), 1, 5),
                (Token::Open, 1, 11),
                (Token::Word("algorithm"), 2, 2),
                (Token::Word("x"), 2, 12),
                (Token::Semicolon, 2, 13),
                (Token::Close, 2, 14),
                (Token::Semicolon, 2, 15),
                (Token::End, 2, 16),
            ]
        );
    }

    #[test]
    fn drops_every_comment_style_even_inside_words() {
        let found = tokens("a// one\nb# two\nc/* three\n four */d");
        let words: Vec<_> = found.iter().map(|(token, _, _)| *token).collect();
        assert_eq!(
            words,
            [
                Token::Word("a"),
                Token::Word("b"),
                Token::Word("c"),
                Token::Word("d"),
                Token::End
            ]
        );
        assert_eq!(found[3].1, 4, "d is on line 4");
    }

    #[test]
    fn counts_columns_in_characters_and_skips_a_byte_order_mark() {
        let found = tokens("\u{feff}é x");
        assert_eq!(found[0], (Token::Word("é"), 1, 1));
        assert_eq!(found[1], (Token::Word("x"), 1, 3));
    }

    #[test]
    fn reports_unclosed_strings_and_comments_where_they_open() {
        let mut lexer = Lexer::new("a\n  \"abc\n\"");
        lexer.next_token().unwrap();
        let error = lexer.next_token().unwrap_err();
        assert_eq!((error.line, error.column), (2, 3));
        let error = Lexer::new("\n /* x").next_token().unwrap_err();
        assert_eq!((error.line, error.column), (2, 2));
        assert!(error.message.contains("*/"), "{}", error.message);
    }

    #[test]
    fn keeps_escaped_quotes_inside_strings() {
        let found = tokens(r#""a\"b" c"#);
        assert_eq!(found[0].0, Token::Quoted(r#"a\"b"#));
        assert_eq!(unescape(r#"a\"b\\"#), r#"a"b\"#);
    }
}
