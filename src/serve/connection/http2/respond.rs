//! A site's [`Response`] sent on an HTTP/2 stream: the head as a HEADERS
//! frame (no connection-specific field, RFC 9113 §8.2.2), the body as
//! DATA frames no larger than the peer's window lets out. In-memory bodies
//! go as they are (a cached file's bytes shared, not copied); files are
//! read a chunk at a time into a buffer the stream reuses, never further
//! ahead than the send buffer; a streamed body (an archive) is produced on
//! a blocking thread as over HTTP/1.1. Each wait for window has the send
//! timeout.

use std::io;
use std::os::unix::fs::FileExt;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::SendStream;
use h2::server::SendResponse;

use crate::http::date;
use crate::http::response::{Body, Piece, Response, SERVER};
use crate::serve::connection::produce::{Message, produce};
use crate::serve::limits::HTTP2_FILE_CHUNK;

/// Fields that belong to an HTTP/1.1 connection and never go out on an
/// HTTP/2 stream.
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// The response head: status, `Server`, `Date`, the response's fields
/// and its pre-encoded ones, then `extra` unless the response set the
/// same field, and `Content-Length` for a body of known length.
pub(crate) fn head(response: &Response, extra: &[(String, String)]) -> http::Response<()> {
    let mut head = http::Response::new(());
    *head.status_mut() =
        http::StatusCode::from_u16(response.status.code()).unwrap_or(http::StatusCode::OK);
    let fields = head.headers_mut();
    let mut add = |name: &[u8], value: &[u8]| {
        let Ok(name) = http::HeaderName::from_bytes(name) else {
            return;
        };
        if CONNECTION_SPECIFIC.contains(&name.as_str()) {
            return;
        }
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            fields.append(name, value);
        }
    };
    add(b"server", SERVER.as_bytes());
    date::with_now(|now| add(b"date", now.as_bytes()));
    for (name, value) in &response.headers {
        add(name.as_bytes(), value.as_bytes());
    }
    for line in response
        .encoded_fields
        .as_deref()
        .unwrap_or(&[])
        .split(|&b| b == b'\n')
    {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            add(&line[..colon], line[colon + 1..].trim_ascii());
        }
    }
    for (name, value) in extra {
        if !response.has_field(name) {
            add(name.as_bytes(), value.as_bytes());
        }
    }
    if !matches!(response.body, Body::None | Body::Stream(_)) {
        add(
            b"content-length",
            response.body.len().to_string().as_bytes(),
        );
    }
    head
}

/// Sends `response` on the stream; the body bytes sent, or why the stream
/// could not be completed: `ConnectionReset` when the client reset it,
/// otherwise the server resets it, so the client knows.
pub(crate) async fn send(
    mut respond: SendResponse<Bytes>,
    response: Response,
    extra: &[(String, String)],
    head_only: bool,
    send_timeout: Duration,
) -> io::Result<u64> {
    let head = head(&response, extra);
    let empty = head_only
        || matches!(&response.body, Body::None)
        || response.body.is_empty() && !matches!(response.body, Body::Stream(_));
    let mut stream = match respond.send_response(head, empty) {
        Ok(stream) => stream,
        Err(err) => return Err(reset_or(&mut respond, h2_error(err)).await),
    };
    if empty {
        return Ok(0);
    }
    let mut out = Out {
        stream: &mut stream,
        send_timeout,
        sent: 0,
    };
    match out.body(response.body).await {
        Ok(sent) => Ok(sent),
        Err(err) => {
            let err = reset_or(&mut respond, err).await;
            if err.kind() != io::ErrorKind::ConnectionReset {
                stream.send_reset(h2::Reason::INTERNAL_ERROR);
            }
            Err(err)
        }
    }
}

/// `ConnectionReset` if the client has reset the stream, else `err`.
async fn reset_or(respond: &mut SendResponse<Bytes>, err: io::Error) -> io::Error {
    let state = std::future::poll_fn(|cx| Poll::Ready(respond.poll_reset(cx))).await;
    match state {
        Poll::Ready(Ok(_)) => io::Error::new(
            io::ErrorKind::ConnectionReset,
            "the client reset the stream",
        ),
        _ => err,
    }
}

/// Whether a stream's outcome is the client's reset of it.
pub(crate) fn was_reset(sent: &io::Result<u64>) -> bool {
    matches!(sent, Err(err) if err.kind() == io::ErrorKind::ConnectionReset)
}

/// A stream's DATA, as it goes out.
struct Out<'a> {
    stream: &'a mut SendStream<Bytes>,
    send_timeout: Duration,
    sent: u64,
}

