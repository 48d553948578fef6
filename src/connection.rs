//! One client connection: bytes in, requests out, responses written, and
//! the keep-alive decision.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::date;
use crate::handler::Site;
use crate::limits::{INLINE_BODY, LINGER_BYTES, LINGER_TIME, READ_BUFFER, STREAM_CHUNK};
use crate::request::{self, Method, Request};
use crate::response::{Body, Response, encode_head};
use crate::status::Status;

/// Serves requests on `stream` until the client or the protocol ends the
/// connection. I/O errors end only this connection.
pub async fn serve(stream: TcpStream, peer: SocketAddr, site: Arc<Site>) {
    let mut conn = Connection {
        stream,
        peer,
        site,
        read_buf: BytesMut::with_capacity(READ_BUFFER),
        write_buf: Vec::new(),
    };
    if let Err(err) = conn.run().await {
        tracing::debug!(%peer, error = %err, "connection ended");
    }
}

struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    site: Arc<Site>,
    read_buf: BytesMut,
    write_buf: Vec<u8>,
}

/// Whether the connection stays open after this exchange: the one place
/// that decides, and what the `Connection` header then says.
fn persists(request: &Request, response: &Response) -> bool {
    request.keep_alive && !request.has_body && !response.status.closes_connection()
}

impl Connection {
    async fn run(&mut self) -> io::Result<()> {
        loop {
            let parsed = request::parse(&self.read_buf);
            let (request, used) = match parsed {
                Ok(Some(found)) => found,
                Ok(None) => {
                    // Without room, tokio's read_buf would read a few bytes at a time.
                    if self.read_buf.capacity() - self.read_buf.len() < READ_BUFFER / 4 {
                        self.read_buf.reserve(READ_BUFFER);
                    }
                    if self.stream.read_buf(&mut self.read_buf).await? == 0 {
                        return Ok(()); // closed by the client, maybe mid-request
                    }
                    continue;
                }
                Err(err) => return self.refuse(err.status()).await,
            };
            self.read_buf.advance(used);
            let started = Instant::now();
            let response = self.site.handle(&request);
            let keep_alive = persists(&request, &response);
            let status = response.status;
            let head_only = request.method == Method::Head;
            let sent = self.write_response(response, head_only, keep_alive).await;
            log_request(
                self.peer,
                Some(&request),
                status,
                sent.as_ref().ok(),
                started,
            );
            sent?;
            if !keep_alive {
                return self.close().await;
            }
        }
    }

    /// Answers a request head that could not be parsed, then closes.
    async fn refuse(&mut self, status: Status) -> io::Result<()> {
        let started = Instant::now();
        let sent = self
            .write_response(Response::error(status), false, false)
            .await;
        log_request(self.peer, None, status, sent.as_ref().ok(), started);
        sent?;
        self.close().await
    }

    /// Writes one response and returns the number of bytes sent.
    async fn write_response(
        &mut self,
        response: Response,
        head_only: bool,
        keep_alive: bool,
    ) -> io::Result<u64> {
        self.write_buf.clear();
        encode_head(&response, keep_alive, &date::now(), &mut self.write_buf);
        let head_len = self.write_buf.len() as u64;
        match response.body {
            _ if head_only => {}
            Body::Bytes(bytes) => self.write_buf.extend_from_slice(&bytes),
            Body::File { mut file, len } if len <= INLINE_BODY => {
                read_into(&mut file, len, &mut self.write_buf)?;
            }
            Body::File { file, len } => {
                self.stream.write_all(&self.write_buf).await?;
                self.write_buf.clear();
                stream_file(&mut self.stream, file, len).await?;
                return Ok(head_len + len);
            }
        }
        self.stream.write_all(&self.write_buf).await?;
        Ok(self.write_buf.len() as u64)
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
            match tokio::time::timeout_at(deadline, self.stream.read(&mut scratch)).await {
                Ok(Ok(n)) if n > 0 => drained += n,
                _ => break,
            }
        }
        Ok(())
    }
}

/// Reads exactly `len` bytes of a small file; a file that shrank since it
/// was stat'ed is an error, so a short body is never sent as complete.
fn read_into(file: &mut std::fs::File, len: u64, out: &mut Vec<u8>) -> io::Result<()> {
    use std::io::Read;
    let start = out.len();
    let len = len as usize; // len <= INLINE_BODY
    out.resize(start + len, 0);
    file.read_exact(&mut out[start..])
}

/// Streams `len` bytes of a large file in bounded chunks.
async fn stream_file(stream: &mut TcpStream, file: std::fs::File, len: u64) -> io::Result<()> {
    let mut file = tokio::fs::File::from_std(file).take(len);
    let mut chunk = vec![0u8; STREAM_CHUNK];
    let mut sent = 0u64;
    while sent < len {
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while sending",
            ));
        }
        stream.write_all(&chunk[..n]).await?;
        sent += n as u64;
    }
    Ok(())
}

/// The one access-log line per request.
fn log_request(
    peer: SocketAddr,
    request: Option<&Request>,
    status: Status,
    sent: Option<&u64>,
    started: Instant,
) {
    let (method, target) = request.map_or(("-", "-"), |r| (r.method.as_str(), r.target.as_str()));
    tracing::info!(
        target: "staticd::access",
        %peer,
        method,
        target = ?target,
        status = status.code(),
        bytes = sent.copied().unwrap_or(0),
        duration_us = elapsed_us(started.elapsed()),
        completed = sent.is_some(),
    );
}

fn elapsed_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
