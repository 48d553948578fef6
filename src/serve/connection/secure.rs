//! A connection over TLS: the handshake, bounded by the header timeout
//! from the accept, a plaintext request on the TLS port answered in
//! plaintext, responses written through rustls, and the close_notify that
//! tells the client the response is complete.
//!
//! sendfile cannot encrypt, so file bodies are read into the connection's
//! write buffer a chunk at a time and encrypted from there: memory stays
//! flat in file size. In-memory bodies (the file cache's) are encrypted
//! straight from where they are, in the same records as the head.

use std::io;
use std::os::unix::fs::FileExt;

use tokio::time::{Instant, timeout_at};

use super::exchange::Connection;
use super::tls_io::{absorb_from, flush, read_raw, send, take_plaintext};
use super::write::{shrank, with_send_timeout};
use crate::http::response::{Body, Piece, Response};
use crate::http::status::Status;
use crate::serve::limits::TLS_FILE_CHUNK;
use crate::serve::tls::ALPN_ACME;

/// The first byte of every TLS handshake record (RFC 8446 §5.1).
const HANDSHAKE_RECORD: u8 = 0x16;

/// What a plain-HTTP client on the TLS port is told, in plaintext (as
/// nginx does), before the connection closes.
const USE_HTTPS: &str = "This port speaks HTTPS: use an https:// address.\n";

impl Connection {
    /// Runs the TLS handshake until done or `deadline`, starting from the
    /// raw bytes already read: true when requests follow (some may already
    /// be in the read buffer), false when the connection is over (the
    /// client left, or spoke plain HTTP and got a plaintext 400). A timeout
    /// or a protocol error is an error, logged once by the caller.
    pub(super) async fn handshake(&mut self, deadline: Instant) -> io::Result<bool> {
        let mut first = true;
        loop {
            if self.read_buf.is_empty() {
                match timeout_at(deadline, read_raw(&self.stream, &mut self.read_buf)).await {
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "handshake timed out",
                        ));
                    }
                    Ok(Ok(0)) => return Ok(false),
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => return Err(err),
                }
            }
            if first && self.read_buf[0] != HANDSHAKE_RECORD {
                return self.not_tls().await;
            }
            first = false;
            let Connection {
                stream,
                tls,
                read_buf,
                ..
            } = self;
            let Some(tls) = tls.as_deref_mut() else {
                return Ok(true);
            };
            absorb_from(stream, tls, read_buf)?;
            read_buf.clear();
            timeout_at(deadline, flush(stream, tls))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))??;
            if !tls.is_handshaking() {
                if tls.alpn_protocol() == Some(ALPN_ACME) {
                    // RFC 8737 §3: the CA's validation is the handshake
                    // alone; no request follows.
                    tls.send_close_notify();
                    let _ = timeout_at(deadline, flush(stream, tls)).await;
                    return Ok(false);
                }
                // The read buffer holds plaintext from here on.
                take_plaintext(tls, read_buf)?;
                return Ok(true);
            }
        }
    }

    /// A client that did not start with a TLS record: plain HTTP gets a
    /// plaintext 400 saying to use https://; anything else is dropped.
    async fn not_tls(&mut self) -> io::Result<bool> {
        if !self.read_buf[0].is_ascii_uppercase() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not TLS"));
        }
        self.tls = None;
        let response = Response::bytes(
            Status::BadRequest,
            "text/plain; charset=utf-8",
            USE_HTTPS.as_bytes().to_vec(),
        );
        self.refuse_with(response).await?;
        Ok(false)
    }

    /// Writes one response through TLS and returns the number of body
    /// bytes sent.
    pub(super) async fn write_response_tls(
        &mut self,
        response: Response,
        head_only: bool,
        keep_alive: bool,
    ) -> io::Result<u64> {
        self.encode_head_of(&response, keep_alive);
        let body_len = response.body.len();
        match response.body {
            _ if head_only => self.send_tls(&[]).await.map(|()| 0),
            Body::None => self.send_tls(&[]).await.map(|()| body_len),
            Body::Bytes(bytes) => self.send_tls(&bytes).await.map(|()| body_len),
            Body::Shared(bytes) => self.send_tls(&bytes[..]).await.map(|()| body_len),
            Body::File { file, offset, len } => {
                self.send_file_tls(&file, offset, len).await?;
                Ok(len)
            }
            Body::Parts { file, pieces } => {
                self.send_tls(&[]).await?;
                for piece in pieces {
                    match piece {
                        Piece::Bytes(bytes) => self.send_tls(&bytes).await?,
                        Piece::Range { offset, len } => {
                            self.send_file_tls(&file, offset, len).await?;
                        }
                    }
                }
                Ok(body_len)
            }
            Body::Stream(stream) => self.send_stream(stream).await,
        }
    }

    /// Encrypts and sends the write buffer, then `body`, in as few records
    /// as they fit, within the send timeout; the write buffer is empty
    /// after.
    pub(super) async fn send_tls(&mut self, body: &[u8]) -> io::Result<()> {
        let Connection {
            stream,
            tls,
            write_buf,
            shared,
            ..
        } = self;
        let Some(tls) = tls.as_deref_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let parts = [&write_buf[..], body];
        with_send_timeout(shared, send(stream, tls, &parts)).await?;
        write_buf.clear();
        Ok(())
    }

    /// Sends what the write buffer holds (a head), then `len` bytes of
    /// `file` from `offset`, read a chunk at a time into the write buffer
    /// behind it, so a head goes in the first chunk's records. A file that
    /// shrank ends the connection after what exists, never padded.
    async fn send_file_tls(
        &mut self,
        file: &std::fs::File,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        let mut done = 0u64;
        while done < len {
            let kept = self.write_buf.len();
            let want =
                usize::try_from(len - done).map_or(TLS_FILE_CHUNK, |l| l.min(TLS_FILE_CHUNK));
            self.write_buf.resize(kept + want, 0);
            let n = file.read_at(&mut self.write_buf[kept..], offset + done)?;
            self.write_buf.truncate(kept + n);
            if n == 0 {
                return Err(shrank());
            }
            self.send_tls(&[]).await?;
            done += n as u64;
        }
        Ok(())
    }

    /// Tells the client the TLS session is over (close_notify), so it
    /// knows that what it received is complete, not cut off. Best effort:
    /// the connection is closing anyway.
    pub(super) async fn end_tls(&mut self) {
        let Connection {
            stream,
            tls,
            shared,
            ..
        } = self;
        let Some(tls) = tls.as_deref_mut() else {
            return;
        };
        tls.send_close_notify();
        let _ = with_send_timeout(shared, flush(stream, tls)).await;
    }
}
