//! Where a connection's task starts and ends: from accept, from the
//! parking table, and into it.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use bytes::BytesMut;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::{Connection, Ended, Worker};
use crate::idle::Parked;
use crate::limits::READ_BUFFER;

/// Serves requests on `stream` until the client, a limit or shutdown ends
/// the connection, or it is parked while idle. Holding `permit` counts it
/// against `--max-connections`.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    worker: Worker,
) {
    let first = Instant::now() + worker.shared.limits.header_timeout; // from accept
    // The listener defers accepting until the request arrives, so it is
    // normally here already.
    let read_buf = match read_now(stream.as_fd()) {
        Ok(Some(buf)) => buf,
        Ok(None) => return tracing::debug!(%peer, requests = 0, "connection ended"),
        Err(err) => return tracing::debug!(%peer, requests = 0, error = %err, "connection ended"),
    };
    let mut conn = Connection::new(stream, peer, permit, worker);
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
        permit,
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
    let stream = match TcpStream::from_std(stream) {
        Ok(stream) => stream,
        Err(err) => return tracing::debug!(%peer, error = %err, "cannot resume connection"),
    };
    let mut conn = Connection::new(stream, peer, permit, worker);
    conn.served = served;
    conn.park_level = level;
    conn.nodelay = served > 0; // set before its first kept-alive response
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
                    permit: conn.permit,
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
        Ok(Ended::Closed) => tracing::debug!(%peer, requests = conn.served, "connection ended"),
        Err(err) => {
            tracing::debug!(%peer, requests = conn.served, error = %err, "connection ended")
        }
    }
}
