//! The workers as a pool: which of them take new connections, how many
//! connections each holds, and which connections should move to another
//! worker. The pool only counts and decides; [`crate::serve::idle`] carries
//! a connection that moves.
//!
//! A worker thread is only worth having while it has a CPU of its own.
//! When the machine is busy (a load generator on the other core, a build,
//! another server), a second worker competes with it and with the first
//! worker, and every request pays for the extra context switches and
//! cache misses. So the pool keeps a number of *active* workers: only
//! those accept, and connections held by a worker that stops being active
//! move to the active ones. [`crate::serve::balance`] decides how many are active.
//!
//! A connection moves only between two requests, at the point where its
//! task would wait for the next one: its socket leaves one runtime and is
//! registered with another, with any bytes already read (pipelined
//! requests) carried along. Checking whether to move costs two relaxed
//! atomic loads per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::Relaxed};

use tokio::sync::{OwnedSemaphorePermit, watch};

/// One worker's counters, each on its own cache line: they change with
/// every connection opened or closed, on that worker's thread.
#[repr(align(128))]
struct Load {
    /// Connections this worker holds, serving or parked.
    held: AtomicUsize,
    /// How many of them should move to another worker at their next
    /// request boundary (set when a worker becomes active).
    shed: AtomicUsize,
    /// The worker thread's kernel id, for its scheduler statistics.
    tid: AtomicI32,
}

/// The workers, by index; worker 0 is always active.
pub struct Pool {
    loads: Box<[Load]>,
    active: AtomicUsize,
    /// The same count, for accept loops waiting to start or stop.
    active_watch: watch::Sender<usize>,
}

impl Pool {
    /// A pool of `workers` with `active` of them accepting.
    pub fn new(workers: usize, active: usize) -> Arc<Pool> {
        let workers = workers.max(1);
        let active = active.clamp(1, workers);
        let loads = (0..workers)
            .map(|_| Load {
                held: AtomicUsize::new(0),
                shed: AtomicUsize::new(0),
                tid: AtomicI32::new(0),
            })
            .collect();
        Arc::new(Pool {
            loads,
            active: AtomicUsize::new(active),
            active_watch: watch::channel(active).0,
        })
    }

    /// How many workers there are.
    pub fn workers(&self) -> usize {
        self.loads.len()
    }

    /// How many workers are active: workers `0..active()` accept.
    pub fn active(&self) -> usize {
        self.active.load(Relaxed)
    }

    /// Follows the active count, for an accept loop.
    pub fn watch_active(&self) -> watch::Receiver<usize> {
        self.active_watch.subscribe()
    }

    /// Makes `n` workers active (at least one, at most all). Workers that
    /// stop being active hand over all their connections; when workers
    /// become active, each busier one hands over what it holds above an
    /// even share.
    pub fn set_active(&self, n: usize) {
        let n = n.clamp(1, self.loads.len());
        let old = self.active.swap(n, Relaxed);
        self.shed_excess(if n > old { old } else { 0 });
        self.active_watch.send_replace(n);
    }

    /// Asks each active worker holding more than an even share to hand
    /// the excess to the others.
    pub fn even_out(&self) {
        self.shed_excess(self.active());
    }

    /// Workers `0..shedding` shed what they hold above an even share of
    /// the active workers' connections; the others shed nothing (those no
    /// longer active hand over everything anyway).
    fn shed_excess(&self, shedding: usize) {
        let n = self.active();
        let held = self.held();
        let fair = held[..n].iter().sum::<usize>() / n;
        for (i, load) in self.loads.iter().enumerate() {
            let excess = if i < shedding {
                held[i].saturating_sub(fair)
            } else {
                0
            };
            load.shed.store(excess, Relaxed);
        }
    }

    /// Connections held by each worker, serving or parked.
    pub fn held(&self) -> Vec<usize> {
        self.loads.iter().map(|l| l.held.load(Relaxed)).collect()
    }

    /// Records the calling thread as worker `index`'s.
    pub fn register_thread(&self, index: usize) {
        // SAFETY: gettid takes no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        self.loads[index].tid.store(tid, Relaxed);
    }

