//! The operations layer's limits in one place: the access log's buffer
//! and batching, and the probe's patience.

use std::time::Duration;

/// Bytes of access-log lines waiting for the writer thread; when it falls
/// this far behind (a slow terminal or disk), further lines are dropped
/// and counted instead of blocking workers.
pub const ACCESS_LOG_BUFFER: usize = 1024 * 1024;

/// Pending access-log bytes that wake the writer before its interval.
pub(crate) const ACCESS_LOG_BATCH: usize = 64 * 1024;

/// How often the access-log writer wakes to write what is pending, at most
/// this late.
pub(crate) const ACCESS_LOG_INTERVAL: Duration = Duration::from_millis(100);

/// How long the probe waits to connect, send and read.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
