//! The error type of configuration loading: every problem found, each located.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with the configuration file, located at the offending key or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file (e.g. it cannot be read).
    pub line: u64,
    /// 1-based column; 0 when `line` is 0.
    pub column: u64,
    /// Path of the field, e.g. `records[0].servers[1].addresses[0]`; `(document)` for
    /// YAML syntax errors, empty when the file itself is the problem.
    pub field: String,
    /// What is wrong and what is allowed instead.
    pub message: String,
}

impl fmt::Display for Problem {
    /// `FILE:LINE:COLUMN: field.path: message`, or `FILE: message` for file-level problems.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Never empty.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
