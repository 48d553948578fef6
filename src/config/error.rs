//! Why the configuration could not be loaded. Below the file syntax and
//! the loader, which both report it.

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
}

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
        }
    }
}

impl std::error::Error for LoadError {}
