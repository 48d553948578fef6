//! How an HTTP/2 client is judged for its conduct: the limits the `h2`
//! crate enforces, told apart by kind for the metrics, and the one rule
//! that is ours, on streams the client resets after they were taken.
//!
//! The crate ends a connection with `GOAWAY ENHANCE_YOUR_CALM` for several
//! limits and says which in the GOAWAY's debug data (`too_many_resets`,
//! `too_many_continuations`, ...), which it does not hand back: it is
//! read from the last bytes the connection wrote. A GOAWAY that names
//! none of them is counted by its reason alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::tail::Kept;
use crate::ops::metrics::Counter;
use crate::serve::limits::HTTP2_MAX_RESET_SURPLUS;

/// The kind of abuse `err` ended a connection for, or `None` when it was
/// no fault of the client's to count (it went, or said `NO_ERROR`).
pub(super) fn kind(err: &h2::Error, written: &Kept) -> Option<Counter> {
    if err.is_remote() || err.is_io() {
        return None;
    }
    let calm = || {
        const KINDS: [(&str, Counter); 5] = [
            ("too_many_resets", Counter::Http2AbuseRapidReset),
            ("too_many_continuations", Counter::Http2AbuseContinuation),
            ("header_list_way_too_large", Counter::Http2AbuseHeaderList),
            ("too_many_data_frames", Counter::Http2AbuseFlood),
            ("too_many_internal_resets", Counter::Http2AbuseRefused),
        ];
        KINDS
            .iter()
            .find(|(data, _)| written.holds(data.as_bytes()))
            .map_or(Counter::Http2AbuseCalm, |&(_, counter)| counter)
    };
    Some(match err.reason()? {
        h2::Reason::NO_ERROR => return None,
        h2::Reason::ENHANCE_YOUR_CALM => calm(),
        h2::Reason::COMPRESSION_ERROR => Counter::Http2AbuseCompression,
        h2::Reason::FRAME_SIZE_ERROR => Counter::Http2AbuseFrameSize,
        h2::Reason::FLOW_CONTROL_ERROR => Counter::Http2AbuseFlowControl,
        _ => Counter::Http2AbuseProtocol,
    })
}

/// A connection's streams as its stream tasks report them: how many are
/// still being answered, how many finished, and how many the client reset
/// before they were done.
#[derive(Debug, Default)]
pub(super) struct Streams {
    running: AtomicUsize,
    finished: AtomicUsize,
    reset: AtomicUsize,
}

impl Streams {
    /// One more stream being answered, until the guard is dropped.
    pub(super) fn start(self: &Arc<Self>) -> Running {
        self.running.fetch_add(1, Ordering::Relaxed);
        Running(Arc::clone(self))
    }

    /// Whether any stream is still being answered.
    pub(super) fn any_running(&self) -> bool {
        self.running.load(Ordering::Relaxed) > 0
    }

    /// Rapid reset (CVE-2023-44487) after the crate has handed a stream
    /// over: a client that resets more streams than it lets finish, by
    /// more than [`HTTP2_MAX_RESET_SURPLUS`], makes the server do work it
    /// throws away. A browser cancels a few (a page left, an image no
    /// longer needed), never hundreds more than it reads.
    pub(super) fn resets_too_fast(&self) -> bool {
        let reset = self.reset.load(Ordering::Relaxed);
        reset > self.finished.load(Ordering::Relaxed) + HTTP2_MAX_RESET_SURPLUS
    }
}

/// A stream being answered; it says how it ended when dropped.
#[derive(Debug)]
pub(super) struct Running(Arc<Streams>);

impl Running {
    /// The stream ended: completed, or reset by the client when `reset`.
    pub(super) fn ended(self, reset: bool) {
        let counter = match reset {
            true => &self.0.reset,
            false => &self.0.finished,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_past_the_surplus_over_finished_streams_are_too_fast() {
        let streams = Arc::new(Streams::default());
        for _ in 0..10 {
            streams.start().ended(false);
        }
        for _ in 0..HTTP2_MAX_RESET_SURPLUS + 10 {
            streams.start().ended(true);
        }
        assert!(!streams.resets_too_fast(), "at the surplus exactly");
        let running = streams.start();
        assert!(streams.any_running());
        running.ended(true);
        assert!(streams.resets_too_fast());
        assert!(!streams.any_running());
    }
}
