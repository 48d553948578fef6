//! The serving layer's limits and timings in one place: buffers and chunk
//! sizes of a connection, lingering, accepting, parking and balancing.
//! Each is tested by going over it.

use std::time::Duration;

/// Most bytes one `sendfile(2)` call is asked to move (the kernel moves at
/// most about 2 GiB per call anyway); between calls the send timeout and
/// other connections get their turn.
pub(crate) const SENDFILE_CHUNK: usize = 4 * 1024 * 1024;

/// Buffer for copying a file body where the kernel refuses sendfile (a
/// file system without it); memory per download is bounded by this, not by
/// the file size.
pub(crate) const STREAM_CHUNK: usize = 128 * 1024;

/// First allocation of a connection's read buffer, made only when bytes
/// arrive; it doubles as a head needs more. Small, because most request
/// heads are, and because every connection reading at once holds one.
pub(crate) const READ_BUFFER: usize = 1024;

/// After answering and deciding to close, how long we keep reading and
/// discarding what the client still sends, so the answer is not lost to a
/// TCP reset.
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(2);

/// ... and how many bytes at most we discard in that time.
pub(crate) const LINGER_BYTES: usize = 256 * 1024;

/// A body announced with Content-Length up to this size is read and
/// discarded so the connection can carry on; a larger one (or a chunked
/// one) is not read: the response is sent and the connection closed.
pub const MAX_DISCARD_BODY: u64 = 64 * 1024;

/// Pause after an accept error such as EMFILE, so a full descriptor table
/// does not turn the accept loop into a busy spin.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// While accepting keeps failing, one warning per this interval is enough.
pub(crate) const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(1);

/// Connections the kernel queues for us before we accept them (it caps this
/// at `net.core.somaxconn`). Bursts of new connections and connections held
/// back by `--max-connections` wait here.
pub(crate) const LISTEN_BACKLOG: u32 = 4096;

/// How long the kernel may hold a new connection whose client has sent
/// nothing before handing it to us anyway (rounded by the kernel to its
/// SYN-ACK retransmission schedule). Kept short: after that, such a client
/// is ours, and the header timeout applies.
pub(crate) const LISTEN_DEFER: Duration = Duration::from_secs(1);

/// At shutdown, how long to wait for the access log to be written out.
pub(crate) const ACCESS_LOG_FLUSH: Duration = Duration::from_secs(2);

/// Largest write buffer a connection keeps between requests: enough for
/// any head and a small in-memory body.
pub(crate) const KEEP_WRITE_BUFFER: usize = 16 * 1024;

/// How long a connection first waits for its next request before it is
/// parked: longer than the gaps inside a burst of requests (a page and its
/// assets, a benchmark), short enough that thousands of connections opened
/// at once hold only their table entries soon after.
pub(crate) const PARK_AFTER: Duration = Duration::from_millis(25);

/// Parking and waking cost a few system calls (about 6 µs of CPU). A
/// client that comes back sooner than it had waited before being parked
/// has its delay doubled, up to `PARK_AFTER << PARK_LEVELS` (1.6 s), so a
/// steadily paced client stops paying for it; one that stays away longer
/// has it halved again.
pub(crate) const PARK_LEVELS: u8 = 6;

/// Ready sockets taken from the kernel per `epoll_wait` call.
pub(crate) const WAKE_BATCH: usize = 64;

/// How often the balancer samples and decides.
pub(crate) const BALANCE_EVERY: Duration = Duration::from_millis(250);

/// Least time between two changes.
pub(crate) const HOLD: Duration = Duration::from_secs(1);

/// Longest hold before growing again after repeatedly crowding.
pub(crate) const MAX_HOLD: Duration = Duration::from_secs(16);

/// TLS sessions the server remembers for resumption by session ID (TLS
/// 1.2 clients and those not using tickets); the oldest are forgotten
/// beyond this. Tickets, which the client keeps, need no such store.
pub(crate) const TLS_SESSIONS: usize = 4096;

