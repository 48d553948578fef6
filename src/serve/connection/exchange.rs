//! One connection's requests and responses: reading heads, asking the site,
//! writing what it answers, and the keep-alive decision; and the one place
//! a connection turns into an [`Idle`] and back.

use std::io;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::time::{Instant, timeout_at};

use super::answer::answer;
use super::http2::io::{Prefixed, TlsIo};
use super::http2::{self, PREFACE, Setup};
use super::record::{Done, record};
use super::tls_io::read_plaintext;
use super::worker::{Shared, Worker};
use crate::http::fields::Framing;
use crate::http::request::{self, Method, ParseError, Request};
use crate::http::response::Response;
use crate::http::status::Status;
use crate::ops::access_log::Peer;
use crate::ops::metrics::Counter;
use crate::serve::idle::{Idle, park_after};
use crate::serve::limits::{KEEP_WRITE_BUFFER, MAX_DISCARD_BODY, READ_BUFFER};
use crate::serve::live::Live;
use crate::serve::parking::Parking;
use crate::serve::pool::Ticket;
use crate::serve::stream::Stream;
use crate::serve::tls::ALPN_H2;
use crate::shutdown::Shutdown;
use crate::site::https_redirect;

/// The preface's first line, `PRI * HTTP/2.0` and CRLF: enough to tell
/// an HTTP/2 client from an HTTP/1.x one.
const PREFACE_LINE: usize = 16;

/// What waiting for the next request ended with.
#[allow(
    clippy::large_enum_variant,
    reason = "it lives only on the stack between two awaits, so its size does not matter"
)]
enum Next {
    Request(Request),
    /// The client closed, stayed idle too long, or we are shutting down.
    Close,
    /// The head could not be accepted; answer why, and close.
    Refuse(ParseError),
    /// Idle long enough to be parked, until this deadline.
    Park(Instant),
}

/// How a connection's serving ended.
pub(super) enum Ended {
    Closed,
    /// To park in the worker's table until this deadline.
    Parked(Instant),
    /// To move to this worker, idle until this deadline.
    Moved(usize, Instant),
    /// To be served as HTTP/2, its preface due by this deadline.
    Http2(Instant),
}

pub(super) struct Connection {
    pub(super) stream: Stream,
    pub(super) peer: Peer,
    pub(super) shared: Arc<Shared>,
    live: Arc<Live<Shared>>,
    shutdown: Shutdown,
    ticket: Ticket,
    parking: Option<Arc<Parking>>,
    pub(super) read_buf: BytesMut,
    pub(super) write_buf: Vec<u8>,
    pub(super) served: u32,
    /// Parking delay level, see [`park_after`].
    park_level: u8,
    /// Since when the connection has been waiting for a request.
    idle_since: Instant,
    /// Whether TCP_NODELAY is set: once the connection is kept alive, a
    /// small response must not wait for the previous one's ACK.
    nodelay: bool,
    /// The TLS session, on the HTTPS listener (boxed: it is large, and a
    /// plain connection's task should not carry its room).
    pub(super) tls: Option<Box<rustls::ServerConnection>>,
    /// On the redirect listener: the HTTPS port every request is sent to.
    /// Such a connection answers once and closes, so it never parks or
    /// moves.
    pub(super) redirect_to: Option<u16>,
}

impl Connection {
    /// A connection just accepted, with what its client sent so far.
    pub(super) fn accepted(
        stream: Stream,
        peer: Peer,
        ticket: Ticket,
        read_buf: BytesMut,
        worker: Worker,
    ) -> Connection {
        let Worker {
            mut shared,
            live,
            shutdown,
            parking,
        } = worker;
        live.refresh(&mut shared);
        Connection {
            stream,
            peer,
            shared,
            live,
            shutdown,
            ticket,
            parking,
            read_buf,
            write_buf: Vec::new(),
            served: 0,
            park_level: 0,
            idle_since: Instant::now(),
            nodelay: false,
            tls: None,
            redirect_to: None,
        }
    }

    /// Carries on where `idle` stopped, on `worker`'s runtime.
    pub(super) fn resumed(idle: Idle, worker: Worker) -> io::Result<Connection> {
        let stream = Stream::from_std(idle.stream)?;
        let mut conn = Connection::accepted(stream, idle.peer, idle.ticket, idle.read_buf, worker);
        conn.served = idle.served;
        conn.park_level = idle.park_level;
        conn.nodelay = idle.nodelay;
        conn.tls = idle.tls;
        Ok(conn)
    }

