//! Where work too slow for an event loop runs: credential checks (bcrypt
//! takes tens of milliseconds of CPU) and compressions, each kind on its
//! own [`Offload`]. The work runs on tokio's blocking threads, never on a
//! worker's event loop, and at most [`Offload::running`] at once, so a
//! password-guessing flood (or a burst of first requests for large files)
//! takes that many cores at most and the site goes on serving with the
//! rest. Work beyond [`OFFLOAD_QUEUE`] waiting is not queued at all: its
//! request gets the `busy` answer at once (`503` for a check, the file
//! uncompressed for a compression) instead of piling up behind a flood.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

/// How many checks may wait for a turn before new ones are turned away.
/// At one bcrypt of ~50 ms per turn, the last in line waits ~3 s per
/// running slot.
pub(crate) const OFFLOAD_QUEUE: usize = 64;

/// The pool's bound; one per connection-serving worker pair.
#[derive(Debug)]
pub(crate) struct Offload {
    turns: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
}

/// Counts a check as waiting until it has its turn or is dropped, so a
/// connection that goes away while waiting does not keep its place.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Offload {
    /// Half of `workers` (at least one) checks at once: the other half of
    /// the cores stays with the event loops.
    pub(crate) fn for_workers(workers: usize) -> Offload {
        Offload::new((workers / 2).max(1), OFFLOAD_QUEUE)
    }

    /// `running` checks at once, `queue` waiting.
    pub(crate) fn new(running: usize, queue: usize) -> Offload {
        Offload {
            turns: Semaphore::new(running),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// Runs `work` on a blocking thread when its turn comes; `busy` is
    /// the outcome when the queue is full (or the work could not run).
    pub(crate) async fn run<T, W, B>(&self, work: W, busy: B) -> T
    where
        T: Send + 'static,
        W: FnOnce() -> T + Send + 'static,
        B: FnOnce() -> T,
    {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return busy();
        }
        let waiting = Waiting(&self.waiting);
        let Ok(turn) = self.turns.acquire().await else {
            return busy();
        };
        drop(waiting);
        let done = tokio::task::spawn_blocking(work).await;
        drop(turn);
        done.unwrap_or_else(|_| busy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;

    /// Work that holds its turn until told to finish.
    fn blocked(release: mpsc::Receiver<()>) -> impl FnOnce() -> &'static str + Send {
        move || {
            release.recv().ok();
            "done"
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_away_checks_past_the_queue() {
        let verifier = Arc::new(Offload::new(1, 2));
        let (release, held) = mpsc::channel();
        let mut tasks = Vec::new();
        // One running and two waiting: the queue is full.
        let (go, started) = mpsc::channel();
        let first = Arc::clone(&verifier);
        tasks.push(tokio::spawn(async move {
            let work = blocked(held);
            first
                .run(
                    move || {
                        go.send(()).ok();
                        work()
                    },
                    || "busy",
                )
                .await
        }));
        started.recv().unwrap();
        for _ in 0..2 {
            let v = Arc::clone(&verifier);
            tasks.push(tokio::spawn(
                async move { v.run(|| "done", || "busy").await },
            ));
        }
        while verifier.waiting.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(verifier.run(|| "done", || "busy").await, "busy");
        release.send(()).unwrap();
        for task in tasks {
            assert_eq!(task.await.unwrap(), "done");
        }
        assert_eq!(verifier.waiting.load(Ordering::Acquire), 0);
        assert_eq!(verifier.run(|| "done", || "busy").await, "done");
    }

    #[tokio::test]
    async fn a_dropped_wait_gives_its_place_back() {
        let verifier = Offload::new(1, 1);
        let turn = verifier.turns.acquire().await.unwrap();
        {
            let waiting = verifier.run(|| 1, || 0);
            tokio::pin!(waiting);
            assert!(futures_poll_once(waiting.as_mut()).await.is_none());
            assert_eq!(verifier.waiting.load(Ordering::Acquire), 1);
        }
        assert_eq!(verifier.waiting.load(Ordering::Acquire), 0);
        drop(turn);
        assert_eq!(verifier.run(|| 1, || 0).await, 1);
        assert_eq!(Offload::for_workers(1).turns.available_permits(), 1);
        assert_eq!(Offload::for_workers(8).turns.available_permits(), 4);
    }

    /// Polls `future` once: its output if it was ready.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = Some(future);
        std::future::poll_fn(|cx| {
            let polled = std::pin::Pin::new(future.as_mut().unwrap()).poll(cx);
            std::task::Poll::Ready(match polled {
                std::task::Poll::Ready(out) => Some(out),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
