//! One client connection: bytes in, requests out, responses written, and
//! the keep-alive decision. Every wait here has a deadline: a head must
//! arrive within the header timeout, an idle connection is closed after the
//! keep-alive timeout, and a client that stops reading is dropped after the
//! send timeout.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use crate::http::fields::Framing;
use crate::http::request::{self, Method, Request, Version};
use crate::http::response::Response;
use crate::http::status::Status;
use crate::ops::access_log::{AccessLog, Entry};
use crate::serve::limits::{KEEP_WRITE_BUFFER, MAX_DISCARD_BODY, READ_BUFFER};
use crate::serve::parking::{Parking, park_after};
use crate::serve::pool::Ticket;
use crate::shutdown::Shutdown;
use crate::site::handler::Site;

/// The per-connection limits the configuration sets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time for a whole request head to arrive, from its first byte (from
    /// the accept for a connection's first request); then 408.
    pub header_timeout: Duration,
    /// Idle time allowed between requests on a kept-alive connection.
    pub keepalive_timeout: Duration,
    /// Time a write may wait for a client that stopped reading.
    pub send_timeout: Duration,
    /// Requests served on one connection before it is closed.
    pub max_requests: u32,
}

/// What all connections share.
#[derive(Debug)]
pub struct Shared {
    pub site: Site,
    pub limits: Limits,
    /// `--header` fields, added to every response.
    pub extra_headers: Vec<(String, String)>,
    pub access_log: AccessLog,
}

/// What waiting for the next request ended with. Lives only on the stack
/// between two awaits, so its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Next {
    Request(Request),
    /// The client closed, stayed idle too long, or we are shutting down.
    Close,
    /// The head could not be accepted; answer with this status and close.
    Refuse(Status),
    /// Idle long enough to be parked, until this deadline.
    Park(Instant),
}

/// How a connection's task ended.
enum Ended {
    Closed,
    /// Handed to the worker's parking table until this deadline.
    Parked(Instant),
    /// To move to this worker, idle until this deadline.
    Moved(usize, Instant),
}

/// What a connection gets from the worker that serves it.
#[derive(Clone)]
pub struct Worker {
    pub shared: Arc<Shared>,
    pub shutdown: Shutdown,
    /// Where it goes when idle (none if the worker could not make one).
    pub parking: Option<Arc<Parking>>,
}

struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Shutdown,
    ticket: Ticket,
    parking: Option<Arc<Parking>>,
    read_buf: BytesMut,
    write_buf: Vec<u8>,
    served: u32,
    /// Parking delay level, see [`park_after`].
    park_level: u8,
    /// Since when the connection has been waiting for a request.
    idle_since: Instant,
    /// Whether TCP_NODELAY is set: once the connection is kept alive, a
    /// small response must not wait for the previous one's ACK.
    nodelay: bool,
}

impl Connection {
    fn new(stream: TcpStream, peer: SocketAddr, ticket: Ticket, worker: Worker) -> Connection {
        let Worker {
            shared,
            shutdown,
            parking,
        } = worker;
        Connection {
            stream,
            peer,
            shared,
            shutdown,
            ticket,
            parking,
            read_buf: BytesMut::new(),
            write_buf: Vec::new(),
            served: 0,
            park_level: 0,
            idle_since: Instant::now(),
            nodelay: false,
        }
    }

