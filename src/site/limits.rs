//! The site layer's limits in one place: what is read into memory and
//! what the file cache holds. Each is tested by going over it.

use std::time::Duration;

/// A file body up to this size that the cache does not hold (a
/// precompressed variant, a range) is read into memory before its head is
/// sent, so a failing read can still be answered with 500; larger bodies go
/// by sendfile from the open file.
pub(crate) const INLINE_BODY: u64 = 64 * 1024;

/// Largest file the small-file cache holds.
pub(crate) const FILE_CACHE_MAX_FILE: usize = 64 * 1024;

/// Total bytes the small-file cache holds.
pub(crate) const FILE_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Larger files the cache holds open at once (each costs a descriptor).
pub(crate) const FILE_CACHE_OPEN: usize = 256;

/// How long a cached file is trusted before it is checked again.
pub const FILE_CACHE_VALID: Duration = Duration::from_secs(1);

/// Largest file compressed on the fly. Larger ones are sent as they are
/// (by sendfile, with ranges and a length): compressing them would hold
/// their bytes in memory, or stream them chunked at a cost paid again on
/// every request.
pub(crate) const COMPRESS_MAX_FILE: u64 = 8 * 1024 * 1024;

/// Rendered listings kept (see `listing::cache`); each is one directory
/// at one URL path in one order and format.
pub(crate) const LISTING_CACHE_ENTRIES: usize = 256;

/// Total bytes of rendered listings kept.
pub(crate) const LISTING_CACHE_BYTES: usize = 16 * 1024 * 1024;
