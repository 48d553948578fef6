//! Command line and environment configuration.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};

/// What to answer for a directory that has no `index.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Autoindex {
    /// 404 Not Found: the directory's contents stay private.
    Off,
    /// 403 Forbidden, as many course test suites expect.
    Forbid,
    /// An HTML listing of the directory.
    On,
}

/// Which symlinks below the root may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Symlinks {
    /// Only those whose target resolves inside the root.
    Inside,
    /// None: any symlink on the path answers 403.
    Never,
    /// All, wherever they point (the root is then no wall for symlinks).
    Any,
}

/// staticd: a small, fast, careful HTTP/1.1 static file server.
#[derive(Debug, Clone, Parser)]
#[command(name = "staticd", version, about, max_term_width = 100)]
pub struct Config {
    /// Document root to serve
    #[arg(
        short = 'r',
        long,
        env = "STATICD_ROOT",
        default_value = ".",
        value_name = "DIR"
    )]
    pub root: PathBuf,

    /// Address to listen on (IPv4 or IPv6)
    #[arg(
        short = 'b',
        long,
        env = "STATICD_BIND",
        default_value = "0.0.0.0",
        value_name = "ADDR"
    )]
    pub bind: IpAddr,

    /// Port to listen on; 0 picks a free one (the log line says which)
    #[arg(
        short = 'p',
        long,
        env = "STATICD_PORT",
        default_value_t = 8080,
        value_name = "PORT"
    )]
    pub port: u16,

    /// Worker threads [default: number of CPUs]
    #[arg(short = 'w', long, env = "STATICD_WORKERS", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// A directory without index.html: off = 404, forbid = 403, on = HTML listing
    #[arg(long, env = "STATICD_AUTOINDEX", value_enum, default_value_t = Autoindex::Off,
          value_name = "MODE")]
    pub autoindex: Autoindex,

    /// Symlinks followed: inside = only those resolving inside the root, never, any
    #[arg(long, env = "STATICD_SYMLINKS", value_enum, default_value_t = Symlinks::Inside,
          value_name = "POLICY")]
    pub symlinks: Symlinks,
}

impl Config {
    /// The defaults, serving `root` on an ephemeral loopback port; for
    /// embedding and tests.
    pub fn for_root(root: impl Into<PathBuf>) -> Config {
        Config {
            root: root.into(),
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            workers: None,
            autoindex: Autoindex::Off,
            symlinks: Symlinks::Inside,
        }
    }

    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// Worker thread count: the flag, or one per available CPU.
    pub fn worker_threads(&self) -> usize {
        self.workers.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        )
    }
}

/// Why the server could not start; shown to a person as one line.
#[derive(Debug)]
pub enum StartError {
    Root(PathBuf, io::Error),
    RootNotDirectory(PathBuf),
    Bind(SocketAddr, io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Root(path, err) => {
                write!(f, "document root {}: {}", path.display(), plain(err))
            }
            StartError::RootNotDirectory(path) => {
                write!(f, "document root {} is not a directory", path.display())
            }
            StartError::Bind(addr, err) => write!(f, "cannot listen on {addr}: {}", plain(err)),
        }
    }
}

impl std::error::Error for StartError {}

/// An io::Error's message without the "(os error N)" suffix.
fn plain(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Resolves the document root to its canonical path, refusing anything
/// that is not an existing directory.
pub fn canonical_root(root: &Path) -> Result<PathBuf, StartError> {
    let real = std::fs::canonicalize(root).map_err(|e| StartError::Root(root.to_owned(), e))?;
    if !real.is_dir() {
        return Err(StartError::RootNotDirectory(root.to_owned()));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_names() {
        let c = Config::try_parse_from([
            "staticd",
            "-r",
            "/srv",
            "-b",
            "::1",
            "-p",
            "0",
            "-w",
            "3",
            "--autoindex",
            "forbid",
        ])
        .unwrap();
        assert_eq!(c.root, PathBuf::from("/srv"));
        assert_eq!(c.addr(), "[::1]:0".parse().unwrap());
        assert_eq!(c.worker_threads(), 3);
        assert_eq!(c.autoindex, Autoindex::Forbid);
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["staticd", "--port", "70000"][..],
            &["staticd", "--workers", "0"],
            &["staticd", "--bind", "nowhere"],
            &["staticd", "--autoindex", "maybe"],
            &["staticd", "--bogus"],
        ] {
            assert!(Config::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn root_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(canonical_root(dir.path()).is_ok());
        let err = canonical_root(&file).unwrap_err().to_string();
        assert!(err.ends_with("is not a directory"), "{err}");
        let err = canonical_root(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("No such file or directory"), "{err}");
    }
}
