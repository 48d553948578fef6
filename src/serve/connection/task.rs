//! Where a connection's task starts and ends: from accept, from the
//! parking table and into it, and from one worker to another.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use bytes::BytesMut;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{Connection, Ended, Worker};
use crate::serve::limits::READ_BUFFER;
use crate::serve::parking::Parked;
use crate::serve::pool::Ticket;

/// A connection on its way to another worker, between two requests.
#[derive(Debug)]
pub struct Moved {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    pub(crate) ticket: Ticket,
    served: u32,
    level: u8,
    nodelay: bool,
    /// Bytes already read: the start of the next request, or more.
    read_buf: BytesMut,
    deadline: Instant,
}

#[cfg(test)]
impl Moved {
    /// A connection with `read` already read, as it would move.
    pub(crate) fn for_test(
        stream: std::net::TcpStream,
        peer: SocketAddr,
        ticket: Ticket,
        read: &[u8],
    ) -> Moved {
        Moved {
            stream,
            peer,
            ticket,
            served: 1,
            level: 0,
            nodelay: true,
            read_buf: BytesMut::from(read),
            deadline: Instant::now(),
        }
    }
}

/// Serves requests on `stream` until the client, a limit or shutdown ends
/// the connection, or it is parked while idle or moved to another worker.
/// Its `ticket` counts it against `--max-connections` and on its worker.
pub async fn serve(stream: TcpStream, peer: SocketAddr, ticket: Ticket, worker: Worker) {
    let first = Instant::now() + worker.shared.limits.header_timeout; // from accept
    // The listener defers accepting until the request arrives, so it is
    // normally here already.
    let read_buf = match read_now(stream.as_fd()) {
        Ok(Some(buf)) => buf,
        Ok(None) => return tracing::debug!(%peer, requests = 0, "connection ended"),
        Err(err) => return tracing::debug!(%peer, requests = 0, error = %err, "connection ended"),
    };
    let mut conn = Connection::new(stream, peer, ticket, worker);
    conn.read_buf = read_buf;
    drive(conn, first).await;
}

/// Carries on with a parked connection whose client sent something (or
/// closed), with the requests served and the deadline it had.
pub async fn resume(parked: Parked, worker: Worker) {
    let level = parked.next_level(Instant::now());
    let Parked {
        stream,
        peer,
        ticket,
        served,
        deadline,
        ..
    } = parked;
    // The socket is readable: read before handing it back to the runtime,
    // which saves a trip through the event loop, and lets a client that
    // closed (the common end of an idle connection) go without one.
    let read_buf = match read_now(stream.as_fd()) {
        Ok(Some(buf)) => buf,
        Ok(None) => return tracing::debug!(%peer, requests = served, "connection ended"),
        Err(err) => {
            return tracing::debug!(%peer, requests = served, error = %err, "connection ended");
        }
    };
    let moved = Moved {
        stream,
        peer,
        ticket,
        served,
        level,
        nodelay: served > 0, // set before its first kept-alive response
        read_buf,
        deadline,
    };
    // Parked on a worker that has since stopped being active.
    match moved.ticket.move_target() {
        Some(target) => Ticket::send(moved, target),
        None => arrive(moved, worker).await,
    }
}

/// Carries on with a connection moved here from another worker.
pub async fn arrive(moved: Moved, worker: Worker) {
    let Moved {
        stream,
        peer,
        ticket,
        served,
        level,
        nodelay,
        read_buf,
        deadline,
    } = moved;
    let stream = match TcpStream::from_std(stream) {
        Ok(stream) => stream,
        Err(err) => return tracing::debug!(%peer, error = %err, "cannot resume connection"),
    };
    let mut conn = Connection::new(stream, peer, ticket, worker);
    conn.served = served;
    conn.park_level = level;
    conn.nodelay = nodelay;
    conn.read_buf = read_buf;
    drive(conn, deadline).await;
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

async fn drive(mut conn: Connection, first_deadline: Instant) {
    let peer = conn.peer;
    match conn.run(first_deadline).await {
        Ok(Ended::Parked(deadline)) => {
            let Some(parking) = conn.parking.take() else {
                return;
            };
            let parked = conn.stream.into_std().and_then(|stream| {
                parking.park(Parked {
                    stream,
                    peer,
                    ticket: conn.ticket,
                    served: conn.served,
                    deadline,
                    level: conn.park_level,
                    since: Instant::now(),
                })
            });
            if let Err(err) = parked {
                tracing::debug!(%peer, error = %err, "connection ended: cannot park");
            }
        }
        Ok(Ended::Moved(target, deadline)) => match conn.stream.into_std() {
            Ok(stream) => {
                let moved = Moved {
                    stream,
                    peer,
                    ticket: conn.ticket,
                    served: conn.served,
                    level: conn.park_level,
                    nodelay: conn.nodelay,
                    read_buf: conn.read_buf,
                    deadline,
                };
                Ticket::send(moved, target);
            }
            Err(err) => tracing::debug!(%peer, error = %err, "connection ended: cannot move"),
        },
        Ok(Ended::Closed) => tracing::debug!(%peer, requests = conn.served, "connection ended"),
        Err(err) => {
            tracing::debug!(%peer, requests = conn.served, error = %err, "connection ended")
        }
    }
}
