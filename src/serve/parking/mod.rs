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
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::serve::connection::{self, Shared};
use crate::serve::limits::{PARK_AFTER, PARK_LEVELS, WAKE_BATCH};
use crate::serve::pool::Ticket;
use crate::shutdown::Shutdown;

/// The parking delay at `level`.
pub fn park_after(level: u8) -> Duration {
    PARK_AFTER * (1 << level.min(PARK_LEVELS))
}

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
    /// Once stopping, nothing more may park.
    shutdown: Shutdown,
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
}

#[derive(Default)]
struct Slot {
    generation: u32,
    parked: Option<Parked>,
}

impl Parking {
    /// Creates this worker's table and starts the task that wakes and
    /// expires its connections; must run inside the worker's runtime.
    pub fn start(shared: Arc<Shared>, shutdown: Shutdown) -> io::Result<Arc<Parking>> {
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
        });
        tokio::spawn(Arc::clone(&parking).watch(shared));
        Ok(parking)
    }

    /// Takes `conn` off the runtime; on error the connection is dropped,
    /// which closes it.
    pub fn park(&self, conn: Parked) -> io::Result<()> {
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
    async fn watch(self: Arc<Self>, shared: Arc<Shared>) {
        let mut stopping = self.shutdown.clone();
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; WAKE_BATCH];
        loop {
            let next = self.lock().next_deadline();
            tokio::select! {
                ready = self.epoll.readable() => {
                    let Ok(mut guard) = ready else { break };
                    let woken = guard.try_io(|fd| wait_ready(fd.as_raw_fd(), &mut events));
                    if let Ok(Ok(count)) = woken {
                        self.resume(&events[..count], &shared);
                    }
                }
                () = sleep_until(next) => self.lock().expire(Instant::now()),
                () = self.earlier_deadline.notified() => {}
                () = stopping.stopping() => break,
            }
        }
        self.lock().close_all();
    }

    /// Hands the sockets behind `events` back to the runtime, each to a
    /// new connection task.
    fn resume(self: &Arc<Self>, events: &[libc::epoll_event], shared: &Arc<Shared>) {
        for event in events {
            let Some(parked) = self.lock().take(event.u64) else {
                continue;
            };
            let worker = connection::Worker {
                shared: Arc::clone(shared),
                shutdown: self.shutdown.clone(),
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
        for slot in &mut self.slots {
            slot.parked = None;
        }
        self.parked = 0;
        self.deadlines.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked_pair() -> (std::net::TcpStream, Parked) {
        // Unit tests of the table need real descriptors, not connections.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        let permit = Arc::new(tokio::sync::Semaphore::new(1))
            .try_acquire_owned()
            .unwrap();
        let parked = Parked {
            stream: server,
            peer,
            ticket: crate::serve::pool::Pool::new(1, 1).0.ticket(0, permit),
            served: 3,
            deadline: Instant::now() + Duration::from_secs(60),
            level: 0,
            since: Instant::now(),
        };
        (client, parked)
    }

    #[test]
    fn a_key_is_taken_once_and_stale_keys_miss() {
        let mut table = Table::default();
        let (_c1, p1) = parked_pair();
        let key = table.insert(p1);
        assert_eq!(table.parked, 1);
        assert_eq!(table.take(key).map(|p| p.served), Some(3));
        assert!(table.take(key).is_none(), "taken twice");
        // The slot is reused under a new generation: the old key misses.
        let (_c2, p2) = parked_pair();
        let key2 = table.insert(p2);
        assert_eq!(key2 >> 32, key >> 32, "slot reused");
        assert_ne!(key2, key);
        assert!(table.take(key).is_none(), "stale key took a new connection");
        assert!(table.take(key2).is_some());
        assert!(table.take(u64::MAX).is_none(), "unknown slot");
    }

    #[test]
    fn expiry_closes_only_connections_past_their_deadline() {
        let mut table = Table::default();
        let now = Instant::now();
        let (mut early_client, mut early) = parked_pair();
        early.deadline = now + Duration::from_secs(1);
        let (_late_client, mut late) = parked_pair();
        late.deadline = now + Duration::from_secs(5);
        let (at_early, at_late) = (early.deadline, late.deadline);
        let early_key = table.insert(early);
        table.push_deadline(at_early, early_key);
        let late_key = table.insert(late);
        table.push_deadline(at_late, late_key);
        assert_eq!(table.next_deadline(), Some(at_early));
        table.expire(now + Duration::from_secs(2));
        assert_eq!(table.parked, 1);
        assert!(!table.holds(early_key) && table.holds(late_key));
        assert_eq!(table.next_deadline(), Some(at_late));
        // The expired connection was closed: its client reads end of stream.
        use std::io::Read;
        early_client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(early_client.read(&mut [0u8; 1]).unwrap(), 0);
    }

    #[test]
    fn woken_connections_leave_no_deadline_behind_for_long() {
        let mut table = Table::default();
        let (_client, mut conn) = parked_pair();
        for _ in 0..5000 {
            conn.deadline = Instant::now() + Duration::from_secs(60);
            let at = conn.deadline;
            let key = table.insert(conn);
            table.push_deadline(at, key);
            conn = table.take(key).unwrap();
        }
        assert!(
            table.deadlines.len() <= 1024 + 1,
            "{}",
            table.deadlines.len()
        );
        assert_eq!(table.next_deadline(), None);
    }

    /// Refusing parks once shutdown has started is the parking's part,
    /// checked under the table's lock (see the tests below).
    #[test]
    fn closing_the_table_drops_every_connection() {
        let mut table = Table::default();
        let (_c, p) = parked_pair();
        let semaphore = Arc::clone(p.ticket.permit().semaphore());
        table.insert(p);
        assert_eq!(semaphore.available_permits(), 0);
        table.close_all();
        assert_eq!(table.parked, 0);
        assert_eq!(table.next_deadline(), None);
        assert_eq!(semaphore.available_permits(), 1, "permit returned");
    }

    /// A served connection, its client, and what the test needs to watch it.
    struct Setup {
        client: tokio::net::TcpStream,
        parking: Arc<Parking>,
        slots: Arc<tokio::sync::Semaphore>,
        control: crate::shutdown::Control,
        /// Two workers; the connection and the parking table are worker 1's.
        pool: Arc<crate::serve::pool::Pool>,
        inboxes: Vec<crate::serve::pool::Inbox>,
        shared: Arc<Shared>,
        _root: tempfile::TempDir,
    }

    /// Serves one loopback connection over a root holding `a.txt`, with
    /// parking on (the clock is paused, so waiting costs no real time).
    async fn setup() -> Setup {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.txt"), "hello").unwrap();
        let shared = crate::serve::connection::tests::shared_for(root.path());
        let control = crate::shutdown::Control::new();
        control.enter(crate::shutdown::Phase::Running);
        let parking = Parking::start(Arc::clone(&shared), control.subscribe()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        let permit = Arc::clone(&slots).try_acquire_owned().unwrap();
        let worker = connection::Worker {
            shared: Arc::clone(&shared),
            shutdown: control.subscribe(),
            parking: Some(Arc::clone(&parking)),
        };
        let (pool, inboxes) = crate::serve::pool::Pool::new(2, 2);
        let ticket = pool.ticket(1, permit);
        tokio::spawn(connection::serve(stream, peer, ticket, worker));
        Setup {
            client,
            parking,
            slots,
            control,
            pool,
            inboxes,
            shared,
            _root: root,
        }
    }

    /// [`setup`], one request answered, and the connection parked since.
    async fn setup_parked() -> Setup {
        let mut s = setup().await;
        get(&mut s.client).await;
        let parking = Arc::clone(&s.parking);
        idle_until(Duration::from_secs(2), || parking.parked() == 1).await;
        s
    }

    /// Sends a GET for /a.txt and reads the whole response.
    async fn get(client: &mut tokio::net::TcpStream) -> String {
        use tokio::io::AsyncWriteExt;
        client
            .write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        read_hello(client).await
    }

    /// Reads a response to a GET for /a.txt.
    async fn read_hello(client: &mut tokio::net::TcpStream) -> String {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"hello") {
            let n = client.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed mid-response: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(got).unwrap()
    }

    /// Advances the paused clock in small steps until `done`, at most `limit`.
    async fn idle_until(limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < limit,
                "condition not met within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        start.elapsed()
    }

    /// Reads until end of stream, which must come.
    async fn read_eof(client: &mut tokio::net::TcpStream) {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 64];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0, "expected a close");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_parks_and_its_next_request_resumes_it() {
        let mut s = setup().await;
        assert!(get(&mut s.client).await.starts_with("HTTP/1.1 200 OK\r\n"));
        let parking = Arc::clone(&s.parking);
        let waited = idle_until(Duration::from_secs(2), || parking.parked() == 1).await;
        assert!(waited >= PARK_AFTER, "parked after {waited:?}");
        assert!(get(&mut s.client).await.starts_with("HTTP/1.1 200 OK\r\n"));
        assert_eq!(s.parking.parked(), 0, "resumed to answer");
        // And it parks again once idle: parking is not a one-way trip.
        idle_until(Duration::from_secs(2), || parking.parked() == 1).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_parked_on_a_worker_no_longer_active_wakes_on_another() {
        use tokio::io::AsyncWriteExt;
        let mut s = setup_parked().await;
        s.pool.set_active(1);
        s.client
            .write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        // Woken on worker 1, it goes straight to worker 0, request and all.
        let moved = s.inboxes[0].recv().await.unwrap();
        assert_eq!(s.pool.held(), [1, 0]);
        let worker0 = connection::Worker {
            shared: Arc::clone(&s.shared),
            shutdown: s.control.subscribe(),
            parking: None,
        };
        tokio::spawn(connection::arrive(moved, worker0));
        assert!(
            read_hello(&mut s.client)
                .await
                .starts_with("HTTP/1.1 200 OK\r\n")
        );
        assert_eq!(s.parking.parked(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_parked_connection_still_closes_at_the_keepalive_timeout() {
        let mut s = setup().await;
        get(&mut s.client).await;
        let started = Instant::now();
        let parking = Arc::clone(&s.parking);
        idle_until(Duration::from_secs(2), || parking.parked() == 1).await;
        read_eof(&mut s.client).await;
        let keepalive = s.shared.limits.keepalive_timeout;
        assert!(
            started.elapsed() >= keepalive,
            "closed after {:?}",
            started.elapsed()
        );
        assert_eq!(s.parking.parked(), 0);
        assert_eq!(
            s.slots.available_permits(),
            1,
            "the connection's slot is free"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_closes_parked_connections_and_frees_their_slots() {
        let mut s = setup_parked().await;
        s.control.enter(crate::shutdown::Phase::Stopping);
        read_eof(&mut s.client).await;
        assert_eq!(
            s.slots.available_permits(),
            1,
            "the connection's slot is free"
        );
        let (_client, late) = parked_pair();
        assert!(s.parking.park(late).is_err(), "parked after shutdown");
    }

    /// Once stopping, a park is refused even before the table task has
    /// closed the table: nothing parks into a table no one will close.
    #[tokio::test(start_paused = true)]
    async fn a_park_racing_with_shutdown_is_refused() {
        let s = setup().await;
        s.control.enter(crate::shutdown::Phase::Stopping);
        let (_client, late) = parked_pair();
        assert!(s.parking.park(late).is_err(), "parked after shutdown");
        assert_eq!(s.parking.parked(), 0);
    }

    #[test]
    fn clients_that_come_back_quickly_are_parked_later() {
        let (_client, mut conn) = parked_pair();
        let since = conn.since;
        assert_eq!(park_after(0), PARK_AFTER);
        // Back sooner than it had waited: the delay doubles, up to the cap.
        assert_eq!(conn.next_level(since + PARK_AFTER / 2), 1);
        conn.level = PARK_LEVELS;
        assert_eq!(conn.next_level(since), PARK_LEVELS);
        assert_eq!(park_after(PARK_LEVELS + 3), park_after(PARK_LEVELS));
        // Away longer than it had waited: the delay halves, down to the first.
        assert_eq!(
            conn.next_level(since + park_after(PARK_LEVELS)),
            PARK_LEVELS - 1
        );
        conn.level = 0;
        assert_eq!(conn.next_level(since + Duration::from_secs(10)), 0);
    }
}