/// File bytes read and encrypted at a time over TLS (sendfile cannot
/// encrypt): four full TLS records, so a large file costs one read and one
/// write per 64 KiB, and this is what a download holds in memory besides
/// rustls's own outgoing buffer.
pub(crate) const TLS_FILE_CHUNK: usize = 64 * 1024;

/// Chunks a streamed body's producer may have made ahead of the socket
/// (see `connection::stream`): with chunks of at most 64 KiB, what one
/// archive download holds in memory.
pub(crate) const STREAM_QUEUE: usize = 4;

/// Connections the metrics listener serves at once; more wait in its
/// backlog. A monitoring system needs one or two.
pub(crate) const MONITOR_CONNECTIONS: usize = 8;

/// Time for a whole request head on the metrics listener, from its first
/// byte.
pub(crate) const MONITOR_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a metrics connection may wait for its next request: longer
/// than a usual scrape interval, so a scraper keeps its connection.
pub(crate) const MONITOR_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// HTTP/2: the most a decoded header block may hold (RFC 7541 §4.1
/// sizes: name, value and 32 per field) for the crate, advertised as
/// `SETTINGS_MAX_HEADER_LIST_SIZE`: twice the HTTP/1.1 head limit, so a
/// list over that limit but within this one reaches the site and gets
/// its `431` page as over HTTP/1.1 (`http2::request`); over this one the
/// crate answers a bare `431` without keeping the fields, and far over
/// it (an HPACK bomb, a CONTINUATION flood) ends the connection.
pub(crate) const HTTP2_MAX_HEADER_LIST: u32 = 2 * crate::http::limits::MAX_HEAD as u32;

/// HTTP/2: streams a client may reset before the server has taken them
/// (rapid reset, CVE-2023-44487): past it, `GOAWAY ENHANCE_YOUR_CALM`.
pub(crate) const HTTP2_MAX_PENDING_RESETS: usize = 20;

/// HTTP/2: how many more of the streams it was handed a client may reset
/// than it lets finish before `GOAWAY ENHANCE_YOUR_CALM` (rapid reset
/// after the crate's pending-accept limit; see `http2::abuse`).
pub(crate) const HTTP2_MAX_RESET_SURPLUS: usize = 100;

/// HTTP/2: streams the server may reset for a client's errors over the
/// connection's life before it gives up on the client with
/// `GOAWAY ENHANCE_YOUR_CALM`.
pub(crate) const HTTP2_MAX_ERROR_RESETS: usize = 1024;

/// HTTP/2: bytes of DATA queued per stream beyond what the peer's window
/// lets out; a stream's body is read no further ahead than this.
pub(crate) const HTTP2_SEND_BUFFER: usize = 256 * 1024;

/// HTTP/2: the largest piece of a file read and queued at once.
pub(crate) const HTTP2_FILE_CHUNK: usize = 64 * 1024;

/// How long one exchange with the ACME CA may take to connect, and then
/// between reads and writes, before it counts as a network error.
pub(crate) const ACME_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response read from the ACME CA (a certificate chain is a
/// few KiB); a larger one is an error rather than memory spent.
pub(crate) const ACME_MAX_RESPONSE: usize = 1024 * 1024;

/// The first wait after a failed order, doubled after each further
/// failure (RFC 8555 §6.6 asks clients to back off).
pub(crate) const ACME_FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between attempts while no certificate is held: the
/// site is down over HTTPS until one arrives.
pub(crate) const ACME_BACKOFF_CAP_WITHOUT: Duration = Duration::from_secs(300);

/// The longest wait between attempts while a certificate is still held.
pub(crate) const ACME_BACKOFF_CAP_WITH: Duration = Duration::from_secs(3600);

/// A certificate this close to its end that cannot be renewed is an
/// `ERROR` on every failed attempt, not a `WARN`.
pub(crate) const ACME_URGENT: Duration = Duration::from_secs(7 * 86_400);

/// How long an order may take, from its creation to the certificate
/// (validation and issuance), before it is given up and retried later.
pub(crate) const ACME_ORDER_TIMEOUT: Duration = Duration::from_secs(120);