    /// The kernel thread ids of the workers (0 for one not started yet).
    pub fn thread_ids(&self) -> Vec<i32> {
        self.loads.iter().map(|l| l.tid.load(Relaxed)).collect()
    }

    /// A new connection's ticket on worker `index`.
    pub fn ticket(self: &Arc<Pool>, index: usize, permit: OwnedSemaphorePermit) -> Ticket {
        self.loads[index].held.fetch_add(1, Relaxed);
        Ticket {
            permit,
            pool: Arc::clone(self),
            worker: index,
        }
    }

    /// Where a connection on worker `me` should move, if anywhere: to the
    /// active worker holding fewest, when `me` is not active or has been
    /// asked to shed.
    fn move_target(&self, me: usize) -> Option<usize> {
        let active = self.active.load(Relaxed);
        // (fetch_update only loads while there is nothing to shed: the
        // usual case costs no read-modify-write.)
        let shed = &self.loads[me].shed;
        if me < active
            && shed
                .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
                .is_err()
        {
            return None;
        }
        (0..active)
            .filter(|&i| i != me)
            .min_by_key(|&i| self.loads[i].held.load(Relaxed))
    }
}

/// A connection's place: under `--max-connections` (the permit) and on
/// the count of the worker holding it. It travels with the connection,
/// parked or moved, and gives both back when the connection closes.
pub struct Ticket {
    permit: OwnedSemaphorePermit,
    pool: Arc<Pool>,
    worker: usize,
}

impl Ticket {
    /// The worker holding the connection.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// The `--max-connections` permit.
    pub fn permit(&self) -> &OwnedSemaphorePermit {
        &self.permit
    }

    /// Where the connection should move now, if anywhere; see
    /// [`Pool::set_active`].
    pub fn move_target(&self) -> Option<usize> {
        self.pool.move_target(self.worker)
    }

    /// Counts the connection on worker `target` from now on, as it moves
    /// there.
    pub fn move_to(&mut self, target: usize) {
        self.pool.loads[target].held.fetch_add(1, Relaxed);
        self.pool.loads[self.worker].held.fetch_sub(1, Relaxed);
        self.worker = target;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.pool.loads[self.worker].held.fetch_sub(1, Relaxed);
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permit() -> OwnedSemaphorePermit {
        Arc::new(tokio::sync::Semaphore::new(1))
            .try_acquire_owned()
            .unwrap()
    }

    #[test]
    fn tickets_count_on_their_worker_until_dropped() {
        let pool = Pool::new(2, 2);
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
        let pool = Pool::new(3, 3);
        let t = pool.ticket(1, permit());
        assert_eq!(t.move_target(), None);
    }

    #[test]
    fn an_inactive_worker_hands_everything_to_the_least_loaded_active_one() {
        let pool = Pool::new(3, 3);
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
        let pool = Pool::new(2, 1);
        let on0: Vec<_> = (0..5).map(|_| pool.ticket(0, permit())).collect();
        pool.set_active(2);
        // 5 over 2 workers: worker 0 keeps 2 (its share rounded down) and
        // sheds 3; a sixth boundary stays put.
        let moving: Vec<_> = on0.iter().filter_map(Ticket::move_target).collect();
        assert_eq!(moving, [1, 1, 1]);
    }

    #[test]
    fn the_active_count_is_clamped_and_watched() {
        let pool = Pool::new(2, 5);
        assert_eq!(pool.active(), 2);
        let watch = pool.watch_active();
        pool.set_active(0);
        assert_eq!(pool.active(), 1, "worker 0 always accepts");
        assert_eq!(*watch.borrow(), 1);
        pool.set_active(9);
        assert_eq!(pool.active(), 2);
    }

    #[test]
    fn evening_out_moves_the_excess_to_the_emptier_worker() {
        let pool = Pool::new(2, 2);
        let on1: Vec<_> = (0..4).map(|_| pool.ticket(1, permit())).collect();
        let on0 = pool.ticket(0, permit());
        pool.even_out();
        let moving: Vec<_> = on1.iter().filter_map(Ticket::move_target).collect();
        assert_eq!(moving, [0, 0], "5 over 2: worker 1 keeps 2, sheds 2");
        assert_eq!(on0.move_target(), None);
    }
}
