//! The ACME state directory (`--acme-state`): the account's credentials
//! for each CA, and the current certificate and key of each certificate
//! at `certs/NAME/cert.pem` and `key.pem`, NAME being its first domain,
//! so other tools can read them.
//!
//! The directory is `0700` and every file with a key in it `0600`. Each
//! write goes to a temporary file, is synced, and is renamed over the old
//! one, so a crash leaves the old file or the new one, never half of
//! either (a key and a certificate from two different orders do not load
//! as a pair, and are ordered again). Processes sharing the directory
//! (a restart overlapping the old process) take [`State::lock`] around
//! an order and what it writes.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// An opened state directory.
#[derive(Debug, Clone)]
pub(crate) struct State {
    dir: PathBuf,
}

/// The directory's lock, held until dropped.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

/// A certificate chain and its key as PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub cert: String,
    pub key: String,
}

impl State {
    /// Opens `dir`, creating it (and its parents) `0700` if missing and
    /// making it `0700` if not; fails when it cannot be written.
    pub(crate) fn open(dir: &Path) -> io::Result<State> {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let state = State {
            dir: dir.to_owned(),
        };
        drop(state.lock_file()?);
        Ok(state)
    }

    /// `dir` as it is, created by nothing, for `--check`: an error when
    /// [`State::open`] could not make it or write in it.
    pub(crate) fn peek(dir: &Path) -> io::Result<State> {
        let mut existing = dir;
        while !existing.exists() {
            existing = match existing.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
        }
        if !existing.is_dir() {
            return Err(io::Error::from(io::ErrorKind::NotADirectory));
        }
        let c_dir = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a NUL-terminated path; access(2) only reads it.
        if unsafe { libc::access(c_dir.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(State {
            dir: dir.to_owned(),
        })
    }

    fn lock_file(&self) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(self.dir.join("lock"))
    }

    /// Waits for the directory's exclusive lock (blocking: call it off
    /// the event loop).
    pub(crate) fn lock(&self) -> io::Result<Lock> {
        let file = self.lock_file()?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Lock { _file: file })
    }

    /// The account file for the CA at `directory` (one account per CA:
    /// staging and production are different CAs).
    fn account_path(&self, directory: &str) -> PathBuf {
        let slug: String = directory
            .trim_start_matches("https://")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join("accounts").join(format!("{slug}.json"))
    }

    /// The account's credentials (JSON) for `directory`, if saved.
    pub(crate) fn account(&self, directory: &str) -> io::Result<Option<Vec<u8>>> {
        read_if_there(&self.account_path(directory))
    }

    pub(crate) fn save_account(&self, directory: &str, json: &[u8]) -> io::Result<()> {
        write_atomic(&self.account_path(directory), json, 0o600)
    }

    /// Where the certificate named `name` (its first domain) is kept.
    pub(crate) fn cert_files(&self, name: &str) -> (PathBuf, PathBuf) {
        let dir = self.dir.join("certs").join(name);
        (dir.join("cert.pem"), dir.join("key.pem"))
    }

    /// The stored certificate and key for `name`, if both are there.
    pub(crate) fn load(&self, name: &str) -> io::Result<Option<Stored>> {
        let (cert, key) = self.cert_files(name);
        let (Some(cert), Some(key)) = (read_if_there(&cert)?, read_if_there(&key)?) else {
            return Ok(None);
        };
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        };
        Ok(Some(Stored {
            cert: text(cert)?,
            key: text(key)?,
        }))
    }

    /// Replaces the stored certificate and key for `name`.
    pub(crate) fn save(&self, name: &str, stored: &Stored) -> io::Result<()> {
        let (cert, key) = self.cert_files(name);
        write_atomic(&key, stored.key.as_bytes(), 0o600)?;
        write_atomic(&cert, stored.cert.as_bytes(), 0o644)
    }
}

fn read_if_there(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside
/// it with `mode`, synced, renamed over it, and the directory synced so
/// the rename survives a crash.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temporary)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_are_private_and_replaced_whole() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("state/acme");
        let state = State::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(state.load("site.test").unwrap(), None);
        let stored = Stored {
            cert: "CERT".to_owned(),
            key: "KEY".to_owned(),
        };
        state.save("site.test", &stored).unwrap();
        assert_eq!(state.load("site.test").unwrap(), Some(stored));
        let (cert, key) = state.cert_files("site.test");
        assert_eq!((mode(&key), mode(&cert)), (0o600, 0o644));
        assert_eq!(cert, dir.join("certs/site.test/cert.pem"));
        let renewed = Stored {
            cert: "NEW".to_owned(),
            key: "NEWKEY".to_owned(),
        };
        state.save("site.test", &renewed).unwrap();
        assert_eq!(state.load("site.test").unwrap(), Some(renewed));
        let names: Vec<_> = std::fs::read_dir(dir.join("certs/site.test"))
            .unwrap()
            .collect();
        assert_eq!(names.len(), 2, "no temporary file is left");

        let ca = "https://ca.test:14000/dir";
        assert_eq!(state.account(ca).unwrap(), None);
        state.save_account(ca, b"{}").unwrap();
        assert_eq!(state.account(ca).unwrap().as_deref(), Some(&b"{}"[..]));
        assert_eq!(state.account("https://other.test/dir").unwrap(), None);
        assert_eq!(mode(&state.account_path(ca)), 0o600);
        drop(state.lock().unwrap());
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_an_error() {
        let top = tempfile::tempdir().unwrap();
        let file = top.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(State::open(&file.join("acme")).is_err());
        assert!(State::peek(&file.join("acme")).is_err());
        let new = top.path().join("a/b/acme");
        assert!(State::peek(&new).is_ok());
        assert!(!new.exists(), "peek makes nothing");
    }
}
