//! Parking for idle keep-alive connections.
//!
//! A connection waiting for its next request holds a task: its future, the
//! runtime's per-socket state and a timer, a few KiB with the allocator's
//! share. Ten thousand idle browsers would cost tens of MiB for nothing.
//! So a connection idle for [`PARK_AFTER`] gives all that up: its socket
//! moves into its worker's table (one small entry) watched by an epoll
//! instance of our own, and its task ends. When the client sends again, or
//! closes, a new task picks up where the old one stopped. The keep-alive
//! deadline and shutdown apply to parked connections as to the others.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::connection::{self, Shared};
use crate::pool::Ticket;

/// How long a connection first waits for its next request before it is
/// parked: longer than the gaps inside a burst of requests (a page and its
/// assets, a benchmark), short enough that thousands of connections opened
/// at once hold only their table entries soon after.
pub const PARK_AFTER: Duration = Duration::from_millis(25);

/// Parking and waking cost a few system calls (about 6 µs of CPU). A
/// client that comes back sooner than it had waited before being parked
/// has its delay doubled, up to `PARK_AFTER << PARK_LEVELS` (1.6 s), so a
/// steadily paced client stops paying for it; one that stays away longer
/// has it halved again.
pub const PARK_LEVELS: u8 = 6;

/// The parking delay at `level`.
pub fn park_after(level: u8) -> Duration {
    PARK_AFTER * (1 << level.min(PARK_LEVELS))
}

/// Ready sockets taken from the kernel per `epoll_wait` call.
const WAKE_BATCH: usize = 64;

/// A parked connection: all its next task needs to carry on.
#[derive(Debug)]
pub struct Parked {
    pub stream: std::net::TcpStream,
    pub peer: SocketAddr,
    /// Its place under `--max-connections` and on its worker.
    pub ticket: Ticket,
    /// Requests served so far, for `--max-requests`.
    pub served: u32,
    /// When the keep-alive (or first-request) timeout closes it.
    pub deadline: Instant,
    /// Its parking delay, as a level for [`park_after`].
    pub level: u8,
    /// When it was parked.
    pub since: Instant,
}

impl Parked {
    /// The parking level for the woken connection: up when it came back
    /// sooner than it had waited, down when it stayed away longer.
    pub fn next_level(&self, now: Instant) -> u8 {
        if now.duration_since(self.since) < park_after(self.level) {
            (self.level + 1).min(PARK_LEVELS)
        } else {
            self.level.saturating_sub(1)
        }
    }
}

/// A worker's parked connections and the epoll instance watching them.
pub struct Parking {
    epoll: AsyncFd<OwnedFd>,
    table: Mutex<Table>,
    /// Wakes the table task when a deadline earlier than all others arrives.
    earlier_deadline: Notify,
}

/// Slots addressed by index and generation, so a stale epoll event or
/// timer entry for a slot since reused is recognised and ignored.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Deadlines by key; may hold entries of connections that woke up,
    /// which are skipped (and swept out when they outnumber the live ones).
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    parked: usize,
    /// Set at shutdown: nothing more may park.
    closed: bool,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    parked: Option<Parked>,
}

