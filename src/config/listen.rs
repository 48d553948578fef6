//! Where to listen, from `--bind` (an IP address, or `unix:PATH` for a
//! Unix stream socket): the Unix socket to make, what `--probe` connects
//! to, and the options a Unix socket does not go with.

use std::path::PathBuf;

use crate::ops::probe::Target;

use super::Config;
use super::error::Conflict;
use super::values::Bind;

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
