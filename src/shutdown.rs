//! Shutdown as one value every task can await or poll.
//!
//! The server holds the one [`Control`] and moves the [`Phase`] forward;
//! each task that must react holds a [`Shutdown`]: worker threads wait to
//! start and to finish, accept loops and idle connections wait for
//! [`Shutdown::stopping`], and a connection about to answer asks
//! [`Shutdown::is_stopping`] whether its response must close. [`Signals`]
//! is what stops the binary: SIGTERM and SIGINT.

use std::io;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// Where the server is in its life. Phases only move forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Bound, with its workers waiting to start.
    Starting,
    /// Accepting and serving.
    Running,
    /// Not accepting; idle connections close, requests in flight finish
    /// (their responses say `Connection: close`).
    Stopping,
    /// Drained or out of time: workers drop what is left and exit.
    Finished,
}

/// The server's side: moves the phase forward. Dropping it counts as
/// [`Phase::Finished`], so no task waits on a server that is gone.
#[derive(Debug)]
pub(crate) struct Control {
    phase: watch::Sender<Phase>,
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

impl Control {
    /// A server [`Phase::Starting`].
    pub(crate) fn new() -> Control {
        Control {
            phase: watch::channel(Phase::Starting).0,
        }
    }

    /// Moves to `phase`; a phase already passed is left behind.
    pub(crate) fn enter(&self, phase: Phase) {
        self.phase.send_if_modified(|now| {
            let forward = phase > *now;
            if forward {
                *now = phase;
            }
            forward
        });
    }

    /// A handle for one more task.
    pub(crate) fn subscribe(&self) -> Shutdown {
        Shutdown {
            phase: self.phase.subscribe(),
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.enter(Phase::Finished);
    }
}

/// A task's view of the server's phase.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    phase: watch::Receiver<Phase>,
}

impl Shutdown {
    /// The phase now.
    pub(crate) fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// Whether shutdown has started: one read, cheap enough for every
    /// request.
    pub(crate) fn is_stopping(&self) -> bool {
        self.phase() >= Phase::Stopping
    }

    /// Resolves once shutdown has started.
    pub(crate) async fn stopping(&mut self) {
        self.reached(Phase::Stopping).await;
    }

    /// Resolves once the server is at `phase` or past it, with the phase
    /// it is at ([`Phase::Finished`] if the server is gone).
    pub(crate) async fn reached(&mut self, phase: Phase) -> Phase {
        match self.phase.wait_for(|&now| now >= phase).await {
            Ok(now) => *now,
            Err(_) => Phase::Finished,
        }
    }
}

/// SIGTERM and SIGINT, caught. Without a handler SIGTERM would be ignored
/// when staticd runs as PID 1 in a container. Install it before announcing
/// the listening address, so a signal sent right after is never lost.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Installs the handlers; must run inside the tokio runtime.
    pub fn install() -> io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves when either signal arrives.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_only_move_forward() {
        let control = Control::new();
        let shutdown = control.subscribe();
        assert_eq!(shutdown.phase(), Phase::Starting);
        control.enter(Phase::Stopping);
        assert!(shutdown.is_stopping());
        control.enter(Phase::Running);
        assert_eq!(shutdown.phase(), Phase::Stopping);
    }

    #[tokio::test]
    async fn waiting_ends_at_the_phase_or_past_it() {
        let control = Control::new();
        let mut shutdown = control.subscribe();
        control.enter(Phase::Finished);
        assert_eq!(shutdown.reached(Phase::Running).await, Phase::Finished);
        shutdown.stopping().await;
    }

    #[tokio::test]
    async fn a_dropped_control_counts_as_finished() {
        let control = Control::new();
        let mut shutdown = control.subscribe();
        let waiting = tokio::spawn(async move { shutdown.reached(Phase::Finished).await });
        drop(control);
        assert_eq!(waiting.await.unwrap(), Phase::Finished);
        let late = Control::new().subscribe();
        assert!(late.is_stopping(), "subscribed to a control since dropped");
    }
}
