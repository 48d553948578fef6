//! The protocol limits in one place: how long a request line and head may
//! be, how many fields and ranges one request may carry. Each is tested by
//! going over it; the other layers keep theirs in their own `limits`.

/// Longest request line (method, target, version) we accept; longer answers 414.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;

/// Largest request head (request line plus header fields plus the blank line);
/// larger answers 431.
pub const MAX_HEAD: usize = 16 * 1024;

/// Most header fields in one request; more answers 431.
pub const MAX_HEADERS: usize = 100;

/// Most ranges honoured in one `Range` header; more get the whole file.
pub const MAX_RANGES: usize = 16;