    /// Serves requests; the first head must start by `deadline`.
    async fn run(&mut self, mut deadline: Instant) -> io::Result<Ended> {
        loop {
            let request = match self.next_request(deadline).await? {
                Next::Request(request) => request,
                Next::Close => return Ok(Ended::Closed),
                Next::Park(deadline) => return Ok(Ended::Parked(deadline)),
                Next::Refuse(status) => {
                    Box::pin(self.refuse(status)).await?;
                    return Ok(Ended::Closed);
                }
            };
            self.served += 1;
            let started = self.log_started();
            let head_only = request.method == Method::Head;
            let response = self.shared.site.handle(&request);
            let keep_alive = self.persists(&request, &response);
            if keep_alive && !self.nodelay {
                // Only now: a response followed by a close is flushed by
                // the close, so one-request connections skip the call.
                self.nodelay = true;
                if let Err(err) = self.stream.set_nodelay(true) {
                    tracing::debug!(peer = %self.peer, error = %err, "set_nodelay failed");
                }
            }
            let status = response.status;
            // Boxed: the writing states are large, and an idle connection's
            // task should only be as big as its waiting state.
            let sent = Box::pin(self.write_response(response, head_only, keep_alive)).await;
            self.log(Some(&request), status, sent.as_ref().ok(), started);
            sent?;
            if !keep_alive {
                // Linger only when the client may still be sending (a body
                // we did not read, pipelined requests we will not answer);
                // otherwise dropping the socket closes it cleanly and saves
                // a shutdown, a read and a timer per connection.
                if request.fields.framing == Framing::None && self.read_buf.is_empty() {
                    return Ok(Ended::Closed);
                }
                Box::pin(self.close()).await?;
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
                Err(err) => return Ok(Next::Refuse(err.status())),
            }
            if self.read_buf.is_empty() {
                // Between requests the buffers of a connection in use are
                // kept for the next one (parking frees them); a connection
                // that has not been reused yet, or whose buffers a long head
                // or a streamed file made large, gives them back.
                let reused = self.served >= 2;
                if !reused || self.read_buf.capacity() > READ_BUFFER {
                    self.read_buf = BytesMut::new();
                }
                if !reused || self.write_buf.capacity() > KEEP_WRITE_BUFFER {
                    self.write_buf = Vec::new();
                }
            }
            let parks = !in_head && self.parking.is_some() && park_at < deadline;
            let wait_until = if parks { park_at } else { deadline };
            let Connection {
                stream,
                read_buf,
                shutdown,
                ..
            } = self;
            let read = tokio::select! {
                read = timeout_at(wait_until, read_when_ready(stream, read_buf)) => read,
                () = shutdown.stopping(), if !in_head => return Ok(Next::Close),
            };
            match read {
                Err(_) if in_head => return Ok(Next::Refuse(Status::RequestTimeout)),
                Err(_) if parks => return Ok(Next::Park(deadline)),
                Err(_) | Ok(Ok(0)) => return Ok(Next::Close),
                Ok(Ok(_)) if !in_head => {
                    in_head = true;
                    deadline = Instant::now() + self.shared.limits.header_timeout;
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => return Err(err),
            }
        }
    }

    /// Answers a request head that could not be accepted, then closes.
    async fn refuse(&mut self, status: Status) -> io::Result<()> {
        let started = self.log_started();
        let sent = self
            .write_response(Response::error(status), false, false)
            .await;
        self.log(None, status, sent.as_ref().ok(), started);
        sent?;
        self.close().await
    }

    /// When a request started, if the access log wants to know.
    fn log_started(&self) -> Option<Instant> {
        self.shared.access_log.enabled().then(Instant::now)
    }

    /// The one access-log line per request, written after the response.
    fn log(
        &self,
        request: Option<&Request>,
        status: Status,
        body_bytes: Option<&u64>,
        started: Option<Instant>,
    ) {
        if !self.shared.access_log.enabled() {
            return;
        }
        let line = request.map(|r| {
            let version = match r.version {
                Version::Http10 => "HTTP/1.0",
                Version::Http11 => "HTTP/1.1",
            };
            format!("{} {} {version}", r.method.as_str(), r.target)
        });
        self.shared.access_log.record(&Entry {
            peer: self.peer,
            time: SystemTime::now(),
            request_line: line.as_deref().map(str::as_bytes),
            status: status.code(),
            body_bytes: body_bytes.copied().unwrap_or(0),
            referer: request.and_then(|r| r.fields.referer.as_deref()),
            user_agent: request.and_then(|r| r.fields.user_agent.as_deref()),
            duration: started.map_or(Duration::ZERO, |t| t.elapsed()),
            completed: body_bytes.is_some(),
        });
    }
}

/// Waits until the socket is readable, and only then makes room in the
/// buffer and reads, so a connection waiting for its first request holds
/// no read buffer. The read goes through `AsyncRead`, which notes a short
/// read as the socket drained: the next wait then does not start with a
/// read that finds nothing.
async fn read_when_ready(stream: &mut TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    stream.readable().await?;
    if buf.capacity() - buf.len() < READ_BUFFER / 4 {
        buf.reserve(buf.capacity().max(READ_BUFFER));
    }
    stream.read_buf(buf).await
}

mod write;

mod drain;

mod task;

pub use task::{Moved, arrive, resume, serve};

#[cfg(test)]
pub(crate) mod tests {
    //! Unit tests for the connection module.

    /// The limits of these tests: the command line's defaults.
    pub(crate) const LIMITS: crate::serve::connection::Limits = crate::serve::connection::Limits {
        header_timeout: std::time::Duration::from_secs(10),
        keepalive_timeout: std::time::Duration::from_secs(5),
        send_timeout: std::time::Duration::from_secs(30),
        max_requests: 10_000,
    };

    /// What connections share, for a plain site serving `root`.
    pub(crate) fn shared_for(
        root: &std::path::Path,
    ) -> std::sync::Arc<crate::serve::connection::Shared> {
        let options = crate::site::Options {
            autoindex: crate::site::Autoindex::Off,
            precompressed: true,
            show_hidden: false,
            cache_control: None,
            charset: None,
        };
        let root =
            crate::site::root::Root::open(root, crate::site::root::Symlinks::Inside).unwrap();
        std::sync::Arc::new(crate::serve::connection::Shared {
            site: crate::site::Site::new(root, &options),
            limits: LIMITS,
            extra_headers: Vec::new(),
            access_log: crate::ops::access_log::AccessLog::open(
                crate::ops::access_log::LogFormat::Off,
                None,
            )
            .unwrap(),
        })
    }

    /// Every connection's task is as large as its largest waiting state; an
    /// idle keep-alive connection must stay cheap (the writing states are
    /// boxed), so this guards against an await growing it again.
    #[tokio::test]
    async fn a_connection_task_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let shared = shared_for(dir.path());
        let control = crate::shutdown::Control::new();
        let permit = std::sync::Arc::new(tokio::sync::Semaphore::new(1))
            .acquire_owned()
            .await
            .unwrap();
        let ticket = crate::serve::pool::Pool::new(1, 1).0.ticket(0, permit);
        let task = crate::serve::connection::serve(
            stream,
            peer,
            ticket,
            crate::serve::connection::Worker {
                shared,
                shutdown: control.subscribe(),
                parking: None,
            },
        );
        let size = std::mem::size_of_val(&task);
        assert!(size <= 2048, "a connection task takes {size} bytes");
    }
}
