//! Where to listen: `--bind` (an IP address, or `unix:PATH` for a Unix
//! stream socket) and `--socket-mode`, and what `--probe` connects to.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::ops::probe::Target;

use super::Config;
use super::error::Conflict;

/// What `--bind` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Ip(IpAddr),
    /// `unix:PATH`: a Unix stream socket at PATH.
    Unix(PathBuf),
}

impl std::fmt::Display for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bind::Ip(ip) => ip.fmt(f),
            Bind::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// `--bind`: an IPv4 or IPv6 address, or `unix:` and an absolute or
/// relative path whose directory exists (the socket file is made there).
pub(crate) fn parse_bind(text: &str) -> Result<Bind, String> {
    let Some(path) = text.strip_prefix("unix:") else {
        return text
            .parse()
            .map(Bind::Ip)
            .map_err(|_| format!("'{text}' is neither an IP address nor unix:PATH"));
    };
    if path.is_empty() {
        return Err("unix: needs the socket's path, e.g. unix:/run/staticd/http.sock".to_owned());
    }
    let path = PathBuf::from(path);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!("the directory {} does not exist", dir.display()));
    }
    Ok(Bind::Unix(path))
}

/// `--socket-mode`: octal permission bits, `0660` or `660`.
pub(crate) fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("'{text}' is not an octal file mode from 0 to 0777")),
    }
}

/// A mode as `--help` and `--print-config` show it.
pub(crate) fn mode_text(mode: u32) -> String {
    format!("{mode:04o}")
}

impl Config {
    /// The Unix socket to listen on, with `--bind unix:PATH`.
    pub(crate) fn unix_socket(&self) -> Option<PathBuf> {
        match &self.bind {
            Bind::Unix(path) => Some(path.clone()),
            Bind::Ip(_) => None,
        }
    }

    /// Where `--probe` asks: the Unix socket, or the bound address and
    /// port (loopback for an unspecified address).
    pub fn probe_target(&self) -> Target {
        match &self.bind {
            Bind::Unix(path) => Target::Unix(path.clone()),
            Bind::Ip(ip) => Target::Tcp(crate::ops::probe::target(*ip, self.port)),
        }
    }

    /// Refuses listening options that do not go together: the HTTP
    /// redirect listens on a port of the main listener's address, which a
    /// Unix socket does not have.
    pub(crate) fn check_listen(&self) -> Result<(), Conflict> {
        if matches!(self.bind, Bind::Unix(_)) && self.redirect_http.is_some() {
            return Err(Conflict {
                option: "redirect-http",
                message: "--redirect-http needs --bind to be an IP address: it listens on a \
                          port of the same address, and a unix: socket has none"
                    .to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_is_an_address_or_a_unix_path_in_an_existing_directory() {
        assert_eq!(parse_bind("::1"), Ok(Bind::Ip("::1".parse().unwrap())));
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s.sock");
        let text = format!("unix:{}", sock.display());
        assert_eq!(parse_bind(&text), Ok(Bind::Unix(sock.clone())));
        assert_eq!(Bind::Unix(sock).to_string(), text);
        let missing = format!("unix:{}/no/s.sock", dir.path().display());
        assert!(parse_bind(&missing).unwrap_err().contains("does not exist"));
        assert!(parse_bind("unix:").is_err());
        assert!(parse_bind("localhost").is_err());
    }

    #[test]
    fn socket_modes_are_octal_up_to_0777() {
        assert_eq!(parse_mode("0660"), Ok(0o660));
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0o777"), Ok(0o777));
        assert!(parse_mode("0800").is_err());
        assert!(parse_mode("1777").is_err());
        assert_eq!(mode_text(0o660), "0660");
    }
}