    /// Takes the connection off the runtime between two requests, idle
    /// until `deadline`; with the worker it leaves.
    pub(super) fn into_idle(self, deadline: Instant) -> io::Result<(Idle, Worker)> {
        let idle = Idle {
            stream: self.stream.into_std()?,
            peer: self.peer,
            ticket: self.ticket,
            served: self.served,
            park_level: self.park_level,
            nodelay: self.nodelay,
            read_buf: self.read_buf,
            tls: self.tls,
            deadline,
            since: Instant::now(),
        };
        let worker = Worker {
            shared: self.shared,
            live: self.live,
            shutdown: self.shutdown,
            parking: self.parking,
        };
        Ok((idle, worker))
    }

    /// Serves requests; the first head must start by `deadline`, and over
    /// TLS the handshake must be done by then too.
    pub(super) async fn run(&mut self, mut deadline: Instant) -> io::Result<Ended> {
        if self.tls.as_ref().is_some_and(|tls| tls.is_handshaking()) {
            // Boxed, as the writing states are: see below.
            let done = Box::pin(self.handshake(deadline)).await;
            self.count_handshake(&done);
            if !done? {
                return Ok(Ended::Closed);
            }
        }
        // Boxed: only a connection that may be HTTP/2 waits here.
        if Box::pin(self.speaks_http2(deadline)).await? {
            return Ok(Ended::Http2(deadline));
        }
        loop {
            let request = match self.next_request(deadline).await? {
                Next::Request(request) => request,
                Next::Close => break,
                Next::Park(deadline) => return Ok(Ended::Parked(deadline)),
                Next::Refuse(reason) => {
                    Box::pin(self.refuse(reason)).await?;
                    return Ok(Ended::Closed);
                }
            };
            // A reload since the last request applies from this one on.
            self.live.refresh(&mut self.shared);
            self.served += 1;
            let started = self.clock_started();
            let head_only = request.method == Method::Head;
            let response = Box::pin(self.answer(&request)).await;
            let keep_alive = self.persists(&request, &response);
            if keep_alive {
                self.set_nodelay();
            }
            let status = response.status;
            // Boxed: the writing states are large, and an idle connection's
            // task should only be as big as its waiting state.
            let sent = Box::pin(self.write_response(response, head_only, keep_alive)).await;
            self.record(Some(&request), status, sent.as_ref().ok(), started);
            sent?;
            if !keep_alive {
                Box::pin(self.finish(request.fields.framing)).await?;
                return Ok(Ended::Closed);
            }
            if let Framing::Length(len) = request.fields.framing {
                if !Box::pin(self.discard_body(len)).await? {
                    return Ok(Ended::Closed);
                }
            }
            self.idle_since = Instant::now();
            deadline = self.idle_since + self.shared.limits.keepalive_timeout;
            if let Some(worker) = self.ticket.move_target() {
                return Ok(Ended::Moved(worker, deadline));
            }
        }
        // Idle timeout, shutdown, or the client closed: over TLS, say so,
        // so a client never mistakes this for a cut. Out of the loop, so
        // this wait holds nothing of the last request.
        Box::pin(self.end_tls()).await;
        Ok(Ended::Closed)
    }

    /// The answer to `request`: the site's, or on the redirect listener
    /// the way to HTTPS.
    async fn answer(&self, request: &Request) -> Response {
        if let Some(port) = self.redirect_to {
            // HTTP-01 (--acme-challenge http-01) is answered here.
            let managed = self.shared.tls.as_ref().and_then(|tls| tls.managed());
            if let Some(managed) = managed {
                let lookup = |token: &str| managed.token(token);
                if let Some(answer) = https_redirect::acme_challenge(request, lookup) {
                    return answer;
                }
            }
            return https_redirect::respond(request, port);
        }
        answer(&self.shared, request).await
    }

    /// Whether this new connection speaks HTTP/2: over TLS, as ALPN
    /// agreed; in plain text, when it starts with the preface's first line
    /// (read on, until `deadline`, while what came so far could be it).
    /// Never on the redirect listener, nor with `--http2 off`.
    async fn speaks_http2(&mut self, deadline: Instant) -> io::Result<bool> {
        if self.served > 0 || self.redirect_to.is_some() || !self.shared.http2.enabled {
            return Ok(false);
        }
        if let Some(tls) = &self.tls {
            return Ok(tls.alpn_protocol() == Some(ALPN_H2));
        }
        let line = &PREFACE[..PREFACE_LINE];
        // Nothing read yet on a listener without deferred accept: wait
        // for the first bytes here, within the same head deadline.
        loop {
            let n = self.read_buf.len().min(line.len());
            if self.read_buf[..n] != line[..n] {
                return Ok(false);
            }
            if n == line.len() {
                return Ok(true);
            }
            let read = read_some(&mut self.stream, &mut self.tls, &mut self.read_buf);
            match timeout_at(deadline, read).await {
                Ok(Ok(0)) | Err(_) => return Ok(false),
                Ok(Ok(_)) => {}
                Ok(Err(err)) => return Err(err),
            }
        }
    }

