//! Reading what a client sends that we will not use: a small request body
//! before the next request, and whatever still arrives while we close.

use std::io;

use bytes::Buf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use super::exchange::Connection;
use crate::serve::limits::{LINGER_BYTES, LINGER_TIME};

impl Connection {
    /// Reads and drops a small request body so the next request starts
    /// where it should. False when the client did not deliver it in time.
    pub(super) async fn discard_body(&mut self, len: u64) -> io::Result<bool> {
        let buffered =
            usize::try_from(len).map_or(self.read_buf.len(), |l| l.min(self.read_buf.len()));
        self.read_buf.advance(buffered);
        let mut left = len - buffered as u64;
        let deadline = Instant::now() + self.shared.limits.header_timeout;
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

    /// Closes without losing the response: shut down our side, then read
    /// and discard what the client still sends (a body we did not read,
    /// the rest of an over-long head) for a bounded time, so the kernel
    /// does not answer those bytes with a reset that destroys the response.
    pub(super) async fn close(&mut self) -> io::Result<()> {
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
