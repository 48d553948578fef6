//! An idle connection as one value: a connection between two requests,
//! off any runtime, that moves to another worker, parks in its worker's
//! table and resumes as a whole; and the workers' inboxes that carry it
//! from one worker to another.
//!
//! Only the connection layer turns a connection into an [`Idle`] and back;
//! parking and the inboxes hold it without looking inside, apart from the
//! socket and deadline parking watches.

use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::ops::access_log::Peer;
use crate::serve::limits::{PARK_AFTER, PARK_LEVELS};
use crate::serve::pool::Ticket;
use crate::serve::stream::StdStream;

/// A connection between two requests: all its next task needs to carry on.
#[derive(Debug)]
pub(crate) struct Idle {
    pub stream: StdStream,
    pub peer: Peer,
    /// Its place under `--max-connections` and on its worker.
    pub ticket: Ticket,
    /// Requests served so far, for `--max-requests`.
    pub served: u32,
    /// Its parking delay, as a level for [`park_after`].
    pub park_level: u8,
    /// Whether TCP_NODELAY is set on the socket.
    pub nodelay: bool,
    /// Bytes already read (decrypted, over TLS): the start of the next
    /// request, or more (empty while parked).
    pub read_buf: BytesMut,
    /// The TLS session of a connection to the HTTPS listener.
    pub tls: Option<Box<rustls::ServerConnection>>,
    /// When the keep-alive (or first-request) timeout closes it.
    pub deadline: Instant,
    /// When it went idle: parked, or handed to another worker.
    pub since: Instant,
}

impl Idle {
    /// The parking level for the connection woken at `now`: up when it
    /// came back sooner than it had waited, down when it stayed away longer.
    pub(crate) fn next_level(&self, now: Instant) -> u8 {
        if now.duration_since(self.since) < park_after(self.park_level) {
            (self.park_level + 1).min(PARK_LEVELS)
        } else {
            self.park_level.saturating_sub(1)
        }
    }
}

/// The parking delay at `level`.
pub(crate) fn park_after(level: u8) -> Duration {
    PARK_AFTER * (1 << level.min(PARK_LEVELS))
}

/// Connections moving to a worker wait here until its runtime takes them.
pub(crate) type Inbox = mpsc::UnboundedReceiver<Idle>;

/// Every worker's inbox, by index.
#[derive(Debug)]
pub(crate) struct Handoff {
    inboxes: Box<[mpsc::UnboundedSender<Idle>]>,
}

impl Handoff {
    /// Inboxes for `workers` workers; each worker takes its own when it
    /// starts.
    pub(crate) fn new(workers: usize) -> (Handoff, Vec<Inbox>) {
        let (senders, inboxes): (Vec<_>, Vec<_>) = (0..workers.max(1))
            .map(|_| mpsc::unbounded_channel())
            .unzip();
        let handoff = Handoff {
            inboxes: senders.into_boxed_slice(),
        };
        (handoff, inboxes)
    }

    /// Hands `idle` to worker `target`, on whose count it is from now on.
    /// If that worker has exited (at shutdown), the connection is dropped,
    /// which closes it.
    pub(crate) fn send(&self, mut idle: Idle, target: usize) {
        idle.ticket.move_to(target);
        let _ = self.inboxes[target].send(idle);
    }
}

#[cfg(test)]
impl Idle {
    /// A connection with `read` already read, as it would move.
    pub(crate) fn for_test(
        stream: std::net::TcpStream,
        peer: std::net::SocketAddr,
        ticket: Ticket,
        read: &[u8],
    ) -> Idle {
        let now = Instant::now();
        Idle {
            stream: stream.into(),
            peer: peer.into(),
            ticket,
            served: 1,
            park_level: 0,
            nodelay: true,
            read_buf: BytesMut::from(read),
            tls: None,
            deadline: now,
            since: now,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::serve::pool::Pool;

    /// A server-side socket (with its client) on a ticket of worker 0 of
    /// `pool`, idle with `read` already read.
    pub(crate) fn idle_on(pool: &Arc<Pool>, read: &[u8]) -> (std::net::TcpStream, Idle) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().unwrap();
        let permit = Arc::new(tokio::sync::Semaphore::new(1))
            .try_acquire_owned()
            .unwrap();
        let ticket = pool.ticket(0, permit);
        (client, Idle::for_test(stream, peer, ticket, read))
    }

    #[tokio::test]
    async fn a_moved_connection_arrives_in_its_new_workers_inbox_counted_there() {
        let pool = Pool::new(2, 2);
        let (handoff, mut inboxes) = Handoff::new(2);
        let (_client, moved) = idle_on(&pool, b"GET /");
        handoff.send(moved, 1);
        assert_eq!(pool.held(), [0, 1]);
        let arrived = inboxes[1].recv().await.unwrap();
        assert_eq!(arrived.ticket.worker(), 1);
        drop(arrived);
        assert_eq!(pool.held(), [0, 0], "closing it gives the count back");
    }

    #[test]
    fn clients_that_come_back_quickly_are_parked_later() {
        let (_client, mut conn) = idle_on(&Pool::new(1, 1), b"");
        let since = conn.since;
        assert_eq!(park_after(0), PARK_AFTER);
        // Back sooner than it had waited: the delay doubles, up to the cap.
        assert_eq!(conn.next_level(since + PARK_AFTER / 2), 1);
        conn.park_level = PARK_LEVELS;
        assert_eq!(conn.next_level(since), PARK_LEVELS);
        assert_eq!(park_after(PARK_LEVELS + 3), park_after(PARK_LEVELS));
        // Away longer than it had waited: the delay halves, down to the first.
        assert_eq!(
            conn.next_level(since + park_after(PARK_LEVELS)),
            PARK_LEVELS - 1
        );
        conn.park_level = 0;
        assert_eq!(conn.next_level(since + Duration::from_secs(10)), 0);
    }
}
