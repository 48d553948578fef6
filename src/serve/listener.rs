//! The listening socket: our backlog rather than the library default, and
//! accepting deferred until the client's first bytes arrive.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use tokio::net::{TcpListener, TcpSocket};

use crate::serve::limits::{LISTEN_BACKLOG, LISTEN_DEFER};

/// Binds and listens on `addr`.
pub(super) fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    if let Err(err) = defer_accept(&socket) {
        tracing::debug!(error = %err, "TCP_DEFER_ACCEPT not available");
    }
    socket.listen(LISTEN_BACKLOG)
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
