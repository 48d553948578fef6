//! Writing responses: heads and in-memory bodies in one write, file
//! ranges with sendfile(2) (a single file and each part of a multipart
//! body alike); every write bounded by the send timeout.

use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, Interest};

use super::exchange::Connection;
use super::worker::Shared;
use crate::http::date;
use crate::http::response::{Body, Piece, Response, encode_head};
use crate::ops::metrics::Counter;
use crate::serve::limits::{SENDFILE_CHUNK, STREAM_CHUNK};

impl Connection {
    /// Writes the first `len` bytes of the write buffer within the send timeout.
    async fn send(&mut self, len: usize) -> io::Result<()> {
        self.send_with(len, libc::MSG_NOSIGNAL).await
    }

    /// Sends the last bytes of a response. When the connection closes
    /// after it, they go with MSG_MORE: the kernel holds them until the
    /// close, and the FIN leaves in the same segment, so the client has
    /// one segment fewer to receive and acknowledge.
    async fn send_last(&mut self, len: usize, keep_alive: bool) -> io::Result<()> {
        let more = if keep_alive { 0 } else { libc::MSG_MORE };
        self.send_with(len, more | libc::MSG_NOSIGNAL).await
    }

    /// Writes the first `len` bytes of the write buffer with `send(2)`
    /// flags. The socket nearly always takes them at once; only when it
    /// does not is a send timeout armed for the rest.
    async fn send_with(&mut self, len: usize, flags: libc::c_int) -> io::Result<()> {
        let Connection {
            stream, write_buf, ..
        } = self;
        let fd = stream.as_raw_fd();
        let mut sent = 0;
        while sent < len {
            match stream.try_io(Interest::WRITABLE, || {
                send_raw(fd, &write_buf[sent..len], flags)
            }) {
                Ok(n) => sent += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => return Err(err),
            }
        }
        if sent == len {
            return Ok(());
        }
        let rest = async {
            while sent < len {
                let rest = &write_buf[sent..len];
                sent += stream
                    .async_io(Interest::WRITABLE, || send_raw(fd, rest, flags))
                    .await?;
            }
            Ok(())
        };
        with_send_timeout(&self.shared, rest).await
    }

    /// Writes the head (the first `head_len` bytes of the write buffer)
    /// and `body` with vectored writes: at once when the socket takes them,
    /// as it nearly always does, else within the send timeout.
    async fn send_pair(&mut self, head_len: usize, body: &[u8]) -> io::Result<()> {
        let Connection {
            stream,
            write_buf,
            shared,
            ..
        } = self;
        let head = &write_buf[..head_len];
        let total = head_len + body.len();
        let rest_from = |sent: usize| {
            if sent < head_len {
                [IoSlice::new(&head[sent..]), IoSlice::new(body)]
            } else {
                [IoSlice::new(&body[sent - head_len..]), IoSlice::new(&[])]
            }
        };
        let mut sent = 0;
        while sent < total {
            match stream.try_write_vectored(&rest_from(sent)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => return Err(err),
            }
        }
        let rest = async {
            while sent < total {
                stream.writable().await?;
                match stream.try_write_vectored(&rest_from(sent)) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => sent += n,
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    Err(err) => return Err(err),
                }
            }
            Ok(())
        };
        with_send_timeout(shared, rest).await
    }

    pub(super) async fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        with_send_timeout(&self.shared, self.stream.write_all(bytes)).await
    }

    /// Puts the head of `response` into the (emptied) write buffer, with
    /// the fields every response of this connection adds: over TLS, HSTS
    /// among them.
    pub(super) fn encode_head_of(&mut self, response: &Response, keep_alive: bool) {
        self.write_buf.clear();
        let extra = match self.tls {
            Some(_) => &self.shared.https_headers,
            None => &self.shared.extra_headers,
        };
        let out = &mut self.write_buf;
        // The cached date, borrowed: no allocation per response.
        date::with_now(|now| encode_head(response, keep_alive, now, extra, out));
    }

    /// Writes one response and returns the number of body bytes sent.
    pub(super) async fn write_response(
        &mut self,
        response: Response,
        head_only: bool,
        keep_alive: bool,
    ) -> io::Result<u64> {
        if self.tls.is_some() {
            return self
                .write_response_tls(response, head_only, keep_alive)
                .await;
        }
        self.encode_head_of(&response, keep_alive);
        let head_len = self.write_buf.len();
        let body_len = response.body.len();
        match response.body {
            _ if head_only => return self.send_last(head_len, keep_alive).await.map(|()| 0),
            Body::None => {}
            Body::Bytes(bytes) => self.write_buf.extend_from_slice(&bytes),
            // Shared bytes (the file cache's) go out beside the head in one
            // vectored write, without being copied into the buffer.
            Body::Shared(bytes) if keep_alive => {
                return self.send_pair(head_len, &bytes).await.map(|()| body_len);
            }
            Body::Shared(bytes) => self.write_buf.extend_from_slice(&bytes),
            Body::File { file, offset, len } => {
                self.send_file(head_len, &file, offset, len).await?;
                return Ok(len);
            }
            Body::Parts { file, pieces } => {
                self.send_parts(head_len, &file, pieces).await?;
                return Ok(body_len);
            }
            Body::Stream(stream) => return self.send_stream(stream).await,
        }
        self.send_last(self.write_buf.len(), keep_alive).await?;
        Ok(body_len)
    }

    /// Sends the head, then `len` bytes of `file` from `offset`. The head
    /// goes with MSG_MORE, so the kernel holds it and it leaves in the
    /// same segment as the body's start (what TCP_CORK would do, without
    /// two more system calls per response).
    async fn send_file(
        &mut self,
        head_len: usize,
        file: &std::fs::File,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        self.send_with(head_len, libc::MSG_MORE | libc::MSG_NOSIGNAL)
            .await?;
        self.send_range(file, offset, len).await
    }

    /// Sends the head, then a `multipart/byteranges` body: part heads from
    /// memory, part data from `file`.
    async fn send_parts(
        &mut self,
        head_len: usize,
        file: &std::fs::File,
        pieces: Vec<Piece>,
    ) -> io::Result<()> {
        self.send(head_len).await?;
        for piece in pieces {
            match piece {
                Piece::Bytes(bytes) => self.send_bytes(&bytes).await?,
                Piece::Range { offset, len } => self.send_range(file, offset, len).await?,
            }
        }
        Ok(())
    }

    /// Sends `len` bytes of `file` from `offset` with `sendfile(2)`: the
    /// bytes go from the page cache to the socket without passing through
    /// user space. Falls back to copying where the kernel refuses
    /// (EINVAL/ENOSYS: a file system without sendfile support). A file
    /// that shrank ends the connection after what exists: never padded,
    /// and the connection is never reused, since the framing is broken.
    async fn send_range(&mut self, file: &std::fs::File, offset: u64, len: u64) -> io::Result<()> {
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
            match tokio::time::timeout(self.shared.limits.send_timeout, sending).await {
                Err(_) => return Err(stopped_reading(&self.shared)),
                Ok(Ok(0)) => return Err(shrank()),
                Ok(Ok(_)) => {}
                Ok(Err(err)) if matches!(err.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                    let from = position as u64;
                    return self.copy_range(file, from, end - from).await;
                }
                Ok(Err(err)) => return Err(err),
            }
        }
        Ok(())
    }

    /// Copies `len` bytes of `file` from `offset` through the write buffer
    /// in bounded chunks, where the kernel refuses sendfile.
    async fn copy_range(&mut self, file: &std::fs::File, offset: u64, len: u64) -> io::Result<()> {
        let mut file = tokio::fs::File::from_std(file.try_clone()?);
        file.seek(io::SeekFrom::Start(offset)).await?;
        self.write_buf.resize(STREAM_CHUNK, 0);
        let mut sent = 0u64;
        while sent < len {
            let want =
                usize::try_from(len - sent).map_or(STREAM_CHUNK, |left| left.min(STREAM_CHUNK));
            let n = file.read(&mut self.write_buf[..want]).await?;
            if n == 0 {
                return Err(shrank());
            }
            self.send(n).await?;
            sent += n as u64;
        }
        Ok(())
    }
}