impl Out<'_> {
    async fn body(&mut self, body: Body) -> io::Result<u64> {
        match body {
            Body::None => {}
            Body::Bytes(bytes) => self.data(Bytes::from(bytes), true).await?,
            Body::Shared(bytes) => self.data(Bytes::from_owner(bytes), true).await?,
            Body::File { file, offset, len } => self.file(&file, offset, len, true).await?,
            Body::Parts { file, pieces } => self.parts(&file, pieces).await?,
            Body::Stream(stream) => self.produced(stream).await?,
        }
        Ok(self.sent)
    }

    /// `data` as DATA frames within the window, the last one ending the
    /// stream when `end`.
    async fn data(&mut self, mut data: Bytes, end: bool) -> io::Result<()> {
        if data.is_empty() && end {
            return self.stream.send_data(Bytes::new(), true).map_err(h2_error);
        }
        while !data.is_empty() {
            self.stream.reserve_capacity(data.len());
            let window = tokio::time::timeout(
                self.send_timeout,
                std::future::poll_fn(|cx| self.stream.poll_capacity(cx)),
            )
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client opened no window"))?;
            let window = match window {
                Some(Ok(n)) => n,
                Some(Err(err)) => return Err(h2_error(err)),
                None => return Err(io::Error::other("stream closed")),
            };
            let piece = data.split_to(window.min(data.len()));
            self.sent += piece.len() as u64;
            self.stream
                .send_data(piece, end && data.is_empty())
                .map_err(h2_error)?;
        }
        Ok(())
    }

    /// `len` bytes of `file` from `offset`, a chunk at a time.
    async fn file(
        &mut self,
        file: &std::fs::File,
        offset: u64,
        len: u64,
        end: bool,
    ) -> io::Result<()> {
        let mut at = offset;
        let stop = offset + len;
        let mut buf = BytesMut::new();
        while at < stop {
            let want =
                usize::try_from(stop - at).map_or(HTTP2_FILE_CHUNK, |n| n.min(HTTP2_FILE_CHUNK));
            buf.resize(want, 0);
            let n = file.read_at(&mut buf[..want], at)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while sending",
                ));
            }
            at += n as u64;
            let chunk = buf.split_to(n).freeze();
            self.data(chunk, end && at == stop).await?;
        }
        Ok(())
    }

    async fn parts(&mut self, file: &std::fs::File, pieces: Vec<Piece>) -> io::Result<()> {
        let count = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            let last = i + 1 == count;
            match piece {
                Piece::Bytes(bytes) => self.data(Bytes::from(bytes), last).await?,
                Piece::Range { offset, len } => self.file(file, offset, len, last).await?,
            }
        }
        Ok(())
    }

    /// A body made while it is sent, on a blocking thread.
    async fn produced(&mut self, stream: crate::http::chunked::Stream) -> io::Result<()> {
        let mut chunks = produce(stream);
        loop {
            match chunks.recv().await {
                Some(Message::Chunk(data)) => self.data(Bytes::from(data), false).await?,
                Some(Message::Done) => return self.data(Bytes::new(), true).await,
                Some(Message::Failed(err)) => return Err(err),
                None => return Err(io::Error::other("the body's producer stopped")),
            }
        }
    }
}

fn h2_error(err: h2::Error) -> io::Error {
    match err.get_io() {
        Some(io) => io::Error::new(io.kind(), err.to_string()),
        None => io::Error::other(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::status::Status;

    #[test]
    fn the_head_carries_no_connection_specific_field() {
        let mut response = Response::bytes(Status::Ok, "text/plain", b"hi".to_vec());
        response.headers.push(("Connection", "close".to_owned()));
        response
            .headers
            .push(("Cache-Control", "no-cache".to_owned()));
        response.encoded_fields = Some(b"ETag: \"x\"\r\nKeep-Alive: 5\r\n".to_vec().into());
        let extra = [
            ("X-Extra".to_owned(), "1".to_owned()),
            ("cache-control".to_owned(), "x".to_owned()),
        ];
        let head = head(&response, &extra);
        let fields = head.headers();
        assert_eq!(head.status(), 200);
        assert_eq!(fields["content-type"], "text/plain");
        assert_eq!(fields["content-length"], "2");
        assert_eq!(fields["etag"], "\"x\"");
        assert_eq!(fields["x-extra"], "1");
        assert_eq!(
            fields.get_all("cache-control").iter().count(),
            1,
            "the response's own wins"
        );
        assert!(fields.contains_key("date") && fields.contains_key("server"));
        for name in CONNECTION_SPECIFIC {
            assert!(!fields.contains_key(name), "{name}");
        }
    }
}
