//! One HTTP/2 connection (RFC 9113), with the `h2` crate doing the
//! framing, HPACK and flow control: its streams are answered by the same
//! site and the same code as HTTP/1.1 requests (`answer`), counted and
//! logged the same way (`record`), each on a task of its own so a large
//! download does not hold up a small request beside it.
//!
//! What is ours around the crate: the limits it is given (see
//! `serve::limits`: streams, the header list, resets, the send buffer),
//! the timeouts (the preface and first SETTINGS within the header
//! timeout; `GOAWAY NO_ERROR` once no stream has been open for the
//! keep-alive timeout; each wait for window within the send timeout),
//! `--max-requests` counted in streams, and a graceful `GOAWAY` at
//! shutdown, after which the streams in flight finish.
//!
//! - `abuse`: the client's conduct judged, by kind;
//! - `io`: the bytes read before the hand-over, and TLS under `poll_*`;
//! - `request`: an HTTP/2 head as the site's [`Request`](crate::http::request::Request);
//! - `respond`: a response as HEADERS and DATA;
//! - `tail`: the last bytes written, to read the crate's GOAWAY back.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use h2::server::{Connection, SendResponse};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until, timeout_at};

use super::answer::answer;
use super::record::{Done, clock, record};
use super::worker::Shared;
use crate::http::request::Method;
use crate::ops::access_log::Peer;
use crate::ops::metrics::Counter;
use crate::serve::limits::{
    HTTP2_MAX_ERROR_RESETS, HTTP2_MAX_HEADER_LIST, HTTP2_MAX_PENDING_RESETS, HTTP2_SEND_BUFFER,
};
use crate::serve::live::Live;
use crate::serve::pool::Ticket;
use crate::shutdown::Shutdown;

mod abuse;
pub(crate) mod io;
mod request;
mod respond;
mod tail;

use tail::Kept;

/// The connection preface every HTTP/2 client sends first (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What an HTTP/2 connection is served with.
pub(crate) struct Setup {
    pub shared: Arc<Shared>,
    pub live: Arc<Live<Shared>>,
    pub shutdown: Shutdown,
    pub peer: Peer,
    /// Over TLS: responses carry the HTTPS fields (HSTS).
    pub https: bool,
    /// When the preface and the first SETTINGS must be in.
    pub deadline: Instant,
    /// Counts the connection against `--max-connections` while it lives.
    pub ticket: Ticket,
}

/// Serves HTTP/2 on `io` until the client goes, an error ends it, or it
/// has been idle for the keep-alive timeout or drained at shutdown.
pub(crate) async fn serve<T>(io: T, setup: Setup)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (io, written) = tail::Tail::new(io);
    let handshake = builder(&setup.shared).handshake::<_, Bytes>(io);
    let conn = match timeout_at(setup.deadline, handshake).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => {
            let peer = setup.peer;
            return tracing::debug!(%peer, error = %err, "HTTP/2 preface refused");
        }
        Err(_) => return setup.shared.metrics.count(Counter::HeaderTimeouts),
    };
    setup.shared.metrics.count(Counter::Http2Connections);
    drive(conn, setup, &written).await;
}

/// The connection past its preface: streams taken and spawned, and the
/// ways it ends. Once a GOAWAY is sent the connection has until
/// `cut_at` to close by itself; a client that never reads its GOAWAY
/// (nor the PING the crate sends with it) is cut then, as soon as no
/// stream of its is still being answered.
async fn drive<T>(mut conn: Connection<T, Bytes>, setup: Setup, written: &Mutex<Kept>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let Setup {
        shared,
        live,
        mut shutdown,
        peer,
        https,
        deadline: _,
        ticket: _ticket,
    } = setup;
    let metrics = Arc::clone(&shared.metrics);
    let (keepalive, send_timeout) = (shared.limits.keepalive_timeout, shared.limits.send_timeout);
    let streams = Arc::new(abuse::Streams::default());
    let (mut idle_at, mut cut_at) = (Instant::now() + keepalive, None::<Instant>);
    let mut taken = 0u32;
    let away = |conn: &mut Connection<T, Bytes>| {
        conn.graceful_shutdown();
        Some(Instant::now() + send_timeout)
    };
    loop {
        let going_away = cut_at.is_some();
        tokio::select! {
            accepted = conn.accept() => match accepted {
                Some(Ok((request, respond))) => {
                    taken += 1;
                    let taking = Taking { shared: &shared, live: &live, streams: &streams, peer, https };
                    if !taking.spawn(request, respond) {
                        conn.abrupt_shutdown(h2::Reason::ENHANCE_YOUR_CALM);
                        cut_at.get_or_insert(Instant::now() + send_timeout);
                        continue;
                    }
                    idle_at = Instant::now() + keepalive;
                    if taken >= shared.limits.max_requests && !going_away {
                        cut_at = away(&mut conn);
                    }
                }
                Some(Err(err)) => return ended(&shared, peer, &err, written),
                None => return,
            },
            () = sleep_until(idle_at), if !going_away => {
                if conn.has_streams() {
                    idle_at = Instant::now() + keepalive;
                } else {
                    metrics.count(Counter::KeepAliveTimeouts);
                    cut_at = away(&mut conn);
                }
            }
            () = shutdown.stopping(), if !going_away => cut_at = away(&mut conn),
            () = sleep_until(cut_at.unwrap_or(idle_at)), if going_away => {
                if !streams.any_running() {
                    return metrics.count(Counter::SendTimeouts);
                }
                cut_at = Some(Instant::now() + send_timeout);
            }
        }
    }
}

