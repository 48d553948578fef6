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
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::timeout_at;

use crate::access_log::{AccessLog, Entry};
use crate::config::Config;
use crate::date;
use crate::fields::Framing;
use crate::handler::Site;
use crate::limits::{
    INLINE_BODY, LINGER_BYTES, LINGER_TIME, MAX_DISCARD_BODY, READ_BUFFER, SENDFILE_CHUNK,
    STREAM_CHUNK,
};
use crate::request::{self, Method, Request, Version};
use crate::response::{Body, Piece, Response, encode_head};
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
                Next::Refuse(status) => return self.refuse(status).await,
            };
            self.served += 1;
            let started = Instant::now();
            let head_only = request.method == Method::Head;
            let response = load_small_body(self.shared.site.handle(&request), head_only);
            let keep_alive = self.persists(&request, &response);
            let status = response.status;
            let sent = self.write_response(response, head_only, keep_alive).await;
            self.log(Some(&request), status, sent.as_ref().ok(), started);
            sent?;
            if !keep_alive {
                return self.close().await;
            }
            if let Framing::Length(len) = request.framing {
                if !self.discard_body(len).await? {
                    return Ok(());
                }
            }
            idle_limit = self.limits.keepalive_timeout;
        }
    }

    /// Whether the connection stays open after this exchange: the one place
    /// that decides, and what the `Connection` header then says.
    fn persists(&self, request: &Request, response: &Response) -> bool {
        let body_discardable = match request.framing {
            Framing::None => true,
            // A client waiting for 100 Continue may never send the body.
            Framing::Length(len) => len <= MAX_DISCARD_BODY && !request.expect_continue,
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
            if self.read_buf.capacity() - self.read_buf.len() < READ_BUFFER / 4 {
                self.read_buf.reserve(READ_BUFFER);
            }
            let read = tokio::select! {
                read = timeout_at(deadline, self.stream.read_buf(&mut self.read_buf)) => read,
                _ = self.shutdown.wait_for(|&stop| stop), if !in_head => return Ok(Next::Close),
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

    /// Writes one response and returns the number of body bytes sent.
    async fn write_response(
        &mut self,
        response: Response,
        head_only: bool,
        keep_alive: bool,
    ) -> io::Result<u64> {
        self.write_buf.clear();
        let extra = &self.shared.extra_headers;
        encode_head(
            &response,
            keep_alive,
            &date::now(),
            extra,
            &mut self.write_buf,
        );
        let head_len = self.write_buf.len();
        let body_len = response.body.len();
        match response.body {
            _ if head_only => return self.send(head_len).await.map(|()| 0),
            Body::None => {}
            Body::Bytes(bytes) => self.write_buf.extend_from_slice(&bytes),
            Body::Shared(bytes) => self.write_buf.extend_from_slice(&bytes),
            Body::File { file, offset, len } => {
                // Corked, the head leaves in the same segment as the body's start.
                let corked = set_cork(&self.stream, true).is_ok();
                let sent = self.send_file(head_len, &file, offset, len).await;
                if corked {
                    let _ = set_cork(&self.stream, false);
                }
                sent?;
                return Ok(len);
            }
            Body::Parts { file, pieces } => {
                self.send(head_len).await?;
                let mut file = tokio::fs::File::from_std(file);
                for piece in pieces {
                    match piece {
                        Piece::Bytes(bytes) => self.send_bytes(&bytes).await?,
                        Piece::Range { offset, len } => {
                            self.stream_range(&mut file, offset, len).await?
                        }
                    }
                }
                return Ok(body_len);
            }
        }
        self.send(self.write_buf.len()).await?;
        Ok(body_len)
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
            referer: request.and_then(|r| r.referer.as_deref()),
            user_agent: request.and_then(|r| r.user_agent.as_deref()),
            duration: started.elapsed(),
            completed: body_bytes.is_some(),
        });
    }

    /// Writes the first `len` bytes of the write buffer within the send timeout.
    async fn send(&mut self, len: usize) -> io::Result<()> {
        let write = self.stream.write_all(&self.write_buf[..len]);
        with_send_timeout(self.limits.send_timeout, write).await
    }

    async fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        with_send_timeout(self.limits.send_timeout, self.stream.write_all(bytes)).await
    }

    /// Sends the head, then `len` bytes of `file` from `offset` with
    /// `sendfile(2)`: the bytes go from the page cache to the socket without
    /// passing through user space. Falls back to copying where the kernel
    /// refuses (EINVAL/ENOSYS: a file system without sendfile support).
    async fn send_file(
        &mut self,
        head_len: usize,
        file: &std::fs::File,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        self.send(head_len).await?;
        let socket = self.stream.as_raw_fd();
        let source = file.as_raw_fd();
        let mut position = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let end = offset + len;
        while (position as u64) < end {
            let count = usize::try_from(end - position as u64)
                .map_or(SENDFILE_CHUNK, |n| n.min(SENDFILE_CHUNK));
            let sending = self.stream.async_io(Interest::WRITABLE, || {
                // SAFETY: both descriptors are open for the whole call and
                // `position` is a valid off_t the kernel advances.
                let n = unsafe { libc::sendfile(socket, source, &mut position, count) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match tokio::time::timeout(self.limits.send_timeout, sending).await {
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "client stopped reading",
                    ));
                }
                Ok(Ok(0)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file shrank while sending",
                    ));
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) if matches!(err.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                    let copy = file.try_clone()?;
                    let mut copy = tokio::fs::File::from_std(copy);
                    return self
                        .stream_range(&mut copy, position as u64, end - position as u64)
                        .await;
                }
                Ok(Err(err)) => return Err(err),
            }
        }
        Ok(())
    }

    /// Streams `len` bytes of `file` from `offset` in bounded chunks. A
    /// file that shrank ends the connection after what exists: never
    /// padded, and the connection is never reused, since the framing is
    /// broken.
    async fn stream_range(
        &mut self,
        file: &mut tokio::fs::File,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        file.seek(io::SeekFrom::Start(offset)).await?;
        self.write_buf.resize(STREAM_CHUNK, 0);
        let mut sent = 0u64;
        while sent < len {
            let want =
                usize::try_from(len - sent).map_or(STREAM_CHUNK, |left| left.min(STREAM_CHUNK));
            let n = file.read(&mut self.write_buf[..want]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while sending",
                ));
            }
            self.send(n).await?;
            sent += n as u64;
        }
        Ok(())
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

async fn with_send_timeout(
    limit: Duration,
    write: impl std::future::Future<Output = io::Result<()>>,
) -> io::Result<()> {
    tokio::time::timeout(limit, write)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))?
}

/// Sets TCP_CORK, which holds partial segments until it is cleared.
fn set_cork(stream: &TcpStream, on: bool) -> io::Result<()> {
    let value: libc::c_int = on.into();
    // SAFETY: a valid socket and a c_int option value of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CORK,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads a small file body into memory before the head is sent, so a read
/// error (or a file that shrank since it was stat'ed) can still be answered
/// with 500 instead of a broken response.
fn load_small_body(response: Response, head_only: bool) -> Response {
    match response.body {
        Body::File { file, offset, len } if len <= INLINE_BODY && !head_only => {
            match crate::fs::read_exactly(&file, offset, len) {
                Ok(bytes) => Response {
                    body: Body::Bytes(bytes),
                    ..response
                },
                Err(err) => {
                    tracing::warn!(error = %err, "reading a file failed before its head was sent");
                    Response::error(Status::InternalServerError)
                }
            }
        }
        _ => response,
    }
}
