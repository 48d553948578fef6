//! Where a connection's task starts and ends: from accept, from the
//! parking table and into it, and from one worker to another.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use bytes::BytesMut;
use tokio::time::Instant;

use super::exchange::{Connection, Ended};
use super::proxied;
use super::tls_io::{absorb, take_plaintext};
use super::worker::Worker;
use crate::ops::access_log::Peer;
use crate::serve::idle::Idle;
use crate::serve::limits::READ_BUFFER;
use crate::serve::pool::Ticket;
use crate::serve::stream::{StdStream, Stream};

/// What a listener's connections are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Serving the site (over TLS when the worker's [`Shared`] has a TLS
    /// configuration).
    ///
    /// [`Shared`]: super::Shared
    Site,
    /// Serving the site in plain HTTP, even when the main listener speaks
    /// TLS (an inherited socket named `http`).
    Plain,
    /// Answering every request with a redirect to HTTPS on this port.
    RedirectToHttps(u16),
}

impl Role {
    /// What the start-up lines call it.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Role::Site => "the site (over TLS when configured)",
            Role::Plain => "the site in plain HTTP",
            Role::RedirectToHttps(_) => "the redirect to HTTPS",
        }
    }
}

/// Serves requests on `stream` until the client, a limit or shutdown ends
/// the connection, or it is parked while idle or moved to another worker.
/// Its `ticket` counts it against `--max-connections` and on its worker.
/// Over TLS, the handshake comes first, within the same header timeout
/// from the accept as the first request; with `--proxy-protocol`, its
/// header comes before either, within the same time.
pub(crate) async fn serve(stream: Stream, peer: Peer, ticket: Ticket, worker: Worker, role: Role) {
    let first = Instant::now() + worker.shared.limits.header_timeout; // from accept
    // The listener defers accepting until the request arrives, so it is
    // normally here already.
    let read_buf = match read_now(stream.as_fd()) {
        Ok(Some(buf)) => buf,
        Ok(None) => return tracing::debug!(%peer, requests = 0, "connection ended"),
        Err(err) => return tracing::debug!(%peer, requests = 0, error = %err, "connection ended"),
    };
    // Site listeners only: the redirect to HTTPS answers the same to all.
    let (read_buf, peer) = match role {
        Role::Site | Role::Plain if worker.shared.proxies.protocol => {
            // Boxed: only connections behind a proxy carry this wait.
            match Box::pin(proxied::receive(
                &stream,
                read_buf,
                peer,
                first,
                &worker.shared.metrics,
            ))
            .await
            {
                Some(relayed) => relayed,
                None => return,
            }
        }
        _ => (read_buf, peer),
    };
    let Some(conn) = in_role(
        Connection::accepted(stream, peer, ticket, read_buf, worker),
        role,
    ) else {
        return;
    };
    drive(conn, first).await;
}

/// Readies a new connection for what its listener is for: a redirect, or
/// the site, over TLS when the main listener speaks it (the handshake
/// then starts the connection's run); `None` if TLS cannot start.
fn in_role(mut conn: Connection, role: Role) -> Option<Connection> {
    match role {
        Role::RedirectToHttps(port) => conn.redirect_to = Some(port),
        Role::Plain => {}
        Role::Site => {
            if let Some(acceptor) = &conn.shared.tls {
                match rustls::ServerConnection::new(acceptor.config()) {
                    Ok(tls) => conn.tls = Some(Box::new(tls)),
                    Err(err) => {
                        tracing::debug!(peer = %conn.peer, error = %err, "TLS refused");
                        return None;
                    }
                }
            }
        }
    }
    Some(conn)
}

