//! The last bytes a connection wrote, kept so that a GOAWAY the `h2`
//! crate sent can be read back: the crate names the limit a client broke
//! only in the GOAWAY's debug data, and hands the connection's owner an
//! error without it.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes kept: a GOAWAY frame with the crate's longest debug data.
const KEPT: usize = 64;

/// `io`, with the tail of what was written to it.
pub(super) struct Tail<T> {
    io: T,
    kept: Arc<Mutex<Kept>>,
}

/// The last [`KEPT`] bytes written, oldest first.
#[derive(Debug, Default)]
pub(super) struct Kept(Vec<u8>);

impl Kept {
    fn push(&mut self, written: &[u8]) {
        let from = written.len().saturating_sub(KEPT);
        self.0.extend_from_slice(&written[from..]);
        let excess = self.0.len().saturating_sub(KEPT);
        self.0.drain(..excess);
    }

    /// Whether the bytes kept hold `needle`.
    pub(super) fn holds(&self, needle: &[u8]) -> bool {
        self.0.windows(needle.len()).any(|w| w == needle)
    }
}

impl<T> Tail<T> {
    /// `io` wrapped, and what it will have written last.
    pub(super) fn new(io: T) -> (Tail<T>, Arc<Mutex<Kept>>) {
        let kept = Arc::new(Mutex::new(Kept::default()));
        let tail = Tail {
            io,
            kept: Arc::clone(&kept),
        };
        (tail, kept)
    }
}

impl<T> Tail<T> {
    /// Keeps the tail of the first `n` bytes of `bufs` (what was written).
    fn keep(&self, bufs: &[IoSlice<'_>], mut n: usize) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        for buf in bufs {
            let take = n.min(buf.len());
            kept.push(&buf[..take]);
            n -= take;
            if n == 0 {
                break;
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tail<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tail<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            self.keep(&[IoSlice::new(buf)], n);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = written {
            self.keep(bufs, n);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_bytes_are_kept() {
        let mut kept = Kept::default();
        kept.push(&[b'a'; 1000]);
        kept.push(b"too_many_resets");
        assert_eq!(kept.0.len(), KEPT);
        assert!(kept.holds(b"too_many_resets"));
        kept.push(&[b'b'; KEPT]);
        assert!(!kept.holds(b"too_many_resets"));
    }
}
