//! The counters: one row of atomics per worker thread, summed when
//! scraped. A thread adds only to its own row, so counting on the hot
//! path is an uncontended atomic add on a cache line no other core
//! writes; a thread that is no worker's (a pool's, a test's) shares row 0.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

thread_local! {
    /// This thread's row: 0, or 1 + its worker's index.
    static ROW: Cell<usize> = const { Cell::new(0) };
}

/// Makes the calling thread count in worker `index`'s row.
pub(crate) fn count_as_worker(index: usize) {
    ROW.set(index + 1);
}

/// Something counted, beside requests and their durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Counter {
    ConnectionsAccepted,
    AcceptErrors,
    /// A head (or TLS handshake, or PROXY header) not in by the header
    /// timeout.
    HeaderTimeouts,
    /// An idle kept-alive connection closed at the keep-alive timeout.
    KeepAliveTimeouts,
    /// A client that stopped reading, dropped at the send timeout.
    SendTimeouts,
    TlsHandshakes,
    TlsHandshakeFailures,
    /// A 401 answered for the `--auth-file` realm.
    AuthFailures,
    /// Compressions given to the pool, and those it finished.
    CompressionsQueued,
    CompressionsDone,
    /// Compressions the pool had no room for: the file went as it is.
    CompressionsRefused,
    FileCacheHits,
    FileCacheMisses,
    FileCacheEvictions,
    CompressionCacheHits,
    CompressionCacheMisses,
    CompressionCacheEvictions,
    AccessLogDropped,
    ReloadsApplied,
    ReloadsRefused,
    /// Body bytes sent, as the access log counts them.
    ResponseBodyBytes,
    /// Responses cut short (the client went, a file shrank, a timeout).
    ResponsesIncomplete,
    Http2Connections,
    Http2Streams,
    /// HTTP/2 connections the server ended for the client's conduct, by
    /// kind: streams reset faster than they finish (rapid reset), too
    /// many CONTINUATION frames, a header list far over the limit, floods
    /// of small frames or of streams the server had to refuse or reset,
    /// other ENHANCE_YOUR_CALM, a bad HPACK block, bad frame sizes, a
    /// broken window, other protocol errors.
    Http2AbuseRapidReset,
    Http2AbuseContinuation,
    Http2AbuseHeaderList,
    Http2AbuseFlood,
    Http2AbuseRefused,
    Http2AbuseCalm,
    Http2AbuseCompression,
    Http2AbuseFrameSize,
    Http2AbuseFlowControl,
    Http2AbuseProtocol,
    /// ACME orders by kind (the first certificate for a set of names, or
    /// a renewal) and outcome.
    AcmeFirstIssued,
    AcmeFirstFailed,
    AcmeRenewalIssued,
    AcmeRenewalFailed,
    /// The sum of every request's duration, in nanoseconds.
    DurationNanos,
}

/// How many [`Counter`]s there are.
const COUNTERS: usize = Counter::DurationNanos as usize + 1;

/// The method classes requests are counted by.
pub(crate) const METHODS: [&str; 4] = ["GET", "HEAD", "OPTIONS", "other"];

/// The status classes requests are counted by, 1xx to 5xx.
pub(crate) const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The duration histogram's upper bounds, in nanoseconds: from 10 µs,
/// where a cached file is answered, to 10 s, where a slow client is.
pub(crate) const BUCKETS_NANOS: [u64; 19] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

const REQUESTS_AT: usize = COUNTERS;
const BUCKETS_AT: usize = REQUESTS_AT + METHODS.len() * STATUS_CLASSES.len();
/// One more than the bounds: the last bucket is `+Inf`'s alone.
const ROW_LEN: usize = BUCKETS_AT + BUCKETS_NANOS.len() + 1;

/// One thread's counters, on cache lines of their own.
#[repr(align(128))]
struct Row([AtomicU64; ROW_LEN]);

