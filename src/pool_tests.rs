use super::*;

fn permit() -> OwnedSemaphorePermit {
    Arc::new(tokio::sync::Semaphore::new(1))
        .try_acquire_owned()
        .unwrap()
}

#[test]
fn tickets_count_on_their_worker_until_dropped() {
    let (pool, _inboxes) = Pool::new(2, 2);
    let a = pool.ticket(0, permit());
    let b = pool.ticket(1, permit());
    let c = pool.ticket(1, permit());
    assert_eq!(pool.held(), [1, 2]);
    drop(b);
    assert_eq!(pool.held(), [1, 1]);
    drop((a, c));
    assert_eq!(pool.held(), [0, 0]);
}

#[test]
fn active_workers_keep_their_connections() {
    let (pool, _inboxes) = Pool::new(3, 3);
    let t = pool.ticket(1, permit());
    assert_eq!(t.move_target(), None);
}

#[test]
fn an_inactive_worker_hands_everything_to_the_least_loaded_active_one() {
    let (pool, _inboxes) = Pool::new(3, 3);
    let _on0: Vec<_> = (0..3).map(|_| pool.ticket(0, permit())).collect();
    let _on1 = pool.ticket(1, permit());
    let on2: Vec<_> = (0..2).map(|_| pool.ticket(2, permit())).collect();
    pool.set_active(2);
    assert_eq!(pool.active(), 2);
    for t in &on2 {
        assert_eq!(t.move_target(), Some(1), "worker 1 holds fewest");
    }
    assert_eq!(_on1.move_target(), None);
    assert_eq!(_on0[0].move_target(), None);
}

#[test]
fn a_new_active_worker_gets_the_excess_of_the_busy_ones() {
    let (pool, _inboxes) = Pool::new(2, 1);
    let on0: Vec<_> = (0..5).map(|_| pool.ticket(0, permit())).collect();
    pool.set_active(2);
    // 5 over 2 workers: worker 0 keeps 2 (its share rounded down) and
    // sheds 3; a sixth boundary stays put.
    let moving: Vec<_> = on0.iter().filter_map(Ticket::move_target).collect();
    assert_eq!(moving, [1, 1, 1]);
}

#[test]
fn the_active_count_is_clamped_and_watched() {
    let (pool, _inboxes) = Pool::new(2, 5);
    assert_eq!(pool.active(), 2);
    let watch = pool.watch_active();
    pool.set_active(0);
    assert_eq!(pool.active(), 1, "worker 0 always accepts");
    assert_eq!(*watch.borrow(), 1);
    pool.set_active(9);
    assert_eq!(pool.active(), 2);
}

#[tokio::test]
async fn a_moved_connection_arrives_in_its_new_workers_inbox_counted_there() {
    let (pool, mut inboxes) = Pool::new(2, 2);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (stream, peer) = listener.accept().unwrap();
    let ticket = pool.ticket(0, permit());
    let moved = crate::connection::Moved::for_test(stream, peer, ticket, b"GET /");
    Ticket::send(moved, 1);
    assert_eq!(pool.held(), [0, 1]);
    let arrived = inboxes[1].recv().await.unwrap();
    assert_eq!(arrived.ticket.worker(), 1);
    drop(arrived);
    assert_eq!(pool.held(), [0, 0], "closing it gives the count back");
}

#[test]
fn evening_out_moves_the_excess_to_the_emptier_worker() {
    let (pool, _inboxes) = Pool::new(2, 2);
    let on1: Vec<_> = (0..4).map(|_| pool.ticket(1, permit())).collect();
    let on0 = pool.ticket(0, permit());
    pool.even_out();
    let moving: Vec<_> = on1.iter().filter_map(Ticket::move_target).collect();
    assert_eq!(moving, [0, 0], "5 over 2: worker 1 keeps 2, sheds 2");
    assert_eq!(on0.move_target(), None);
}
