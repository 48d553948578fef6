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
        ticket: crate::pool::Pool::new(1, 1).0.ticket(0, permit),
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

#[test]
fn closing_the_table_drops_every_connection_and_refuses_more() {
    let mut table = Table::default();
    let (_c, p) = parked_pair();
    let semaphore = Arc::clone(p.ticket.permit().semaphore());
    table.insert(p);
    assert_eq!(semaphore.available_permits(), 0);
    table.close_all();
    assert_eq!(table.parked, 0);
    assert!(table.closed);
    assert_eq!(semaphore.available_permits(), 1, "permit returned");
}

/// A served connection, its client, and what the test needs to watch it.
struct Setup {
    client: tokio::net::TcpStream,
    parking: Arc<Parking>,
    slots: Arc<tokio::sync::Semaphore>,
    shutdown: watch::Sender<bool>,
    /// Two workers; the connection and the parking table are worker 1's.
    pool: Arc<crate::pool::Pool>,
    inboxes: Vec<crate::pool::Inbox>,
    shared: Arc<Shared>,
    _root: tempfile::TempDir,
}

/// Serves one loopback connection over a root holding `a.txt`, with
/// parking on (the clock is paused, so waiting costs no real time).
async fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "hello").unwrap();
    let shared = crate::connection::tests::shared_for(root.path());
    let (shutdown, rx) = watch::channel(false);
    let parking = Parking::start(Arc::clone(&shared), rx.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (stream, peer) = listener.accept().await.unwrap();
    let slots = Arc::new(tokio::sync::Semaphore::new(1));
    let permit = Arc::clone(&slots).try_acquire_owned().unwrap();
    let worker = connection::Worker {
        shared: Arc::clone(&shared),
        shutdown: rx,
        parking: Some(Arc::clone(&parking)),
    };
    let (pool, inboxes) = crate::pool::Pool::new(2, 2);
    let ticket = pool.ticket(1, permit);
    tokio::spawn(connection::serve(stream, peer, ticket, worker));
    Setup {
        client,
        parking,
        slots,
        shutdown,
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
        shutdown: s.shutdown.subscribe(),
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
    let keepalive = crate::Config::for_root(std::path::Path::new(".")).keepalive_timeout;
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
    s.shutdown.send_replace(true);
    read_eof(&mut s.client).await;
    assert_eq!(
        s.slots.available_permits(),
        1,
        "the connection's slot is free"
    );
    let (_client, late) = parked_pair();
    assert!(s.parking.park(late).is_err(), "parked after shutdown");
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
