//! What a server listens on and what each socket is for: the sockets it
//! binds itself (`--bind`, `--port`, `--redirect-http`), or those the
//! service manager passed (see [`activation`](super::activation)), named
//! for their roles.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::ops::diagnostics::LIFECYCLE;
use crate::serve::activation::Inherited;
use crate::serve::connection::Role;
use crate::serve::listener::{self, Listener};
use crate::serve::options::{Options, StartError};
use crate::serve::steering::{Steering, listen_group};

/// The listening sockets of one server.
pub(super) struct Sockets {
    /// What every worker accepts on: one socket shared by all.
    pub(super) main: Listener,
    /// Or one socket each for the first workers (the main TCP listener,
    /// when the server binds it), and what steers connections among them.
    pub(super) group: Option<(Vec<Listener>, Steering)>,
    pub(super) main_role: Role,
    /// Accepted on by the first worker: the redirect listener, and any
    /// further inherited socket.
    pub(super) others: Vec<(Listener, Role)>,
    /// The Unix socket file this server made, removed when it stops.
    pub(super) socket_file: Option<SocketFile>,
}

/// Binds what the options ask for, or takes the inherited sockets;
/// `tls` says whether HTTPS is configured.
pub(super) fn open(config: &Options, tls: bool) -> Result<Sockets, StartError> {
    if !config.inherited.is_empty() {
        return inherited(&config.inherited, tls, config.redirect_http.is_some());
    }
    let addr = config.addr;
    let (main, group, socket_file) = match &config.unix_socket {
        Some(path) => {
            let bound = listener::listen_unix(path, config.socket_mode)
                .map_err(|e| StartError::BindUnix(path.clone(), e))?;
            (bound, None, Some(SocketFile(path.clone())))
        }
        None => {
            let (mut group, steering) =
                listen_group(addr, config.workers).map_err(|e| StartError::Bind(addr, e))?;
            let main = group.remove(0);
            (main, Some((group, steering)), None)
        }
    };
    let mut others = Vec::new();
    if let Some(port) = config.redirect_http {
        let redirect = SocketAddr::new(addr.ip(), port);
        let bound = listener::listen(redirect).map_err(|e| StartError::Bind(redirect, e))?;
        others.push((bound, Role::RedirectToHttps(https_port(&main))));
    }
    Ok(Sockets {
        main,
        group,
        main_role: Role::Site,
        others,
        socket_file,
    })
}

/// What an inherited socket is for, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The main listener: TLS when configured.
    Site,
    /// `https`: the site over TLS.
    Tls,
    /// `http` without a redirect to make: the site in plain HTTP.
    Plain,
    /// `http` with TLS and `--redirect-http`: the redirect to HTTPS.
    Redirect,
}

/// The role of a socket named `name`.
fn kind(name: Option<&str>, tls: bool, redirect: bool) -> Kind {
    match name {
        Some("https") => Kind::Tls,
        Some("http") if tls && redirect => Kind::Redirect,
        Some("http") => Kind::Plain,
        _ => Kind::Site,
    }
}

/// The inherited sockets, the first site (or TLS) one as the main
/// listener, else the first of all.
fn inherited(sockets: &[Inherited], tls: bool, redirect: bool) -> Result<Sockets, StartError> {
    let mut kinds = Vec::new();
    for socket in sockets {
        let kind = kind(socket.name.as_deref(), tls, redirect);
        if kind == Kind::Tls && !tls {
            return Err(StartError::Inherited(
                socket.describe(),
                io::Error::new(io::ErrorKind::InvalidInput, "https needs --tls-cert"),
            ));
        }
        let listener = socket
            .listener()
            .map_err(|e| StartError::Inherited(socket.describe(), e))?;
        kinds.push((listener, kind, socket.describe()));
    }
    let main_at = kinds
        .iter()
        .position(|(_, kind, _)| matches!(kind, Kind::Site | Kind::Tls))
        .unwrap_or(0);
    let (main, main_kind, what) = kinds.remove(main_at);
    let port = https_port(&main);
    let role = |kind| match kind {
        Kind::Site | Kind::Tls => Role::Site,
        Kind::Plain if tls => Role::Plain,
        Kind::Plain => Role::Site,
        Kind::Redirect => Role::RedirectToHttps(port),
    };
    log(&what, &main, role(main_kind));
    let others = kinds
        .into_iter()
        .map(|(listener, kind, what)| {
            log(&what, &listener, role(kind));
            (listener, role(kind))
        })
        .collect();
    Ok(Sockets {
        main,
        group: None,
        main_role: role(main_kind),
        others,
        socket_file: None,
    })
}

fn log(what: &str, listener: &Listener, role: Role) {
    let local = listener
        .local()
        .map_or_else(|e| e.to_string(), |l| l.to_string());
    tracing::info!(target: LIFECYCLE, "inherited {what}: {local}, {}", role.describe());
}

/// The port HTTPS is on, for the redirect: the main listener's, or 443
/// when it is not TCP.
fn https_port(main: &Listener) -> u16 {
    match main.local() {
        Ok(listener::Local::Tcp(addr)) => addr.port(),
        _ => 443,
    }
}

/// A Unix socket's file, removed when dropped: when the server stops
/// accepting, or when it could not start after all.
pub(super) struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_file(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %err, "cannot remove the socket file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_name_picks_its_role() {
        assert_eq!(kind(Some("https"), true, false), Kind::Tls);
        assert_eq!(kind(Some("http"), true, true), Kind::Redirect);
        assert_eq!(kind(Some("http"), true, false), Kind::Plain);
        assert_eq!(kind(Some("http"), false, false), Kind::Plain);
        assert_eq!(kind(None, true, true), Kind::Site);
        assert_eq!(kind(Some("web"), false, false), Kind::Site);
    }
}
