//! Reading what a client sends that we will not use: a small request body
//! before the next request, and whatever still arrives while we close.

use std::io;

use bytes::Buf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use super::exchange::{Connection, read_some};
use crate::serve::limits::{LINGER_BYTES, LINGER_TIME};

impl Connection {
    /// Reads and drops a small request body so the next request starts
    /// where it should. False when the client did not deliver it in time.
    pub(super) async fn discard_body(&mut self, len: u64) -> io::Result<bool> {
        let mut left = len;
        let deadline = Instant::now() + self.shared.limits.header_timeout;
        loop {
            let buffered =
                usize::try_from(left).map_or(self.read_buf.len(), |l| l.min(self.read_buf.len()));
            self.read_buf.advance(buffered);
            left -= buffered as u64;
            if left == 0 {
                return Ok(true);
            }
            let Connection {
                stream,
                tls,
                read_buf,
                ..
            } = self;
            match timeout_at(deadline, read_some(stream, tls, read_buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(Err(err)) => return Err(err),
                _ => return Ok(false),
            }
        }
    }

    /// Closes without losing the response: shut down our side, then read
    /// and discard what the client still sends (a body we did not read,
    /// the rest of an over-long head) for a bounded time, so the kernel
    /// does not answer those bytes with a reset that destroys the response.
    pub(super) async fn close(&mut self) -> io::Result<()> {
        self.end_tls().await;
        self.stream.shutdown().await?;
        let mut drained = 0;
        let mut scratch = [0u8; 4096];
        let deadline = Instant::now() + LINGER_TIME;
        while drained < LINGER_BYTES {
            match timeout_at(deadline, self.stream.read(&mut scratch)).await {
                Ok(Ok(n)) if n > 0 => drained += n,
                _ => break,
            }
        }
        Ok(())
    }
}