impl Default for Row {
    fn default() -> Row {
        Row(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// One request, as it is counted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Served {
    /// An index into [`METHODS`].
    pub method: usize,
    pub status: u16,
    pub body_bytes: u64,
    pub duration: Duration,
    pub complete: bool,
}

/// Every counter of one server, carried across reloads.
pub(crate) struct Metrics {
    rows: Box<[Row]>,
    /// Whether anyone scrapes: only then are requests timed for the
    /// histogram (the access log times them on its own account).
    scraped: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl Default for Metrics {
    /// Counters for a site with no workers of its own (the unit tests').
    fn default() -> Metrics {
        Metrics::new(0, false)
    }
}

impl Metrics {
    /// Counters for `workers` workers and the threads that are not one;
    /// `scraped` when a metrics listener shows them.
    pub(crate) fn new(workers: usize, scraped: bool) -> Metrics {
        Metrics {
            rows: (0..=workers).map(|_| Row::default()).collect(),
            scraped,
        }
    }

    /// Whether requests are to be timed for the histogram.
    pub(crate) fn scraped(&self) -> bool {
        self.scraped
    }

    fn row(&self) -> &Row {
        let row = ROW.get();
        self.rows.get(row).unwrap_or(&self.rows[0])
    }

    /// Adds one to `counter`.
    pub(crate) fn count(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Adds `n` to `counter`.
    pub(crate) fn add(&self, counter: Counter, n: u64) {
        self.row().0[counter as usize].fetch_add(n, Relaxed);
    }

    /// Counts one request: by method and status class, its body bytes,
    /// its duration in the histogram.
    pub(crate) fn served(&self, served: &Served) {
        let row = &self.row().0;
        let class = usize::from(served.status / 100).clamp(1, 5) - 1;
        let method = served.method.min(METHODS.len() - 1);
        row[REQUESTS_AT + method * STATUS_CLASSES.len() + class].fetch_add(1, Relaxed);
        let nanos = u64::try_from(served.duration.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_NANOS.partition_point(|&bound| bound < nanos);
        row[BUCKETS_AT + bucket].fetch_add(1, Relaxed);
        row[Counter::DurationNanos as usize].fetch_add(nanos, Relaxed);
        row[Counter::ResponseBodyBytes as usize].fetch_add(served.body_bytes, Relaxed);
        if !served.complete {
            row[Counter::ResponsesIncomplete as usize].fetch_add(1, Relaxed);
        }
    }

    fn sum(&self, at: usize) -> u64 {
        self.rows.iter().map(|r| r.0[at].load(Relaxed)).sum()
    }

    /// `counter` summed over the rows.
    pub(crate) fn total(&self, counter: Counter) -> u64 {
        self.sum(counter as usize)
    }

    /// Requests of method class `method` and status class `class` (indices
    /// into [`METHODS`] and [`STATUS_CLASSES`]).
    pub(crate) fn requests(&self, method: usize, class: usize) -> u64 {
        self.sum(REQUESTS_AT + method * STATUS_CLASSES.len() + class)
    }

    /// Requests per histogram bucket (not cumulative), the last past every
    /// bound.
    pub(crate) fn buckets(&self) -> [u64; BUCKETS_NANOS.len() + 1] {
        std::array::from_fn(|i| self.sum(BUCKETS_AT + i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(method: usize, status: u16, micros: u64) -> Served {
        Served {
            method,
            status,
            body_bytes: 10,
            duration: Duration::from_micros(micros),
            complete: status != 500,
        }
    }

    #[test]
    fn requests_are_counted_by_class_bucket_and_bytes() {
        let metrics = Metrics::new(2, true);
        metrics.served(&served(0, 200, 5));
        metrics.served(&served(0, 304, 10));
        metrics.served(&served(1, 404, 11));
        metrics.served(&served(3, 500, 20_000_000));
        assert_eq!(metrics.requests(0, 1), 1);
        assert_eq!(metrics.requests(0, 2), 1);
        assert_eq!(metrics.requests(1, 3), 1);
        assert_eq!(metrics.requests(3, 4), 1);
        let buckets = metrics.buckets();
        // A bound is inclusive: 10 µs is in the first bucket.
        assert_eq!(buckets[0], 2);
        assert_eq!(buckets[1], 1);
        assert_eq!(buckets[BUCKETS_NANOS.len()], 1, "past 10 s");
        assert_eq!(metrics.total(Counter::ResponseBodyBytes), 40);
        assert_eq!(metrics.total(Counter::ResponsesIncomplete), 1);
        assert_eq!(
            metrics.total(Counter::DurationNanos),
            (5 + 10 + 11 + 20_000_000) * 1000
        );
    }

    #[test]
    fn each_worker_thread_counts_in_its_row_and_totals_add_them() {
        let metrics = std::sync::Arc::new(Metrics::new(2, true));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let metrics = std::sync::Arc::clone(&metrics);
                std::thread::spawn(move || {
                    // Workers 2 and 3 have no row: they share row 0.
                    count_as_worker(i);
                    metrics.add(Counter::FileCacheHits, 100);
                    ROW.get()
                })
            })
            .collect();
        let rows: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(rows, [1, 2, 3, 4]);
        metrics.count(Counter::FileCacheHits);
        assert_eq!(metrics.total(Counter::FileCacheHits), 401);
        assert_eq!(
            metrics.rows[0].0[Counter::FileCacheHits as usize].load(Relaxed),
            201
        );
    }

    #[test]
    fn status_codes_outside_the_classes_are_clamped_not_lost() {
        let metrics = Metrics::new(0, true);
        metrics.served(&served(9, 99, 1));
        metrics.served(&served(0, 999, 1));
        assert_eq!(metrics.requests(3, 0), 1);
        assert_eq!(metrics.requests(0, 4), 1);
    }
}
