//! The listening sockets: TCP with our backlog rather than the library
//! default and accepting deferred until the client's first bytes arrive,
//! or a Unix stream socket created with its file mode; and accepting on
//! either, as one [`Accepting`] value.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use tokio::net::{TcpListener, TcpSocket};

use crate::ops::access_log::Peer;
use crate::serve::limits::{LISTEN_BACKLOG, LISTEN_DEFER};
use crate::serve::stream::Stream;

/// A listening socket off any runtime (what each worker gets a copy of).
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(std::net::TcpListener),
    Unix(UnixListener),
}

/// Where a listener listens, as the start-up lines say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Local {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl std::fmt::Display for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Local::Tcp(addr) => addr.fmt(f),
            Local::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Listener {
    pub(crate) fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }

    pub(crate) fn local(&self) -> io::Result<Local> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(Local::Tcp),
            Listener::Unix(l) => {
                let addr = l.local_addr()?;
                let path = addr.as_pathname().unwrap_or(Path::new(""));
                Ok(Local::Unix(path.to_owned()))
            }
        }
    }
}

/// A listening socket on the current runtime.
#[derive(Debug)]
pub(crate) enum Accepting {
    Tcp(TcpListener),
    Unix(tokio::net::UnixListener),
}

impl Accepting {
    pub(crate) fn from_std(listener: Listener) -> io::Result<Accepting> {
        Ok(match listener {
            Listener::Tcp(l) => Accepting::Tcp(TcpListener::from_std(l)?),
            Listener::Unix(l) => Accepting::Unix(tokio::net::UnixListener::from_std(l)?),
        })
    }

    pub(crate) fn into_std(self) -> io::Result<Listener> {
        Ok(match self {
            Accepting::Tcp(l) => Listener::Tcp(l.into_std()?),
            Accepting::Unix(l) => Listener::Unix(l.into_std()?),
        })
    }

    pub(crate) async fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Accepting::Tcp(l) => {
                let (stream, peer) = l.accept().await?;
                Ok((Stream::Tcp(stream), Peer::from(peer)))
            }
            Accepting::Unix(l) => {
                let (stream, _) = l.accept().await?;
                Ok((Stream::Unix(stream), Peer::Unix))
            }
        }
    }

    pub(crate) fn local(&self) -> io::Result<Local> {
        match self {
            Accepting::Tcp(l) => l.local_addr().map(Local::Tcp),
            Accepting::Unix(l) => {
                let addr = l.local_addr()?;
                let path = addr.as_pathname().unwrap_or(Path::new(""));
                Ok(Local::Unix(path.to_owned()))
            }
        }
    }
}

/// Binds and listens on `addr`.
pub(super) fn listen(addr: SocketAddr) -> io::Result<Listener> {
    listen_with(addr, false)
}

/// Binds and listens on `addr`, in a `SO_REUSEPORT` group with `reuse_port`
/// (see [`crate::serve::steering`]).
pub(crate) fn listen_with(addr: SocketAddr, reuse_port: bool) -> io::Result<Listener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    if let Err(err) = defer_accept(&socket) {
        tracing::debug!(error = %err, "TCP_DEFER_ACCEPT not available");
    }
    socket.listen(LISTEN_BACKLOG)?.into_std().map(Listener::Tcp)
}

/// TCP_DEFER_ACCEPT: the kernel completes the handshake but queues the
/// connection for accept only once data arrives (or after
/// [`LISTEN_DEFER`]). An HTTP client speaks first, so each new connection
/// then wakes a worker once, with its request already there to read,
/// instead of once to accept and again to read.
fn defer_accept(socket: &TcpSocket) -> io::Result<()> {
    let seconds = LISTEN_DEFER.as_secs() as libc::c_int;
    // SAFETY: a valid socket and a c_int option value of the size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Creates the Unix socket `path` with file mode `mode` and listens on
/// it. The mode is set between bind and listen, so no client connects
/// while the file is still open wider than asked. A socket file left by a
/// process that is gone (connecting to it is refused) is replaced; one
/// that someone listens on, or a path that is not a socket, is an error.
pub(super) fn listen_unix(path: &Path, mode: u32) -> io::Result<Listener> {
    clear_stale(path)?;
    // SAFETY: no pointers; a non-negative result is ours to own.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?;
    // SAFETY: fd was just created and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let (addr, len) = sockaddr_un(path)?;
    // SAFETY: addr is a sockaddr_un valid for `len` bytes.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) })?;
    let listening = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        // SAFETY: a bound socket we own; no pointers.
        .and_then(|()| cvt(unsafe { libc::listen(fd.as_raw_fd(), LISTEN_BACKLOG as i32) }));
    if let Err(err) = listening {
        let _ = std::fs::remove_file(path);
        return Err(err);
    }
    Ok(Listener::Unix(UnixListener::from(fd)))
}

/// Removes a socket file nobody listens on; refuses to touch anything
/// else at `path`.
fn clear_stale(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another process is listening on it",
        )),
        Err(err) if err.raw_os_error() == Some(libc::ECONNREFUSED) => {
            tracing::info!(path = %path.display(), "replacing a stale socket file");
            std::fs::remove_file(path)
        }
        Err(err) => Err(err),
    }
}

/// `path` as a `sockaddr_un`, and the length to pass with it.
fn sockaddr_un(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: an all-zero sockaddr_un is valid (and NUL-terminates the path).
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a socket path must be 1 to {} bytes, without NUL",
                addr.sun_path.len() - 1
            ),
        ));
    }
    for (to, from) in addr.sun_path.iter_mut().zip(bytes) {
        *to = *from as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    Ok((addr, len as libc::socklen_t))
}

/// A libc return value as a result.
fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}