/// What a stream the crate hands over is taken with.
struct Taking<'a> {
    shared: &'a Arc<Shared>,
    live: &'a Live<Shared>,
    streams: &'a Arc<abuse::Streams>,
    peer: Peer,
    https: bool,
}

impl Taking<'_> {
    /// Spawns the stream's task with the configuration in force; `false`
    /// (and the stream dropped) when the client resets streams too fast
    /// to be served on.
    fn spawn(&self, request: http::Request<h2::RecvStream>, respond: SendResponse<Bytes>) -> bool {
        self.shared.metrics.count(Counter::Http2Streams);
        if self.streams.resets_too_fast() {
            self.shared.metrics.count(Counter::Http2AbuseRapidReset);
            return false;
        }
        let mut current = Arc::clone(self.shared);
        self.live.refresh(&mut current);
        let running = self.streams.start();
        tokio::spawn(stream(
            request, respond, current, self.peer, self.https, running,
        ));
        true
    }
}

/// The crate's settings for a connection: what it advertises and the
/// limits it enforces.
fn builder(shared: &Shared) -> h2::server::Builder {
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(shared.http2.max_streams)
        .max_header_list_size(HTTP2_MAX_HEADER_LIST)
        .max_pending_accept_reset_streams(HTTP2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(Some(HTTP2_MAX_ERROR_RESETS))
        .max_send_buffer_size(HTTP2_SEND_BUFFER);
    builder
}

/// Counts and logs how a connection ended in error: the client's
/// conduct the crate gave up on it for, by kind.
fn ended(shared: &Shared, peer: Peer, err: &h2::Error, written: &Mutex<Kept>) {
    tracing::debug!(%peer, error = %err, "HTTP/2 connection ended");
    let written = written
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(counter) = abuse::kind(err, &written) {
        shared.metrics.count(counter);
    }
}

/// One stream: the request read as the site takes it, answered, sent,
/// counted and logged.
async fn stream(
    request: http::Request<h2::RecvStream>,
    respond: SendResponse<Bytes>,
    shared: Arc<Shared>,
    peer: Peer,
    https: bool,
    running: abuse::Running,
) {
    let started = clock(&shared);
    let (parts, _body) = request.into_parts();
    let extra = match https {
        true => &shared.https_headers,
        false => &shared.extra_headers,
    };
    let send_timeout = shared.limits.send_timeout;
    let request = match request::convert(&parts) {
        Ok(request) => request,
        Err(reason) => {
            let response = shared.site.refusal(reason.status());
            let status = response.status;
            let sent = respond::send(respond, response, extra, false, send_timeout).await;
            running.ended(respond::was_reset(&sent));
            let done = Done {
                status,
                body_bytes: sent.ok(),
                started,
            };
            return record(&shared, peer, None, &done);
        }
    };
    let response = answer(&shared, &request).await;
    let status = response.status;
    let head_only = request.method == Method::Head;
    let sent = respond::send(respond, response, extra, head_only, send_timeout).await;
    if let Err(err) = &sent {
        tracing::debug!(%peer, error = %err, "HTTP/2 stream cut short");
    }
    running.ended(respond::was_reset(&sent));
    let client = shared
        .proxies
        .client(peer, request.fields.forwarding.as_deref());
    let done = Done {
        status,
        body_bytes: sent.ok(),
        started,
    };
    record(&shared, client, Some(&request), &done);
}
