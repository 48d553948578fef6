//! Writing a streamed body (`Transfer-Encoding: chunked`, see
//! [`crate::http::chunked`]): its producer runs on a blocking thread (it
//! reads files) and hands chunks over a channel of [`STREAM_QUEUE`]
//! places, so memory stays flat whatever the size and a producer faster
//! than the client waits for it. Each chunk is written within the send
//! timeout, plain or over TLS. A producer that fails, or a client that
//! stops reading, ends the connection without the last chunk: the client
//! can tell the body is incomplete.

use std::io;

use super::exchange::Connection;
use super::produce::{Message, produce};
use crate::http::chunked::{LAST_CHUNK, Stream, push_chunk};

impl Connection {
    /// Sends what the write buffer holds (the head), then `stream`'s
    /// chunks and the last chunk; returns the body bytes sent.
    pub(super) async fn send_stream(&mut self, stream: Stream) -> io::Result<u64> {
        let mut rx = produce(stream);
        let mut framed = std::mem::take(&mut self.write_buf);
        let mut sent = 0u64;
        loop {
            match rx.recv().await {
                Some(Message::Chunk(data)) => {
                    push_chunk(&mut framed, &data);
                    sent += data.len() as u64;
                }
                Some(Message::Done) => {
                    framed.extend_from_slice(LAST_CHUNK);
                    self.send_framed(&framed).await?;
                    return Ok(sent);
                }
                Some(Message::Failed(err)) => return Err(err),
                None => return Err(io::Error::other("the body's producer stopped")),
            }
            self.send_framed(&framed).await?;
            framed.clear();
        }
    }

    /// Writes framed bytes, plain or over TLS, within the send timeout.
    async fn send_framed(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.tls.is_some() {
            self.write_buf.clear();
            return self.send_tls(bytes).await;
        }
        self.send_bytes(bytes).await
    }
}