/// Carries on with a parked connection whose client sent something (or
/// closed), with the requests served and the deadline it had.
pub(crate) async fn wake(mut idle: Idle, worker: Worker) {
    idle.park_level = idle.next_level(Instant::now());
    // The socket is readable: read before handing it back to the runtime,
    // which saves a trip through the event loop, and lets a client that
    // closed (the common end of an idle connection) go without one.
    let (peer, served) = (idle.peer, idle.served);
    let read = read_now(idle.stream.as_fd()).and_then(|raw| match (raw, idle.tls.as_deref_mut()) {
        (Some(raw), Some(tls)) => decrypt(&idle.stream, tls, &raw),
        (raw, _) => Ok(raw),
    });
    idle.read_buf = match read {
        Ok(Some(buf)) => buf,
        Ok(None) => return tracing::debug!(%peer, requests = served, "connection ended"),
        Err(err) => {
            return tracing::debug!(%peer, requests = served, error = %err, "connection ended");
        }
    };
    // Parked on a worker that has since stopped being active.
    match idle.ticket.move_target() {
        Some(target) => worker.shared.handoff.send(idle, target),
        None => arrive(idle, worker).await,
    }
}

/// Carries on with a connection moved here from another worker.
pub(crate) async fn arrive(idle: Idle, worker: Worker) {
    let (peer, deadline) = (idle.peer, idle.deadline);
    match Connection::resumed(idle, worker) {
        Ok(conn) => drive(conn, deadline).await,
        Err(err) => tracing::debug!(%peer, error = %err, "cannot resume connection"),
    }
}

/// One non-blocking read, without waiting for the runtime to report the
/// socket readable: the bytes (none if there were none yet), or `None` at
/// end of stream.
fn read_now(socket: BorrowedFd<'_>) -> io::Result<Option<BytesMut>> {
    let mut chunk = [0u8; READ_BUFFER];
    // SAFETY: chunk is valid for its length; the socket is non-blocking.
    let n = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            chunk.as_mut_ptr().cast(),
            chunk.len(),
            0,
        )
    };
    match n {
        0 => Ok(None),
        n if n > 0 => Ok(Some(BytesMut::from(&chunk[..n as usize]))),
        _ => match io::Error::last_os_error() {
            err if err.kind() == io::ErrorKind::WouldBlock => Ok(Some(BytesMut::new())),
            err => Err(err),
        },
    }
}

/// What a woken TLS connection's client sent (`raw`), decrypted: the
/// plaintext (perhaps none yet: a record may be incomplete), or `None`
/// once the client closed the session.
fn decrypt(
    stream: &StdStream,
    tls: &mut rustls::ServerConnection,
    raw: &[u8],
) -> io::Result<Option<BytesMut>> {
    absorb(&mut &*stream, tls, raw)?;
    let mut plain = BytesMut::new();
    Ok(take_plaintext(tls, &mut plain)?.map(|_| plain))
}

/// Serves the connection, then parks it, moves it or lets it go.
async fn drive(mut conn: Connection, first_deadline: Instant) {
    let peer = conn.peer;
    match conn.run(first_deadline).await {
        Ok(Ended::Parked(deadline)) => {
            if let Err(err) = park(conn, deadline) {
                tracing::debug!(%peer, error = %err, "connection ended: cannot park");
            }
        }
        Ok(Ended::Moved(target, deadline)) => match conn.into_idle(deadline) {
            Ok((idle, worker)) => worker.shared.handoff.send(idle, target),
            Err(err) => tracing::debug!(%peer, error = %err, "connection ended: cannot move"),
        },
        // A task of its own, sized for HTTP/2, not this one's.
        Ok(Ended::Http2(deadline)) => drop(tokio::spawn(conn.into_http2(deadline))),
        Ok(Ended::Closed) => tracing::debug!(%peer, requests = conn.served, "connection ended"),
        Err(err) => {
            tracing::debug!(%peer, requests = conn.served, error = %err, "connection ended")
        }
    }
}

/// Parks `conn` in its worker's table (it only asks to park when there is
/// one).
fn park(conn: Connection, deadline: Instant) -> io::Result<()> {
    let (idle, worker) = conn.into_idle(deadline)?;
    match worker.parking {
        Some(parking) => parking.park(idle),
        None => Ok(()),
    }
}