    /// Serves the connection as HTTP/2 from here on, the bytes read so far
    /// first.
    pub(super) async fn into_http2(mut self, deadline: Instant) {
        // Frames are small and interleaved (window updates, pings): none
        // may wait for the previous one's ACK.
        self.set_nodelay();
        let setup = Setup {
            https: self.tls.is_some(),
            shared: self.shared,
            live: self.live,
            shutdown: self.shutdown,
            peer: self.peer,
            deadline,
            ticket: self.ticket,
        };
        let head = self.read_buf;
        match self.tls {
            Some(tls) => {
                let io = TlsIo::new(self.stream, tls);
                http2::serve(Prefixed { head, io }, setup).await;
            }
            None => {
                http2::serve(
                    Prefixed {
                        head,
                        io: self.stream,
                    },
                    setup,
                )
                .await
            }
        }
    }

    /// Ends a connection after its last response. Lingers only when the
    /// client may still be sending (a body we did not read, pipelined
    /// requests we will not answer); otherwise dropping the socket closes
    /// it cleanly and saves a shutdown, a read and a timer per connection.
    async fn finish(&mut self, framing: Framing) -> io::Result<()> {
        if framing == Framing::None && self.read_buf.is_empty() {
            self.end_tls().await;
            return Ok(());
        }
        self.close().await
    }

    /// Sets TCP_NODELAY once the connection is kept alive. Only then: a
    /// response followed by a close is flushed by the close, so
    /// one-request connections skip the call.
    fn set_nodelay(&mut self) {
        if self.nodelay {
            return;
        }
        self.nodelay = true;
        if let Err(err) = self.stream.set_nodelay(true) {
            tracing::debug!(peer = %self.peer, error = %err, "set_nodelay failed");
        }
    }

    /// Whether the connection stays open after this exchange: the one place
    /// that decides, and what the `Connection` header then says.
    fn persists(&self, request: &Request, response: &Response) -> bool {
        let body_discardable = match request.fields.framing {
            Framing::None => true,
            // A client waiting for 100 Continue may never send the body.
            Framing::Length(len) => len <= MAX_DISCARD_BODY && !request.fields.expect_continue,
            Framing::Chunked => false,
        };
        request.keep_alive
            && body_discardable
            && !response.status.closes_connection()
            && self.served < self.shared.limits.max_requests
            && !self.shutdown.is_stopping()
            && self.redirect_to.is_none()
    }

