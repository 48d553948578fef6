//! Parking for idle keep-alive connections.
//!
//! A connection waiting for its next request holds a task: its future, the
//! runtime's per-socket state and a timer, a few KiB with the allocator's
//! share. Ten thousand idle browsers would cost tens of MiB for nothing.
//! So a connection idle for [`PARK_AFTER`] gives all that up: its socket,
//! as an [`Idle`], moves into its worker's table (one small entry) watched
//! by an epoll instance of our own, and its task ends. When the client
//! sends again, or closes, the table hands the connection to the callback
//! its worker gave at start-up, which starts a new task where the old one
//! stopped. The keep-alive deadline and shutdown apply to parked
//! connections as to the others.
//!
//! [`PARK_AFTER`]: crate::serve::limits::PARK_AFTER

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::BytesMut;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ops::metrics::{Counter, Metrics};
use crate::serve::idle::Idle;
use crate::serve::limits::WAKE_BATCH;
use crate::shutdown::Shutdown;
use table::Table;

mod table;

/// A worker's parked connections and the epoll instance watching them.
pub(crate) struct Parking {
    epoll: AsyncFd<OwnedFd>,
    table: Mutex<Table>,
    /// Wakes the table task when a deadline earlier than all others arrives.
    earlier_deadline: Notify,
    /// Once stopping, nothing more may park.
    shutdown: Shutdown,
    /// Where connections closed at their keep-alive deadline are counted.
    metrics: Arc<Metrics>,
}

impl Parking {
    /// Creates this worker's table and starts the task that wakes and
    /// expires its connections, until shutdown; must run inside the
    /// worker's runtime. A woken connection goes to `wake`, with the table
    /// it can park in again.
    pub(crate) fn start<F>(
        shutdown: Shutdown,
        metrics: Arc<Metrics>,
        wake: F,
    ) -> io::Result<Arc<Parking>>
    where
        F: FnMut(Idle, &Arc<Parking>) + Send + 'static,
    {
        // SAFETY: epoll_create1 takes no pointers; a non-negative result
        // is a new descriptor that we alone own.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just created and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the OwnedFd moves into the AsyncFd, which keeps it open
        // and unchanged for as long as the registration lives.
        let epoll = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        let parking = Arc::new(Parking {
            epoll,
            table: Mutex::new(Table::default()),
            earlier_deadline: Notify::new(),
            shutdown,
            metrics,
        });
        tokio::spawn(Arc::clone(&parking).watch(wake));
        Ok(parking)
    }

    /// Takes `conn` off the runtime; on error the connection is dropped,
    /// which closes it.
    pub(crate) fn park(&self, mut conn: Idle) -> io::Result<()> {
        // A parked connection holds no buffer.
        conn.read_buf = BytesMut::new();
        let fd = conn.stream.as_raw_fd();
        let deadline = conn.deadline;
        let mut table = self.lock();
        // Under the lock: the table task closes all under it once stopping,
        // so a park either comes before and is closed with the rest, or
        // sees the shutdown and is refused.
        if self.shutdown.is_stopping() {
            return Err(io::Error::other("shutting down"));
        }
        let key = table.insert(conn);
        if let Err(err) = self.watch_fd(fd, key) {
            table.take(key);
            return Err(err);
        }
        let earliest = table.earliest_recorded();
        table.push_deadline(deadline, key);
        drop(table);
        if earliest.is_none_or(|at| deadline < at) {
            self.earlier_deadline.notify_one();
        }
        Ok(())
    }

    /// Asks for one wake-up when `fd` turns readable (a request, or the
    /// client closing). One-shot, so the entry stays quiet after it fired
    /// and is simply rearmed when the same socket parks again.
    fn watch_fd(&self, fd: i32, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLONESHOT) as u32,
            u64: key,
        };
        let epfd = self.epoll.get_ref().as_raw_fd();
        for op in [libc::EPOLL_CTL_ADD, libc::EPOLL_CTL_MOD] {
            // SAFETY: event is a valid epoll_event for the call's duration.
            if unsafe { libc::epoll_ctl(epfd, op, fd, &mut event) } == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EEXIST) {
                return Err(err);
            }
        }
        Err(io::Error::other("epoll registration failed"))
    }

    /// The table task: hands back connections whose clients sent
    /// something, closes those past their deadline, and closes all at
    /// shutdown.
    async fn watch(self: Arc<Self>, mut wake: impl FnMut(Idle, &Arc<Parking>)) {
        let mut stopping = self.shutdown.clone();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; WAKE_BATCH];
        loop {
            let next = self.lock().next_deadline();
            tokio::select! {
                ready = self.epoll.readable() => {
                    // Fails only once the runtime is shutting down.
                    let Ok(mut guard) = ready else { break };
                    let woken = guard.try_io(|fd| wait_ready(fd.as_raw_fd(), &mut events));
                    if let Ok(Ok(count)) = woken {
                        for event in &events[..count] {
                            let parked = self.lock().take(event.u64);
                            if let Some(parked) = parked {
                                wake(parked, &self);
                            }
                        }
                    }
                }
                () = sleep_until(next) => {
                    // A connection not served yet had the header timeout.
                    let (fresh, kept) = self.lock().expire(Instant::now());
                    self.metrics.add(Counter::HeaderTimeouts, fresh);
                    self.metrics.add(Counter::KeepAliveTimeouts, kept);
                }
                () = self.earlier_deadline.notified() => {}
                () = stopping.stopping() => break,
            }
        }
        self.lock().close_all();
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock leaves the table consistent
        // enough (every operation is a few field updates).
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many connections are parked now.
    pub(crate) fn parked(&self) -> usize {
        self.lock().parked()
    }
}

/// Ready events without blocking; `WouldBlock` when there are none, so
/// the runtime waits for the epoll descriptor to turn readable again.
fn wait_ready(epfd: i32, events: &mut [libc::epoll_event]) -> io::Result<usize> {
    // SAFETY: events is valid for events.len() entries; timeout 0 never blocks.
    let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), events.len() as i32, 0) };
    match n {
        n if n < 0 => Err(io::Error::last_os_error()),
        0 => Err(io::ErrorKind::WouldBlock.into()),
        n => Ok(n as usize),
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
