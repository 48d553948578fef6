//! One client connection: bytes in, requests out, responses written, and
//! the keep-alive decision. Every wait here has a deadline: a head must
//! arrive within the header timeout, an idle connection is closed after the
//! keep-alive timeout, and a client that stops reading is dropped after the
//! send timeout.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::timeout_at;

use crate::access_log::{AccessLog, Entry};
use crate::config::Config;
use crate::fields::Framing;
use crate::handler::Site;
use crate::limits::{LINGER_BYTES, LINGER_TIME, MAX_DISCARD_BODY, READ_BUFFER};
use crate::request::{self, Method, Request, Version};
use crate::response::Response;
use crate::status::Status;

/// The per-connection limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub send_timeout: Duration,
    pub max_requests: u32,
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        Limits {
            header_timeout: config.header_timeout,
            keepalive_timeout: config.keepalive_timeout,
            send_timeout: config.send_timeout,
            max_requests: config.max_requests,
        }
    }
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
}

/// Serves requests on `stream` until the client, a limit or shutdown ends
/// the connection. Holding `_permit` counts it against `--max-connections`.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let mut conn = Connection {
        stream,
        peer,
        limits: shared.limits,
        shared,
        shutdown,
        read_buf: BytesMut::new(),
        write_buf: Vec::new(),
        served: 0,
    };
    match conn.run().await {
        Ok(()) => tracing::debug!(%peer, requests = conn.served, "connection ended"),
        Err(err) => {
            tracing::debug!(%peer, requests = conn.served, error = %err, "connection ended")
        }
    }
}

struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
    read_buf: BytesMut,
    write_buf: Vec<u8>,
    served: u32,
}

impl Connection {
    async fn run(&mut self) -> io::Result<()> {
        let mut idle_limit = self.limits.header_timeout; // first request: from accept
        loop {
            let request = match self.next_request(idle_limit).await? {
                Next::Request(request) => request,
                Next::Close => return Ok(()),
                Next::Refuse(status) => return Box::pin(self.refuse(status)).await,
            };
            self.served += 1;
            let started = Instant::now();
            let head_only = request.method == Method::Head;
            let response = load_small_body(self.shared.site.handle(&request), head_only);
            let keep_alive = self.persists(&request, &response);
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
                    return Ok(());
                }
                return Box::pin(self.close()).await;
            }
            if let Framing::Length(len) = request.fields.framing {
                if !Box::pin(self.discard_body(len)).await? {
                    return Ok(());
                }
            }
            idle_limit = self.limits.keepalive_timeout;
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
            && self.served < self.limits.max_requests
            && !*self.shutdown.borrow()
    }

    /// Reads until a whole request head is buffered. With nothing buffered,
    /// waits at most `idle_limit` (and not at all once shutting down); from
    /// the first byte of a head, the whole head gets the header timeout.
    async fn next_request(&mut self, idle_limit: Duration) -> io::Result<Next> {
        let now = tokio::time::Instant::now();
        let mut deadline = now + idle_limit;
        let mut in_head = !self.read_buf.is_empty();
        if in_head {
            deadline = now + self.limits.header_timeout;
        }
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
                // Idle: hold no buffers while waiting (an idle keep-alive
                // connection then costs little more than its task).
                self.read_buf = BytesMut::new();
                self.write_buf = Vec::new();
            }
            let Connection {
                stream,
                read_buf,
                shutdown,
                ..
            } = self;
            let read = tokio::select! {
                read = timeout_at(deadline, read_when_ready(stream, read_buf)) => read,
                _ = shutdown.wait_for(|&stop| stop), if !in_head => return Ok(Next::Close),
            };
            match read {
                Err(_) if in_head => return Ok(Next::Refuse(Status::RequestTimeout)),
                Err(_) | Ok(Ok(0)) => return Ok(Next::Close),
                Ok(Ok(_)) if !in_head => {
                    in_head = true;
                    deadline = tokio::time::Instant::now() + self.limits.header_timeout;
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => return Err(err),
            }
        }
    }

    /// Reads and drops a small request body so the next request starts
    /// where it should. False when the client did not deliver it in time.
    async fn discard_body(&mut self, len: u64) -> io::Result<bool> {
        let buffered =
            usize::try_from(len).map_or(self.read_buf.len(), |l| l.min(self.read_buf.len()));
        self.read_buf.advance(buffered);
        let mut left = len - buffered as u64;
        let deadline = tokio::time::Instant::now() + self.limits.header_timeout;
        let mut scratch = [0u8; 4096];
        while left > 0 {
            let want = scratch
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            match timeout_at(deadline, self.stream.read(&mut scratch[..want])).await {
                Ok(Ok(n)) if n > 0 => left -= n as u64,
                Ok(Err(err)) => return Err(err),
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Answers a request head that could not be accepted, then closes.
    async fn refuse(&mut self, status: Status) -> io::Result<()> {
        let started = Instant::now();
        let sent = self
            .write_response(Response::error(status), false, false)
            .await;
        self.log(None, status, sent.as_ref().ok(), started);
        sent?;
        self.close().await
    }

    /// The one access-log line per request, written after the response.
    fn log(
        &self,
        request: Option<&Request>,
        status: Status,
        body_bytes: Option<&u64>,
        started: Instant,
    ) {
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
            duration: started.elapsed(),
            completed: body_bytes.is_some(),
        });
    }

    /// Closes without losing the response: shut down our side, then read
    /// and discard what the client still sends (a body we did not read,
    /// the rest of an over-long head) for a bounded time, so the kernel
    /// does not answer those bytes with a reset that destroys the response.
    async fn close(&mut self) -> io::Result<()> {
        self.stream.shutdown().await?;
        let mut drained = 0;
        let mut scratch = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + LINGER_TIME;
        while drained < LINGER_BYTES {
            match timeout_at(deadline, self.stream.read(&mut scratch)).await {
                Ok(Ok(n)) if n > 0 => drained += n,
                _ => break,
            }
        }
        Ok(())
    }
}

/// Waits until the socket is readable, and only then makes room in the
/// buffer and reads, so a connection waiting for its next request holds no
/// read buffer.
async fn read_when_ready(stream: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        if buf.capacity() - buf.len() < READ_BUFFER / 4 {
            buf.reserve(buf.capacity().max(READ_BUFFER));
        }
        match stream.try_read_buf(buf) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            result => return result,
        }
    }
}

#[path = "connection_write.rs"]
mod write;

use write::load_small_body;

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