/// The error for a file that ended before the length its head announced.
pub(super) fn shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while sending")
}

/// `write`, unless it takes longer than the send timeout.
pub(super) async fn with_send_timeout(
    shared: &Shared,
    write: impl std::future::Future<Output = io::Result<()>>,
) -> io::Result<()> {
    tokio::time::timeout(shared.limits.send_timeout, write)
        .await
        .map_err(|_| stopped_reading(shared))?
}

/// The error for a client that stopped reading, counted.
fn stopped_reading(shared: &Shared) -> io::Error {
    shared.metrics.count(Counter::SendTimeouts);
    io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")
}

/// One `send(2)`; a zero-byte result for a non-empty buffer is an error,
/// so no caller loops on it.
fn send_raw(fd: i32, bytes: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: bytes is valid for bytes.len() bytes for the whole call.
    let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), flags) };
    match n {
        n if n < 0 => Err(io::Error::last_os_error()),
        0 if !bytes.is_empty() => Err(io::ErrorKind::WriteZero.into()),
        n => Ok(n as usize),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::Arc;

    use bytes::BytesMut;

    use super::*;
    use crate::http::status::Status;
    use crate::serve::connection::tests::live_with;
    use crate::serve::connection::worker::Worker;
    use crate::serve::idle::Handoff;
    use crate::serve::pool::Pool;
    use crate::shutdown::Control;

    /// A connection to a loopback client, and the client.
    async fn connection(root: &std::path::Path) -> (Connection, std::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let permit = Arc::new(tokio::sync::Semaphore::new(1))
            .try_acquire_owned()
            .unwrap();
        let live = live_with(root, Handoff::new(1).0);
        let worker = Worker {
            shared: live.current(),
            live,
            shutdown: Control::new().subscribe(),
            parking: None,
        };
        let ticket = Pool::new(1, 1).ticket(0, permit);
        let stream = crate::serve::stream::Stream::Tcp(stream);
        let conn = Connection::accepted(stream, peer.into(), ticket, BytesMut::new(), worker);
        (conn, client)
    }

    /// A multipart body whose one range reaches past the end of a file
    /// that has since shrunk to `data`.
    fn parts_past_the_end(path: &std::path::Path, data: &[u8]) -> Response {
        std::fs::write(path, data).unwrap();
        let pieces = vec![
            Piece::Bytes(b"--b\r\n\r\n".to_vec()),
            Piece::Range {
                offset: 0,
                len: data.len() as u64 + 10,
            },
            Piece::Bytes(b"\r\n--b--\r\n".to_vec()),
        ];
        Response {
            status: Status::PartialContent,
            headers: Vec::new(),
            encoded_fields: None,
            body: Body::Parts {
                file: std::fs::File::open(path).unwrap(),
                pieces,
            },
        }
    }

    #[tokio::test]
    async fn a_multipart_range_of_a_file_that_shrank_ends_the_connection_unpadded() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, mut client) = connection(dir.path()).await;
        let response = parts_past_the_end(&dir.path().join("f"), b"0123456789");
        let sent = conn.write_response(response, false, true).await;
        let err = sent.expect_err("a short file cannot fill its range");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        drop(conn);
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        let body = &got[got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        assert_eq!(body, b"--b\r\n\r\n0123456789", "what exists, unpadded");
    }
}
