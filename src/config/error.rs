//! Why the configuration could not be loaded. Below the file syntax and
//! the loader, which both report it, and the checks of options against
//! each other ([`Conflict`]).

use std::fmt;
use std::path::PathBuf;

/// Why the configuration could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// A command-line or environment problem, reported by clap itself.
    Clap(clap::Error),
    /// A problem in a file, with its place.
    File {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// Options each valid alone but not together ([`Conflict`]), set on
    /// the command line or (the variable named first) in the environment.
    Invalid(String),
}

/// Options that only make sense together, set apart: a certificate
/// without its key, say. The loader places it at `option`'s origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The long option at fault, e.g. `hsts`.
    pub option: &'static str,
    /// One line naming the options, without the origin.
    pub message: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Conflict {}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Clap(err) => write!(f, "{}", err.to_string().lines().next().unwrap_or("")),
            LoadError::File {
                file,
                line: 0,
                message,
            } => write!(f, "config {}: {message}", file.display()),
            LoadError::File {
                file,
                line,
                message,
            } => write!(f, "config {}:{line}: {message}", file.display()),
            LoadError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for LoadError {}
