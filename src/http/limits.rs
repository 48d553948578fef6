//! Every protocol limit in one place, so each can be found, documented and
//! tested by going over it.

/// Longest request line (method, target, version) we accept; longer answers 414.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;

/// Largest request head (request line plus header fields plus the blank line);
/// larger answers 431.
pub const MAX_HEAD: usize = 16 * 1024;

/// Most header fields in one request; more answers 431.
pub const MAX_HEADERS: usize = 100;

/// Files up to this size are read in one go and written together with the
/// head; larger files are streamed in [`STREAM_CHUNK`] pieces.
pub const INLINE_BODY: u64 = 64 * 1024;

/// Most bytes one `sendfile(2)` call is asked to move (the kernel moves at
/// most about 2 GiB per call anyway); between calls the send timeout and
/// other connections get their turn.
pub const SENDFILE_CHUNK: usize = 4 * 1024 * 1024;

/// Buffer size for streaming large file bodies; memory per download is
/// bounded by this, not by the file size.
pub const STREAM_CHUNK: usize = 128 * 1024;

/// First allocation of a connection's read buffer, made only when bytes
/// arrive; it doubles as a head needs more. Small, because most request
/// heads are, and because every connection reading at once holds one.
pub const READ_BUFFER: usize = 1024;

/// After answering and deciding to close, how long we keep reading and
/// discarding what the client still sends, so the answer is not lost to a
/// TCP reset.
pub const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// ... and how many bytes at most we discard in that time.
pub const LINGER_BYTES: usize = 256 * 1024;

/// A body announced with Content-Length up to this size is read and
/// discarded so the connection can carry on; a larger one (or a chunked
/// one) is not read: the response is sent and the connection closed.
pub const MAX_DISCARD_BODY: u64 = 64 * 1024;

/// Most ranges honoured in one `Range` header; more get the whole file.
pub const MAX_RANGES: usize = 16;

/// Bytes of access-log lines waiting for the writer thread; when it falls
/// this far behind (a slow terminal or disk), further lines are dropped
/// and counted instead of blocking workers.
pub const ACCESS_LOG_BUFFER: usize = 1024 * 1024;

/// Pending access-log bytes that wake the writer before its interval.
pub const ACCESS_LOG_BATCH: usize = 64 * 1024;

/// How often the access-log writer wakes to write what is pending, at most
/// this late.
pub const ACCESS_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Largest file the small-file cache holds.
pub const FILE_CACHE_MAX_FILE: usize = 64 * 1024;

/// Total bytes the small-file cache holds.
pub const FILE_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Larger files the cache holds open at once (each costs a descriptor).
pub const FILE_CACHE_OPEN: usize = 256;
