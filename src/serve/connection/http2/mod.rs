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
//! - `io`: the bytes read before the hand-over, and TLS under `poll_*`;
//! - `request`: an HTTP/2 head as the site's [`Request`](crate::http::request::Request);
//! - `respond`: a response as HEADERS and DATA.

use std::sync::Arc;

use bytes::Bytes;
use h2::server::SendResponse;
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

pub(crate) mod io;
mod request;
mod respond;

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
    let Setup {
        shared,
        live,
        mut shutdown,
        peer,
        https,
        deadline,
        ticket: _ticket,
    } = setup;
    let metrics = Arc::clone(&shared.metrics);
    let handshake = builder(&shared).handshake::<_, Bytes>(io);
    let mut conn = match timeout_at(deadline, handshake).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => return tracing::debug!(%peer, error = %err, "HTTP/2 preface refused"),
        Err(_) => return metrics.count(Counter::HeaderTimeouts),
    };
    metrics.count(Counter::Http2Connections);
    let keepalive = shared.limits.keepalive_timeout;
    let max_requests = shared.limits.max_requests;
    let mut idle_at = Instant::now() + keepalive;
    let (mut streams, mut going_away) = (0u32, false);
    loop {
        tokio::select! {
            accepted = conn.accept() => match accepted {
                Some(Ok((request, respond))) => {
                    streams += 1;
                    metrics.count(Counter::Http2Streams);
                    let mut current = Arc::clone(&shared);
                    live.refresh(&mut current);
                    tokio::spawn(stream(request, respond, current, peer, https));
                    idle_at = Instant::now() + keepalive;
                    if streams >= max_requests && !going_away {
                        conn.graceful_shutdown();
                        going_away = true;
                    }
                }
                Some(Err(err)) => return ended(&shared, peer, &err),
                None => return,
            },
            () = sleep_until(idle_at), if !going_away => {
                if conn.has_streams() {
                    idle_at = Instant::now() + keepalive;
                } else {
                    metrics.count(Counter::KeepAliveTimeouts);
                    conn.graceful_shutdown();
                    going_away = true;
                }
            }
            () = shutdown.stopping(), if !going_away => {
                conn.graceful_shutdown();
                going_away = true;
            }
        }
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

/// Counts and logs how a connection ended in error: the reasons the
/// crate gave up on a client for (floods, rapid resets, bad frames) by
/// kind.
fn ended(shared: &Shared, peer: Peer, err: &h2::Error) {
    tracing::debug!(%peer, error = %err, "HTTP/2 connection ended");
    if err.is_remote() || err.is_io() {
        return;
    }
    let counter = match err.reason() {
        Some(h2::Reason::NO_ERROR) | None => return,
        Some(h2::Reason::ENHANCE_YOUR_CALM) => Counter::Http2AbuseCalm,
        Some(h2::Reason::COMPRESSION_ERROR) => Counter::Http2AbuseCompression,
        Some(h2::Reason::FRAME_SIZE_ERROR) => Counter::Http2AbuseFrameSize,
        Some(h2::Reason::FLOW_CONTROL_ERROR) => Counter::Http2AbuseFlowControl,
        Some(_) => Counter::Http2AbuseProtocol,
    };
    shared.metrics.count(counter);
}

/// One stream: the request read as the site takes it, answered, sent,
/// counted and logged.
async fn stream(
    request: http::Request<h2::RecvStream>,
    respond: SendResponse<Bytes>,
    shared: Arc<Shared>,
    peer: Peer,
    https: bool,
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
