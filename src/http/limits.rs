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

/// Longest PROXY protocol v1 header, `PROXY` to CRLF included: the
/// specification's own bound (a TCP6 line with the longest addresses and
/// ports). No CRLF within it closes the connection.
pub const MAX_PROXY_V1_LINE: usize = 107;

/// Longest PROXY protocol v2 payload (addresses and TLVs, after the
/// 16-byte prefix) accepted: room for the Unix addresses (216 bytes) and
/// the TLVs load balancers send (AWS's VPC endpoint, HAProxy's TLS
/// details), while a connection holds at most this before it is served.
/// A header declaring more closes the connection.
pub const MAX_PROXY_V2_LENGTH: usize = 2048;

/// Most hops of a `Forwarded` or `X-Forwarded-For` chain examined, from
/// the right; past them the walk stops at the last one examined, trusted
/// or not, rather than believing what lies further left.
pub const MAX_FORWARDED_HOPS: usize = 32;
