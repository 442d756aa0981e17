//! Errors and how they map to exit codes.

use std::fmt;
use std::path::PathBuf;

/// One problem with the input: where it is, what was found, what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or `--set`, `--vary`, `command line`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// Dotted path of the field (empty for whole-file problems).
    pub path: String,
    /// The offending value as written (empty when the field is missing).
    pub value: String,
    /// What was expected.
    pub expected: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": ")?;
        if !self.path.is_empty() {
            write!(f, "{}", self.path)?;
            if !self.value.is_empty() {
                write!(f, " = {}", self.value)?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.expected)
    }
}

/// Everything that can go wrong. [`Error::exit_code`] says which exit code each means.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario or an override is invalid (exit 2). Holds every problem found.
    #[error("{}", join(.0))]
    Invalid(Vec<Diagnostic>),
    /// A command-line argument is invalid (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed (exit 1).
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A replay or verification found a difference (exit 1).
    #[error("{0}")]
    Mismatch(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

fn join(d: &[Diagnostic]) -> String {
    d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n")
}

impl Error {
    /// 2 for invalid input, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) | Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    /// One diagnostic without a line.
    pub fn invalid(file: &str, path: &str, value: &str, expected: impl Into<String>) -> Error {
        Error::Invalid(vec![Diagnostic {
            file: file.to_string(),
            line: None,
            path: path.to_string(),
            value: value.to_string(),
            expected: expected.into(),
        }])
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
