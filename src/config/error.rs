//! Why the configuration could not be loaded. Below the file syntax and
//! the loader, which both report it, and the checks of options against
//! each other ([`Conflict`]).

use std::path::PathBuf;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A command-line or environment problem, reported by clap itself.
    #[error(transparent)]
    Clap(clap::Error),
    /// A config file could not be read.
    #[error("config {}", .file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A problem in a file, with its place.
    #[error("config {}:{line}: {message}", .file.display())]
    File {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// Options each valid alone but not together (a `Conflict`), set on
    /// the command line or (the variable named first) in the environment.
    #[error("{0}")]
    Invalid(String),
}

/// Options that only make sense together, set apart: a certificate
/// without its key, say. The loader places it at `option`'s origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Conflict {
    /// The long option at fault, e.g. `hsts`.
    pub option: &'static str,
    /// One line naming the options, without the origin.
    pub message: String,
}
