//! The workers: their threads, and what each gives its connections: its
//! parking table (a connection woken there carries on on the same worker)
//! and its inbox (connections moved to it are started there).

use crate::ops::metrics::count_as_worker;
use std::io;
use std::sync::Arc;

use crate::serve::accept::{Context, accept_while_active};
use crate::serve::connection::{self, Shared, Worker};
use crate::serve::idle::Inbox;
use crate::serve::live::Live;
use crate::serve::parking::Parking;
use crate::shutdown::{Phase, Shutdown};

/// A worker thread with its own runtime: it waits for the server to run,
/// accepts while active until shutdown (on a `steered` socket of its own:
/// all the time, since only the active workers' get new connections),
/// and keeps its connections going until the server is finished (or gone).
pub(super) fn spawn_worker(
    index: usize,
    listener: crate::serve::listener::Listener,
    context: Context,
    inbox: Inbox,
    steered: bool,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("staticd-w{index}"))
        .spawn(move || {
            runtime.block_on(async move {
                let mut shutdown = context.shutdown.clone();
                if shutdown.reached(Phase::Running).await == Phase::Finished {
                    return;
                }
                context.pool.register_thread(index);
                let worker = start_worker(&context, index, inbox);
                let mut stopping = shutdown.clone();
                let stop = async move { stopping.stopping().await };
                accept_while_active(listener, index, &context, &worker, stop, steered).await;
                shutdown.reached(Phase::Finished).await;
            });
            // Dropping the runtime cuts connections still open past the
            // grace period.
            runtime.shutdown_background();
        })?;
    Ok(())
}

/// What a worker's connections get from it; starts its parking table and
/// the task taking in connections moved to it.
/// Runs on worker `index`'s thread, which from here counts in its own row
/// of the metrics.
pub(super) fn start_worker(context: &Context, index: usize, inbox: Inbox) -> Worker {
    count_as_worker(index);
    let worker = worker(Arc::clone(&context.live), context.shutdown.clone());
    if let (Some(parking), Some(slot)) = (&worker.parking, context.parkings.get(index)) {
        let _ = slot.set(Arc::clone(parking));
    }
    tokio::spawn(take_arrivals(inbox, worker.clone()));
    worker
}

/// A worker for connections on the current runtime, with its parking
/// table: a connection woken there carries on here, and may park again.
fn worker(live: Arc<Live<Shared>>, shutdown: Shutdown) -> Worker {
    let shared = live.current();
    let (woken_live, woken_shutdown) = (Arc::clone(&live), shutdown.clone());
    let wake = move |idle, parking: &Arc<Parking>| {
        let worker = Worker {
            shared: woken_live.current(),
            live: Arc::clone(&woken_live),
            shutdown: woken_shutdown.clone(),
            parking: Some(Arc::clone(parking)),
        };
        tokio::spawn(connection::wake(idle, worker));
    };
    let parking = Parking::start(shutdown.clone(), Arc::clone(&shared.metrics), wake)
        .inspect_err(|err| tracing::warn!(error = %err, "idle connections will not be parked"))
        .ok();
    Worker {
        shared,
        live,
        shutdown,
        parking,
    }
}

/// Starts each connection moved to this worker, until the server is
/// finished. (Every connection can reach every inbox, so an inbox does not
/// close on its own while connections are open.)
async fn take_arrivals(mut inbox: Inbox, worker: Worker) {
    let mut shutdown = worker.shutdown.clone();
    let finished = shutdown.reached(Phase::Finished);
    tokio::pin!(finished);
    loop {
        let moved = tokio::select! {
            biased;
            moved = inbox.recv() => moved,
            _ = &mut finished => return,
        };
        let Some(moved) = moved else { return };
        tokio::spawn(connection::arrive(moved, worker.clone()));
    }
}

#[cfg(test)]
mod tests {
    //! Connections served through a worker's parking table.

    use std::time::Duration;

    use tokio::sync::Semaphore;
    use tokio::time::Instant;

    use super::*;
    use crate::serve::connection::tests::live_with;
    use crate::serve::idle::Handoff;
    use crate::serve::idle::tests::idle_on;
    use crate::serve::limits::PARK_AFTER;
    use crate::serve::pool::Pool;
    use crate::shutdown::Control;

    /// A served connection, its client, and what the test needs to watch it.
    struct Setup {
        client: tokio::net::TcpStream,
        parking: Arc<Parking>,
        slots: Arc<Semaphore>,
        control: Control,
        /// Two workers; the connection and the parking table are worker 1's.
        pool: Arc<Pool>,
        inboxes: Vec<Inbox>,
        live: Arc<Live<Shared>>,
        _root: tempfile::TempDir,
    }

    /// Serves one loopback connection over a root holding `a.txt`, with
    /// parking on (the clock is paused, so waiting costs no real time).
    async fn setup() -> Setup {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.txt"), "hello").unwrap();
        let (handoff, inboxes) = Handoff::new(2);
        let live = live_with(root.path(), handoff);
        let control = Control::new();
        control.enter(Phase::Running);
        let worker = worker(Arc::clone(&live), control.subscribe());
        let parking = Arc::clone(worker.parking.as_ref().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let slots = Arc::new(Semaphore::new(1));
        let permit = Arc::clone(&slots).try_acquire_owned().unwrap();
        let pool = Pool::new(2, 2);
        let ticket = pool.ticket(1, permit);
        tokio::spawn(connection::serve(
            crate::serve::stream::Stream::Tcp(stream),
            peer.into(),
            ticket,
            worker,
            connection::Role::Site,
        ));
        Setup {
            client,
            parking,
            slots,
            control,
            pool,
            inboxes,
            live,
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
        let worker0 = Worker {
            shared: s.live.current(),
            live: Arc::clone(&s.live),
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
        let keepalive = s.live.current().limits.keepalive_timeout;
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
        s.control.enter(Phase::Stopping);
        read_eof(&mut s.client).await;
        assert_eq!(
            s.slots.available_permits(),
            1,
            "the connection's slot is free"
        );
        let (_client, late) = idle_on(&s.pool, b"");
        assert!(s.parking.park(late).is_err(), "parked after shutdown");
    }

    /// Once stopping, a park is refused even before the table task has
    /// closed the table: nothing parks into a table no one will close.
    #[tokio::test(start_paused = true)]
    async fn a_park_racing_with_shutdown_is_refused() {
        let s = setup().await;
        s.control.enter(Phase::Stopping);
        let (_client, late) = idle_on(&s.pool, b"");
        assert!(s.parking.park(late).is_err(), "parked after shutdown");
        assert_eq!(s.parking.parked(), 0);
    }
}