impl Parking {
    /// Creates this worker's table and starts the task that wakes and
    /// expires its connections; must run inside the worker's runtime.
    pub fn start(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) -> io::Result<Arc<Parking>> {
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
        });
        tokio::spawn(Arc::clone(&parking).watch(shared, shutdown));
        Ok(parking)
    }

    /// Takes `conn` off the runtime; on error the connection is dropped,
    /// which closes it.
    pub fn park(&self, conn: Parked) -> io::Result<()> {
        let fd = conn.stream.as_raw_fd();
        let deadline = conn.deadline;
        let mut table = self.lock();
        if table.closed {
            return Err(io::Error::other("shutting down"));
        }
        let key = table.insert(conn);
        if let Err(err) = self.watch_fd(fd, key) {
            table.take(key);
            return Err(err);
        }
        let earliest = table.deadlines.peek().map(|Reverse((at, _))| *at);
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

    /// The table task: resumes connections whose clients sent something,
    /// closes those past their deadline, and closes all at shutdown.
    async fn watch(self: Arc<Self>, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
        let mut stopping = shutdown.clone();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; WAKE_BATCH];
        loop {
            let next = self.lock().next_deadline();
            tokio::select! {
                ready = self.epoll.readable() => {
                    let Ok(mut guard) = ready else { break };
                    let woken = guard.try_io(|fd| wait_ready(fd.as_raw_fd(), &mut events));
                    if let Ok(Ok(count)) = woken {
                        self.resume(&events[..count], &shared, &shutdown);
                    }
                }
                () = sleep_until(next) => self.lock().expire(Instant::now()),
                () = self.earlier_deadline.notified() => {}
                _ = stopping.wait_for(|&stop| stop) => break,
            }
        }
        self.lock().close_all();
    }

    /// Hands the sockets behind `events` back to the runtime, each to a
    /// new connection task.
    fn resume(
        self: &Arc<Self>,
        events: &[libc::epoll_event],
        shared: &Arc<Shared>,
        shutdown: &watch::Receiver<bool>,
    ) {
        for event in events {
            let Some(parked) = self.lock().take(event.u64) else {
                continue;
            };
            let worker = connection::Worker {
                shared: Arc::clone(shared),
                shutdown: shutdown.clone(),
                parking: Some(Arc::clone(self)),
            };
            tokio::spawn(connection::resume(parked, worker));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while holding the lock leaves the table consistent
        // enough (every operation is a few field updates).
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many connections are parked now.
    pub fn parked(&self) -> usize {
        self.lock().parked
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

impl Table {
    fn insert(&mut self, conn: Parked) -> u64 {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        let slot = &mut self.slots[index as usize];
        slot.parked = Some(conn);
        self.parked += 1;
        (u64::from(index) << 32) | u64::from(slot.generation)
    }

    /// Removes and returns the connection under `key`, if it is still there.
    fn take(&mut self, key: u64) -> Option<Parked> {
        let index = (key >> 32) as usize;
        let slot = self.slots.get_mut(index)?;
        if u64::from(slot.generation) != key & 0xffff_ffff || slot.parked.is_none() {
            return None;
        }
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index as u32);
        self.parked -= 1;
        slot.parked.take()
    }

    /// The earliest deadline of a connection still parked.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, key))) = self.deadlines.peek() {
            if self.holds(key) {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    fn holds(&self, key: u64) -> bool {
        self.slots.get((key >> 32) as usize).is_some_and(|slot| {
            u64::from(slot.generation) == key & 0xffff_ffff && slot.parked.is_some()
        })
    }

    /// Closes the connections whose deadline has passed.
    fn expire(&mut self, now: Instant) {
        while let Some(&Reverse((at, key))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if let Some(parked) = self.take(key) {
                tracing::debug!(peer = %parked.peer, requests = parked.served, "connection ended");
            }
        }
    }

    /// Records when `key` expires. Entries of connections that woke up are
    /// dropped lazily; this keeps them from piling up when connections
    /// park and wake often.
    fn push_deadline(&mut self, at: Instant, key: u64) {
        self.deadlines.push(Reverse((at, key)));
        if self.deadlines.len() > 2 * self.parked + 1024 {
            let mut all = std::mem::take(&mut self.deadlines).into_vec();
            all.retain(|Reverse((_, key))| self.holds(*key));
            self.deadlines = all.into();
        }
    }

    fn close_all(&mut self) {
        self.closed = true;
        for slot in &mut self.slots {
            slot.parked = None;
        }
        self.parked = 0;
        self.deadlines.clear();
    }
}

#[cfg(test)]
#[path = "idle_tests.rs"]
mod tests;