    /// Reads until a whole request head is buffered. With nothing buffered,
    /// waits until `idle_deadline` (and not at all once shutting down), or
    /// asks to be parked after [`park_after`]; from the first byte of a
    /// head, the whole head gets the header timeout.
    async fn next_request(&mut self, idle_deadline: Instant) -> io::Result<Next> {
        let mut deadline = idle_deadline;
        let mut in_head = !self.read_buf.is_empty();
        if in_head {
            deadline = Instant::now() + self.shared.limits.header_timeout;
        }
        let park_at = self.idle_since + park_after(self.park_level);
        loop {
            match request::parse(&self.read_buf) {
                Ok(Some((request, used))) => {
                    self.read_buf.advance(used);
                    return Ok(Next::Request(request));
                }
                Ok(None) => {}
                Err(err) => return Ok(Next::Refuse(err)),
            }
            if self.read_buf.is_empty() {
                self.release_buffers();
            }
            let parks = !in_head && self.parking.is_some() && park_at < deadline;
            let wait_until = if parks { park_at } else { deadline };
            let Connection {
                stream,
                read_buf,
                shutdown,
                tls,
                ..
            } = self;
            let read = tokio::select! {
                read = timeout_at(wait_until, read_some(stream, tls, read_buf)) => read,
                () = shutdown.stopping(), if !in_head => return Ok(Next::Close),
            };
            match read {
                Err(_) if in_head => return Ok(Next::Refuse(ParseError::TimedOut)),
                Err(_) if parks => return Ok(Next::Park(deadline)),
                Err(_) => {
                    self.count_idle_timeout();
                    return Ok(Next::Close);
                }
                Ok(Ok(0)) => return Ok(Next::Close),
                Ok(Ok(_)) if !in_head => {
                    in_head = true;
                    deadline = Instant::now() + self.shared.limits.header_timeout;
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => return Err(err),
            }
        }
    }

    /// Between requests the buffers of a connection in use are kept for
    /// the next one (parking frees them); a connection that has not been
    /// reused yet, or whose buffers a long head, a large in-memory body or
    /// a copied file made large, gives them back.
    fn release_buffers(&mut self) {
        let reused = self.served >= 2;
        if !reused || self.read_buf.capacity() > READ_BUFFER {
            self.read_buf = BytesMut::new();
        }
        if !reused || self.write_buf.capacity() > KEEP_WRITE_BUFFER {
            self.write_buf = Vec::new();
        }
    }

    /// A connection that sent nothing by its deadline: within the header
    /// timeout from the accept for a new one, else the keep-alive timeout.
    fn count_idle_timeout(&self) {
        let counter = match self.served {
            0 => Counter::HeaderTimeouts,
            _ => Counter::KeepAliveTimeouts,
        };
        self.shared.metrics.count(counter);
    }

    /// Answers a request head that could not be accepted, then closes.
    async fn refuse(&mut self, reason: ParseError) -> io::Result<()> {
        if reason == ParseError::TimedOut {
            self.shared.metrics.count(Counter::HeaderTimeouts);
        }
        let response = match self.redirect_to {
            Some(_) => Response::error(reason.status()),
            None => self.shared.site.refusal(reason.status()),
        };
        self.refuse_with(response).await
    }

    /// Answers with `response` where there is no request to log, then
    /// closes.
    pub(super) async fn refuse_with(&mut self, response: Response) -> io::Result<()> {
        let status = response.status;
        let started = self.clock_started();
        let sent = self.write_response(response, false, false).await;
        self.record(None, status, sent.as_ref().ok(), started);
        sent?;
        self.close().await
    }

    /// When a request started, if the access log or the metrics want to
    /// know.
    fn clock_started(&self) -> Option<Instant> {
        super::record::clock(&self.shared)
    }

    /// Counts a TLS handshake's outcome (a timeout among the header
    /// timeouts: it has the same deadline).
    fn count_handshake(&self, done: &io::Result<bool>) {
        let metrics = &self.shared.metrics;
        match done {
            Ok(true) => metrics.count(Counter::TlsHandshakes),
            Ok(false) => metrics.count(Counter::TlsHandshakeFailures),
            Err(err) => {
                metrics.count(Counter::TlsHandshakeFailures);
                if err.kind() == io::ErrorKind::TimedOut {
                    metrics.count(Counter::HeaderTimeouts);
                }
            }
        }
    }

    /// Counts the request and writes its one access-log line, after the
    /// response.
    fn record(
        &self,
        request: Option<&Request>,
        status: Status,
        body_bytes: Option<&u64>,
        started: Option<Instant>,
    ) {
        let client = self.client(request);
        let done = Done {
            status,
            body_bytes: body_bytes.copied(),
            started,
        };
        record(&self.shared, client, request, &done);
    }
}

/// Reads what the client sends next into `buf`, decrypted over TLS: how
/// much, 0 at the end of the stream.
pub(super) async fn read_some(
    stream: &mut Stream,
    tls: &mut Option<Box<rustls::ServerConnection>>,
    buf: &mut BytesMut,
) -> io::Result<usize> {
    match tls.as_deref_mut() {
        // Boxed: a waiting connection's task is as large as its largest
        // waiting state, and plain connections should not pay for TLS's.
        Some(tls) => Box::pin(read_plaintext(stream, tls, buf)).await,
        None => read_when_ready(stream, buf).await,
    }
}

/// Waits until the socket is readable, and only then makes room in the
/// buffer and reads, so a connection waiting for its first request holds
/// no read buffer. The read goes through `AsyncRead`, which notes a short
/// read as the socket drained: the next wait then does not start with a
/// read that finds nothing.
async fn read_when_ready(stream: &mut Stream, buf: &mut BytesMut) -> io::Result<usize> {
    stream.readable().await?;
    if buf.capacity() - buf.len() < READ_BUFFER / 4 {
        buf.reserve(buf.capacity().max(READ_BUFFER));
    }
    stream.read_buf(buf).await
}
